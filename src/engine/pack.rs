//! What the rules of one pack share: files in the pack folder whose name starts with
//! `_` are not rules. `_prelude.rhai` holds functions and constants shared by every rule of
//! pack; `_schema.toml` describes the estate tables the pack reads, and becomes the
//! script function `estate_schema()`. Both are compiled once per pack.

use super::schema::{Readiness, Schema};
use crate::estate::Source;
use crate::report::{Failure, FailureKind};
use rhai::{Engine, Scope, AST};
use std::collections::BTreeSet;
use std::sync::Arc;

pub const PRELUDE: &str = "_prelude.rhai";
pub const SCHEMA: &str = "_schema.toml";

/// Whether a file in a pack folder is shared by the pack rather than a rule.
pub fn is_shared(file_name: &str) -> bool {
    file_name.starts_with('_')
}

/// A pack's shared functions, ready to merge into each of its rules.
#[derive(Debug)]
pub struct Pack {
    pub prelude: Option<Arc<Source>>,
    pub ast: AST,
    /// Names of the functions the pack defines: rules may call them, and errors raised
    /// in them are located in the prelude.
    pub functions: BTreeSet<String>,
    /// The prelude's top-level constants, visible in it and in every rule of the pack.
    pub constants: Scope<'static>,
    /// Why the pack's shared files cannot be used; each rule then fails with it.
    pub failure: Option<Box<Failure>>,
    /// What the pack's readiness report groups findings by (`_schema.toml`).
    pub readiness: Option<Readiness>,
}

impl Pack {
    /// Compiles the prelude and the schema; an error is located in the file it is in.
    pub fn build(
        engine: &Engine,
        prelude: Option<Arc<Source>>,
        schema: Option<Arc<Source>>,
    ) -> Result<Pack, Box<Failure>> {
        let mut ast = AST::empty();
        let mut readiness = None;
        let mut constants = Scope::new();
        if let Some(src) = &prelude {
            (ast, constants) = super::constants::compile(engine, src.text(), &Scope::new())
                .map_err(|e| {
                    let pos = e.position();
                    let at = src.offset_of(pos.line().unwrap_or(1), pos.position().unwrap_or(1));
                    Box::new(Failure::located(
                        FailureKind::RuleCompile,
                        src,
                        at..at,
                        format!("the pack prelude does not compile: {}", e.message()),
                    ))
                })?;
        }
        if let Some(src) = &schema {
            let parsed = Schema::parse(src.text()).map_err(|(span, message)| {
                Box::new(Failure::located(
                    FailureKind::RuleCompile,
                    src,
                    span,
                    format!("the pack schema is invalid: {message}"),
                ))
            })?;
            let script = engine.compile(parsed.to_script()).map_err(|e| {
                Box::new(Failure::located(
                    FailureKind::RuleCompile,
                    src,
                    0..0,
                    format!("the pack schema cannot be offered to rules: {e}"),
                ))
            })?;
            ast = ast.merge(&script);
            readiness = parsed.readiness;
        }
        if let (Some(src), Some((name, pos))) = (
            &prelude,
            super::calls::unknown_calls(engine, &ast, None)
                .into_iter()
                .next(),
        ) {
            let at = src.offset_of(pos.line().unwrap_or(1), pos.position().unwrap_or(1));
            return Err(Box::new(Failure::located(
                FailureKind::RuleCompile,
                src,
                at..at + name.len(),
                format!(
                    "the pack prelude calls `{name}`, which no engine, Rhai or prelude function is"
                ),
            )));
        }
        let functions = ast.iter_functions().map(|f| f.name.to_string()).collect();
        Ok(Pack {
            prelude,
            ast,
            functions,
            constants,
            failure: None,
            readiness,
        })
    }

    /// A pack whose shared files failed with `failure`.
    pub fn broken(failure: &Failure) -> Pack {
        Pack {
            prelude: None,
            ast: AST::empty(),
            functions: BTreeSet::new(),
            constants: Scope::new(),
            failure: Some(Box::new(failure.clone())),
            readiness: None,
        }
    }
}

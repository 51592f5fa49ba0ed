//! Rules: finding `.rhai` files, parsing their `//!` header, compiling them once with
//! their pack's shared functions.

use super::budget::Limits;
use super::calls::{is_name_char, library, local_functions, unknown_calls};
use super::constants;
use super::pack::{self, Pack};
use super::sandbox;
use crate::estate::Source;
use crate::report::{Failure, FailureKind, Severity};
use rhai::{Engine, Scope, AST};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The documented part of a rule: its `//!` header.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub severity: Severity,
    pub title: String,
    pub requirements: Vec<String>,
    /// `## Heading` sections in file order: (heading, body).
    pub sections: Vec<(String, String)>,
}

impl Header {
    pub fn section(&self, heading: &str) -> Option<&str> {
        self.sections
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(heading))
            .map(|(_, b)| b.as_str())
    }
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub header: Header,
    pub source: Arc<Source>,
    pub ast: AST,
    /// Where `fn check` is declared, for errors that carry no position.
    pub check_span: Range<usize>,
    pub builtin: bool,
    /// The shared functions merged into this rule.
    pub pack: Option<Arc<Pack>>,
    /// How many times each name occurs in the rule's text, counted once here for the
    /// order rules run in (`run::longest_first`).
    pub names: hashbrown::HashMap<String, usize>,
}

/// A rule file read from disk or from the binary, not yet compiled.
pub struct RuleText {
    pub id: String,
    pub source: Arc<Source>,
    pub builtin: bool,
    pub pack: Option<Arc<Pack>>,
}

/// The shared files of a pack folder, compiled; `None` when it has none.
fn load_pack(
    engine: &mut Option<rhai::Engine>,
    read: impl Fn(&str) -> Result<Option<Arc<Source>>, Box<Failure>>,
) -> Result<Option<Arc<Pack>>, Box<Failure>> {
    let (prelude, schema) = (read(pack::PRELUDE)?, read(pack::SCHEMA)?);
    if prelude.is_none() && schema.is_none() {
        return Ok(None);
    }
    let engine = engine.get_or_insert_with(|| sandbox::build(&Limits::default(), false));
    Pack::build(engine, prelude, schema).map(|p| Some(Arc::new(p)))
}

/// The text of an embedded built-in file, by its path below `rules/`.
pub fn builtin_file(path: &str) -> Option<&'static str> {
    BUILTIN_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, t)| *t)
}

/// The embedded built-in pack. A broken shared file makes every rule of its pack
/// fail to compile with its error; the pack's tests keep that from shipping.
pub fn builtin_texts() -> Vec<RuleText> {
    let mut engine = None;
    let mut packs: BTreeMap<&str, Result<Option<Arc<Pack>>, Box<Failure>>> = BTreeMap::new();
    let mut out = Vec::new();
    for (path, text) in BUILTIN_FILES {
        let (folder, file) = path.rsplit_once('/').unwrap_or(("", path));
        if pack::is_shared(file) || !file.ends_with(".rhai") {
            continue;
        }
        let shared = packs.entry(folder).or_insert_with(|| {
            load_pack(&mut engine, |name| {
                let want = format!("{folder}/{name}");
                Ok(BUILTIN_FILES
                    .iter()
                    .find(|(p, _)| *p == want)
                    .map(|(p, t)| {
                        Arc::new(Source::new(format!("<builtin>/rules/{p}"), t.to_string()))
                    }))
            })
        });
        let source = Arc::new(Source::new(
            format!("<builtin>/rules/{path}"),
            text.to_string(),
        ));
        let pack = match shared {
            Ok(p) => p.clone(),
            Err(f) => Some(Arc::new(Pack::broken(f))),
        };
        out.push(RuleText {
            id: id_from_rel(path),
            source,
            builtin: true,
            pack,
        });
    }
    out
}

fn id_from_rel(rel: &str) -> String {
    let p = Path::new(rel);
    let stem = p.file_stem().unwrap_or_default().to_string_lossy();
    let pack = p
        .parent()
        .and_then(|d| d.file_name())
        .map_or_else(|| "site".into(), |d| d.to_string_lossy());
    format!("{pack}/{stem}")
}

/// Every rule file below `dir`, sorted, with its folder's shared files; unreadable
/// entries become failures. A folder whose shared files are broken is reported once,
/// and its rules are left out.
pub fn read_dir_texts(dir: &Path, failures: &mut Vec<Failure>) -> Vec<RuleText> {
    let mut files = Vec::new();
    if dir.is_file() {
        files.push(dir.to_path_buf());
    } else {
        crate::files::walk(dir, "rhai", &mut files, failures);
    }
    let mut engine = None;
    let mut packs: BTreeMap<PathBuf, Option<Option<Arc<Pack>>>> = BTreeMap::new();
    let mut out = Vec::new();
    for path in files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if pack::is_shared(&name) {
            continue;
        }
        let folder = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let shared = packs.entry(folder.clone()).or_insert_with(|| {
            let read = |name: &str| {
                let p = folder.join(name);
                if !p.exists() {
                    return Ok(None);
                }
                crate::files::read_text(&p).map(|s| Some(Arc::new(s)))
            };
            match load_pack(&mut engine, read) {
                Ok(p) => Some(p),
                Err(f) => {
                    failures.push(*f);
                    None
                }
            }
        });
        let Some(pack) = shared else {
            continue;
        };
        match crate::files::read_text(&path) {
            Ok(source) => out.push(RuleText {
                id: id_from_rel(&path.to_string_lossy()),
                source: Arc::new(source),
                builtin: false,
                pack: pack.clone(),
            }),
            Err(f) => failures.push(*f),
        }
    }
    out
}

/// Parses the header and compiles the script.
pub fn compile(engine: &Engine, text: RuleText) -> Result<Rule, Box<Failure>> {
    let source = text.source;
    let header = parse_header(&source).map_err(|(span, message)| {
        Box::new(Failure::located(
            FailureKind::RuleHeader,
            &source,
            span,
            format!("rule `{}`: {message}", text.id),
        ))
    })?;
    if let Some(f) = text.pack.as_ref().and_then(|p| p.failure.clone()) {
        return Err(f);
    }
    let inherited = text
        .pack
        .as_ref()
        .map_or_else(Scope::new, |p| p.constants.clone());
    let (ast, _) = constants::compile(engine, source.text(), &inherited).map_err(|e| {
        let pos = e.position();
        let at = source.offset_of(pos.line().unwrap_or(1), pos.position().unwrap_or(1));
        Box::new(Failure::located(
            FailureKind::RuleCompile,
            &source,
            at..at,
            format!("rule `{}` does not compile: {}", text.id, e.message()),
        ))
    })?;
    let shared = text.pack.as_ref().map(|p| &p.functions);
    if let Some((name, pos)) = unknown_calls(engine, &ast, shared).into_iter().next() {
        let at = source.offset_of(pos.line().unwrap_or(1), pos.position().unwrap_or(1));
        let known = local_functions(engine, &ast, shared);
        let candidates = known.iter().chain(library()).map(String::as_str);
        let hint = crate::suggest::closest(&name, candidates)
            .map_or(String::new(), |c| format!("; did you mean `{c}`?"));
        return Err(Box::new(Failure::located(
            FailureKind::RuleCompile,
            &source,
            at..at + name.len(),
            format!(
                "rule `{}` calls `{name}`, which is neither a host function, a Rhai function nor defined in the rule or its pack{hint}",
                text.id
            ),
        )));
    }
    let ast = match &text.pack {
        Some(p) => p.ast.merge(&ast),
        None => ast,
    };
    let has_check = ast
        .iter_functions()
        .any(|f| f.name == "check" && f.params.len() == 1);
    let check_span = find_check(source.text());
    if !has_check {
        return Err(Box::new(Failure::located(
            FailureKind::RuleCompile,
            &source,
            check_span.unwrap_or(0..0),
            format!("rule `{}` has no `fn check(estate)`", text.id),
        )));
    }
    Ok(Rule {
        id: text.id,
        header,
        names: names(source.text()),
        check_span: check_span.unwrap_or(0..0),
        source,
        ast,
        builtin: text.builtin,
        pack: text.pack,
    })
}

/// How many times each name (a run of [`is_name_char`]s) occurs in `text`.
fn names(text: &str) -> hashbrown::HashMap<String, usize> {
    let mut counts: hashbrown::HashMap<String, usize> = hashbrown::HashMap::new();
    for word in text
        .split(|c: char| !is_name_char(c))
        .filter(|w| !w.is_empty())
    {
        *counts.entry_ref(word).or_insert(0) += 1;
    }
    counts
}

fn find_check(text: &str) -> Option<Range<usize>> {
    let mut from = 0;
    while let Some(i) = text[from..].find("fn ") {
        let at = from + i;
        let rest = text[at + 3..].trim_start();
        if rest.starts_with("check") && rest[5..].trim_start().starts_with('(') {
            let end = text[at..].find(')').map_or(text.len(), |e| at + e + 1);
            return Some(at..end);
        }
        from = at + 3;
    }
    None
}

/// Reads the leading `//!` lines: `key: value` fields, then `## Heading` sections.
pub fn parse_header(source: &Source) -> Result<Header, (Range<usize>, String)> {
    let text = source.text();
    let mut header = Header::default();
    let mut severity = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let Some(body) = trimmed.strip_prefix("//!") else {
            if trimmed.trim().is_empty() && header.title.is_empty() && severity.is_none() {
                continue;
            }
            break;
        };
        let body = body.strip_prefix(' ').unwrap_or(body);
        let span = start..start + trimmed.len();
        if let Some(heading) = body.strip_prefix("## ") {
            header
                .sections
                .push((heading.trim().to_string(), String::new()));
            continue;
        }
        if let Some((_, text)) = header.sections.last_mut() {
            text.push_str(body);
            text.push('\n');
            continue;
        }
        if body.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = body.split_once(':') else {
            return Err((span, format!("header line `{body}` is not `key: value`")));
        };
        let value = value.trim();
        match key.trim() {
            "severity" => {
                severity = Some(Severity::parse(value).ok_or((
                    span,
                    format!("unknown severity `{value}`: use error, warning or note"),
                ))?)
            }
            "title" => header.title = value.to_string(),
            "requirement" | "requirements" => {
                header.requirements = value
                    .split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            other => {
                return Err((
                    span,
                    format!("unknown header field `{other}`: use severity, title or requirement"),
                ))
            }
        }
    }
    for (_, body) in &mut header.sections {
        *body = body.trim().to_string();
    }
    header.severity = severity.ok_or((0..0, "header has no `//! severity:` line".to_string()))?;
    if header.title.is_empty() {
        return Err((0..0, "header has no `//! title:` line".to_string()));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_sections() {
        let s = Source::new(
            "r.rhai",
            "//! severity: warning\n//! title: T\n//! requirement: R1, R2\n//! ## What it does\n//! Flags.\n//! ## How to fix\n//! Fix.\nfn check(e) {}\n".into(),
        );
        let h = parse_header(&s).unwrap();
        assert_eq!(h.severity, Severity::Warning);
        assert_eq!(h.requirements, ["R1", "R2"]);
        assert_eq!(h.section("what it does"), Some("Flags."));
        assert_eq!(
            find_check(s.text()),
            Some(s.text().find("fn check").unwrap()..s.text().find("(e)").unwrap() + 3)
        );
    }

    #[test]
    fn header_errors_are_located() {
        let s = Source::new("r.rhai", "//! severity: fatal\n//! title: x\n".into());
        let (span, msg) = parse_header(&s).unwrap_err();
        assert_eq!(span, 0..19);
        assert!(msg.contains("fatal"));
        assert!(parse_header(&Source::new("r", "//! title: x\n".into())).is_err());
    }

    #[test]
    fn ids_use_the_folder_name() {
        assert_eq!(
            id_from_rel("officescan/server-on-apache.rhai"),
            "officescan/server-on-apache"
        );
        assert_eq!(id_from_rel("/a/b/site/x.rhai"), "site/x");
    }
}

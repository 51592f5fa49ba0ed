//! Which functions a compiled script calls that nothing defines: not the engine's
//! registered API, Rhai's library or keywords, the script itself or its pack's prelude.
//! Rules and preludes are checked with it when they load, so `selct` fails at once.

use rhai::{Engine, AST};

/// Whether `c` can be part of a name in a script (a function's, a variable's).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Functions the language provides as keywords rather than registered functions.
const KEYWORD_FUNCTIONS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_var",
    "is_def_fn",
    "eval",
];

/// Rhai's own library, the same for every engine: listed once.
pub(crate) fn library() -> &'static std::collections::BTreeSet<String> {
    static LIBRARY: std::sync::OnceLock<std::collections::BTreeSet<String>> =
        std::sync::OnceLock::new();
    LIBRARY.get_or_init(|| names_of(Engine::new().gen_fn_signatures(true)))
}

static HOST: std::sync::OnceLock<std::collections::BTreeSet<&'static str>> =
    std::sync::OnceLock::new();

/// Keeps the host API's names as `sandbox::build` registered them (the same for every
/// engine it makes), so they need not be registered again to be listed.
pub(crate) fn remember_host_api(names: std::collections::BTreeSet<&'static str>) {
    let _ = HOST.set(names);
}

/// The host API's names: every engine `sandbox::build` makes registers them all.
fn host_api() -> &'static std::collections::BTreeSet<&'static str> {
    HOST.get_or_init(super::api::names)
}

fn names_of(signatures: Vec<String>) -> std::collections::BTreeSet<String> {
    signatures
        .iter()
        .filter_map(|sig| sig.split_once('(').map(|(name, _)| name.to_string()))
        .collect()
}

/// The names a rule may call besides Rhai's library: the engine's registered
/// functions, the language's keyword functions, the rule's own and its pack's.
pub(crate) fn local_functions(
    engine: &Engine,
    ast: &AST,
    shared: Option<&std::collections::BTreeSet<String>>,
) -> std::collections::BTreeSet<String> {
    let mut known = names_of(engine.gen_fn_signatures(false));
    known.extend(KEYWORD_FUNCTIONS.iter().map(|k| k.to_string()));
    known.extend(ast.iter_functions().map(|f| f.name.to_string()));
    known.extend(shared.into_iter().flatten().cloned());
    known
}

/// Calls in `ast` to names that are not known, in source order.
pub(crate) fn unknown_calls(
    engine: &Engine,
    ast: &AST,
    shared: Option<&std::collections::BTreeSet<String>>,
) -> Vec<(String, rhai::Position)> {
    use rhai::{ASTNode, Expr, Stmt};
    let mut calls = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos) | Expr::MethodCall(call, pos))) => {
                Some((call, pos))
            }
            // A call standing alone as a statement.
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => Some((call, pos)),
            _ => None,
        };
        if let Some((call, pos)) = call {
            let name = call.name.as_str();
            if name.chars().all(is_name_char) {
                calls.push((name.to_string(), *pos));
            }
        }
        true
    });
    // The common names first, without listing the engine's signatures (which formats
    // every registered function's types, a millisecond per rule).
    // Rhai's library is listed last: listing it costs more than all the rest.
    calls.retain(|(name, _)| {
        !host_api().contains(name.as_str())
            && !KEYWORD_FUNCTIONS.contains(&name.as_str())
            && !ast.iter_functions().any(|f| f.name == name)
            && !shared.is_some_and(|s| s.contains(name))
            && !library().contains(name)
    });
    if calls.is_empty() {
        return calls;
    }
    // What is left may still be registered on this engine alone (a test's helper).
    let known = local_functions(engine, ast, shared);
    calls.retain(|(name, _)| !known.contains(name));
    calls.sort_by_key(|(_, pos)| (pos.line(), pos.position()));
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_library_script_and_engine_only_names_are_known() {
        let limits = crate::engine::Limits::default();
        let mut engine = crate::engine::sandbox::build(&limits, false);
        engine.register_fn("only_here", || 1_i64);
        let ast = engine
            .compile("fn f(e) { has_words(\"a\", \"a\"); [1].len(); g(); only_here(); selct(e) }\nfn g() {}")
            .unwrap();
        let unknown: Vec<String> = unknown_calls(&engine, &ast, None)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(unknown, ["selct"]);
    }
}

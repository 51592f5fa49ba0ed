//! Which functions a compiled script calls that nothing defines: not the engine's
//! registered API, Rhai's library or keywords, the script itself or its pack's prelude.
//! Rules and preludes are checked with it when they load, so `selct` fails at once.

use rhai::{Engine, AST};

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
            if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                calls.push((name.to_string(), *pos));
            }
        }
        true
    });
    if calls.is_empty() {
        return calls;
    }
    let known = local_functions(engine, ast, shared);
    calls.retain(|(name, _)| !known.contains(name) && !library().contains(name));
    calls.sort_by_key(|(_, pos)| (pos.line(), pos.position()));
    calls
}

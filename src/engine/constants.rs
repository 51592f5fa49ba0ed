//! Top-level `const` values of a rule file or pack prelude, made visible inside its
//! functions. Rhai functions do not see the top level of their file, and `global::`
//! needs modules, which the sandbox compiles out; so the file's constants are
//! evaluated once at load, under the sandbox limits, and handed to the compiler as
//! a scope of constants, which it folds into every function that names them.

use super::budget::{self, Limits};
use rhai::{Engine, EvalAltResult, ParseError, Position, Scope, Stmt, AST};
use std::sync::OnceLock;

/// Why a file with constants could not be compiled.
pub enum Error {
    Parse(ParseError),
    /// A constant's value could not be computed.
    Eval(String, Box<EvalAltResult>, Position),
    /// A parameter, loop or catch variable has a constant's name. Rhai's optimizer would
    /// put the constant in its place, so the name is refused rather than misread.
    Rebound(String, Position),
}

impl Error {
    pub fn position(&self) -> Position {
        match self {
            Error::Parse(e) => e.position(),
            Error::Rebound(_, at) => *at,
            Error::Eval(_, e, at) => match e.position() {
                p if p.is_none() => *at,
                p => p,
            },
        }
    }

    pub fn message(&self) -> String {
        match self {
            Error::Parse(e) => e.err_type().to_string(),
            Error::Rebound(name, _) => format!(
                "{name} names a top-level constant and cannot be rebound as a parameter, loop or catch variable; rename one of them"
            ),
            Error::Eval(name, e, _) => {
                format!("the value of constant `{name}` cannot be computed: {e}")
            }
        }
    }
}

/// Parses without strict variables, only to find the top-level constants: functions
/// that name them do not compile in strict mode until their values are known.
fn lenient() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut e = Engine::new_raw();
        e.set_optimization_level(rhai::OptimizationLevel::None);
        e.disable_symbol("eval");
        e
    })
}

/// Compiles `text` with the constants of `inherited` (its pack's) and its own
/// top-level constants visible everywhere in it; returns the AST and the constants
/// the file's functions see.
pub fn compile(
    engine: &Engine,
    text: &str,
    inherited: &Scope<'static>,
) -> Result<(AST, Scope<'static>), Error> {
    let mut scope = inherited.clone();
    // Most files have no constants: one parse, as before.
    if scope.is_empty() && !text.contains("const") {
        return engine
            .compile_with_scope(&scope, text)
            .map(|ast| (ast, scope))
            .map_err(Error::Parse);
    }
    let draft = lenient().compile(text).map_err(Error::Parse)?;
    let mut names: Vec<String> = scope.iter_raw().map(|(n, ..)| n.to_string()).collect();
    names.extend(draft.statements().iter().filter_map(|s| match s {
        Stmt::Var(var, flags, _) if flags.intersects(rhai::ASTFlags::CONSTANT) => {
            Some(var.0.name.to_string())
        }
        _ => None,
    }));
    if let Some((name, at)) = rebound(&draft, &names) {
        return Err(Error::Rebound(name, at));
    }
    for stmt in draft.statements() {
        let Stmt::Var(var, flags, pos) = stmt else {
            continue;
        };
        if !flags.intersects(rhai::ASTFlags::CONSTANT) {
            continue;
        }
        let name = var.0.name.to_string();
        let one = AST::new([stmt.clone()], draft.shared_lib().clone());
        let mut limits = Limits::default();
        // A constant is computed once per load: a tenth of a rule call's budget.
        limits.max_operations /= 10;
        budget::arm(&limits);
        let run = engine.run_ast_with_scope(&mut scope, &one);
        budget::disarm();
        run.map_err(|e| Error::Eval(name, e, *pos))?;
    }
    let ast = engine
        .compile_with_scope(&scope, text)
        .map_err(Error::Parse)?;
    Ok((ast, scope))
}

const CURRY: &str = "curry";

/// The first parameter, loop or catch variable of `ast` that is one of `names`.
fn rebound(ast: &AST, names: &[String]) -> Option<(String, Position)> {
    use rhai::{ASTNode, Expr};
    if names.is_empty() {
        return None;
    }
    let hit = |n: &str| names.iter().any(|c| c == n);
    // A closure's first parameters are the outer variables it captures (constants
    // among them, rightly): `curry(Fn(closure), captured...)` says how many.
    let mut captured = std::collections::HashMap::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Expr(Expr::FnCall(call, _))) = path.last() {
            if let (CURRY, Some(Expr::DynamicConstant(f, _))) =
                (call.name.as_str(), call.args.first())
            {
                if let Some(f) = f.read_lock::<rhai::FnPtr>() {
                    captured.insert(f.fn_name().to_string(), call.args.len() - 1);
                }
            }
        }
        true
    });
    // Parameters carry no position: the message names the function instead.
    for f in ast.iter_functions() {
        let skip = captured.get(f.name).copied().unwrap_or(0);
        if let Some(p) = f.params.iter().skip(skip).find(|p| hit(p)) {
            let within = match f.name {
                n if n.starts_with("anon$") => "a closure".to_string(),
                n => format!("`fn {n}`"),
            };
            return Some((format!("`{p}` (a parameter of {within})"), Position::NONE));
        }
    }
    let mut found = None;
    ast.walk(&mut |path: &[ASTNode]| {
        let bound: Vec<(&str, Position)> = match path.last() {
            Some(ASTNode::Stmt(Stmt::For(x, pos))) => {
                let mut v = vec![(x.0.name.as_str(), *pos)];
                v.extend(x.1.as_ref().map(|i| (i.name.as_str(), *pos)));
                v
            }
            Some(ASTNode::Stmt(Stmt::TryCatch(x, pos))) => match &x.expr {
                Expr::Variable(v, _, _) => vec![(v.1.as_str(), *pos)],
                _ => vec![],
            },
            _ => vec![],
        };
        if let Some((n, at)) = bound.into_iter().find(|(n, _)| hit(n)) {
            found = Some((format!("`{n}`"), at));
            return false;
        }
        true
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        crate::engine::sandbox::build(&Limits::default(), false)
    }

    fn call(engine: &Engine, ast: &AST, f: &str) -> rhai::Dynamic {
        engine
            .call_fn::<rhai::Dynamic>(&mut Scope::new(), ast, f, ())
            .unwrap()
    }

    #[test]
    fn functions_see_top_level_constants() {
        let e = engine();
        let text = "const OLD = [\"nt4\", \"w2k\"];\nconst N = OLD.len() + 1;\n\
                    fn old(os) { os in OLD }\nfn n() { N }\n\
                    fn local() { let N = 7; N }\n\
                    fn closure() { [\"nt4\", \"x\"].filter(|o| o in OLD).len() }\n";
        let (ast, scope) = match compile(&e, text, &Scope::new()) {
            Ok(done) => done,
            Err(err) => panic!("{}", err.message()),
        };
        assert_eq!(scope.len(), 2);
        let old = e
            .call_fn::<bool>(&mut Scope::new(), &ast, "old", ("w2k",))
            .unwrap();
        assert!(old);
        assert_eq!(call(&e, &ast, "n").as_int().unwrap(), 3);
        assert_eq!(call(&e, &ast, "local").as_int().unwrap(), 7);
        assert_eq!(call(&e, &ast, "closure").as_int().unwrap(), 1);
    }

    #[test]
    fn inherited_constants_and_errors() {
        let e = engine();
        let (_, pack) = compile(&e, "const A = 2;", &Scope::new()).ok().unwrap();
        let (ast, _) = compile(&e, "fn f() { A * 2 }", &pack).ok().unwrap();
        assert_eq!(call(&e, &ast, "f").as_int().unwrap(), 4);
        let Err(err) = compile(&e, "const B = 1 / 0;\nfn f() { B }", &Scope::new()) else {
            panic!("a failing constant must not compile");
        };
        assert!(err.message().contains("constant `B`"), "{}", err.message());
        assert_eq!(err.position().line(), Some(1));
        for rebinding in [
            "fn f(A) { A }",
            "fn f() { for A in [1] {} }",
            "fn f() { for (x, A) in [1] {} }",
            "fn f() { try { throw 1; } catch (A) {} }",
            "fn f() { [1].map(|A| A) }",
        ] {
            let Err(err) = compile(&e, rebinding, &pack) else {
                panic!("`{rebinding}` rebinds a constant");
            };
            assert!(err.message().contains("names a top-level constant"));
        }
        // Still strict: an unknown name is a compile error.
        assert!(compile(&e, "const C = 1;\nfn f() { D }", &Scope::new()).is_err());
    }
}

//! Parallel evaluation: every (estate, rule) pair on rayon's threads, longest first,
//! errors turned into located failures, raw findings resolved into spans, paths and
//! readiness subjects.

use super::ahead::{begin, Begun, Handles, Origin, Run, BATCH, FAR, NEAR};
use super::budget::{self, Limits, MEMORY_TOKEN, OPERATIONS_TOKEN, TIMEOUT_TOKEN};
use super::calls::is_name_char;
use super::context::{CallScope, Node, RawFinding};
use super::readiness::Subjects;
use super::rule::Rule;
use super::schema::Readiness;
use crate::estate::{doc::Value, Doc, ROOT};
use crate::report::{Applied, Failure, FailureKind, Finding, Label};
use rayon::prelude::*;
use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, Position, Scope};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

/// An estate ready for rules, with its position among the checked files.
pub struct Estate {
    pub index: usize,
    pub doc: Arc<Doc>,
}

/// Everything evaluating rules on estates produced.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Per estate, in the order given.
    pub findings: Vec<Found>,
    pub failures: Vec<Failure>,
    /// Which rule applied to which readiness subject, sorted, without repeats.
    pub applied: Vec<Applied>,
}

/// One estate's findings, in the runs its rule calls left them, in order: each
/// finding (large) is moved once, when they are taken.
#[derive(Debug, Default)]
pub struct Found(Vec<Vec<Finding>>);

impl Found {
    pub fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the findings to the end of `out`.
    pub fn move_into(self, out: &mut Vec<Finding>) {
        out.reserve(self.len());
        for run in self.0 {
            out.extend(run);
        }
    }
}

/// Runs every rule on every estate. Output order is fixed later by sorting.
pub fn evaluate(
    engine: &Engine,
    limits: &Limits,
    estates: &[Estate],
    rules: &[Rule],
) -> (Vec<Finding>, Vec<Failure>) {
    let e = evaluate_with_progress(engine, limits, estates, rules, &|| {});
    let mut findings = Vec::with_capacity(e.findings.iter().map(Found::len).sum());
    for found in e.findings {
        found.move_into(&mut findings);
    }
    (findings, e.failures)
}

/// [`evaluate`], calling `tick` after each (estate, rule) pair, with what rules applied to.
pub fn evaluate_with_progress(
    engine: &Engine,
    limits: &Limits,
    estates: &[Estate],
    rules: &[Rule],
    tick: &(dyn Fn() + Sync),
) -> Evaluation {
    // A pack that declares no `[readiness]` (site rules) groups as the first that does.
    let fallback = rules
        .iter()
        .find_map(|r| r.pack.as_ref().and_then(|p| p.readiness.as_ref()));
    let pairs = estates.len() * rules.len();
    let run = |i: usize| {
        let estate = &estates[i / rules.len()];
        let rule = &rules[i % rules.len()];
        let out =
            crate::timings::rule(&rule.id, || run_one(engine, limits, estate, rule, fallback));
        tick();
        out
    };
    // Every thread of the pool takes pairs from one queue, the likeliest longest first:
    // split in halves, the list would hand a second thread the pairs after the first
    // few, and a long pair late in it would start only when the short ones before it
    // were done. A pair is never a job another thread can steal, so a thread that
    // helps others (below, or waiting in a join) never starts a rule call on top of
    // its own.
    let order = longest_first(estates, rules);
    let next = AtomicUsize::new(0);
    let slots: Vec<OnceLock<Outcome>> = (0..pairs).map(|_| OnceLock::new()).collect();
    let take = || {
        while let Some(&(i, _)) = order.get(next.fetch_add(1, Relaxed)) {
            let _ = slots[i].set(run(i));
            // Before a long pair, help the longer calls still running: the parts of
            // their passes, their findings to begin. A short pair goes first: it cannot
            // be shared, and left for the end it would keep one thread busy while the
            // other has nothing left to do, where help can be cut to fit. (Another
            // thread may take the pair looked at first: then this one takes the next.)
            if order
                .get(next.load(Relaxed))
                .is_none_or(|&(_, weight)| weight >= SHORT)
            {
                while let Some(rayon::Yield::Executed) = rayon::yield_now() {}
            }
        }
    };
    rayon::broadcast(|_| take());
    let results: Vec<Outcome> = slots
        .into_iter()
        .map(|s| s.into_inner().expect("every pair was taken and run"))
        .collect();
    let mut out = Evaluation {
        findings: estates.iter().map(|_| Found::default()).collect(),
        ..Evaluation::default()
    };
    for (i, o) in results.into_iter().enumerate() {
        // Only the runs move here; their findings move once, when taken.
        out.findings[i / rules.len()].0.extend(o.findings);
        out.failures.extend(o.failure);
        let (estate, rule) = (&estates[i / rules.len()], &rules[i % rules.len()]);
        out.applied
            .extend(o.applied.into_iter().map(|subject| Applied {
                file_index: estate.index,
                subject,
                rule: rule.id.clone(),
            }));
    }
    out.applied.sort();
    out
}

/// A pair guessed to pass over fewer entries than this (no split pass) is short.
const SHORT: usize = super::query::SPLIT_MIN;

/// Pair indices (estate-major, as [`evaluate_with_progress`] numbers them) with their
/// guessed lengths, the likeliest longest first. A rule's guessed length on an estate:
/// for each of the estate's largest top-level values, its number of entries times the
/// times the rule's text names it (each `estate.clients` a pass, say). Ties keep their
/// order: the same order in every run.
fn longest_first(estates: &[Estate], rules: &[Rule]) -> Vec<(usize, usize)> {
    // Only the largest few values count, so that an estate of a million top-level
    // keys costs one pass over them, not one per rule.
    const LARGEST: usize = 16;
    let largest: Vec<Vec<(&str, usize)>> = estates
        .iter()
        .map(|e| {
            let mut top: Vec<(&str, usize)> = match e.doc.value(ROOT) {
                Value::Table(top) => top.iter().map(|(k, id)| (k, e.doc.len(id))).collect(),
                _ => Vec::new(),
            };
            top.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
            top.truncate(LARGEST);
            top
        })
        .collect();
    let mut order: Vec<(usize, usize)> = (0..estates.len() * rules.len())
        .map(|i| {
            let (top, named) = (&largest[i / rules.len()], &rules[i % rules.len()].names);
            let weight = top
                .iter()
                .map(|(key, n)| named.get(*key).map_or(0, |times| times.saturating_mul(*n)))
                .fold(0usize, usize::saturating_add);
            (i, weight)
        })
        .collect();
    order.sort_by_key(|&(_, w)| std::cmp::Reverse(w));
    order
}

/// A rule call that reported at least this many findings has them resolved on all the
/// pool's threads.
const RESOLVE_APART: usize = 512;

/// What one rule reported on one estate.
pub struct Outcome {
    /// In report order, in runs as they were resolved.
    pub findings: Vec<Vec<Finding>>,
    pub failure: Option<Failure>,
    /// Paths of the readiness subjects the rule applied to, without repeats.
    pub applied: Vec<String>,
}

/// Runs one rule on one estate, containing errors, limits and panics.
pub fn run_one(
    engine: &Engine,
    limits: &Limits,
    estate: &Estate,
    rule: &Rule,
    fallback: Option<&Readiness>,
) -> Outcome {
    let origin = Origin {
        doc: estate.doc.clone(),
        index: estate.index,
        rule: Arc::from(rule.id.as_str()),
        severity: rule.header.severity,
    };
    let scope = CallScope::enter(origin.clone());
    budget::arm(limits);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        engine.call_fn_with_options::<Dynamic>(
            options,
            &mut Scope::new(),
            &rule.ast,
            "check",
            (Node::root(&estate.doc),),
        )
    }));
    budget::disarm();
    let (mut raw, mut said, mut begun, mut applied) = scope.finish();
    if matches!(&outcome, Ok(Err(e)) if is_memory(e)) {
        // What a call that ran out of memory reported goes with the rest of its memory.
        raw = Vec::new();
        said = Vec::new();
        begun = Vec::new();
        applied = Vec::new();
    }
    let readiness = rule
        .pack
        .as_ref()
        .and_then(|p| p.readiness.as_ref())
        .or(fallback);
    // A loop's findings share a few `fail` calls: each call's place is found once.
    let mut places = hashbrown::HashMap::new();
    let sites: Vec<CallSite> = (said.iter())
        .map(|s| {
            (places.entry(s.call_site))
                .or_insert_with(|| call_site(rule, s.call_site))
                .clone()
        })
        .collect();
    // Resolving spans and paths costs thousands of instructions a finding; a rule
    // with many shares it out to the pool. The call is over and its thread-local
    // context gone, so this thread may run other calls while it waits.
    // A run of findings, with those another thread began of it. The counted handles
    // its findings share (call sites; the estate's, when this thread begins them) are
    // cloned in one burst first: see [`Handles`].
    let run = |subjects: &mut Option<Subjects>, (raws, b): (&mut [RawFinding], Run)| {
        let mut b = b.begun().map(Vec::into_iter);
        let mut handles = Handles::new(&origin, if b.is_none() { raws.len() } else { 0 });
        // In reverse, to be taken from the end.
        let mut shared: Vec<Shared> = (raws.iter().rev())
            .map(|r| {
                let i = r.said as usize;
                (sites[i].clone(), said[i].help.clone())
            })
            .collect();
        (0..raws.len())
            .map(|i| {
                if b.is_none() {
                    let node = |i: usize| raws.get(i).map(|r| r.node);
                    estate.doc.prefetch(node(i + FAR), node(i + NEAR));
                }
                let r = &mut raws[i];
                let s = &said[r.said as usize];
                let begun = b.as_mut().and_then(Iterator::next).unwrap_or_else(|| {
                    let handle = handles.next(&origin);
                    begin(&origin, handle, r.node, &s.key, &s.message, s.severity)
                });
                let (site, help) = shared.pop().unwrap_or_default();
                let mut f = resolve(&estate.doc, r, &s.key, begun, site);
                f.help = help;
                f.subject = subjects.as_mut().and_then(|all| all.of(r.node));
                f
            })
            .collect::<Vec<Finding>>()
    };
    let new_subjects = || readiness.map(|r| Subjects::new(&estate.doc, r));
    // One map of subjects serves the findings (when resolved here) and `applies`.
    let mut subjects = new_subjects();
    let findings: Vec<Vec<Finding>> = if raw.len() >= RESOLVE_APART {
        raw.par_chunks_mut(BATCH)
            .zip(begun)
            .map_init(new_subjects, run)
            .collect()
    } else {
        raw.chunks_mut(BATCH)
            .zip(begun)
            .map(|r| run(&mut subjects, r))
            .collect()
    };
    applied.sort_unstable();
    applied.dedup();
    let mut applied: Vec<String> = match subjects.as_mut() {
        Some(s) => applied.into_iter().filter_map(|n| s.of(n)).collect(),
        None => Vec::new(),
    };
    applied.sort();
    applied.dedup();
    let failure = match outcome {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(rule_error(rule, limits, &estate.doc, *e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Some(
                Failure::located(
                    FailureKind::RuleRuntime,
                    &rule.source,
                    rule.check_span.clone(),
                    format!("rule `{}` crashed inside preflight: {what}", rule.id),
                )
                .with_note(format!("while checking {}", estate.doc.source.name())),
            )
        }
    };
    Outcome {
        findings,
        failure,
        applied,
    }
}

/// Where in a rule file a finding was reported: the `fail` call's name.
type CallSite = Option<(Arc<crate::estate::Source>, std::ops::Range<usize>)>;

/// The counted handles a finding takes from what its call was given: its place in the
/// rule file and its help. Cloned for a run of findings in one burst, as [`Handles`].
type Shared = (CallSite, Option<Arc<str>>);

/// Finishes a finding begun from what `fail` was given with what the rule may have
/// attached since (labels, fixes, `on_key`), and the call's place in the rule file.
/// The label texts move over: nothing is copied.
fn resolve(doc: &Doc, raw: &mut RawFinding, key: &str, begun: Begun, site: CallSite) -> Finding {
    let Begun { child, mut finding } = begun;
    finding.call_site = site;
    let Some(attached) = raw.attached.take() else {
        return finding;
    };
    if let (true, Some(c)) = (attached.on_key, child) {
        finding.span = doc.key_span(c);
    }
    finding.labels = (attached.labels.into_iter())
        .map(|(node, key, text)| Label {
            span: doc.label_span(node, &key).1,
            text,
        })
        .collect();
    finding.fix = super::fix::place(doc, raw.node, key, &attached.fixes).map(Box::new);
    finding
}

fn call_site(rule: &Rule, pos: Position) -> CallSite {
    let line = pos.line()?;
    let start = rule.source.offset_of(line, pos.position().unwrap_or(1));
    let text = &rule.source.text()[start..];
    let len = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
    Some((rule.source.clone(), start..start + len))
}

/// The innermost error of a chain of function calls, the nearest position, and the
/// script function whose body that position is in (`within` at the top).
fn innermost<'e>(e: &'e EvalAltResult, within: &'e str) -> (&'e EvalAltResult, Position, &'e str) {
    match e {
        EvalAltResult::ErrorInFunctionCall(name, _, inner, pos) => {
            let (deepest, inner_pos, inner_fn) = innermost(inner, name);
            if inner_pos.is_none() {
                (deepest, *pos, within)
            } else {
                (deepest, inner_pos, inner_fn)
            }
        }
        other => (other, other.position(), within),
    }
}

/// The file a position inside function `within` refers to: the pack prelude when the
/// function comes from it and the rule does not define its own.
fn file_of<'r>(rule: &'r Rule, within: &str) -> &'r Arc<crate::estate::Source> {
    match &rule.pack {
        Some(pack) if pack.functions.contains(within) && !defines(rule, within) => {
            pack.prelude.as_ref().unwrap_or(&rule.source)
        }
        _ => &rule.source,
    }
}

fn defines(rule: &Rule, name: &str) -> bool {
    let text = rule.source.text();
    text.match_indices("fn ").any(|(i, _)| {
        text[i + 3..]
            .trim_start()
            .strip_prefix(name)
            .is_some_and(|rest| rest.trim_start().starts_with('('))
    })
}

fn rule_error(rule: &Rule, limits: &Limits, doc: &Doc, e: EvalAltResult) -> Failure {
    let (inner, pos, within) = innermost(&e, "check");
    let (kind, message) = match inner {
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == TIMEOUT_TOKEN => (
            FailureKind::RuleLimit,
            format!(
                "rule `{}` ran longer than the {:?} time limit",
                rule.id, limits.timeout
            ),
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == MEMORY_TOKEN => (
            FailureKind::RuleLimit,
            format!(
                "rule `{}` exceeded the memory budget of {} MiB (--max-memory)",
                rule.id,
                limits.memory >> 20
            ),
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == OPERATIONS_TOKEN => {
            (FailureKind::RuleLimit, operations_message(rule, limits))
        }
        EvalAltResult::ErrorTooManyOperations(_) => {
            (FailureKind::RuleLimit, operations_message(rule, limits))
        }
        EvalAltResult::ErrorStackOverflow(_) => (
            FailureKind::RuleLimit,
            format!(
                "rule `{}` nested calls deeper than {} levels",
                rule.id, limits.max_call_levels
            ),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            FailureKind::RuleLimit,
            format!("rule `{}` exceeded a size limit: {what}", rule.id),
        ),
        other => (
            FailureKind::RuleRuntime,
            format!(
                "rule `{}` failed: {}",
                rule.id,
                strip_position(&other.to_string())
            ),
        ),
    };
    let file = file_of(rule, within);
    let span = match pos.line() {
        Some(line) => {
            let at = file.offset_of(line, pos.position().unwrap_or(1));
            at..at
        }
        None => rule.check_span.clone(),
    };
    Failure::located(kind, file, span, message)
        .with_note(format!("while checking {}", doc.source.name()))
}

fn is_memory(e: &EvalAltResult) -> bool {
    matches!(innermost(e, "check").0,
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == MEMORY_TOKEN)
}

fn operations_message(rule: &Rule, limits: &Limits) -> String {
    format!(
        "rule `{}` exceeded the limit of {} operations (--max-operations)",
        rule.id, limits.max_operations
    )
}

fn strip_position(msg: &str) -> String {
    let msg = msg.strip_prefix("Runtime error: ").unwrap_or(msg);
    match msg.rfind(" (line ") {
        Some(i) if msg.ends_with(')') => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rule::{compile, RuleText};
    use crate::estate::{parse, Source};

    /// The estate `text` parses to, as the first checked file.
    fn estate_of(text: impl Into<String>) -> Estate {
        let source = Arc::new(Source::new("e.toml", text.into()));
        Estate {
            index: 0,
            doc: Arc::new(parse(source).unwrap()),
        }
    }

    /// A rule `id` whose `check` runs `body`, compiled for `engine`.
    fn rule_of(engine: &Engine, id: &str, body: &str) -> Rule {
        let text = format!("//! severity: error\n//! title: t\nfn check(estate) {{ {body} }}\n");
        let file = format!("{}.rhai", id.rsplit('/').next().unwrap_or(id));
        compile(
            engine,
            RuleText {
                id: id.into(),
                source: Arc::new(Source::new(file, text)),
                builtin: false,
                pack: None,
            },
        )
        .unwrap()
    }

    /// Default limits, and an engine built with them.
    fn default_engine() -> (Limits, Engine) {
        let limits = Limits::default();
        let engine = crate::engine::sandbox::build(&limits, false);
        (limits, engine)
    }

    /// A pool of `threads` threads of its own.
    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// Rules `(id, body)` compiled for `engine`, in order.
    fn rules_of(engine: &Engine, bodies: &[(&str, &str)]) -> Vec<Rule> {
        bodies
            .iter()
            .map(|(id, body)| rule_of(engine, id, body))
            .collect()
    }

    #[test]
    fn a_panic_inside_a_native_helper_is_that_rule_s_failure() {
        let (limits, mut engine) = default_engine();
        engine.register_fn("explode", || -> i64 { panic!("helper bug") });
        let rule = |name: &str, body: &str| rule_of(&engine, &format!("t/{name}"), body);
        let doc = parse(Arc::new(Source::new(
            "e.toml",
            "[[s]]\nname = \"a\"\n".into(),
        )))
        .unwrap();
        let estate = Estate {
            index: 0,
            doc: Arc::new(doc),
        };
        let rules = [
            rule("boom", "explode();"),
            rule("fine", "for s in estate.s { fail(s, \"name\", \"seen\"); }"),
        ];
        let (findings, failures) =
            evaluate(&engine, &limits, std::slice::from_ref(&estate), &rules);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].kind, FailureKind::RuleRuntime);
        assert!(
            failures[0]
                .message
                .contains("crashed inside preflight: helper bug"),
            "{}",
            failures[0].message
        );
        assert_eq!(failures[0].file, "boom.rhai");
        assert_eq!(findings.len(), 1, "the other rule still reports");
        assert_eq!(&*findings[0].rule, "t/fine");
    }

    #[test]
    fn for_loops_read_entries_one_at_a_time_and_still_stop_at_a_limit() {
        let rule = |engine: &Engine, body: &str| rule_of(engine, "t/loop", body);
        let mut text = "arr = [1, 2, 3]\n[t]\nx = 1\ny = 2\n".to_string();
        for name in ["a", "b", "c"] {
            text.push_str(&format!("[[s]]\nname = \"{name}\"\n"));
        }
        let estate = estate_of(text);
        let (limits, engine) = default_engine();
        // Tables, arrays, a filtered query, and a loop inside a loop over the same array.
        let all = rule(
            &engine,
            "let out = []; for s in estate.s { out.push(s.name); } \
             for s in estate.s.select(\"name\", [\"a\", \"c\"]) { out.push(s.name); } \
             let ac = estate.s.select(\"name\", [\"a\", \"c\"]).items(); \
             for s in ac.reject(\"name\", \"a\") { out.push(s.name); } out.push(ac.len()); \
             for v in estate.arr { out.push(v); } for v in estate.t { out.push(v); } \
             for s in estate.s { for r in estate.s { if s == r { out.push(r.name); } } } \
             fail(estate.t, \"x\", out.to_string());",
        );
        let (findings, failures) =
            evaluate(&engine, &limits, std::slice::from_ref(&estate), &[all]);
        assert!(failures.is_empty());
        assert_eq!(
            findings[0].message,
            r#"["a", "b", "c", "a", "c", "c", 2, 1, 2, 3, 1, 2, "a", "b", "c"]"#
        );
        // Each entry a loop visits is charged: a budget below the entries stops the loop.
        let tight = Limits {
            max_operations: 2,
            ..Limits::default()
        };
        let engine = crate::engine::sandbox::build(&tight, false);
        let endless = rule(&engine, "for s in estate.s { }");
        let (_, failures) = evaluate(&engine, &tight, std::slice::from_ref(&estate), &[endless]);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].kind, FailureKind::RuleLimit);
    }

    #[test]
    fn strings_with_and_without_numbers_compare_by_their_text() {
        // `n` numbers its first 1,024 values only; `v1029` gets a number under `s`
        // later, and `v5` is also written with an escape, which has none.
        let mut text = String::new();
        for i in 0..1030 {
            text.push_str(&format!("[[c]]\nn = \"v{i}\"\n"));
        }
        text.push_str("[[d]]\ns = \"v1029\"\n[[d]]\ns = \"v\\u0035\"\n[[d]]\ns = \"w\"\n");
        let doc = parse(Arc::new(Source::new("e.toml", text))).unwrap();
        let c = doc.children(doc.get(crate::estate::ROOT, "c").unwrap());
        let late = doc.get(c[1029], "n").unwrap();
        assert_eq!(doc.number(late), None);
        assert!(doc.number_of("v1029").is_some());
        let (limits, engine) = default_engine();
        let body = "let out = [\
            estate.c.select(\"n\", \"v1029\").len(), \
            estate.d.select(\"s\", \"v1029\").len(), \
            estate.d.select(\"s\", \"v5\").len(), \
            estate.c.select(\"n\", \"v5\").len(), \
            estate.c.select(\"n\", \"nowhere\").len(), \
            estate.c.reject(\"n\", estate.d.index_by(\"s\")).len(), \
            estate.d.select(\"s\", estate.c.index_by(\"n\")).len(), \
            estate.d.reject(\"s\", estate.c.select(\"n\", \"v5\").index_by(\"n\")).len(), \
            estate.c.select_words(\"n\", \"v1029\").len(), \
            estate.d.select_words(\"s\", [\"v5\", \"w\"]).len()]; \
            fail(estate, \"\", out.to_string());";
        let rule = rule_of(&engine, "t/numbers", body);
        let estate = Estate {
            index: 0,
            doc: Arc::new(doc),
        };
        let (findings, failures) = evaluate(&engine, &limits, &[estate], &[rule]);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(findings[0].message, "[1, 1, 1, 1, 0, 1028, 2, 2, 1, 2]");
    }

    #[test]
    fn findings_are_the_same_whichever_thread_began_them() {
        // 700 findings: batches go to the pool while the rule runs on, and labels,
        // `on_key` and fixes come after they were begun.
        let mut text = String::new();
        for i in 0..700 {
            text.push_str(&format!("[[c]]\nname = \"c{i}\"\nos = \"x\"\n"));
        }
        let estate = estate_of(text);
        let body = "let fs = []; for c in estate.c { fs.push(fail(c, \"os\", `bad ${c.name}`)); } \
            for i in range(0, fs.len(), 3) { fs[i].label(estate.c[i], \"name\", \"here\"); } \
            for i in range(1, fs.len(), 3) { fs[i].on_key(); } \
            for i in range(2, fs.len(), 5) { fs[i].fix_value(\"y\"); } \
            warn(estate.c[0], \"missing\", \"no such key\");";
        let (limits, engine) = default_engine();
        let rule = rule_of(&engine, "t/many", body);
        let on = |threads: usize| {
            let pool = pool(threads);
            let rules = std::slice::from_ref(&rule);
            let (findings, failures) =
                pool.install(|| evaluate(&engine, &limits, std::slice::from_ref(&estate), rules));
            assert!(failures.is_empty(), "{failures:?}");
            format!("{findings:?}")
        };
        let one = on(1);
        assert!(one.contains("no such key") && one.contains("bad c699"));
        assert_eq!(one, on(2));
        assert_eq!(one, on(4));
    }

    #[test]
    fn rules_naming_the_largest_arrays_most_often_start_first() {
        let (_, engine) = default_engine();
        let rules = rules_of(
            &engine,
            &[
                ("t/none", "let x = 1;"),
                ("t/servers", "for s in estate.servers { }"),
                ("t/clients", "for c in estate.clients { }"),
                (
                    "t/clients_twice",
                    "for c in estate.clients { } for c in estate[\"clients\"] { }",
                ),
                ("t/also_servers", "let n = estate.servers.len();"),
                // A longer name that contains a key is not that key.
                ("t/lookalike", "let clients_seen = 0; let serversx = 1;"),
            ],
        );
        let small = "[[servers]]\nname = \"s\"\n[[servers]]\nname = \"t\"\n".to_string();
        let big = format!("{small}{}", "[[clients]]\nname = \"c\"\n".repeat(5));
        let estates = [estate_of(small), estate_of(big)];
        let named = |order: Vec<(usize, usize)>| -> Vec<String> {
            let n = rules.len();
            order
                .iter()
                .map(|(i, _)| format!("{}:{}", i / n, rules[i % n].id))
                .collect()
        };
        assert_eq!(
            named(longest_first(&estates, &rules)),
            [
                "1:t/clients_twice", // 2 x 5 entries
                "1:t/clients",       // 5
                "0:t/servers",       // 2; ties keep their order
                "0:t/also_servers",
                "1:t/servers",
                "1:t/also_servers",
                "0:t/none",
                "0:t/clients",
                "0:t/clients_twice",
                "0:t/lookalike",
                "1:t/none",
                "1:t/lookalike",
            ]
        );
    }

    #[test]
    fn only_an_estate_s_largest_top_level_values_weigh_a_rule() {
        let (_, engine) = default_engine();
        let rules = rules_of(
            &engine,
            &[
                ("t/last", "estate.t19"),
                ("t/first", "estate.t0"),
                ("t/big", "estate.big"),
            ],
        );
        // `big` and the first fifteen one-key tables are the sixteen that count.
        let mut text: String = (0..20).map(|i| format!("t{i} = {{ k = 1 }}\n")).collect();
        text.push_str("big = [1, 2, 3]\n");
        let order = longest_first(&[estate_of(text)], &rules);
        assert_eq!(order, [(2, 3), (1, 1), (0, 0)]);
    }

    #[test]
    fn every_pair_runs_once_and_reports_under_its_own_file_and_rule() {
        let (limits, engine) = default_engine();
        let rules: Vec<Rule> = (0..5)
            .map(|r| {
                // Rules of different lengths, so that threads finish them out of order.
                let body = format!(
                    "for i in 0..{} {{ }} for c in estate.c {{ fail(c, \"n\", `r{r}`); }}",
                    (5 - r) * 2000
                );
                rule_of(&engine, &format!("t/r{r}"), &body)
            })
            .collect();
        let estates: Vec<Estate> = (0..3)
            .map(|e| Estate {
                index: e,
                ..estate_of("[[c]]\nn = 1\n".repeat(e + 1))
            })
            .collect();
        for threads in [1, 2, 3] {
            let pool = pool(threads);
            let (findings, failures) =
                pool.install(|| evaluate(&engine, &limits, &estates, &rules));
            assert!(failures.is_empty(), "{failures:?}");
            let got: Vec<(usize, String, String)> = findings
                .iter()
                .map(|f| (f.file_index, f.rule.to_string(), f.message.clone()))
                .collect();
            let want: Vec<(usize, String, String)> = (0..3)
                .flat_map(|e| {
                    (0..5).flat_map(move |r| {
                        (0..=e).map(move |_| (e, format!("t/r{r}"), format!("r{r}")))
                    })
                })
                .collect();
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    fn evaluations_at_once_on_one_pool_each_report_what_they_report_alone() {
        // Threads between pairs help whatever the pool holds, another evaluation's
        // calls and passes among it.
        let (limits, engine) = default_engine();
        let text: String = (0..20_000)
            .map(|i| {
                format!(
                    "[[c]]\nn = {i}\nos = \"{}\"\n",
                    if i % 7 == 0 { "old" } else { "new" }
                )
            })
            .collect();
        let estates = [estate_of(text)];
        let rules = rules_of(
            &engine,
            &[
                (
                    "t/query",
                    "fail(estate.c.select(\"os\", \"old\"), \"os\", \"old\");",
                ),
                (
                    "t/loop",
                    "for i in 0..20 { let c = estate.c[i * 1000]; fail(c, \"n\", `n ${c.n}`); }",
                ),
                ("t/short", "fail(estate.c[0], \"n\", \"first\");"),
            ],
        );
        let show = |(findings, failures): (Vec<Finding>, Vec<Failure>)| {
            assert!(failures.is_empty(), "{failures:?}");
            let shown = |f: &Finding| format!("{} {} {} {:?}", f.rule, f.path, f.message, f.span);
            findings.iter().map(shown).collect::<Vec<_>>().join("\n")
        };
        let (a, b) = (&rules[..2], &rules[1..]);
        let alone = (
            show(evaluate(&engine, &limits, &estates, a)),
            show(evaluate(&engine, &limits, &estates, b)),
        );
        assert!(alone.0.contains("n 19000") && alone.1.contains("first"));
        let pool = pool(2);
        for _ in 0..3 {
            let together = pool.install(|| {
                rayon::join(
                    || show(evaluate(&engine, &limits, &estates, a)),
                    || show(evaluate(&engine, &limits, &estates, b)),
                )
            });
            assert_eq!(together, alone);
        }
    }

    #[test]
    fn fail_on_a_query_reports_what_a_loop_over_it_reports() {
        // Enough matches for batches begun ahead; the handle's labels and fixes go to
        // every finding, as they go to each in the loop.
        let mut text = String::new();
        for i in 0..900 {
            let os = if i % 3 == 0 { "old" } else { "new" };
            text.push_str(&format!("[[c]]\nname = \"c{i}\"\nos = \"{os}\"\n"));
        }
        let estate = estate_of(text);
        let (limits, engine) = default_engine();
        let then = ".label(estate.c[0], \"name\", \"first\").fix_value(\"new\")";
        let looped = rule_of(
            &engine,
            "t/r",
            &format!("for c in estate.c.select(\"os\", \"old\") {{ fail(c, \"os\", \"old\", \"upgrade\"){then}; }}"),
        );
        let bulk = rule_of(
            &engine,
            "t/r",
            &format!("fail(estate.c.select(\"os\", \"old\"), \"os\", \"old\", \"upgrade\"){then};"),
        );
        let on = |threads: usize, rule: &Rule| {
            let pool = pool(threads);
            let (mut findings, failures) = pool.install(|| {
                evaluate(
                    &engine,
                    &limits,
                    std::slice::from_ref(&estate),
                    std::slice::from_ref(rule),
                )
            });
            assert!(failures.is_empty(), "{failures:?}");
            // The one thing that differs: where in the rule `fail` was called.
            for f in &mut findings {
                assert!(f.call_site.take().is_some());
            }
            format!("{findings:?}")
        };
        let want = on(1, &looped);
        assert_eq!(want.matches("Finding {").count(), 300);
        assert!(want.contains("first") && want.contains("upgrade"));
        assert_eq!(on(1, &bulk), want);
        assert_eq!(on(2, &bulk), want);
    }

    #[test]
    fn fail_on_a_query_refuses_plain_entries_and_reports_nothing_of_an_empty_one() {
        let text = "arr = [\"a\", \"b\"]\n[[c]]\nname = \"c0\"\nos = \"new\"\n";
        let estate = estate_of(text);
        let (limits, engine) = default_engine();
        let rules = [
            rule_of(
                &engine,
                "t/plain",
                "warn(estate.arr.items(), \"x\", \"m\");",
            ),
            rule_of(
                &engine,
                "t/empty",
                "note(estate.c.select(\"os\", \"old\"), \"os\", \"m\").on_key().fix_value(1); \
                 fail(estate, \"\", \"after\");",
            ),
        ];
        let (findings, failures) =
            evaluate(&engine, &limits, std::slice::from_ref(&estate), &rules);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].file, "plain.rhai");
        assert!(
            failures[0]
                .message
                .contains("`warn` on a query: the entry at `arr[0]` is a plain value"),
            "{}",
            failures[0].message
        );
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages, ["after"]);
    }

    #[test]
    fn queries_of_a_missing_array_are_empty_whatever_is_asked_of_them() {
        let (limits, engine) = default_engine();
        let rule = rule_of(
            &engine,
            "t/missing",
            "let d = estate.missing.items().duplicates(\"name\"); \
             fail(estate, \"\", `${d.is_empty()} ${d.len()} ${d.first()}`);",
        );
        let estate = estate_of("x = 1\n");
        let (findings, failures) = evaluate(&engine, &limits, &[estate], &[rule]);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(findings[0].message, "true 0 ");
    }

    /// An estate of `n` clients whose `os`, `arch` and `server` values are numbered
    /// strings, missing, integers or escaped strings (never numbered), keys in two
    /// orders; and `hosts`, an array mixing tables with other values.
    fn mixed_clients(n: usize) -> String {
        let oses = [
            "Windows 98",
            "Windows NT 4.0",
            "windows 2000 SP4",
            "Windows 7",
            "Windows\\u0020NT",
        ];
        let mut t = String::new();
        for s in 0..20 {
            t += &format!("[[servers]]\nname = \"srv-{s}\"\n\n");
        }
        for i in 0..n {
            let os = match i % 11 {
                0 => String::new(),
                1 => "os = 98\n".into(),
                k => format!("os = \"{}\"\n", oses[k % oses.len()]),
            };
            let server = match i % 7 {
                0 => String::new(),
                1 => "server = 3\n".into(),
                // 20 to 22 name no server.
                _ => format!("server = \"srv-{}\"\n", i % 23),
            };
            let arch = ["arch = \"ia64\"\n", "arch = \"x86\"\n", ""][i % 3].to_string();
            let name = format!("name = \"c-{i}\"\n");
            t += "[[clients]]\n";
            t += &if i % 13 == 0 {
                [os, arch, name, server].concat()
            } else {
                [name, server, os, arch].concat()
            };
        }
        t += "\n[extra]\nhosts = [";
        for i in 0..n {
            t += [
                "{ os = \"Windows 98\" }, ",
                "\"x\", ",
                "{ os = \"Windows 7\" }, ",
            ][i % 3];
        }
        t += "]\n";
        t
    }

    /// The estate of `text`, and the same without columns.
    fn with_and_without_columns(text: String) -> (Estate, Estate) {
        let with = estate_of(text.clone());
        let parsed = parse(Arc::new(Source::new("e.toml", text))).unwrap();
        let without = Estate {
            index: 0,
            doc: Arc::new(parsed.without_columns()),
        };
        (with, without)
    }

    #[test]
    fn passes_over_columns_answer_and_charge_as_passes_over_nodes() {
        let (limits, engine) = default_engine();
        let rules = rules_of(
            &engine,
            &[
                (
                    "t/w",
                    r#"fail(estate.clients.select_words("os", ["windows 98", "nt", "2000"]), "os", "w");"#,
                ),
                (
                    "t/rw",
                    r#"fail(estate.clients.reject_words("os", "windows"), "os", "rw");"#,
                ),
                (
                    "t/a",
                    r#"fail(estate.clients.select("arch", "ia64").reject_words("os", ["98"]), "arch", "a");"#,
                ),
                (
                    "t/d",
                    r#"fail(estate.clients.reject("server", estate.servers.index_by("name")), "server", "d");"#,
                ),
                (
                    "t/s",
                    r#"fail(estate.clients.select("os", ["Windows 7", "Windows NT"]), "os", "s");"#,
                ),
                (
                    "t/s2",
                    r#"fail(estate.clients.select("os", ["Windows 7", 98]), "os", "s2");"#,
                ),
                (
                    "t/i",
                    r#"fail(estate.clients.select("os", 98), "os", "i");"#,
                ),
                (
                    "t/e",
                    r#"fail(estate.clients.reject("arch", "x86"), "arch", "e");"#,
                ),
                (
                    "t/h",
                    r#"fail(estate.extra.hosts.select("os", "Windows 7"), "os", "h");"#,
                ),
                (
                    "t/l",
                    r#"for c in estate.clients.select("arch", "ia64") { fail(c, "arch", "l"); }"#,
                ),
            ],
        );
        let (with, without) = with_and_without_columns(mixed_clients(2000));
        let doc = &with.doc;
        for (array, key) in [
            ("clients", "os"),
            ("clients", "server"),
            ("clients", "arch"),
        ] {
            let id = doc.get(ROOT, array).unwrap();
            assert!(
                doc.column_of(id, doc.key_id(key).unwrap()).is_some(),
                "{array}.{key}"
            );
        }
        let hosts = doc.get(doc.get(ROOT, "extra").unwrap(), "hosts").unwrap();
        assert!(doc.column_of(hosts, doc.key_id("os").unwrap()).is_some());
        let seen = |estate: &Estate, rule: &Rule, limits: &Limits| {
            let (findings, failures) = evaluate(
                &engine,
                limits,
                std::slice::from_ref(estate),
                std::slice::from_ref(rule),
            );
            let found: Vec<(String, String)> = findings
                .iter()
                .map(|f| (f.path.clone(), f.message.clone()))
                .collect();
            (found, failures.len())
        };
        // The fewest operations a rule completes within.
        let least = |estate: &Estate, rule: &Rule| {
            let (mut low, mut high) = (1_u64, 1 << 24);
            while low < high {
                let mid = (low + high) / 2;
                let tight = Limits {
                    max_operations: mid,
                    ..Limits::default()
                };
                if seen(estate, rule, &tight).1 == 0 {
                    high = mid;
                } else {
                    low = mid + 1;
                }
            }
            low
        };
        for rule in &rules {
            let (a, b) = (seen(&with, rule, &limits), seen(&without, rule, &limits));
            assert_eq!(a.1, 0, "{}", rule.id);
            assert!(!a.0.is_empty(), "{} reports something", rule.id);
            assert_eq!(a, b, "{}", rule.id);
            assert_eq!(least(&with, rule), least(&without, rule), "{}", rule.id);
        }
    }

    #[test]
    fn a_split_pass_over_columns_finds_what_one_over_nodes_finds() {
        let (limits, engine) = default_engine();
        let rules = rules_of(
            &engine,
            &[
                (
                    "t/w",
                    r#"fail(estate.clients.select_words("os", ["nt", "2000"]).select("arch", "ia64"), "os", "w");"#,
                ),
                (
                    "t/d",
                    r#"fail(estate.clients.reject("server", estate.servers.index_by("name")), "server", "d");"#,
                ),
            ],
        );
        let (with, without) =
            with_and_without_columns(mixed_clients(super::super::query::SPLIT_MIN + 1000));
        let paths =
            |findings: Vec<Finding>| findings.into_iter().map(|f| f.path).collect::<Vec<_>>();
        let pool = pool(2);
        let (a, fa) =
            pool.install(|| evaluate(&engine, &limits, std::slice::from_ref(&with), &rules));
        let (b, fb) =
            pool.install(|| evaluate(&engine, &limits, std::slice::from_ref(&without), &rules));
        assert!(fa.is_empty() && fb.is_empty(), "{fa:?} {fb:?}");
        let (a, b) = (paths(a), paths(b));
        assert!(a.len() > 1000, "{}", a.len());
        assert_eq!(a, b);
    }
}

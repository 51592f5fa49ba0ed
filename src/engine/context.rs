//! The base every host function stands on: the `Node` handle over the estate arena and
//! the per-call context holding the estate and the findings reported so far.
//!
//! A rule runs on one rayon thread at a time; the estate it reads and the findings it
//! reports live in a thread-local context set for the length of that one call. A
//! `Node` carries the generation of its document, so a handle can only read the
//! document of the call it was made in.

use super::ahead::{Ahead, Origin, Run};
use crate::estate::{doc::Value as V, Doc, NodeId, ROOT};
use crate::report::Severity;
use rhai::{Dynamic, EvalAltResult, ImmutableString, Position};
use std::cell::RefCell;
use std::sync::Arc;

pub(crate) type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// What one `fail` (`warn`, `note`) call was given, shared by every finding it
/// reported: one, or one per entry of a query.
#[derive(Debug, Clone)]
pub struct Said {
    pub severity: Option<Severity>,
    /// The key and message as the script passed them: shared, not copied, while the
    /// rule runs (reporting is on the rule's own thread; resolving is spread out).
    pub key: ImmutableString,
    pub message: ImmutableString,
    pub help: Option<Arc<str>>,
    pub call_site: Position,
}

impl Said {
    /// Whether `other` says the same: a loop's `fail` with literal strings does, each
    /// time round.
    fn same(&self, other: &Said) -> bool {
        self.severity == other.severity
            && self.call_site == other.call_site
            && self.key.ptr_eq(&other.key)
            && self.message.ptr_eq(&other.message)
            && self.help == other.help
    }
}

/// What a rule attached to one finding after reporting it.
#[derive(Debug, Clone, Default)]
pub struct Attached {
    pub labels: Vec<(NodeId, String, String)>,
    /// Underline the key itself rather than its value.
    pub on_key: bool,
    /// Edits the rule is certain of, in the order it attached them.
    pub fixes: Vec<RawFix>,
}

/// A finding as a rule reported it, before its spans are resolved. A query reports
/// thousands at once, and another thread may resolve them: what the call was given
/// is kept once per call ([`Said`]), so a finding is its table, the call's place in
/// the call's list, and what was attached to it alone, if anything.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub node: NodeId,
    pub said: u32,
    pub attached: Option<Box<Attached>>,
}

/// What a rule call reported: its findings, what each `fail` was given, the runs of
/// its findings other threads are beginning, and the tables it said it applies to.
pub(crate) type Reported = (Vec<RawFinding>, Vec<Said>, Vec<Run>, Vec<NodeId>);

/// An edit a rule attached to a finding, its text already valid TOML; the engine
/// places it in the estate when it resolves the finding.
#[derive(Debug, Clone, PartialEq)]
pub enum RawFix {
    /// Replace the value of the finding's key with this literal.
    Value(String),
    /// Rename the finding's key: the new name, and the key as written (bare or quoted).
    Key { name: String, key: String },
    /// Add `key = value` to the finding's table: the key's name, as written, the value.
    Insert {
        name: String,
        key: String,
        value: String,
    },
}

struct Context {
    doc: Arc<Doc>,
    findings: Vec<RawFinding>,
    said: Vec<Said>,
    /// Batches of findings other threads are locating.
    ahead: Ahead,
    /// Tables the rule said it applies to (`applies(node)`).
    applied: Vec<NodeId>,
    /// The rule being run, for `print` and `debug` output.
    rule: Arc<str>,
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Sets the document a rule call reads; returns what the call reported when dropped
/// through [`CallScope::finish`].
pub struct CallScope(());

impl CallScope {
    /// A call from `origin`, which names the estate and the rule.
    pub(crate) fn enter(origin: Origin) -> Self {
        CONTEXT.with_borrow_mut(|c| {
            *c = Some(Context {
                doc: origin.doc.clone(),
                rule: origin.rule.clone(),
                ahead: Ahead::new(origin),
                findings: Vec::new(),
                said: Vec::new(),
                applied: Vec::new(),
            })
        });
        CallScope(())
    }

    /// What the call reported, what each of its `fail` calls was given, which runs
    /// of [`super::ahead::BATCH`] of its findings other threads are beginning, and the
    /// tables it said it applies to.
    pub(crate) fn finish(self) -> Reported {
        CONTEXT
            .with_borrow_mut(|c| c.take())
            .map(|c| {
                let begun = c.ahead.take(c.findings.len());
                (c.findings, c.said, begun, c.applied)
            })
            .unwrap_or_default()
    }
}

impl Drop for CallScope {
    fn drop(&mut self) {
        CONTEXT.with_borrow_mut(|c| *c = None);
    }
}

pub(crate) fn err<T>(msg: impl Into<String>) -> RhaiResult<T> {
    Err(msg.into().into())
}

pub(crate) fn with_doc<T>(generation: u32, f: impl FnOnce(&Doc) -> RhaiResult<T>) -> RhaiResult<T> {
    CONTEXT.with_borrow(|c| match c {
        Some(c) if c.doc.generation == generation => f(&c.doc),
        _ => err("this node belongs to another estate or rule call"),
    })
}

/// The id of the rule running on this thread, or `""` outside a rule call.
pub fn current_rule() -> Arc<str> {
    CONTEXT.with_borrow(|c| c.as_ref().map_or_else(|| Arc::from(""), |c| c.rule.clone()))
}

pub(crate) fn current_doc() -> Option<Arc<Doc>> {
    CONTEXT.with_borrow(|c| c.as_ref().map(|c| c.doc.clone()))
}

/// A table or array of the estate, as a rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub(crate) generation: u32,
    pub(crate) id: NodeId,
}

impl Node {
    pub fn root(doc: &Doc) -> Self {
        Node {
            generation: doc.generation,
            id: ROOT,
        }
    }
}

/// Slots of the per-thread cache of strings read from the estate (a power of two).
const STRING_SLOTS: usize = 1024;

thread_local! {
    /// Strings recently read from the estate, by hash of their text: values that rules
    /// read over and over (an `os`, a server's name) are shared rather than allocated on
    /// every read. Direct-mapped: a miss replaces the slot.
    static STRINGS: RefCell<Vec<Option<ImmutableString>>> = const { RefCell::new(Vec::new()) };
}

/// `s` as a Rhai string, from the cache when this thread read the same text lately.
fn shared_str(s: &str) -> ImmutableString {
    if s.len() > 64 {
        return s.into();
    }
    let slot = crate::estate::values::hash(s) as usize & (STRING_SLOTS - 1);
    STRINGS.with_borrow_mut(|cache| {
        if cache.is_empty() {
            cache.resize(STRING_SLOTS, None);
        }
        match &cache[slot] {
            Some(hit) if hit.as_str() == s => hit.clone(),
            _ => {
                let fresh = ImmutableString::from(s);
                cache[slot] = Some(fresh.clone());
                fresh
            }
        }
    })
}

/// Scalars become plain Rhai values; tables and arrays become nodes.
pub(crate) fn to_dynamic(doc: &Doc, id: NodeId) -> Dynamic {
    match doc.value(id) {
        V::Str(s) => Dynamic::from(s.clone()),
        V::Raw(s) => Dynamic::from(shared_str(s)),
        V::Int(i) => Dynamic::from_int(i),
        V::Float(x) => Dynamic::from_float(x),
        V::Bool(b) => Dynamic::from_bool(b),
        V::Datetime(d) => Dynamic::from(d.to_string()),
        V::Array(_) | V::Table(_) => Dynamic::from(Node {
            generation: doc.generation,
            id,
        }),
    }
}

/// Appends findings on tables `nodes` of document `generation`, each given `said`, to
/// the current call if they belong to it; gives the first one's index.
pub(crate) fn push_findings(generation: u32, said: Said, nodes: &[NodeId]) -> RhaiResult<usize> {
    CONTEXT.with_borrow_mut(|c| match c {
        Some(c) if c.doc.generation == generation => {
            let first = c.findings.len();
            if c.said.last().is_none_or(|last| !last.same(&said)) {
                c.said.push(said);
            }
            let at = c.said.len() as u32 - 1;
            c.findings.reserve(nodes.len());
            for &node in nodes {
                c.findings.push(RawFinding {
                    node,
                    said: at,
                    attached: None,
                });
                let n = c.findings.len();
                c.ahead.reported(n, |k| {
                    c.findings[n - k..]
                        .iter()
                        .map(|r| {
                            let s = &c.said[r.said as usize];
                            (r.node, &s.key, &s.message, s.severity)
                        })
                        .collect()
                });
            }
            Ok(first)
        }
        _ => err("this node belongs to another estate or rule call"),
    })
}

/// Records that the running rule applies to `node`, for readiness reports.
pub(crate) fn push_applied(node: Node) -> RhaiResult<()> {
    CONTEXT.with_borrow_mut(|c| match c {
        Some(c) if c.doc.generation == node.generation => {
            // A rule in a loop says the same table again and again: keep one.
            if c.applied.last() != Some(&node.id) {
                c.applied.push(node.id);
            }
            Ok(())
        }
        _ => err("this node belongs to another estate or rule call"),
    })
}

/// Changes what is attached to already reported findings of the current call, `at`
/// being their indices; `node`, when given, must belong to the call.
pub(crate) fn edit_findings(
    at: std::ops::Range<usize>,
    node: Option<Node>,
    mut f: impl FnMut(&mut Attached) -> RhaiResult<()>,
) -> RhaiResult<()> {
    CONTEXT.with_borrow_mut(|c| match c {
        Some(c) if node.is_none_or(|n| c.doc.generation == n.generation) => {
            let end = at.end.min(c.findings.len());
            c.findings[at.start.min(end)..end]
                .iter_mut()
                .try_for_each(|r| f(r.attached.get_or_insert_with(Box::default)))
        }
        None if node.is_none() => Ok(()),
        _ => err("this node belongs to another estate or rule call"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_keep_what_their_call_was_given_once_and_what_was_attached_alone() {
        let text = "[[c]]\nn = 1\n".repeat(4);
        let source = Arc::new(crate::estate::Source::new("e.toml", text));
        let doc = Arc::new(crate::estate::parse(source).unwrap());
        let generation = doc.generation;
        let tables = doc.children(doc.get(ROOT, "c").unwrap());
        let scope = CallScope::enter(Origin {
            doc,
            index: 0,
            rule: Arc::from("t/r"),
            severity: Severity::Error,
        });
        let said = |key: &ImmutableString, message: &str, line: u16| Said {
            severity: Some(Severity::Warning),
            key: key.clone(),
            message: message.into(),
            help: Some(Arc::from("h")),
            call_site: Position::new(line, 1),
        };
        let key = ImmutableString::from("n");
        let message = ImmutableString::from("m");
        let same = |line| Said {
            message: message.clone(),
            ..said(&key, "", line)
        };
        // A loop's call says the same each time round: one entry for its findings.
        assert_eq!(push_findings(generation, same(1), &tables[..2]).unwrap(), 0);
        assert_eq!(
            push_findings(generation, same(1), &tables[2..3]).unwrap(),
            2
        );
        // A message made anew (even with the same text), or another call, is another.
        push_findings(generation, said(&key, "m", 1), &tables[3..]).unwrap();
        push_findings(generation, same(2), &tables[..1]).unwrap();
        edit_findings(1..3, None, |a| {
            a.on_key = true;
            Ok(())
        })
        .unwrap();
        let (raw, said, _, _) = scope.finish();
        let raws: Vec<(NodeId, u32, bool)> = (raw.iter())
            .map(|r| {
                (
                    r.node,
                    r.said,
                    r.attached.as_ref().is_some_and(|a| a.on_key),
                )
            })
            .collect();
        let t = |i: usize| tables[i];
        assert_eq!(
            raws,
            [
                (t(0), 0, false),
                (t(1), 0, true),
                (t(2), 0, true),
                (t(3), 1, false),
                (t(0), 2, false)
            ]
        );
        let calls: Vec<(&str, u16)> = (said.iter())
            .map(|s| (s.message.as_str(), s.call_site.line().unwrap() as u16))
            .collect();
        assert_eq!(calls, [("m", 1), ("m", 1), ("m", 2)]);
        assert_eq!(raw.iter().filter(|r| r.attached.is_none()).count(), 3);
    }

    #[test]
    fn repeated_strings_are_shared_and_every_read_is_right() {
        let a = shared_str("Windows 7 Professional SP1");
        assert!(a.ptr_eq(&shared_str("Windows 7 Professional SP1")));
        // Many distinct strings fill and overwrite slots; each read is still its text.
        for i in 0..5 * STRING_SLOTS {
            let text = format!("client-{i}");
            assert_eq!(shared_str(&text).as_str(), text);
        }
        let long = "x".repeat(100);
        assert_eq!(shared_str(&long).as_str(), long);
    }
}

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

/// A finding as a rule reported it, before its spans are resolved.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub severity: Option<Severity>,
    pub node: NodeId,
    /// The key and message as the script passed them: shared, not copied, while the
    /// rule runs (reporting is on the rule's own thread; resolving is spread out).
    pub key: ImmutableString,
    pub message: ImmutableString,
    pub help: Option<Arc<str>>,
    pub call_site: Position,
    pub labels: Vec<(NodeId, String, String)>,
    /// Underline the key itself rather than its value.
    pub on_key: bool,
    /// Edits the rule is certain of, in the order it attached them.
    pub fixes: Vec<RawFix>,
}

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
                applied: Vec::new(),
            })
        });
        CallScope(())
    }

    /// What the call reported, which runs of [`super::ahead::BATCH`] of its findings
    /// other threads are beginning, and the tables it said it applies to.
    pub(crate) fn finish(self) -> (Vec<RawFinding>, Vec<Run>, Vec<NodeId>) {
        CONTEXT
            .with_borrow_mut(|c| c.take())
            .map(|c| {
                let begun = c.ahead.take(c.findings.len());
                (c.findings, begun, c.applied)
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

/// Appends findings on tables of document `generation` to the current call if they
/// belong to it; gives the first one's index.
pub(crate) fn push_findings(
    generation: u32,
    findings: impl IntoIterator<Item = RawFinding>,
) -> RhaiResult<usize> {
    CONTEXT.with_borrow_mut(|c| match c {
        Some(c) if c.doc.generation == generation => {
            let first = c.findings.len();
            let findings = findings.into_iter();
            c.findings.reserve(findings.size_hint().0);
            for finding in findings {
                c.findings.push(finding);
                let n = c.findings.len();
                c.ahead.reported(n, |k| {
                    c.findings[n - k..]
                        .iter()
                        .map(|r| (r.node, &r.key, &r.message, r.severity))
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

/// Changes already reported findings of the current call, `at` being their indices;
/// `node`, when given, must belong to the call.
pub(crate) fn edit_findings(
    at: std::ops::Range<usize>,
    node: Option<Node>,
    mut f: impl FnMut(&mut RawFinding) -> RhaiResult<()>,
) -> RhaiResult<()> {
    CONTEXT.with_borrow_mut(|c| match c {
        Some(c) if node.is_none_or(|n| c.doc.generation == n.generation) => {
            let end = at.end.min(c.findings.len());
            c.findings[at.start.min(end)..end]
                .iter_mut()
                .try_for_each(&mut f)
        }
        None if node.is_none() => Ok(()),
        _ => err("this node belongs to another estate or rule call"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

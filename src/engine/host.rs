//! The host API rules see: the `Node` handle over the estate arena, `fail`/`warn`/
//! `note`, and a few generic helpers. Lazy queries and indexes live in `query`.
//!
//! A rule runs on one rayon thread at a time; the estate it reads and the findings it
//! reports live in a thread-local context set for the length of that one call. A
//! `Node` carries the generation of its document, so a handle can only read the
//! document of the call it was made in.

use crate::estate::{doc::Value as V, Doc, NodeId, ROOT};
use crate::report::Severity;
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, NativeCallContext, Position};
use std::cell::RefCell;
use std::sync::Arc;

pub(super) type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// A finding as a rule reported it, before its spans are resolved.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub severity: Option<Severity>,
    pub node: NodeId,
    pub key: String,
    pub message: String,
    pub help: Option<String>,
    pub call_site: Position,
    pub labels: Vec<(NodeId, String, String)>,
    /// Underline the key itself rather than its value.
    pub on_key: bool,
}

struct Context {
    doc: Arc<Doc>,
    findings: Vec<RawFinding>,
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Sets the document a rule call reads; returns what the call reported when dropped
/// through [`CallScope::finish`].
pub struct CallScope(());

impl CallScope {
    pub fn enter(doc: Arc<Doc>) -> Self {
        CONTEXT.with_borrow_mut(|c| {
            *c = Some(Context {
                doc,
                findings: Vec::new(),
            })
        });
        CallScope(())
    }

    pub fn finish(self) -> Vec<RawFinding> {
        CONTEXT
            .with_borrow_mut(|c| c.take())
            .map(|c| c.findings)
            .unwrap_or_default()
    }
}

impl Drop for CallScope {
    fn drop(&mut self) {
        CONTEXT.with_borrow_mut(|c| *c = None);
    }
}

pub(super) fn err<T>(msg: impl Into<String>) -> RhaiResult<T> {
    Err(msg.into().into())
}

pub(super) fn with_doc<T>(generation: u32, f: impl FnOnce(&Doc) -> RhaiResult<T>) -> RhaiResult<T> {
    CONTEXT.with_borrow(|c| match c {
        Some(c) if c.doc.generation == generation => f(&c.doc),
        _ => err("this node belongs to another estate or rule call"),
    })
}

fn current_doc() -> Option<Arc<Doc>> {
    CONTEXT.with_borrow(|c| c.as_ref().map(|c| c.doc.clone()))
}

/// A table or array of the estate, as a rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub(super) generation: u32,
    pub(super) id: NodeId,
}

impl Node {
    pub fn root(doc: &Doc) -> Self {
        Node {
            generation: doc.generation,
            id: ROOT,
        }
    }
}

/// Scalars become plain Rhai values; tables and arrays become nodes.
pub(super) fn to_dynamic(doc: &Doc, id: NodeId) -> Dynamic {
    match &doc.node(id).value {
        V::Str(s) => Dynamic::from(s.clone()),
        V::Raw(..) => Dynamic::from(ImmutableString::from(doc.str_of(id).unwrap_or(""))),
        V::Int(i) => Dynamic::from_int(*i),
        V::Float(x) => Dynamic::from_float(*x),
        V::Bool(b) => Dynamic::from_bool(*b),
        V::Datetime(d) => Dynamic::from(d.to_string()),
        V::Array(_) | V::Table(_) => Dynamic::from(Node {
            generation: doc.generation,
            id,
        }),
    }
}

/// A reported finding, so a rule can attach secondary labels to it.
#[derive(Debug, Clone, Copy)]
pub struct FindingRef(usize);

fn report(
    ctx: &NativeCallContext,
    severity: Option<Severity>,
    node: Node,
    key: &str,
    message: &str,
    help: Option<&str>,
) -> RhaiResult<FindingRef> {
    let position = ctx.call_position();
    CONTEXT.with_borrow_mut(|c| match c {
        Some(c) if c.doc.generation == node.generation => {
            c.findings.push(RawFinding {
                severity,
                node: node.id,
                key: key.to_string(),
                message: message.to_string(),
                help: help.filter(|h| !h.is_empty()).map(str::to_string),
                call_site: position,
                labels: Vec::new(),
                on_key: false,
            });
            Ok(FindingRef(c.findings.len() - 1))
        }
        _ => err("this node belongs to another estate or rule call"),
    })
}

fn add_label(finding: FindingRef, node: Node, key: &str, text: &str) -> RhaiResult<FindingRef> {
    CONTEXT.with_borrow_mut(|c| match c {
        Some(c) if c.doc.generation == node.generation => {
            if let Some(f) = c.findings.get_mut(finding.0) {
                f.labels.push((node.id, key.to_string(), text.to_string()));
            }
            Ok(finding)
        }
        _ => err("this node belongs to another estate or rule call"),
    })
}

fn point_at_key(finding: FindingRef) -> FindingRef {
    CONTEXT.with_borrow_mut(|c| {
        if let Some(f) = c.as_mut().and_then(|c| c.findings.get_mut(finding.0)) {
            f.on_key = true;
        }
    });
    finding
}

fn not_a_node(what: &str) -> RhaiResult<FindingRef> {
    err(format!(
        "the first argument of `{what}` must be a table of the estate, not a plain value: pass the table and the key, as in `{what}(server, \"os\", message)`"
    ))
}

/// Normalises a Windows path for comparison: `\` for `/`, lower case, `.` and `..`
/// segments resolved, no trailing separator.
pub fn windows_path(path: &str) -> String {
    let path = path.replace('/', "\\").to_lowercase();
    let (prefix, rest) = match path.find(':') {
        Some(1) => path.split_at(2),
        _ => ("", path.as_str()),
    };
    let unc = rest.starts_with("\\\\");
    let mut parts: Vec<&str> = Vec::new();
    for seg in rest.split('\\') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let lead = if unc {
        "\\\\"
    } else if rest.starts_with('\\') {
        "\\"
    } else {
        ""
    };
    format!("{prefix}{lead}{}", parts.join("\\"))
}

/// Registers the host API on `engine`.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Node>("Node")
        .register_type_with_name::<FindingRef>("Finding")
        .register_iterator::<Node>();

    // Nodes: property access falls back to this string indexer.
    engine.register_indexer_get(|n: &mut Node, key: ImmutableString| {
        with_doc(n.generation, |doc| {
            Ok(doc
                .get(n.id, &key)
                .map_or(Dynamic::UNIT, |c| to_dynamic(doc, c)))
        })
    });
    engine.register_indexer_get(|n: &mut Node, index: i64| {
        with_doc(n.generation, |doc| {
            let len = doc.len(n.id) as i64;
            let i = if index < 0 { len + index } else { index };
            if !(0..len).contains(&i) {
                return err(format!(
                    "index {index} is out of bounds for `{}` of length {len}",
                    doc.path(n.id)
                ));
            }
            Ok(to_dynamic(doc, doc.children(n.id)[i as usize]))
        })
    });
    engine.register_fn("len", |n: &mut Node| {
        with_doc(n.generation, |doc| Ok(doc.len(n.id) as i64))
    });
    engine.register_fn("is_empty", |n: &mut Node| {
        with_doc(n.generation, |doc| Ok(doc.is_empty(n.id)))
    });
    engine.register_fn("contains", |n: &mut Node, key: &str| {
        with_doc(n.generation, |doc| Ok(doc.get(n.id, key).is_some()))
    });
    engine.register_fn("keys", |n: &mut Node| {
        with_doc(n.generation, |doc| {
            Ok(match &doc.node(n.id).value {
                V::Table(t) => t
                    .entries
                    .iter()
                    .map(|(k, _)| Dynamic::from(ImmutableString::from(&**k)))
                    .collect::<Array>(),
                _ => Array::new(),
            })
        })
    });
    engine.register_fn("path", |n: &mut Node| {
        with_doc(n.generation, |doc| Ok(doc.path(n.id)))
    });
    engine.register_fn("path", |n: &mut Node, key: &str| {
        with_doc(n.generation, |doc| {
            Ok(match doc.get(n.id, key) {
                Some(c) => doc.path(c),
                None => format!("{}.{key}", doc.path(n.id)),
            })
        })
    });
    engine.register_fn("kind", |n: &mut Node| {
        with_doc(n.generation, |doc| Ok(doc.type_name(n.id)))
    });
    engine.register_fn("kind", |n: &mut Node, key: &str| {
        with_doc(n.generation, |doc| {
            Ok(doc.get(n.id, key).map_or("", |c| doc.type_name(c)))
        })
    });
    engine.register_fn("==", |a: Node, b: Node| a == b);
    engine.register_fn("!=", |a: Node, b: Node| a != b);

    super::query::register(engine);

    // Reporting.
    for (name, severity) in [
        ("fail", Severity::Error),
        ("warn", Severity::Warning),
        ("note", Severity::Note),
    ] {
        engine.register_fn(
            name,
            move |ctx: NativeCallContext, n: Node, key: &str, message: &str| {
                report(&ctx, Some(severity), n, key, message, None)
            },
        );
        engine.register_fn(
            name,
            move |ctx: NativeCallContext, n: Node, key: &str, message: &str, help: &str| {
                report(&ctx, Some(severity), n, key, message, Some(help))
            },
        );
        engine.register_fn(name, move |_: Dynamic, _: &str, _: &str| not_a_node(name));
        engine.register_fn(name, move |_: Dynamic, _: &str, _: &str, _: &str| {
            not_a_node(name)
        });
    }
    engine.register_fn(
        "label",
        |f: &mut FindingRef, n: Node, key: &str, text: &str| add_label(*f, n, key, text),
    );

    engine.register_fn("on_key", |f: &mut FindingRef| point_at_key(*f));

    // Generic helpers.
    engine.register_fn("is_ipv4", |s: &str| s.parse::<std::net::Ipv4Addr>().is_ok());
    engine.register_fn("is_ipv6", |s: &str| s.parse::<std::net::Ipv6Addr>().is_ok());
    engine.register_fn("windows_path", |s: &str| windows_path(s));
    engine.register_fn("closest", |word: &str, candidates: Array| {
        let names: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
        crate::suggest::closest(word, names.iter().map(String::as_str))
            .map_or(Dynamic::UNIT, |c| Dynamic::from(c.to_string()))
    });
    engine.register_fn("estate_name", || {
        current_doc().map_or(String::new(), |d| d.source.name().to_string())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_paths_compare_loosely() {
        assert_eq!(windows_path(r"C:/Program Files\X\\"), r"c:\program files\x");
        assert_eq!(windows_path(r"C:\a\b\..\c"), r"c:\a\c");
        assert_eq!(windows_path(r"\\srv\share\x"), r"\\srv\share\x");
    }
}

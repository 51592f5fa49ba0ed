//! The host API rules see: the `Node` handle over the estate arena, lazy queries,
//! indexes, `fail`/`warn`/`note`, and a few generic helpers.
//!
//! A rule runs on one rayon thread at a time; the estate it reads and the findings it
//! reports live in a thread-local context set for the length of that one call. A
//! `Node` carries the generation of its document, so a handle can only read the
//! document of the call it was made in.

use super::strmap::StrMap;
use crate::estate::{doc::Value as V, Doc, NodeId, ROOT};
use crate::report::Severity;
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, NativeCallContext, Position};
use std::cell::RefCell;
use std::sync::Arc;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

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

fn err<T>(msg: impl Into<String>) -> RhaiResult<T> {
    Err(msg.into().into())
}

fn with_doc<T>(generation: u32, f: impl FnOnce(&Doc) -> RhaiResult<T>) -> RhaiResult<T> {
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

/// Whether the value at `id` equals a script value (strings, numbers, booleans).
fn value_eq(doc: &Doc, id: NodeId, want: &Dynamic) -> bool {
    if let Some(items) = want.read_lock::<Array>() {
        return items.iter().any(|w| value_eq(doc, id, w));
    }
    if let Some(index) = want.read_lock::<Index>() {
        return doc
            .str_of(id)
            .is_some_and(|s| index.map.get(doc, s).is_some());
    }
    match &doc.node(id).value {
        V::Str(_) | V::Raw(..) => want
            .read_lock::<ImmutableString>()
            .is_some_and(|w| Some(w.as_str()) == doc.str_of(id)),
        V::Int(i) => want.as_int().is_ok_and(|w| w == *i),
        V::Float(x) => want.as_float().is_ok_and(|w| w == *x),
        V::Bool(b) => want.as_bool().is_ok_and(|w| w == *b),
        V::Datetime(d) => want
            .read_lock::<ImmutableString>()
            .is_some_and(|w| w.as_str() == d.to_string()),
        _ => false,
    }
}

/// A lazy filtered view of an array's (or table's) entries.
#[derive(Debug, Clone)]
pub struct Query {
    generation: u32,
    base: Base,
    filters: Vec<Filter>,
}

#[derive(Debug, Clone)]
enum Base {
    Empty,
    Children(NodeId),
    Ids(Arc<[NodeId]>),
}

#[derive(Debug, Clone)]
struct Filter {
    key: ImmutableString,
    value: Dynamic,
    keep_equal: bool,
    /// Match these whole words inside the value (lower case; the match ignores ASCII
    /// case) instead of testing equality.
    words: Option<Arc<[String]>>,
}

/// Whether `needle` (lower case) occurs in `hay`, ignoring ASCII case, with no
/// letter or digit directly before or after it.
fn contains_words(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return false;
    }
    (0..=h.len() - n.len()).any(|start| {
        let end = start + n.len();
        h[start..end].eq_ignore_ascii_case(n)
            && (start == 0 || !h[start - 1].is_ascii_alphanumeric())
            && (end == h.len() || !h[end].is_ascii_alphanumeric())
    })
}

/// The words a `select_words` argument names: one string or an array of them.
fn word_list(want: &Dynamic) -> Arc<[String]> {
    match want.read_lock::<Array>() {
        Some(items) => items.iter().map(|w| w.to_string().to_lowercase()).collect(),
        None => Arc::from([want.to_string().to_lowercase()]),
    }
}

impl Query {
    fn empty() -> Self {
        Query {
            generation: 0,
            base: Base::Empty,
            filters: Vec::new(),
        }
    }

    fn single(node: Node) -> Self {
        Query {
            generation: node.generation,
            base: Base::Ids(Arc::from([node.id])),
            filters: Vec::new(),
        }
    }

    fn of(node: Node) -> Self {
        Query {
            generation: node.generation,
            base: Base::Children(node.id),
            filters: Vec::new(),
        }
    }

    fn with(mut self, key: ImmutableString, value: Dynamic, keep_equal: bool) -> Self {
        self.filters.push(Filter {
            key,
            value,
            keep_equal,
            words: None,
        });
        self
    }

    fn with_words(mut self, key: ImmutableString, value: Dynamic, keep_equal: bool) -> Self {
        self.filters.push(Filter {
            key,
            words: Some(word_list(&value)),
            value,
            keep_equal,
        });
        self
    }

    fn matches(&self, doc: &Doc, id: NodeId) -> bool {
        self.filters.iter().all(|f| {
            let hit = doc.get(id, &f.key).is_some_and(|v| match &f.words {
                Some(words) => doc
                    .str_of(v)
                    .is_some_and(|s| words.iter().any(|w| contains_words(s, w))),
                None => value_eq(doc, v, &f.value),
            });
            hit == f.keep_equal
        })
    }

    /// Calls `f` with each matching id, in order, until it returns false.
    pub(super) fn each(&self, mut f: impl FnMut(&Doc, NodeId) -> bool) -> RhaiResult<()> {
        if matches!(self.base, Base::Empty) {
            return Ok(());
        }
        with_doc(self.generation, |doc| {
            let ids: &[NodeId] = match &self.base {
                Base::Empty => &[],
                Base::Ids(ids) => ids,
                Base::Children(id) => match &doc.node(*id).value {
                    V::Array(items) => items,
                    V::Table(t) => {
                        for (_, v) in t.entries.iter() {
                            if self.matches(doc, *v) && !f(doc, *v) {
                                break;
                            }
                        }
                        return Ok(());
                    }
                    _ => &[],
                },
            };
            for &id in ids {
                if self.matches(doc, id) && !f(doc, id) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn count(&self) -> RhaiResult<i64> {
        let mut n = 0;
        self.each(|_, _| {
            n += 1;
            true
        })?;
        Ok(n)
    }

    fn first(&self) -> RhaiResult<Dynamic> {
        let mut out = Dynamic::UNIT;
        self.each(|doc, id| {
            out = to_dynamic(doc, id);
            false
        })?;
        Ok(out)
    }

    fn index_by(&self, key: &str) -> RhaiResult<Index> {
        let mut map = StrMap::new(key);
        self.each(|doc, id| {
            if let Some(k) = map.value_of(doc, id) {
                map.insert(doc, id, k, 0);
            }
            true
        })?;
        Ok(Index {
            generation: self.generation,
            map: Arc::new(map),
        })
    }

    /// Entries whose string `key` value an earlier entry already had.
    fn duplicates(&self, key: &str) -> RhaiResult<Query> {
        let mut seen = StrMap::new(key);
        let mut twins = Vec::new();
        self.each(|doc, id| {
            if let Some(k) = seen.value_of(doc, id) {
                let before = seen.len();
                seen.insert(doc, id, k, 0);
                if seen.len() == before {
                    twins.push(id);
                }
            }
            true
        })?;
        Ok(Query {
            generation: self.generation,
            base: Base::Ids(twins.into()),
            filters: Vec::new(),
        })
    }

    fn group_by(&self, key: &str) -> RhaiResult<Groups> {
        let mut map = StrMap::new(key);
        let mut groups: Vec<Vec<NodeId>> = Vec::new();
        self.each(|doc, id| {
            if let Some(k) = map.value_of(doc, id) {
                let slot = map.insert(doc, id, k, groups.len() as u32) as usize;
                if slot == groups.len() {
                    groups.push(Vec::new());
                }
                groups[slot].push(id);
            }
            true
        })?;
        Ok(Groups {
            generation: self.generation,
            groups: Arc::new((groups.into_iter().map(Arc::from).collect(), map)),
        })
    }
}

/// Iterates a query by materialising the matching ids once per `for` loop; the ids
/// are plain integers, so no script-side array limit applies.
impl IntoIterator for Query {
    type Item = Dynamic;
    type IntoIter = std::vec::IntoIter<Dynamic>;

    fn into_iter(self) -> Self::IntoIter {
        let mut out = Vec::new();
        let _ = self.each(|doc, id| {
            out.push(to_dynamic(doc, id));
            true
        });
        out.into_iter()
    }
}

impl IntoIterator for Node {
    type Item = Dynamic;
    type IntoIter = std::vec::IntoIter<Dynamic>;

    fn into_iter(self) -> Self::IntoIter {
        Query::of(self).into_iter()
    }
}

/// A map from a string key's value to the first entry holding it.
#[derive(Debug, Clone)]
pub struct Index {
    generation: u32,
    map: Arc<StrMap>,
}

/// Entries grouped by a string key's value, groups in order of first appearance.
#[derive(Debug, Clone)]
pub struct Groups {
    generation: u32,
    /// Each group's entries, and the map from a value to its group's slot.
    groups: Arc<(Vec<Arc<[NodeId]>>, StrMap)>,
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

/// The candidate closest to `word`, if any is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// Registers the host API on `engine`.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Node>("Node")
        .register_type_with_name::<Query>("Query")
        .register_type_with_name::<Index>("Index")
        .register_type_with_name::<Groups>("Groups")
        .register_type_with_name::<FindingRef>("Finding")
        .register_iterator::<Node>()
        .register_iterator::<Query>();

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

    // Queries.
    engine.register_fn("items", |n: &mut Node| Query::of(*n));
    engine.register_fn("items", |_: ()| Query::empty());
    engine.register_fn("select", |n: &mut Node, k: ImmutableString, v: Dynamic| {
        Query::of(*n).with(k, v, true)
    });
    engine.register_fn("select", |q: &mut Query, k: ImmutableString, v: Dynamic| {
        q.clone().with(k, v, true)
    });
    engine.register_fn("select", |_: (), _: ImmutableString, _: Dynamic| {
        Query::empty()
    });
    engine.register_fn("reject", |n: &mut Node, k: ImmutableString, v: Dynamic| {
        Query::of(*n).with(k, v, false)
    });
    engine.register_fn("reject", |q: &mut Query, k: ImmutableString, v: Dynamic| {
        q.clone().with(k, v, false)
    });
    engine.register_fn(
        "select_words",
        |n: &mut Node, k: ImmutableString, v: Dynamic| Query::of(*n).with_words(k, v, true),
    );
    engine.register_fn(
        "select_words",
        |q: &mut Query, k: ImmutableString, v: Dynamic| q.clone().with_words(k, v, true),
    );
    engine.register_fn("select_words", |_: (), _: ImmutableString, _: Dynamic| {
        Query::empty()
    });
    engine.register_fn(
        "reject_words",
        |n: &mut Node, k: ImmutableString, v: Dynamic| Query::of(*n).with_words(k, v, false),
    );
    engine.register_fn(
        "reject_words",
        |q: &mut Query, k: ImmutableString, v: Dynamic| q.clone().with_words(k, v, false),
    );
    engine.register_fn("reject_words", |_: (), _: ImmutableString, _: Dynamic| {
        Query::empty()
    });
    engine.register_fn("has_words", |s: &str, needles: Dynamic| {
        let hay = s.to_lowercase();
        match needles.read_lock::<Array>() {
            Some(items) => items
                .iter()
                .any(|w| contains_words(&hay, &w.to_string().to_lowercase())),
            None => contains_words(&hay, &needles.to_string().to_lowercase()),
        }
    });
    engine.register_fn("reject", |_: (), _: ImmutableString, _: Dynamic| {
        Query::empty()
    });
    engine.register_fn("len", |q: &mut Query| q.count());
    engine.register_fn("count", |q: &mut Query| q.count());
    engine.register_fn("is_empty", |q: &mut Query| q.count().map(|n| n == 0));
    engine.register_fn("first", |q: &mut Query| q.first());
    engine.register_fn("index_by", |q: &mut Query, key: &str| q.index_by(key));
    engine.register_fn("index_by", |n: &mut Node, key: &str| {
        Query::of(*n).index_by(key)
    });
    engine.register_fn("index_by", |_: (), _: &str| Query::empty().index_by(""));
    engine.register_fn("group_by", |q: &mut Query, key: &str| q.group_by(key));
    engine.register_fn("group_by", |n: &mut Node, key: &str| {
        Query::of(*n).group_by(key)
    });
    engine.register_fn("group_by", |_: (), _: &str| Query::empty().group_by(""));

    // Indexes and groups.
    engine.register_indexer_get(|ix: &mut Index, key: ImmutableString| {
        if ix.map.is_empty() {
            return Ok(Dynamic::UNIT);
        }
        with_doc(ix.generation, |doc| {
            Ok(ix
                .map
                .get(doc, &key)
                .map_or(Dynamic::UNIT, |(id, _)| to_dynamic(doc, id)))
        })
    });
    engine.register_fn("contains", |ix: &mut Index, key: ImmutableString| {
        if ix.map.is_empty() {
            return Ok(false);
        }
        with_doc(ix.generation, |doc| Ok(ix.map.get(doc, &key).is_some()))
    });
    engine.register_fn("len", |ix: &mut Index| ix.map.len() as i64);
    engine.register_indexer_get(|g: &mut Groups, key: ImmutableString| {
        let (groups, map) = &*g.groups;
        let slot = if map.is_empty() {
            None
        } else {
            with_doc(g.generation, |doc| Ok(map.get(doc, &key)))?
        };
        Ok::<_, Box<EvalAltResult>>(Query {
            generation: g.generation,
            base: slot.map_or(Base::Empty, |(_, i)| Base::Ids(groups[i as usize].clone())),
            filters: Vec::new(),
        })
    });
    engine.register_fn("keys", |g: &mut Groups| {
        let (groups, map) = &*g.groups;
        if groups.is_empty() {
            return Ok(Array::new());
        }
        with_doc(g.generation, |doc| {
            Ok(groups
                .iter()
                .filter_map(|ids| map.value_of(doc, ids[0]))
                .map(|k| Dynamic::from(ImmutableString::from(k)))
                .collect::<Array>())
        })
    });
    engine.register_fn("len", |g: &mut Groups| g.groups.0.len() as i64);
    engine.register_fn("duplicates", |q: &mut Query, key: &str| q.duplicates(key));
    engine.register_fn("duplicates", |n: &mut Node, key: &str| {
        Query::of(*n).duplicates(key)
    });
    engine.register_fn("duplicates", |_: (), _: &str| Query::empty());

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
    engine.register_fn("schema_violations", |q: &mut Query, spec: rhai::Map| {
        super::schema::violations(q, &spec)
    });
    engine.register_fn("schema_violations", |n: &mut Node, spec: rhai::Map| {
        super::schema::violations(&Query::single(*n), &spec)
    });
    engine.register_fn("schema_violations", |_: (), _: rhai::Map| Array::new());

    // Generic helpers.
    engine.register_fn("is_ipv4", |s: &str| s.parse::<std::net::Ipv4Addr>().is_ok());
    engine.register_fn("is_ipv6", |s: &str| s.parse::<std::net::Ipv6Addr>().is_ok());
    engine.register_fn("windows_path", |s: &str| windows_path(s));
    engine.register_fn("closest", |word: &str, candidates: Array| {
        let names: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
        closest(word, names.iter().map(String::as_str))
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

    #[test]
    fn words_match_whole_words_only() {
        assert!(contains_words("windows me", "windows me"));
        assert!(contains_words(
            "microsoft windows 2000 professional",
            "windows 2000"
        ));
        assert!(!contains_words("windows media center", "windows me"));
        assert!(!contains_words("windows 20001", "windows 2000"));
        assert!(contains_words("windows nt 4.0", "windows nt"));
    }

    #[test]
    fn closest_suggests_typos_only() {
        let keys = ["web_server", "version", "os"];
        assert_eq!(closest("web_sever", keys), Some("web_server"));
        assert_eq!(closest("zzzzzz", keys), None);
    }
}

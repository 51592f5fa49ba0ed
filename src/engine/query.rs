//! Lazy queries over arrays and tables of the estate (`select`, `reject`,
//! `select_words`, `items`), and the indexes and groups built from them. All of it runs
//! in Rust over node ids: a query over a million clients allocates no script values
//! until a `for` loop asks for the matches.

use super::host::{to_dynamic, with_doc, Node, RhaiResult};
use super::strmap::StrMap;
use crate::estate::{doc::Value as V, Doc, NodeId};
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString};
use std::sync::Arc;

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

/// Registers queries, indexes and groups on `engine`.
pub(super) fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Query>("Query")
        .register_type_with_name::<Index>("Index")
        .register_type_with_name::<Groups>("Groups")
        .register_iterator::<Query>();

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

    engine.register_fn("schema_violations", |q: &mut Query, spec: rhai::Map| {
        super::schema::violations(q, &spec)
    });
    engine.register_fn("schema_violations", |n: &mut Node, spec: rhai::Map| {
        super::schema::violations(&Query::single(*n), &spec)
    });
    engine.register_fn("schema_violations", |_: (), _: rhai::Map| Array::new());
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! The node arena: the flat vectors a document is made of, built per parsed piece and
//! then joined. A node is addressed by its index, so the script-side `Node` handle is
//! a `Copy` pair of integers and no rule ever clones the estate. The arena is most of a
//! large run's memory, so a node is 24 bytes: what does not fit (numbers, decoded
//! strings, table entries, array items, long keys) lives in side vectors the node
//! indexes.

use super::values::Values;
use rhai::ImmutableString;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use toml::value::Datetime;

pub type NodeId = u32;
pub const ROOT: NodeId = 0;
pub(super) const NO_PARENT: NodeId = NodeId::MAX;
/// A length that does not fit beside the node; the span is in a side map.
pub(super) const LONG: u16 = u16::MAX;
/// A table's record holds its first child and count when its children are
/// consecutive nodes (every table of scalars), else a place in `Arena::kids`.
const CONSECUTIVE: u32 = 1 << 31;

/// What kind of value a node holds; selects what its `data` indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Kind {
    /// `data` indexes `strs`: a string whose escapes had to be decoded.
    Str,
    /// A string equal to its source text inside the quotes of its span (no escapes):
    /// most strings, kept without an allocation of their own. `data` is its number
    /// in `Arena::values`, or 0.
    Raw,
    /// `data` indexes `nums` (the bits of an `i64`).
    Int,
    /// `data` indexes `nums` (the bits of an `f64`).
    Float,
    /// `data` is 0 or 1.
    Bool,
    /// `data` indexes `dates`.
    Datetime,
    /// `data` indexes `arrays`.
    Array,
    /// `data` indexes `tables`.
    Table,
}

/// How a node hangs off its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg {
    Root,
    /// Under a key of its parent table.
    Key,
    /// An element of its parent array; the position is found from the parent.
    Index,
}

/// One value of the estate in 24 bytes: a large estate is mostly these.
#[derive(Debug, Clone)]
pub struct NodeData {
    pub(super) kind: Kind,
    pub(super) seg: Seg,
    /// The key's length, or [`LONG`] when its span is in `Arena::far_keys`.
    pub(super) key_len: u16,
    pub(super) data: u32,
    /// Where the value's bytes start (a table's header for `[table]`, the braces
    /// for inline ones), and how many there are, or [`LONG`] (`Arena::long_spans`).
    pub(super) start: u32,
    pub(super) len: u16,
    /// Where the key starts, relative to `start`.
    pub(super) key_delta: i16,
    pub parent: NodeId,
    /// The interned key, for nodes under a key.
    pub(super) key: u32,
}

impl NodeData {
    pub fn seg(&self) -> Seg {
        self.seg
    }
    pub(super) fn kind(&self) -> Kind {
        self.kind
    }
    /// As [`Doc::number`].
    pub(super) fn number(&self) -> Option<u32> {
        (self.kind == Kind::Raw && self.data != 0).then_some(self.data)
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Kids<'d> {
    Consecutive(NodeId, u32),
    Listed(&'d [NodeId]),
}

impl<'d> Kids<'d> {
    pub(super) fn len(self) -> usize {
        match self {
            Kids::Consecutive(_, n) => n as usize,
            Kids::Listed(ids) => ids.len(),
        }
    }
    pub(super) fn ids(self) -> impl Iterator<Item = NodeId> + 'd {
        let (range, list) = match self {
            Kids::Consecutive(first, n) => (first..first + n, &[][..]),
            Kids::Listed(ids) => (0..0, ids),
        };
        range.chain(list.iter().copied())
    }
}

/// Interned key names: a node holds a `u32` where a string would take 16 bytes.
#[derive(Debug, Default)]
pub(super) struct Keys {
    names: Vec<Arc<str>>,
    // A fast hasher with a per-process seed: every key of the file passes here.
    ids: hashbrown::HashMap<Arc<str>, u32>,
}

impl Keys {
    pub(super) fn intern(&mut self, key: &str) -> u32 {
        if let Some(&k) = self.ids.get(key) {
            return k;
        }
        let k = self.names.len() as u32;
        let name: Arc<str> = Arc::from(key);
        self.names.push(name.clone());
        self.ids.insert(name, k);
        k
    }
    pub(super) fn find(&self, key: &str) -> Option<u32> {
        self.ids.get(key).copied()
    }
    pub(super) fn name(&self, k: u32) -> &str {
        &self.names[k as usize]
    }
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }
}

/// A scalar or container as the builder hands it to [`Arena::push`].
pub(super) enum Init {
    Str(ImmutableString),
    /// With its number in `Arena::values`, or 0.
    Raw(u32),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(Datetime),
    /// Children are attached later with [`Arena::set_array`] or [`Arena::set_table`].
    Array,
    Table,
}

/// The vectors a document is made of; built per parsed piece, then joined.
#[derive(Debug, Default)]
pub(super) struct Arena {
    pub(super) nodes: Vec<NodeData>,
    /// Per table: `(first child, count | CONSECUTIVE)` or `(place in kids, count)`.
    pub(super) tables: Vec<(u32, u32)>,
    /// Children of tables whose children are not consecutive nodes.
    pub(super) kids: Vec<NodeId>,
    pub(super) arrays: Vec<Vec<NodeId>>,
    pub(super) strs: Vec<ImmutableString>,
    pub(super) nums: Vec<u64>,
    pub(super) dates: Vec<Datetime>,
    pub(super) keys: Keys,
    pub(super) values: Values,
    /// Key spans that do not fit beside their node.
    pub(super) far_keys: HashMap<NodeId, (u32, u32)>,
    /// Value spans of 64 KiB or more: where they end.
    pub(super) long_spans: HashMap<NodeId, u32>,
}

impl Arena {
    /// Adds a node; containers start empty. `key` is the interned key of a node
    /// under one.
    pub(super) fn push(
        &mut self,
        init: Init,
        span: Range<usize>,
        key: Option<(u32, Range<usize>)>,
        parent: NodeId,
        seg: Seg,
    ) -> NodeId {
        let id = self.nodes.len() as NodeId;
        let (kind, data) = match init {
            Init::Str(s) => (Kind::Str, push_index(&mut self.strs, s)),
            Init::Raw(number) => (Kind::Raw, number),
            Init::Int(i) => (Kind::Int, push_index(&mut self.nums, i as u64)),
            Init::Float(x) => (Kind::Float, push_index(&mut self.nums, x.to_bits())),
            Init::Bool(b) => (Kind::Bool, b as u32),
            Init::Datetime(d) => (Kind::Datetime, push_index(&mut self.dates, d)),
            Init::Array => (Kind::Array, push_index(&mut self.arrays, Vec::new())),
            Init::Table => (Kind::Table, push_index(&mut self.tables, (0, CONSECUTIVE))),
        };
        let len = match u16::try_from(span.len()) {
            Ok(n) if n != LONG => n,
            _ => {
                self.long_spans.insert(id, span.end as u32);
                LONG
            }
        };
        let (key, key_len, key_delta) = match key {
            None => (0, 0, 0),
            Some((k, ks)) => {
                let delta = i16::try_from(ks.start as i64 - span.start as i64);
                match (u16::try_from(ks.len()), delta) {
                    (Ok(n), Ok(d)) if n != LONG => (k, n, d),
                    _ => {
                        self.far_keys.insert(id, (ks.start as u32, ks.end as u32));
                        (k, LONG, 0)
                    }
                }
            }
        };
        self.nodes.push(NodeData {
            kind,
            seg,
            key_len,
            data,
            start: span.start as u32,
            len,
            key_delta,
            parent,
            key,
        });
        id
    }

    pub(super) fn set_array(&mut self, id: NodeId, items: Vec<NodeId>) {
        let data = self.nodes[id as usize].data;
        self.arrays[data as usize] = items;
    }

    /// Stores a table's children, in source order.
    pub(super) fn set_table(&mut self, id: NodeId, children: &[NodeId]) {
        let first = children.first().copied().unwrap_or(0);
        let consecutive = children
            .iter()
            .enumerate()
            .all(|(i, &c)| c == first + i as u32);
        let record = if consecutive {
            (first, children.len() as u32 | CONSECUTIVE)
        } else {
            let start = self.kids.len() as u32;
            self.kids.extend_from_slice(children);
            (start, children.len() as u32)
        };
        let data = self.nodes[id as usize].data;
        self.tables[data as usize] = record;
    }

    pub(super) fn kind(&self, id: NodeId) -> Kind {
        self.nodes[id as usize].kind
    }

    pub(super) fn span(&self, id: NodeId) -> Range<usize> {
        let n = &self.nodes[id as usize];
        let end = match n.len {
            LONG => self.long_spans.get(&id).copied().unwrap_or(n.start),
            len => n.start + len as u32,
        };
        n.start as usize..end as usize
    }

    /// The items of node `id`, if it is an array.
    pub(super) fn array(&self, id: NodeId) -> Option<&[NodeId]> {
        let n = &self.nodes[id as usize];
        (n.kind == Kind::Array).then(|| &self.arrays[n.data as usize][..])
    }

    /// The array behind node `id`, if it is one.
    pub(super) fn array_mut(&mut self, id: NodeId) -> Option<&mut Vec<NodeId>> {
        let n = &self.nodes[id as usize];
        (n.kind == Kind::Array).then(|| &mut self.arrays[n.data as usize])
    }

    pub(super) fn kids(&self, id: NodeId) -> Option<Kids<'_>> {
        let n = &self.nodes[id as usize];
        (n.kind == Kind::Table).then(|| {
            let (at, len) = self.tables[n.data as usize];
            if len & CONSECUTIVE != 0 {
                Kids::Consecutive(at, len & !CONSECUTIVE)
            } else {
                Kids::Listed(&self.kids[at as usize..(at + len) as usize])
            }
        })
    }

    /// A table's (key, child) pairs.
    pub(super) fn table_entries(&self, id: NodeId) -> Option<Vec<(u32, NodeId)>> {
        let kids = self.kids(id)?;
        Some(
            kids.ids()
                .map(|c| (self.nodes[c as usize].key, c))
                .collect(),
        )
    }

    /// Appends a later piece; returns its root's (key, child) pairs, moved into
    /// this arena, for the caller to merge into the root. `None`, with nothing
    /// appended, when the piece has no root table.
    pub(super) fn append(&mut self, piece: Arena) -> Option<Vec<(u32, NodeId)>> {
        piece.nodes.first()?;
        let root = piece.table_entries(ROOT)?;
        let base = self.nodes.len() as NodeId - 1;
        let map = |id: NodeId| if id == ROOT { ROOT } else { id + base };
        let keys: Vec<u32> = (0..piece.keys.len() as u32)
            .map(|k| self.keys.intern(piece.keys.name(k)))
            .collect();
        let numbers: Vec<u32> = std::iter::once(0)
            .chain(piece.values.texts().iter().map(|t| self.values.add(t)))
            .collect();
        let offsets = [
            self.strs.len(),
            self.nums.len(),
            self.dates.len(),
            self.arrays.len(),
            self.tables.len(),
        ]
        .map(|n| n as u32);
        let root = root
            .into_iter()
            .map(|(k, v)| (keys[k as usize], map(v)))
            .collect();
        let kid_base = self.kids.len() as u32;
        self.kids.extend(piece.kids.iter().map(|&id| map(id)));
        self.tables.extend(piece.tables.iter().map(|&(at, len)| {
            if len & CONSECUTIVE != 0 {
                (map(at), len)
            } else {
                (at + kid_base, len)
            }
        }));
        self.arrays.extend(
            piece
                .arrays
                .into_iter()
                .map(|items| items.into_iter().map(map).collect()),
        );
        self.strs.extend(piece.strs);
        self.nums.extend(piece.nums);
        self.dates.extend(piece.dates);
        self.far_keys
            .extend(piece.far_keys.into_iter().map(|(id, k)| (map(id), k)));
        self.long_spans
            .extend(piece.long_spans.into_iter().map(|(id, e)| (map(id), e)));
        for mut node in piece.nodes.into_iter().skip(1) {
            node.parent = map(node.parent);
            if node.seg == Seg::Key {
                node.key = keys[node.key as usize];
            }
            node.data = match node.kind {
                Kind::Str => node.data + offsets[0],
                Kind::Int | Kind::Float => node.data + offsets[1],
                Kind::Datetime => node.data + offsets[2],
                Kind::Array => node.data + offsets[3],
                Kind::Table => node.data + offsets[4],
                Kind::Raw => numbers[node.data as usize],
                Kind::Bool => node.data,
            };
            self.nodes.push(node);
        }
        Some(root)
    }

    pub(super) fn shrink(&mut self) {
        self.values.done();
        self.nodes.shrink_to_fit();
        self.tables.shrink_to_fit();
        self.kids.shrink_to_fit();
        self.arrays.shrink_to_fit();
        self.strs.shrink_to_fit();
        self.nums.shrink_to_fit();
        self.dates.shrink_to_fit();
    }
}

fn push_index<T>(v: &mut Vec<T>, item: T) -> u32 {
    v.push(item);
    (v.len() - 1) as u32
}

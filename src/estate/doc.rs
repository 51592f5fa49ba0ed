//! The immutable node arena every rule reads.
//!
//! An estate is converted once from the parser's spanned tree into flat vectors; a
//! node is addressed by its index, so the script-side `Node` handle is a `Copy` pair
//! of integers and no rule ever clones the estate. The arena is most of a large
//! run's memory, so a node is 24 bytes: what does not fit (numbers, decoded strings,
//! table entries, array items, long keys) lives in side vectors the node indexes.

use super::source::Source;
use rhai::ImmutableString;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use toml::value::Datetime;

pub type NodeId = u32;
pub const ROOT: NodeId = 0;
pub(super) const NO_PARENT: NodeId = NodeId::MAX;
/// Tables with more entries than this get a hash index for key look-ups.
const INDEX_ABOVE: usize = 16;
/// A key length that does not fit beside the node; its span is in `Arena::long_keys`.
const LONG_KEY: u16 = u16::MAX;

/// What kind of value a node holds; selects what its `data` indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Kind {
    /// `data` indexes `strs`: a string whose escapes had to be decoded.
    Str,
    /// A string equal to its source text inside the quotes of its span (no escapes):
    /// most strings, kept without an allocation of their own.
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
    /// Under a key of its parent table; the key is read from the parent's entries.
    Key,
    /// An element of its parent array; the position is found from the parent.
    Index,
}

/// One value of the estate, 24 bytes.
#[derive(Debug, Clone)]
pub struct NodeData {
    kind: Kind,
    seg: Seg,
    /// Length of the key's bytes after `key_start`, or [`LONG_KEY`].
    key_len: u16,
    data: u32,
    /// The value's bytes (a table's header for `[table]`, the braces for inline ones).
    pub span: (u32, u32),
    key_start: u32,
    pub parent: NodeId,
}

impl NodeData {
    pub fn span(&self) -> Range<usize> {
        self.span.0 as usize..self.span.1 as usize
    }
    pub fn seg(&self) -> Seg {
        self.seg
    }
}

/// A node's value, borrowed from the arena.
#[derive(Debug, Clone, Copy)]
pub enum Value<'d> {
    /// A string whose escapes were decoded.
    Str(&'d ImmutableString),
    /// A string read straight from the source text.
    Raw(&'d str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(&'d Datetime),
    Array(&'d [NodeId]),
    Table(Entries<'d>),
}

/// A table's entries in source order.
#[derive(Debug, Clone, Copy)]
pub struct Entries<'d> {
    keys: &'d Keys,
    pairs: &'d [(u32, NodeId)],
}

impl<'d> Entries<'d> {
    pub fn len(&self) -> usize {
        self.pairs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&'d str, NodeId)> + 'd {
        let keys = self.keys;
        self.pairs.iter().map(move |&(k, v)| (keys.name(k), v))
    }
}

/// Interned key names: entries hold a `u32` where a string would take 16 bytes.
#[derive(Debug, Default)]
pub(super) struct Keys {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
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
    fn find(&self, key: &str) -> Option<u32> {
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
    Raw,
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
    /// Table entries, each table's contiguous: (key, child).
    pub(super) entries: Vec<(u32, NodeId)>,
    /// Per table: where its entries start in `entries`, and how many.
    pub(super) tables: Vec<(u32, u32)>,
    pub(super) arrays: Vec<Vec<NodeId>>,
    pub(super) strs: Vec<ImmutableString>,
    pub(super) nums: Vec<u64>,
    pub(super) dates: Vec<Datetime>,
    pub(super) keys: Keys,
    /// Key spans too long for a node's `key_len`.
    pub(super) long_keys: HashMap<NodeId, (u32, u32)>,
}

impl Arena {
    /// Adds a node; containers start empty.
    pub(super) fn push(
        &mut self,
        init: Init,
        span: Range<usize>,
        key_span: Option<Range<usize>>,
        parent: NodeId,
        seg: Seg,
    ) -> NodeId {
        let id = self.nodes.len() as NodeId;
        let (kind, data) = match init {
            Init::Str(s) => (Kind::Str, push_index(&mut self.strs, s)),
            Init::Raw => (Kind::Raw, 0),
            Init::Int(i) => (Kind::Int, push_index(&mut self.nums, i as u64)),
            Init::Float(x) => (Kind::Float, push_index(&mut self.nums, x.to_bits())),
            Init::Bool(b) => (Kind::Bool, b as u32),
            Init::Datetime(d) => (Kind::Datetime, push_index(&mut self.dates, d)),
            Init::Array => (Kind::Array, push_index(&mut self.arrays, Vec::new())),
            Init::Table => (Kind::Table, push_index(&mut self.tables, (0, 0))),
        };
        let (key_start, key_len) = match key_span {
            Some(k) if k.len() < LONG_KEY as usize => (k.start as u32, k.len() as u16),
            Some(k) => {
                self.long_keys.insert(id, (k.start as u32, k.end as u32));
                (k.start as u32, LONG_KEY)
            }
            None => (span.start as u32, 0),
        };
        self.nodes.push(NodeData {
            kind,
            seg,
            key_len,
            data,
            span: (span.start as u32, span.end as u32),
            key_start,
            parent,
        });
        id
    }

    pub(super) fn set_array(&mut self, id: NodeId, items: Vec<NodeId>) {
        let data = self.nodes[id as usize].data;
        self.arrays[data as usize] = items;
    }

    /// Stores a table's entries; `entries` holds interned keys.
    pub(super) fn set_table(&mut self, id: NodeId, entries: &[(u32, NodeId)]) {
        let start = self.entries.len() as u32;
        self.entries.extend_from_slice(entries);
        let data = self.nodes[id as usize].data;
        self.tables[data as usize] = (start, entries.len() as u32);
    }

    pub(super) fn kind(&self, id: NodeId) -> Kind {
        self.nodes[id as usize].kind
    }

    /// The array behind node `id`, if it is one.
    pub(super) fn array_mut(&mut self, id: NodeId) -> Option<&mut Vec<NodeId>> {
        let n = &self.nodes[id as usize];
        (n.kind == Kind::Array).then(|| &mut self.arrays[n.data as usize])
    }

    pub(super) fn table_entries(&self, id: NodeId) -> Option<&[(u32, NodeId)]> {
        let n = &self.nodes[id as usize];
        (n.kind == Kind::Table).then(|| {
            let (start, len) = self.tables[n.data as usize];
            &self.entries[start as usize..(start + len) as usize]
        })
    }

    /// Appends a later piece: its root's entries are returned (ids, keys and side
    /// indices already moved into this arena) for the caller to merge into the root.
    pub(super) fn append(&mut self, piece: Arena) -> Vec<(u32, NodeId)> {
        let base = self.nodes.len() as NodeId - 1;
        let map = |id: NodeId| if id == ROOT { ROOT } else { id + base };
        let keys: Vec<u32> = (0..piece.keys.len() as u32)
            .map(|k| self.keys.intern(piece.keys.name(k)))
            .collect();
        let offsets = [
            self.strs.len(),
            self.nums.len(),
            self.dates.len(),
            self.arrays.len(),
            self.tables.len(),
        ]
        .map(|n| n as u32);
        let entry_base = self.entries.len() as u32;
        let root = piece.table_entries(ROOT).map_or_else(Vec::new, |pairs| {
            pairs
                .iter()
                .map(|&(k, v)| (keys[k as usize], map(v)))
                .collect()
        });
        self.entries.extend(
            piece
                .entries
                .iter()
                .map(|&(k, v)| (keys[k as usize], map(v))),
        );
        self.tables
            .extend(piece.tables.iter().map(|&(s, l)| (s + entry_base, l)));
        self.arrays.extend(
            piece
                .arrays
                .into_iter()
                .map(|items| items.into_iter().map(map).collect()),
        );
        self.strs.extend(piece.strs);
        self.nums.extend(piece.nums);
        self.dates.extend(piece.dates);
        self.long_keys
            .extend(piece.long_keys.into_iter().map(|(id, k)| (map(id), k)));
        for mut node in piece.nodes.into_iter().skip(1) {
            node.parent = map(node.parent);
            node.data += match node.kind {
                Kind::Str => offsets[0],
                Kind::Int | Kind::Float => offsets[1],
                Kind::Datetime => offsets[2],
                Kind::Array => offsets[3],
                Kind::Table => offsets[4],
                Kind::Raw | Kind::Bool => 0,
            };
            self.nodes.push(node);
        }
        root
    }

    /// Gives node `id` (a table) new entries, placed at the end of the entry pool.
    pub(super) fn replace_table(&mut self, id: NodeId, entries: &[(u32, NodeId)]) {
        self.set_table(id, entries);
    }

    pub(super) fn shrink(&mut self) {
        self.nodes.shrink_to_fit();
        self.entries.shrink_to_fit();
        self.tables.shrink_to_fit();
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

/// One parsed estate file.
#[derive(Debug)]
pub struct Doc {
    /// Distinguishes documents so a node handle can never read another file's arena.
    pub generation: u32,
    pub source: Arc<Source>,
    arena: Arena,
    /// Key indexes of large tables, by table number.
    big: HashMap<u32, HashMap<u32, NodeId>>,
}

static GENERATION: AtomicU32 = AtomicU32::new(1);

impl Doc {
    pub(super) fn new(source: Arc<Source>, mut arena: Arena) -> Self {
        arena.shrink();
        let big = arena
            .tables
            .iter()
            .enumerate()
            .filter(|(_, (_, len))| *len as usize > INDEX_ABOVE)
            .map(|(t, &(start, len))| {
                let pairs = &arena.entries[start as usize..(start + len) as usize];
                // The first entry of a key wins, as a scan would find it.
                let mut index = HashMap::with_capacity(pairs.len());
                for &(k, v) in pairs {
                    index.entry(k).or_insert(v);
                }
                (t as u32, index)
            })
            .collect();
        Doc {
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            source,
            arena,
            big,
        }
    }

    pub fn node(&self, id: NodeId) -> &NodeData {
        &self.arena.nodes[id as usize]
    }

    /// How many nodes the document has; ids run from 0 below it.
    pub fn node_count(&self) -> usize {
        self.arena.nodes.len()
    }

    pub fn value(&self, id: NodeId) -> Value<'_> {
        let a = &self.arena;
        let n = &a.nodes[id as usize];
        let i = n.data as usize;
        match n.kind {
            Kind::Str => Value::Str(&a.strs[i]),
            Kind::Raw => Value::Raw(&self.source.text()[raw_range(n)]),
            Kind::Int => Value::Int(a.nums[i] as i64),
            Kind::Float => Value::Float(f64::from_bits(a.nums[i])),
            Kind::Bool => Value::Bool(n.data != 0),
            Kind::Datetime => Value::Datetime(&a.dates[i]),
            Kind::Array => Value::Array(&a.arrays[i]),
            Kind::Table => {
                let (start, len) = a.tables[i];
                Value::Table(Entries {
                    keys: &a.keys,
                    pairs: &a.entries[start as usize..(start + len) as usize],
                })
            }
        }
    }

    /// The key's bytes; equal to the value's span for array elements and the root.
    pub fn key_span(&self, id: NodeId) -> Range<usize> {
        let n = self.node(id);
        match n.seg {
            Seg::Key if n.key_len == LONG_KEY => self
                .arena
                .long_keys
                .get(&id)
                .map_or(n.span(), |&(s, e)| s as usize..e as usize),
            Seg::Key => n.key_start as usize..n.key_start as usize + n.key_len as usize,
            _ => n.span(),
        }
    }

    /// The child of table `id` under `key`.
    pub fn get(&self, id: NodeId, key: &str) -> Option<NodeId> {
        let a = &self.arena;
        let n = &a.nodes[id as usize];
        if n.kind != Kind::Table {
            return None;
        }
        if let Some(index) = self.big.get(&n.data) {
            return index.get(&a.keys.find(key)?).copied();
        }
        let (start, len) = a.tables[n.data as usize];
        a.entries[start as usize..(start + len) as usize]
            .iter()
            .find(|&&(k, _)| a.keys.name(k) == key)
            .map(|&(_, v)| v)
    }

    /// Child ids of an array or table, in source order.
    pub fn children(&self, id: NodeId) -> Vec<NodeId> {
        match self.value(id) {
            Value::Array(items) => items.to_vec(),
            Value::Table(t) => t.pairs.iter().map(|&(_, v)| v).collect(),
            _ => Vec::new(),
        }
    }

    pub fn len(&self, id: NodeId) -> usize {
        match self.value(id) {
            Value::Array(items) => items.len(),
            Value::Table(t) => t.len(),
            _ => 0,
        }
    }

    pub fn is_empty(&self, id: NodeId) -> bool {
        self.len(id) == 0
    }

    pub fn str_of(&self, id: NodeId) -> Option<&str> {
        match self.value(id) {
            Value::Str(s) => Some(s.as_str()),
            Value::Raw(s) => Some(s),
            _ => None,
        }
    }

    /// The string `name` of a table, used to name array-of-table entries.
    pub fn name_of(&self, id: NodeId) -> Option<&str> {
        self.get(id, "name").and_then(|n| self.str_of(n))
    }

    /// The key a node hangs under in its parent table, if it hangs under one.
    pub fn key_of(&self, id: NodeId) -> Option<&str> {
        let node = self.node(id);
        if node.seg != Seg::Key || node.parent == NO_PARENT {
            return None;
        }
        let pairs = self.arena.table_entries(node.parent)?;
        // Entries are added in id order: a binary search finds the key in a table of
        // any size; a scan is the fallback.
        let at = pairs
            .binary_search_by_key(&id, |&(_, c)| c)
            .ok()
            .or_else(|| pairs.iter().position(|&(_, c)| c == id))?;
        Some(self.arena.keys.name(pairs[at].0))
    }

    /// The position of an array element in its array.
    pub fn index_of(&self, id: NodeId) -> Option<usize> {
        let node = self.node(id);
        if node.seg != Seg::Index || node.parent == NO_PARENT {
            return None;
        }
        let Value::Array(items) = self.value(node.parent) else {
            return None;
        };
        items
            .binary_search(&id)
            .ok()
            .or_else(|| items.iter().position(|&c| c == id))
    }

    /// The user-facing path of a node: `servers["osce-hq"].backup.files[2]`.
    pub fn path(&self, id: NodeId) -> String {
        let mut chain = Vec::new();
        let mut cur = id;
        while cur != NO_PARENT && cur != ROOT {
            chain.push(cur);
            cur = self.node(cur).parent;
        }
        let mut out = String::new();
        for &n in chain.iter().rev() {
            match self.node(n).seg {
                Seg::Root => {}
                Seg::Key => {
                    if let Some(k) = self.key_of(n) {
                        push_key(&mut out, k);
                    }
                }
                Seg::Index => match self.name_of(n) {
                    Some(name) => {
                        out.push('[');
                        push_quoted(&mut out, name);
                        out.push(']');
                    }
                    None => out.push_str(&format!("[{}]", self.index_of(n).unwrap_or(0))),
                },
            }
        }
        out
    }

    /// The span a label should underline for `key` of table `id`: the key's value
    /// when present, otherwise the table itself (its `name` value when it has one,
    /// else its header).
    pub fn label_span(&self, id: NodeId, key: &str) -> (Option<NodeId>, Range<usize>) {
        if !key.is_empty() {
            if let Some(child) = self.get(id, key) {
                return (Some(child), self.node(child).span());
            }
        }
        (None, self.table_span(id))
    }

    /// Where to point for a table as a whole.
    pub fn table_span(&self, id: NodeId) -> Range<usize> {
        if let Some(name) = self.get(id, "name") {
            return self.node(name).span();
        }
        let node = self.node(id);
        if id == ROOT {
            return 0..0;
        }
        node.span()
    }

    pub fn type_name(&self, id: NodeId) -> &'static str {
        match self.node(id).kind {
            Kind::Str | Kind::Raw => "string",
            Kind::Int => "integer",
            Kind::Float => "float",
            Kind::Bool => "boolean",
            Kind::Datetime => "datetime",
            Kind::Array => "array",
            Kind::Table => "table",
        }
    }
}

/// The text of a raw string: inside its one-character quotes.
fn raw_range(n: &NodeData) -> Range<usize> {
    n.span.0 as usize + 1
        ..(n.span.1 as usize)
            .saturating_sub(1)
            .max(n.span.0 as usize + 1)
}

fn push_key(out: &mut String, key: &str) {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        out.push('[');
        push_quoted(out, key);
        out.push(']');
    }
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether `path` is `prefix` or lies under it (`a.b` covers `a.b.c` and `a.b[0]`).
pub fn path_covers(prefix: &str, path: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || (path.starts_with(prefix) && matches!(path.as_bytes()[prefix.len()], b'.' | b'['))
}

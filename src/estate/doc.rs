//! The immutable node arena every rule reads.
//!
//! An estate is converted once from the parser's spanned tree into a flat `Vec` of
//! nodes; a node is addressed by its index, so the script-side `Node` handle is a
//! `Copy` pair of integers and no rule ever clones the estate.

use super::source::Source;
use rhai::ImmutableString;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub type NodeId = u32;
pub const ROOT: NodeId = 0;
const NO_PARENT: NodeId = NodeId::MAX;
/// Tables with more entries than this get a hash index for key look-ups.
const INDEX_ABOVE: usize = 16;

/// A TOML value with its children stored as node ids.
#[derive(Debug)]
pub enum Value {
    /// A string whose escapes had to be decoded.
    Str(ImmutableString),
    /// A string equal to its source text between these byte offsets (no escapes):
    /// most strings, kept without an allocation of their own.
    Raw(u32, u32),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(Box<toml::value::Datetime>),
    Array(Vec<NodeId>),
    Table(Table),
}

/// Keys in source order, plus a hash index when the table is large.
#[derive(Debug, Default)]
pub struct Table {
    pub entries: Box<[(Arc<str>, NodeId)]>,
    // Boxed so that small tables, the common case, keep `Value` at 32 bytes.
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<Arc<str>, NodeId>>>,
}

impl Table {
    pub fn new(entries: Vec<(Arc<str>, NodeId)>) -> Self {
        let index = (entries.len() > INDEX_ABOVE)
            .then(|| Box::new(entries.iter().map(|(k, v)| (k.clone(), *v)).collect()));
        Table {
            entries: entries.into_boxed_slice(),
            index,
        }
    }

    pub fn get(&self, key: &str) -> Option<NodeId> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self
                .entries
                .iter()
                .find(|(k, _)| &**k == key)
                .map(|(_, v)| *v),
        }
    }
}

/// How a node hangs off its parent.
#[derive(Debug, Clone)]
pub enum Seg {
    Root,
    /// Under a key of its parent table; the key is read from the parent's entries
    /// (kept there once, not in every node: the arena is most of the run's memory).
    Key,
    Index(u32),
}

#[derive(Debug)]
pub struct NodeData {
    pub value: Value,
    /// The value's bytes (a table's header for `[table]`, the braces for inline ones).
    pub span: (u32, u32),
    /// The key's bytes; equal to `span` for array elements and the root.
    pub key_span: (u32, u32),
    pub parent: NodeId,
    pub seg: Seg,
}

impl NodeData {
    pub fn span(&self) -> Range<usize> {
        self.span.0 as usize..self.span.1 as usize
    }
    pub fn key_span(&self) -> Range<usize> {
        self.key_span.0 as usize..self.key_span.1 as usize
    }
}

/// One parsed estate file.
#[derive(Debug)]
pub struct Doc {
    /// Distinguishes documents so a node handle can never read another file's arena.
    pub generation: u32,
    pub source: Arc<Source>,
    pub nodes: Vec<NodeData>,
}

static GENERATION: AtomicU32 = AtomicU32::new(1);

impl Doc {
    pub(super) fn new(source: Arc<Source>, mut nodes: Vec<NodeData>) -> Self {
        nodes.shrink_to_fit();
        Doc {
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            source,
            nodes,
        }
    }

    pub fn node(&self, id: NodeId) -> &NodeData {
        &self.nodes[id as usize]
    }

    /// The child of table `id` under `key`.
    pub fn get(&self, id: NodeId, key: &str) -> Option<NodeId> {
        match &self.node(id).value {
            Value::Table(t) => t.get(key),
            _ => None,
        }
    }

    /// Child ids of an array or table, in source order.
    pub fn children(&self, id: NodeId) -> Vec<NodeId> {
        match &self.node(id).value {
            Value::Array(items) => items.to_vec(),
            Value::Table(t) => t.entries.iter().map(|(_, v)| *v).collect(),
            _ => Vec::new(),
        }
    }

    pub fn len(&self, id: NodeId) -> usize {
        match &self.node(id).value {
            Value::Array(items) => items.len(),
            Value::Table(t) => t.entries.len(),
            _ => 0,
        }
    }

    pub fn is_empty(&self, id: NodeId) -> bool {
        self.len(id) == 0
    }

    pub fn str_of(&self, id: NodeId) -> Option<&str> {
        match &self.node(id).value {
            Value::Str(s) => Some(s.as_str()),
            Value::Raw(start, end) => Some(&self.source.text()[*start as usize..*end as usize]),
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
        if !matches!(node.seg, Seg::Key) || node.parent == NO_PARENT {
            return None;
        }
        let Value::Table(t) = &self.node(node.parent).value else {
            return None;
        };
        // Entries are added in id order: a binary search finds the key in a table of
        // any size; a scan is the fallback.
        let at = t
            .entries
            .binary_search_by_key(&id, |(_, c)| *c)
            .ok()
            .or_else(|| t.entries.iter().position(|(_, c)| *c == id))?;
        Some(&t.entries[at].0)
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
            match &self.node(n).seg {
                Seg::Root => {}
                Seg::Key => {
                    if let Some(k) = self.key_of(n) {
                        push_key(&mut out, k);
                    }
                }
                Seg::Index(i) => match self.name_of(n) {
                    Some(name) => {
                        out.push('[');
                        push_quoted(&mut out, name);
                        out.push(']');
                    }
                    None => out.push_str(&format!("[{i}]")),
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
        match &self.node(id).value {
            Value::Str(_) | Value::Raw(..) => "string",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Bool(_) => "boolean",
            Value::Datetime(_) => "datetime",
            Value::Array(_) => "array",
            Value::Table(_) => "table",
        }
    }
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

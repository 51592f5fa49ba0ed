//! The immutable document every rule reads: an estate converted once from the
//! parser's spanned tree into the node arena ([`super::arena`]), with what reading it
//! needs (values, keys, paths, spans, key indexes of large tables, columns).

pub(super) use super::arena::{Arena, Init, Kind, NO_PARENT};
use super::arena::{Kids, LONG};
pub use super::arena::{NodeData, NodeId, Seg, ROOT};
use super::columns::{Column, ColumnId, Columns};
use super::source::Source;
use rhai::ImmutableString;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use toml::value::Datetime;

/// Tables with more entries than this get a hash index for key look-ups.
const INDEX_ABOVE: usize = 16;
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

/// A table's children in source order.
#[derive(Debug, Clone, Copy)]
pub struct Entries<'d> {
    arena: &'d Arena,
    kids: Kids<'d>,
}

impl<'d> Entries<'d> {
    pub fn len(&self) -> usize {
        self.kids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.kids.len() == 0
    }
    /// The id of the `i`th child.
    pub fn child(&self, i: usize) -> Option<NodeId> {
        match self.kids {
            Kids::Consecutive(first, n) => (i < n as usize).then(|| first + i as u32),
            Kids::Listed(ids) => ids.get(i).copied(),
        }
    }

    /// Keys and child ids.
    pub fn iter(&self) -> impl Iterator<Item = (&'d str, NodeId)> + 'd {
        let arena = self.arena;
        self.kids
            .ids()
            .map(move |id| (arena.keys.name(arena.nodes[id as usize].key), id))
    }

    /// Keys, as numbered in the document, and child ids: no key is read as text.
    pub fn iter_keyed(&self) -> impl Iterator<Item = (KeyId, NodeId)> + 'd {
        let arena = self.arena;
        self.kids
            .ids()
            .map(move |id| (KeyId(arena.nodes[id as usize].key), id))
    }
}

/// A key as numbered in one document ([`Doc::key_id`]); meaningless in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub(super) u32);

/// One parsed estate file.
#[derive(Debug)]
pub struct Doc {
    /// Distinguishes documents so a node handle can never read another file's arena.
    pub generation: u32,
    pub source: Arc<Source>,
    arena: Arena,
    /// Key indexes of large tables, by table node (fast seeded hashers: read on
    /// every property look-up in such a table).
    big: hashbrown::HashMap<NodeId, hashbrown::HashMap<u32, NodeId>>,
    columns: Columns,
    /// The key `name`, if some table has it: every finding's path reads it.
    name: Option<KeyId>,
}

static GENERATION: AtomicU32 = AtomicU32::new(1);

impl Doc {
    pub(super) fn new(source: Arc<Source>, mut arena: Arena) -> Self {
        arena.shrink();
        let big = (0..arena.nodes.len() as NodeId)
            .filter_map(|id| Some((id, arena.kids(id)?)))
            .filter(|(_, kids)| kids.len() > INDEX_ABOVE)
            .map(|(id, kids)| {
                // The first child under a key wins, as a scan would find it.
                let mut index = hashbrown::HashMap::with_capacity(kids.len());
                for c in kids.ids() {
                    index.entry(arena.nodes[c as usize].key).or_insert(c);
                }
                (id, index)
            })
            .collect();
        let columns = Columns::build(&arena);
        let name = arena.keys.find("name").map(KeyId);
        Doc {
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            source,
            arena,
            big,
            columns,
            name,
        }
    }

    pub fn node(&self, id: NodeId) -> &NodeData {
        &self.arena.nodes[id as usize]
    }

    /// How many nodes the document has; ids run from 0 below it.
    pub fn node_count(&self) -> usize {
        self.arena.nodes.len()
    }

    /// The value's bytes (a table's header for `[table]`, the braces for inline ones).
    pub fn span(&self, id: NodeId) -> Range<usize> {
        self.arena.span(id)
    }

    /// Starts loading what reading a table's keys will touch, for a pass over many
    /// tables: for `far` (some entries ahead) its node; for `near` (fewer ahead, its
    /// node loaded by now) its children, when they lie together, and its text. Only a
    /// hint: no value changes.
    pub fn prefetch(&self, far: Option<NodeId>, near: Option<NodeId>) {
        let a = &self.arena;
        if let Some(n) = far.and_then(|id| a.nodes.get(id as usize)) {
            touch(n);
        }
        let Some(id) = near else { return };
        let Some(n) = a.nodes.get(id as usize) else {
            return;
        };
        if let Some(Kids::Consecutive(first, _)) = a.kids(id) {
            if let Some(k) = a.nodes.get(first as usize..) {
                // Two lines: most tables' children fit in them.
                touch(k.as_ptr());
                touch(k.as_ptr().wrapping_add(3));
            }
        }
        if let Some(t) = self.source.text().as_bytes().get(n.start as usize..) {
            for line in [0, 64, 128] {
                touch(t.as_ptr().wrapping_add(line));
            }
        }
    }

    /// Whether `id` is a table or an array: its node alone, where [`Doc::value`] of a
    /// table also reads where its entries are.
    pub fn holds_entries(&self, id: NodeId) -> bool {
        matches!(self.node(id).kind, Kind::Table | Kind::Array)
    }

    pub fn value(&self, id: NodeId) -> Value<'_> {
        let a = &self.arena;
        let n = &a.nodes[id as usize];
        let i = n.data as usize;
        match n.kind {
            Kind::Str => Value::Str(&a.strs[i]),
            Kind::Raw => {
                // The span read in place: this is the hot path of every string read.
                let start = n.start as usize;
                let end = match n.len {
                    LONG => a.span(id).end,
                    len => start + len as usize,
                };
                Value::Raw(&self.source.text()[raw_range(start..end)])
            }
            Kind::Int => Value::Int(a.nums[i] as i64),
            Kind::Float => Value::Float(f64::from_bits(a.nums[i])),
            Kind::Bool => Value::Bool(n.data != 0),
            Kind::Datetime => Value::Datetime(&a.dates[i]),
            Kind::Array => Value::Array(&a.arrays[i]),
            Kind::Table => Value::Table(Entries {
                arena: a,
                kids: a.kids(id).unwrap_or(Kids::Listed(&[])),
            }),
        }
    }

    /// The key's bytes; equal to the value's span for array elements and the root.
    pub fn key_span(&self, id: NodeId) -> Range<usize> {
        let n = self.node(id);
        match n.seg {
            Seg::Key if n.key_len == LONG => {
                let (s, e) = self.arena.far_keys.get(&id).copied().unwrap_or_default();
                s as usize..e as usize
            }
            Seg::Key => {
                let start = (n.start as i64 + n.key_delta as i64) as usize;
                start..start + n.key_len as usize
            }
            _ => self.span(id),
        }
    }

    /// The number `key` has in this document, if some table has it: a loop that reads
    /// one key of many tables finds it once and compares numbers ([`Doc::get_key`]).
    pub fn key_id(&self, key: &str) -> Option<KeyId> {
        self.arena.keys.find(key).map(KeyId)
    }

    /// The text of a key numbered in this document.
    pub fn key_name(&self, key: KeyId) -> &str {
        self.arena.keys.name(key.0)
    }

    /// The child of table `id` under the key numbered `key`; as [`Doc::get`].
    pub fn get_key(&self, id: NodeId, key: KeyId) -> Option<NodeId> {
        self.get_key_at(id, key, &mut 0)
    }

    /// [`Doc::get_key`], trying first the child at position `*at`: the tables of one
    /// array mostly list their keys in the same order, so a pass over them finds a key
    /// where it was in the table before, reading one child instead of those before it.
    /// Sets `*at` to where the key was. A table's keys are unique (the loader rejects
    /// a key given twice), so the child found is the one a scan finds.
    pub fn get_key_at(&self, id: NodeId, key: KeyId, at: &mut u32) -> Option<NodeId> {
        let a = &self.arena;
        let kids = a.kids(id)?;
        if kids.len() > INDEX_ABOVE {
            return self.big.get(&id)?.get(&key.0).copied();
        }
        let has = |c: NodeId| a.nodes[c as usize].key == key.0;
        let (found, i) = match kids {
            Kids::Consecutive(first, n) => {
                if *at < n && has(first + *at) {
                    return Some(first + *at);
                }
                // Each kind of child list walked on its own: a chained iterator tests
                // which part it is in at every step.
                let c = (first..first + n).find(|&c| has(c))?;
                (c, c - first)
            }
            Kids::Listed(ids) => {
                if let Some(&c) = ids.get(*at as usize).filter(|&&c| has(c)) {
                    return Some(c);
                }
                let i = ids.iter().position(|&c| has(c))?;
                (ids[i], i as u32)
            }
        };
        *at = i;
        Some(found)
    }

    /// The child of table `id` under `key`.
    pub fn get(&self, id: NodeId, key: &str) -> Option<NodeId> {
        let a = &self.arena;
        let kids = a.kids(id)?;
        if kids.len() > INDEX_ABOVE {
            return self.big.get(&id)?.get(&a.keys.find(key)?).copied();
        }
        let has = |&c: &NodeId| a.keys.name(a.nodes[c as usize].key) == key;
        match kids {
            Kids::Consecutive(first, n) => (first..first + n).find(has),
            Kids::Listed(ids) => ids.iter().copied().find(has),
        }
    }

    /// Child ids of an array or table, in source order.
    pub fn children(&self, id: NodeId) -> Vec<NodeId> {
        match self.value(id) {
            Value::Array(items) => items.to_vec(),
            Value::Table(t) => t.kids.ids().collect(),
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

    /// Whether the string at `id` is `want`; `None` when `id` holds no string. A raw
    /// string's length is in its node, so most unequal ones are told apart without
    /// reading their text: a pass testing one key of many tables skips those reads.
    pub fn str_is(&self, id: NodeId, want: &str) -> Option<bool> {
        let n = &self.arena.nodes[id as usize];
        match n.kind {
            Kind::Raw if n.len != LONG && (n.len as usize).saturating_sub(2) != want.len() => {
                Some(false)
            }
            Kind::Raw | Kind::Str => Some(self.str_of(id) == Some(want)),
            _ => None,
        }
    }

    /// The number of the string at `id`, if it has one: two strings with numbers are
    /// equal exactly when their numbers are, and a string equal to a numbered text
    /// may still have none, so a string without a number is compared by its text.
    pub fn number(&self, id: NodeId) -> Option<u32> {
        self.arena.nodes[id as usize].number()
    }

    /// The text of the strings numbered `n`.
    pub fn number_text(&self, n: u32) -> Option<&str> {
        let texts = self.arena.values.texts();
        texts.get((n as usize).checked_sub(1)?).map(|t| &t[..])
    }

    /// The column of `key` over the items of array `array`, if it has one
    /// ([`Columns`]): a pass over the array testing that key reads it by position.
    pub fn column_of(&self, array: NodeId, key: KeyId) -> Option<ColumnId> {
        self.columns.find(array, key.0)
    }

    pub fn column(&self, id: ColumnId) -> Column<'_> {
        self.columns.get(id)
    }

    /// How many cells the document's columns hold, against how many nodes it has.
    #[cfg(test)]
    pub(super) fn column_cells(&self) -> (usize, usize) {
        (self.columns.cells(), self.arena.nodes.len())
    }

    #[cfg(test)]
    pub(super) fn arena(&self) -> &Arena {
        &self.arena
    }

    /// The same document without columns: every pass reads nodes, as tests compare.
    #[cfg(test)]
    pub(crate) fn without_columns(mut self) -> Self {
        self.columns = Columns::default();
        self
    }

    /// The number of `text`, if some string of the document has it; without one, no
    /// numbered string is equal to `text`.
    pub fn number_of(&self, text: &str) -> Option<u32> {
        self.arena.values.find(text)
    }

    /// One more than the highest number a string has.
    pub fn numbers(&self) -> usize {
        self.arena.values.bound()
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
        self.get_key(id, self.name?).and_then(|n| self.str_of(n))
    }

    /// The key a node hangs under in its parent table, if it hangs under one.
    pub fn key_of(&self, id: NodeId) -> Option<&str> {
        let node = self.node(id);
        (node.seg == Seg::Key).then(|| self.arena.keys.name(node.key))
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
        // Most paths are a few steps deep: those are kept on the stack.
        let (mut near, mut far) = ([0; 8], Vec::new());
        let mut depth = 0;
        let mut cur = id;
        while cur != NO_PARENT && cur != ROOT {
            match near.get_mut(depth) {
                Some(slot) => *slot = cur,
                None => far.push(cur),
            }
            depth += 1;
            cur = self.node(cur).parent;
        }
        let chain = far.iter().rev().chain(near[..depth.min(8)].iter().rev());
        let mut out = String::with_capacity(48);
        for &n in chain {
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
                return (Some(child), self.span(child));
            }
        }
        (None, self.table_span(id))
    }

    /// Where to point for a table as a whole.
    pub fn table_span(&self, id: NodeId) -> Range<usize> {
        if let Some(name) = self.name.and_then(|k| self.get_key(id, k)) {
            return self.span(name);
        }
        if id == ROOT {
            return 0..0;
        }
        self.span(id)
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
fn raw_range(span: Range<usize>) -> Range<usize> {
    span.start + 1..span.end.saturating_sub(1).max(span.start + 1)
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
    // Most names need no escape: printable ASCII without a quote or backslash.
    if s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut rest = s;
    // Runs that need no escape are copied whole.
    while let Some(at) = rest.find(|c: char| c == '"' || c == '\\' || c.is_control()) {
        out.push_str(&rest[..at]);
        let c = rest[at..].chars().next().unwrap_or_default();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
        rest = &rest[at + c.len_utf8()..];
    }
    out.push_str(rest);
    out.push('"');
}

/// Whether `path` is `prefix` or lies under it (`a.b` covers `a.b.c` and `a.b[0]`).
pub fn path_covers(prefix: &str, path: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || (path.starts_with(prefix) && matches!(path.as_bytes()[prefix.len()], b'.' | b'['))
}

/// A hint to load the cache line at `p`; nothing on targets without one.
#[inline(always)]
fn touch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch reads nothing and cannot fault, wherever `p` points;
        // SSE is part of every x86_64 target.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::parse;

    #[test]
    fn names_in_paths_are_quoted_and_escaped() {
        let names = [
            r#""ws-1""#,
            r#""a\"b""#,
            r#""a\\b""#,
            r#""t\tb""#,
            r#""d\u007Fe""#,
            r#""café""#,
        ];
        let text: String = names
            .iter()
            .map(|n| format!("[[c]]\nname = {n}\n"))
            .collect();
        let doc = parse(Arc::new(Source::new("e.toml", text))).unwrap();
        let items = doc.children(doc.get(ROOT, "c").unwrap());
        let paths: Vec<String> = items.iter().map(|&i| doc.path(i)).collect();
        assert_eq!(
            paths,
            [
                r#"c["ws-1"]"#,
                r#"c["a\"b"]"#,
                r#"c["a\\b"]"#,
                r#"c["t\u0009b"]"#,
                r#"c["d\u007Fe"]"#,
                r#"c["café"]"#,
            ]
        );
    }
}

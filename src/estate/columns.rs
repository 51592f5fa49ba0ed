//! Columns of a large array of tables: for a key most of its tables hold as a numbered
//! string ([`super::values`]), each item's number in two bytes. A pass testing that
//! key over a hundred thousand clients then reads 200 KB in order instead of every
//! client's nodes (about 170 bytes each), so it waits less on memory and two such
//! passes at once share the memory bus less. Built once per document, after parsing.

use super::arena::{Arena, Kind, NodeData, NodeId};

/// Arrays with fewer items get no columns: a pass over them is short anyway.
pub(super) const MIN_ITEMS: usize = 1024;
/// The first items of an array, whose keys decide its columns.
const SAMPLE: usize = 64;
/// Items a thread fills the cells of at a time.
const PART: usize = 1 << 14;

/// What a column holds for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The item is not a table, or has no such key.
    Absent,
    /// The item's value is not a numbered string: read its node.
    Node,
    /// The item's value is the string with this number ([`super::Doc::number`]).
    Number(u32),
}

/// The cell of [`Cell::Absent`].
pub const ABSENT: u16 = u16::MAX;
/// The cell of [`Cell::Node`]; any other cell is [`Cell::Number`].
pub const NODE: u16 = 0;

/// One column, read by item position.
#[derive(Debug, Clone, Copy)]
pub struct Column<'d>(&'d [u16]);

impl<'d> Column<'d> {
    /// The cells, for a pass that reads them in order: [`ABSENT`], [`NODE`], or the
    /// number.
    pub fn cells(&self) -> &'d [u16] {
        self.0
    }

    #[inline]
    pub fn get(&self, i: usize) -> Cell {
        match self.0.get(i).copied().unwrap_or(ABSENT) {
            ABSENT => Cell::Absent,
            NODE => Cell::Node,
            n => Cell::Number(u32::from(n)),
        }
    }
}

/// A column's place in [`Columns`]; meaningless in another document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnId(u32);

/// Every column of a document, by array node and key.
#[derive(Debug, Default)]
pub(super) struct Columns {
    by: hashbrown::HashMap<(NodeId, u32), ColumnId>,
    cols: Vec<Box<[u16]>>,
}

impl Columns {
    /// Columns for arrays of at least [`MIN_ITEMS`] items, for each key that at least
    /// half of the array's first [`SAMPLE`] items hold as a numbered string. All
    /// columns together hold at most two cells per node of the document, so they take
    /// at most a sixth of the nodes' memory (24 bytes a node), whatever the estate.
    pub(super) fn build(arena: &Arena) -> Self {
        Columns::build_within(arena, 2 * arena.nodes.len())
    }

    /// [`Columns::build`] with room for `room` cells, those of columns dropped after
    /// filling included: the most the columns ever hold at once.
    fn build_within(arena: &Arena, mut room: usize) -> Self {
        let mut columns = Columns::default();
        for (id, node) in arena.nodes.iter().enumerate() {
            if node.kind() != Kind::Array {
                continue;
            }
            let Some(items) = arena.array(id as NodeId) else {
                continue;
            };
            if items.len() >= MIN_ITEMS {
                columns.add_array(arena, id as NodeId, items, &mut room);
            }
        }
        columns
    }

    fn add_array(&mut self, arena: &Arena, array: NodeId, items: &[NodeId], room: &mut usize) {
        use rayon::prelude::*;
        // The keys worth a column, from the first items: the tables of one array
        // mostly share their keys.
        let sample = &items[..SAMPLE.min(items.len())];
        let (mut seen, mut of) = (Vec::new(), hashbrown::HashMap::new());
        let mut counts: Vec<usize> = Vec::new();
        let mut places = Places::default();
        for &item in sample {
            let place = |key| {
                let next = seen.len();
                let at = *of.entry(key).or_insert(next);
                if at == next {
                    seen.push(key);
                }
                at
            };
            places.walk(arena, item, place, |at, cell| {
                if counts.len() <= at {
                    counts.resize(at + 1, 0);
                }
                counts[at] += usize::from(cell != NODE);
            });
        }
        let mut keys = Vec::new();
        for (slot, &n) in counts.iter().enumerate() {
            if 2 * n >= sample.len() && *room >= items.len() {
                *room -= items.len();
                keys.push(seen[slot]);
            }
        }
        if keys.is_empty() {
            return;
        }
        let mut cols: Vec<Vec<u16>> = keys.iter().map(|_| vec![ABSENT; items.len()]).collect();
        // Filled in parts on the pool's threads, each part a range of items and its
        // cells in every column.
        let parts = items.len().div_ceil(PART);
        let mut cells: Vec<Vec<&mut [u16]>> = (0..parts).map(|_| Vec::new()).collect();
        for col in &mut cols {
            for (p, cells_of_part) in col.chunks_mut(PART).enumerate() {
                cells[p].push(cells_of_part);
            }
        }
        let width = keys.len();
        let keys = &keys;
        let numbered = cells
            .into_par_iter()
            .zip(items.par_chunks(PART))
            .map(|(mut cols, items)| {
                let mut places = Places::default();
                let mut numbered = vec![0; width];
                let place = |key| keys.iter().position(|&k| k == key).unwrap_or(NOWHERE);
                for (i, &item) in items.iter().enumerate() {
                    places.walk(arena, item, place, |k, cell| {
                        cols[k][i] = cell;
                        numbered[k] += usize::from(cell != NODE);
                    });
                }
                numbered
            })
            .reduce(
                || vec![0; width],
                |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect(),
            );
        // A key whose later values are mostly not numbered (names: each piece of a
        // file numbers its first values of every key) would send most entries to
        // their nodes anyway.
        for ((k, col), n) in keys.iter().zip(cols).zip(numbered) {
            if 2 * n < items.len() {
                continue;
            }
            let id = ColumnId(self.cols.len() as u32);
            self.cols.push(col.into_boxed_slice());
            self.by.insert((array, *k), id);
        }
    }

    pub(super) fn find(&self, array: NodeId, key: u32) -> Option<ColumnId> {
        self.by.get(&(array, key)).copied()
    }

    #[cfg(test)]
    pub(super) fn cells(&self) -> usize {
        self.cols.iter().map(|c| c.len()).sum()
    }

    pub(super) fn get(&self, id: ColumnId) -> Column<'_> {
        Column(self.cols.get(id.0 as usize).map_or(&[], |c| &c[..]))
    }
}

/// Where the key at each child position of the table before was placed: the tables
/// of one array mostly list their keys in one order, so each key's place is found
/// once, not once per table.
#[derive(Debug, Default)]
struct Places(Vec<(u32, usize)>);

/// A key with no place.
const NOWHERE: usize = usize::MAX;

impl Places {
    /// Calls `f` with the place of each key of table `item` (`place` gives a key not
    /// where it was, [`NOWHERE`] for none) and what a column holds for its value;
    /// nothing when `item` is not a table.
    fn walk(
        &mut self,
        arena: &Arena,
        item: NodeId,
        mut place: impl FnMut(u32) -> usize,
        mut f: impl FnMut(usize, u16),
    ) {
        let Some(kids) = arena.kids(item) else {
            return;
        };
        for (pos, c) in kids.ids().enumerate() {
            let node = &arena.nodes[c as usize];
            let at = match self.0.get(pos) {
                Some(&(k, at)) if k == node.key => at,
                _ => {
                    let at = place(node.key);
                    if self.0.len() <= pos {
                        self.0.resize(pos + 1, (u32::MAX, NOWHERE));
                    }
                    self.0[pos] = (node.key, at);
                    at
                }
            };
            if at != NOWHERE {
                f(at, cell(node));
            }
        }
    }
}

/// What a column holds for a value node.
fn cell(node: &NodeData) -> u16 {
    match node.number() {
        // Numbers stay below `ABSENT` (see `values::MAX`); one that did not would be
        // read from its node.
        Some(n) => u16::try_from(n)
            .ok()
            .filter(|&n| n != ABSENT)
            .unwrap_or(NODE),
        None => NODE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::{parse, Doc, Source, ROOT};
    use std::sync::Arc;

    fn doc(text: String) -> Doc {
        parse(Arc::new(Source::new("e.toml", text))).unwrap()
    }

    #[test]
    fn a_cell_says_what_the_item_s_node_says() {
        let mut t = String::new();
        for i in 0..MIN_ITEMS + 10 {
            t += "[[c]]\n";
            t += [
                "os = \"x86\"\n",
                "os = 3\n",
                "os = \"a\\tb\"\n",
                "",
                "os = \"ia64\"\n",
                "os = \"x86\"\n",
                "os = \"ia64\"\n",
            ][i % 7];
            t += "arch = \"x\"\n";
        }
        let doc = doc(t);
        let array = doc.get(ROOT, "c").unwrap();
        let os = doc.key_id("os").unwrap();
        let column = doc.column(doc.column_of(array, os).unwrap());
        let items = doc.children(array);
        for (i, &item) in items.iter().enumerate() {
            let want = match doc.get_key(item, os) {
                None => Cell::Absent,
                Some(v) => doc.number(v).map_or(Cell::Node, Cell::Number),
            };
            assert_eq!(column.get(i), want, "item {i}");
        }
        assert_eq!(column.get(items.len()), Cell::Absent, "past the end");
        assert!(matches!(column.get(0), Cell::Number(_)));
        assert_eq!(column.get(1), Cell::Node);
        assert_eq!(column.get(2), Cell::Node, "an escaped string has no number");
    }

    #[test]
    fn only_keys_most_items_hold_as_numbered_strings_get_columns() {
        // Small arrays get none; distinct names are numbered only up to a count per
        // key, so most of 3,000 have no number.
        let small: String = (0..MIN_ITEMS - 1).map(|_| "[[c]]\nos = \"x\"\n").collect();
        let d = doc(small);
        let os = d.key_id("os").unwrap();
        assert!(d.column_of(d.get(ROOT, "c").unwrap(), os).is_none());
        let names: String = (0..3000)
            .map(|i| format!("[[c]]\nname = \"n-{i}\"\nos = \"x\"\n"))
            .collect();
        let d = doc(names);
        let c = d.get(ROOT, "c").unwrap();
        assert!(d.column_of(c, d.key_id("os").unwrap()).is_some());
        assert!(d.column_of(c, d.key_id("name").unwrap()).is_none());
    }

    #[test]
    fn columns_never_hold_more_than_two_cells_a_node() {
        // The first items name forty numbered keys, the rest none: the columns the
        // first items ask for are cut to the room, then dropped as mostly empty.
        let mut t = String::from("c = [");
        for i in 0..SAMPLE {
            let keys: Vec<String> = (0..40).map(|k| format!("k{k} = \"v{}\"", i % 2)).collect();
            t += &format!("{{ {} }}, ", keys.join(", "));
        }
        for _ in 0..5000 {
            t += "{}, ";
        }
        t += "]\n";
        let d = doc(t);
        let (cells, nodes) = d.column_cells();
        assert!(cells <= 2 * nodes, "{cells} cells for {nodes} nodes");
        assert_eq!(cells, 0, "every column is mostly empty");
        // Every key the items share gets a column while there is room.
        let wide: String = (0..MIN_ITEMS)
            .map(|_| {
                let keys: String = (0..30).map(|k| format!("k{k} = \"v\"\n")).collect();
                format!("[[w]]\n{keys}")
            })
            .collect();
        let d = doc(wide);
        assert_eq!(d.column_cells().0, 30 * MIN_ITEMS);
        let cut = Columns::build_within(d.arena(), 10 * MIN_ITEMS + 5);
        assert_eq!(cut.cells(), 10 * MIN_ITEMS);
        let w = d.get(ROOT, "w").unwrap();
        let first = cut.find(w, d.key_id("k0").unwrap().0);
        assert!(first.is_some(), "the first keys get theirs");
        assert!(cut.find(w, d.key_id("k29").unwrap().0).is_none());
    }
}

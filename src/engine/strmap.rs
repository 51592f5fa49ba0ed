//! A map from the string values of one key of estate tables to small integers, that
//! stores no strings: entries are found by hash and confirmed against the arena.
//! Indexing a million clients by name then costs no allocation per client.

use crate::estate::values::hash;
use crate::estate::{Doc, KeyId, NodeId};
use hashbrown::HashTable;

/// The table key whose values are mapped (numbered in the one document the map is
/// used with; `None` when no table there has it), and per value one `u32`: its first entry,
/// or (for a grouping map) its slot, with the slot's first entry kept beside; and the
/// value's own node, so that a confirmation reads its string at once rather than
/// finding the key in the entry again. Eight bytes a value; the hash is recomputed
/// from the arena when the table grows.
#[derive(Debug, Clone)]
pub struct StrMap {
    key: Option<KeyId>,
    table: HashTable<(u32, NodeId)>,
    /// The first entry of each slot, for a grouping map.
    firsts: Option<Vec<NodeId>>,
    hash: fn(&str) -> u64,
}

impl StrMap {
    /// A map from a value to its first entry, with room for `capacity` values, so a
    /// map over a known set never grows.
    pub fn with_capacity(key: Option<KeyId>, capacity: usize) -> Self {
        StrMap {
            key,
            table: HashTable::with_capacity(capacity),
            firsts: None,
            hash,
        }
    }

    /// A map from a value to the slot it was first given.
    pub fn grouping(key: Option<KeyId>, capacity: usize) -> Self {
        StrMap {
            firsts: Some(Vec::new()),
            ..StrMap::with_capacity(key, capacity)
        }
    }

    /// The string value of this map's key in `entry`, with the value's node; `at` is
    /// where the key was in the entry before ([`Doc::get_key_at`]).
    pub fn value_of<'d>(
        &self,
        doc: &'d Doc,
        entry: NodeId,
        at: &mut u32,
    ) -> Option<(NodeId, &'d str)> {
        let v = doc.get_key_at(entry, self.key?, at)?;
        Some((v, doc.str_of(v)?))
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The first entry holding `s`, and its slot (for a map that is not grouping, the
    /// entry again).
    pub fn get(&self, doc: &Doc, s: &str) -> Option<(NodeId, u32)> {
        let firsts = self.firsts.as_deref();
        self.table
            .find((self.hash)(s), |&(_, v)| doc.str_of(v) == Some(s))
            .map(|&(item, _)| (entry_of(firsts, item), item))
    }

    /// Records `entry` under its value `(node, s)` ([`StrMap::value_of`]) (with
    /// `slot`, for a grouping map, which must be the next slot) unless `s` is present;
    /// returns the slot `s` maps to.
    pub fn insert(
        &mut self,
        doc: &Doc,
        entry: NodeId,
        (node, s): (NodeId, &str),
        slot: u32,
    ) -> u32 {
        let StrMap {
            table,
            firsts,
            hash,
            ..
        } = self;
        // One hash and one probe: found, or the place to put it.
        let found = table.entry(
            hash(s),
            |&(_, v)| doc.str_of(v) == Some(s),
            |&(_, v)| hash(doc.str_of(v).unwrap_or_default()),
        );
        match found {
            hashbrown::hash_table::Entry::Occupied(e) => e.get().0,
            hashbrown::hash_table::Entry::Vacant(v) => {
                let item = match firsts {
                    Some(f) => {
                        debug_assert_eq!(f.len(), slot as usize);
                        f.push(entry);
                        slot
                    }
                    None => entry,
                };
                v.insert((item, node));
                item
            }
        }
    }
}

fn entry_of(firsts: Option<&[NodeId]>, item: u32) -> NodeId {
    firsts.map_or(item, |f| f[item as usize])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::{parse, Source, ROOT};
    use std::sync::Arc;

    #[test]
    fn maps_values_to_first_entries_and_slots() {
        let text = "[[c]]\nn = \"a\"\n[[c]]\nn = \"b\"\n[[c]]\nn = \"a\"\n[[c]]\nx = 1\n";
        let doc = parse(Arc::new(Source::new("t", text.into()))).unwrap();
        let entries = doc.children(doc.get(ROOT, "c").unwrap());
        let mut map = StrMap::grouping(doc.key_id("n"), 0);
        let mut firsts = StrMap::with_capacity(doc.key_id("n"), 4);
        let mut slots = Vec::new();
        for &e in &entries {
            if let Some(v) = map.value_of(&doc, e, &mut 0) {
                slots.push(map.insert(&doc, e, v, map.len() as u32));
                firsts.insert(&doc, e, v, 0);
            }
        }
        assert_eq!(slots, [0, 1, 0]);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&doc, "a"), Some((entries[0], 0)));
        assert_eq!(map.get(&doc, "b"), Some((entries[1], 1)));
        assert_eq!(map.get(&doc, "z"), None);
        // Without slots, each value maps to its first entry.
        assert_eq!(firsts.len(), 2);
        assert_eq!(firsts.get(&doc, "a").map(|(e, _)| e), Some(entries[0]));
        assert_eq!(firsts.get(&doc, "b").map(|(e, _)| e), Some(entries[1]));
        assert_ne!(hash("ab"), hash("ba"));
    }

    #[test]
    fn different_values_with_one_hash_stay_apart() {
        let text = "[[c]]\nn = \"a\"\n[[c]]\nn = \"b\"\n[[c]]\nn = \"b\"\n";
        let doc = parse(Arc::new(Source::new("t", text.into()))).unwrap();
        let e = doc.children(doc.get(ROOT, "c").unwrap());
        let mut map = StrMap::grouping(doc.key_id("n"), 0);
        // Every value forced onto the same hash; the table grows while filled.
        map.hash = |_| 7;
        let v = |i: usize| map.value_of(&doc, e[i], &mut 0).unwrap();
        let (a, b, b2) = (v(0), v(1), v(2));
        assert_eq!(map.insert(&doc, e[0], a, 0), 0);
        assert_eq!(map.insert(&doc, e[1], b, 1), 1);
        assert_eq!(map.insert(&doc, e[2], b2, 2), 1, "present: its first slot");
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&doc, "a"), Some((e[0], 0)));
        assert_eq!(map.get(&doc, "b"), Some((e[1], 1)));
        assert_eq!(map.get(&doc, "z"), None);
    }
}

//! A map from the string values of one key of estate tables to small integers, that
//! stores no strings: entries are found by hash and confirmed against the arena.
//! Indexing a million clients by name then costs no allocation per client.

use crate::estate::{Doc, NodeId};
use hashbrown::HashTable;

/// The table key whose values are mapped, and per value its first (entry, slot):
/// eight bytes a value, the hash recomputed from the arena when the table grows.
#[derive(Debug, Clone)]
pub struct StrMap {
    key: String,
    table: HashTable<(NodeId, u32)>,
    hash: fn(&str) -> u64,
}

/// FxHash-style: fast, and good enough with the confirmation against the arena.
pub(crate) fn hash(s: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = s.len() as u64;
    let mut chunks = s.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

impl StrMap {
    /// A map with room for `capacity` values, so a map over a known set never grows.
    pub fn with_capacity(key: &str, capacity: usize) -> Self {
        StrMap {
            key: key.to_string(),
            table: HashTable::with_capacity(capacity),
            hash,
        }
    }

    /// The string value of this map's key in `entry`.
    pub fn value_of<'d>(&self, doc: &'d Doc, entry: NodeId) -> Option<&'d str> {
        value_in(doc, &self.key, entry)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The first entry holding `s` and its slot.
    pub fn get(&self, doc: &Doc, s: &str) -> Option<(NodeId, u32)> {
        let key = &self.key;
        self.table
            .find((self.hash)(s), |&(e, _)| value_in(doc, key, e) == Some(s))
            .copied()
    }

    /// Records `entry` under its value `s` with `slot` unless `s` is present; returns
    /// the slot `s` maps to.
    pub fn insert(&mut self, doc: &Doc, entry: NodeId, s: &str, slot: u32) -> u32 {
        if let Some((_, existing)) = self.get(doc, s) {
            return existing;
        }
        let StrMap { key, table, hash } = self;
        table.insert_unique(hash(s), (entry, slot), |&(e, _)| {
            hash(value_in(doc, key, e).unwrap_or_default())
        });
        slot
    }
}

fn value_in<'d>(doc: &'d Doc, key: &str, entry: NodeId) -> Option<&'d str> {
    doc.get(entry, key).and_then(|v| doc.str_of(v))
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
        let mut map = StrMap::with_capacity("n", 0);
        let mut slots = Vec::new();
        for (i, &e) in entries.iter().enumerate() {
            if let Some(v) = map.value_of(&doc, e) {
                slots.push(map.insert(&doc, e, v, i as u32));
            }
        }
        assert_eq!(slots, [0, 1, 0]);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&doc, "a"), Some((entries[0], 0)));
        assert_eq!(map.get(&doc, "b"), Some((entries[1], 1)));
        assert_eq!(map.get(&doc, "z"), None);
        assert_ne!(hash("ab"), hash("ba"));
    }

    #[test]
    fn different_values_with_one_hash_stay_apart() {
        let text = "[[c]]\nn = \"a\"\n[[c]]\nn = \"b\"\n[[c]]\nn = \"b\"\n";
        let doc = parse(Arc::new(Source::new("t", text.into()))).unwrap();
        let e = doc.children(doc.get(ROOT, "c").unwrap());
        let mut map = StrMap::with_capacity("n", 0);
        // Every value forced onto the same hash; the table grows while filled.
        map.hash = |_| 7;
        assert_eq!(map.insert(&doc, e[0], "a", 0), 0);
        assert_eq!(map.insert(&doc, e[1], "b", 1), 1);
        assert_eq!(map.insert(&doc, e[2], "b", 2), 1);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&doc, "a"), Some((e[0], 0)));
        assert_eq!(map.get(&doc, "b"), Some((e[1], 1)));
        assert_eq!(map.get(&doc, "z"), None);
    }
}

//! A map from the string values of one key of estate tables to small integers, that
//! stores no strings: entries are found by hash and confirmed against the arena.
//! Indexing a million clients by name then costs no allocation per client.

use crate::estate::{Doc, NodeId};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The table key whose values are mapped; per hash the first (entry, slot) stored
/// inline, with no allocation per value.
#[derive(Debug, Clone, Default)]
pub struct StrMap {
    key: String,
    first: HashMap<u64, (NodeId, u32), BuildHasherDefault<PassThrough>>,
    /// Values whose hash an earlier, different value already has, per hash: only
    /// these hashes pay for a list.
    clashes: HashMap<u64, Vec<(NodeId, u32)>, BuildHasherDefault<PassThrough>>,
    len: usize,
}

/// The map's keys are hashes already.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
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
    pub fn new(key: &str) -> Self {
        StrMap {
            key: key.to_string(),
            ..StrMap::default()
        }
    }

    /// The string value of this map's key in `entry`.
    pub fn value_of<'d>(&self, doc: &'d Doc, entry: NodeId) -> Option<&'d str> {
        doc.get(entry, &self.key).and_then(|v| doc.str_of(v))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first entry holding `s` and its slot.
    pub fn get(&self, doc: &Doc, s: &str) -> Option<(NodeId, u32)> {
        self.get_hashed(doc, s, hash(s))
    }

    fn get_hashed(&self, doc: &Doc, s: &str, h: u64) -> Option<(NodeId, u32)> {
        let &(entry, slot) = self.first.get(&h)?;
        if self.value_of(doc, entry) == Some(s) {
            return Some((entry, slot));
        }
        self.clashes
            .get(&h)?
            .iter()
            .find(|(e, _)| self.value_of(doc, *e) == Some(s))
            .copied()
    }

    /// Records `entry` under its value `s` with `slot` unless `s` is present; returns
    /// the slot `s` maps to.
    pub fn insert(&mut self, doc: &Doc, entry: NodeId, s: &str, slot: u32) -> u32 {
        self.insert_hashed(doc, entry, s, slot, hash(s))
    }

    fn insert_hashed(&mut self, doc: &Doc, entry: NodeId, s: &str, slot: u32, h: u64) -> u32 {
        if let Some((_, existing)) = self.get_hashed(doc, s, h) {
            return existing;
        }
        match self.first.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.clashes.entry(h).or_default().push((entry, slot));
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((entry, slot));
            }
        }
        self.len += 1;
        slot
    }
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
        let mut map = StrMap::new("n");
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
        let mut map = StrMap::new("n");
        // Every value forced onto the same hash.
        assert_eq!(map.insert_hashed(&doc, e[0], "a", 0, 7), 0);
        assert_eq!(map.insert_hashed(&doc, e[1], "b", 1, 7), 1);
        assert_eq!(map.insert_hashed(&doc, e[2], "b", 2, 7), 1);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get_hashed(&doc, "a", 7), Some((e[0], 0)));
        assert_eq!(map.get_hashed(&doc, "b", 7), Some((e[1], 1)));
        assert_eq!(map.get_hashed(&doc, "z", 7), None);
    }
}

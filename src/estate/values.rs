//! Numbered string values. While a piece is parsed, the first distinct values of each
//! key get a number, kept in their node's unused `data` field: equal numbers mean equal
//! text, so a pass over many tables compares numbers and does not read the text of a
//! key such as `os` or `server`. A key whose values all differ (names) stops being
//! numbered early, so the numbers stay few; a value without one is read as before.

use hashbrown::HashTable;

/// Distinct values numbered under one key in one parsed piece.
const PER_KEY: u16 = 1024;
/// Numbers in one document at most: the keys worth numbering have few values, and
/// a key whose values all differ fills this with names that gain nothing.
const MAX: usize = 1 << 13;

/// The numbered texts of a piece or a document. Number 0 means "none".
#[derive(Debug, Default)]
pub(super) struct Values {
    texts: Vec<Box<str>>,
    /// Numbers, found by their text's hash.
    table: HashTable<u32>,
    /// Per key (as numbered in the piece), how many values it has numbered.
    per_key: Vec<u16>,
}

impl Values {
    /// The number of `text`, a value under `key`, numbering it while the key has room.
    pub(super) fn intern(&mut self, key: u32, text: &str) -> u32 {
        let k = key as usize;
        if self.per_key.len() <= k {
            self.per_key.resize(k + 1, 0);
        }
        if self.per_key[k] >= PER_KEY {
            return 0;
        }
        let before = self.texts.len();
        let n = self.add(text);
        if self.texts.len() > before {
            self.per_key[k] += 1;
        }
        n
    }

    /// The number of `text`, numbering it while the document has room; 0 without.
    pub(super) fn add(&mut self, text: &str) -> u32 {
        let h = hash(text);
        if let Some(n) = self.find_hashed(h, text) {
            return n;
        }
        let Values { texts, table, .. } = self;
        if texts.len() >= MAX {
            return 0;
        }
        texts.push(text.into());
        let n = texts.len() as u32;
        table.insert_unique(h, n, |&m| hash(&texts[m as usize - 1]));
        n
    }

    /// Most values are found: a look-up alone, without the room an insert needs.
    fn find_hashed(&self, h: u64, text: &str) -> Option<u32> {
        self.table
            .find(h, |&n| same(&self.texts[n as usize - 1], text))
            .copied()
    }

    /// The number of `text`, if a value has it.
    pub(super) fn find(&self, text: &str) -> Option<u32> {
        self.find_hashed(hash(text), text)
    }

    /// The numbered texts, by number from 1.
    pub(super) fn texts(&self) -> &[Box<str>] {
        &self.texts
    }

    /// One more than the highest number.
    pub(super) fn bound(&self) -> usize {
        self.texts.len() + 1
    }

    /// Drops what only numbering needs.
    pub(super) fn done(&mut self) {
        self.per_key = Vec::new();
        self.texts.shrink_to_fit();
    }
}

/// FxHash-style, a word at a time: fast, and good enough for tables that confirm
/// every hit by comparing the text.
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

/// The eight bytes of `s` from `i`.
fn word(s: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]))
}

/// `a == b`, a word at a time for the short texts values mostly are, where a call
/// to the library comparison costs more than the comparison.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a == b;
    }
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_a_number_and_full_keys_stop() {
        let mut v = Values::default();
        let a = v.intern(0, "x64");
        assert_eq!(v.intern(1, "x64"), a, "one number across keys");
        assert_ne!(v.intern(0, "ia64"), a);
        assert_eq!(v.find("ia64"), Some(2));
        assert_eq!(v.find("x86"), None);
        for i in 0..PER_KEY as usize * 2 {
            v.intern(5, &format!("name-{i}"));
        }
        assert_eq!(v.intern(5, "x64"), 0, "a full key numbers nothing more");
        assert_eq!(
            v.find(&format!("name-{}", PER_KEY - 1)),
            Some(2 + PER_KEY as u32)
        );
        assert_eq!(v.find(&format!("name-{}", PER_KEY)), None);
        assert_eq!(v.bound(), 3 + PER_KEY as usize);
    }

    #[test]
    fn texts_compare_as_strings_do() {
        let texts = [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "abcdefgi",
            "Windows 7 Professional SP1",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
            // Differing in the last byte only, and in the first only.
            if !a.is_empty() {
                let last = format!("{}#", &a[..a.len() - 1]);
                let first = format!("#{}", &a[1..]);
                assert_eq!(same(a, &last), a == last);
                assert_eq!(same(a, &first), a == first);
            }
        }
    }
}

//! Lazy queries over arrays and tables of the estate, and the indexes and groups built
//! from them. All of it runs in Rust over node ids: a query over a million clients
//! allocates no script values until a `for` loop asks for the matches. `api::query`
//! and `api::index` make them callable.

use super::budget::{self, Lent, Meter, ThisCall};
use super::context::{current_doc, to_dynamic, with_doc, Node, RhaiResult};
use super::helpers;
use super::strmap::StrMap;
use crate::estate::columns::{Cell, Column, ColumnId, ABSENT, NODE};
use crate::estate::{doc::Value as V, Doc, KeyId, NodeId};
use rhai::{Array, Dynamic, ImmutableString};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Whether the value at `id` equals a script value (strings, numbers, booleans).
fn value_eq(doc: &Doc, id: NodeId, want: &Dynamic) -> bool {
    if let Some(items) = want.read_lock::<Array>() {
        return items.iter().any(|w| value_eq(doc, id, w));
    }
    if let Some(index) = want.read_lock::<Index>() {
        return index.holds(doc, id);
    }
    if let Some(same) = want
        .read_lock::<ImmutableString>()
        .and_then(|w| doc.str_is(id, &w))
    {
        return same;
    }
    match doc.value(id) {
        V::Int(i) => want.as_int().is_ok_and(|w| w == i),
        V::Float(x) => want.as_float().is_ok_and(|w| w == x),
        V::Bool(b) => want.as_bool().is_ok_and(|w| w == b),
        V::Datetime(d) => want
            .read_lock::<ImmutableString>()
            .is_some_and(|w| w.as_str() == d.to_string()),
        _ => false,
    }
}

/// A filtered query over at least this many entries is tested in parts, in parallel,
/// when first used: see [`Query::split_matches`].
pub(crate) const SPLIT_MIN: usize = 1 << 14;

/// Entries a thread tests at a time in a split query.
const SPLIT_CHUNK: usize = 1 << 12;

/// How far ahead a pass over entries asks for an entry's node, then its children and
/// text ([`Doc::prefetch`]): a pass is mostly waiting for memory otherwise.
const FAR: usize = 16;
const NEAR: usize = 8;

/// What the parts of one split pass share: the next chunk to take, and the budget.
struct Pass {
    next: AtomicUsize,
    lent: Lent,
}

/// One filter's column in a pass over columns ([`Query::scan`]), and its answers by
/// cell: packed as `(1 + units) << 1 | hit`, 0 while not known. The node cell (0) is
/// never known; numbers are few ([`Doc::numbers`]).
struct Lane<'d> {
    cells: &'d [u16],
    answers: Vec<u64>,
    keep_equal: bool,
}

impl Lane<'_> {
    /// The packed answer for `cell` in `answers`: an absent key matches nothing and
    /// costs nothing; 0 while not known.
    #[inline]
    fn packed(answers: &[u64], cell: u16) -> u64 {
        match cell {
            ABSENT => 1 << 1,
            n => answers.get(n as usize).copied().unwrap_or(0),
        }
    }

    fn keep(&mut self, cell: u16, units: u64, hit: bool) {
        let at = cell as usize;
        if self.answers.len() <= at {
            self.answers.resize(at + 1, 0);
        }
        // Units beyond this would not fit beside the answer bit; none are that many.
        self.answers[at] = (units.min(u64::MAX >> 2) + 1) << 1 | u64::from(hit);
    }
}

/// A lazy filtered view of an array's (or table's) entries.
#[derive(Debug, Clone)]
pub struct Query {
    pub(crate) generation: u32,
    pub(crate) base: Base,
    pub(crate) filters: Vec<Filter>,
}

#[derive(Debug, Clone)]
pub(crate) enum Base {
    Empty,
    Children(NodeId),
    Ids(Arc<[NodeId]>),
}

#[derive(Debug, Clone)]
pub(crate) struct Filter {
    key: ImmutableString,
    value: Want,
    keep_equal: bool,
    /// Match these whole words inside the value (lower case; the match ignores ASCII
    /// case) instead of testing equality.
    words: Option<Arc<Words>>,
    /// `value` as a set, when it is a list.
    set: Option<Arc<ValueSet>>,
}

/// A filter's value, read once when the filter is made instead of once per entry.
#[derive(Debug, Clone)]
enum Want {
    Str(ImmutableString),
    Int(i64),
    Float(f64),
    Bool(bool),
    Index(Index),
    /// Anything else, compared by [`value_eq`].
    Other(Dynamic),
}

impl Want {
    fn of(value: Dynamic) -> Self {
        if let Some(s) = value.read_lock::<ImmutableString>() {
            return Want::Str(s.clone());
        }
        if let Some(ix) = value.read_lock::<Index>() {
            return Want::Index(ix.clone());
        }
        match (value.as_int(), value.as_float(), value.as_bool()) {
            (Ok(i), ..) => Want::Int(i),
            (_, Ok(x), _) => Want::Float(x),
            (.., Ok(b)) => Want::Bool(b),
            _ => Want::Other(value),
        }
    }

    /// [`value_eq`] with the value already read; `number` is a string's number in
    /// `doc` ([`Prep`]).
    fn eq(&self, doc: &Doc, id: NodeId, number: Option<u32>) -> bool {
        match self {
            Want::Str(w) => {
                if let Some(n) = doc.number(id) {
                    return Some(n) == number;
                }
                if let Some(same) = doc.str_is(id, w) {
                    return same;
                }
            }
            Want::Index(ix) => return ix.holds(doc, id),
            _ => {}
        }
        match (self, doc.value(id)) {
            (Want::Str(w), V::Datetime(d)) => w.as_str() == d.to_string(),
            (Want::Int(w), V::Int(i)) => *w == i,
            (Want::Float(w), V::Float(x)) => *w == x,
            (Want::Bool(w), V::Bool(b)) => *w == b,
            (Want::Other(w), _) => value_eq(doc, id, w),
            _ => false,
        }
    }
}

/// Whether `needle` (lower case) occurs in `hay`, ignoring ASCII case, with no
/// letter or digit directly before or after it. Linear in both lengths.
fn contains_words(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return false;
    }
    let whole = |start: usize| {
        let end = start + n.len();
        (start == 0 || !h[start - 1].is_ascii_alphanumeric())
            && (end == h.len() || !h[end].is_ascii_alphanumeric())
    };
    if let Some(starts) = WordStarts::of(hay) {
        return starts.contains(hay, needle);
    }
    if n.len() <= 32 {
        // Short needles: comparing at each start is linear already. Only starts on the
        // needle's first letter (either case) are compared, found by `memchr`.
        let (lower, upper) = (n[0].to_ascii_lowercase(), n[0].to_ascii_uppercase());
        return memchr::memchr2_iter(lower, upper, &h[..=h.len() - n.len()]).any(|start| {
            (start == 0 || !h[start - 1].is_ascii_alphanumeric())
                && h[start..start + n.len()].eq_ignore_ascii_case(n)
                && whole(start)
        });
    }
    // Knuth-Morris-Pratt: every occurrence, overlapping ones too, in linear time.
    let eq = |a: u8, b: u8| a.eq_ignore_ascii_case(&b);
    let mut border = vec![0usize; n.len()];
    let mut k = 0;
    for i in 1..n.len() {
        while k > 0 && !eq(n[i], n[k]) {
            k = border[k - 1];
        }
        if eq(n[i], n[k]) {
            k += 1;
        }
        border[i] = k;
    }
    k = 0;
    for (i, &b) in h.iter().enumerate() {
        while k > 0 && !eq(b, n[k]) {
            k = border[k - 1];
        }
        if eq(b, n[k]) {
            k += 1;
        }
        if k == n.len() {
            if whole(i + 1 - n.len()) {
                return true;
            }
            k = border[k - 1];
        }
    }
    false
}

/// Where a word may start in a short text (at most 64 bytes, an `os` or a name): at
/// its start and after each byte that is not a letter or digit. Found once, they serve
/// every needle of a list, each then compared at a few places instead of at every byte.
struct WordStarts {
    at: [u8; 64],
    len: usize,
}

impl WordStarts {
    fn of(hay: &str) -> Option<Self> {
        let h = hay.as_bytes();
        if h.len() > 64 {
            return None;
        }
        let mut starts = WordStarts {
            at: [0; 64],
            len: 0,
        };
        for i in 0..h.len() {
            if i == 0 || !h[i - 1].is_ascii_alphanumeric() {
                starts.at[starts.len] = i as u8;
                starts.len += 1;
            }
        }
        Some(starts)
    }

    /// [`contains_words`] for the text these starts were found in.
    fn contains(&self, hay: &str, needle: &str) -> bool {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.is_empty() {
            return false;
        }
        for &start in &self.at[..self.len] {
            let (start, end) = (start as usize, start as usize + n.len());
            if end > h.len() {
                break;
            }
            if same_ignoring_case(&h[start..end], n)
                && (end == h.len() || !h[end].is_ascii_alphanumeric())
            {
                return true;
            }
        }
        false
    }
}

/// One text searched for several words: a short text's word starts are found once
/// and serve every needle, a long one is searched by [`contains_words`].
pub(crate) struct Hay<'a> {
    text: &'a str,
    starts: Option<WordStarts>,
}

impl<'a> Hay<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Hay {
            text,
            starts: WordStarts::of(text),
        }
    }

    /// [`contains_words`] on this text.
    pub(crate) fn has(&self, needle: &str) -> bool {
        match &self.starts {
            Some(starts) => starts.contains(self.text, needle),
            None => contains_words(self.text, needle),
        }
    }
}

/// `a == b` ignoring ASCII case, for slices of one length. A plain loop: the slice
/// `eq_ignore_ascii_case` lowers every byte where this stops at the first difference.
fn same_ignoring_case(a: &[u8], b: &[u8]) -> bool {
    for i in 0..a.len() {
        let (x, y) = (a[i], b[i]);
        // Two cases of one ASCII letter differ only in 0x20; no other pair does.
        if x != y && (x ^ y != 0x20 || !(x | 0x20).is_ascii_lowercase()) {
            return false;
        }
    }
    true
}

/// The work [`contains_words`] does on `hay`, in units for [`budget::charge`].
pub(crate) fn scan_cost(hay: &str) -> u64 {
    1 + hay.len() as u64 / 1024
}

/// The values of a `select(key, [..])` list: strings and integers hashed, so a
/// list of 100,000 names costs one lookup per entry; anything else compared in turn.
#[derive(Debug, Default)]
pub(crate) struct ValueSet {
    // Seeded fast hashers: every entry of a filtered pass is looked up here.
    strs: hashbrown::HashSet<String>,
    ints: hashbrown::HashSet<i64>,
    rest: Vec<Dynamic>,
}

impl ValueSet {
    fn of(items: &Array) -> Self {
        let mut set = ValueSet::default();
        for item in items {
            if let Some(s) = item.read_lock::<ImmutableString>() {
                set.strs.insert(s.to_string());
            } else if let Ok(i) = item.as_int() {
                set.ints.insert(i);
            } else {
                set.rest.push(item.clone());
            }
        }
        set
    }

    fn contains(&self, doc: &Doc, id: NodeId) -> bool {
        let hit = match doc.value(id) {
            V::Str(s) => self.strs.contains(s.as_str()),
            V::Raw(s) => self.strs.contains(s),
            V::Datetime(d) => self.strs.contains(&d.to_string()),
            V::Int(i) => self.ints.contains(&i),
            _ => false,
        };
        hit || self.rest.iter().any(|w| value_eq(doc, id, w))
    }
}

/// The words of a `select_words` filter (one string or an array of them), lowered once,
/// each with its first sixteen bytes packed so that a short text tests a word at a word
/// start with one comparison of integers.
#[derive(Debug)]
pub(crate) struct Words {
    list: Box<[String]>,
    /// Per word: its first (up to) sixteen bytes, little-endian, and the mask covering
    /// them.
    heads: Box<[(u128, u128)]>,
    /// The bytes some word starts with: a text is compared only at word starts on one.
    firsts: [bool; 256],
}

/// The bytes of a word packed in [`Words`].
const HEAD: usize = 16;

impl Words {
    fn of(want: &Dynamic) -> Self {
        let list: Box<[String]> = match want.read_lock::<Array>() {
            Some(items) => items.iter().map(|w| w.to_string().to_lowercase()).collect(),
            None => Box::new([want.to_string().to_lowercase()]),
        };
        let heads = list
            .iter()
            .map(|w| {
                let mut head = [0u8; HEAD];
                let n = w.len().min(HEAD);
                head[..n].copy_from_slice(&w.as_bytes()[..n]);
                let mask = if n == HEAD {
                    u128::MAX
                } else {
                    (1u128 << (8 * n)) - 1
                };
                (u128::from_le_bytes(head), mask)
            })
            .collect();
        let mut firsts = [false; 256];
        for w in &list[..] {
            if let Some(&b) = w.as_bytes().first() {
                firsts[usize::from(b)] = true;
            }
        }
        Words {
            list,
            heads,
            firsts,
        }
    }

    /// The units to charge for searching the string numbered `n` in `doc`, one per
    /// word tried as `has_words` charges, and whether a word was found; `None` when no
    /// string has that number.
    fn in_number(&self, doc: &Doc, n: u32) -> Option<(u64, bool)> {
        let s = doc.number_text(n)?;
        let (tried, hit) = self.find(s);
        Some((tried as u64 * scan_cost(s), hit))
    }

    /// Whether one of the words is in `text` ([`contains_words`]), and how many words
    /// were tried to find out: up to the first found, or all.
    fn find(&self, text: &str) -> (usize, bool) {
        let h = text.as_bytes();
        if h.len() > 64 {
            let found = self.list.iter().position(|w| contains_words(text, w));
            return found.map_or((self.list.len(), false), |i| (i + 1, true));
        }
        // The text lowered, with room to read a head at any start.
        let mut low = [0u8; 64 + HEAD];
        let (mut starts, mut n, mut in_word) = ([0u8; 64], 0, false);
        for (i, &b) in h.iter().enumerate() {
            let l = b.to_ascii_lowercase();
            low[i] = l;
            if !in_word && self.firsts[usize::from(l)] {
                starts[n] = i as u8;
                n += 1;
            }
            in_word = b.is_ascii_alphanumeric();
        }
        for (k, (w, &(head, mask))) in self.list.iter().zip(&self.heads[..]).enumerate() {
            let w = w.as_bytes();
            if w.is_empty() {
                continue;
            }
            let rest = w.len().min(HEAD);
            for &start in &starts[..n] {
                let (start, end) = (start as usize, start as usize + w.len());
                if end > h.len() {
                    break;
                }
                let at =
                    u128::from_le_bytes(low[start..start + HEAD].try_into().unwrap_or_default());
                if at & mask == head
                    && low[start + rest..end] == w[rest..]
                    && (end == h.len() || !h[end].is_ascii_alphanumeric())
                {
                    return (k + 1, true);
                }
            }
        }
        (self.list.len(), false)
    }
}

/// What a pass over entries remembers from one entry to the next. The word searches
/// it made, by filter and text: a key such as `os` holds few distinct values over many
/// entries, and each is searched for once; remembered answers give the same result and
/// the same units to charge as a new search. And where in its table each filter's key
/// was last found ([`Doc::get_key_at`]).
pub(crate) struct Memo<'d> {
    seen: hashbrown::HashMap<(usize, &'d str), (usize, bool)>,
    /// The same by the text's number ([`Doc::number`]): units to charge, and the answer.
    numbered: hashbrown::HashMap<(usize, u32), (u64, bool)>,
    /// In a pass over columns, each filter's answers by number
    /// ([`Query::scan`]).
    lanes: Vec<Vec<u64>>,
    /// At most this many are kept: a key whose values all differ gains nothing.
    room: usize,
    at: Vec<u32>,
}

impl Default for Memo<'_> {
    fn default() -> Self {
        Memo {
            seen: hashbrown::HashMap::new(),
            numbered: hashbrown::HashMap::new(),
            lanes: Vec::new(),
            room: 1 << 10,
            at: Vec::new(),
        }
    }
}

impl<'d> Memo<'d> {
    /// A memo for one entry: searches are made afresh.
    fn off() -> Self {
        Memo {
            room: 0,
            ..Memo::default()
        }
    }

    /// [`Words::find`] for filter `filter`'s `words` in `text`.
    fn find(&mut self, filter: usize, words: &Words, text: &'d str) -> (usize, bool) {
        if self.room == 0 {
            return words.find(text);
        }
        if let Some(&answer) = self.seen.get(&(filter, text)) {
            return answer;
        }
        let answer = words.find(text);
        if self.seen.len() < self.room {
            self.seen.insert((filter, text), answer);
        }
        answer
    }

    /// Filter `filter`'s `words` searched in the string at `v`: units to charge and
    /// the answer, `None` when `v` holds no string.
    fn search(
        &mut self,
        doc: &'d Doc,
        filter: usize,
        words: &Words,
        v: NodeId,
    ) -> Option<(u64, bool)> {
        if let Some(n) = doc.number(v).filter(|_| self.room > 0) {
            return self.by_number(filter, n, || words.in_number(doc, n));
        }
        let s = doc.str_of(v)?;
        let (tried, hit) = self.find(filter, words, s);
        Some((tried as u64 * scan_cost(s), hit))
    }

    /// Filter `filter`'s answer for the string numbered `n` (units to charge, and
    /// whether the value matched): the one kept, else `find`'s, kept while there is
    /// room. `None` when `find` cannot tell.
    fn by_number(
        &mut self,
        filter: usize,
        n: u32,
        find: impl FnOnce() -> Option<(u64, bool)>,
    ) -> Option<(u64, bool)> {
        if let Some(&answer) = self.numbered.get(&(filter, n)) {
            return Some(answer);
        }
        let answer = find()?;
        if self.numbered.len() < self.room {
            self.numbered.insert((filter, n), answer);
        }
        Some(answer)
    }
}

/// A filter as one document numbers it: its key, and its value's number when the
/// value is a string ([`Doc::number_of`]), found once per pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prep {
    key: Option<KeyId>,
    number: Option<u32>,
    /// The key's column over the base array's items ([`Doc::column_of`]).
    column: Option<ColumnId>,
}

impl Query {
    pub(crate) fn empty() -> Self {
        Query {
            generation: 0,
            base: Base::Empty,
            filters: Vec::new(),
        }
    }

    pub(crate) fn single(node: Node) -> Self {
        Query::listed(node.generation, vec![node.id])
    }

    /// A query of exactly these entries, in this order.
    fn listed(generation: u32, ids: Vec<NodeId>) -> Self {
        Query {
            generation,
            base: Base::Ids(ids.into()),
            filters: Vec::new(),
        }
    }

    pub(crate) fn of(node: Node) -> Self {
        Query {
            generation: node.generation,
            base: Base::Children(node.id),
            filters: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, key: ImmutableString, value: Dynamic, keep_equal: bool) -> Self {
        let set = value
            .read_lock::<Array>()
            .map(|items| Arc::new(ValueSet::of(&items)));
        self.filters.push(Filter {
            key,
            value: Want::of(value),
            keep_equal,
            words: None,
            set,
        });
        self
    }

    pub(crate) fn with_words(
        mut self,
        key: ImmutableString,
        value: Dynamic,
        keep_equal: bool,
    ) -> Self {
        self.filters.push(Filter {
            key,
            words: Some(Arc::new(Words::of(&value))),
            value: Want::of(value),
            keep_equal,
            set: None,
        });
        self
    }

    /// The filters as `doc` numbers them (their keys, and string values), found once
    /// for a pass over entries.
    fn prep(&self, doc: &Doc) -> Vec<Prep> {
        let array = match self.base {
            Base::Children(id) => Some(id),
            _ => None,
        };
        self.filters
            .iter()
            .map(|f| {
                let key = doc.key_id(&f.key);
                Prep {
                    key,
                    number: match &f.value {
                        Want::Str(w) => doc.number_of(w),
                        _ => None,
                    },
                    column: array.zip(key).and_then(|(a, k)| doc.column_of(a, k)),
                }
            })
            .collect()
    }

    /// Whether entry `id`, the `pos`th of the base, passes every filter; `keys` are
    /// [`Query::prep`] for `doc`, and `memo` what the pass remembers from the entries
    /// before.
    fn matches<'d>(
        &self,
        doc: &'d Doc,
        keys: &[Prep],
        id: NodeId,
        pos: usize,
        meter: &mut impl Meter,
        memo: &mut Memo<'d>,
    ) -> RhaiResult<bool> {
        for (i, (f, prep)) in self.filters.iter().zip(keys).enumerate() {
            if f.test(doc, i, prep, id, pos, meter, memo)? != f.keep_equal {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Calls `f` with each matching id, in order, until it returns false.
    pub(crate) fn each(&self, mut f: impl FnMut(&Doc, NodeId) -> bool) -> RhaiResult<()> {
        if matches!(self.base, Base::Empty) {
            return Ok(());
        }
        with_doc(self.generation, |doc| {
            let base = self.base_ids(doc);
            let keys = self.prep(doc);
            let mut memo = Memo::default();
            let all = 0..base.len();
            self.scan(doc, &keys, &base, all, &mut ThisCall, &mut memo, |id| {
                f(doc, id)
            })
        })
    }

    /// Tests the base's entries at positions `range` in order, a unit charged for
    /// each, and calls `f` with each match until it returns false. When every filter's
    /// key has a column ([`Doc::column_of`]), an entry's node is read only for a value
    /// its column does not hold.
    #[allow(clippy::too_many_arguments)]
    fn scan<'d>(
        &self,
        doc: &'d Doc,
        keys: &[Prep],
        base: &BaseIds,
        range: std::ops::Range<usize>,
        meter: &mut impl Meter,
        memo: &mut Memo<'d>,
        mut f: impl FnMut(NodeId) -> bool,
    ) -> RhaiResult<()> {
        let columns: Option<Vec<Column<'d>>> = keys
            .iter()
            .map(|p| p.column.map(|c| doc.column(c)))
            .collect();
        // Columns cover their array's items: a range past them is read from nodes.
        let covered = |c: &Vec<Column<'d>>| c.iter().all(|c| c.cells().len() >= range.end);
        let usable = columns.filter(|c| !c.is_empty() && covered(c));
        let Some(columns) = usable else {
            for pos in range {
                let Some(id) = base.get(pos) else { break };
                self.fetch_ahead(doc, base, pos);
                meter.charge(1)?;
                if self.matches(doc, keys, id, pos, meter, memo)? && !f(id) {
                    break;
                }
            }
            return Ok(());
        };
        // Each filter's answers, kept by the memo from one part of a split pass to
        // the next.
        let mut kept = std::mem::take(&mut memo.lanes).into_iter();
        let mut lanes: Vec<Lane<'d>> = columns
            .iter()
            .zip(&self.filters)
            .map(|(c, f)| Lane {
                cells: c.cells(),
                answers: kept.next().unwrap_or_default(),
                keep_equal: f.keep_equal,
            })
            .collect();
        // Units are charged a batch of entries at a time: the same total, the limits
        // still checked every thousand entries or so.
        let mut spent = 0;
        let (mut pos, end) = (range.start, range.end);
        'entries: while pos < end {
            // The first filter in a tight loop, as long as its answers are known and
            // turn entries away: most entries end here.
            let known = {
                let Lane {
                    cells,
                    answers,
                    keep_equal,
                } = &lanes[0];
                let answers = &answers[..];
                loop {
                    if spent >= 1 << 10 {
                        meter.charge(std::mem::take(&mut spent))?;
                    }
                    spent += 1;
                    let packed = Lane::packed(answers, cells[pos]);
                    if packed == 0 {
                        break false;
                    }
                    spent += (packed >> 1) - 1;
                    if (packed & 1 == 1) == *keep_equal {
                        break true;
                    }
                    pos += 1;
                    if pos == end {
                        break 'entries;
                    }
                }
            };
            let first = usize::from(known);
            for i in first..lanes.len() {
                let lane = &mut lanes[i];
                let keep_equal = lane.keep_equal;
                let hit = match self
                    .test_lane(doc, &keys[i], i, lane, base, pos, &mut spent, meter, memo)?
                {
                    Some(hit) => hit,
                    None => break 'entries,
                };
                if hit != keep_equal {
                    pos += 1;
                    continue 'entries;
                }
            }
            let Some(id) = base.get(pos) else { break };
            if !f(id) {
                break;
            }
            pos += 1;
        }
        memo.lanes = lanes.into_iter().map(|l| l.answers).collect();
        meter.charge(spent)?;
        Ok(())
    }

    /// Filter `i`'s answer for the `pos`th entry, from its column ([`Lane`]) when its
    /// answer for the cell is known or can be found from the number alone, else from
    /// the entry's node; units go to `spent`, or to `meter` when the node is read.
    /// `None` when the base has no such entry.
    #[allow(clippy::too_many_arguments)]
    fn test_lane<'d>(
        &self,
        doc: &'d Doc,
        prep: &Prep,
        i: usize,
        lane: &mut Lane<'d>,
        base: &BaseIds,
        pos: usize,
        spent: &mut u64,
        meter: &mut impl Meter,
        memo: &mut Memo<'d>,
    ) -> RhaiResult<Option<bool>> {
        let cell = lane.cells[pos];
        let packed = Lane::packed(&lane.answers, cell);
        if packed != 0 {
            *spent += (packed >> 1) - 1;
            return Ok(Some(packed & 1 == 1));
        }
        let filter = &self.filters[i];
        if cell != NODE {
            if let Some((units, hit)) = filter.number_answer(doc, u32::from(cell), prep) {
                lane.keep(cell, units, hit);
                *spent += units;
                return Ok(Some(hit));
            }
        }
        let Some(id) = base.get(pos) else {
            return Ok(None);
        };
        meter.charge(std::mem::take(spent))?;
        filter.test(doc, i, prep, id, pos, meter, memo).map(Some)
    }

    /// The matches of a filtered query over at least [`SPLIT_MIN`] entries, found before
    /// anything uses them, on as many threads as the run's pool has, in chunks of
    /// [`SPLIT_CHUNK`] entries; `None` for smaller or unfiltered queries, which are
    /// tested one entry at a time as they are used. Whether a query is split depends on
    /// its size only, so a rule counts the same operations and reports the same findings
    /// on any number of threads: the other parts go to idle threads of the run's pool
    /// ([`helpers`]).
    fn split_matches(&self) -> Option<RhaiResult<Vec<NodeId>>> {
        if self.filters.is_empty() || matches!(self.base, Base::Empty) {
            return None;
        }
        let doc = current_doc().filter(|d| d.generation == self.generation)?;
        let len = self.base_ids(&doc).len();
        if len < SPLIT_MIN {
            return None;
        }
        let keys = self.prep(&doc);
        // Chunks taken in turn by whichever thread is free: a thread the system
        // pauses, or one sharing its core with another rule, holds up no fixed half.
        let chunks = len.div_ceil(SPLIT_CHUNK);
        let workers = rayon::current_num_threads().clamp(1, chunks);
        let shared = Arc::new(Pass {
            next: AtomicUsize::new(0),
            lent: Lent::of_this_call(),
        });
        let (query, pass) = (self.clone(), shared.clone());
        let work = move || -> RhaiResult<Vec<(usize, Vec<NodeId>)>> {
            let base = query.base_ids(&doc);
            let mut meter = pass.lent.meter();
            let mut memo = Memo::default();
            let mut done = Vec::new();
            loop {
                let c = pass.next.fetch_add(1, Relaxed);
                if c >= chunks {
                    break;
                }
                let mut found = Vec::new();
                let part = c * SPLIT_CHUNK..((c + 1) * SPLIT_CHUNK).min(len);
                query.scan(&doc, &keys, &base, part, &mut meter, &mut memo, |id| {
                    found.push(id);
                    true
                })?;
                done.push((c, found));
            }
            meter.flush()?;
            Ok(done)
        };
        let results = helpers::share(workers - 1, work);
        let stopped = results.iter().any(Result::is_err);
        Some(shared.lent.settle(stopped).map(|()| {
            let mut done: Vec<(usize, Vec<NodeId>)> =
                results.into_iter().flatten().flatten().collect();
            done.sort_unstable_by_key(|(c, _)| *c);
            let mut ids = Vec::with_capacity(done.iter().map(|(_, f)| f.len()).sum());
            for (_, found) in done {
                ids.extend(found);
            }
            ids
        }))
    }

    /// In a pass at the `i`th entry, asks for later ones ([`Doc::prefetch`]) when the
    /// base is entries picked from elsewhere (a group, matches found before), which lie
    /// scattered in memory: a pass over an array's own items reads memory in order,
    /// and the processor fetches ahead of it unasked.
    fn fetch_ahead(&self, doc: &Doc, base: &BaseIds, i: usize) {
        if matches!(self.base, Base::Ids(_)) {
            doc.prefetch(base.get(i + FAR), base.get(i + NEAR));
        }
    }

    /// The entries of the query's base, before filtering, read by position.
    fn base_ids<'d>(&'d self, doc: &'d Doc) -> BaseIds<'d> {
        match &self.base {
            Base::Empty => BaseIds::Listed(&[]),
            Base::Ids(ids) => BaseIds::Listed(ids),
            Base::Children(id) => match doc.value(*id) {
                V::Array(items) => BaseIds::Listed(items),
                V::Table(t) => BaseIds::Table(t),
                _ => BaseIds::Listed(&[]),
            },
        }
    }

    pub(crate) fn count(&self) -> RhaiResult<i64> {
        if let Some(ids) = self.split_matches() {
            return Ok(ids?.len() as i64);
        }
        let mut n = 0;
        self.each(|_, _| {
            n += 1;
            true
        })?;
        Ok(n)
    }

    /// The query's matches, found now: a query without filters over just them, so
    /// what is built on it tests a few entries instead of the whole base again.
    pub(crate) fn found(&self) -> RhaiResult<Query> {
        if self.filters.is_empty() || matches!(self.base, Base::Empty) {
            return Ok(self.clone());
        }
        Ok(Query::listed(self.generation, self.ids()?))
    }

    /// The ids of the query's matches, in order: split between threads when
    /// [`Query::split_matches`] splits it.
    pub(crate) fn ids(&self) -> RhaiResult<Vec<NodeId>> {
        if let Some(ids) = self.split_matches() {
            return ids;
        }
        let mut ids = Vec::new();
        self.each(|_, id| {
            ids.push(id);
            true
        })?;
        Ok(ids)
    }

    pub(crate) fn first(&self) -> RhaiResult<Dynamic> {
        let mut out = Dynamic::UNIT;
        self.each(|doc, id| {
            out = to_dynamic(doc, id);
            false
        })?;
        Ok(out)
    }

    /// `key` as numbered in the query's document.
    fn key_id(&self, key: &str) -> Option<KeyId> {
        with_doc(self.generation, |doc| Ok(doc.key_id(key))).unwrap_or(None)
    }

    /// How many entries the query can hold at most: its base's.
    fn upper_bound(&self) -> usize {
        match &self.base {
            Base::Empty => 0,
            Base::Ids(ids) => ids.len(),
            Base::Children(id) => with_doc(self.generation, |doc| Ok(doc.len(*id))).unwrap_or(0),
        }
    }

    pub(crate) fn index_by(&self, key: &str) -> RhaiResult<Index> {
        let mut map = StrMap::with_capacity(self.key_id(key), self.upper_bound());
        let mut numbered = Numbered {
            bits: Vec::new(),
            all: true,
        };
        let mut at = 0;
        self.each(|doc, id| {
            if let Some(k) = map.value_of(doc, id, &mut at) {
                map.insert(doc, id, k, 0);
                numbered.add(doc, k.0);
            }
            true
        })?;
        Ok(Index {
            generation: self.generation,
            map: Arc::new(map),
            numbered: Arc::new(numbered),
        })
    }

    /// Entries whose string `key` value an earlier entry already had.
    pub(crate) fn duplicates(&self, key: &str) -> RhaiResult<Query> {
        // Of nothing (a missing array): nothing, usable as any empty query.
        if matches!(self.base, Base::Empty) {
            return Ok(Query::empty());
        }
        let mut seen = StrMap::with_capacity(self.key_id(key), self.upper_bound());
        let (mut twins, mut at) = (Vec::new(), 0);
        self.each(|doc, id| {
            if let Some(k) = seen.value_of(doc, id, &mut at) {
                let before = seen.len();
                seen.insert(doc, id, k, 0);
                if seen.len() == before {
                    twins.push(id);
                }
            }
            true
        })?;
        Ok(Query::listed(self.generation, twins))
    }

    pub(crate) fn group_by(&self, key: &str) -> RhaiResult<Groups> {
        let mut map = StrMap::grouping(self.key_id(key), self.upper_bound());
        let (mut groups, mut at): (Vec<Vec<NodeId>>, _) = (Vec::new(), 0);
        self.each(|doc, id| {
            if let Some(k) = map.value_of(doc, id, &mut at) {
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

/// Iterates a query lazily: a `for` loop makes one entry's value per step, so a loop
/// over a million clients holds one boxed node at a time rather than all of them.
impl IntoIterator for Query {
    type Item = Dynamic;
    type IntoIter = Entries;

    fn into_iter(self) -> Entries {
        let doc = match self.base {
            Base::Empty => None,
            _ => current_doc().filter(|d| d.generation == self.generation),
        };
        let (query, tested) = match self.split_matches() {
            // A limit the parts hit ends the loop at once; the progress check then
            // stops the call.
            Some(Err(_)) => (Query::empty(), true),
            Some(Ok(ids)) => (Query::listed(self.generation, ids), true),
            None => (self, false),
        };
        let keys = doc.as_deref().map_or_else(Vec::new, |d| query.prep(d));
        Entries {
            doc,
            query,
            keys,
            tested,
            next: 0,
            at: Vec::new(),
        }
    }
}

impl IntoIterator for Node {
    type Item = Dynamic;
    type IntoIter = Entries;

    fn into_iter(self) -> Entries {
        Query::of(self).into_iter()
    }
}

/// A query's base: ids, or a table's children.
enum BaseIds<'d> {
    Listed(&'d [NodeId]),
    Table(crate::estate::doc::Entries<'d>),
}

impl BaseIds<'_> {
    fn len(&self) -> usize {
        match self {
            BaseIds::Listed(ids) => ids.len(),
            BaseIds::Table(t) => t.len(),
        }
    }

    fn get(&self, i: usize) -> Option<NodeId> {
        match self {
            BaseIds::Listed(ids) => ids.get(i).copied(),
            BaseIds::Table(t) => t.child(i),
        }
    }
}

/// The matches of a query, made one at a time; the ids are plain integers, so no
/// script-side array limit applies.
pub struct Entries {
    /// `None` once done, or when the query belongs to another call's estate.
    doc: Option<Arc<Doc>>,
    query: Query,
    /// The filters as `doc` numbers them ([`Query::prep`]).
    keys: Vec<Prep>,
    /// The entries were tested and charged for already, all at once.
    tested: bool,
    next: usize,
    /// Where each filter's key was in the entry before ([`Memo`]).
    at: Vec<u32>,
}

impl Iterator for Entries {
    type Item = Dynamic;

    fn next(&mut self) -> Option<Dynamic> {
        let doc = self.doc.as_deref()?;
        let found = loop {
            let base = self.query.base_ids(doc);
            let Some(id) = base.get(self.next) else {
                break None;
            };
            self.query.fetch_ahead(doc, &base, self.next);
            self.next += 1;
            if self.tested {
                break Some(to_dynamic(doc, id));
            }
            // As `each`: a unit per entry visited. A limit ends the loop here, and
            // the progress check then stops the call.
            match budget::charge(1).and_then(|()| {
                // One entry per call: no word answers kept (they would borrow the
                // document this iterator owns), only where the keys were.
                let mut memo = Memo::off();
                memo.at = std::mem::take(&mut self.at);
                let hit = self.query.matches(
                    doc,
                    &self.keys,
                    id,
                    self.next - 1,
                    &mut ThisCall,
                    &mut memo,
                );
                self.at = memo.at;
                hit
            }) {
                Ok(true) => break Some(to_dynamic(doc, id)),
                Ok(false) => continue,
                Err(_) => break None,
            }
        };
        if found.is_none() {
            self.doc = None;
        }
        found
    }
}

/// A map from a string key's value to the first entry holding it.
#[derive(Debug, Clone)]
pub struct Index {
    pub(crate) generation: u32,
    pub(crate) map: Arc<StrMap>,
    numbered: Arc<Numbered>,
}

/// The numbers ([`Doc::number`]) of an index's values, and whether all had one.
#[derive(Debug)]
struct Numbered {
    bits: Vec<u64>,
    all: bool,
}

impl Numbered {
    fn add(&mut self, doc: &Doc, value: NodeId) {
        let Some(n) = doc.number(value) else {
            self.all = false;
            return;
        };
        if self.bits.is_empty() {
            self.bits = vec![0; doc.numbers().div_ceil(64)];
        }
        self.bits[n as usize / 64] |= 1 << (n % 64);
    }

    fn has(&self, n: u32) -> bool {
        self.bits
            .get(n as usize / 64)
            .is_some_and(|w| w & (1 << (n % 64)) != 0)
    }
}

impl Filter {
    /// Whether entry `id`, the `pos`th of the base, has this filter's (the `i`th)
    /// key and value, before `keep_equal` turns it: by its column when `prep` has
    /// one, else by its node.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn test<'d>(
        &self,
        doc: &'d Doc,
        i: usize,
        prep: &Prep,
        id: NodeId,
        pos: usize,
        meter: &mut impl Meter,
        memo: &mut Memo<'d>,
    ) -> RhaiResult<bool> {
        match prep.column.map(|c| doc.column(c).get(pos)) {
            Some(Cell::Absent) => return Ok(false),
            Some(Cell::Number(n)) => {
                if let Some((units, hit)) =
                    memo.by_number(i, n, || self.number_answer(doc, n, prep))
                {
                    meter.charge(units)?;
                    return Ok(hit);
                }
            }
            Some(Cell::Node) | None => {}
        }
        if memo.at.len() <= i {
            memo.at.resize(i + 1, 0);
        }
        let found = prep
            .key
            .and_then(|k| doc.get_key_at(id, k, &mut memo.at[i]));
        Ok(match found {
            None => false,
            Some(v) => match (&self.words, &self.set) {
                (Some(words), _) => match memo.search(doc, i, words, v) {
                    None => false,
                    Some((units, hit)) => {
                        meter.charge(units)?;
                        hit
                    }
                },
                (None, Some(set)) => {
                    meter.charge(set.rest.len() as u64)?;
                    set.contains(doc, v)
                }
                (None, None) => self.value.eq(doc, v, prep.number),
            },
        })
    }

    /// What [`Filter::test`] gives a value known by its number `n` only, and the units
    /// it charges; `None` where the answer needs the node.
    fn number_answer(&self, doc: &Doc, n: u32, prep: &Prep) -> Option<(u64, bool)> {
        match (&self.words, &self.set) {
            (Some(words), _) => words.in_number(doc, n),
            (None, Some(set)) if set.rest.is_empty() => doc
                .number_text(n)
                .map(|t| (set.rest.len() as u64, set.strs.contains(t))),
            (None, Some(_)) => None,
            (None, None) => match &self.value {
                Want::Str(_) => Some((0, Some(n) == prep.number)),
                Want::Index(ix) => ix.holds_number(doc, n).map(|hit| (0, hit)),
                // A string equals no number or boolean.
                Want::Int(_) | Want::Float(_) | Want::Bool(_) => Some((0, false)),
                Want::Other(_) => None,
            },
        }
    }
}

impl Index {
    /// Whether the string at `id` is a key of this index: by number when it has one
    /// and the index holds it, or when every key of the index has a number.
    fn holds(&self, doc: &Doc, id: NodeId) -> bool {
        if let Some(held) = doc.number(id).and_then(|n| self.holds_number(doc, n)) {
            return held;
        }
        doc.str_of(id)
            .is_some_and(|s| self.map.get(doc, s).is_some())
    }

    /// [`Index::holds`] for the string numbered `n` in `doc`; `None` when only its
    /// text can tell.
    fn holds_number(&self, doc: &Doc, n: u32) -> Option<bool> {
        if doc.generation != self.generation {
            return None;
        }
        if self.numbered.has(n) {
            return Some(true);
        }
        if self.numbered.all {
            return Some(false);
        }
        Some(
            doc.number_text(n)
                .is_some_and(|s| self.map.get(doc, s).is_some()),
        )
    }
}

/// Entries grouped by a string key's value, groups in order of first appearance.
#[derive(Debug, Clone)]
pub struct Groups {
    pub(crate) generation: u32,
    /// Each group's entries, and the map from a value to its group's slot.
    pub(crate) groups: Arc<(Vec<Arc<[NodeId]>>, StrMap)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_needles_match_whole_words_in_linear_time() {
        let word = "ab".repeat(40);
        assert!(contains_words(&format!("x {word} y"), &word));
        assert!(!contains_words(&format!("x {word}c"), &word));
        // Overlapping occurrences: only the second is a whole word.
        let needle = format!("{}ab", "ab ".repeat(11));
        assert!(contains_words(&format!("c{needle} ab"), &needle));
        assert!(!contains_words(&format!("c{needle}"), &needle));
        let big = "a".repeat(1 << 20);
        assert!(!contains_words(&big, &"a".repeat(1 << 19)));
    }

    #[test]
    fn remembered_answers_are_the_answers_of_a_new_search() {
        let lists = [vec!["windows nt", "nt"], vec!["95", "windows 98"]];
        let words: Vec<Words> = lists
            .iter()
            .map(|l| {
                Words::of(&Dynamic::from(
                    l.iter().map(|&w| Dynamic::from(w)).collect::<Array>(),
                ))
            })
            .collect();
        let texts = [
            "Windows NT 4.0",
            "Windows 95",
            "Windows 7",
            "nt",
            "Windows 98",
        ];
        // Room for two answers: the rest are searched for each time, and still right.
        let mut answers = Memo {
            room: 2,
            ..Memo::default()
        };
        for _ in 0..3 {
            for (f, w) in words.iter().enumerate() {
                for t in texts {
                    assert_eq!(answers.find(f, w, t), w.find(t), "{t:?} against list {f}");
                }
            }
        }
        assert_eq!(answers.seen.len(), 2);
        // The same text under two filters is two answers.
        let mut answers = Memo::default();
        assert_eq!(answers.find(0, &words[0], "nt"), (2, true));
        assert_eq!(answers.find(1, &words[1], "nt"), (2, false));
        assert_eq!(answers.seen.len(), 2);
    }

    #[test]
    fn short_and_long_texts_give_the_plain_answer() {
        // Every start, compared in full: what both the short-text pass and `memchr` must give.
        let plain = |h: &str, n: &str| {
            let (h, n) = (h.as_bytes(), n.as_bytes());
            (0..=h.len().saturating_sub(n.len())).any(|s| {
                n.len() <= h.len()
                    && (s == 0 || !h[s - 1].is_ascii_alphanumeric())
                    && h[s..s + n.len()].eq_ignore_ascii_case(n)
                    && (s + n.len() == h.len() || !h[s + n.len()].is_ascii_alphanumeric())
            })
        };
        let needles = ["windows nt", "Windows 95", "nt", "2000", " x", "é", "-9"];
        for base in [
            "Windows NT 4.0",
            "xwindows nt",
            "WINDOWS 95-9",
            "a é x",
            "nt",
        ] {
            for pad in [0, 50, 60, 70] {
                for hay in [
                    format!("{}{base}", "ab ".repeat(pad / 3)),
                    format!("{base}{}", " Z".repeat(pad / 2)),
                ] {
                    for n in needles {
                        assert_eq!(contains_words(&hay, n), plain(&hay, n), "{hay:?} {n:?}");
                    }
                    // A list: the first word found, and every word before it tried.
                    for from in 0..needles.len() {
                        let list = &needles[from..];
                        let words = Words::of(&Dynamic::from(
                            list.iter().map(|&n| Dynamic::from(n)).collect::<Array>(),
                        ));
                        let first = list.iter().position(|n| plain(&hay, n));
                        let want = first.map_or((list.len(), false), |i| (i + 1, true));
                        assert_eq!(words.find(&hay), want, "{hay:?} {list:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_value_read_once_compares_as_the_script_value_does() {
        use crate::estate::{parse, Source, ROOT};
        let text = "s = \"x\"\ne = \"a\\tb\"\ni = 1\nf = 1.5\nb = true\n\
                    d = 1979-05-27\na = [\"x\"]\nt = { k = 1 }\n";
        let doc = parse(Arc::new(Source::new("t", text.into()))).unwrap();
        let wants: Vec<Dynamic> = vec![
            "x".into(),
            "a\tb".into(),
            "1979-05-27".into(),
            "1".into(),
            Dynamic::from(1_i64),
            Dynamic::from(1.5_f64),
            Dynamic::from(1.0_f64),
            Dynamic::from(true),
            Dynamic::from(vec![Dynamic::from("x")]),
            Dynamic::UNIT,
        ];
        let mut hits = 0;
        for key in ["s", "e", "i", "f", "b", "d", "a", "t"] {
            let id = doc.get(ROOT, key).unwrap();
            for w in &wants {
                let plain = value_eq(&doc, id, w);
                assert_eq!(
                    Want::of(w.clone()).eq(
                        &doc,
                        id,
                        w.read_lock::<ImmutableString>()
                            .and_then(|s| doc.number_of(&s))
                    ),
                    plain,
                    "{key} against {w:?}"
                );
                hits += usize::from(plain);
            }
        }
        // s, e, d, i, f and b each equal one value; s is also in the list.
        assert_eq!(hits, 7);
    }

    #[test]
    fn case_is_ignored_for_ascii_letters_only() {
        for x in 0..=255u8 {
            for y in 0..=255u8 {
                assert_eq!(same_ignoring_case(&[x], &[y]), x.eq_ignore_ascii_case(&y));
            }
        }
    }

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

//! Estate schemas: the generic [`Schema`] a pack declares in `_schema.toml`, and
//! `schema_violations(items, spec)`, a native shape check for tables, so a pack can
//! validate 100k entries without an interpreted loop per key.
//!
//! `spec` maps each known key to what its value must be: a type name (`"string"`,
//! `"integer"`, `"float"`, `"boolean"`, `"datetime"`, `"array"`, `"table"`, `"any"`),
//! `"array<string>"`, `"array<table>"`, an address kind (`"ipv4"`, `"ipv6"`), or an
//! array of the allowed string spellings. It returns a lazy list (`for`, `len`,
//! `first`), checked a table at a time, so no size limit applies to the whole. Each
//! violation is a map: `node` (the table), `key`, `kind` (`"unknown"`, `"type"`,
//! `"spelling"`, `"address"`), `expected`, `actual` (the value's type), `value` (the
//! value, for strings; else its type), and `suggestion` (the closest known key or
//! spelling, or `()`).

use super::budget;
use super::context::{with_doc, Node};
use super::query::Query;
use crate::estate::{doc::Value as V, Doc, KeyId, NodeId};
use crate::suggest::closest;
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map};
use std::ops::Range;
use std::sync::Arc;

/// The type names a spec may use.
pub const TYPES: &[&str] = &[
    "string",
    "integer",
    "float",
    "boolean",
    "datetime",
    "array",
    "table",
    "any",
    "ipv4",
    "ipv6",
    "array<string>",
    "array<table>",
];

fn parse_readiness(section: toml::Table) -> Result<Readiness, String> {
    let mut out = Readiness::default();
    for (key, value) in section {
        match (key.as_str(), value) {
            ("subjects", toml::Value::String(s)) => out.subjects = s,
            ("members", toml::Value::Table(t)) => {
                for (table, link) in t {
                    let toml::Value::String(link) = link else {
                        return Err(format!("`readiness.members.{table}` must name a key"));
                    };
                    out.members.push((table, link));
                }
            }
            (other, _) => {
                return Err(format!(
                    "`readiness.{other}` is not known: use `subjects = \"table\"` and `[readiness.members]`"
                ))
            }
        }
    }
    if out.subjects.is_empty() {
        return Err("`[readiness]` needs `subjects`, the table a report has a row for".into());
    }
    Ok(out)
}

/// What one key's value must be.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySpec {
    /// One of [`TYPES`].
    Type(String),
    /// A string spelt one of these ways.
    OneOf(Vec<String>),
}

/// The tables of an estate a pack reads, by path (`""` for the top level, `[]` for
/// each entry of an array of tables: `servers[].domains[]`), each with its keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    pub tables: Vec<(String, Vec<(String, KeySpec)>)>,
    /// What a readiness report has a row for, when the pack says.
    pub readiness: Option<Readiness>,
}

/// `[readiness]`: the top-level array of tables whose entries a readiness report lists
/// (`subjects`), and for other arrays the key naming the subject an entry belongs to
/// (`[readiness.members]`, as `clients = "server"`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Readiness {
    pub subjects: String,
    pub members: Vec<(String, String)>,
}

impl Schema {
    /// Reads `[tables."path"]` sections of `key = "type"` or `key = ["spelling", ..]`.
    pub fn parse(text: &str) -> Result<Schema, (Range<usize>, String)> {
        let file: toml::Table = toml::from_str(text)
            .map_err(|e| (e.span().unwrap_or(0..0), e.message().to_string()))?;
        // The first line naming `what`, to point at a bad entry.
        let locate = |what: &str| {
            let mut at = 0;
            for line in text.split_inclusive('\n') {
                if line.trim_start().starts_with(what) {
                    return at..at + line.trim_end().len();
                }
                at += line.len();
            }
            0..0
        };
        let mut tables = Vec::new();
        let mut readiness = None;
        for (name, section) in file {
            let toml::Value::Table(paths) = section.clone() else {
                return Err((locate(&name), format!("`{name}` must be `[tables]`")));
            };
            if name == "readiness" {
                readiness = Some(parse_readiness(paths).map_err(|m| (locate("[readiness"), m))?);
                continue;
            }
            if name != "tables" {
                return Err((
                    locate(&format!("[{name}")),
                    format!("unknown section `{name}`: use `[tables.\"path\"]` or `[readiness]`"),
                ));
            }
            for (path, keys) in paths {
                let toml::Value::Table(keys) = keys else {
                    return Err((locate(&path), format!("`{path}` must be a table of keys")));
                };
                let mut specs = Vec::new();
                for (key, value) in keys {
                    let span = locate(&key);
                    let spec = match value {
                        toml::Value::String(t) if TYPES.contains(&t.as_str()) => KeySpec::Type(t),
                        toml::Value::Array(items) if !items.is_empty() => KeySpec::OneOf(
                            items
                                .into_iter()
                                .map(|i| match i {
                                    toml::Value::String(s) => Ok(s),
                                    _ => Err((
                                        span.clone(),
                                        format!("`{key}`: spellings are strings"),
                                    )),
                                })
                                .collect::<Result<_, _>>()?,
                        ),
                        _ => {
                            return Err((
                                span,
                                format!(
                                    "`{key}` must be one of {} or an array of spellings",
                                    TYPES.join(", ")
                                ),
                            ))
                        }
                    };
                    specs.push((key, spec));
                }
                tables.push((path, specs));
            }
        }
        Ok(Schema { tables, readiness })
    }

    /// The keys of the table at `path`.
    pub fn table(&self, path: &str) -> Option<&[(String, KeySpec)]> {
        self.tables
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, k)| k.as_slice())
    }

    /// A script function `estate_schema()` giving a map from each table path to the
    /// spec `schema_violations` takes.
    pub fn to_script(&self) -> String {
        let mut out = String::from("fn estate_schema() {\n    #{\n");
        for (path, keys) in &self.tables {
            out.push_str(&format!("        {}: #{{", quoted(path)));
            for (i, (key, spec)) in keys.iter().enumerate() {
                let value = match spec {
                    KeySpec::Type(t) => quoted(t),
                    KeySpec::OneOf(items) => format!(
                        "[{}]",
                        items
                            .iter()
                            .map(|s| quoted(s))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let sep = if i == 0 { "" } else { ", " };
                out.push_str(&format!("{sep}{}: {value}", quoted(key)));
            }
            out.push_str("},\n");
        }
        out.push_str("    }\n}\n");
        out
    }
}

/// A Rhai string literal of `s`, anything but plain ASCII escaped.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            ' '..='~' if c != '"' && c != '\\' => out.push(c),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

enum Expect {
    Type(&'static str),
    ArrayOf(&'static str),
    Address(&'static str),
    OneOf(Vec<String>),
    Any,
}

fn parse_spec(spec: &Map) -> Result<Vec<(String, Expect)>, Box<EvalAltResult>> {
    let mut out = Vec::new();
    for (key, want) in spec {
        let expect = if let Some(items) = want.read_lock::<Array>() {
            Expect::OneOf(items.iter().map(|i| i.to_string()).collect())
        } else {
            match want.to_string().as_str() {
                "any" => Expect::Any,
                "ipv4" => Expect::Address("ipv4"),
                "ipv6" => Expect::Address("ipv6"),
                "array<string>" => Expect::ArrayOf("string"),
                "array<table>" => Expect::ArrayOf("table"),
                t @ ("string" | "integer" | "float" | "boolean" | "datetime" | "array"
                | "table") => Expect::Type(match t {
                    "string" => "string",
                    "integer" => "integer",
                    "float" => "float",
                    "boolean" => "boolean",
                    "datetime" => "datetime",
                    "array" => "array",
                    _ => "table",
                }),
                other => return Err(format!("schema for `{key}`: unknown type `{other}`").into()),
            }
        };
        out.push((key.to_string(), expect));
    }
    Ok(out)
}

fn record(
    doc: &Doc,
    table: NodeId,
    key: &str,
    kind: &str,
    expected: String,
    (actual, value): (String, String),
    suggestion: Option<&str>,
) -> Dynamic {
    let mut m = Map::new();
    m.insert(
        "node".into(),
        Dynamic::from(Node {
            generation: doc.generation,
            id: table,
        }),
    );
    m.insert("key".into(), Dynamic::from(ImmutableString::from(key)));
    m.insert("kind".into(), Dynamic::from(ImmutableString::from(kind)));
    m.insert("expected".into(), Dynamic::from(expected));
    m.insert("actual".into(), Dynamic::from(actual));
    m.insert("value".into(), Dynamic::from(value));
    m.insert(
        "suggestion".into(),
        suggestion.map_or(Dynamic::UNIT, |s| Dynamic::from(s.to_string())),
    );
    Dynamic::from_map(m)
}

fn shown(doc: &Doc, id: NodeId) -> String {
    match doc.value(id) {
        V::Str(_) | V::Raw(..) => doc.str_of(id).unwrap_or_default().to_string(),
        _ => doc.type_name(id).to_string(),
    }
}

/// [`closest`], charging each comparison to the running call so a long candidate
/// list ends at the deadline.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Result<Option<&'a str>, Box<EvalAltResult>> {
    let mut stopped = None;
    let pick = closest(
        word,
        candidates
            .into_iter()
            .map_while(|c| match budget::charge(1 + c.len() as u64 / 16) {
                Ok(()) => Some(c),
                Err(e) => {
                    stopped = Some(e);
                    None
                }
            }),
    );
    match stopped {
        Some(e) => Err(e),
        None => Ok(pick),
    }
}

/// The violations of one table, appended to `out`.
fn table_violations(
    doc: &Doc,
    table: NodeId,
    spec: &Spec,
    out: &mut Vec<Dynamic>,
) -> Result<(), Box<EvalAltResult>> {
    let V::Table(t) = doc.value(table) else {
        return Ok(());
    };
    let known = || spec.keys.iter().map(|k| k.name.as_str());
    // A unit per key, and those of the spellings compared, charged once per table.
    let mut units = t.len() as u64;
    for (id, child) in t.iter_keyed() {
        let key = doc.key_name(id);
        let Some((expect, numbers)) = spec.expect(id) else {
            let hint = suggest(key, known())?;
            out.push(record(
                doc,
                table,
                key,
                "unknown",
                String::new(),
                Default::default(),
                hint,
            ));
            continue;
        };
        let actual = doc.type_name(child);
        let bad = match expect {
            Expect::Any => None,
            Expect::Type(t) => (!same(actual, t)).then(|| ("type", t.to_string(), None)),
            Expect::ArrayOf(t) => match doc.value(child) {
                // Read in place: the array may be every client of the estate.
                V::Array(items) => items
                    .iter()
                    .any(|&c| !same(doc.type_name(c), t))
                    .then(|| ("type", format!("array of {t}s"), None)),
                _ => Some(("type", format!("array of {t}s"), None)),
            },
            Expect::Address(kind) => match doc.str_of(child) {
                None => Some(("type", "string".to_string(), None)),
                Some(s) => {
                    let ok = if *kind == "ipv4" {
                        s.parse::<std::net::Ipv4Addr>().is_ok()
                    } else {
                        s.parse::<std::net::Ipv6Addr>().is_ok()
                    };
                    let what = if *kind == "ipv4" {
                        "a valid IPv4 address"
                    } else {
                        "a valid IPv6 address"
                    };
                    (!ok).then(|| ("address", what.to_string(), None))
                }
            },
            // An allowed value known by its number is read no further.
            Expect::OneOf(allowed) if doc.number(child).is_some_and(|n| numbers.contains(&n)) => {
                units += 1 + allowed.len() as u64 / 64;
                None
            }
            Expect::OneOf(allowed) => match doc.str_of(child) {
                None => Some(("type", "string".to_string(), None)),
                Some(s) => {
                    units += 1 + allowed.len() as u64 / 64;
                    misspelt(s, allowed)?.map(|hint| ("spelling", allowed.join(", "), hint))
                }
            },
        };
        if let Some((kind, expected, hint)) = bad {
            let found = (actual.to_string(), shown(doc, child));
            out.push(record(doc, table, key, kind, expected, found, hint));
        }
    }
    budget::charge(units)
}

/// `a == b`, at once when both are the one static type name.
fn same(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// A parsed spec, with its keys found by their number in the checked document.
struct Spec {
    keys: Vec<SpecKey>,
    /// Looked up once per estate key, among a table's few spec keys: a plain scan.
    by_id: Vec<(KeyId, usize)>,
}

/// One key of a spec, as the document reads it.
struct SpecKey {
    name: String,
    expect: Expect,
    /// The numbers its allowed strings have in the document ([`Doc::number`]).
    numbers: Vec<u32>,
}

impl Spec {
    fn expect(&self, id: KeyId) -> Option<(&Expect, &[u32])> {
        let &(_, i) = self.by_id.iter().find(|(k, _)| *k == id)?;
        let key = &self.keys[i];
        Some((&key.expect, &key.numbers))
    }
}

/// What `schema_violations` returns: the tables to check and the spec, checked one
/// table at a time as a `for` loop asks. Not an array, so no array or string size
/// limit applies to the whole of them, and only one table's violations are held.
#[derive(Clone)]
pub struct Violations {
    generation: u32,
    tables: Arc<[NodeId]>,
    spec: Arc<Spec>,
}

pub fn violations(items: &Query, spec: &Map) -> Result<Violations, Box<EvalAltResult>> {
    let mut keys: Vec<SpecKey> = parse_spec(spec)?
        .into_iter()
        .map(|(name, expect)| SpecKey {
            name,
            expect,
            numbers: Vec::new(),
        })
        .collect();
    // A key no table of the document has cannot be met; an empty query has no document.
    let by_id = with_doc(items.generation, |doc| {
        for key in &mut keys {
            if let Expect::OneOf(allowed) = &key.expect {
                key.numbers = allowed.iter().filter_map(|a| doc.number_of(a)).collect();
            }
        }
        Ok(keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| Some((doc.key_id(&k.name)?, i)))
            .collect())
    })
    .unwrap_or_default();
    let tables = items.ids()?;
    Ok(Violations {
        generation: items.generation,
        tables: tables.into(),
        spec: Arc::new(Spec { keys, by_id }),
    })
}

impl Violations {
    /// The violations of the `i`th table.
    fn of(&self, i: usize) -> Result<Vec<Dynamic>, Box<EvalAltResult>> {
        let mut out = Vec::new();
        self.from(i, 1, &mut out)?;
        Ok(out)
    }

    /// Checks up to `most` tables from the `i`th, under one look-up of the document,
    /// until one has violations (put in `out`); returns how many it checked.
    fn from(
        &self,
        i: usize,
        most: usize,
        out: &mut Vec<Dynamic>,
    ) -> Result<usize, Box<EvalAltResult>> {
        let tables = self.tables.get(i..).unwrap_or_default();
        with_doc(self.generation, |doc| {
            let mut checked = 0;
            for &table in tables.iter().take(most) {
                checked += 1;
                table_violations(doc, table, &self.spec, out)?;
                if !out.is_empty() {
                    break;
                }
            }
            Ok(checked)
        })
    }

    /// How many violations there are in all.
    pub fn count(&self) -> Result<i64, Box<EvalAltResult>> {
        let mut n = 0;
        for i in 0..self.tables.len() {
            n += self.of(i)?.len() as i64;
        }
        Ok(n)
    }

    /// The first violation, or `()`.
    pub fn first(&self) -> Result<Dynamic, Box<EvalAltResult>> {
        for i in 0..self.tables.len() {
            if let Some(v) = self.of(i)?.into_iter().next() {
                return Ok(v);
            }
        }
        Ok(Dynamic::UNIT)
    }
}

/// Iterates table by table. A limit reached inside ends the loop early; the limit
/// stays reached, so the interpreter stops the call at its next check.
pub struct ViolationIter {
    all: Violations,
    next: usize,
    pending: std::vec::IntoIter<Dynamic>,
}

impl Iterator for ViolationIter {
    type Item = Dynamic;

    fn next(&mut self) -> Option<Dynamic> {
        loop {
            if let Some(v) = self.pending.next() {
                return Some(v);
            }
            if self.next >= self.all.tables.len() {
                return None;
            }
            // Tidy tables are passed over in batches, not one look-up each.
            let mut out = Vec::new();
            self.next += self.all.from(self.next, 1 << 10, &mut out).ok()?;
            self.pending = out.into_iter();
        }
    }
}

impl IntoIterator for Violations {
    type Item = Dynamic;
    type IntoIter = ViolationIter;

    fn into_iter(self) -> ViolationIter {
        ViolationIter {
            all: self,
            next: 0,
            pending: Vec::new().into_iter(),
        }
    }
}

/// `None` when `s` is one of the `allowed` spellings, else the suggestion for it.
fn misspelt<'a>(
    s: &str,
    allowed: &'a [String],
) -> Result<Option<Option<&'a str>>, Box<EvalAltResult>> {
    // The comparisons are charged by the caller, with the table's keys.
    if allowed.iter().any(|a| a == s) {
        return Ok(None);
    }
    let near = suggest(s, allowed.iter().map(String::as_str))?;
    Ok(Some(near.or_else(|| {
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(s))
            .map(String::as_str)
    })))
}

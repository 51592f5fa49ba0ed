//! Turning TOML text into a [`Doc`]: parsing with spans, TOML 1.0 conformance checks
//! the parser leaves to later stages, and conversion into the node arena.

use super::doc::{Arena, Doc, Init, NodeId, Seg, NO_PARENT};
use super::source::Source;
use rhai::ImmutableString;
use std::ops::Range;
use std::sync::Arc;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Deeper nesting than this is refused before parsing, so no input can exhaust the stack.
pub const MAX_DEPTH: usize = 128;

/// One located problem in an estate's text.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub span: Range<usize>,
    pub message: String,
}

impl SyntaxError {
    pub(super) fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        SyntaxError {
            span,
            message: message.into(),
        }
    }
}

/// Parses all of `source` in one piece (no nesting check: [`super::pieces::parse`]
/// makes it first).
pub(super) fn parse_whole(source: &Arc<Source>) -> Result<Doc, Vec<SyntaxError>> {
    let mut builder = Builder::new(source.text(), 0);
    let problems = builder.parse_piece();
    if problems.is_empty() {
        Ok(Doc::new(source.clone(), builder.arena))
    } else {
        Err(problems)
    }
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

pub(super) struct Builder<'t> {
    pub(super) arena: Arena,
    problems: Vec<SyntaxError>,
    /// The piece being parsed, and where it starts in the file.
    text: &'t str,
    offset: usize,
}

impl<'t> Builder<'t> {
    pub(super) fn new(text: &'t str, offset: usize) -> Self {
        Builder {
            arena: Arena::default(),
            problems: Vec::new(),
            text,
            offset,
        }
    }

    /// Parses the piece into `self.nodes`; returns every problem, in file offsets.
    pub(super) fn parse_piece(&mut self) -> Vec<SyntaxError> {
        let (root, errors) = DeTable::parse_recoverable(self.text);
        let mut problems: Vec<SyntaxError> = errors
            .iter()
            .map(|e| SyntaxError::new(e.span().unwrap_or(0..0), first_line(e.message())))
            .collect();
        let span = root.span();
        let root = Spanned::new(span, DeValue::Table(root.into_inner()));
        self.add(&root, None, NO_PARENT, Seg::Root);
        problems.append(&mut self.problems);
        for p in &mut problems {
            p.span = p.span.start + self.offset..p.span.end + self.offset;
        }
        problems.sort_by_key(|p| (p.span.start, p.span.end));
        problems.dedup_by(|a, b| a.span == b.span && a.message == b.message);
        problems
    }

    fn add(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        key: Option<(u32, Range<usize>)>,
        parent: NodeId,
        seg: Seg,
    ) -> NodeId {
        let span = value.span();
        let at = self.offset;
        let init = match value.get_ref() {
            DeValue::String(s) => {
                let raw = &self.text[span.clone()];
                // One scan serves both the escape check and telling a raw string.
                let escapes = raw.starts_with('"') && raw.contains('\\');
                if escapes {
                    self.check_escapes(span.clone());
                }
                let quote = raw.chars().next();
                let plain = raw.len() >= 2
                    && !raw.starts_with("\"\"\"")
                    && !raw.starts_with("'''")
                    && matches!(quote, Some('"' | '\''))
                    && raw.ends_with(quote.unwrap_or(' '))
                    && (quote == Some('\'') || !escapes)
                    && raw.get(1..raw.len() - 1) == Some(s.as_ref());
                if plain {
                    // Only values under a key are numbered: a key's values repeat.
                    let number = match &key {
                        Some((k, _)) => self.arena.values.intern(*k, s),
                        None => 0,
                    };
                    Init::Raw(number)
                } else {
                    Init::Str(ImmutableString::from(s.as_ref()))
                }
            }
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Init::Int(n),
                Err(_) => {
                    self.problems
                        .push(SyntaxError::new(span.clone(), "invalid integer"));
                    Init::Int(0)
                }
            },
            DeValue::Float(f) => match parse_float(f.as_str()) {
                Some(x) => Init::Float(x),
                None => {
                    self.problems
                        .push(SyntaxError::new(span.clone(), "invalid float"));
                    Init::Float(0.0)
                }
            },
            DeValue::Boolean(b) => Init::Bool(*b),
            DeValue::Datetime(d) => {
                if d.time.is_some_and(|t| t.second.is_none()) {
                    self.problems.push(SyntaxError::new(
                        span.clone(),
                        "times must have seconds in TOML 1.0",
                    ));
                }
                Init::Datetime(*d)
            }
            DeValue::Array(_) => Init::Array,
            DeValue::Table(_) => Init::Table,
        };
        let id = self.arena.push(
            init,
            span.start + at..span.end + at,
            key.map(|(k, ks)| (k, ks.start + at..ks.end + at)),
            parent,
            seg,
        );
        match value.get_ref() {
            DeValue::Array(items) => {
                let ids: Vec<NodeId> = items
                    .iter()
                    .map(|item| self.add(item, None, id, Seg::Index))
                    .collect();
                self.arena.set_array(id, ids);
            }
            DeValue::Table(table) => {
                if self.text.as_bytes().get(span.start) == Some(&b'{') {
                    self.check_inline_table(span);
                }
                let mut children = Vec::with_capacity(table.len());
                for (k, v) in table.iter() {
                    let key = self.arena.keys.intern(k.get_ref());
                    self.check_escapes(k.span());
                    children.push(self.add(v, Some((key, k.span())), id, Seg::Key));
                }
                self.arena.set_table(id, &children);
            }
            _ => {}
        }
        id
    }

    /// `\x..` and `\e` escapes are TOML 1.1; 1.0 refuses them.
    fn check_escapes(&mut self, span: Range<usize>) {
        let Some(raw) = self.text.get(span.clone()) else {
            return;
        };
        if !raw.starts_with('"') {
            return;
        }
        let bytes = raw.as_bytes();
        let mut i = 0;
        while let Some(j) = memchr::memchr(b'\\', &bytes[i..]) {
            let at = i + j;
            if matches!(bytes.get(at + 1), Some(b'x' | b'e')) {
                let at = span.start + at;
                self.problems.push(SyntaxError::new(
                    at..at + 2,
                    "this escape is not allowed in TOML 1.0",
                ));
            }
            i = (at + 2).min(bytes.len());
        }
    }

    /// Inline tables stay on one line and have no trailing comma in TOML 1.0.
    fn check_inline_table(&mut self, span: Range<usize>) {
        let bytes = &self.text.as_bytes()[span.clone()];
        let mut stack = Vec::new();
        let mut last_significant = b'{';
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let own_level = stack.len() == 1;
            match b {
                b'"' | b'\'' => {
                    i = skip_string(bytes, i);
                    last_significant = b'"';
                    continue;
                }
                b'{' | b'[' => stack.push(b),
                b'}' | b']' => {
                    if own_level && b == b'}' && last_significant == b',' {
                        let at = span.start + i;
                        self.problems.push(SyntaxError::new(
                            at..at + 1,
                            "trailing comma in inline table is not allowed in TOML 1.0",
                        ));
                    }
                    stack.pop();
                }
                b'\n' | b'#' if own_level => {
                    let at = span.start + i;
                    self.problems.push(SyntaxError::new(
                        at..at + 1,
                        "inline tables must stay on one line in TOML 1.0",
                    ));
                    return;
                }
                _ => {}
            }
            if !b.is_ascii_whitespace() {
                last_significant = b;
            }
            i += 1;
        }
    }
}

pub(super) fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes.len() >= start + 3 && bytes[start + 1] == quote && bytes[start + 2] == quote;
    let mut i = start + if triple { 3 } else { 1 };
    loop {
        // Only quotes and (in basic strings) backslashes matter.
        let next = if quote == b'"' {
            memchr::memchr2(b'"', b'\\', &bytes[i..])
        } else {
            memchr::memchr(quote, &bytes[i..])
        };
        let Some(j) = next else {
            return bytes.len();
        };
        i += j;
        if bytes[i] == b'\\' {
            i = (i + 2).min(bytes.len());
            continue;
        }
        if !triple {
            return i + 1;
        }
        if bytes[i..].starts_with(&[quote; 3]) {
            let mut end = i + 3;
            // Up to two more quotes may close a multi-line string.
            while end < bytes.len() && bytes[end] == quote && end < i + 5 {
                end += 1;
            }
            return end;
        }
        i += 1;
    }
}

fn parse_float(s: &str) -> Option<f64> {
    let s = s.replace('_', "");
    let unsigned = s.trim_start_matches(['+', '-']);
    let negative = s.starts_with('-');
    let x = match unsigned {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => s.parse().ok()?,
    };
    Some(if negative && !x.is_sign_negative() {
        -x
    } else {
        x
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::ROOT;

    fn doc(text: &str) -> Result<Doc, Vec<SyntaxError>> {
        parse_whole(&Arc::new(Source::new("t.toml", text.to_string())))
    }

    #[test]
    fn builds_paths_with_names_and_indices() {
        let d = doc("[[servers]]\nname = \"a b\"\nos = \"x\"\n[[clients]]\nos = \"y\"\n").unwrap();
        let servers = d.get(0, "servers").unwrap();
        let s0 = d.children(servers)[0];
        assert_eq!(d.path(d.get(s0, "os").unwrap()), "servers[\"a b\"].os");
        let c0 = d.children(d.get(0, "clients").unwrap())[0];
        assert_eq!(d.path(d.get(c0, "os").unwrap()), "clients[0].os");
    }

    #[test]
    fn strings_compare_equal_by_length_and_text_whatever_their_quotes() {
        let long = "y".repeat(70_000);
        let text = format!(
            "a = \"ia64\"\nb = 'ia64'\nc = \"ia6\\u0034\"\nd = \"\"\"ia64\"\"\"\n\
             e = '''\nia64'''\nf = \"\"\nx = \"x64\"\nn = 64\nl = \"{long}\"\n"
        );
        let d = doc(&text).unwrap();
        let is = |key: &str, want: &str| d.str_is(d.get(ROOT, key).unwrap(), want);
        for key in ["a", "b", "c", "d", "e"] {
            assert_eq!(is(key, "ia64"), Some(true), "{key}");
            assert_eq!(is(key, "ia65"), Some(false), "{key}");
            assert_eq!(is(key, "ia6"), Some(false), "{key}");
            assert_eq!(is(key, ""), Some(false), "{key}");
        }
        assert_eq!(is("f", ""), Some(true));
        assert_eq!(is("f", "\"\""), Some(false));
        assert_eq!(is("x", "ia64"), Some(false));
        assert_eq!(is("l", &long), Some(true));
        assert_eq!(is("l", &long[1..]), Some(false));
        assert_eq!(is("n", "64"), None);
    }

    #[test]
    fn a_key_looked_up_from_a_remembered_place_is_the_key_a_scan_finds() {
        let mut text = String::from("[[c]]\na = 1\nb = 2\n[[c]]\nb = 3\na = 4\n[[c]]\nb = 5\n");
        // A table of more than sixteen keys, and one whose children are not in a row.
        text.push_str("[[c]]\n");
        for i in 0..20 {
            text.push_str(&format!("k{i} = {i}\n"));
        }
        text.push_str("b = 6\n[[c]]\nt = { x = 1 }\nb = 7\n[c.u]\ny = 2\n");
        let d = doc(&text).unwrap();
        let b = d.key_id("b").unwrap();
        for start in [0, 1, 2, 99] {
            let mut at = start;
            for entry in d.children(d.get(ROOT, "c").unwrap()) {
                assert_eq!(d.get_key_at(entry, b, &mut at), d.get(entry, "b"));
            }
        }
        let mut at = 0;
        let first = d.children(d.get(ROOT, "c").unwrap())[2];
        assert_eq!(d.get_key_at(first, d.key_id("a").unwrap(), &mut at), None);
    }

    #[test]
    fn paths_of_any_depth_quote_what_needs_quoting() {
        // Ten levels: deeper than the steps a path keeps on the stack.
        let d = doc("a = [[[[[[[[[{ \"b\\\\\\\"c\\u0001é\" = 1 }]]]]]]]]]\n").unwrap();
        let mut id = d.get(ROOT, "a").unwrap();
        while let Some(&first) = d.children(id).first() {
            id = first;
        }
        assert_eq!(
            d.path(id),
            "a[0][0][0][0][0][0][0][0][0][\"b\\\\\\\"c\\u0001é\"]"
        );
    }

    #[test]
    fn nodes_stay_small_and_keys_come_from_the_parent() {
        // The arena holds one of these per value: most of a big estate's memory.
        assert_eq!(std::mem::size_of::<crate::estate::doc::NodeData>(), 24);
        let mut text = String::from("[big]\n");
        for i in 0..100 {
            text.push_str(&format!("\"k {i}\" = {{ v = {i} }}\n"));
        }
        text.push_str("[later.\"x.y\"]\nz = 1\n");
        let d = doc(&text).unwrap();
        let big = d.get(ROOT, "big").unwrap();
        let k = d.get(big, "k 57").unwrap();
        assert_eq!(d.path(d.get(k, "v").unwrap()), "big[\"k 57\"].v");
        let later = d.get(ROOT, "later").unwrap();
        let z = d.get(d.get(later, "x.y").unwrap(), "z").unwrap();
        assert_eq!(d.path(z), "later[\"x.y\"].z");
    }

    #[test]
    fn key_spans_of_any_length_read_back() {
        let long = "k".repeat(70_000);
        let text = format!("short = 1\n\"{long}\" = [1, 2]\n[t]\n{long} = 3\n");
        let d = doc(&text).unwrap();
        let short = d.get(ROOT, "short").unwrap();
        assert_eq!(&text[d.key_span(short)], "short");
        let quoted = d.get(ROOT, &long).unwrap();
        assert_eq!(&text[d.key_span(quoted)], format!("\"{long}\""));
        let bare = d.get(d.get(ROOT, "t").unwrap(), &long).unwrap();
        assert_eq!(&text[d.key_span(bare)], long);
        // A header's key lies after the value's start; a long value keeps its span.
        let t = d.get(ROOT, "t").unwrap();
        assert_eq!(&text[d.key_span(t)], "t");
        let big = format!("v = \"{long}\"\n");
        let d2 = doc(&big).unwrap();
        let v = d2.get(ROOT, "v").unwrap();
        assert_eq!(d2.span(v), 4..big.len() - 1);
        assert_eq!(d2.str_of(v), Some(long.as_str()));
        // Array elements point at themselves.
        let second = d.children(quoted)[1];
        assert_eq!(&text[d.key_span(second)], "2");
        assert_eq!(d.index_of(second), Some(1));
    }

    #[test]
    fn strings_read_back_decoded() {
        let d = doc(
            "a = \"plain é\"\nb = \"tab\\tx\"\nc = 'C:\\dir'\nd = \"\"\"\nline\"\"\"\ne = ''\n",
        )
        .unwrap();
        let get = |k: &str| d.str_of(d.get(ROOT, k).unwrap()).unwrap().to_string();
        assert_eq!(get("a"), "plain é");
        assert_eq!(get("b"), "tab\tx");
        assert_eq!(get("c"), "C:\\dir");
        assert_eq!(get("d"), "line");
        assert_eq!(get("e"), "");
        assert!(matches!(
            d.value(d.get(ROOT, "a").unwrap()),
            crate::estate::Value::Raw(_)
        ));
    }

    #[test]
    fn reports_every_syntax_error() {
        let errs = doc("a = \nb = 1\nc = ]\n").unwrap_err();
        assert!(errs.len() >= 2, "{errs:?}");
    }

    #[test]
    fn refuses_toml_1_1_features() {
        assert!(doc("a = { b = 1, }").is_err());
        assert!(doc("a = { b = 1,\n c = 2 }").is_err());
        assert!(doc("a = \"\\x41\"").is_err());
        assert!(doc("a = 07:32").is_err());
        assert!(doc("a = 0x").is_err());
        assert!(doc("a = { b = [1,\n 2] }").is_ok());
        assert!(doc("a = \"{ b = 1, }\"").is_ok());
    }
}

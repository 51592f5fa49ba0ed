//! Turning TOML text into a [`Doc`]: parsing with spans, TOML 1.0 conformance checks
//! the parser leaves to later stages, and conversion into the node arena.

use super::doc::{Doc, NodeData, NodeId, Seg, Table, Value};
use super::source::Source;
use rhai::ImmutableString;
use std::collections::HashMap;
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
    fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        SyntaxError {
            span,
            message: message.into(),
        }
    }
}

/// Parses `source` into a document, or returns every syntax error found.
pub fn parse(source: Arc<Source>) -> Result<Doc, Vec<SyntaxError>> {
    let text = source.text();
    if let Some(err) = check_depth(text) {
        return Err(vec![err]);
    }
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut problems: Vec<SyntaxError> = errors
        .iter()
        .map(|e| SyntaxError::new(e.span().unwrap_or(0..0), first_line(e.message())))
        .collect();
    let mut builder = Builder {
        nodes: Vec::new(),
        keys: HashMap::new(),
        problems: Vec::new(),
        text,
    };
    let span = root.span();
    let root = Spanned::new(span, DeValue::Table(root.into_inner()));
    builder.add(&root, None, u32::MAX, Seg::Root);
    problems.append(&mut builder.problems);
    if problems.is_empty() {
        let nodes = builder.nodes;
        Ok(Doc::new(source.clone(), nodes))
    } else {
        problems.sort_by_key(|p| (p.span.start, p.span.end));
        problems.dedup_by(|a, b| a.span == b.span && a.message == b.message);
        Err(problems)
    }
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

struct Builder<'t> {
    nodes: Vec<NodeData>,
    keys: HashMap<String, Arc<str>>,
    problems: Vec<SyntaxError>,
    text: &'t str,
}

impl Builder<'_> {
    fn intern(&mut self, key: &str) -> Arc<str> {
        if let Some(k) = self.keys.get(key) {
            return k.clone();
        }
        let k: Arc<str> = Arc::from(key);
        self.keys.insert(key.to_string(), k.clone());
        k
    }

    fn add(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        key_span: Option<Range<usize>>,
        parent: NodeId,
        seg: Seg,
    ) -> NodeId {
        let id = self.nodes.len() as NodeId;
        let span = value.span();
        let key_span = key_span.unwrap_or(span.clone());
        self.nodes.push(NodeData {
            value: Value::Bool(false),
            span: (span.start as u32, span.end as u32),
            key_span: (key_span.start as u32, key_span.end as u32),
            parent,
            seg,
        });
        let converted = match value.get_ref() {
            DeValue::String(s) => {
                self.check_escapes(span.clone());
                Value::Str(ImmutableString::from(s.as_ref()))
            }
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::Int(n),
                Err(_) => {
                    self.problems
                        .push(SyntaxError::new(span, "invalid integer"));
                    Value::Int(0)
                }
            },
            DeValue::Float(f) => match parse_float(f.as_str()) {
                Some(x) => Value::Float(x),
                None => {
                    self.problems.push(SyntaxError::new(span, "invalid float"));
                    Value::Float(0.0)
                }
            },
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => {
                if d.time.is_some_and(|t| t.second.is_none()) {
                    self.problems.push(SyntaxError::new(
                        span,
                        "times must have seconds in TOML 1.0",
                    ));
                }
                Value::Datetime(Box::new(*d))
            }
            DeValue::Array(items) => {
                let ids: Vec<NodeId> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.add(item, None, id, Seg::Index(i as u32)))
                    .collect();
                Value::Array(ids.into_boxed_slice())
            }
            DeValue::Table(table) => {
                if self.text.as_bytes().get(span.start) == Some(&b'{') {
                    self.check_inline_table(span.clone());
                }
                Value::Table(self.add_table(table, id))
            }
        };
        self.nodes[id as usize].value = converted;
        id
    }

    fn add_table(&mut self, table: &DeTable<'_>, id: NodeId) -> Table {
        let mut entries = Vec::with_capacity(table.len());
        for (k, v) in table.iter() {
            let key = self.intern(k.get_ref());
            self.check_escapes(k.span());
            let child = self.add(v, Some(k.span()), id, Seg::Key(key.clone()));
            entries.push((key, child));
        }
        Table::new(entries)
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
        while i < bytes.len() {
            if bytes[i] == b'\\' && i + 1 < bytes.len() {
                if matches!(bytes[i + 1], b'x' | b'e') {
                    let at = span.start + i;
                    self.problems.push(SyntaxError::new(
                        at..at + 2,
                        "this escape is not allowed in TOML 1.0",
                    ));
                }
                i += 2;
            } else {
                i += 1;
            }
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

fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes.len() >= start + 3 && bytes[start + 1] == quote && bytes[start + 2] == quote;
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        if quote == b'"' && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
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
        }
        i += 1;
    }
    bytes.len()
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

/// Refuses brackets or braces nested deeper than [`MAX_DEPTH`], outside strings
/// and comments, before the recursive parser sees them.
fn check_depth(text: &str) -> Option<SyntaxError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(SyntaxError::new(
                        i..i + 1,
                        format!("values are nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Result<Doc, Vec<SyntaxError>> {
        parse(Arc::new(Source::new("t.toml", text.to_string())))
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

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let errs = doc(&deep).unwrap_err();
        assert!(errs[0].message.contains("nested"));
        assert!(doc("[[a]]\n[[a]]\nb = [[1]]\n").is_ok());
    }
}

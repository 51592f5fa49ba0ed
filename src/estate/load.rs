//! Turning TOML text into a [`Doc`]: parsing with spans, TOML 1.0 conformance checks
//! the parser leaves to later stages, and conversion into the node arena.

use super::doc::{Doc, NodeData, NodeId, Seg, Table, Value, ROOT};
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

/// Files above this size are parsed in chunks split at top-level `[[...]]` headers.
const CHUNK: usize = 512 << 10;

/// Parses `source` into a document, or returns every syntax error found.
///
/// Large files are cut at top-level array-of-tables headers, the pieces parsed in
/// parallel and their arenas joined; the parser's own tree for a piece is dropped as
/// soon as the piece is converted, which keeps peak memory near the arena's size.
/// Whenever a join meets anything but appending to arrays of tables (or a piece has
/// errors), the whole file is parsed again in one piece, so results never differ.
pub fn parse(source: Arc<Source>) -> Result<Doc, Vec<SyntaxError>> {
    parse_in_chunks_of(source, CHUNK)
}

fn parse_in_chunks_of(source: Arc<Source>, chunk: usize) -> Result<Doc, Vec<SyntaxError>> {
    let text = source.text();
    let splits = scan(text, chunk).map_err(|e| vec![e])?;
    if !splits.is_empty() {
        if let Some(nodes) = parse_chunked(text, &splits) {
            return Ok(Doc::new(source.clone(), nodes));
        }
    }
    let mut builder = Builder::new(text, 0);
    let problems = builder.parse_piece();
    if problems.is_empty() {
        Ok(Doc::new(source.clone(), builder.nodes))
    } else {
        Err(problems)
    }
}

fn parse_chunked(text: &str, splits: &[usize]) -> Option<Vec<NodeData>> {
    use rayon::prelude::*;
    let mut bounds = vec![0];
    bounds.extend_from_slice(splits);
    bounds.push(text.len());
    let ranges: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    // A few pieces at a time: every piece's arena is joined and dropped before the
    // next batch is parsed, so peak memory stays near the final arena's size.
    let batch = rayon::current_num_threads().max(1);
    let mut acc: Option<Vec<NodeData>> = None;
    for group in ranges.chunks(batch) {
        let pieces: Vec<Option<Vec<NodeData>>> = group
            .par_iter()
            .map(|&(start, end)| {
                let mut b = Builder::new(&text[start..end], start);
                b.parse_piece().is_empty().then_some(b.nodes)
            })
            .collect();
        for piece in pieces {
            let piece = piece?;
            match &mut acc {
                None => {
                    // Reserve for the whole file, estimated from the first piece's density.
                    let mut first = piece;
                    let est = first.len() as f64 * text.len() as f64 / ranges[0].1.max(1) as f64;
                    first.reserve((est * 1.02) as usize - first.len().min((est * 1.02) as usize));
                    acc = Some(first);
                }
                Some(acc) => {
                    if !join(acc, piece, text) {
                        return None;
                    }
                }
            }
        }
    }
    acc
}

/// An array created by `[[key]]` headers. Its span is the first header; a static
/// array whose text starts with `[[` holds an array first, never a table.
fn is_array_of_tables(nodes: &[NodeData], id: NodeId, text: &str) -> bool {
    let node = &nodes[id as usize];
    match &node.value {
        Value::Array(items) => {
            text.get(node.span()).is_some_and(|t| t.starts_with("[["))
                && items
                    .first()
                    .is_some_and(|c| matches!(nodes[*c as usize].value, Value::Table(_)))
        }
        _ => false,
    }
}

/// Appends a later piece to the arena; false when the pieces do not join cleanly.
fn join(acc: &mut Vec<NodeData>, piece: Vec<NodeData>, text: &str) -> bool {
    let base = acc.len() as NodeId - 1;
    let map = |id: NodeId| if id == ROOT { ROOT } else { id + base };
    let Value::Table(piece_root) = &piece[0].value else {
        return false;
    };
    let added: Vec<(Arc<str>, NodeId)> = piece_root
        .entries
        .iter()
        .map(|(k, v)| (k.clone(), map(*v)))
        .collect();
    for mut node in piece.into_iter().skip(1) {
        node.parent = map(node.parent);
        node.value = match node.value {
            Value::Array(items) => Value::Array(items.iter().map(|i| map(*i)).collect()),
            Value::Table(t) => Value::Table(Table::new(
                t.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), map(*v)))
                    .collect(),
            )),
            other => other,
        };
        acc.push(node);
    }
    let Value::Table(root) = &acc[ROOT as usize].value else {
        return false;
    };
    let mut entries: Vec<(Arc<str>, NodeId)> = root.entries.to_vec();
    for (key, id) in added {
        let Some(&(_, existing)) = entries.iter().find(|(k, _)| *k == key) else {
            entries.push((key, id));
            continue;
        };
        if !is_array_of_tables(acc, existing, text) || !is_array_of_tables(acc, id, text) {
            return false;
        }
        let Value::Array(moved) =
            std::mem::replace(&mut acc[id as usize].value, Value::Array(Vec::new()))
        else {
            return false;
        };
        let Value::Array(kept) = &mut acc[existing as usize].value else {
            return false;
        };
        let first = kept.len();
        kept.extend_from_slice(&moved);
        for (i, &child) in moved.iter().enumerate() {
            let node = &mut acc[child as usize];
            node.parent = existing;
            node.seg = Seg::Index((first + i) as u32);
        }
    }
    acc[ROOT as usize].value = Value::Table(Table::new(entries));
    true
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

struct Builder<'t> {
    nodes: Vec<NodeData>,
    keys: HashMap<String, Arc<str>>,
    problems: Vec<SyntaxError>,
    /// The piece being parsed, and where it starts in the file.
    text: &'t str,
    offset: usize,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str, offset: usize) -> Self {
        Builder {
            nodes: Vec::new(),
            keys: HashMap::new(),
            problems: Vec::new(),
            text,
            offset,
        }
    }

    /// Parses the piece into `self.nodes`; returns every problem, in file offsets.
    fn parse_piece(&mut self) -> Vec<SyntaxError> {
        let (root, errors) = DeTable::parse_recoverable(self.text);
        let mut problems: Vec<SyntaxError> = errors
            .iter()
            .map(|e| SyntaxError::new(e.span().unwrap_or(0..0), first_line(e.message())))
            .collect();
        let span = root.span();
        let root = Spanned::new(span, DeValue::Table(root.into_inner()));
        self.add(&root, None, u32::MAX, Seg::Root);
        problems.append(&mut self.problems);
        for p in &mut problems {
            p.span = p.span.start + self.offset..p.span.end + self.offset;
        }
        problems.sort_by_key(|p| (p.span.start, p.span.end));
        problems.dedup_by(|a, b| a.span == b.span && a.message == b.message);
        problems
    }

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
        let at = self.offset;
        self.nodes.push(NodeData {
            value: Value::Bool(false),
            span: ((span.start + at) as u32, (span.end + at) as u32),
            key_span: ((key_span.start + at) as u32, (key_span.end + at) as u32),
            parent,
            seg,
        });
        let converted = match value.get_ref() {
            DeValue::String(s) => {
                self.check_escapes(span.clone());
                let raw = &self.text[span.clone()];
                let quote = raw.chars().next();
                let plain = raw.len() >= 2
                    && !raw.starts_with("\"\"\"")
                    && !raw.starts_with("'''")
                    && matches!(quote, Some('"' | '\''))
                    && raw.ends_with(quote.unwrap_or(' '))
                    && (quote == Some('\'') || !raw.contains('\\'))
                    && raw.get(1..raw.len() - 1) == Some(s.as_ref());
                if plain {
                    Value::Raw((span.start + at + 1) as u32, (span.end + at - 1) as u32)
                } else {
                    Value::Str(ImmutableString::from(s.as_ref()))
                }
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
                Value::Array(ids)
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

/// Refuses brackets or braces nested deeper than [`MAX_DEPTH`] (outside strings and
/// comments) before the recursive parser sees them, and finds where a large file may
/// be cut: before a top-level `[[key]]` header with a bare, undotted key.
fn scan(text: &str, chunk: usize) -> Result<Vec<usize>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut splits = Vec::new();
    let mut last = 0;
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
                    return Err(SyntaxError::new(
                        i..i + 1,
                        format!("values are nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n'
                if depth == 0
                    && i + 1 - last >= chunk
                    && text.len() - i > chunk / 2
                    && is_top_array_header(&bytes[i + 1..]) =>
            {
                splits.push(i + 1);
                last = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(splits)
}

fn is_top_array_header(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"[[") else {
        return false;
    };
    let Some(end) = rest.windows(2).position(|w| w == b"]]") else {
        return false;
    };
    let key = rest[..end].trim_ascii();
    !key.is_empty()
        && key
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
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
            d.node(d.get(ROOT, "a").unwrap()).value,
            Value::Raw(..)
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

    /// Every node's path, span, key span and type, in document order.
    type Shape = (String, (u32, u32), (u32, u32), &'static str);

    fn shape(d: &Doc) -> Vec<Shape> {
        let mut out = Vec::new();
        let mut stack = vec![ROOT];
        while let Some(id) = stack.pop() {
            let n = d.node(id);
            out.push((d.path(id), n.span, n.key_span, d.type_name(id)));
            stack.extend(d.children(id).into_iter().rev());
        }
        out
    }

    fn both(text: &str) -> (Result<Doc, Vec<SyntaxError>>, Result<Doc, Vec<SyntaxError>>) {
        let src = Arc::new(Source::new("t.toml", text.to_string()));
        (
            parse_in_chunks_of(src.clone(), usize::MAX),
            parse_in_chunks_of(src, 40),
        )
    }

    #[test]
    fn chunked_parsing_matches_whole_parsing() {
        let mut text = String::from("title = \"x\"\n[upgrade]\nipv6 = true\n");
        for i in 0..50 {
            text.push_str(&format!("[[servers]]\nname = \"s{i}\"\n[servers.backup]\nfiles = [\"a\",\n \"b\"]\n[[servers.domains]]\nname = \"d\"\n"));
        }
        for i in 0..200 {
            text.push_str(&format!("[[clients]] # c\nname = \"c{i}\"\nnote = \"\"\"\n[[clients]]\n\"\"\"\ninline = {{ a = [1, 2] }}\n"));
        }
        // A table reopened after other headers: pieces cannot simply be appended.
        text.push_str("[[servers]]\nname = \"late\"\n[site]\nx = 1\n");
        let splits = scan(&text, 40).unwrap();
        assert!(splits.len() > 100, "the text is cut into many pieces");
        assert!(
            parse_chunked(&text, &splits).is_some(),
            "the pieces join without falling back"
        );
        let (whole, chunked) = both(&text);
        let (whole, chunked) = (whole.unwrap(), chunked.unwrap());
        assert_eq!(shape(&whole), shape(&chunked));
        let clients = whole.get(ROOT, "clients").unwrap();
        assert_eq!(whole.len(clients), 200);
    }

    #[test]
    fn chunked_parsing_falls_back_on_cross_piece_conflicts() {
        let mut text = String::new();
        for i in 0..30 {
            text.push_str(&format!("[[servers]]\nname = \"s{i}\"\n"));
        }
        text.push_str("[[clients]]\nname = \"c\"\n");
        for i in 0..30 {
            text.push_str(&format!("[[clients]]\nname = \"c{i}\"\n"));
        }
        // Valid TOML: extends the last server, far from its header.
        let valid = format!("{text}[servers.backup]\nfiles = []\n");
        assert!(
            parse_chunked(&valid, &scan(&valid, 40).unwrap()).is_none(),
            "falls back"
        );
        let (whole, chunked) = both(&valid);
        assert_eq!(shape(&whole.unwrap()), shape(&chunked.unwrap()));
        // Invalid TOML: a table defined twice, in different pieces.
        let invalid = format!("[site]\na = 1\n{text}[site]\nb = 2\n");
        let (whole, chunked) = both(&invalid);
        let (w, c) = (whole.unwrap_err(), chunked.unwrap_err());
        assert_eq!(
            w.iter().map(|e| &e.span).collect::<Vec<_>>(),
            c.iter().map(|e| &e.span).collect::<Vec<_>>()
        );
        // An error inside a later piece is reported at its place in the file.
        let broken = format!("{text}[[clients]]\nname = \n");
        let (whole, chunked) = both(&broken);
        let (w, c) = (whole.unwrap_err(), chunked.unwrap_err());
        assert_eq!(w[0].span, c[0].span);
        assert!(w[0].span.start > text.len());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let errs = doc(&deep).unwrap_err();
        assert!(errs[0].message.contains("nested"));
        assert!(doc("[[a]]\n[[a]]\nb = [[1]]\n").is_ok());
    }
}

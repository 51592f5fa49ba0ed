//! Parsing an estate: the nesting check, then, for a large file, cutting it into
//! pieces at top-level `[[key]]` headers, parsing the pieces in parallel and joining
//! their arenas. Any join that is not a plain append to an array of tables gives up,
//! and the file is parsed in one piece.

use super::doc::{Arena, Doc, Kind, NodeId, ROOT};
use super::load::{parse_whole, skip_string, Builder, SyntaxError, MAX_DEPTH};
use super::source::Source;
use std::sync::Arc;

/// Files above this size are parsed in pieces cut at top-level `[[...]]` headers.
pub(super) const PIECE: usize = 512 << 10;

/// Parses `source` into a document, or returns every syntax error found.
///
/// The parser's own tree for a piece is dropped as soon as the piece is converted,
/// which keeps peak memory near the arena's size. Whenever the pieces do not join (or
/// one has errors), the whole file is parsed again in one piece, so results never
/// differ.
pub fn parse(source: Arc<Source>) -> Result<Doc, Vec<SyntaxError>> {
    parse_in_pieces_of(source, PIECE)
}

pub(super) fn parse_in_pieces_of(
    source: Arc<Source>,
    piece: usize,
) -> Result<Doc, Vec<SyntaxError>> {
    let text = source.text();
    let starts = scan(text, piece).map_err(|e| vec![e])?;
    if !starts.is_empty() {
        if let Some(arena) = parse_pieces(text, &starts) {
            return Ok(Doc::new(source.clone(), arena));
        }
    }
    parse_whole(&source)
}

pub(super) fn parse_pieces(text: &str, starts: &[usize]) -> Option<Arena> {
    use rayon::prelude::*;
    let mut bounds = vec![0];
    bounds.extend_from_slice(starts);
    bounds.push(text.len());
    let ranges: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    // A few pieces at a time: every piece's arena is joined and dropped before the
    // next batch is parsed, so peak memory stays near the final arena's size.
    let batch = rayon::current_num_threads().max(1);
    let mut acc: Option<Arena> = None;
    for group in ranges.chunks(batch) {
        let pieces: Vec<Option<Arena>> = group
            .par_iter()
            .map(|&(start, end)| {
                let mut b = Builder::new(&text[start..end], start);
                b.parse_piece().is_empty().then_some(b.arena)
            })
            .collect();
        for piece in pieces {
            let piece = piece?;
            match &mut acc {
                None => {
                    // Reserve for the whole file, estimated from the first piece's density.
                    let mut first = piece;
                    let scale = text.len() as f64 / ranges[0].1.max(1) as f64 * 1.02;
                    let more =
                        |n: usize| (n as f64 * scale) as usize - n.min((n as f64 * scale) as usize);
                    first.nodes.reserve(more(first.nodes.len()));
                    first.tables.reserve(more(first.tables.len()));
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
fn is_array_of_tables(arena: &Arena, id: NodeId, text: &str) -> bool {
    let header = text
        .get(arena.span(id))
        .is_some_and(|t| t.starts_with("[["));
    let first = arena.array(id).and_then(|items| items.first().copied());
    header && first.is_some_and(|c| arena.kind(c) == Kind::Table)
}

/// Appends a later piece to the arena; false when the pieces do not join cleanly.
fn join(acc: &mut Arena, piece: Arena, text: &str) -> bool {
    let Some(added) = acc.append(piece) else {
        return false;
    };
    let Some(root) = acc.table_entries(ROOT) else {
        return false;
    };
    let mut entries = root;
    for (key, id) in added {
        let Some(&(_, existing)) = entries.iter().find(|(k, _)| *k == key) else {
            entries.push((key, id));
            continue;
        };
        if !is_array_of_tables(acc, existing, text) || !is_array_of_tables(acc, id, text) {
            return false;
        }
        let moved = std::mem::take(acc.array_mut(id).expect("an array of tables"));
        for &child in &moved {
            acc.nodes[child as usize].parent = existing;
        }
        acc.array_mut(existing)
            .expect("an array of tables")
            .extend_from_slice(&moved);
    }
    let ids: Vec<NodeId> = entries.iter().map(|&(_, id)| id).collect();
    acc.set_table(ROOT, &ids);
    true
}

/// Refuses brackets or braces nested deeper than [`MAX_DEPTH`] (outside strings and
/// comments) before the recursive parser sees them, and finds where a large file may
/// be cut: before a top-level `[[key]]` header with a bare, undotted key.
pub(super) fn scan(text: &str, piece: usize) -> Result<Vec<usize>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
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
                    && i + 1 - last >= piece
                    && text.len() - i > piece / 2
                    && is_top_array_header(&bytes[i + 1..]) =>
            {
                starts.push(i + 1);
                last = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(starts)
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
    use crate::estate::Value;
    use proptest::prelude::*;

    type Shape = (String, (u32, u32), (u32, u32), &'static str, String);

    fn key(r: std::ops::Range<usize>) -> (u32, u32) {
        (r.start as u32, r.end as u32)
    }

    fn shape(d: &Doc) -> Vec<Shape> {
        let mut out = Vec::new();
        let mut stack = vec![ROOT];
        while let Some(id) = stack.pop() {
            out.push((
                d.path(id),
                key(d.span(id)),
                key(d.key_span(id)),
                d.type_name(id),
                match d.value(id) {
                    Value::Array(_) | Value::Table(_) => String::new(),
                    v => format!("{v:?}"),
                },
            ));
            stack.extend(d.children(id).into_iter().rev());
        }
        out
    }

    /// Whether every numbered string's number is the one its text has: then equal
    /// numbers mean equal texts, however the pieces were numbered and joined.
    fn numbers_name_texts(d: &Doc) -> bool {
        (0..d.node_count() as NodeId).all(|id| match d.number(id) {
            Some(n) => d.str_of(id).and_then(|t| d.number_of(t)) == Some(n),
            None => true,
        })
    }

    fn both(text: &str) -> (Result<Doc, Vec<SyntaxError>>, Result<Doc, Vec<SyntaxError>>) {
        let src = Arc::new(Source::new("t.toml", text.to_string()));
        (
            parse_in_pieces_of(src.clone(), usize::MAX),
            parse_in_pieces_of(src, 40),
        )
    }

    #[test]
    fn parsing_in_pieces_matches_whole_parsing() {
        let mut text = String::from("title = \"x\"\n[upgrade]\nipv6 = true\n");
        for i in 0..50 {
            text.push_str(&format!("[[servers]]\nname = \"s{i}\"\n[servers.backup]\nfiles = [\"a\",\n \"b\"]\n[[servers.domains]]\nname = \"d\"\n"));
        }
        for i in 0..200 {
            text.push_str(&format!("[[clients]] # c\nname = \"c{i}\"\nnote = \"\"\"\n[[clients]]\n\"\"\"\ninline = {{ a = [1, 2] }}\n"));
            // Escaped quotes and backslashes, and a literal string ending in one.
            text.push_str("esc = \"a\\\"[[x]]\\\\\"\nlit = 'C:\\[[y]]\\'\n");
        }
        // A table reopened after other headers: pieces cannot simply be appended.
        text.push_str("[[servers]]\nname = \"late\"\n[site]\nx = 1\n");
        let starts = scan(&text, 40).unwrap();
        assert!(starts.len() > 100, "the text is cut into many pieces");
        assert!(
            parse_pieces(&text, &starts).is_some(),
            "the pieces join without falling back"
        );
        let (whole, pieced) = both(&text);
        let (whole, pieced) = (whole.unwrap(), pieced.unwrap());
        assert_eq!(shape(&whole), shape(&pieced));
        assert!(numbers_name_texts(&whole) && numbers_name_texts(&pieced));
        // `d` repeats in every piece: one number, found from its text.
        let d = pieced.number_of("d").unwrap();
        let domains = pieced.get(
            pieced.children(pieced.get(ROOT, "servers").unwrap())[7],
            "domains",
        );
        let first = pieced.children(domains.unwrap())[0];
        assert_eq!(pieced.number(pieced.get(first, "name").unwrap()), Some(d));
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
            parse_pieces(&valid, &scan(&valid, 40).unwrap()).is_none(),
            "falls back"
        );
        let (whole, pieced) = both(&valid);
        assert_eq!(shape(&whole.unwrap()), shape(&pieced.unwrap()));
        // Invalid TOML: a table defined twice, in different pieces.
        let invalid = format!("[site]\na = 1\n{text}[site]\nb = 2\n");
        let (whole, pieced) = both(&invalid);
        let (w, c) = (whole.unwrap_err(), pieced.unwrap_err());
        assert_eq!(
            w.iter().map(|e| &e.span).collect::<Vec<_>>(),
            c.iter().map(|e| &e.span).collect::<Vec<_>>()
        );
        // An error inside a later piece is reported at its place in the file.
        let broken = format!("{text}[[clients]]\nname = \n");
        let (whole, pieced) = both(&broken);
        let (w, c) = (whole.unwrap_err(), pieced.unwrap_err());
        assert_eq!(w[0].span, c[0].span);
        assert!(w[0].span.start > text.len());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let errs = doc_of(&deep).unwrap_err();
        assert!(errs[0].message.contains("nested"));
        assert!(doc_of("[[a]]\n[[a]]\nb = [[1]]\n").is_ok());
    }

    fn doc_of(text: &str) -> Result<Doc, Vec<SyntaxError>> {
        parse(Arc::new(Source::new("t.toml", text.to_string())))
    }

    /// One `key = value` line of a generated estate.
    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("name".to_string()),
            Just("os".to_string()),
            Just("\"quoted key\"".to_string()),
            Just("a.dotted".to_string()),
            "[a-z]{1,8}",
        ];
        let value = prop_oneof![
            any::<i64>().prop_map(|i| i.to_string()),
            Just("3.5".to_string()),
            Just("true".to_string()),
            Just("1979-05-27".to_string()),
            "[a-zA-Z0-9 ]{0,12}".prop_map(|t| format!("\"{t}\"")),
            Just("\"tab\\tand \\\"quote\\\"\"".to_string()),
            Just("'C:\\dir\\[[x]]'".to_string()),
            Just("\"\"\"\nmulti\n[[clients]]\n\"\"\"".to_string()),
            Just("[1, [2, 3], { a = \"b\" }]".to_string()),
            Just("{ x = 1, y = [\"z\"] }".to_string()),
            // A string long enough that its span needs the side map.
            Just(format!("\"{}\"", "v".repeat(70_000))),
        ];
        (key, value).prop_map(|(k, v)| format!("{k} = {v}\n"))
    }

    /// A table header and its lines: mostly arrays of tables, sometimes a sub-table
    /// or a plain table (which makes the join give up).
    fn section() -> impl Strategy<Value = String> {
        let header = prop_oneof![
            6 => Just("[[clients]]".to_string()),
            3 => Just("[[servers]]".to_string()),
            1 => Just("[servers.backup]".to_string()),
            1 => Just("[[servers.domains]]".to_string()),
            1 => Just("[site]".to_string()),
        ];
        (header, prop::collection::vec(line(), 0..5))
            .prop_map(|(h, lines)| format!("{h}\n{}\n", lines.concat()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the text, parsing in small pieces gives the same document, or the
        /// same errors, as parsing it whole.
        #[test]
        fn pieces_give_the_document_of_a_whole_parse(
            head in prop::collection::vec(line(), 0..3),
            sections in prop::collection::vec(section(), 1..40),
        ) {
            let text = format!("{}{}", head.concat(), sections.concat());
            match both(&text) {
                (Ok(w), Ok(p)) => {
                    prop_assert_eq!(shape(&w), shape(&p));
                    prop_assert!(numbers_name_texts(&w) && numbers_name_texts(&p));
                }
                (Err(w), Err(p)) => prop_assert_eq!(
                    w.iter().map(|e| e.span.clone()).collect::<Vec<_>>(),
                    p.iter().map(|e| e.span.clone()).collect::<Vec<_>>()
                ),
                (w, p) => prop_assert!(false, "one parse failed: {:?} vs {:?}", w.err(), p.err()),
            }
        }
    }
}

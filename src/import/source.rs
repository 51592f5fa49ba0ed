//! Reading SOURCE: the export's bytes decoded to text (UTF-8, or UTF-16 with a BOM),
//! then read as CSV with a header row or as a JSON array / JSON Lines of objects, into
//! rows of named cells that remember where they were.

use crate::estate::Source;
use crate::report::{Failure, FailureKind};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

/// One cell of a row: CSV cells are text; JSON keeps its scalar types.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Cell {
    /// The cell as text, for matching keys and `values` spellings.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Integer(i) => Cow::Owned(i.to_string()),
            Cell::Float(f) => Cow::Owned(f.to_string()),
            Cell::Bool(b) => Cow::Owned(b.to_string()),
        }
    }
}

/// One data row: its 1-based line, its span in the source, its cells by column name
/// (an empty cell or a JSON `null` is absent). Column names are shared between rows:
/// 100,000 rows need not copy the header 100,000 times.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: usize,
    pub span: Range<usize>,
    pub cells: Vec<(Arc<str>, Cell)>,
}

impl Row {
    pub fn get(&self, column: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|(c, _)| &**c == column)
            .map(|(_, v)| v)
    }
}

/// The export as read: the decoded text (for locating failures), the CSV header when
/// there is one, and the rows that could be read.
#[derive(Debug)]
pub struct Export {
    pub source: Arc<Source>,
    pub header: Option<Vec<String>>,
    pub rows: Vec<Row>,
}

/// The delimiters looked for in a CSV header, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Decodes `bytes`: a UTF-8 or UTF-16 byte-order mark decides, else UTF-8 is required.
pub fn decode(name: &str, bytes: &[u8]) -> Result<Source, Box<Failure>> {
    match encoding_rs::Encoding::for_bom(bytes) {
        Some((encoding, bom)) => {
            match encoding.decode_without_bom_handling_and_without_replacement(&bytes[bom..]) {
                Some(text) => Ok(Source::new(name, text.into_owned())),
                None => Err(Box::new(Failure::unlocated(
                    FailureKind::Io,
                    name,
                    format!("file is not valid {}", encoding.name()),
                ))),
            }
        }
        None => crate::files::source_from_bytes(name.to_string(), bytes.to_vec()),
    }
}

/// The delimiter the header line uses most outside quotes (`,` when it uses none).
pub fn detect_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = DELIMITERS.iter().position(|d| *d == b) {
                counts[i] += 1;
            }
        }
    }
    let best = (0..DELIMITERS.len())
        .max_by(|a, b| counts[*a].cmp(&counts[*b]).then(b.cmp(a)))
        .unwrap_or(0);
    DELIMITERS[best]
}

/// Reads the export: JSON when the text starts with `[` or `{`, else CSV. Rows that
/// cannot be read are failures; the rows that can are still returned.
pub fn read(source: Source, delimiter: Option<u8>) -> (Export, Vec<Failure>) {
    let source = Arc::new(source);
    let text = source.text();
    match text.trim_start().as_bytes().first() {
        Some(b'[' | b'{') => read_json(source),
        _ => read_csv(
            source.clone(),
            delimiter.unwrap_or_else(|| detect_delimiter(text)),
        ),
    }
}

fn line_span(source: &Source, offset: usize) -> Range<usize> {
    source.line_range(source.line_of(offset))
}

fn read_csv(source: Arc<Source>, delimiter: u8) -> (Export, Vec<Failure>) {
    let mut failures = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(source.text().as_bytes());
    let header: Vec<Arc<str>> = match reader.headers() {
        Ok(h) => h.iter().map(|c| Arc::from(c.trim())).collect(),
        Err(e) => {
            failures.push(csv_failure(&source, &e));
            return (
                Export {
                    source,
                    header: None,
                    rows: Vec::new(),
                },
                failures,
            );
        }
    };
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let pos = record.position().expect("records read from text have one");
                // csv counts lines its own way around blank lines; the byte is exact.
                let mut at = pos.byte() as usize;
                let bytes = source.text().as_bytes();
                while matches!(bytes.get(at), Some(b'\r' | b'\n')) {
                    at += 1;
                }
                let span = line_span(&source, at);
                let line = source.line_of(at) + 1;
                if record.len() != header.len() {
                    failures.push(Failure::located(
                        FailureKind::Io,
                        &source,
                        span,
                        format!(
                            "row on line {line} has {} fields, the header has {}",
                            record.len(),
                            header.len()
                        ),
                    ));
                    continue;
                }
                let cells = header
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, v)| !v.trim().is_empty())
                    .map(|(c, v)| (c.clone(), Cell::Text(v.trim().to_string())))
                    .collect();
                rows.push(Row { line, span, cells });
            }
            Err(e) => {
                // Past an unreadable record the positions of the rest mean little.
                failures.push(csv_failure(&source, &e));
                break;
            }
        }
    }
    let export = Export {
        source,
        header: Some(header.iter().map(|h| h.to_string()).collect()),
        rows,
    };
    (export, failures)
}

fn csv_failure(source: &Arc<Source>, e: &csv::Error) -> Failure {
    let span = e
        .position()
        .map_or(0..0, |p| line_span(source, p.byte() as usize));
    Failure::located(
        FailureKind::Io,
        source,
        span,
        format!("cannot read CSV: {e}"),
    )
}

/// Reads a JSON array of objects or JSON Lines, value by value, so every row knows
/// where it starts.
fn read_json(source: Arc<Source>) -> (Export, Vec<Failure>) {
    let text = source.text();
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let skip_ws = |mut i: usize| {
        while text.as_bytes().get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut pos = skip_ws(0);
    let array = text.as_bytes().get(pos) == Some(&b'[');
    if array {
        pos = skip_ws(pos + 1);
    }
    let fail = |at: usize, message: String| {
        let at = at.min(text.len());
        Failure::located(FailureKind::Io, &source, at..at, message)
    };
    loop {
        if pos >= text.len() {
            if array {
                failures.push(fail(pos, "the JSON array is not closed with `]`".into()));
            }
            break;
        }
        if array && text.as_bytes()[pos] == b']' {
            if skip_ws(pos + 1) < text.len() {
                failures.push(fail(skip_ws(pos + 1), "text after the JSON array".into()));
            }
            break;
        }
        let mut stream =
            serde_json::Deserializer::from_str(&text[pos..]).into_iter::<serde_json::Value>();
        let value = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                let at = pos + stream.byte_offset();
                failures.push(fail(at, format!("cannot read JSON: {e}")));
                break;
            }
            None => break,
        };
        let end = pos + stream.byte_offset();
        let line = source.line_of(pos) + 1;
        match row_of(&source, pos..end, line, value) {
            Ok(row) => rows.push(row),
            Err(f) => failures.push(*f),
        }
        pos = skip_ws(end);
        if array && text.as_bytes().get(pos) == Some(&b',') {
            pos = skip_ws(pos + 1);
        }
    }
    let export = Export {
        source,
        header: None,
        rows,
    };
    (export, failures)
}

fn row_of(
    source: &Arc<Source>,
    span: Range<usize>,
    line: usize,
    value: serde_json::Value,
) -> Result<Row, Box<Failure>> {
    let first_line = line_span(source, span.start);
    let serde_json::Value::Object(object) = value else {
        return Err(Box::new(Failure::located(
            FailureKind::Io,
            source,
            first_line,
            format!("row on line {line} is not a JSON object"),
        )));
    };
    let mut cells = Vec::new();
    for (column, v) in object {
        let cell = match v {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) if s.trim().is_empty() => continue,
            serde_json::Value::String(s) => Cell::Text(s.trim().to_string()),
            serde_json::Value::Bool(b) => Cell::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Cell::Integer(i),
                None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            _ => {
                return Err(Box::new(Failure::located(
                    FailureKind::Io,
                    source,
                    first_line,
                    format!("row on line {line}: column `{column}` holds a nested value; only text, numbers and booleans can be imported"),
                )))
            }
        };
        cells.push((Arc::from(column), cell));
    }
    Ok(Row {
        line,
        span: first_line,
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> (Export, Vec<Failure>) {
        read(Source::new("s", text.to_string()), None)
    }

    #[test]
    fn delimiter_is_the_one_the_header_uses_most() {
        assert_eq!(detect_delimiter("a;b;c\n1,5;2;3"), b';');
        assert_eq!(detect_delimiter("a\tb\n"), b'\t');
        assert_eq!(detect_delimiter("\"a,b\"|c|d\n"), b'|');
        assert_eq!(detect_delimiter("single\n"), b',');
    }

    #[test]
    fn utf16_with_bom_decodes() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "Name;OS\r\npc1;Windows 7\r\n".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        let source = decode("s.csv", &bytes).unwrap();
        let (export, failures) = read(source, None);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(
            export.rows[0].get("OS"),
            Some(&Cell::Text("Windows 7".into()))
        );
        assert_eq!(export.rows[0].line, 2);
    }

    #[test]
    fn a_short_row_is_located_on_its_line() {
        let (export, failures) = rows("a,b\n1,2\n\n3\n4,5\n");
        assert_eq!(export.rows.len(), 2);
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].message.contains("line 4"),
            "{}",
            failures[0].message
        );
    }

    #[test]
    fn json_lines_and_arrays_keep_lines_and_types() {
        let (e, f) = rows("{\"n\": \"a\", \"p\": 80}\n{\"n\": \"b\", \"x\": null}\n");
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(e.rows[1].line, 2);
        assert_eq!(e.rows[0].get("p"), Some(&Cell::Integer(80)));
        assert_eq!(e.rows[1].get("x"), None);
        let (e, f) = rows("[\n  {\"n\": \"a\"},\n  {\"n\": true}\n]\n");
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(e.rows[1].line, 3);
        assert_eq!(e.rows[1].get("n"), Some(&Cell::Bool(true)));
        let (_, f) = rows("[{\"n\": [1]}, 3]");
        assert_eq!(f.len(), 2);
    }
}

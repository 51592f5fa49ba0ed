//! A loaded text file (estate or rule) with its line index.
//!
//! The index makes every span lookup a binary search, so rendering a diagnostic
//! costs the same at the end of a 20 MB file as at its start (miette's stock
//! `SourceCode` for `str` rescans from byte 0 on every read). It keeps the start of
//! every [`STRIDE`]th line only, and counts the few lines between: an index of every
//! line would be a quarter of a large estate's size again.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use std::ops::Range;

/// One source text: its display name, the text, and where each line starts.
#[derive(Debug)]
pub struct Source {
    /// Shared with the findings on this file.
    name: std::sync::Arc<str>,
    text: String,
    /// Built on first use: a clean run over a large file never needs it.
    marks: std::sync::OnceLock<Marks>,
}

/// Lines in the index are this far apart.
const STRIDE: usize = 32;

/// Where every [`STRIDE`]th line starts, and how many lines there are.
#[derive(Debug)]
struct Marks {
    starts: Vec<usize>,
    lines: usize,
}

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl Marks {
    /// The marks of `bytes`. Line breaks are counted a block at a time (a count the
    /// compiler turns into vector instructions); only a block holding a mark is
    /// searched break by break. A report on a large estate waits for this.
    fn of(bytes: &[u8]) -> Marks {
        const BLOCK: usize = 64;
        let mut starts = vec![0];
        // The number the next line break has, counting from 1.
        let mut lines = 1;
        for (b, block) in bytes.chunks(BLOCK).enumerate() {
            // A whole block as an array: its count is unrolled into vector adds.
            let n = match <&[u8; BLOCK]>::try_from(block) {
                Ok(whole) => whole.iter().map(|&c| u8::from(c == b'\n')).sum::<u8>() as usize,
                Err(_) => memchr_newlines(block).count(),
            };
            // Is a multiple of STRIDE among the numbers lines..lines + n?
            if lines % STRIDE + n < STRIDE && lines % STRIDE != 0 {
                lines += n;
                continue;
            }
            for i in memchr_newlines(block) {
                if lines % STRIDE == 0 {
                    starts.push(b * BLOCK + i + 1);
                }
                lines += 1;
            }
        }
        Marks { starts, lines }
    }
}

impl Source {
    pub fn new(name: impl Into<String>, text: String) -> Self {
        Source {
            name: name.into().into(),
            text,
            marks: std::sync::OnceLock::new(),
        }
    }

    fn marks(&self) -> &Marks {
        self.marks.get_or_init(|| Marks::of(self.text.as_bytes()))
    }

    /// Byte offset where 0-based line `line` starts, if the text has that line.
    fn line_start(&self, line: usize) -> Option<usize> {
        let marks = self.marks();
        if line >= marks.lines {
            return None;
        }
        let from = marks.starts[line / STRIDE];
        Some(match line % STRIDE {
            0 => from,
            n => memchr_newlines(&self.text.as_bytes()[from..]).nth(n - 1)? + from + 1,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name, shared rather than copied.
    pub fn name_shared(&self) -> std::sync::Arc<str> {
        self.name.clone()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// 0-based index of the line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let starts = &self.marks().starts;
        let mark = match starts.binary_search(&offset) {
            Ok(i) => return i * STRIDE,
            Err(i) => i - 1,
        };
        let end = offset.min(self.text.len());
        mark * STRIDE + memchr_newlines(&self.text.as_bytes()[starts[mark]..end]).count()
    }

    /// Byte range of 0-based line `line`, without its line break.
    pub fn line_range(&self, line: usize) -> Range<usize> {
        let start = self.line_start(line).unwrap_or(self.text.len());
        let bytes = self.text.as_bytes();
        let mut end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
        if end > start && bytes[end - 1] == b'\n' {
            end -= 1;
        }
        if end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    /// 1-based line and character column of byte `offset` (clamped to the text).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = self.floor_char(offset.min(self.text.len()));
        let line = self.line_of(offset);
        let start = self.line_start(line).unwrap_or(offset);
        let column = self.text[start..offset].chars().count() + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }

    /// Byte offset of a 1-based line and character column, clamped to the text.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(start) = self.line_start(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let range = self.line_range(line.saturating_sub(1));
        self.text[range.clone()]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map(|(i, _)| start + i)
            .unwrap_or(range.end)
    }

    pub fn line_count(&self) -> usize {
        self.marks().lines
    }

    fn floor_char(&self, mut offset: usize) -> usize {
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', bytes)
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset();
        let end = start + span.len();
        if end > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first = self.line_of(start);
        if before == 0 && after == 0 {
            // miette asks for the bare span to learn where a label starts.
            let line_start = self.line_start(first).unwrap_or(0);
            let column = self.text[line_start..self.floor_char(start)]
                .chars()
                .count();
            return Ok(Box::new(MietteSpanContents::new_named(
                self.name.to_string(),
                &self.text.as_bytes()[start..end],
                *span,
                first,
                column,
                self.line_of(end.saturating_sub(1).max(start)) - first + 1,
            )));
        }
        let last = self.line_of(end.saturating_sub(1).max(start));
        let from_line = first.saturating_sub(before);
        let to_line = (last + after).min(self.line_count() - 1);
        let data_start = self.line_start(from_line).unwrap_or(0);
        let data_end = self.line_start(to_line + 1).unwrap_or(self.text.len());
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            &self.text.as_bytes()[data_start..data_end],
            (data_start, data_end - data_start).into(),
            from_line,
            0,
            to_line - from_line + 1,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let s = Source::new("x", "a = 1\nné = \"é\"\r\nz".into());
        assert_eq!(s.line_col(0), LineCol { line: 1, column: 1 });
        // `=` on line 2 comes after the two characters `né` and a space.
        let eq = s.text().find("= \"").unwrap();
        assert_eq!(s.line_col(eq), LineCol { line: 2, column: 4 });
        assert_eq!(s.line_range(1), 6..16);
        assert_eq!(s.offset_of(2, 4), eq);
        assert_eq!(s.line_col(s.text().len()).line, 3);
    }

    #[test]
    fn read_span_returns_whole_context_lines() {
        let s = Source::new("x", "l1\nl2\nl3\nl4\n".into());
        let c = s.read_span(&(6, 2).into(), 1, 1).unwrap();
        assert_eq!(std::str::from_utf8(c.data()).unwrap(), "l2\nl3\nl4\n");
        assert_eq!(c.line(), 1);
        let bare = s.read_span(&(6, 2).into(), 0, 0).unwrap();
        assert_eq!(bare.data(), b"l3");
        assert_eq!((bare.line(), bare.column()), (2, 0));
    }

    #[test]
    fn marks_counted_by_block_are_the_marks_of_every_break() {
        let every = |bytes: &[u8]| {
            let (mut starts, mut lines) = (vec![0], 1);
            for i in memchr_newlines(bytes) {
                if lines % STRIDE == 0 {
                    starts.push(i + 1);
                }
                lines += 1;
            }
            (starts, lines)
        };
        // Lines from empty to longer than a block, breaks at block edges included.
        let mut text = String::new();
        for i in 0..3000usize {
            text.push_str(&"é".repeat((i * 7919) % 97));
            text.push('\n');
            if i > 100 && i % 97 != 0 {
                continue;
            }
            let m = Marks::of(text.as_bytes());
            assert_eq!(
                (m.starts, m.lines),
                every(text.as_bytes()),
                "{} bytes",
                text.len()
            );
        }
    }

    #[test]
    fn lines_between_index_marks_are_counted() {
        // Enough lines for several marks, with line ends of both kinds.
        let mut text = String::new();
        let mut starts = Vec::new();
        for i in 0..200 {
            starts.push(text.len());
            text.push_str(&format!(
                "k{i} = {i}{}",
                if i % 3 == 0 { "\r\n" } else { "\n" }
            ));
        }
        let s = Source::new("x", text.clone());
        assert_eq!(s.line_count(), 201);
        for (line, &start) in starts.iter().enumerate() {
            assert_eq!(s.line_of(start), line);
            assert_eq!(s.line_of(start + 2), line);
            assert_eq!(s.line_start(line), Some(start));
            let range = s.line_range(line);
            assert_eq!(&text[range], format!("k{line} = {line}"));
            assert_eq!(
                s.line_col(start + 1),
                LineCol {
                    line: line + 1,
                    column: 2
                }
            );
            assert_eq!(s.offset_of(line + 1, 2), start + 1);
        }
        assert_eq!(s.line_of(text.len()), 200);
        assert_eq!(s.line_start(201), None);
        assert_eq!(s.line_range(200), text.len()..text.len());
    }
}

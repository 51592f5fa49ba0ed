//! What a terminal is shown of an estate: control characters and bidirectional
//! overrides escaped, lines longer than a screen clipped around the spans, with line
//! and column numbers still those of the file.

use crate::estate::Source;
use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

/// Lines longer than this many bytes are clipped around what they show.
const MAX_LINE: usize = 200;
/// Bytes of context kept on each side of a span in a clipped line.
const CONTEXT: usize = 60;
/// The most of one span a clipped line shows.
const MAX_SPAN: usize = 120;
/// Lines shown around each span (miette's default context).
const AROUND: usize = 1;

/// Characters a terminal would act on rather than show.
pub fn hidden(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(
            c,
            // Bidi overrides and isolates, bidi marks, and line/paragraph separators.
            '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{061c}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `text` with control characters and bidirectional overrides written as `\u{..}`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The lines of a source around some spans, made safe to print.
pub struct Excerpt {
    name: String,
    text: Source,
    /// 0-based number of the source line the excerpt starts with.
    first_line: usize,
    /// Excerpt offset of each mapped source offset.
    offsets: HashMap<usize, usize>,
    /// Real 0-based (line, column) of each mapped excerpt offset, for miette's header.
    positions: HashMap<usize, (usize, usize)>,
}

impl Excerpt {
    /// The excerpt of `source` showing `spans`.
    pub fn new(source: &Source, spans: &[Range<usize>]) -> Excerpt {
        let len = source.text().len();
        let spans: Vec<Range<usize>> = spans
            .iter()
            .map(|s| s.start.min(len)..s.end.min(len).max(s.start.min(len)))
            .collect();
        let lines: Vec<usize> = spans
            .iter()
            .flat_map(|s| [source.line_of(s.start), source.line_of(s.end)])
            .collect();
        let first = lines
            .iter()
            .min()
            .copied()
            .unwrap_or(0)
            .saturating_sub(AROUND);
        let last = (lines.iter().max().copied().unwrap_or(0) + AROUND)
            .min(source.line_count().saturating_sub(1));
        let points: Vec<usize> = spans.iter().flat_map(|s| [s.start, s.end]).collect();
        let mut out = String::new();
        let mut offsets = HashMap::new();
        for line in first..=last {
            let range = source.line_range(line);
            let here: Vec<usize> = points
                .iter()
                .copied()
                .filter(|p| range.contains(p) || *p == range.end)
                .collect();
            let window = window(source.text(), &range, &here);
            if window.start > range.start {
                out.push('…');
            }
            let text = source.text();
            for (i, c) in text[window.clone()].char_indices() {
                let at = window.start + i;
                offsets.entry(at).or_insert(out.len());
                if hidden(c) {
                    out.push_str(&c.escape_unicode().to_string());
                } else {
                    out.push(c);
                }
            }
            offsets.entry(window.end).or_insert(out.len());
            // Points clipped away land on the nearest edge of the window.
            for p in &here {
                let clamped = (*p).clamp(window.start, window.end);
                let mapped = offsets[&clamped];
                offsets.entry(*p).or_insert(mapped);
            }
            if window.end < range.end {
                out.push('…');
            }
            if range.end < len {
                out.push('\n');
            }
        }
        let positions = points
            .iter()
            .filter_map(|p| {
                let at = source.line_col(*p);
                offsets.get(p).map(|o| (*o, (at.line - 1, at.column - 1)))
            })
            .collect();
        Excerpt {
            name: source.name().to_string(),
            text: Source::new(source.name(), out),
            first_line: first,
            offsets,
            positions,
        }
    }

    /// Where source span `span` lies in the excerpt.
    pub fn span(&self, span: &Range<usize>) -> Range<usize> {
        let start = self.offsets.get(&span.start).copied().unwrap_or(0);
        let end = self.offsets.get(&span.end).copied().unwrap_or(start);
        start..end.max(start)
    }
}

/// The part of line `range` to show: whole when short, else around its `points`.
fn window(text: &str, range: &Range<usize>, points: &[usize]) -> Range<usize> {
    if range.len() <= MAX_LINE {
        return range.clone();
    }
    let floor = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (lo, hi) = match (points.iter().min(), points.iter().max()) {
        (Some(lo), Some(hi)) => (*lo, (*hi).min(*lo + MAX_SPAN)),
        _ => (range.start, range.start),
    };
    let start = floor(lo.saturating_sub(CONTEXT).max(range.start));
    let end = floor((hi + CONTEXT).min(range.end));
    start..end
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        let (line, column) = match (before, after, self.positions.get(&span.offset())) {
            (0, 0, Some(real)) => *real,
            _ => (inner.line() + self.first_line, inner.column()),
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            line,
            column,
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("x\u{202e}y\u{2066}"), "x\\u{202e}y\\u{2066}");
        assert_eq!(escape("tab\tok"), "tab\tok");
        assert_eq!(
            escape("in-\u{200f}place\u{2028}x\u{61c}"),
            "in-\\u{200f}place\\u{2028}x\\u{61c}"
        );
    }

    #[test]
    fn clips_long_lines_around_the_span() {
        let long = format!("a = \"{}\" # end", "x".repeat(70_000));
        let text = format!("first = 1\n{long}\nlast = 2\n");
        let source = Source::new("t.toml", text.clone());
        let at = text.find("# end").unwrap();
        let span = at..at + 5;
        let excerpt = Excerpt::new(&source, std::slice::from_ref(&span));
        let shown = excerpt.text.text();
        assert!(shown.len() < 400, "{}", shown.len());
        let span = excerpt.span(&(at..at + 5));
        assert_eq!(&shown[span], "# end");
        assert!(shown.starts_with("first = 1\n…"));
    }
}

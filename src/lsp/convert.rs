//! Between preflight's byte offsets and the protocol's UTF-16 positions, and from
//! findings, failures and fixes to diagnostics and text edits.

use crate::estate::Source;
use crate::report::{Failure, Finding, Fix, Severity};
use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Position, Range, TextEdit, Uri,
};
use std::sync::Arc;

/// The name diagnostics carry as their source.
pub const SOURCE: &str = "preflight";

/// The position of byte `offset` (clamped to the text and to a character boundary).
pub fn position(src: &Source, offset: usize) -> Position {
    let text = src.text();
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line = src.line_of(offset);
    let start = src.line_range(line).start;
    let character = text[start..offset].encode_utf16().count();
    Position::new(line as u32, character as u32)
}

pub fn range(src: &Source, span: std::ops::Range<usize>) -> Range {
    Range::new(position(src, span.start), position(src, span.end))
}

/// The byte offset of `pos`; past the end of a line is its end, past the last line
/// is the end of the text, and inside a surrogate pair is the character's start.
pub fn offset(src: &Source, pos: Position) -> usize {
    let text = src.text();
    let line = pos.line as usize;
    if line >= src.line_count() {
        return text.len();
    }
    let r = src.line_range(line);
    let mut units = 0u32;
    for (i, c) in text[r.clone()].char_indices() {
        if units + c.len_utf16() as u32 > pos.character {
            return r.start + i;
        }
        units += c.len_utf16() as u32;
    }
    r.end
}

pub fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Note => DiagnosticSeverity::INFORMATION,
    }
}

/// A finding of document `uri` as a diagnostic: code = rule id, labels as related
/// information.
pub fn finding(uri: &Uri, f: &Finding) -> Diagnostic {
    let src = &f.source;
    let mut message = f.message.clone();
    if let Some(help) = f.help.as_deref().filter(|h| !h.is_empty()) {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = f
        .labels
        .iter()
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), range(src, l.span.clone())),
            message: l.text.clone(),
        })
        .collect();
    Diagnostic {
        range: range(src, f.span.clone()),
        severity: Some(severity(f.severity)),
        code: Some(NumberOrString::String(f.rule.to_string())),
        source: Some(SOURCE.to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Diagnostic::default()
    }
}

/// The whole first line: where a problem with no place in the document shows.
pub fn first_line(doc: &Source) -> Range {
    let end = doc.line_range(0).end;
    range(doc, 0..end)
}

/// A failure as a diagnostic of document `doc`: at its span when it is located in
/// this document, else on the first line, naming where it happened.
pub fn failure(doc: &Arc<Source>, f: &Failure) -> Diagnostic {
    let here = f
        .source
        .as_ref()
        .is_some_and(|s| Arc::ptr_eq(s, doc) || s.name() == doc.name() && s.text() == doc.text());
    let (range, mut message) = match (&f.span, here) {
        (Some(span), true) => (range(doc, span.clone()), f.message.clone()),
        _ if f.file.is_empty() || f.file == doc.name() => (first_line(doc), f.message.clone()),
        _ => (first_line(doc), format!("{}: {}", f.location(), f.message)),
    };
    if let Some(note) = &f.note {
        message.push('\n');
        message.push_str(note);
    }
    Diagnostic {
        range,
        severity: Some(DiagnosticSeverity::ERROR),
        code: Some(NumberOrString::String(f.kind.as_str().to_string())),
        source: Some(SOURCE.to_string()),
        message,
        ..Diagnostic::default()
    }
}

/// A fix's byte edits as text edits of `src`.
pub fn edits(src: &Source, fix: &Fix) -> Vec<TextEdit> {
    fix.edits
        .iter()
        .map(|e| TextEdit {
            range: range(src, e.offset..e.offset.saturating_add(e.length)),
            new_text: e.replacement.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Edit;

    #[test]
    fn positions_count_utf16_units() {
        // "é" is 2 bytes and 1 unit; "𝄞" is 4 bytes and 2 units.
        let src = Source::new("t", "a = \"é𝄞x\"\nb = 1\n".to_string());
        let x = src.text().find('x').unwrap();
        assert_eq!(position(&src, x), Position::new(0, 8));
        assert_eq!(offset(&src, Position::new(0, 8)), x);
        let b = src.text().find('b').unwrap();
        assert_eq!(position(&src, b), Position::new(1, 0));
        assert_eq!(offset(&src, Position::new(1, 0)), b);
        // Inside the surrogate pair: the character's start.
        let clef = src.text().find('𝄞').unwrap();
        assert_eq!(offset(&src, Position::new(0, 7)), clef);
        // Past the line's end, past the last line, inside a character.
        assert_eq!(offset(&src, Position::new(0, 99)), x + 2);
        assert_eq!(offset(&src, Position::new(9, 0)), src.text().len());
        assert_eq!(position(&src, clef + 1), Position::new(0, 6));
    }

    #[test]
    fn a_fix_becomes_text_edits() {
        let src = Source::new("t", "[[servers]]\nwéb_sever = \"IIS\"\n".to_string());
        let at = src.text().find("wéb_sever").unwrap();
        let fix = Fix {
            description: "rename `wéb_sever` to `web_server`".into(),
            edits: vec![Edit {
                replacement: "web_server".into(),
                offset: at,
                length: "wéb_sever".len(),
            }],
        };
        let e = edits(&src, &fix);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].new_text, "web_server");
        assert_eq!(
            e[0].range,
            Range::new(Position::new(1, 0), Position::new(1, 9))
        );
    }
}

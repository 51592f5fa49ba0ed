//! `--format github`: workflow commands that annotate the pull request's files.

use crate::report::{Report, Severity};

/// Escapes a command's message.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value.
fn prop(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.failures {
        let mut props = format!("file={}", prop(&f.file));
        if let (Some(src), Some(span)) = (&f.source, &f.span) {
            let lc = src.line_col(span.start);
            props.push_str(&format!(",line={},col={}", lc.line, lc.column));
        }
        out.push_str(&format!(
            "::error {props},title={}::{}\n",
            prop(&format!("preflight {}", f.kind.as_str())),
            data(&f.message)
        ));
    }
    for f in &report.findings {
        let command = if f.waived() {
            "notice"
        } else {
            match f.severity {
                Severity::Error if report.fails(f) => "error",
                Severity::Error | Severity::Warning => "warning",
                Severity::Note => "notice",
            }
        };
        let start = f.source.line_col(f.span.start);
        let end = f.source.line_col(f.span.end);
        let mut message = f.message.clone();
        if let Some(h) = &f.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        if f.waived() {
            message.push_str(&format!(
                "\nwaived: {}",
                f.waiver
                    .as_ref()
                    .map(|w| w.reason.clone())
                    .unwrap_or_default()
            ));
        }
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            prop(f.source.name()),
            start.line,
            start.column,
            end.line,
            end.column,
            prop(&f.rule),
            data(&message)
        ));
    }
    out
}

//! `--format github`: workflow commands that annotate the pull request's files.

use crate::report::{Report, Severity};

/// Escapes a command's message; control characters and bidirectional overrides are
/// written out, never passed to the log viewer.
fn data(s: &str) -> String {
    let s = super::excerpt::escape(s);
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value.
fn prop(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub shows at most this many annotations of each level per step.
const MAX_PER_LEVEL: usize = 10;

/// One annotation: level, properties, message.
struct Line {
    level: &'static str,
    props: String,
    message: String,
}

pub fn render(report: &Report) -> String {
    let mut lines = Vec::new();
    for f in &report.failures {
        let mut props = format!("file={}", prop(&f.file));
        if let (Some(src), Some(span)) = (&f.source, &f.span) {
            let lc = src.line_col(span.start);
            props.push_str(&format!(",line={},col={}", lc.line, lc.column));
        }
        props.push_str(&format!(
            ",title={}",
            prop(&format!("preflight {}", f.kind.as_str()))
        ));
        lines.push(Line {
            level: "error",
            props,
            message: f.message.clone(),
        });
    }
    if !report.policy_changes.is_empty() {
        lines.push(Line {
            level: "warning",
            props: "title=preflight policy changes".into(),
            message: format!(
                "the change touches the policy: {}",
                report.policy_list(", ")
            ),
        });
    }
    // Findings that fail the run come first, so the limit never hides one of them.
    let mut findings: Vec<_> = report.findings.iter().collect();
    findings.sort_by_key(|f| !report.fails(f));
    for f in findings {
        let level = if f.waived() {
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
        if let Some(w) = &f.waiver {
            message.push_str(&format!("\nwaived: {}", w.reason));
        }
        let mut props = format!("file={},line={}", prop(f.source.name()), start.line);
        // Columns only mean something on one line.
        if start.line == end.line {
            props.push_str(&format!(",col={}", start.column));
        }
        props.push_str(&format!(",endLine={}", end.line));
        if start.line == end.line {
            props.push_str(&format!(",endColumn={}", end.column));
        }
        props.push_str(&format!(",title={}", prop(&f.rule)));
        lines.push(Line {
            level,
            props,
            message,
        });
    }
    let mut out = String::new();
    let (mut errors, mut warnings, mut notices, mut left) = (0, 0, 0, 0);
    for l in lines {
        let count = match l.level {
            "error" => &mut errors,
            "warning" => &mut warnings,
            _ => &mut notices,
        };
        if *count == MAX_PER_LEVEL {
            left += 1;
            continue;
        }
        *count += 1;
        out.push_str(&format!(
            "::{} {}::{}\n",
            l.level,
            l.props,
            data(&l.message)
        ));
    }
    if left > 0 {
        out.push_str(&format!(
            "::notice title=preflight::{left} more annotations are not shown here; the job summary and the full report list them\n"
        ));
    }
    out
}

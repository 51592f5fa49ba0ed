//! `--format markdown`: a summary for a pull-request comment or a CI job summary.

use crate::report::{Report, Status};

/// Most finding rows a summary lists; GitHub refuses comments past 65,536 characters.
const MAX_ROWS: usize = 1000;

/// Estate and rule text made inert in a table cell: no markup, HTML, mention or
/// line break of its own survives.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '`' | '*' | '_' | '[' | ']' | '\\' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // A zero-width space keeps `@team` from notifying anyone.
            '@' => out.push_str("@\u{200b}"),
            '\n' | '\r' => out.push(' '),
            c if super::excerpt::hidden(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    let c = report.counts();
    let expired = report
        .findings
        .iter()
        .filter(|f| *f.rule == *crate::report::own::WAIVER_EXPIRED)
        .count();
    let verdict = match report.exit_code() {
        0 => "passed",
        1 => "failed",
        _ => "could not run",
    };
    let mut out = format!("## preflight: {verdict}\n\n");
    out.push_str("| new | existing | fixed | waived | expired waivers | errors | warnings | notes | failures |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let existing = report
        .findings
        .iter()
        .filter(|f| f.status == Some(Status::Existing) && !f.waived())
        .count();
    let new = if report.comparison.is_some() {
        c.new
    } else {
        report.findings.len() - c.waived
    };
    out.push_str(&format!(
        "| {new} | {existing} | {} | {} | {expired} | {} | {} | {} | {} |\n\n",
        report.fixed().len(),
        c.waived,
        c.errors,
        c.warnings,
        c.notes,
        report.failures.len()
    ));
    if !report.policy_changes.is_empty() {
        out.push_str("### Policy changes\n\n| file | change |\n|---|---|\n");
        for c in &report.policy_changes {
            out.push_str(&format!("| {} | {} |\n", cell(&c.file), cell(&c.change)));
        }
        out.push('\n');
    }
    if !report.failures.is_empty() {
        out.push_str("### Failures\n\n| kind | file | message |\n|---|---|---|\n");
        for f in &report.failures {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                f.kind.as_str(),
                cell(&f.file),
                cell(&f.message)
            ));
        }
        out.push('\n');
    }
    if !report.findings.is_empty() {
        out.push_str(
            "### Findings\n\n| | severity | rule | where | message |\n|---|---|---|---|---|\n",
        );
        let mut rows: Vec<_> = report.findings.iter().collect();
        // New findings lead.
        rows.sort_by_key(|f| f.status != Some(Status::New));
        let more = rows.len().saturating_sub(MAX_ROWS);
        for f in rows.into_iter().take(MAX_ROWS) {
            let at = f.source.line_col(f.span.start);
            let mark = match (f.waived(), f.status) {
                (true, _) => "waived",
                (_, Some(Status::New)) => "**new**",
                (_, Some(Status::Existing)) => "existing",
                _ => "",
            };
            out.push_str(&format!(
                "| {mark} | {} | {} | {}:{} {} | {} |\n",
                f.severity.as_str(),
                cell(&f.rule),
                cell(f.source.name()),
                at.line,
                cell(&f.path),
                cell(&f.message)
            ));
        }
        if more > 0 {
            out.push_str(&format!(
                "\nand {more} more findings, listed in the full report\n"
            ));
        }
        out.push('\n');
    }
    if !report.fixed().is_empty() {
        out.push_str("### Fixed\n\n| rule | where | message |\n|---|---|---|\n");
        for f in report.fixed() {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                cell(&f.rule),
                cell(&f.path),
                cell(&f.message)
            ));
        }
        out.push('\n');
    }
    out
}

//! `--format junit`: one test case per estate and rule evaluated, failing exactly when
//! that rule's findings fail the run; failures of the run are error cases.

use crate::report::{Finding, Report};
use std::collections::BTreeMap;

/// Text made safe for XML 1.0: markup escaped, characters XML forbids removed.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{fffe}' | '\u{ffff}' => {}
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// Test runners group cases by class; dots would split a file name into packages.
fn classname(file: &str) -> String {
    file.replace('.', "_")
}

pub fn render(report: &Report) -> String {
    // (position, file) -> rule -> findings that fail the run
    let mut files: BTreeMap<(usize, String), BTreeMap<String, Vec<&Finding>>> = BTreeMap::new();
    for (index, name) in &report.checked {
        let cases = files.entry((*index, name.clone())).or_default();
        for r in &report.rule_docs {
            cases.entry(r.id.clone()).or_default();
        }
    }
    for f in &report.findings {
        let cases = files
            .entry((f.file_index, f.source.name().to_string()))
            .or_default();
        let failing = cases.entry(f.rule.to_string()).or_default();
        if report.fails(f) {
            failing.push(f);
        }
    }
    let total_cases: usize = files.values().map(|c| c.len()).sum::<usize>() + report.failures.len();
    let total_failures: usize = files
        .values()
        .flat_map(|c| c.values())
        .filter(|v| !v.is_empty())
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"preflight\" tests=\"{total_cases}\" failures=\"{total_failures}\" errors=\"{}\">\n",
        report.failures.len()
    ));
    for ((_, file), cases) in &files {
        let failures = cases.values().filter(|v| !v.is_empty()).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">\n",
            esc(file),
            cases.len()
        ));
        for (rule, failing) in cases {
            out.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\"",
                esc(rule),
                esc(&classname(file))
            ));
            if failing.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            let lines: Vec<String> = failing
                .iter()
                .map(|f| {
                    let at = f.source.line_col(f.span.start);
                    format!("line {}: {} ({})", at.line, f.message, f.path)
                })
                .collect();
            out.push_str(&format!(
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                esc(&format!("{} finding(s) of {rule}", failing.len())),
                esc(rule),
                esc(&lines.join("\n"))
            ));
        }
        out.push_str("  </testsuite>\n");
    }
    if !report.failures.is_empty() {
        out.push_str(&format!(
            "  <testsuite name=\"preflight failures\" tests=\"{0}\" failures=\"0\" errors=\"{0}\">\n",
            report.failures.len()
        ));
        for (i, f) in report.failures.iter().enumerate() {
            let at = f.location();
            out.push_str(&format!(
                "    <testcase name=\"{} {} #{}\" classname=\"preflight\">\n      <error message=\"{}\" type=\"{}\">{at}: {}</error>\n    </testcase>\n",
                f.kind.as_str(),
                esc(&f.file),
                i + 1,
                esc(&f.message),
                f.kind.as_str(),
                esc(&f.message)
            ));
        }
        out.push_str("  </testsuite>\n");
    }
    if !report.policy_changes.is_empty() {
        out.push_str(&format!(
            "  <testsuite name=\"preflight policy\" tests=\"1\" failures=\"0\" errors=\"0\">\n    <testcase name=\"policy changes\" classname=\"preflight\">\n      <system-out>{}</system-out>\n    </testcase>\n  </testsuite>\n",
            esc(&report.policy_list("\n"))
        ));
    }
    out.push_str("</testsuites>\n");
    out
}

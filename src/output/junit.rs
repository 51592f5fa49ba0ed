//! `--format junit`: one test case per rule and file, a failure per finding.

use crate::report::Report;
use std::collections::BTreeMap;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    // file -> rule -> findings that fail the case
    let mut files: BTreeMap<(usize, String), BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for f in &report.findings {
        let file = (f.file_index, f.source.name().to_string());
        let cases = files.entry(file).or_default();
        for r in &report.rule_docs {
            cases.entry(r.id.clone()).or_default();
        }
        if !f.waived() {
            cases.entry(f.rule.clone()).or_default().push(format!(
                "{}: {} [{}] {}",
                f.location(),
                f.severity.as_str(),
                f.path,
                f.message
            ));
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total_cases: usize = files.values().map(|c| c.len()).sum();
    let total_failures: usize = files
        .values()
        .flat_map(|c| c.values())
        .filter(|v| !v.is_empty())
        .count();
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
        for (rule, found) in cases {
            out.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\"",
                esc(rule),
                esc(file)
            ));
            if found.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            for text in found {
                let message = text.split_once("] ").map_or(text.as_str(), |(_, m)| m);
                out.push_str(&format!(
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                    esc(message),
                    esc(rule),
                    esc(text)
                ));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    if !report.failures.is_empty() {
        out.push_str(&format!(
            "  <testsuite name=\"preflight failures\" tests=\"{0}\" failures=\"0\" errors=\"{0}\">\n",
            report.failures.len()
        ));
        for f in &report.failures {
            let at = match (&f.source, &f.span) {
                (Some(s), Some(span)) => {
                    let lc = s.line_col(span.start);
                    format!("{}:{}:{}", f.file, lc.line, lc.column)
                }
                _ => f.file.clone(),
            };
            out.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\">\n      <error message=\"{}\" type=\"{}\">{at}: {}</error>\n    </testcase>\n",
                esc(&f.file),
                f.kind.as_str(),
                esc(&f.message),
                f.kind.as_str(),
                esc(&f.message)
            ));
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

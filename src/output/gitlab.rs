//! `--format gitlab`: GitLab Code Quality, an array of issues with unique fingerprints.
//! Waived findings and findings already in the base are left out: GitLab shows what
//! the merge request must fix.

use crate::report::{Report, Severity, Status};
use serde_json::{json, Value};

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Note => "info",
    }
}

pub fn render(report: &Report) -> String {
    let mut issues: Vec<Value> = report
        .failures
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let line = match (&f.source, &f.span) {
                (Some(src), Some(span)) => src.line_col(span.start).line,
                _ => 1,
            };
            json!({
                "description": format!("preflight could not check this: {}", f.message),
                "check_name": format!("preflight/{}", f.kind.as_str()),
                "fingerprint": format!("failure-{i}-{}", f.kind.as_str()),
                "severity": "blocker",
                "location": { "path": f.file, "lines": { "begin": line } },
            })
        })
        .collect();
    for f in &report.findings {
        if f.waived() || f.status == Some(Status::Existing) {
            continue;
        }
        let level = if report.fails(f) && f.severity == Severity::Error {
            "critical"
        } else {
            severity(f.severity)
        };
        issues.push(json!({
            "description": f.message,
            "check_name": f.rule,
            "fingerprint": f.fingerprint,
            "severity": level,
            "location": {
                "path": f.file,
                "lines": { "begin": f.source.line_col(f.span.start).line },
            },
        }));
    }
    serde_json::to_string_pretty(&issues).expect("serialises") + "\n"
}

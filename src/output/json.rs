//! `--format json`: the machine-readable contract (version 1) other tools rely on.

use crate::report::{Failure, Finding, Fix, Fixed, PolicyChange, Report, Status};
use serde::Serialize;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    failures: Vec<JsonFailure<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed: Option<&'a [Fixed]>,
    #[serde(skip_serializing_if = "<[PolicyChange]>::is_empty")]
    policy_changes: &'a [PolicyChange],
    summary: Summary,
}

#[derive(Serialize)]
pub struct JsonFinding<'a> {
    pub rule: &'a str,
    pub severity: &'static str,
    pub message: &'a str,
    pub help: Option<&'a str>,
    pub file: &'a str,
    pub path: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub offset: usize,
    pub length: usize,
    pub waived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub fingerprint: String,
    /// Byte edits of the estate text that resolve the finding (`check --fix`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'a Fix>,
}

#[derive(Serialize)]
struct JsonFailure<'a> {
    kind: &'static str,
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    rules: usize,
    errors: usize,
    warnings: usize,
    notes: usize,
    waived: usize,
    failures: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed: Option<usize>,
}

impl<'a> JsonFinding<'a> {
    pub fn new(f: &'a Finding) -> Self {
        let start = f.source.line_col(f.span.start);
        let end = f.source.line_col(f.span.end);
        JsonFinding {
            rule: &f.rule,
            severity: f.severity.as_str(),
            message: &f.message,
            help: f.help.as_deref(),
            file: f.source.name(),
            path: &f.path,
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            offset: f.span.start,
            length: f.span.len(),
            waived: f.waived(),
            waiver: f.waiver.as_ref().map(|w| w.reason.as_str()),
            status: f.status,
            fingerprint: f.fingerprint.clone(),
            fix: f.fix.as_deref(),
        }
    }
}

fn failure(f: &Failure) -> JsonFailure<'_> {
    let at = match (&f.source, &f.span) {
        (Some(src), Some(span)) => Some(src.line_col(span.start)),
        _ => None,
    };
    let message = match &f.note {
        Some(note) => format!("{} ({note})", f.message),
        None => f.message.clone(),
    };
    JsonFailure {
        kind: f.kind.as_str(),
        file: &f.file,
        line: at.map(|a| a.line),
        column: at.map(|a| a.column),
        message,
    }
}

/// Renders the report as pretty-printed JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    let counts = report.counts();
    let json = JsonReport {
        version: 1,
        findings: report.findings.iter().map(JsonFinding::new).collect(),
        failures: report.failures.iter().map(failure).collect(),
        fixed: report.comparison.as_ref().map(|c| c.fixed.as_slice()),
        policy_changes: &report.policy_changes,
        summary: Summary {
            files: report.files,
            rules: report.rules,
            errors: counts.errors,
            warnings: counts.warnings,
            notes: counts.notes,
            waived: counts.waived,
            failures: report.failures.len(),
            new: report.comparison.as_ref().map(|_| counts.new),
            fixed: report.comparison.as_ref().map(|c| c.fixed.len()),
        },
    };
    let mut out = serde_json::to_string_pretty(&json).expect("report serialises");
    out.push('\n');
    out
}

//! `--format sarif`: SARIF 2.1.0 for code-scanning services.

use crate::report::{Failure, Finding, Report, Severity, Status};
use serde_json::{json, Value};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn region(source: &crate::estate::Source, span: &std::ops::Range<usize>) -> Value {
    let start = source.line_col(span.start);
    let end = source.line_col(span.end);
    json!({
        "startLine": start.line,
        "startColumn": start.column,
        "endLine": end.line,
        "endColumn": end.column,
        "byteOffset": span.start,
        "byteLength": span.len(),
    })
}

/// Percent-encodes every byte of a path but unreserved characters and `/`.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An absolute path as a `file://` URI.
fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        format!("file://{}", encode(&path))
    } else {
        format!("file:///{}", encode(&path))
    }
}

/// Where a file is: relative to the repository root when it lies below it.
fn artifact(file: &str) -> Value {
    let absolute = file.starts_with('/') || file.get(1..3) == Some(":/");
    if absolute {
        json!({ "uri": file_uri(file) })
    } else if file.starts_with("../") {
        json!({ "uri": encode(file) })
    } else {
        json!({ "uri": encode(file), "uriBaseId": "%SRCROOT%" })
    }
}

fn result(f: &Finding, rule_index: Option<usize>) -> Value {
    let mut r = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": f.message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact(&f.file),
                "region": region(&f.source, &f.span),
            },
            "logicalLocations": [{ "fullyQualifiedName": f.path, "kind": "member" }],
        }],
        "partialFingerprints": { "primaryLocationLineHash": f.fingerprint },
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    if !f.labels.is_empty() {
        r["relatedLocations"] = f
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                json!({
                    "id": i + 1,
                    "message": { "text": l.text },
                    "physicalLocation": {
                        "artifactLocation": artifact(&f.file),
                        "region": region(&f.source, &l.span),
                    },
                })
            })
            .collect();
    }
    if f.waived() {
        r["suppressions"] = json!([{
            "kind": "inSource",
            "status": "accepted",
            "justification": f.waiver.as_ref().map(|w| w.reason.clone()).unwrap_or_default(),
        }]);
    }
    if let Some(fix) = &f.fix {
        r["fixes"] = json!([{
            "description": { "text": fix.description },
            "artifactChanges": [{
                "artifactLocation": artifact(&f.file),
                "replacements": fix.edits.iter().map(|e| json!({
                    "deletedRegion": region(&f.source, &(e.offset..e.offset + e.length)),
                    "insertedContent": { "text": e.replacement },
                })).collect::<Vec<_>>(),
            }],
        }]);
    }
    if let Some(s) = f.status {
        r["baselineState"] = json!(if s == Status::New { "new" } else { "unchanged" });
    }
    r
}

fn notification(f: &Failure) -> Value {
    let mut n = json!({
        "level": "error",
        "message": { "text": match &f.note { Some(n) => format!("{} ({n})", f.message), None => f.message.clone() } },
        "descriptor": { "id": f.kind.as_str() },
    });
    let mut loc = json!({ "physicalLocation": { "artifactLocation": artifact(&f.file) } });
    if let (Some(src), Some(span)) = (&f.source, &f.span) {
        loc["physicalLocation"]["region"] = region(src, span);
    }
    n["locations"] = json!([loc]);
    n
}

pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = report
        .rule_docs
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id.rsplit('/').next().unwrap_or(&r.id),
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.description },
                "help": {
                    "text": if r.help.is_empty() { r.title.clone() } else { r.help.clone() },
                    "markdown": r.markdown,
                },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "requirements": r.requirements },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, report.rule_docs.iter().position(|r| r.id == f.rule)))
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "preflight",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.failures.is_empty(),
                "toolExecutionNotifications": report
                    .failures
                    .iter()
                    .map(notification)
                    .chain(report.policy_changes.iter().map(|c| json!({
                        "level": "warning",
                        "message": { "text": format!("the change {} policy file {}", c.change, c.file) },
                        "descriptor": { "id": "policy-change" },
                    })))
                    .collect::<Vec<_>>(),
            }],
            "results": results,
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {
                "%SRCROOT%": { "uri": format!("{}/", file_uri(&report.root).trim_end_matches('/')) },
            },
        }],
    });
    serde_json::to_string_pretty(&sarif).expect("serialises") + "\n"
}

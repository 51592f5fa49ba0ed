//! `--format sarif`: SARIF 2.1.0 for code-scanning services.
//!
//! Results, most of the document, are typed structs serialised directly (fields in
//! alphabetical order, the order the rest of the document's maps print in); the
//! few other parts are built as JSON values.

use crate::report::{Failure, Finding, Report, Severity, Status};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    byte_length: usize,
    byte_offset: usize,
    end_column: usize,
    end_line: usize,
    start_column: usize,
    start_line: usize,
}

fn region(source: &crate::estate::Source, span: &std::ops::Range<usize>) -> Region {
    let start = source.line_col(span.start);
    let end = source.line_col(span.end);
    Region {
        byte_length: span.len(),
        byte_offset: span.start,
        end_column: end.column,
        end_line: end.line,
        start_column: start.column,
        start_line: start.line,
    }
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Artifact {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

fn artifact(file: &str) -> Artifact {
    let absolute = file.starts_with('/') || file.get(1..3) == Some(":/");
    let (uri, uri_base_id) = if absolute {
        (file_uri(file), None)
    } else if file.starts_with("../") {
        (encode(file), None)
    } else {
        (encode(file), Some("%SRCROOT%"))
    };
    Artifact { uri, uri_base_id }
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Logical<'a> {
    fully_qualified_name: &'a str,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    logical_locations: [Logical<'a>; 1],
    physical_location: Physical,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fingerprints<'a> {
    primary_location_line_hash: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Related<'a> {
    id: usize,
    message: Text<'a>,
    physical_location: Physical,
}

#[derive(Serialize)]
struct Suppression<'a> {
    justification: &'a str,
    kind: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement<'a> {
    deleted_region: Region,
    inserted_content: Text<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Change<'a> {
    artifact_location: Artifact,
    replacements: Vec<Replacement<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix<'a> {
    artifact_changes: [Change<'a>; 1],
    description: Text<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<[SarifFix<'a>; 1]>,
    level: &'static str,
    locations: [Location<'a>; 1],
    message: Text<'a>,
    partial_fingerprints: Fingerprints<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Related<'a>>,
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[Suppression<'a>; 1]>,
}

fn result(f: &Finding, rule_index: Option<usize>) -> SarifResult<'_> {
    SarifResult {
        baseline_state: f
            .status
            .map(|s| if s == Status::New { "new" } else { "unchanged" }),
        fixes: f.fix.as_ref().map(|fix| {
            [SarifFix {
                artifact_changes: [Change {
                    artifact_location: artifact(&f.file),
                    replacements: fix
                        .edits
                        .iter()
                        .map(|e| Replacement {
                            deleted_region: region(&f.source, &(e.offset..e.offset + e.length)),
                            inserted_content: Text {
                                text: &e.replacement,
                            },
                        })
                        .collect(),
                }],
                description: Text {
                    text: &fix.description,
                },
            }]
        }),
        level: level(f.severity),
        locations: [Location {
            logical_locations: [Logical {
                fully_qualified_name: &f.path,
                kind: "member",
            }],
            physical_location: Physical {
                artifact_location: artifact(&f.file),
                region: region(&f.source, &f.span),
            },
        }],
        message: Text { text: &f.message },
        partial_fingerprints: Fingerprints {
            primary_location_line_hash: &f.fingerprint,
        },
        related_locations: f
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| Related {
                id: i + 1,
                message: Text { text: &l.text },
                physical_location: Physical {
                    artifact_location: artifact(&f.file),
                    region: region(&f.source, &l.span),
                },
            })
            .collect(),
        rule_id: &f.rule,
        rule_index,
        suppressions: f.waived().then(|| {
            [Suppression {
                justification: f.waiver.as_ref().map_or("", |w| w.reason.as_str()),
                kind: "inSource",
                status: "accepted",
            }]
        }),
    }
}

fn notification(f: &Failure) -> Value {
    let mut n = json!({
        "level": "error",
        "message": { "text": match &f.note { Some(n) => format!("{} ({n})", f.message), None => f.message.clone() } },
        "descriptor": { "id": f.kind.as_str() },
    });
    let mut loc = json!({ "physicalLocation": { "artifactLocation": json!(artifact(&f.file)) } });
    if let (Some(src), Some(span)) = (&f.source, &f.span) {
        loc["physicalLocation"]["region"] = json!(region(src, span));
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
    let index: std::collections::HashMap<&str, usize> = report
        .rule_docs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let results: Vec<SarifResult> = report
        .findings
        .par_iter()
        .map(|f| result(f, index.get(&*f.rule).copied()))
        .collect();
    let run = Run {
        column_kind: "unicodeCodePoints",
        invocations: json!([{
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
        }]),
        original_uri_base_ids: json!({
            "%SRCROOT%": { "uri": format!("{}/", file_uri(&report.root).trim_end_matches('/')) },
        }),
        results,
        tool: json!({ "driver": {
            "name": "preflight",
            "version": env!("CARGO_PKG_VERSION"),
            "rules": rules,
        }}),
    };
    let sarif = Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [run],
        version: "2.1.0",
    };
    serde_json::to_string_pretty(&sarif).expect("serialises") + "\n"
}

#[derive(Serialize)]
struct Sarif<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'a>; 1],
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    column_kind: &'static str,
    invocations: Value,
    original_uri_base_ids: Value,
    results: Vec<SarifResult<'a>>,
    tool: Value,
}

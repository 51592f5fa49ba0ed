//! Baseline files: findings recorded by fingerprint, and comparing a run with them.

use crate::report::{fingerprint, Comparison, Finding, Fixed, Report, Status};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineFile {
    pub version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub severity: crate::report::Severity,
    pub file: String,
    pub path: String,
    pub message: String,
}

impl Entry {
    pub fn of(f: &Finding) -> Entry {
        Entry {
            fingerprint: fingerprint(f),
            rule: f.rule.clone(),
            severity: f.severity,
            file: f.source.name().to_string(),
            path: f.path.clone(),
            message: f.message.clone(),
        }
    }
}

/// Writes the report's findings as a baseline, atomically (temp file, then rename).
pub fn write(path: &Path, report: &Report) -> std::io::Result<()> {
    let mut findings: Vec<Entry> = report.findings.iter().map(Entry::of).collect();
    findings.sort_by(|a, b| {
        (&a.file, &a.path, &a.rule, &a.fingerprint).cmp(&(
            &b.file,
            &b.path,
            &b.rule,
            &b.fingerprint,
        ))
    });
    let body = serde_json::to_string_pretty(&BaselineFile {
        version: 1,
        findings,
    })
    .expect("serialises")
        + "\n";
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map_or("baseline".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(body.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub fn read(path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read baseline: {e}"))?;
    let file: BaselineFile =
        serde_json::from_str(&text).map_err(|e| format!("not a preflight baseline: {e}"))?;
    if file.version != 1 {
        return Err(format!(
            "baseline version {} is not supported (expected 1)",
            file.version
        ));
    }
    Ok(file.findings)
}

/// Marks each finding new or existing against `base`; what `base` had and the
/// findings no longer have goes to `report.fixed`. Matching counts duplicates.
pub fn compare(report: &mut Report, base: Vec<Entry>) {
    let mut pool: HashMap<String, Vec<Entry>> = HashMap::new();
    for e in base {
        pool.entry(e.fingerprint.clone()).or_default().push(e);
    }
    for f in &mut report.findings {
        let matched = pool
            .get_mut(&fingerprint(f))
            .and_then(|v| v.pop())
            .is_some();
        f.status = Some(if matched {
            Status::Existing
        } else {
            Status::New
        });
    }
    let mut fixed: Vec<Fixed> = pool
        .into_values()
        .flatten()
        .map(|e| Fixed {
            rule: e.rule,
            severity: e.severity,
            message: e.message,
            file: e.file,
            path: e.path,
            fingerprint: e.fingerprint,
        })
        .collect();
    fixed.sort_by(|a, b| {
        (&a.file, &a.path, &a.rule, &a.message).cmp(&(&b.file, &b.path, &b.rule, &b.message))
    });
    report.comparison = Some(Comparison { fixed });
}

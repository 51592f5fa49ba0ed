//! Baseline files: findings recorded with their fingerprints, verified on read, and
//! comparing a run with them field by field (never by the hash alone).

use crate::report::{
    fingerprint_of, Comparison, Failure, FailureKind, Finding, Fixed, Report, Status,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// The baseline format this release writes and reads.
const VERSION: u32 = 2;

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
            fingerprint: f.fingerprint.clone(),
            rule: f.rule.to_string(),
            severity: f.severity,
            file: f.file.to_string(),
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
        version: VERSION,
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

/// The (rule, file, path, message) a finding or entry is matched on.
type Fields = (String, String, String, String);

fn fields(rule: &str, file: &str, path: &str, message: &str) -> Fields {
    (rule.into(), file.into(), path.into(), message.into())
}

/// Reads a baseline. An entry whose fingerprint does not match its own fields is a
/// failure located on that entry: a tampered baseline must not hide findings.
pub fn read(path: &Path) -> Result<Vec<Entry>, Vec<Failure>> {
    let source = Arc::new(crate::files::read_text(path).map_err(|f| vec![*f])?);
    let whole = |message: String| {
        vec![Failure::located(
            FailureKind::Baseline,
            &source,
            0..0,
            message,
        )]
    };
    let file: BaselineFile = serde_json::from_str(source.text())
        .map_err(|e| whole(format!("not a preflight baseline: {e}")))?;
    if file.version != VERSION {
        return Err(whole(format!(
            "baseline version {} is not supported (expected {VERSION}); record it again with --write-baseline",
            file.version
        )));
    }
    let mut seen: HashMap<Fields, usize> = HashMap::new();
    let mut problems = Vec::new();
    let mut from = 0;
    for e in &file.findings {
        let n = seen
            .entry(fields(&e.rule, &e.file, &e.path, &e.message))
            .or_insert(0);
        let expected = fingerprint_of(&e.rule, &e.file, &e.path, &e.message, *n);
        *n += 1;
        // Entries appear in file order: locate each at its fingerprint's text.
        let quoted = format!("\"{}\"", e.fingerprint);
        let at = source.text()[from..]
            .find(&quoted)
            .map_or(from..from, |i| from + i..from + i + quoted.len());
        from = at.end;
        if e.fingerprint != expected {
            problems.push(Failure::located(
                FailureKind::Baseline,
                &source,
                at,
                format!(
                    "baseline entry for `{}` at `{}` has fingerprint {}, but its fields give {expected}: the entry was edited",
                    e.rule, e.path, e.fingerprint
                ),
            ));
        }
    }
    if problems.is_empty() {
        Ok(file.findings)
    } else {
        Err(problems)
    }
}

/// Marks each finding new or existing against `base`, matching rule, file, path and
/// message (duplicates counted); what `base` had and the findings no longer have goes
/// to the report's comparison as fixed.
pub fn compare(report: &mut Report, base: Vec<Entry>) {
    let mut pool: HashMap<Fields, Vec<Entry>> = HashMap::new();
    for e in base {
        pool.entry(fields(&e.rule, &e.file, &e.path, &e.message))
            .or_default()
            .push(e);
    }
    for f in &mut report.findings {
        // An expired waiver fails every run until it is dealt with: never "existing".
        let matched = *f.rule != *crate::report::own::WAIVER_EXPIRED
            && pool
                .get_mut(&fields(&f.rule, &f.file, &f.path, &f.message))
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

//! `[[waivers]]` in an estate: explicit, reasoned, expiring exceptions.
//!
//! A valid waiver whose rule (and, with `at`, path prefix) matches a finding marks it
//! waived. An expired waiver is an error on its `expires` value and hides nothing; a
//! waiver matching nothing is a warning; a malformed one is an error. These findings
//! carry rule ids of the `preflight/` pack.

use super::date::Date;
use crate::estate::doc::{path_covers, Value};
use crate::estate::{Doc, NodeId, ROOT};
use crate::report::{Finding, Severity};

use crate::report::own::{
    WAIVER_EXPIRED as EXPIRED, WAIVER_INVALID as INVALID, WAIVER_UNUSED as UNUSED,
};

struct Waiver {
    node: NodeId,
    rule: String,
    at: String,
    reason: String,
}

/// A finding of the `preflight/` pack on `key` of waiver table `node`.
fn finding(
    doc: &Doc,
    index: usize,
    (rule, severity): (&str, Severity),
    (node, key): (NodeId, &str),
    message: String,
    help: &str,
) -> Finding {
    let (child, span) = doc.label_span(node, key);
    let path = child.map_or_else(|| doc.path(node), |c| doc.path(c));
    let mut f = Finding::new(rule, severity, message, &doc.source, index, (path, span));
    f.help = Some(help.into());
    f
}

fn date_of(doc: &Doc, id: NodeId) -> Option<Date> {
    match &doc.node(id).value {
        Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
            let date = d.date?;
            Some(Date {
                year: date.year as i32,
                month: date.month,
                day: date.day,
            })
        }
        _ => None,
    }
}

/// Applies the waivers of `doc` to its `findings` and returns the waivers' own findings.
pub fn apply(doc: &Doc, index: usize, findings: &mut [Finding], today: Date) -> Vec<Finding> {
    let mut own = Vec::new();
    let Some(list) = doc.get(ROOT, "waivers") else {
        return own;
    };
    let mut valid = Vec::new();
    for id in doc.children(list) {
        if doc.type_name(id) != "table" {
            continue; // the shape itself is the pack's concern
        }
        let text = |key: &str| {
            doc.get(id, key)
                .and_then(|v| doc.str_of(v))
                .map(str::to_string)
        };
        let mut bad = |key: &str, message: &str| {
            own.push(finding(doc, index, (INVALID, Severity::Error), (id, key), message.into(),
                "a waiver needs `rule`, a non-empty `reason` and an `expires` date such as 2027-01-31"));
        };
        let rule = text("rule").filter(|r| !r.is_empty());
        let reason = text("reason").filter(|r| !r.trim().is_empty());
        let at = doc.get(id, "at");
        let expires = doc.get(id, "expires");
        if rule.is_none() {
            bad("rule", "waiver has no `rule` to waive");
        }
        if reason.is_none() {
            bad("reason", "waiver has no reason");
        }
        if at.is_some_and(|a| doc.str_of(a).is_none()) {
            bad(
                "at",
                "waiver `at` must be a path string such as `servers[\"osce-hq\"]`",
            );
        }
        let date = expires.and_then(|e| date_of(doc, e));
        if date.is_none() {
            bad("expires", "waiver has no `expires` date");
        }
        let (Some(rule), Some(reason), Some(date)) = (rule, reason, date) else {
            continue;
        };
        if date < today {
            own.push(finding(
                doc,
                index,
                (EXPIRED, Severity::Error),
                (id, "expires"),
                format!("waiver for `{rule}` expired on {date}"),
                "fix the finding it covered, or renew the waiver with a new reason and date",
            ));
            continue;
        }
        let at = at.and_then(|a| doc.str_of(a)).unwrap_or("").to_string();
        valid.push(Waiver {
            node: id,
            rule,
            at,
            reason,
        });
    }
    let mut used = vec![false; valid.len()];
    for f in findings.iter_mut() {
        if let Some(i) = valid
            .iter()
            .position(|w| w.rule == f.rule && path_covers(&w.at, &f.path))
        {
            f.waiver = Some(crate::report::Waiver {
                reason: valid[i].reason.clone(),
            });
            used[i] = true;
        }
    }
    for (w, used) in valid.iter().zip(used) {
        if !used {
            let scope = if w.at.is_empty() {
                String::new()
            } else {
                format!(" at `{}`", w.at)
            };
            own.push(finding(
                doc,
                index,
                (UNUSED, Severity::Warning),
                (w.node, "rule"),
                format!("waiver for `{}`{scope} matches no finding", w.rule),
                "remove the waiver: what it covered is fixed",
            ));
        }
    }
    own
}

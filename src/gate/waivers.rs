//! `[[waivers]]` in an estate: explicit, reasoned, expiring exceptions.
//!
//! A valid waiver whose rule (and, with `at`, path prefix) matches a finding marks it
//! waived. An expired waiver is an error on its `expires` value and hides nothing; so is
//! one that expires further ahead than the policy allows. A waiver matching nothing is a
//! warning; a malformed one (unknown rule, bad path, missing field) is an error. These
//! findings carry rule ids of the `preflight/` pack.

use super::date::Date;
use crate::estate::doc::{path_covers, Value};
use crate::estate::{path, Doc, NodeId, ROOT};
use crate::report::own::{
    WAIVER_ADDED as ADDED, WAIVER_EXPIRED as EXPIRED, WAIVER_INVALID as INVALID,
    WAIVER_TOO_LONG as TOO_LONG, WAIVER_UNUSED as UNUSED,
};
use crate::report::{Finding, Severity};

/// What the trusted side decides about waivers.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The date waivers expire against.
    pub today: Date,
    /// The furthest ahead a waiver may expire, in days from today.
    pub max_days: i64,
    /// `false` with `--ignore-waivers`: waivers are validated but hide nothing.
    pub apply: bool,
}

/// Days a waiver may run when `preflight.toml` does not say.
pub const DEFAULT_MAX_DAYS: i64 = 365;

impl Default for Policy {
    fn default() -> Self {
        Policy {
            today: Date::today(),
            max_days: DEFAULT_MAX_DAYS,
            apply: true,
        }
    }
}

struct Waiver {
    node: NodeId,
    rule: String,
    at: String,
    reason: String,
    expires: String,
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
    match doc.value(id) {
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

/// The waiver tables of `doc`.
fn tables(doc: &Doc) -> Vec<NodeId> {
    let Some(list) = doc.get(ROOT, "waivers") else {
        return Vec::new();
    };
    doc.children(list)
        .into_iter()
        .filter(|id| doc.type_name(*id) == "table")
        .collect()
}

/// What identifies a waiver across base and head: rule, at, reason, expires.
fn identity(doc: &Doc, id: NodeId) -> [String; 4] {
    ["rule", "at", "reason", "expires"].map(|key| {
        doc.get(id, key)
            .map_or(String::new(), |v| match doc.value(v) {
                Value::Datetime(d) => d.to_string(),
                _ => doc.str_of(v).unwrap_or("").to_string(),
            })
    })
}

/// `preflight/waiver-added` findings for each waiver of `head` that `base` lacks.
pub fn added(base: Option<&Doc>, head: &Doc, index: usize) -> Vec<Finding> {
    let known: Vec<[String; 4]> = base
        .map(|b| tables(b).into_iter().map(|id| identity(b, id)).collect())
        .unwrap_or_default();
    tables(head)
        .into_iter()
        .filter(|id| !known.contains(&identity(head, *id)))
        .map(|id| {
            let [rule, ..] = identity(head, id);
            finding(
                head,
                index,
                (ADDED, Severity::Warning),
                (id, "rule"),
                format!("the change adds a waiver for `{rule}`"),
                "have the waiver reviewed: it hides findings from this gate",
            )
        })
        .collect()
}

/// Applies the waivers of `doc` to its `findings` and returns the waivers' own
/// findings. `rules` are the ids a waiver may name.
pub fn apply(
    doc: &Doc,
    index: usize,
    findings: &mut [Finding],
    policy: &Policy,
    rules: &[&str],
) -> Vec<Finding> {
    let mut own = Vec::new();
    let mut valid = Vec::new();
    let latest = policy.today.plus_days(policy.max_days);
    for id in tables(doc) {
        let text = |key: &str| {
            doc.get(id, key)
                .and_then(|v| doc.str_of(v))
                .map(str::to_string)
        };
        let mut bad = |key: &str, message: String, help: &str| {
            own.push(finding(
                doc,
                index,
                (INVALID, Severity::Error),
                (id, key),
                message,
                help,
            ));
        };
        const HELP: &str =
            "a waiver needs `rule`, a non-empty `reason` and an `expires` date such as 2027-01-31";
        let mut rule = text("rule").filter(|r| !r.is_empty());
        let reason = text("reason").filter(|r| !r.trim().is_empty());
        let at = doc.get(id, "at");
        let expires = doc.get(id, "expires");
        match &rule {
            None => bad("rule", "waiver has no `rule` to waive".into(), HELP),
            Some(r) if !rules.contains(&r.as_str()) => {
                let hint = crate::suggest::closest(r, rules.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                bad(
                    "rule",
                    format!("waiver names `{r}`, which is no rule of this run{hint}"),
                    "name the rule id exactly as findings print it; waivers take no globs",
                );
                rule = None;
            }
            Some(_) => {}
        }
        if reason.is_none() {
            bad("reason", "waiver has no reason".into(), HELP);
        }
        let mut at_ok = true;
        if let Some(a) = at {
            match doc.str_of(a) {
                None => {
                    bad(
                        "at",
                        "waiver `at` must be a path string such as `servers[\"osce-hq\"]`".into(),
                        HELP,
                    );
                    at_ok = false;
                }
                Some(text) => {
                    let parsed = path::parse(text);
                    let fix = path::repair(doc, text);
                    let misdirected = parsed
                        .as_ref()
                        .is_ok_and(|steps| path::resolve(doc, steps).is_none())
                        && fix.is_some();
                    if parsed.is_err() || misdirected {
                        let problem = match &parsed {
                            Err(e) => format!("waiver `at` is not a path: {e}"),
                            Ok(_) => format!("waiver `at` names nothing in this estate: `{text}`"),
                        };
                        let hint = fix
                            .map(|f| format!("; did you mean `{f}`?"))
                            .unwrap_or_default();
                        bad(
                            "at",
                            format!("{problem}{hint}"),
                            "write `at` as findings print paths: `servers[\"name\"].key`",
                        );
                        at_ok = false;
                    }
                }
            }
        }
        let date = expires.and_then(|e| date_of(doc, e));
        if date.is_none() {
            let message = match expires.map(|e| doc.type_name(e)) {
                Some("string") => {
                    "waiver `expires` is a string: write the date without quotes, as in `expires = 2027-01-31`"
                }
                Some(_) => "waiver `expires` must be a date such as 2027-01-31",
                None => "waiver has no `expires` date",
            };
            bad("expires", message.into(), HELP);
        }
        let (Some(rule), Some(reason), Some(date), true) = (rule, reason, date, at_ok) else {
            continue;
        };
        if date < policy.today {
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
        if date > latest {
            own.push(finding(
                doc,
                index,
                (TOO_LONG, Severity::Error),
                (id, "expires"),
                format!(
                    "waiver for `{rule}` runs until {date}, past {latest} ({} days from today)",
                    policy.max_days
                ),
                "choose an earlier date; `max_waiver_days` in preflight.toml sets the limit",
            ));
            continue;
        }
        let at = at.and_then(|a| doc.str_of(a)).unwrap_or("").to_string();
        valid.push(Waiver {
            node: id,
            rule,
            at,
            reason,
            expires: date.to_string(),
        });
    }
    let mut used = vec![false; valid.len()];
    for f in findings.iter_mut() {
        if let Some(i) = valid
            .iter()
            .position(|w| *w.rule == *f.rule && path_covers(&w.at, &f.path))
        {
            used[i] = true;
            if policy.apply {
                f.waiver = Some(Box::new(crate::report::Waiver {
                    reason: valid[i].reason.clone(),
                    expires: valid[i].expires.clone(),
                }));
            }
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

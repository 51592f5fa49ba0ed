//! The `preflight/` rules: findings preflight itself reports about an estate's waivers
//! and the run, documented and leveled like any pack's rules.

use super::{RuleDoc, Severity};

pub const WAIVER_EXPIRED: &str = "preflight/waiver-expired";
pub const WAIVER_UNUSED: &str = "preflight/waiver-unused";
pub const WAIVER_INVALID: &str = "preflight/waiver-invalid";
pub const WAIVER_TOO_LONG: &str = "preflight/waiver-too-long";
pub const WAIVER_ADDED: &str = "preflight/waiver-added";

/// Whether `id` names a `preflight/` rule.
pub fn is_own(id: &str) -> bool {
    RULES.iter().any(|r| r.0 == id)
}

/// (id, severity, title, what it does, how to fix)
const RULES: &[(&str, Severity, &str, &str, &str)] = &[
    (
        WAIVER_EXPIRED,
        Severity::Error,
        "Waiver past its expiry date",
        "Reports a waiver whose `expires` date has passed. It hides nothing any more: the \
         findings it covered are reported again.",
        "Fix the findings it covered, or renew the waiver with a new reason and date.",
    ),
    (
        WAIVER_UNUSED,
        Severity::Warning,
        "Waiver that matches no finding",
        "Warns about a waiver whose rule (and `at` path) matches no finding of the run.",
        "Remove the waiver: what it covered is fixed.",
    ),
    (
        WAIVER_INVALID,
        Severity::Error,
        "Malformed waiver",
        "Reports a waiver without a rule, a reason or an `expires` date, one naming a \
         rule that does not exist, or one whose `at` is not a path of the estate.",
        "Give the waiver a known `rule`, a non-empty `reason`, an `expires` date such as \
         2027-01-31 (a TOML date, not a string) and, optionally, an `at` path as findings \
         print it, such as `servers[\"osce-hq\"].os`.",
    ),
    (
        WAIVER_TOO_LONG,
        Severity::Error,
        "Waiver that expires too far ahead",
        "Reports a waiver whose `expires` date lies further ahead than `max_waiver_days` \
         of `preflight.toml` allow (365 days by default). It waives nothing.",
        "Choose an earlier date, and review the waiver again then.",
    ),
    (
        WAIVER_ADDED,
        Severity::Warning,
        "Waiver added by the change",
        "In `diff`, reports each waiver the head has and the base has not with the same \
         rule, path, reason and expiry: a change that waives its own findings says so.",
        "Have the waiver reviewed; `--deny warnings` or a `deny` level for this rule \
         makes added waivers fail the run.",
    ),
];

/// Documentation of every `preflight/` rule, in id order.
pub fn docs() -> Vec<RuleDoc> {
    let mut docs: Vec<RuleDoc> = RULES
        .iter()
        .map(|(id, severity, title, what, fix)| RuleDoc {
            id: (*id).to_string(),
            title: (*title).to_string(),
            severity: *severity,
            requirements: Vec::new(),
            description: (*what).to_string(),
            help: (*fix).to_string(),
            markdown: format!("## What it does\n{what}\n\n## How to fix\n{fix}\n"),
        })
        .collect();
    docs.sort_by(|a, b| a.id.cmp(&b.id));
    docs
}

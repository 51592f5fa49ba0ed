//! The `preflight/` rules: findings preflight itself reports about an estate's waivers
//! and the run, documented and leveled like any pack's rules.

use super::{RuleDoc, Severity};

pub const WAIVER_EXPIRED: &str = "preflight/waiver-expired";
pub const WAIVER_UNUSED: &str = "preflight/waiver-unused";
pub const WAIVER_INVALID: &str = "preflight/waiver-invalid";

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
        "Reports a waiver without a rule, a reason or an `expires` date, or with a \
         malformed `at` path.",
        "Give the waiver `rule`, a non-empty `reason` and an `expires` date such as \
         2027-01-31.",
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
        })
        .collect();
    docs.sort_by(|a, b| a.id.cmp(&b.id));
    docs
}

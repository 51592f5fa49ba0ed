//! Gating change requests: rule levels from the config, waivers in the estate,
//! fingerprints, baselines and the comparison of a base with a head estate.

pub mod baseline;
pub mod git;
/// Dates live below the engine; waivers and settings still name them here.
pub use crate::date;
pub mod policy;
pub mod waivers;

use crate::config::{Level, Levels};
use crate::report::{Finding, Severity};

/// Drops findings of `allow`ed rules and re-levels `warn`/`deny` ones.
pub fn apply_levels(findings: &mut Vec<Finding>, levels: &Levels) {
    if levels.is_empty() && levels.overrides.is_empty() {
        return;
    }
    findings.retain_mut(|f| match levels.level_in(&f.rule, &f.file) {
        Some(Level::Allow) => false,
        Some(Level::Warn) => {
            f.severity = Severity::Warning;
            true
        }
        Some(Level::Deny) => {
            f.severity = Severity::Error;
            true
        }
        None => true,
    });
}

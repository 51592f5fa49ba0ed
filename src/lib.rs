//! preflight: checks TOML estate descriptions against Rhai rules, in parallel, and
//! reports every violation as a diagnostic pointing at the offending value.
//!
//! - [`estate`] owns parsing and the node arena rules read;
//! - [`engine`] owns rules: loading, the sandbox, the host API, evaluation;
//! - [`report`] owns findings, failures, their order and every output format;
//! - [`check`] ties one run together; [`fixture`] is `preflight test`;
//! - [`config`] reads `preflight.toml`; [`gate`] owns waivers, baselines and diffs;
//! - [`cli`] is the command line; [`files`] finds and reads inputs; [`suggest`] offers
//!   "did you mean" names.

pub mod check;
pub mod cli;
pub mod config;
pub mod engine;
pub mod estate;
pub mod files;
pub mod fixture;
pub mod gate;
pub mod report;
pub mod suggest;

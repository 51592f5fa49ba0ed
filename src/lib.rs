//! preflight: checks TOML estate descriptions against Rhai rules, in parallel, and
//! reports every violation as a diagnostic pointing at the offending value.
//!
//! - [`estate`] owns parsing and the node arena rules read;
//! - [`engine`] owns rules: loading, the sandbox, the host API, evaluation;
//! - [`report`] is the findings model: findings, failures, order, fingerprints;
//! - [`output`] renders a report in every format;
//! - [`config`] reads `preflight.toml`; [`settings`] resolves flags over it, once;
//! - [`gate`] owns rule levels, waivers and baselines;
//! - [`pipeline`] runs one check or diff end to end; [`fixture`] is `preflight test`;
//! - [`lsp`] is the language server for editors;
//! - [`cli`] is the command line; [`files`] finds and reads inputs; [`suggest`] offers
//!   "did you mean" names; [`timings`] says where a run's time went (`--timings`).

pub mod cli;
pub mod config;
pub mod date;
pub mod engine;
pub mod estate;
pub mod files;
pub mod fix;
pub mod fixture;
pub mod gate;
pub mod import;
pub mod jsonschema;
pub mod lsp;
pub mod memory;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod settings;
pub mod suggest;
pub mod timings;

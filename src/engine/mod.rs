//! The Rust side of rules: loading and compiling them, the sandboxed engine, the
//! host API scripts call, and parallel evaluation.
//!
//! Layers, bottom up: `budget` (limits and the per-call counters), `ahead` (findings
//! begun on idle threads while their call runs on), `context` (the `Node` handle and
//! the per-call state), `helpers` (threads that share a native pass), `query`,
//! `strmap` and `schema` (native machinery over the estate), `api` (what rules can
//! call, by topic), then `sandbox` (the engine), `calls`, `constants`, `pack`, `rule`,
//! and on the findings side `fix`, `readiness` and `run`.

pub(crate) mod ahead;
pub mod api;
pub mod budget;
pub mod calls;
pub mod constants;
pub mod context;
pub mod fix;
pub(crate) mod helpers;
pub mod pack;
pub mod query;
pub mod readiness;
pub mod rule;
pub mod run;
pub mod sandbox;
pub mod schema;
pub mod strmap;

pub use budget::Limits;
pub use rule::{Header, Rule};

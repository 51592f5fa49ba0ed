//! The Rust side of rules: loading and compiling them, the sandboxed engine, the
//! host API scripts call, and parallel evaluation.

pub mod host;
pub mod query;
pub mod rule;
pub mod run;
pub mod sandbox;
pub mod schema;
pub mod strmap;

pub use rule::{Header, Rule};
pub use sandbox::Limits;

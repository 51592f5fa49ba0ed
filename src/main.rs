//! The `preflight` binary: everything lives in the library; this maps it to an exit code.

use std::process::ExitCode;

// Counts live heap, so rule calls can be held to the run's memory budget.
#[global_allocator]
static ALLOC: preflight::memory::Counting = preflight::memory::Counting;

fn main() -> ExitCode {
    ExitCode::from(preflight::cli::run(std::env::args_os()))
}

//! The `preflight` binary: everything lives in the library; this maps it to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(preflight::cli::run(std::env::args_os()))
}

//! Command-line interface: subcommands and flags (here), the `check` and `diff`
//! commands (`check`), and the rule-author commands `test`, `rules`, `explain` (`pack`).

mod check;
mod import;
mod pack;

use crate::output::{Format, Style};
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above the failing severity (error)
  1  at least one such finding (for `test`: a fixture failed)
  2  a failure: unreadable or invalid estate, a rule that does not compile or
     errors or exceeds a limit, a bad flag, a bad preflight.toml, an unknown rule id";

#[derive(Parser, Debug)]
#[command(
    name = "preflight",
    version,
    about = "Check TOML estate descriptions against Rhai upgrade rules",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check estate files (or every *.toml below a directory)
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Compare a head estate with its base: only new findings fail
    #[command(after_help = EXIT_CODES)]
    Diff(DiffArgs),
    /// Run rules against fixture estates carrying `# expect: <rule-id>` markers
    #[command(after_help = EXIT_CODES)]
    Test(TestArgs),
    /// List the available rules
    Rules(RulesArgs),
    /// Show a rule's documentation
    #[command(after_help = EXIT_CODES)]
    Explain(ExplainArgs),
    /// Merge a CSV or JSON inventory export into an estate, then check it
    #[command(after_help = EXIT_CODES)]
    Import(import::ImportArgs),
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Estate files or directories
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Record the findings of this run in FILE (a baseline for later runs)
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Findings recorded in FILE are reported as existing and do not fail the run
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// BASE HEAD: two estate files; with --git: the one PATH to compare
    #[arg(required = true, num_args = 1..=2, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Compare PATH at this git revision (the base) with the working copy (the head)
    #[arg(long, value_name = "REV")]
    pub git: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags shared by `check` and `diff`.
#[derive(clap::Args, Debug)]
pub struct CommonArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Worker threads (default: all cores)
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Config file (default: preflight.toml in this directory or a parent)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore any preflight.toml
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Fail on warnings too (`warnings`), or on every finding (`notes`)
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Option<DenyLevel>,
    /// The date waivers expire against, YYYY-MM-DD (default: today, UTC)
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyLevel {
    Warnings,
    Notes,
}

#[derive(clap::Args, Debug)]
pub struct RuleArgs {
    /// A directory of site rules (every .rhai below it); repeatable
    #[arg(long = "rules", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Do not load the built-in rule pack
    #[arg(long)]
    pub no_builtin: bool,
}

#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    /// When to use colour (NO_COLOR is honoured)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Send rules' print/debug output to stderr
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(clap::Args, Debug)]
pub struct LimitArgs {
    /// Largest estate file accepted, in bytes [default: 536870912]
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// Wall-clock limit per rule and estate, in seconds [default: 10]
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
}

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Directory holding the rules and their fixtures (default: the built-in pack,
    /// with fixtures under ./rules)
    pub dir: Option<PathBuf>,
    #[arg(long, short)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(clap::Args, Debug)]
pub struct RulesArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Rule id, such as officescan/server-on-apache
    pub id: String,
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub(crate) fn style(choice: ColorChoice) -> Style {
    let terminal = std::io::stdout().is_terminal();
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let width = if terminal {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100)
    } else {
        100
    };
    Style { color, width }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth reporting.
pub(crate) fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Parses `args` and runs the command; returns the process exit code.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Check(a) => check::check(a),
        Command::Diff(a) => check::diff(a),
        Command::Test(a) => pack::test(a),
        Command::Rules(a) => pack::rules(a),
        Command::Explain(a) => pack::explain(a),
        Command::Import(a) => import::import(a),
    }
}

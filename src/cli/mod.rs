//! Command-line interface: subcommands and flags (here), the `check` and `diff`
//! commands (`check`), and the rule-author commands `test`, `rules`, `explain` (`pack`);
//! `lsp` hands over to [`crate::lsp`].

mod check;
mod import;
mod init;
mod pack;

use crate::output::{Format, Style};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above the failing severity (error)
  1  at least one such finding (for `test`: a fixture failed)
  2  a failure: unreadable, invalid, empty or unsafe estate, nothing to check, a
     rule that does not compile or errors or exceeds a limit, a bad flag, a bad
     preflight.toml or baseline, an unknown rule id";

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
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on standard output
    Man,
    /// Print JSON Schema for estates or preflight.toml, for editors
    Schema {
        #[arg(value_enum)]
        of: SchemaOf,
    },
    /// Start using preflight here: preflight.toml, a site rule with its fixture, a CI
    /// workflow (refuses to overwrite)
    Init(InitArgs),
    /// Merge a CSV or JSON inventory export into an estate, then check it
    #[command(after_help = EXIT_CODES)]
    Import(import::ImportArgs),
    /// Run a language server on stdin/stdout: check open estates as you type
    Lsp,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Estate files or directories (`-`: standard input; none: `include` of
    /// preflight.toml, else the current directory)
    pub paths: Vec<PathBuf>,
    /// Record the findings of this run in FILE (a baseline for later runs)
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Findings recorded in FILE are reported as existing and do not fail the run
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Apply the fixes rules offer to the estate files (never to a file with a
    /// failure), then report what remains
    #[arg(long, conflicts_with = "write_baseline")]
    pub fix: bool,
    /// With --fix: print the fixes as a unified diff and write nothing
    #[arg(long, requires = "fix")]
    pub diff: bool,
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
    /// With --git: whose preflight.toml and rule directories decide the run
    #[arg(long, value_enum, default_value_t = PolicySide::Base)]
    pub policy: PolicySide,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Where a diff's policy comes from.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicySide {
    /// The base revision's: a change cannot loosen the gate it is judged by
    Base,
    /// The work tree's, for repositories that review policy another way
    Head,
}

/// Flags shared by `check` and `diff`.
#[derive(clap::Args, Debug)]
pub struct CommonArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write the report in FORMAT to PATH (repeatable), from the same run
    #[arg(long = "output", value_name = "FORMAT=PATH", value_parser = parse_output)]
    pub outputs: Vec<(Format, PathBuf)>,
    /// Worker threads (default: all cores)
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Config file (default: preflight.toml in this directory or a parent)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore any preflight.toml
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// The lowest severity that fails the run, as `fail_on` in preflight.toml
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Same as --fail-on warning (`warnings`) or --fail-on note (`notes`)
    #[arg(long, value_enum, value_name = "LEVEL", conflicts_with = "fail_on")]
    pub deny: Option<DenyLevel>,
    /// The date waivers expire against, YYYY-MM-DD (default: today, UTC)
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Validate waivers in estates but apply none
    #[arg(long)]
    pub ignore_waivers: bool,
    /// Run only these rules: ids or `pack/*` (repeatable, comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Vec<String>,
    /// Skip these rules: ids or `pack/*` (repeatable, comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Print only failures and the summary line
    #[arg(long, short)]
    pub quiet: bool,
    /// Print how many findings each rule reported instead of the findings
    #[arg(long)]
    pub statistics: bool,
    /// Say on stderr how long each phase and the slowest rules took
    #[arg(long)]
    pub timings: bool,
    /// Exit 0 even when findings fail the run (failures still exit 2)
    #[arg(long)]
    pub exit_zero: bool,
    /// The name shown for an estate read from standard input (`-`)
    #[arg(long, value_name = "NAME", default_value = "stdin.toml")]
    pub stdin_filename: String,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

fn parse_output(spec: &str) -> Result<(Format, PathBuf), String> {
    let (format, path) = spec
        .split_once('=')
        .ok_or_else(|| format!("`{spec}` is not FORMAT=PATH"))?;
    let format = Format::from_str(format, true).map_err(|_| {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
            .collect();
        format!("`{format}` is not a format ({})", names.join(", "))
    })?;
    if path.is_empty() {
        return Err(format!("`{spec}` names no file"));
    }
    Ok((format, PathBuf::from(path)))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Note,
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
    /// Largest estate file accepted, in bytes
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// Live heap of the whole run, in bytes, that a rule call may not push past
    #[arg(long, value_name = "BYTES")]
    pub max_memory: Option<u64>,
    /// Operations per rule and estate: the CPU limit, the same on any machine
    #[arg(long, value_name = "N")]
    pub max_operations: Option<u64>,
    /// Wall-clock limit per rule and estate, in seconds: a backstop
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
    /// Output format
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestFormat {
    Human,
    Json,
    Junit,
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

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaOf {
    /// The estate format
    Estate,
    /// preflight.toml
    Config,
}

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Directory to set up (default: the current directory)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
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
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        // NO_COLOR wins; FORCE_COLOR and CLICOLOR_FORCE colour pipes (CI logs).
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto => terminal || set("FORCE_COLOR") || set("CLICOLOR_FORCE"),
    };
    let width = if terminal {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100)
    } else {
        100
    };
    Style {
        color,
        width,
        // Rule authors (`preflight test`) see the `fail(...)` call; `check` shows it
        // only with --verbose.
        rule_sites: true,
        quiet: false,
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth reporting.
pub(crate) fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The command line, with defaults shown from the constants that define them.
fn command() -> clap::Command {
    let defaults = |c: clap::Command| {
        let limits = crate::engine::Limits::default();
        c.mut_arg("max_file_size", |a| {
            a.help(format!(
                "Largest estate file accepted, in bytes [default: {}]",
                crate::files::DEFAULT_MAX_FILE_SIZE
            ))
        })
        .mut_arg("max_memory", |a| {
            a.help(format!(
                "Live heap of the whole run, in bytes: a rule call that pushes it past this \
                 fails as rule-limit [default: {}]",
                limits.memory
            ))
        })
        .mut_arg("max_operations", |a| {
            a.help(format!(
                "Operations per rule and estate (interpreted operations plus native work): \
                 the CPU limit, the same on any machine [default: {}]",
                limits.max_operations
            ))
        })
        .mut_arg("timeout", |a| {
            a.help(format!(
                "Wall-clock limit per rule and estate, in seconds: a backstop behind \
                 --max-operations [default: {}]",
                limits.timeout.as_secs_f64()
            ))
        })
    };
    Cli::command()
        .mut_subcommand("check", defaults)
        .mut_subcommand("diff", defaults)
}

/// Parses `args` and runs the command; returns the process exit code.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> u8 {
    let parsed = command()
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
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
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command(), "preflight", &mut out);
            emit(&String::from_utf8_lossy(&out));
            0
        }
        Command::Man => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(command()).render(&mut out) {
                Ok(()) => {
                    emit(&String::from_utf8_lossy(&out));
                    0
                }
                Err(e) => {
                    eprintln!("error: cannot render the manual: {e}");
                    2
                }
            }
        }
        Command::Init(a) => init::init(&a.dir),
        Command::Schema { of } => {
            let schema = match of {
                SchemaOf::Estate => crate::jsonschema::estate(),
                SchemaOf::Config => Some(crate::jsonschema::config()),
            };
            match schema {
                Some(s) => {
                    emit(&(serde_json::to_string_pretty(&s).expect("serialises") + "\n"));
                    0
                }
                None => {
                    eprintln!("error: the built-in pack's schema does not parse");
                    2
                }
            }
        }
        Command::Import(a) => import::import(a),
        Command::Lsp => crate::lsp::serve(),
    }
}

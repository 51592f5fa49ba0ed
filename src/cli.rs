//! Command-line interface: subcommands, flags, and what each prints.

use crate::check::{self, Options};
use crate::engine::Limits;
use crate::files;
use crate::fixture;
use crate::report::{human, json, Report, Severity};
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above the failing severity (error)
  1  at least one such finding (for `test`: a fixture failed)
  2  a failure: unreadable or invalid estate, a rule that does not compile or
     errors or exceeds a limit, a bad flag, an unknown rule id";

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
    /// Run rules against fixture estates carrying `# expect: <rule-id>` markers
    #[command(after_help = EXIT_CODES)]
    Test(TestArgs),
    /// List the available rules
    Rules(RulesArgs),
    /// Show a rule's documentation
    #[command(after_help = EXIT_CODES)]
    Explain(ExplainArgs),
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Estate files or directories
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Worker threads (default: all cores)
    #[arg(long, short)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
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
    #[arg(long, value_name = "BYTES", default_value_t = files::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
    /// Wall-clock limit per rule and estate, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
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
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Rule id, such as officescan/server-on-apache
    pub id: String,
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn style(choice: ColorChoice) -> human::Style {
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
    human::Style { color, width }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth reporting.
fn emit(text: &str) {
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
        Command::Check(a) => cmd_check(a),
        Command::Test(a) => cmd_test(a),
        Command::Rules(a) => cmd_rules(a),
        Command::Explain(a) => cmd_explain(a),
    }
}

fn limits(a: &LimitArgs) -> Result<Limits, String> {
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        return Err(format!(
            "--timeout must be a positive number of seconds, not {}",
            a.timeout
        ));
    }
    Ok(Limits {
        timeout: Duration::from_secs_f64(a.timeout),
        ..Limits::default()
    })
}

fn cmd_check(a: CheckArgs) -> u8 {
    let limits = match limits(&a.limits) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let opts = Options {
        paths: a.paths,
        rule_dirs: a.rules.dirs,
        builtin: !a.rules.no_builtin,
        jobs: a.jobs,
        limits,
        max_file_size: a.limits.max_file_size,
        verbose: a.output.verbose,
    };
    let report = check::run(&opts);
    print_report(&report, a.format, style(a.output.color));
    report.exit_code(Severity::Error)
}

fn print_report(report: &Report, format: Format, style: human::Style) {
    match format {
        Format::Json => emit(&json::render(report)),
        Format::Human => emit(&human::render(report, style)),
    }
}

fn cmd_test(a: TestArgs) -> u8 {
    let style = style(a.output.color);
    let run = fixture::run(a.dir.as_deref(), a.jobs, &Limits::default());
    let mut out = String::new();
    for f in &run.failures {
        human::render_failure(&mut out, f, style);
    }
    let (mut passed, mut failed) = (0, 0);
    for o in &run.outcomes {
        if o.passed() {
            passed += 1;
            out.push_str(&format!("pass {} ({} findings)\n", o.file, o.findings));
            continue;
        }
        failed += 1;
        out.push_str(&format!("FAIL {}\n", o.file));
        if let Some(src) = &o.source {
            for m in &o.missing {
                human::render_finding(&mut out, &fixture::missing_as_finding(src, m), style);
            }
        }
        for f in &o.unexpected {
            let mut f = f.clone();
            f.message = format!("unexpected finding: {}", f.message);
            f.help = Some(format!(
                "add `# expect: {}` to this line if the finding is right",
                f.rule
            ));
            human::render_finding(&mut out, &f, style);
        }
    }
    if run.outcomes.is_empty() {
        out.push_str("no fixtures found (*.toml files beside the rules)\n");
    }
    out.push_str(&format!("fixtures: {passed} passed, {failed} failed\n"));
    if !run.failures.is_empty() {
        out.push_str(&format!("{} failures\n", run.failures.len()));
    }
    emit(&out);
    run.exit_code()
}

fn load(args: &RuleArgs) -> check::RuleSet {
    check::load_rules(!args.no_builtin, &args.dirs, &Limits::default(), false)
}

fn report_failures(set: &check::RuleSet) -> bool {
    let mut out = String::new();
    for f in &set.failures {
        human::render_failure(&mut out, f, style(ColorChoice::Auto));
    }
    eprint!("{out}");
    !set.failures.is_empty()
}

fn cmd_rules(a: RulesArgs) -> u8 {
    let set = load(&a.rules);
    let failed = report_failures(&set);
    match a.format {
        Format::Json => {
            let rows: Vec<_> = set
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "severity": r.header.severity.as_str(),
                        "requirements": r.header.requirements,
                        "title": r.header.title,
                        "builtin": r.builtin,
                    })
                })
                .collect();
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&rows).unwrap()
            ));
        }
        Format::Human => {
            let width = set.rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
            let mut out = format!(
                "{:width$}  {:8}  {:11}  TITLE\n",
                "ID", "SEVERITY", "REQUIREMENT"
            );
            for r in &set.rules {
                out.push_str(&format!(
                    "{:width$}  {:8}  {:11}  {}\n",
                    r.id,
                    r.header.severity.as_str(),
                    r.header.requirements.join(","),
                    r.header.title
                ));
            }
            emit(&out);
        }
    }
    if failed {
        2
    } else {
        0
    }
}

fn cmd_explain(a: ExplainArgs) -> u8 {
    let set = load(&a.rules);
    let Some(rule) = set.rules.iter().find(|r| r.id == a.id) else {
        let ids = set.rules.iter().map(|r| r.id.as_str());
        match crate::engine::host::closest(&a.id, ids) {
            Some(c) => eprintln!("error: unknown rule `{}`; did you mean `{c}`?", a.id),
            None => eprintln!(
                "error: unknown rule `{}`; `preflight rules` lists them",
                a.id
            ),
        }
        return 2;
    };
    let h = &rule.header;
    let mut out = format!("{}: {}\n\n", rule.id, h.title);
    out.push_str(&format!("  severity     {}\n", h.severity.as_str()));
    if !h.requirements.is_empty() {
        out.push_str(&format!("  requirement  {}\n", h.requirements.join(", ")));
    }
    out.push_str(&format!("  source       {}\n", rule.source.name()));
    for (heading, body) in &h.sections {
        out.push_str(&format!(
            "\n{heading}\n{}\n",
            "-".repeat(heading.chars().count())
        ));
        for line in body.lines() {
            out.push_str(&format!("  {line}\n").replace("  \n", "\n"));
        }
    }
    emit(&out);
    0
}

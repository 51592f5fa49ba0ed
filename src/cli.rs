//! Command-line interface: subcommands, flags, and what each prints.

use crate::check::{self, Input, Options};
use crate::config::{self, Config};
use crate::engine::Limits;
use crate::estate::Source;
use crate::files;
use crate::fixture;
use crate::gate::{baseline, date::Date};
use crate::report::{
    github, human, json, junit, markdown, sarif, Failure, FailureKind, Report, Severity,
};
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
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
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Github,
    Markdown,
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
        Command::Diff(a) => cmd_diff(a),
        Command::Test(a) => cmd_test(a),
        Command::Rules(a) => cmd_rules(a),
        Command::Explain(a) => cmd_explain(a),
    }
}

/// Builds run options from flags and `preflight.toml`; problems found on the way are
/// failures of the run, reported with its findings.
fn options(c: &CommonArgs, failures: &mut Vec<Failure>) -> Result<Options, String> {
    let mut config = Config::default();
    let path = match (&c.config, c.no_config) {
        (Some(p), _) => Some(p.clone()),
        (None, false) => std::env::current_dir()
            .ok()
            .and_then(|d| config::discover(&d)),
        (None, true) => None,
    };
    if let Some(path) = path {
        let (read, problems) = config::load(&path);
        config = read;
        failures.extend(problems);
    }
    let mut limits = config.limits(Limits::default());
    if let Some(t) = c.limits.timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(format!(
                "--timeout must be a positive number of seconds, not {t}"
            ));
        }
        limits.timeout = Duration::from_secs_f64(t);
    }
    let today = match &c.today {
        Some(d) => Date::parse(d)
            .ok_or_else(|| format!("--today takes a date such as 2027-01-31, not `{d}`"))?,
        None => Date::today(),
    };
    let fail_at = match c.deny {
        Some(DenyLevel::Warnings) => Severity::Warning,
        Some(DenyLevel::Notes) => Severity::Note,
        None => config.fail_on.unwrap_or(Severity::Error),
    };
    let mut rule_dirs = config.rule_dirs.clone();
    rule_dirs.extend(c.rules.dirs.iter().cloned());
    Ok(Options {
        paths: Vec::new(),
        rule_dirs,
        builtin: !c.rules.no_builtin && config.builtin.unwrap_or(true),
        jobs: c.jobs,
        max_file_size: c
            .limits
            .max_file_size
            .or(config.max_file_size)
            .unwrap_or(files::DEFAULT_MAX_FILE_SIZE),
        limits,
        verbose: c.output.verbose,
        config,
        fail_at,
        today,
        baseline: None,
        // Only for people watching a terminal, never around machine-read output.
        progress: c.format == Format::Human && std::io::stderr().is_terminal(),
    })
}

fn cmd_check(a: CheckArgs) -> u8 {
    let mut failures = Vec::new();
    let mut opts = match options(&a.common, &mut failures) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(path) = &a.baseline {
        match baseline::read(path) {
            Ok(entries) => opts.baseline = Some(entries),
            Err(e) => failures.push(Failure::unlocated(FailureKind::Io, files::display(path), e)),
        }
    }
    let inputs = check::expand(&a.paths, &mut failures)
        .into_iter()
        .map(Input::Path)
        .collect();
    let report = check::run_inputs(&opts, inputs, failures);
    if let Some(path) = &a.write_baseline {
        if let Err(e) = baseline::write(path, &report) {
            eprintln!("error: cannot write baseline {}: {e}", path.display());
            print_report(&report, a.common.format, style(a.common.output.color));
            return 2;
        }
    }
    print_report(&report, a.common.format, style(a.common.output.color));
    report.exit_code()
}

fn cmd_diff(a: DiffArgs) -> u8 {
    let mut failures = Vec::new();
    let opts = match options(&a.common, &mut failures) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let (base, head) = match (&a.git, a.files.as_slice()) {
        (None, [base, head]) => (Input::Path(base.clone()), Input::Path(head.clone())),
        (Some(rev), [path]) => match git_show(rev, path) {
            Ok(source) => (Input::Text(Arc::new(source)), Input::Path(path.clone())),
            Err(e) => {
                failures.push(Failure::unlocated(FailureKind::Io, files::display(path), e));
                let report = check::run_inputs(&opts, vec![Input::Path(path.clone())], failures);
                print_report(&report, a.common.format, style(a.common.output.color));
                return 2;
            }
        },
        (None, _) => {
            eprintln!("error: diff takes BASE and HEAD, or --git REV and one PATH");
            return 2;
        }
        (Some(_), _) => {
            eprintln!("error: with --git, diff takes exactly one PATH");
            return 2;
        }
    };
    let report = check::diff(&opts, base, head, failures);
    print_report(&report, a.common.format, style(a.common.output.color));
    report.exit_code()
}

/// The text of `path` at git revision `rev`, named `path@rev`.
fn git_show(rev: &str, path: &std::path::Path) -> Result<Source, String> {
    let shown = files::display(path);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    // `./name` is resolved relative to the directory git runs in.
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .arg("show")
        .arg(format!("{rev}:./{name}"))
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "git cannot show `{shown}` at `{rev}`: {}",
            err.trim()
        ));
    }
    files::source_from_bytes(format!("{shown}@{rev}"), out.stdout).map_err(|f| f.message)
}

fn print_report(report: &Report, format: Format, style: human::Style) {
    let text = match format {
        Format::Json => json::render(report),
        Format::Human => human::render(report, style),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Github => github::render(report),
        Format::Markdown => markdown::render(report),
    };
    emit(&text);
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
        ListFormat::Json => {
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
        ListFormat::Human => {
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

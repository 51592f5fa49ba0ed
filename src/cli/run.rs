//! `check` and `diff`: options from flags and `preflight.toml`, running, printing.

use super::{emit, style, CheckArgs, CommonArgs, DenyLevel, DiffArgs, Format};
use crate::check::{self, Input, Options};
use crate::config::{self, Config};
use crate::engine::Limits;
use crate::estate::Source;
use crate::files;
use crate::gate::{baseline, date::Date};
use crate::report::{
    github, human, json, junit, markdown, sarif, Failure, FailureKind, Report, Severity,
};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

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

pub(super) fn check(a: CheckArgs) -> u8 {
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

pub(super) fn diff(a: DiffArgs) -> u8 {
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

//! The `check` and `diff` commands: flags into settings, one pipeline run, output.

use super::{emit, style, CheckArgs, CommonArgs, DenyLevel, DiffArgs};
use crate::estate::Source;
use crate::files;
use crate::output;
use crate::pipeline::{self, Input};
use crate::report::{Failure, FailureKind, Report, Severity};
use crate::settings::{Flags, Settings};
use std::io::IsTerminal;
use std::sync::Arc;

/// What the flags shared by `check` and `diff` say.
fn flags(c: &CommonArgs) -> Flags {
    Flags {
        config: c.config.clone(),
        no_config: c.no_config,
        rule_dirs: c.rules.dirs.clone(),
        no_builtin: c.rules.no_builtin,
        jobs: c.jobs,
        timeout: c.limits.timeout,
        max_file_size: c.limits.max_file_size,
        fail_on: c.deny.map(|d| match d {
            DenyLevel::Warnings => Severity::Warning,
            DenyLevel::Notes => Severity::Note,
        }),
        today: c.today.clone(),
        verbose: c.output.verbose,
        // Only for people watching a terminal, never around machine-read output.
        progress: c.format == output::Format::Human && std::io::stderr().is_terminal(),
        ..Flags::default()
    }
}

pub(super) fn check(a: CheckArgs) -> u8 {
    let (settings, failures) = Settings::resolve(&Flags {
        paths: a.paths.clone(),
        baseline: a.baseline.clone(),
        write_baseline: a.write_baseline.clone(),
        ..flags(&a.common)
    });
    let report = pipeline::check(&settings, failures);
    print_report(&report, &a.common);
    // Recording a baseline is maintenance: it succeeds when the file was written.
    if a.write_baseline.is_some() && report.failures.is_empty() {
        0
    } else {
        report.exit_code()
    }
}

pub(super) fn diff(a: DiffArgs) -> u8 {
    let (settings, mut failures) = Settings::resolve(&flags(&a.common));
    let (base, head) = match (&a.git, a.files.as_slice()) {
        (None, [base, head]) => (Input::Path(base.clone()), Input::Path(head.clone())),
        (Some(rev), [path]) => match git_show(rev, path) {
            Ok(source) => (Input::Text(Arc::new(source)), Input::Path(path.clone())),
            Err(e) => {
                failures.push(Failure::unlocated(FailureKind::Io, files::display(path), e));
                let report =
                    pipeline::check_inputs(&settings, vec![Input::Path(path.clone())], failures);
                print_report(&report, &a.common);
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
    let report = pipeline::diff(&settings, base, head, failures);
    print_report(&report, &a.common);
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

fn print_report(report: &Report, c: &CommonArgs) {
    emit(&output::render(report, c.format, &style(c.output.color)));
}

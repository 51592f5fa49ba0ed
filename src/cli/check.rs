//! The `check` and `diff` commands: flags into settings, one pipeline run, output.

use super::{emit, style, CheckArgs, CommonArgs, DenyLevel, DiffArgs, FailOn, PolicySide};
use crate::files;
use crate::gate::{git::Base, policy};
use crate::output;
use crate::pipeline::{self, Input};
use crate::report::{Failure, FailureKind, Report, Severity};
use crate::settings::{Flags, Settings};
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
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
        max_operations: c.limits.max_operations,
        max_memory: c.limits.max_memory,
        max_file_size: c.limits.max_file_size,
        fail_on: c
            .fail_on
            .map(|f| match f {
                FailOn::Error => Severity::Error,
                FailOn::Warning => Severity::Warning,
                FailOn::Note => Severity::Note,
            })
            .or(c.deny.map(|d| match d {
                DenyLevel::Warnings => Severity::Warning,
                DenyLevel::Notes => Severity::Note,
            })),
        select: c.select.clone(),
        ignore: c.ignore.clone(),
        today: c.today.clone(),
        ignore_waivers: c.ignore_waivers,
        verbose: c.output.verbose,
        // Only for people watching a terminal, never around machine-read output.
        progress: c.format == output::Format::Human && std::io::stderr().is_terminal(),
        ..Flags::default()
    }
}

pub(super) fn check(a: CheckArgs) -> u8 {
    if a.common.timings {
        crate::timings::enable();
    }
    let (settings, failures) = Settings::resolve(&Flags {
        paths: a.paths.clone(),
        baseline: a.baseline.clone(),
        write_baseline: a.write_baseline.clone(),
        ..flags(&a.common)
    });
    let stdin = a.paths.iter().any(|p| p.as_os_str() == "-");
    if a.fix && stdin {
        eprintln!("error: --fix edits files; it cannot edit standard input (`-`)");
        return 2;
    }
    if a.fix {
        return fix(&settings, failures, &a);
    }
    let report = if stdin {
        check_stdin(&settings, &a, failures)
    } else {
        pipeline::check(&settings, failures)
    };
    // Recording a baseline is maintenance: it succeeds when the file was written.
    let code = if a.write_baseline.is_some() && report.failures.is_empty() {
        0
    } else {
        report.exit_code()
    };
    finish(&report, &a.common, code)
}

pub(super) fn diff(a: DiffArgs) -> u8 {
    if a.common.timings {
        crate::timings::enable();
    }
    let mut flags = flags(&a.common);
    let mut early = Vec::new();
    let mut changes = Vec::new();
    // Holds the base's policy files until the run is over.
    let mut _policy = None;
    let base = match (&a.git, a.files.as_slice()) {
        (Some(rev), [path]) => match Base::open(rev, path) {
            Ok(base) => Some((base, path.clone())),
            Err(e) => {
                let f = Failure::unlocated(FailureKind::Io, files::display(path), e);
                let (settings, mut failures) = Settings::resolve(&flags);
                failures.push(f);
                let report = pipeline::check_inputs(&settings, Vec::new(), failures);
                return finish(&report, &a.common, 2);
            }
        },
        _ => None,
    };
    if let Some((base, path)) = &base {
        let files = policy::PolicyFiles {
            config: flags.config.clone(),
            no_config: flags.no_config,
            config_start: flags.config_start.clone(),
            rule_dirs: flags.rule_dirs.clone(),
        };
        match policy::from_base(base, &files) {
            Ok(p) => {
                changes.clone_from(&p.changes);
                if a.policy == PolicySide::Base {
                    flags.config.clone_from(&p.files.config);
                    flags.no_config = p.files.no_config;
                    flags.rule_dirs.clone_from(&p.files.rule_dirs);
                }
                _policy = Some(p);
            }
            Err(e) => early.push(policy::failure(path, e)),
        }
    }
    let (settings, mut failures) = Settings::resolve(&flags);
    failures.extend(early);
    let pairs = match (&base, a.files.as_slice()) {
        (None, [base, head]) => vec![(Input::Path(base.clone()), Input::Path(head.clone()))],
        (Some((base, path)), [_]) => match git_pairs(base, path, &mut failures) {
            Ok(pairs) => pairs,
            Err(e) => {
                failures.push(Failure::unlocated(FailureKind::Io, files::display(path), e));
                let report = pipeline::check_inputs(&settings, Vec::new(), failures);
                return finish(&report, &a.common, 2);
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
    let mut report = pipeline::diff(&settings, pairs, failures);
    report.policy_changes = changes;
    let code = report.exit_code();
    finish(&report, &a.common, code)
}

/// `check --fix`: the fixes applied (or, with `--diff`, printed as a diff on stdout),
/// then the report of what remains. The lines saying what was fixed go with a human
/// report, else to stderr, so machine-read output stays one document.
fn fix(settings: &Settings, failures: Vec<Failure>, a: &CheckArgs) -> u8 {
    let outcome = crate::fix::run(settings, failures, a.diff);
    let summary = outcome.summary(a.diff);
    let report = &outcome.report;
    let code = report.exit_code();
    if a.diff {
        emit(&outcome.diff());
        eprint!("{summary}");
        let written = write_outputs(report, &a.common);
        return exit_code(&a.common, code, written);
    }
    let code = finish(report, &a.common, code);
    if a.common.format == output::Format::Human && !a.common.statistics {
        emit(&summary);
    } else {
        eprint!("{summary}");
    }
    code
}

/// `check -`: the estate on standard input, under `--stdin-filename`, beside any other
/// paths given.
fn check_stdin(settings: &Settings, a: &CheckArgs, mut failures: Vec<Failure>) -> Report {
    let name = a.common.stdin_filename.clone();
    let mut bytes = Vec::new();
    let read = std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin().lock(), settings.max_file_size + 1),
        &mut bytes,
    );
    let others: Vec<PathBuf> = a
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    let mut inputs: Vec<Input> = pipeline::expand(&others, &settings.root, &mut failures)
        .into_iter()
        .map(Input::Path)
        .collect();
    match read {
        Err(e) => failures.push(Failure::unlocated(
            FailureKind::Io,
            &name,
            format!("cannot read standard input: {e}"),
        )),
        Ok(_) if bytes.len() as u64 > settings.max_file_size => failures.push(Failure::unlocated(
            FailureKind::Io,
            &name,
            format!(
                "standard input is over the limit of {} bytes",
                settings.max_file_size
            ),
        )),
        Ok(_) => match files::source_from_bytes(name, bytes) {
            Ok(source) => inputs.push(Input::Text(Arc::new(source))),
            Err(f) => failures.push(*f),
        },
    }
    pipeline::check_inputs(settings, inputs, failures)
}

/// The (base, head) pairs `path` stands for against git revision `rev`: one file, or
/// every estate below a directory in either tree. A side without the file is absent.
fn git_pairs(
    base: &Base,
    path: &Path,
    failures: &mut Vec<Failure>,
) -> Result<Vec<(Input, Input)>, String> {
    let rev = &base.rev;
    let rel = base
        .relative(path)
        .ok_or_else(|| "lies outside the git work tree".to_string())?;
    let base_dir: Vec<String> = base.list(&rel)?.into_iter().filter(|n| n != &rel).collect();
    let is_dir = path.is_dir() || (!path.exists() && !base_dir.is_empty());
    // repository-relative name -> the head file as the user named it
    let mut heads: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut bases: BTreeSet<String> = BTreeSet::new();
    if is_dir {
        for p in pipeline::expand(&[path.to_path_buf()], &base.root, failures) {
            if let Some(r) = base.relative(&p) {
                heads.insert(r, p);
            }
        }
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        for name in base_dir {
            let inner = name.strip_prefix(&prefix).unwrap_or(&name);
            let hidden = inner.split('/').any(|part| part.starts_with('.'));
            if name.ends_with(".toml") && !hidden {
                bases.insert(name);
            }
        }
    } else {
        if path.exists() || path.is_symlink() {
            // The head side is read under the same rules as `check`.
            match files::admit(path, &base.root) {
                Ok(()) => {
                    heads.insert(rel.clone(), path.to_path_buf());
                }
                Err(f) => {
                    failures.push(f);
                    return Ok(Vec::new());
                }
            }
        }
        bases.insert(rel.clone());
    }
    let mut pairs = Vec::new();
    let names: BTreeSet<String> = heads.keys().cloned().chain(bases).collect();
    for name in names {
        let base_input = match base.show(&name)? {
            Some(bytes) => match files::source_from_bytes(format!("{name}@{rev}"), bytes) {
                Ok(source) => Input::Base(Arc::new(source)),
                Err(f) => {
                    failures.push(*f);
                    Input::Absent(format!("{name}@{rev}"))
                }
            },
            None => Input::Absent(format!("{name}@{rev}")),
        };
        let head_input = match heads.get(&name) {
            Some(p) => Input::Path(p.clone()),
            None => Input::Absent(name.clone()),
        };
        if matches!(
            (&base_input, &head_input),
            (Input::Absent(_), Input::Absent(_))
        ) {
            return Err(format!("no such file in the work tree nor at `{rev}`"));
        }
        pairs.push((base_input, head_input));
    }
    Ok(pairs)
}

/// Prints the report and writes every `--output`; a file that cannot be written is
/// a failure of the run, said on stderr and in the exit code.
fn print_report(report: &Report, c: &CommonArgs) -> bool {
    let style = output::Style {
        rule_sites: c.output.verbose,
        quiet: c.quiet,
        ..style(c.output.color)
    };
    if c.statistics {
        emit(&output::statistics(report));
    } else {
        // Renderers may share the work out; they keep to the cores `--jobs` allows.
        let jobs = c.jobs.filter(|&n| n <= crate::settings::most_jobs());
        let text = crate::timings::phase("render", || {
            crate::pipeline::pool(jobs).install(|| output::render(report, c.format, &style))
        });
        emit(&text);
    }
    let written = write_outputs(report, c);
    if c.timings {
        eprint!("{}", crate::timings::summary());
    }
    written
}

/// Writes every `--output`; false when one could not be written (said on stderr).
fn write_outputs(report: &Report, c: &CommonArgs) -> bool {
    let mut written = true;
    for (format, path) in &c.outputs {
        let text = output::render(report, *format, &crate::output::Style::default());
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", files::display(path));
            written = false;
        }
    }
    written
}

/// The exit code of a printed run: 2 when an output could not be written; with
/// --exit-zero, findings alone never fail it.
fn finish(report: &Report, c: &CommonArgs, code: u8) -> u8 {
    let written = print_report(report, c);
    exit_code(c, code, written)
}

fn exit_code(c: &CommonArgs, code: u8, written: bool) -> u8 {
    if !written {
        2
    } else if c.exit_zero && code == 1 {
        0
    } else {
        code
    }
}

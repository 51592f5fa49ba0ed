//! One `check` run end to end: expand paths, load rules and estates in parallel,
//! evaluate every pair, and return a sorted report.

use crate::engine::run::{evaluate, Estate};
use crate::engine::{rule, sandbox, Limits, Rule};
use crate::estate::{self, Source};
use crate::files;
use crate::report::{Failure, FailureKind, Report};
use rayon::prelude::*;
use rhai::Engine;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub rule_dirs: Vec<PathBuf>,
    pub builtin: bool,
    pub jobs: Option<usize>,
    pub limits: Limits,
    pub max_file_size: u64,
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            paths: Vec::new(),
            rule_dirs: Vec::new(),
            builtin: true,
            jobs: None,
            limits: Limits::default(),
            max_file_size: files::DEFAULT_MAX_FILE_SIZE,
            verbose: false,
        }
    }
}

/// The compiled rules of a run and the shared engine that runs them.
pub struct RuleSet {
    pub engine: Engine,
    pub rules: Vec<Rule>,
    pub failures: Vec<Failure>,
}

/// A rayon pool with `jobs` threads (all cores by default) and stacks deep enough
/// for the interpreter's recursion limits.
pub fn pool(jobs: Option<usize>) -> rayon::ThreadPool {
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(64 << 20);
    if let Some(n) = jobs.filter(|n| *n > 0) {
        builder = builder.num_threads(n);
    }
    builder.build().expect("thread pool starts")
}

/// Compiles the built-in pack (when `builtin`) and every rule under `dirs`.
pub fn load_rules(builtin: bool, dirs: &[PathBuf], limits: &Limits, verbose: bool) -> RuleSet {
    let engine = sandbox::build(limits, verbose);
    let mut failures = Vec::new();
    let mut texts = if builtin {
        rule::builtin_texts()
    } else {
        Vec::new()
    };
    for dir in dirs {
        if !dir.exists() {
            failures.push(Failure::unlocated(
                FailureKind::Io,
                files::display(dir),
                "rule directory does not exist",
            ));
            continue;
        }
        texts.extend(rule::read_dir_texts(dir, &mut failures));
    }
    let compiled: Vec<_> = texts
        .into_par_iter()
        .map(|t| rule::compile(&engine, t))
        .collect();
    let mut rules = Vec::new();
    let mut seen = HashSet::new();
    for c in compiled {
        match c {
            Ok(r) if !seen.insert(r.id.clone()) => failures.push(Failure::located(
                FailureKind::RuleHeader,
                &r.source,
                0..0,
                format!("rule id `{}` is defined twice; this file is ignored", r.id),
            )),
            Ok(r) => rules.push(r),
            Err(f) => failures.push(*f),
        }
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    RuleSet {
        engine,
        rules,
        failures,
    }
}

/// Expands directories into their `*.toml` files; missing paths become failures.
pub fn expand(paths: &[PathBuf], failures: &mut Vec<Failure>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            files::walk(p, "toml", &mut out, failures);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            failures.push(Failure::unlocated(
                FailureKind::Io,
                files::display(p),
                "no such file or directory",
            ));
        }
    }
    out
}

/// Reads and parses estates in parallel; each broken one yields its failures.
pub fn load_estates(paths: &[PathBuf], max_file_size: u64) -> (Vec<Estate>, Vec<Failure>) {
    let loaded: Vec<Result<Estate, Vec<Failure>>> = paths
        .par_iter()
        .enumerate()
        .map(|(index, path)| load_one(index, path, max_file_size))
        .collect();
    let mut estates = Vec::new();
    let mut failures = Vec::new();
    for l in loaded {
        match l {
            Ok(e) => estates.push(e),
            Err(f) => failures.extend(f),
        }
    }
    (estates, failures)
}

fn load_one(index: usize, path: &Path, max: u64) -> Result<Estate, Vec<Failure>> {
    let source = files::read_text_capped(path, max).map_err(|f| vec![*f])?;
    parse_source(index, Arc::new(source))
}

/// Parses one estate text; every syntax error becomes a located failure.
pub fn parse_source(index: usize, source: Arc<Source>) -> Result<Estate, Vec<Failure>> {
    match estate::parse(source.clone()) {
        Ok(doc) => Ok(Estate {
            index,
            doc: Arc::new(doc),
        }),
        Err(errors) => Err(errors
            .into_iter()
            .map(|e| Failure::located(FailureKind::TomlSyntax, &source, e.span, e.message))
            .collect()),
    }
}

/// Runs a whole check.
pub fn run(opts: &Options) -> Report {
    pool(opts.jobs).install(|| {
        let set = load_rules(opts.builtin, &opts.rule_dirs, &opts.limits, opts.verbose);
        let mut failures = set.failures;
        let paths = expand(&opts.paths, &mut failures);
        let (estates, load_failures) = load_estates(&paths, opts.max_file_size);
        failures.extend(load_failures);
        let (findings, run_failures) = evaluate(&set.engine, &opts.limits, &estates, &set.rules);
        failures.extend(run_failures);
        let mut report = Report {
            files: paths.len(),
            rules: set.rules.len(),
            findings,
            failures,
        };
        report.sort();
        report
    })
}

//! One run end to end, as a sequence of steps: expand paths, load rules and estates in
//! parallel, evaluate every pair, apply levels and waivers, compare with a baseline or
//! base, record a baseline, and return a sorted report. Every step's failures land in
//! the report.

use crate::engine::run::{evaluate_with_progress, Estate, Found};
use crate::engine::{rule, sandbox, Limits, Rule};
use crate::estate::{self, Source};
use crate::files;
use crate::gate::{self, baseline, waivers};
use crate::report::{own, Failure, FailureKind, Finding, Report, RuleDoc};
use crate::settings::Settings;
use rayon::prelude::*;
use rhai::Engine;
use std::collections::HashMap;
use std::collections::HashSet;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Runs with more estates than this, or more bytes, get a progress bar.
const PROGRESS_FILES: usize = 50;
const PROGRESS_BYTES: usize = 16 << 20;

fn progress_bar(
    opts: &Settings,
    estates: &[Estate],
    rules: usize,
) -> Option<indicatif::ProgressBar> {
    let bytes: usize = estates.iter().map(|e| e.doc.source.text().len()).sum();
    if !opts.progress || (estates.len() <= PROGRESS_FILES && bytes <= PROGRESS_BYTES) {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some((estates.len() * rules) as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} checking {pos}/{len} estate × rule pairs {wide_bar} {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// An estate to check: a file, text obtained elsewhere, a git base's version, or, on
/// one side of a diff, a file that side does not have.
#[derive(Debug, Clone)]
pub enum Input {
    Path(PathBuf),
    /// Text read elsewhere: standard input, an editor's buffer, a fixed file.
    Text(Arc<Source>),
    /// A file as a git base had it: compared against, so an empty one is no failure.
    Base(Arc<Source>),
    Absent(String),
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
    let mut engine = engine;
    crate::engine::api::node::register_properties(&mut engine, &rules);
    RuleSet {
        engine,
        rules,
        failures,
    }
}

/// Expands directories into their `*.toml` files; missing paths become failures.
/// A file given directly must lie inside `root` (the repository root, else the current
/// directory); a directory given is the root of its own walk.
pub fn expand(paths: &[PathBuf], root: &Path, failures: &mut Vec<Failure>) -> Vec<PathBuf> {
    expand_filtered(paths, root, &|_| true, failures)
}

/// [`expand`], keeping of the files found in directories only those `keep` accepts
/// (`include`/`exclude` of `preflight.toml`); files named directly are always kept.
pub fn expand_filtered(
    paths: &[PathBuf],
    root: &Path,
    keep: &dyn Fn(&Path) -> bool,
    failures: &mut Vec<Failure>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let (before, failed) = (out.len(), failures.len());
            let mut found = Vec::new();
            files::walk(p, "toml", &mut found, failures);
            out.extend(found.into_iter().filter(|f| keep(f)));
            if out.len() == before && failures.len() == failed {
                failures.push(Failure::unlocated(
                    FailureKind::NothingToCheck,
                    files::display(p),
                    "no estate file (*.toml) below this directory: there is nothing to check",
                ));
            }
        } else if p.exists() {
            match files::admit(p, root) {
                Ok(()) => out.push(p.clone()),
                Err(f) => failures.push(f),
            }
        } else if p.is_symlink() {
            failures.push(Failure::unlocated(
                FailureKind::Io,
                files::display(p),
                "broken symbolic link",
            ));
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

/// Reads and parses inputs in parallel; each broken one yields its failures.
pub fn load_estates(inputs: &[Input], max_file_size: u64) -> (Vec<Estate>, Vec<Failure>) {
    let loaded: Vec<Option<Result<Estate, Vec<Failure>>>> = inputs
        .par_iter()
        .enumerate()
        .map(|(index, input)| match input {
            Input::Path(p) => Some(load_one(index, p, max_file_size)),
            Input::Text(source) => Some(parse_source(index, source.clone()).and_then(not_empty)),
            Input::Base(source) => Some(parse_source(index, source.clone())),
            Input::Absent(_) => None,
        })
        .collect();
    let mut estates = Vec::new();
    let mut failures = Vec::new();
    for l in loaded.into_iter().flatten() {
        match l {
            Ok(e) => estates.push(e),
            Err(f) => failures.extend(f),
        }
    }
    (estates, failures)
}

fn load_one(index: usize, path: &Path, max: u64) -> Result<Estate, Vec<Failure>> {
    let source = files::read_text_capped(path, max).map_err(|f| vec![*f])?;
    not_empty(parse_source(index, Arc::new(source))?)
}

/// An estate that says nothing would pass every rule: a gate must not pass on it,
/// whether it came from a file, standard input or an editor.
fn not_empty(estate: Estate) -> Result<Estate, Vec<Failure>> {
    if estate.doc.children(estate::ROOT).is_empty() {
        return Err(vec![Failure::located(
            FailureKind::NothingToCheck,
            &estate.doc.source,
            0..0,
            "the estate is empty: there is nothing to check",
        )]);
    }
    Ok(estate)
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

/// Checks `settings.paths`, with the baseline steps when settings name them;
/// `failures` are what went wrong before the run (resolving settings).
pub fn check(settings: &Settings, mut failures: Vec<Failure>) -> Report {
    let paths = expand_settings(settings, &mut failures);
    check_paths(settings, &paths, &HashMap::new(), failures)
}

/// The estate files `settings.paths` stand for; none at all is a failure.
pub fn expand_settings(settings: &Settings, failures: &mut Vec<Failure>) -> Vec<PathBuf> {
    let keep = |path: &Path| settings.scope.keeps(path);
    let paths = expand_filtered(&settings.paths, &settings.root, &keep, failures);
    if paths.is_empty() && failures.is_empty() {
        failures.push(Failure::unlocated(
            FailureKind::NothingToCheck,
            "",
            "no estate to check",
        ));
    }
    paths
}

/// Checks the files `paths`, reading the `i`th from `texts[i]` instead of the disk when
/// given (a file as it would be after an edit), with the baseline steps.
pub fn check_paths(
    settings: &Settings,
    paths: &[PathBuf],
    texts: &HashMap<usize, Arc<Source>>,
    mut failures: Vec<Failure>,
) -> Report {
    let inputs: Vec<Input> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| match texts.get(&i) {
            Some(text) => Input::Text(text.clone()),
            None => Input::Path(p.clone()),
        })
        .collect();
    let keys = paths
        .iter()
        .map(|p| files::relative_to(&settings.root, p))
        .collect();
    let baseline = settings
        .baseline
        .as_ref()
        .and_then(|path| baseline::read(path).map_err(|f| failures.extend(f)).ok());
    let (mut report, _) = check_keyed(settings, inputs, keys, failures);
    if let Some(base) = baseline {
        baseline::compare(&mut report, base);
        report.sort();
    }
    if let Some(path) = &settings.write_baseline {
        if let Err(e) = baseline::write(path, &report) {
            report.failures.push(Failure::unlocated(
                FailureKind::Io,
                files::display(path),
                format!("cannot write baseline: {e}"),
            ));
            report.sort();
        }
    }
    report
}

/// How fingerprints and baselines name an input: relative to the repository root.
fn file_key(settings: &Settings, input: &Input) -> String {
    match input {
        Input::Path(p) => files::relative_to(&settings.root, p),
        Input::Text(source) | Input::Base(source) => source.name().to_string(),
        Input::Absent(name) => name.clone(),
    }
}

/// Checks `inputs` in one run: rules, evaluation, levels, waivers, order.
pub fn check_inputs(settings: &Settings, inputs: Vec<Input>, failures: Vec<Failure>) -> Report {
    let keys = inputs.iter().map(|i| file_key(settings, i)).collect();
    check_keyed(settings, inputs, keys, failures).0
}

/// [`check_inputs`] with the file each input stands for given.
fn check_keyed(
    settings: &Settings,
    inputs: Vec<Input>,
    keys: Vec<String>,
    mut failures: Vec<Failure>,
) -> (Report, Vec<Estate>) {
    pool(settings.jobs).install(|| {
        // Neither needs the other: the rules compile while the estates are parsed.
        let (prepared, loaded) = rayon::join(
            || crate::timings::phase("compile rules", || prepare(settings)),
            || read_and_parse(settings, &inputs),
        );
        failures.extend(prepared.failures.iter().cloned());
        check_loaded(settings, &prepared, inputs, loaded, keys, failures)
    })
}

/// The rules of a run, compiled and chosen once, so that a long-lived caller (the
/// language server) can check many texts against them.
pub struct Prepared {
    pub set: RuleSet,
    /// Ids of the rules that run and of preflight's own rules.
    pub ids: Vec<String>,
    /// Documentation of those rules.
    pub docs: Vec<RuleDoc>,
    /// What went wrong loading or choosing rules; every report of these rules
    /// carries them.
    pub failures: Vec<Failure>,
}

/// Compiles and chooses the rules `settings` name; call inside a [`pool`].
pub fn prepare(settings: &Settings) -> Prepared {
    let set = load_rules(
        settings.builtin,
        &settings.rule_dirs,
        &settings.limits,
        settings.verbose,
    );
    let mut failures = set.failures;
    let mut rules = set.rules;
    failures.extend(choose(&mut rules, settings));
    // Checking with no rule would pass anything. (A rule that failed to load is its own
    // failure already.)
    if rules.is_empty() && failures.is_empty() {
        failures.push(Failure::unlocated(
            FailureKind::NothingToCheck,
            "",
            "no rule to run: the built-in pack is off (--no-builtin or `builtin = false`) or every rule is ignored, and no rule directory gives one",
        ));
    }
    let own_docs = own::docs();
    let ids: Vec<String> = rules
        .iter()
        .map(|r| r.id.clone())
        .chain(own_docs.iter().map(|d| d.id.clone()))
        .collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    failures.extend(settings.levels.check_rule_ids(&id_refs));
    let docs = rules.iter().map(rule_doc).chain(own_docs).collect();
    Prepared {
        set: RuleSet {
            engine: set.engine,
            rules,
            failures: Vec::new(),
        },
        ids,
        docs,
        failures,
    }
}

/// Checks `inputs` (named `keys`) against prepared rules: evaluation, levels,
/// waivers, order. `failures` should include the prepared ones. Call inside a [`pool`].
pub fn check_prepared(
    settings: &Settings,
    prepared: &Prepared,
    inputs: Vec<Input>,
    keys: Vec<String>,
    failures: Vec<Failure>,
) -> (Report, Vec<Estate>) {
    let loaded = read_and_parse(settings, &inputs);
    check_loaded(settings, prepared, inputs, loaded, keys, failures)
}

fn read_and_parse(settings: &Settings, inputs: &[Input]) -> (Vec<Estate>, Vec<Failure>) {
    crate::timings::phase("read and parse", || {
        load_estates(inputs, settings.max_file_size)
    })
}

/// Names each finding's file as fingerprints and baselines do (`keys`, by file index);
/// a file's findings share one name.
fn name_files(findings: &mut [Finding], keys: &[String]) {
    let shared: Vec<std::sync::Arc<str>> = keys.iter().map(|k| k.as_str().into()).collect();
    for f in findings {
        f.file = shared[f.file_index].clone();
    }
}

/// [`check_prepared`] with the estates read already.
fn check_loaded(
    settings: &Settings,
    prepared: &Prepared,
    inputs: Vec<Input>,
    (estates, load_failures): (Vec<Estate>, Vec<Failure>),
    keys: Vec<String>,
    mut failures: Vec<Failure>,
) -> (Report, Vec<Estate>) {
    let set = &prepared.set;
    let ids: Vec<&str> = prepared.ids.iter().map(String::as_str).collect();
    failures.extend(load_failures);
    let bar = progress_bar(settings, &estates, set.rules.len());
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let evaluation = crate::timings::phase("evaluate", || {
        evaluate_with_progress(&set.engine, &settings.limits, &estates, &set.rules, &tick)
    });
    let (found, run_failures) = (evaluation.findings, evaluation.failures);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    failures.extend(run_failures);
    let policy = waivers::Policy {
        today: settings.today,
        max_days: settings.max_waiver_days,
        apply: !settings.ignore_waivers,
    };
    let mut findings = Vec::with_capacity(found.iter().map(Found::len).sum());
    for (e, found) in estates.iter().zip(found) {
        let mut mine = Vec::new();
        found.move_into(&mut mine);
        let own = waivers::apply(&e.doc, e.index, &mut mine, &policy, &ids);
        findings.extend(mine);
        findings.extend(own);
    }
    name_files(&mut findings, &keys);
    // Levels apply to the `preflight/` rules too; a waiver never hides a level.
    gate::apply_levels(&mut findings, &settings.levels);
    let mut report = Report {
        files: inputs
            .iter()
            .filter(|i| !matches!(i, Input::Absent(_)))
            .count(),
        rules: set.rules.len(),
        findings,
        failures,
        fail_on: settings.fail_on,
        rule_docs: prepared.docs.clone(),
        checked: estates
            .iter()
            .map(|e| (e.index, e.doc.source.name().to_string()))
            .collect(),
        root: settings
            .root
            .canonicalize()
            .unwrap_or_else(|_| settings.root.clone())
            .display()
            .to_string(),
        applied: evaluation.applied,
        ..Report::default()
    };
    report.sort();
    (report, estates)
}

/// Whether `pattern` (an id, `pack/*` or `*`) names rule `id`.
fn names(pattern: &str, id: &str) -> bool {
    pattern == "*"
        || pattern == id
        || pattern
            .strip_suffix("/*")
            .is_some_and(|p| id.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// Keeps the rules `--select` names and drops those `--ignore` names; a pattern that
/// names no rule is a failure (a typo must not silently run nothing).
fn choose(rules: &mut Vec<Rule>, settings: &Settings) -> Vec<Failure> {
    let ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
    let mut failures = Vec::new();
    for (flag, patterns) in [("select", &settings.select), ("ignore", &settings.ignore)] {
        for p in patterns {
            if !ids.iter().any(|id| names(p, id)) {
                let hint = crate::suggest::closest(p, ids.iter().map(String::as_str))
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                failures.push(Failure::unlocated(
                    FailureKind::Config,
                    format!("--{flag}"),
                    format!("`{p}` names no rule or pack{hint}"),
                ));
            }
        }
    }
    rules.retain(|r| {
        (settings.select.is_empty() || settings.select.iter().any(|p| names(p, &r.id)))
            && !settings.ignore.iter().any(|p| names(p, &r.id))
    });
    failures
}

fn rule_doc(r: &Rule) -> RuleDoc {
    let h = &r.header;
    RuleDoc {
        id: r.id.clone(),
        title: h.title.clone(),
        severity: h.severity,
        requirements: h.requirements.clone(),
        description: h.section("What it does").unwrap_or(&h.title).to_string(),
        help: h.section("How to fix").unwrap_or("").to_string(),
        markdown: h
            .sections
            .iter()
            .map(|(heading, body)| format!("## {heading}\n{}\n", body.trim_end()))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Compares each (base, head) pair in one run: head findings are new or existing,
/// and base findings head no longer has are listed as fixed. A side may be absent
/// (a file added or deleted by the change).
pub fn diff(settings: &Settings, pairs: Vec<(Input, Input)>, failures: Vec<Failure>) -> Report {
    let mut inputs = Vec::new();
    let mut keys = Vec::new();
    for (base, head) in pairs {
        // The base stands for the head's file, so a finding in both compares equal.
        let key = file_key(settings, &head);
        inputs.extend([base, head]);
        keys.extend([key.clone(), key]);
    }
    let (mut report, estates) = check_keyed(settings, inputs, keys.clone(), failures);
    let (base_findings, mut head_findings): (Vec<Finding>, Vec<Finding>) = report
        .findings
        .drain(..)
        .partition(|f| f.file_index % 2 == 0);
    // Waivers the change adds are shown to the reviewer, leveled like any rule.
    let mut added = Vec::new();
    for head in estates.iter().filter(|e| e.index % 2 == 1) {
        let base = estates.iter().find(|e| e.index + 1 == head.index);
        added.extend(waivers::added(
            base.map(|b| b.doc.as_ref()),
            &head.doc,
            head.index,
        ));
    }
    name_files(&mut added, &keys);
    gate::apply_levels(&mut added, &settings.levels);
    head_findings.extend(added);
    report.findings = head_findings;
    report.checked.retain(|(index, _)| index % 2 == 1);
    report.applied.retain(|a| a.file_index % 2 == 1);
    baseline::compare(
        &mut report,
        base_findings.iter().map(baseline::Entry::of).collect(),
    );
    report.sort();
    report
}

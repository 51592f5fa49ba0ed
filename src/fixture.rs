//! `preflight test`: fixture estates whose lines say which findings they expect.
//!
//! A line carrying `# expect: pack/rule` (several ids allowed, separated by commas or
//! spaces) expects a finding of that rule whose primary label starts on that line.
//! A fixture passes when every expectation is met and every finding was expected.

use crate::engine::pack;
use crate::engine::run::evaluate;
use crate::engine::Limits;
use crate::estate::Source;
use crate::files;
use crate::pipeline::{self, RuleSet};
use crate::report::{Failure, FailureKind, Finding, Severity};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MARKER: &str = "# expect:";

/// One expectation: a rule id on a 1-based line, with the marker's span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub line: usize,
    pub rule: String,
    pub span: std::ops::Range<usize>,
}

/// Reads every `# expect:` marker of a fixture.
pub fn expectations(source: &Source) -> Vec<Expectation> {
    let mut out = Vec::new();
    for line in 0..source.line_count() {
        let range = source.line_range(line);
        let text = &source.text()[range.clone()];
        let Some(at) = text.find(MARKER) else {
            continue;
        };
        let list_start = at + MARKER.len();
        for id in text[list_start..]
            .split([',', ' ', '\t'])
            .filter(|s| !s.is_empty())
        {
            let offset = range.start + list_start + text[list_start..].find(id).unwrap_or(0);
            out.push(Expectation {
                line: line + 1,
                rule: id.to_string(),
                span: offset..offset + id.len(),
            });
        }
    }
    out
}

/// The verdict on one fixture.
#[derive(Debug)]
pub struct Outcome {
    pub file: String,
    pub source: Option<Arc<Source>>,
    /// Expectations no finding met.
    pub missing: Vec<Expectation>,
    /// Findings no expectation covered.
    pub unexpected: Vec<Finding>,
    pub findings: usize,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty()
    }
}

/// The whole test run: per-fixture outcomes and failures (broken rules, broken TOML).
#[derive(Debug, Default)]
pub struct TestRun {
    pub rules: usize,
    pub outcomes: Vec<Outcome>,
    pub failures: Vec<Failure>,
}

impl TestRun {
    pub fn exit_code(&self) -> u8 {
        if !self.failures.is_empty() {
            2
        } else if self.outcomes.iter().any(|o| !o.passed()) {
            1
        } else {
            0
        }
    }
}

/// Compares the findings of one fixture with its markers.
pub fn judge(source: &Arc<Source>, mut findings: Vec<Finding>) -> Outcome {
    let expected = expectations(source);
    let mut want: BTreeMap<(usize, String), Vec<Expectation>> = BTreeMap::new();
    for e in expected {
        want.entry((e.line, e.rule.clone())).or_default().push(e);
    }
    let total = findings.len();
    findings.sort_by_key(|f| f.span.start);
    // Markers count: two markers of one rule on a line expect two findings there.
    let mut unexpected = Vec::new();
    let mut found: BTreeMap<(usize, String), usize> = BTreeMap::new();
    for f in findings {
        let key = (source.line_col(f.span.start).line, f.rule.to_string());
        let seen = found.entry(key.clone()).or_default();
        *seen += 1;
        if want.get(&key).is_none_or(|w| *seen > w.len()) {
            unexpected.push(f);
        }
    }
    let missing = want
        .into_iter()
        .flat_map(|(k, v)| {
            let got = found.get(&k).copied().unwrap_or(0);
            v.into_iter().skip(got)
        })
        .collect();
    Outcome {
        file: source.name().to_string(),
        source: Some(source.clone()),
        missing,
        unexpected,
        findings: total,
    }
}

/// Runs the rules found in `dir` (the built-in pack when `dir` is `None`) against
/// every `*.toml` fixture under `dir` (under `rules/` of the current directory when
/// `None`).
pub fn run(dir: Option<&Path>, jobs: Option<usize>, limits: &Limits) -> TestRun {
    pipeline::pool(jobs).install(|| {
        let (set, fixture_root): (RuleSet, PathBuf) = match dir {
            Some(d) => (
                pipeline::load_rules(false, &[d.to_path_buf()], limits, false),
                d.to_path_buf(),
            ),
            None => (
                pipeline::load_rules(true, &[], limits, false),
                PathBuf::from("rules"),
            ),
        };
        let mut failures = set.failures;
        let mut paths = Vec::new();
        if fixture_root.is_dir() {
            files::walk(&fixture_root, "toml", &mut paths, &mut failures);
        }
        // A pack's shared files (`_schema.toml`) are not fixtures.
        paths.retain(|p| {
            !p.file_name()
                .is_some_and(|n| pack::is_shared(&n.to_string_lossy()))
        });
        let shown = files::display(&fixture_root);
        if set.rules.is_empty() && failures.is_empty() {
            failures.push(Failure::unlocated(
                FailureKind::Io,
                shown.clone(),
                "no rules found: `preflight test` needs `.rhai` rules beside their fixtures",
            ));
        }
        if paths.is_empty() {
            failures.push(Failure::unlocated(
                FailureKind::Io,
                shown,
                "no fixtures found: add `*.toml` estates with `# expect:` markers beside the rules",
            ));
        }
        let inputs: Vec<pipeline::Input> =
            paths.iter().cloned().map(pipeline::Input::Path).collect();
        let (estates, load_failures) =
            pipeline::load_estates(&inputs, files::DEFAULT_MAX_FILE_SIZE);
        failures.extend(load_failures);
        let (findings, run_failures) = evaluate(&set.engine, limits, &estates, &set.rules);
        failures.extend(run_failures);
        let mut by_file: BTreeMap<usize, Vec<Finding>> = BTreeMap::new();
        for f in findings {
            by_file.entry(f.file_index).or_default().push(f);
        }
        let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
        for e in &estates {
            failures.extend(unknown_ids(&e.doc.source, &ids));
        }
        let outcomes = estates
            .iter()
            .map(|e| judge(&e.doc.source, by_file.remove(&e.index).unwrap_or_default()))
            .collect();
        let mut run = TestRun {
            rules: set.rules.len(),
            outcomes,
            failures,
        };
        run.failures
            .sort_by(|a, b| (&a.file, &a.message).cmp(&(&b.file, &b.message)));
        run
    })
}

/// Markers naming a rule that is not loaded: a typo would otherwise read as a rule
/// that never fires.
pub fn unknown_ids(source: &Arc<Source>, ids: &[&str]) -> Vec<Failure> {
    expectations(source)
        .into_iter()
        .filter(|e| !ids.contains(&e.rule.as_str()))
        .map(|e| {
            let hint = crate::suggest::closest(&e.rule, ids.iter().copied())
                .map_or(String::new(), |c| format!("; did you mean `{c}`?"));
            Failure::located(
                FailureKind::RuleHeader,
                source,
                e.span.clone(),
                format!(
                    "`# expect:` names `{}`, which is not a loaded rule{hint}",
                    e.rule
                ),
            )
        })
        .collect()
}

/// A missing expectation drawn as a diagnostic on its marker.
pub fn missing_as_finding(source: &Arc<Source>, e: &Expectation) -> Finding {
    let mut f = Finding::new(
        "preflight/test",
        Severity::Error,
        format!(
            "expected a finding of `{}` on line {}, found none",
            e.rule, e.line
        ),
        source,
        0,
        (String::new(), e.span.clone()),
    );
    f.help = Some("the rule did not fire here: fix the rule or the fixture".into());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_several_markers_per_line() {
        let s = Source::new(
            "f.toml",
            "a = 1\nos = \"x\" # expect: p/a, p/b\n# expect:p/c\n".into(),
        );
        let e = expectations(&s);
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].line, e[0].rule.as_str()), (2, "p/a"));
        assert_eq!(&s.text()[e[1].span.clone()], "p/b");
        assert_eq!((e[2].line, e[2].rule.as_str()), (3, "p/c"));
    }
}

//! The built-in pack against its fixtures, and tests about the pack itself: every rule
//! documented, fired by a fixture and silent in another; every requirement covered.

use preflight::engine::Limits;
use preflight::fixture::{self, expectations};
use preflight::pipeline;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[test]
fn builtin_fixtures_pass() {
    let run = fixture::run(
        Some(Path::new("rules/officescan")),
        None,
        &Limits::default(),
    );
    assert!(run.failures.is_empty(), "failures: {:#?}", run.failures);
    assert!(run.outcomes.len() >= 3, "fixtures went missing");
    let failed: Vec<_> = run
        .outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| {
            format!(
                "{}: missing {:?}, unexpected {:?}",
                o.file,
                o.missing,
                o.unexpected
                    .iter()
                    .map(|f| (&f.rule, f.source.line_col(f.span.start).line))
                    .collect::<Vec<_>>()
            )
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn the_embedded_pack_is_the_rules_folder() {
    let embedded = pipeline::load_rules(true, &[], &Limits::default(), false);
    let on_disk = pipeline::load_rules(
        false,
        &["rules/officescan".into()],
        &Limits::default(),
        false,
    );
    assert!(embedded.failures.is_empty(), "{:#?}", embedded.failures);
    let ids = |s: &pipeline::RuleSet| s.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&embedded), ids(&on_disk));
}

#[test]
fn every_rule_is_documented_fired_and_silent_somewhere() {
    let set = pipeline::load_rules(true, &[], &Limits::default(), false);
    let run = fixture::run(
        Some(Path::new("rules/officescan")),
        None,
        &Limits::default(),
    );
    let mut fired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for o in &run.outcomes {
        let src = o.source.as_ref().unwrap();
        for e in expectations(src) {
            fired.entry(e.rule).or_default().insert(o.file.clone());
        }
    }
    let fixtures: BTreeSet<String> = run.outcomes.iter().map(|o| o.file.clone()).collect();
    let mut problems = Vec::new();
    for r in &set.rules {
        let h = &r.header;
        for section in ["What it does", "Why is this bad?", "How to fix"] {
            if h.section(section).is_none_or(|b| b.trim().is_empty()) {
                problems.push(format!("{}: no `## {section}` section", r.id));
            }
        }
        if h.requirements.is_empty() {
            problems.push(format!("{}: no `requirement:`", r.id));
        }
        let firing = fired.get(&r.id).cloned().unwrap_or_default();
        if firing.is_empty() {
            problems.push(format!("{}: no fixture fires it", r.id));
        }
        if firing.len() == fixtures.len() {
            problems.push(format!("{}: no fixture where it stays silent", r.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rule_messages_follow_the_style() {
    // Messages start lower-case and have no trailing period: checked on real output.
    let report = pipeline::check(
        &preflight::settings::Settings {
            paths: vec!["rules/officescan/tests".into(), "examples".into()],
            ..Default::default()
        },
        Vec::new(),
    );
    for f in &report.findings {
        let first = f.message.chars().next().unwrap();
        assert!(!first.is_uppercase(), "{}: {:?}", f.rule, f.message);
        assert!(!f.message.ends_with('.'), "{}: {:?}", f.rule, f.message);
    }
}

/// The requirements table in `docs/requirements.md`: R-id → rules → fixtures that fire
/// them. Regenerate with `UPDATE_DOCS=1 cargo test --test it pack::`.
fn requirements_table() -> String {
    let set = pipeline::load_rules(true, &[], &Limits::default(), false);
    let run = fixture::run(
        Some(Path::new("rules/officescan")),
        None,
        &Limits::default(),
    );
    let mut fixtures_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for o in &run.outcomes {
        for e in expectations(o.source.as_ref().unwrap()) {
            let name = Path::new(&o.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            fixtures_of.entry(e.rule).or_default().insert(name);
        }
    }
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for r in &set.rules {
        for req in &r.header.requirements {
            let n: u32 = req.trim_start_matches('R').parse().unwrap_or(0);
            rows.entry(n).or_default().push(r.id.clone());
        }
    }
    let mut out = String::from(
        "## Requirements → rules → fixtures\n\n\
         Generated from the rule headers and the fixtures' `# expect:` markers by\n\
         `UPDATE_DOCS=1 cargo test --test it pack::`; a test fails when it is out of date.\n\n\
         | requirement | rule | severity | fixtures that fire it |\n|---|---|---|---|\n",
    );
    for (n, ids) in &rows {
        for id in ids {
            let rule = set.rules.iter().find(|r| &r.id == id).unwrap();
            let fx: Vec<String> = fixtures_of
                .get(id)
                .into_iter()
                .flatten()
                .map(|f| format!("`{f}`"))
                .collect();
            out.push_str(&format!(
                "| R{n} | `{id}` | {} | {} |\n",
                rule.header.severity.as_str(),
                fx.join(", ")
            ));
        }
    }
    out
}

#[test]
fn every_requirement_has_a_rule_and_a_firing_fixture() {
    let table = requirements_table();
    for n in 1..=22 {
        let row = table.lines().find(|l| l.starts_with(&format!("| R{n} |")));
        let row = row.unwrap_or_else(|| panic!("R{n} has no rule"));
        assert!(
            row.ends_with("` |"),
            "R{n} has no fixture that fires it: {row}"
        );
    }
}

#[test]
fn requirements_doc_is_up_to_date() {
    // The definitions above the marker are written by hand; the table below it is generated.
    const MARKER: &str = "<!-- generated from here on -->\n";
    let table = requirements_table();
    let path = Path::new("docs/requirements.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let (head, generated) = on_disk
        .split_once(MARKER)
        .expect("docs/requirements.md keeps its generation marker");
    for n in 1..=22 {
        assert!(
            head.contains(&format!("| R{n} |")),
            "docs/requirements.md does not define R{n}"
        );
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, format!("{head}{MARKER}{table}")).unwrap();
        return;
    }
    assert_eq!(
        generated, table,
        "docs/requirements.md is stale: run UPDATE_DOCS=1 cargo test --test it pack::"
    );
}

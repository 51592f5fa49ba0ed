//! Pack folders: `_` files are shared, not rules; the prelude is merged into each rule
//! and its errors are located in it; the estate schema is the one the docs describe.

use preflight::engine::run::evaluate;
use preflight::engine::schema::{KeySpec, Schema};
use preflight::engine::Limits;
use preflight::estate::Source;
use preflight::pipeline;
use preflight::report::FailureKind;
use std::path::Path;
use std::sync::Arc;

const RULE: &str = "//! severity: error\n//! title: t\n";

fn pack(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    for (name, text) in files {
        std::fs::write(site.join(name), text).unwrap();
    }
    dir
}

fn run(dir: &Path, estate: &str) -> (Vec<String>, Vec<(String, FailureKind, String)>) {
    let set = pipeline::load_rules(false, &[dir.to_path_buf()], &Limits::default(), false);
    let estate = pipeline::parse_source(0, Arc::new(Source::new("e.toml", estate.into()))).unwrap();
    let (findings, run_failures) = evaluate(&set.engine, &Limits::default(), &[estate], &set.rules);
    let failures = set
        .failures
        .iter()
        .chain(&run_failures)
        .map(|f| {
            let at = f
                .source
                .as_ref()
                .zip(f.span.as_ref())
                .map_or(String::new(), |(s, r)| {
                    let lc = s.line_col(r.start);
                    format!("{}:{}", lc.line, lc.column)
                });
            (format!("{} {at}", f.file), f.kind, f.message.clone())
        })
        .collect();
    (
        findings.iter().map(|f| f.message.clone()).collect(),
        failures,
    )
}

#[test]
fn prelude_functions_reach_every_rule_and_are_not_rules() {
    let dir = pack(&[
        ("_prelude.rhai", "fn shout(s) { s.to_upper() }\n"),
        (
            "a.rhai",
            &format!("{RULE}fn check(e) {{ fail(e, \"x\", shout(\"a\")); }}\n"),
        ),
        (
            "b.rhai",
            &format!("{RULE}fn check(e) {{ fail(e, \"x\", shout(\"b\")); }}\n"),
        ),
    ]);
    let set = pipeline::load_rules(false, &[dir.path().into()], &Limits::default(), false);
    let ids: Vec<_> = set.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["site/a", "site/b"]);
    let (mut findings, failures) = run(dir.path(), "x = 1\n");
    findings.sort();
    assert_eq!(findings, ["A", "B"]);
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn a_broken_prelude_is_one_located_failure() {
    let dir = pack(&[
        ("_prelude.rhai", "fn ok() { 1 }\nfn broken( { }\n"),
        ("a.rhai", &format!("{RULE}fn check(e) {{ }}\n")),
        ("b.rhai", &format!("{RULE}fn check(e) {{ }}\n")),
    ]);
    let (_, failures) = run(dir.path(), "x = 1\n");
    assert_eq!(failures.len(), 1, "{failures:?}");
    let (at, kind, message) = &failures[0];
    assert_eq!(*kind, FailureKind::RuleCompile);
    assert!(at.contains("_prelude.rhai 2:"), "{at}");
    assert!(message.contains("prelude"), "{message}");
}

#[test]
fn a_runtime_error_in_the_prelude_points_into_the_prelude() {
    let dir = pack(&[
        ("_prelude.rhai", "// helpers\nfn boom(e) {\n    e[99]\n}\n"),
        ("a.rhai", &format!("{RULE}fn check(e) {{ boom(e); }}\n")),
    ]);
    let (_, failures) = run(dir.path(), "x = 1\n");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].1, FailureKind::RuleRuntime);
    assert!(
        failures[0].0.contains("_prelude.rhai 3:"),
        "{:?}",
        failures[0]
    );
}

#[test]
fn a_bad_schema_is_located_in_it() {
    let dir = pack(&[
        ("_schema.toml", "[tables.\"\"]\nname = \"strnig\"\n"),
        ("a.rhai", &format!("{RULE}fn check(e) {{ }}\n")),
    ]);
    let (_, failures) = run(dir.path(), "x = 1\n");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].0.contains("_schema.toml 2:"),
        "{:?}",
        failures[0]
    );
    let ok = pack(&[
        (
            "_schema.toml",
            "[tables.\"servers[]\"]\nrole = [\"a\", \"b\\\"\"]\n",
        ),
        (
            "a.rhai",
            &format!(
                "{RULE}fn check(e) {{ fail(e, \"x\", estate_schema()[\"servers[]\"].role[1]); }}\n"
            ),
        ),
    ]);
    assert_eq!(run(ok.path(), "x = 1\n").0, ["b\""]);
}

/// `| key | type | ... |` rows under each `[table]` heading of the estate format.
fn documented_tables() -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string("docs/estate-format.md").unwrap();
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            if let Some(start) = line.find("`[") {
                let end = line[start + 1..].find('`').unwrap() + start + 1;
                let name = line[start + 1..end].trim_matches(['[', ']']);
                let array = line[start + 1..].starts_with("[[");
                let path = name.replace('.', "[].") + if array { "[]" } else { "" };
                out.push((path, Vec::new()));
            }
            continue;
        }
        let cells: Vec<&str> = line
            .split(" | ")
            .map(|c| c.trim_matches(['|', ' ']))
            .collect();
        if let (Some(last), true) = (
            out.last_mut(),
            cells.len() >= 3 && cells[0].starts_with('`'),
        ) {
            for key in cells[0].split(", ") {
                last.1
                    .push((key.trim_matches('`').to_string(), cells[1].to_string()));
            }
        }
    }
    out
}

/// How the estate format writes a key's type.
fn doc_type(spec: &KeySpec) -> String {
    match spec {
        KeySpec::OneOf(values) => values
            .iter()
            .map(|v| format!("`\"{v}\"`"))
            .collect::<Vec<_>>()
            .join(" \\| "),
        KeySpec::Type(t) => match t.as_str() {
            "ipv4" | "ipv6" => "string".into(),
            "datetime" => "local date".into(),
            "array<string>" => "array of strings".into(),
            other => other.into(),
        },
    }
}

#[test]
fn the_estate_format_documents_the_pack_schema() {
    let text = std::fs::read_to_string("rules/officescan/_schema.toml").unwrap();
    let schema = Schema::parse(&text).unwrap();
    let documented = documented_tables();
    assert!(documented.len() >= 6, "tables went missing: {documented:?}");
    let mut problems = Vec::new();
    for (path, keys) in &schema.tables {
        if path.is_empty() {
            continue; // the top level is the list of sections
        }
        let Some((_, rows)) = documented.iter().find(|(p, _)| p == path) else {
            problems.push(format!("table `{path}` is not documented"));
            continue;
        };
        for (key, spec) in keys {
            let nested = matches!(spec, KeySpec::Type(t) if t == "table" || t == "array<table>");
            match rows.iter().find(|(k, _)| k == key) {
                None if nested => {
                    if !documented
                        .iter()
                        .any(|(p, _)| p.starts_with(&format!("{path}.{key}")))
                    {
                        problems.push(format!("`{path}.{key}` has no section"));
                    }
                }
                None => problems.push(format!("`{path}.{key}` is not documented")),
                Some((_, ty)) if *ty != doc_type(spec) => problems.push(format!(
                    "`{path}.{key}` is documented as {ty}, the schema says {}",
                    doc_type(spec)
                )),
                Some(_) => {}
            }
        }
    }
    for (path, rows) in &documented {
        let known = schema.table(path).unwrap_or_default();
        for (key, _) in rows {
            if !known.iter().any(|(k, _)| k == key) {
                problems.push(format!(
                    "`{path}.{key}` is documented but not in the schema"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_wrong_typed_name_is_not_how_messages_name_the_server() {
    let set = pipeline::load_rules(true, &[], &Limits::default(), false);
    let text = "[upgrade]\ntarget_version = \"10.6\"\nmethod = \"in-place\"\n\n[[servers]]\nname = 5\nrole = \"upgrade\"\nversion = \"10.5\"\nweb_server = \"Apache\"\n";
    let estate = pipeline::parse_source(0, Arc::new(Source::new("e.toml", text.into()))).unwrap();
    let (findings, failures) = evaluate(&set.engine, &Limits::default(), &[estate], &set.rules);
    assert!(failures.is_empty(), "{failures:#?}");
    let apache: Vec<_> = findings
        .iter()
        .filter(|f| &*f.rule == "officescan/server-on-apache")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(apache.len(), 1, "{apache:?}");
    assert!(apache[0].contains("`servers[0]`"), "{}", apache[0]);
}

#[test]
fn an_unknown_function_is_a_located_compile_failure_with_the_closest_name() {
    let dir = pack(&[
        ("_prelude.rhai", "fn helper(e) { e.items() }\n"),
        (
            "a.rhai",
            &format!("{RULE}fn check(e) {{\n    let s = helper(e);\n    for x in e.servers.selct(\"role\", \"upgrade\") {{ }}\n}}\n"),
        ),
        ("b.rhai", &format!("{RULE}fn check(e) {{ fial(e, \"x\", \"m\"); }}\n")),
        ("c.rhai", &format!("{RULE}fn mine(e) {{ e.len() }}\nfn check(e) {{ mine(e); print(type_of(e)); }}\n")),
    ]);
    let (_, failures) = run(dir.path(), "x = 1\n");
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(failures[0].0.contains("a.rhai 5:"), "{:?}", failures[0]);
    assert_eq!(failures[0].1, FailureKind::RuleCompile);
    assert!(
        failures[0].2.contains("`selct`") && failures[0].2.contains("did you mean `select`?"),
        "{}",
        failures[0].2
    );
    assert!(failures[1].0.contains("b.rhai 3:"), "{:?}", failures[1]);
    assert!(
        failures[1].2.contains("did you mean `fail`?"),
        "{}",
        failures[1].2
    );
}

#[test]
fn an_unknown_function_in_the_prelude_is_located_there() {
    let dir = pack(&[
        (
            "_prelude.rhai",
            "// shared\nfn h(e) { e.selct(\"a\", 1) }\n",
        ),
        ("a.rhai", &format!("{RULE}fn check(e) {{ h(e); }}\n")),
    ]);
    let (_, failures) = run(dir.path(), "x = 1\n");
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(
        failures[0].0.contains("_prelude.rhai 2:"),
        "{:?}",
        failures[0]
    );
    assert!(failures[0].2.contains("`selct`"), "{}", failures[0].2);
}

#[test]
fn preflight_test_needs_rules_fixtures_and_known_ids() {
    let run = |dir: &Path| preflight::fixture::run(Some(dir), Some(1), &Limits::default());
    let empty = tempfile::tempdir().unwrap();
    let r = run(empty.path());
    assert_eq!(r.exit_code(), 2);
    assert_eq!(r.failures.len(), 2, "{:#?}", r.failures);

    let rules_only = pack(&[("a.rhai", &format!("{RULE}fn check(e) {{ }}\n"))]);
    let r = run(rules_only.path());
    assert_eq!(r.exit_code(), 2);
    assert!(
        r.failures[0].message.contains("no fixtures"),
        "{:#?}",
        r.failures
    );

    let typo = pack(&[
        (
            "a.rhai",
            &format!("{RULE}fn check(e) {{ fail(e, \"x\", \"m\"); }}\n"),
        ),
        ("f.toml", "x = 1 # expect: site/b\n"),
    ]);
    let r = run(typo.path());
    assert_eq!(r.exit_code(), 2);
    assert_eq!(r.failures.len(), 1, "{:#?}", r.failures);
    assert!(
        r.failures[0].message.contains("`site/b`")
            && r.failures[0].message.contains("did you mean `site/a`?"),
        "{}",
        r.failures[0].message
    );
}

#[test]
fn matches_and_today_reach_rules() {
    let dir = pack(&[(
        "a.rhai",
        &format!(
            "{RULE}fn check(e) {{\n    if matches(e.host, \"^osce-[a-z]+$\") {{ fail(e, \"host\", today()); }}\n    matches(e.host, \"(\");\n}}\n"
        ),
    )]);
    let (findings, failures) = run(dir.path(), "host = \"osce-hq\"\n");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].len(), 10, "{}", findings[0]);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(
        failures[0].2.contains("invalid pattern"),
        "{}",
        failures[0].2
    );
}

#[test]
fn print_output_names_the_rule() {
    let dir = pack(&[(
        "p.rhai",
        &format!("{RULE}fn check(e) {{ print(\"hello\"); }}\n"),
    )]);
    let estate = dir.path().join("e.toml");
    std::fs::write(&estate, "x = 1\n").unwrap();
    let rules = dir.path().join("site");
    let out = crate::support::run(&[
        "check",
        estate.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--no-builtin",
        "--verbose",
    ]);
    assert!(out.stderr.contains("[site/p] hello"), "{}", out.stderr);
}

/// Runs the binary on `estate` with the `site` pack of `dir` only, as JSON.
fn run_site(dir: &Path, estate: &str) -> crate::support::Run {
    let path = dir.join("e.toml");
    std::fs::write(&path, estate).unwrap();
    let rules = dir.join("site");
    crate::support::run(&[
        "check",
        path.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--no-builtin",
        "--format",
        "json",
    ])
}

fn messages(json: &serde_json::Value) -> Vec<String> {
    let mut m: Vec<String> = json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["message"].as_str().unwrap_or("").to_string())
        .collect();
    m.sort();
    m
}

#[test]
fn top_level_constants_are_visible_in_functions() {
    let dir = pack(&[
        ("_prelude.rhai", "const ARCHES = [\"ia64\"];\n"),
        (
            "legacy.rhai",
            &format!(
                "{RULE}const LEGACY = [\"nt4\", \"w2k\"];\nconst LABEL = \"legacy \" + LEGACY.len();\n\
                 fn old(c) {{ c.os in LEGACY || c.arch in ARCHES }}\n\
                 fn check(estate) {{\n    for c in estate.clients {{\n        \
                 if old(c) {{ fail(c, \"os\", LABEL + \": \" + c.name); }}\n    }}\n}}\n"
            ),
        ),
    ]);
    let estate = "[[clients]]\nname = \"a\"\nos = \"nt4\"\narch = \"x86\"\n\n\
                  [[clients]]\nname = \"b\"\nos = \"w10\"\narch = \"x86\"\n\n\
                  [[clients]]\nname = \"c\"\nos = \"w10\"\narch = \"ia64\"\n";
    let out = run_site(dir.path(), estate);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(messages(&out.json), ["legacy 2: a", "legacy 2: c"]);
}

#[test]
fn a_constant_that_cannot_be_computed_or_is_rebound_is_a_located_compile_failure() {
    for (text, line, says) in [
        ("const N = 1 / 0;\nfn check(e) { N }\n", 3, "constant `N`"),
        (
            "const N = 1;\nfn check(e) { for N in [2] { } }\n",
            4,
            "`N` names a top-level constant",
        ),
    ] {
        let dir = pack(&[("r.rhai", &format!("{RULE}{text}"))]);
        let out = run_site(dir.path(), "x = 1\n");
        assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
        let failure = &out.json["failures"][0];
        assert_eq!(failure["kind"], "rule-compile", "{failure}");
        let message = failure["message"].as_str().unwrap_or("");
        assert!(message.contains(says), "{message}");
        assert_eq!(failure["line"], line, "{failure}");
    }
}

//! `check --fix` through the binary: what is edited, what is left alone, and how fixes
//! are reported in JSON and SARIF.

use crate::support::{run_in, site_rule, Run};
use std::fs;
use std::path::Path;

/// The shipped compliant estate: every rule is silent on it.
fn compliant() -> String {
    fs::read_to_string("rules/officescan/tests/compliant.toml").unwrap()
}

/// The compliant estate with a misspelt key and an enum value in the wrong case.
fn broken() -> String {
    let text = compliant();
    assert!(
        text.contains("web_server = \"IIS\"\n") && text.contains("root_scan_method = \"smart\"\n")
    );
    text.replacen("web_server = \"IIS\"\n", "web_sever = \"IIS\"\n", 1)
        .replacen(
            "root_scan_method = \"smart\"\n",
            "root_scan_method = \"Smart\"\n",
            1,
        )
}

fn fix(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["check", "--no-config", "--fix"];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

#[test]
fn a_misspelt_key_and_a_wrong_case_value_are_fixed_keeping_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("estate.toml");
    fs::write(&file, broken()).unwrap();
    let r = fix(dir.path(), &["estate.toml"]);
    assert_eq!(fs::read_to_string(&file).unwrap(), compliant(), "{r:?}");
    assert!(r.stdout.contains("fixed 2 findings in 1 file"), "{r:?}");
    assert!(r.stdout.contains("0 errors, 0 warnings"), "{r:?}");
    assert_eq!(r.code, 0, "{r:?}");
    // Fixing again changes nothing: the file stays byte for byte the same.
    let again = fix(dir.path(), &["estate.toml"]);
    assert_eq!(fs::read_to_string(&file).unwrap(), compliant());
    assert!(
        again.stdout.contains("fixed 0 findings in 0 files"),
        "{again:?}"
    );
    // No temporary file is left behind.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn the_human_report_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("estate.toml"), broken()).unwrap();
    let r = run_in(dir.path(), &["check", "--no-config", "estate.toml"]);
    assert!(
        r.stdout
            .contains("fix available (--fix): rename `web_sever` to `web_server`"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("fix available (--fix): replace `\"Smart\"` with `\"smart\"`"));
}

#[test]
fn fix_diff_prints_the_edits_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("estate.toml");
    fs::write(&file, broken()).unwrap();
    let r = fix(dir.path(), &["--diff", "estate.toml"]);
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        broken(),
        "written: {r:?}"
    );
    assert!(
        r.stdout
            .starts_with("--- a/estate.toml\n+++ b/estate.toml\n"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("\n-web_sever = \"IIS\"\n+web_server = \"IIS\"\n"));
    assert!(r
        .stdout
        .contains("\n-root_scan_method = \"Smart\"\n+root_scan_method = \"smart\"\n"));
    assert!(r.stderr.contains("would fix 2 findings in 1 file"), "{r:?}");
    // What would remain is clean, so the exit code is 0.
    assert_eq!(r.code, 0, "{r:?}");
    let plain = run_in(
        dir.path(),
        &["check", "--no-config", "--diff", "estate.toml"],
    );
    assert_eq!(plain.code, 2, "--diff needs --fix: {plain:?}");
}

#[test]
fn a_file_with_a_failure_is_never_edited_and_the_others_are() {
    let dir = tempfile::tempdir().unwrap();
    let bad = format!("{}\nthis is = = not toml\n", broken());
    fs::write(dir.path().join("bad.toml"), &bad).unwrap();
    fs::write(dir.path().join("good.toml"), broken()).unwrap();
    let r = fix(dir.path(), &["."]);
    assert_eq!(
        fs::read_to_string(dir.path().join("bad.toml")).unwrap(),
        bad
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("good.toml")).unwrap(),
        compliant()
    );
    assert!(
        r.stdout.contains("not edited: bad.toml: it has a failure"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("fixed 2 findings in 1 file"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 2, "the failure still fails the run");
}

#[test]
fn fix_refuses_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let r = fix(dir.path(), &["-"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot edit standard input"), "{r:?}");
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_tree_is_refused_and_its_target_untouched() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("elsewhere.toml");
    fs::write(&target, broken()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("link.toml")).unwrap();
    fs::write(dir.path().join("own.toml"), broken()).unwrap();
    let r = fix(dir.path(), &["."]);
    assert_eq!(fs::read_to_string(&target).unwrap(), broken(), "{r:?}");
    assert!(r.stdout.contains("unsafe-path"), "{}", r.stdout);
    assert_eq!(
        fs::read_to_string(dir.path().join("own.toml")).unwrap(),
        compliant()
    );
}

/// Applies `edits` (JSON `{replacement, offset, length}`, sorted) to `text`.
fn apply(text: &str, edits: &[serde_json::Value]) -> String {
    let mut out = text.to_string();
    for e in edits.iter().rev() {
        let offset = e["offset"].as_u64().unwrap() as usize;
        let length = e["length"].as_u64().unwrap() as usize;
        out.replace_range(offset..offset + length, e["replacement"].as_str().unwrap());
    }
    out
}

#[test]
fn json_edits_applied_to_the_original_give_the_fixed_text() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("estate.toml"), broken()).unwrap();
    let r = run_in(
        dir.path(),
        &["check", "--no-config", "estate.toml", "--format", "json"],
    );
    let findings = r.json["findings"].as_array().unwrap();
    let mut edits: Vec<serde_json::Value> = findings
        .iter()
        .filter_map(|f| f["fix"]["edits"].as_array())
        .flatten()
        .cloned()
        .collect();
    assert_eq!(edits.len(), 2, "{}", r.stdout);
    let unfixed = findings.iter().find(|f| f["fix"].is_null()).is_none();
    assert!(unfixed, "a finding without a fix has no `fix` key");
    edits.sort_by_key(|e| e["offset"].as_u64());
    assert_eq!(apply(&broken(), &edits), compliant());
    let fixed = &findings[0]["fix"];
    assert!(
        fixed["description"].as_str().unwrap().starts_with("re"),
        "{fixed}"
    );
}

#[test]
fn sarif_results_carry_valid_fixes() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("estate.toml"), broken()).unwrap();
    let r = run_in(
        dir.path(),
        &["check", "--no-config", "estate.toml", "--format", "sarif"],
    );
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../data/sarif/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::draft4::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&r.json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = r.json["runs"][0]["results"].as_array().unwrap();
    let fixes: Vec<&serde_json::Value> = results.iter().filter_map(|r| r.get("fixes")).collect();
    assert_eq!(fixes.len(), 2, "{}", r.stdout);
    let change = &fixes[0][0]["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], "estate.toml");
    let replacement = &change["replacements"][0];
    assert!(replacement["deletedRegion"]["startLine"].as_u64().is_some());
    assert!(replacement["insertedContent"]["text"].as_str().is_some());
}

/// A site rule in `dir/site/` that counts `n` up to 3 through two findings with the
/// same edit, and inserts a missing `owner`.
fn site_rules(dir: &Path) {
    site_rule(
        dir,
        "count.rhai",
        "//! severity: error\n//! title: count to three\nfn check(estate) {\n\
         let n = estate.n;\n\
         if n < 3 {\n\
         fail(estate, \"n\", \"below three\").fix_value(n + 1);\n\
         fail(estate, \"n\", \"still below three\").fix_value(n + 1);\n\
         }\n\
         if estate.owner == () { warn(estate, \"\", \"no owner\").fix_insert(\"owner\", \"ops team\"); }\n\
         }\n",
    );
}

#[test]
fn overlapping_fixes_are_applied_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    site_rules(dir.path());
    let file = dir.path().join("estate.toml");
    fs::write(
        &file,
        "# counter\nn = 0 # starts at zero\n\n[other]\nx = 1\n",
    )
    .unwrap();
    let r = fix(
        dir.path(),
        &["--no-builtin", "--rules", "site", "estate.toml"],
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "# counter\nn = 3 # starts at zero\nowner = \"ops team\"\n\n[other]\nx = 1\n",
        "{r:?}"
    );
    // Each pass applies one of the two overlapping fixes: three passes, three fixes,
    // plus the insertion.
    assert!(
        r.stdout.contains("fixed 4 findings in 1 file"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn fixes_that_never_settle_stop_after_the_last_pass() {
    let dir = tempfile::tempdir().unwrap();
    site_rule(
        dir.path(),
        "grow.rhai",
        "//! severity: error\n//! title: grow\nfn check(estate) {\n\
         fail(estate, \"v\", \"never long enough\").fix_value(estate.v + \"x\");\n}\n",
    );
    let file = dir.path().join("estate.toml");
    fs::write(&file, "v = \"a\"\r\n").unwrap();
    let r = fix(
        dir.path(),
        &["--no-builtin", "--rules", "site", "estate.toml"],
    );
    assert!(r.stdout.contains("stopped after 10 passes"), "{}", r.stdout);
    assert!(
        r.stdout.contains("fixed 10 findings in 1 file"),
        "{}",
        r.stdout
    );
    let grown = format!("v = \"a{}\"\r\n", "x".repeat(10));
    assert_eq!(fs::read_to_string(&file).unwrap(), grown);
    assert_eq!(r.code, 1);
}

#[test]
fn a_rename_onto_a_key_the_table_has_is_not_offered() {
    let dir = tempfile::tempdir().unwrap();
    let text = compliant().replacen(
        "web_server = \"IIS\"\n",
        "web_server = \"IIS\"\nweb_sever = \"IIS\"\n",
        1,
    );
    fs::write(dir.path().join("estate.toml"), &text).unwrap();
    let r = run_in(
        dir.path(),
        &["check", "--no-config", "estate.toml", "--format", "json"],
    );
    let unknown: Vec<_> = r.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "officescan/unknown-key")
        .collect();
    assert_eq!(unknown.len(), 1, "{}", r.stdout);
    assert!(unknown[0].get("fix").is_none(), "{}", unknown[0]);
    let again = fix(dir.path(), &["estate.toml"]);
    assert_eq!(
        fs::read_to_string(dir.path().join("estate.toml")).unwrap(),
        text,
        "{again:?}"
    );
}

#[test]
fn a_recognised_version_gets_its_canonical_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("estate.toml");
    let text = compliant();
    let first = text.find("\nversion = \"").unwrap() + 1;
    let end = first + text[first..].find('\n').unwrap();
    let loose = format!("{}version = \"10.0sp1\"{}", &text[..first], &text[end..]);
    fs::write(&file, &loose).unwrap();
    let before = run_in(
        dir.path(),
        &["check", "--no-config", "estate.toml", "--format", "json"],
    );
    let notes: Vec<_> = before.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "note")
        .collect();
    assert_eq!(notes.len(), 1, "{}", before.json);
    assert_eq!(notes[0]["fix"]["edits"][0]["replacement"], "\"10.0 SP1\"");
    let r = fix(dir.path(), &["estate.toml"]);
    let after = fs::read_to_string(&file).unwrap();
    assert!(after.contains("version = \"10.0 SP1\""), "{r:?}");
    assert_eq!(after.len(), loose.len() + 1);
}

//! Gating change requests through the binary: SARIF validated against the official
//! schema, baselines surviving a reordered estate, and the other output formats.

use crate::support::{run, Run};

fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../data/sarif/sarif-schema-2.1.0.json")).unwrap();
    jsonschema::draft4::new(&schema).expect("schema compiles")
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let validator = sarif_validator();
    let cases: [&[&str]; 3] = [
        // Findings with secondary labels, waived, expired and invalid waivers.
        &[
            "check",
            "tests/data/gate/waivers.toml",
            "--today",
            "2026-11-24",
            "--format",
            "sarif",
        ],
        // Baseline states from a diff.
        &[
            "diff",
            "tests/data/gate/base.toml",
            "tests/data/gate/head-fix-one-add-one.toml",
            "--format",
            "sarif",
        ],
        // Tool notifications for failures.
        &[
            "check",
            "tests/data/broken/two-errors.toml",
            "no/such.toml",
            "--format",
            "sarif",
        ],
    ];
    for args in cases {
        let Run { stdout: out, .. } = run(args);
        let sarif: serde_json::Value = serde_json::from_str(&out).expect("SARIF is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{args:?}:\n{}", errors.join("\n"));
        let run0 = &sarif["runs"][0];
        assert!(!run0["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .is_empty());
        if args[1].contains("waivers") {
            let results = run0["results"].as_array().unwrap();
            let waived: Vec<_> = results
                .iter()
                .filter(|r| r.get("suppressions").is_some())
                .collect();
            assert_eq!(waived.len(), 1, "one waived finding becomes a suppression");
            assert!(results
                .iter()
                .all(|r| r["partialFingerprints"]["primaryLocationLineHash"].is_string()));
            let region = &results[0]["locations"][0]["physicalLocation"]["region"];
            assert!(region["startLine"].as_u64().unwrap() >= 1 && region["endColumn"].is_u64());
        }
        if args[0] == "diff" {
            let states: Vec<_> = run0["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["baselineState"].as_str().unwrap())
                .collect();
            assert_eq!(
                states.iter().filter(|s| **s == "new").count(),
                1,
                "{states:?}"
            );
        }
    }
}

#[test]
fn secondary_labels_become_related_locations() {
    let Run { stdout: out, .. } = run(&[
        "check",
        "rules/officescan/tests/estate-format.toml",
        "--format",
        "sarif",
    ]);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let dup = results
        .iter()
        .find(|r| r["ruleId"] == "officescan/duplicate-name")
        .expect("duplicate-name fires");
    assert_eq!(
        dup["relatedLocations"][0]["message"]["text"],
        "first used here"
    );
}

/// A temporary copy of a gate estate, at one path that later versions overwrite.
struct Estate {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    baseline: String,
}

impl Estate {
    fn new(from: &str) -> Estate {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("estate.toml");
        std::fs::copy(from, &path).unwrap();
        let baseline = dir.path().join("baseline.json").display().to_string();
        Estate {
            _dir: dir,
            path,
            baseline,
        }
    }

    fn becomes(&self, from: &str) {
        std::fs::copy(from, &self.path).unwrap();
    }

    fn check(&self, extra: &[&str]) -> Run {
        let mut args = vec!["check", self.path.to_str().unwrap(), "--format", "json"];
        args.extend(extra);
        run(&args)
    }
}

#[test]
fn a_baseline_survives_reordering_and_only_new_findings_fail() {
    let e = Estate::new("tests/data/gate/base.toml");
    let bl = e.baseline.as_str();
    let Run { code, .. } = e.check(&["--write-baseline", bl]);
    assert_eq!(code, 0, "writing a baseline succeeds whatever the findings");
    let first = std::fs::read_to_string(bl).unwrap();
    // Deterministic: writing again gives the same bytes.
    e.check(&["--write-baseline", bl]);
    assert_eq!(first, std::fs::read_to_string(bl).unwrap());
    assert!(!first.contains("\"line\""), "baselines never record lines");

    e.becomes("tests/data/gate/reordered.toml");
    let Run { json, code, .. } = e.check(&["--baseline", bl]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["new"], 0);
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["status"] == "existing"));

    e.becomes("tests/data/gate/head-fix-one-add-one.toml");
    let Run { json, code, .. } = e.check(&["--baseline", bl]);
    assert_eq!(code, 1);
    let new: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "new")
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["path"], "servers[\"osce-hq\"].ipv4");
    assert_eq!(json["fixed"][0]["rule"], "officescan/client-server-unknown");
}

#[test]
fn a_violation_copied_into_another_file_is_new() {
    let e = Estate::new("tests/data/gate/base.toml");
    let bl = e.baseline.as_str();
    e.check(&["--write-baseline", bl]);
    let other = e.path.with_file_name("copy.toml");
    std::fs::copy(&e.path, &other).unwrap();
    let Run { json, code, .. } = run(&[
        "check",
        e.path.to_str().unwrap(),
        other.to_str().unwrap(),
        "--baseline",
        bl,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let findings = json["findings"].as_array().unwrap();
    for f in findings {
        let copy = f["file"].as_str().unwrap().ends_with("copy.toml");
        let expected = if copy { "new" } else { "existing" };
        assert_eq!(f["status"], expected, "{f}");
    }
    let mut prints: Vec<&str> = findings
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    let n = prints.len();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), n, "fingerprints are unique within a run");
}

#[test]
fn an_edited_baseline_entry_is_a_located_failure() {
    let e = Estate::new("tests/data/gate/base.toml");
    let bl = e.baseline.as_str();
    e.check(&["--write-baseline", bl]);
    let text = std::fs::read_to_string(bl).unwrap();
    // Keep the fingerprints of real errors, but say the findings are cosmetic.
    let forged = text.replace(
        "is hosted on Apache, which does not support IPv6",
        "cosmetic",
    );
    assert_ne!(forged, text);
    std::fs::write(bl, forged).unwrap();
    let Run { json, code, .. } = e.check(&["--baseline", bl]);
    assert_eq!(code, 2, "{json}");
    let failure = &json["failures"][0];
    assert_eq!(failure["kind"], "baseline");
    assert!(failure["line"].as_u64().unwrap() > 1, "{failure}");
}

#[test]
fn junit_github_and_markdown_render_the_same_findings() {
    let args = |f: &'static str| {
        [
            "check",
            "tests/data/gate/waivers.toml",
            "--today",
            "2026-11-24",
            "--format",
            f,
        ]
    };
    let Run {
        stdout: junit,
        code,
        ..
    } = run(&args("junit"));
    assert_eq!(code, 1);
    assert!(junit.starts_with("<?xml"));
    assert!(junit.contains("<testcase name=\"officescan/server-on-windows-2003\" classname=\"tests/data/gate/waivers_toml\">"));
    assert!(junit.contains("line 12: server `osce-hq` runs Windows Server 2003"));
    assert!(junit.contains("<testcase name=\"officescan/server-on-apache\" classname=\"tests/data/gate/waivers_toml\"/>"), "the waived finding does not fail its case");

    let Run { stdout: github, .. } = run(&args("github"));
    assert!(github.contains("::error file=tests/data/gate/waivers.toml,line=12,col=6,endLine=12,endColumn=41,title=officescan/server-on-windows-2003::"));
    assert!(
        github.contains("::notice file=tests/data/gate/waivers.toml,line=15"),
        "waived findings are notices"
    );
    assert!(github.lines().all(|l| l.starts_with("::")));

    let Run { stdout: md, .. } = run(&[
        "diff",
        "tests/data/gate/base.toml",
        "tests/data/gate/head-fix-one-add-one.toml",
        "--format",
        "markdown",
    ]);
    assert!(md.starts_with("## preflight: failed"));
    assert!(md.contains("| 1 | 7 | 1 | 0 | 0 |"), "{md}");
    assert!(md.contains("### Fixed"));
}

#[test]
fn diff_against_a_git_revision() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| crate::support::git(dir.path(), args);
    git(&["init", "-q"]);
    let estate = dir.path().join("estate.toml");
    let clean = std::fs::read_to_string("examples/estate.toml").unwrap();
    std::fs::write(&estate, &clean).unwrap();
    git(&["add", "estate.toml"]);
    git(&["commit", "-qm", "base"]);
    std::fs::write(
        &estate,
        clean.replacen("web_server = \"IIS\"", "web_server = \"Apache\"", 1),
    )
    .unwrap();
    let path = estate.to_str().unwrap();
    let Run {
        stdout: out, code, ..
    } = run(&["diff", "--git", "HEAD", path, "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["status"], "new");
    assert_eq!(findings[0]["rule"], "officescan/server-on-apache");
    // An unknown revision is a failure, not a crash.
    let Run {
        stdout: out, code, ..
    } = run(&["diff", "--git", "no-such-rev", path, "--format", "json"]);
    assert_eq!(code, 2);
    assert!(out.contains("no revision `no-such-rev`"), "{out}");
}

/// Runs a site-rule-only check or diff on the two-keys estates and returns the JSON.
fn two_keys(args: &[&str]) -> (serde_json::Value, i32) {
    let mut all = args.to_vec();
    all.extend([
        "--no-builtin",
        "--rules",
        "tests/data/gate/site",
        "--today",
        "2026-11-26",
        "--format",
        "json",
    ]);
    let r = run(&all);
    (r.json, r.code)
}

#[test]
fn findings_that_differ_only_in_path_are_never_merged() {
    let (json, code) = two_keys(&["check", "tests/data/gate/two-keys/head.toml"]);
    assert_eq!(code, 1);
    let paths: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["servers[\"a\"].cost_center", "servers[\"a\"].owner"]
    );

    // A waiver on one path hides that finding only.
    let (json, code) = two_keys(&["check", "tests/data/gate/two-keys/waived.toml"]);
    assert_eq!(code, 1, "the cost_center finding still fails");
    assert_eq!(json["summary"]["waived"], 1);
    assert_eq!(json["summary"]["errors"], 1);

    // Against a base that lacks only `owner`, the missing cost_center is new.
    let (json, code) = two_keys(&[
        "diff",
        "tests/data/gate/two-keys/base.toml",
        "tests/data/gate/two-keys/head.toml",
    ]);
    assert_eq!(code, 1);
    assert_eq!(json["summary"]["new"], 1);
}

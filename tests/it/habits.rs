//! Command-line habits users bring from other linters: picking rules, quiet and
//! statistics output, exit-zero, standard input, forced colour, concise and GitLab
//! formats, several outputs from one run.

use crate::support::{run, run_with, Run};
use std::time::Duration;

const VIOLATIONS: &str = "examples/estate-violations.toml";

fn rules_of(json: &serde_json::Value) -> Vec<String> {
    let mut r: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    r.dedup();
    r
}

#[test]
fn select_and_ignore_take_ids_and_pack_globs() {
    let Run { json, .. } = run(&[
        "check",
        VIOLATIONS,
        "--format",
        "json",
        "--select",
        "officescan/server-on-apache,officescan/unknown-key",
    ]);
    assert_eq!(json["summary"]["rules"], 2);
    let Run { json, .. } = run(&[
        "check",
        VIOLATIONS,
        "--format",
        "json",
        "--ignore",
        "officescan/*",
    ]);
    assert!(rules_of(&json)
        .iter()
        .all(|r| !r.starts_with("officescan/")));
    let Run { code, stdout, .. } = run(&[
        "check",
        VIOLATIONS,
        "--select",
        "officescan/server-on-apachee",
        "--format",
        "concise",
    ]);
    assert_eq!(code, 2);
    assert!(
        stdout.contains("did you mean `officescan/server-on-apache`?"),
        "{stdout}"
    );
}

#[test]
fn quiet_statistics_and_exit_zero() {
    let Run { stdout, code, .. } = run(&["check", VIOLATIONS, "--quiet"]);
    assert_eq!(code, 1);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let Run { stdout, code, .. } = run(&["check", VIOLATIONS, "--statistics"]);
    assert_eq!(code, 1);
    assert!(
        stdout.lines().any(|l| l
            .trim_start()
            .starts_with("1  error    officescan/server-on-apache")),
        "{stdout}"
    );
    let Run { code, .. } = run(&["check", VIOLATIONS, "--exit-zero"]);
    assert_eq!(code, 0);
    let Run { code, .. } = run(&["check", "tests/data/broken/two-errors.toml", "--exit-zero"]);
    assert_eq!(code, 2, "failures still fail");
}

#[test]
fn the_rule_source_is_shown_only_with_verbose() {
    let Run { stdout, .. } = run(&["check", VIOLATIONS]);
    assert!(!stdout.contains(".rhai"), "{stdout}");
    let Run { stdout, .. } = run(&["check", VIOLATIONS, "-v"]);
    assert!(stdout.contains("reported here") && stdout.contains(".rhai"));
}

/// Runs the binary with `args`, `bytes` on its standard input.
fn check_stdin(args: &[&str], bytes: &[u8]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap()
}

#[test]
fn an_estate_can_come_from_standard_input() {
    let text = std::fs::read(VIOLATIONS).unwrap();
    let out = check_stdin(
        &[
            "check",
            "-",
            "--stdin-filename",
            "pasted.toml",
            "--format",
            "concise",
        ],
        &text,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("pasted.toml:13:8: error[officescan/server-without-ipv6-address]"),
        "{stdout}"
    );
}

#[test]
fn a_run_with_no_rule_is_nothing_to_check_not_a_pass() {
    for extra in [&["--no-builtin"][..], &["--ignore", "officescan/*"]] {
        let mut args = vec!["check", VIOLATIONS, "--format", "json"];
        args.extend_from_slice(extra);
        let Run { json, code, .. } = run(&args);
        assert_eq!(code, 2, "{extra:?}: {json}");
        assert_eq!(json["failures"][0]["kind"], "nothing-to-check", "{json}");
    }
    // Site rules alone are rules: the run goes on.
    let Run { code, .. } = run(&[
        "check",
        VIOLATIONS,
        "--no-builtin",
        "--rules",
        "tests/data/site-pack",
    ]);
    assert_ne!(code, 2);
}

#[test]
fn an_empty_standard_input_is_nothing_to_check_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    // A rule that says nothing about an estate without servers.
    std::fs::write(
        dir.path().join("quiet.rhai"),
        "//! severity: error\n//! title: Quiet\n//! ## What it does\n//! Checks servers.\n//! ## How to fix\n//! Fix them.\nfn check(estate) { for s in estate.servers.items() { fail(s, \"name\", \"x\"); } }\n",
    )
    .unwrap();
    for text in ["", "# nothing but a comment\n"] {
        let rules = dir.path().to_str().unwrap();
        let args = [
            "check",
            "-",
            "--no-builtin",
            "--format",
            "json",
            "--rules",
            rules,
        ];
        let out = check_stdin(&args, text.as_bytes());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(2), "{json}");
        assert_eq!(json["failures"][0]["kind"], "nothing-to-check", "{json}");
    }
}

#[test]
fn force_color_colours_a_pipe_unless_no_color_says_otherwise() {
    let limit = Duration::from_secs(60);
    // The test runner sets NO_COLOR=1; an empty NO_COLOR is unset.
    let Run { stdout, .. } = run_with(
        &["check", VIOLATIONS],
        &[("NO_COLOR", ""), ("FORCE_COLOR", "1")],
        limit,
    );
    assert!(stdout.contains('\u{1b}'));
    let Run { stdout, .. } = run_with(
        &["check", VIOLATIONS],
        &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")],
        limit,
    );
    assert!(stdout.contains('\u{1b}'));
    let Run { stdout, .. } = run_with(&["check", VIOLATIONS], &[("FORCE_COLOR", "1")], limit);
    assert!(!stdout.contains('\u{1b}'));
}

#[test]
fn gitlab_code_quality_and_several_outputs_from_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out.sarif");
    let junit = dir.path().join("out.xml");
    let Run { json, code, .. } = run(&[
        "check",
        VIOLATIONS,
        "--format",
        "gitlab",
        "--output",
        &format!("sarif={}", sarif.display()),
        "--output",
        &format!("junit={}", junit.display()),
    ]);
    assert_eq!(code, 1);
    let issues = json.as_array().unwrap();
    assert!(!issues.is_empty());
    let mut prints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    let n = prints.len();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), n, "unique fingerprints");
    for i in issues {
        assert!(["blocker", "critical", "major", "minor", "info"]
            .contains(&i["severity"].as_str().unwrap()));
        assert!(i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .starts_with("<?xml"));
}

#[test]
fn config_is_found_from_the_estates_and_scopes_the_walk() {
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    std::fs::create_dir_all(root.join("estates/archive")).unwrap();
    let clean = std::fs::read_to_string("examples/estate.toml").unwrap();
    let apache = clean.replacen("web_server = \"IIS\"", "web_server = \"Apache\"", 1);
    std::fs::write(root.join("estates/live.toml"), &clean).unwrap();
    std::fs::write(root.join("estates/archive/old.toml"), &apache).unwrap();
    std::fs::write(
        root.join("preflight.toml"),
        "include = [\"estates/**/*.toml\"]\nexclude = [\"estates/archive/**\"]\n",
    )
    .unwrap();
    // Run from elsewhere: the config beside the estates still applies.
    let estates = root.join("estates");
    let Run { json, code, .. } = run(&["check", estates.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["files"], 1);
    // With no path, the config's include decides.
    let Run { json, code, .. } = crate::support::run_in(root, &["check", "--format", "json"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["files"], 1);
    // A bad glob is a located config failure.
    std::fs::write(root.join("preflight.toml"), "exclude = [\"a[\"]\n").unwrap();
    let Run { json, code, .. } = run(&["check", estates.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 2);
    assert_eq!(json["failures"][0]["kind"], "config");
    assert_eq!(json["failures"][0]["line"], 1);
}

#[test]
fn overrides_set_levels_per_file_glob() {
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    std::fs::create_dir_all(root.join("estates/lab")).unwrap();
    let clean = std::fs::read_to_string("examples/estate.toml").unwrap();
    let apache = clean.replacen("web_server = \"IIS\"", "web_server = \"Apache\"", 1);
    std::fs::write(root.join("estates/prod.toml"), &apache).unwrap();
    std::fs::write(root.join("estates/lab/test.toml"), &apache).unwrap();
    std::fs::write(
        root.join("preflight.toml"),
        "[[overrides]]\nfiles = [\"estates/lab/**\"]\nrules = { \"officescan/server-on-apache\" = \"warn\" }\n",
    )
    .unwrap();
    let Run { json, .. } = crate::support::run_in(root, &["check", "estates", "--format", "json"]);
    let severity_in = |file: &str| {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["rule"] == "officescan/server-on-apache"
                    && f["file"].as_str().unwrap().ends_with(file)
            })
            .map(|f| f["severity"].as_str().unwrap().to_string())
    };
    assert_eq!(severity_in("prod.toml").as_deref(), Some("error"), "{json}");
    assert_eq!(
        severity_in("lab/test.toml").as_deref(),
        Some("warning"),
        "{json}"
    );
}

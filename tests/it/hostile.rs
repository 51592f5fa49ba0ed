//! Hostile rules and hostile estates, through the binary: each ends quickly as a
//! located failure (exit 2) or a clean run, and every other rule and file still reports.

use crate::support::Run;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

fn run(args: &[&str], limit: Duration) -> Run {
    crate::support::run_with(args, &[], limit)
}

/// Runs the binary; a run that outlives `limit` is killed and fails the test.
fn findings(report: &Value) -> Vec<(String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("officescan/"))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn hostile_rules_fail_located_and_leave_the_pack_intact() {
    let limit = Duration::from_secs(60);
    let Run {
        json: clean, code, ..
    } = run(
        &[
            "check",
            "examples/estate-violations.toml",
            "--format",
            "json",
        ],
        limit,
    );
    assert_eq!(code, 1);
    let expected = findings(&clean);
    assert!(expected.len() > 5);
    // (rule file, failure kind, line of the label)
    let cases = [
        ("loop", "rule-limit", 3),
        ("recurse", "rule-limit", 4),
        ("grow-string", "rule-limit", 3),
        ("grow-array", "rule-limit", 3),
        ("grow-map", "rule-limit", 3),
        ("import", "rule-compile", 3),
        ("eval", "rule-compile", 3),
        ("out-of-bounds", "rule-runtime", 3),
        ("scalar-to-fail", "rule-runtime", 3),
        ("no-check", "rule-compile", 1),
        ("bad-header", "rule-header", 1),
        ("syntax", "rule-compile", 4),
    ];
    for (name, kind, line) in cases {
        let path = format!("tests/data/hostile/{name}.rhai");
        let Run {
            json: report,
            stdout: text,
            code,
            ..
        } = run(
            &[
                "check",
                "examples/estate-violations.toml",
                "--rules",
                &path,
                "--timeout",
                "2",
                "--format",
                "json",
            ],
            limit,
        );
        assert_eq!(code, 2, "{name}: {text}");
        let failures = report["failures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{name}: {failures:?}");
        assert_eq!(failures[0]["kind"], kind, "{name}");
        assert_eq!(failures[0]["file"], path.as_str(), "{name}");
        assert_eq!(failures[0]["line"], line, "{name}: {}", failures[0]);
        assert_eq!(
            findings(&report),
            expected,
            "{name}: the built-in findings changed"
        );
    }
    // Printing is allowed, and never reaches stdout.
    let Run {
        json: report,
        stdout: text,
        code,
        ..
    } = run(
        &[
            "check",
            "examples/estate-violations.toml",
            "--rules",
            "tests/data/hostile/prints.rhai",
            "--format",
            "json",
        ],
        limit,
    );
    assert_eq!(code, 1);
    assert!(!text.contains("printed by a rule"));
    assert!(report["failures"].as_array().unwrap().is_empty());
    assert_eq!(findings(&report), expected);
}

/// Writes `files` into a temporary directory and checks the directory.
fn check_dir(files: &[(&str, Vec<u8>)], extra: &[&str]) -> (tempfile::TempDir, Value, i32) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::File::create(dir.path().join(name))
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }
    let path = dir.path().to_str().unwrap().to_string();
    let mut args = vec!["check", path.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let Run {
        json: report,
        stdout: text,
        code,
        ..
    } = run(&args, Duration::from_secs(120));
    assert!(report.is_object(), "not JSON: {text}");
    (dir, report, code)
}

fn failure_for<'a>(report: &'a Value, file: &str) -> Option<&'a Value> {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with(file))
}

#[test]
fn hostile_estates_fail_located_and_good_files_are_still_checked() {
    let good = std::fs::read("examples/estate-violations.toml").unwrap();
    let clean = std::fs::read("examples/estate.toml").unwrap();
    let mut big_line = clean.clone();
    big_line.splice(
        0..0,
        format!("x_blob = \"{}\"\n", "a".repeat(5 << 20)).into_bytes(),
    );
    let mut many_keys = b"[site]\n".to_vec();
    for i in 0..200_000 {
        many_keys.extend_from_slice(format!("k{i} = {i}\n").as_bytes());
    }
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("a-good.toml", good),
        (
            "deep-arrays.toml",
            format!("a = {}{}", "[".repeat(300_000), "]".repeat(300_000)).into_bytes(),
        ),
        (
            "deep-inline.toml",
            format!("a = {}1{}", "{b = ".repeat(200_000), "}".repeat(200_000)).into_bytes(),
        ),
        (
            "invalid-utf8.toml",
            b"a = \"ok\"\nb = \"\xff\xfe\"\n".to_vec(),
        ),
        ("nul.toml", b"a = \"x\0y\"\n".to_vec()),
        (
            "bom-crlf.toml",
            b"\xef\xbb\xbf[upgrade]\r\nipv6 = true\r\n".to_vec(),
        ),
        ("empty.toml", Vec::new()),
        ("five-mb-line.toml", big_line),
        ("many-keys.toml", many_keys),
        ("broken.toml", b"[servers\nname = 1\n".to_vec()),
    ];
    let (dir, report, code) = check_dir(&files, &[]);
    assert_eq!(code, 2);
    for (name, line) in [
        ("deep-arrays.toml", 1),
        ("deep-inline.toml", 1),
        ("invalid-utf8.toml", 2),
        ("nul.toml", 1),
        ("broken.toml", 1),
        // Nothing to check fails a gate rather than passing it.
        ("empty.toml", 1),
    ] {
        let f =
            failure_for(&report, name).unwrap_or_else(|| panic!("{name} has no failure: {report}"));
        assert_eq!(f["line"], line, "{name}: {f}");
    }
    for name in ["bom-crlf.toml", "five-mb-line.toml", "many-keys.toml"] {
        assert!(
            failure_for(&report, name).is_none(),
            "{name} should check cleanly: {report}"
        );
    }
    // The good file among them is checked in full.
    let good_findings = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"].as_str().unwrap().ends_with("a-good.toml"))
        .count();
    assert!(good_findings >= 10, "{good_findings}");
    assert_eq!(report["summary"]["files"], files.len());
    drop(dir);
}

#[test]
fn size_cap_links_and_missing_paths_are_located_failures() {
    let good = std::fs::read("examples/estate-violations.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.toml"), &good).unwrap();
    std::fs::write(dir.path().join("large.toml"), vec![b'#'; 4096]).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling.toml"))
        .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let path = dir.path().to_str().unwrap();
    let Run {
        json: report, code, ..
    } = run(
        &[
            "check",
            path,
            "no/such/estate.toml",
            "--max-file-size",
            "3000",
            "--format",
            "json",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, 2);
    let large = failure_for(&report, "large.toml").unwrap();
    assert!(
        large["message"]
            .as_str()
            .unwrap()
            .contains("over the limit of 3000 bytes"),
        "{large}"
    );
    assert!(failure_for(&report, "dangling.toml").unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("broken symbolic link"));
    assert!(failure_for(&report, "no/such/estate.toml").is_some());
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["file"].as_str().unwrap().ends_with("good.toml")));
}

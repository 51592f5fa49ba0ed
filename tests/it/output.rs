//! Rendered output: insta snapshots of human and JSON output, and byte-identical
//! output whatever the thread count.

use crate::support::{run, Run};

#[test]
fn human_output_of_the_violations_example() {
    let Run {
        stdout: out, code, ..
    } = run(&[
        "check",
        "examples/estate-violations.toml",
        "--color",
        "never",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn json_output_of_the_violations_example() {
    let Run {
        stdout: out, code, ..
    } = run(&[
        "check",
        "examples/estate-violations.toml",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn human_output_of_failures() {
    let Run {
        stdout: out, code, ..
    } = run(&[
        "check",
        "tests/data/broken/two-errors.toml",
        "--no-builtin",
        "--rules",
        "tests/data/hostile/syntax.rhai",
        "--rules",
        "tests/data/hostile/out-of-bounds.rhai",
        "--color",
        "never",
    ]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(out);
}

#[test]
fn output_is_identical_for_every_thread_count() {
    let args = |jobs: &'static str, format: &'static str| {
        vec![
            "check",
            "examples",
            "rules/officescan/tests",
            "tests/data/site-pack/estate.toml",
            "--rules",
            "tests/data/site-pack",
            "--format",
            format,
            "--color",
            "never",
            "--jobs",
            jobs,
        ]
    };
    for format in ["human", "json"] {
        let Run { stdout: one, .. } = run(&args("1", format));
        let Run { stdout: two, .. } = run(&args("2", format));
        let Run { stdout: four, .. } = run(&args("4", format));
        assert!(one.lines().count() > 50, "too little output to compare");
        assert_eq!(one, two, "{format}: --jobs 1 and --jobs 2 differ");
        assert_eq!(one, four, "{format}: --jobs 1 and --jobs 4 differ");
    }
}

/// One snapshot per machine format, on an estate with waived, expired and unused waivers.
fn snapshot_format(format: &str) -> String {
    let Run { stdout, code, .. } = run(&[
        "check",
        "tests/data/gate/waivers.toml",
        "--today",
        "2026-11-24",
        "--format",
        format,
    ]);
    assert_eq!(code, 1, "{stdout}");
    // The checkout's own location is not part of the output's contract.
    let root = std::env::current_dir().unwrap().canonicalize().unwrap();
    stdout.replace(&root.display().to_string(), "[ROOT]")
}

#[test]
fn sarif_output() {
    insta::assert_snapshot!(snapshot_format("sarif"));
}

#[test]
fn junit_output() {
    insta::assert_snapshot!(snapshot_format("junit"));
}

#[test]
fn github_output() {
    insta::assert_snapshot!(snapshot_format("github"));
}

#[test]
fn markdown_output() {
    insta::assert_snapshot!(snapshot_format("markdown"));
}

#[test]
fn diff_output_human_and_json() {
    for format in ["human", "json"] {
        let Run { stdout, code, .. } = run(&[
            "diff",
            "tests/data/gate/base.toml",
            "tests/data/gate/head-fix-one-add-one.toml",
            "--format",
            format,
            "--color",
            "never",
        ]);
        assert_eq!(code, 1, "{stdout}");
        insta::assert_snapshot!(format!("diff_{format}"), stdout);
    }
}

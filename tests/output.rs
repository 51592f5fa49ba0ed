//! Rendered output: insta snapshots of human and JSON output, and byte-identical
//! output whatever the thread count.

use std::process::Command;

fn run(args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn human_output_of_the_violations_example() {
    let (out, code) = run(&[
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
    let (out, code) = run(&[
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
    let (out, code) = run(&[
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
        let (one, _) = run(&args("1", format));
        let (two, _) = run(&args("2", format));
        let (four, _) = run(&args("4", format));
        assert!(one.lines().count() > 50, "too little output to compare");
        assert_eq!(one, two, "{format}: --jobs 1 and --jobs 2 differ");
        assert_eq!(one, four, "{format}: --jobs 1 and --jobs 4 differ");
    }
}

//! The shipped CI examples work: their gate scripts, run by bash in a real repository
//! whose change adds, deletes and modifies estates, exit 0, 1 or 2 as they should.

use crate::support::git;
use std::path::Path;
use std::process::Command;

/// The lines between the markers of `file`, dedented.
fn gate_script(file: &str) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("preflight-gate-begin"))
        .skip(1)
        .take_while(|l| !l.contains("preflight-gate-end"))
        .collect();
    assert!(lines.len() > 2, "{file} lost its gate script");
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap();
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A repository whose `main` (also `origin/main`) holds the clean estates
/// `estates/a.toml` and `estates/b.toml`, checked out on branch `feature` with the
/// commit `change` makes; returns it and the base commit.
fn repository(change: impl Fn(&Path)) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let clean = std::fs::read_to_string("examples/estate.toml").unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    std::fs::create_dir(root.join("estates")).unwrap();
    std::fs::write(root.join("estates/a.toml"), &clean).unwrap();
    std::fs::write(root.join("estates/b.toml"), &clean).unwrap();
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "base"]);
    let base = git(root, &["rev-parse", "HEAD"]);
    git(root, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(root, &["checkout", "-q", "-b", "feature"]);
    change(root);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "change"]);
    (dir, base)
}

/// The exit code of each example's gate script run in a repository whose change is
/// made by `change`.
fn gate(change: impl Fn(&Path)) -> Vec<(String, i32)> {
    let (dir, base) = repository(change);
    let root = dir.path();
    let bin = Path::new(env!("CARGO_BIN_EXE_preflight")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let summary = root.join("summary.md");
    [
        "examples/ci/github-actions.yml",
        "examples/ci/gitlab-ci.yml",
    ]
    .iter()
    .map(|file| {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &gate_script(file)])
            .current_dir(root)
            .env("PATH", &path)
            .env("BASE_REF", "main")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base)
            .output()
            .unwrap();
        (file.to_string(), out.status.code().unwrap_or(-1))
    })
    .collect()
}

fn apache(text: &str) -> String {
    text.replacen("web_server = \"IIS\"", "web_server = \"Apache\"", 1)
}

#[test]
fn a_change_that_adds_deletes_and_modifies_cleanly_passes() {
    for (file, code) in gate(|root| {
        let clean = std::fs::read_to_string(root.join("estates/a.toml")).unwrap();
        std::fs::write(root.join("estates/a.toml"), clean.replacen("# ", "#  ", 1)).unwrap();
        std::fs::remove_file(root.join("estates/b.toml")).unwrap();
        std::fs::write(root.join("estates/c.toml"), clean).unwrap();
    }) {
        assert_eq!(code, 0, "{file}");
    }
}

#[test]
fn a_change_that_adds_a_violation_fails_with_1() {
    for (file, code) in gate(|root| {
        let clean = std::fs::read_to_string(root.join("estates/a.toml")).unwrap();
        std::fs::write(root.join("estates/c.toml"), apache(&clean)).unwrap();
        std::fs::remove_file(root.join("estates/b.toml")).unwrap();
    }) {
        assert_eq!(code, 1, "{file}");
    }
}

#[test]
fn a_change_that_cannot_be_checked_fails_with_2() {
    for (file, code) in gate(|root| {
        std::fs::write(root.join("estates/a.toml"), "[[servers]\nname = ").unwrap();
    }) {
        assert_eq!(code, 2, "{file}");
    }
}

#[test]
fn the_action_gates_a_change_in_one_run() {
    // The action's gate step, run like the examples' scripts.
    let action = std::fs::read_to_string("action.yml").unwrap();
    let script: String = action
        .lines()
        .skip_while(|l| !l.contains("git fetch --no-tags"))
        .map(|l| l.trim_start())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(script.contains("preflight diff --git"), "{script}");
    let (dir, _) = repository(|root| {
        let clean = std::fs::read_to_string(root.join("estates/b.toml")).unwrap();
        std::fs::write(root.join("estates/b.toml"), apache(&clean)).unwrap();
    });
    let root = dir.path();
    let bin = Path::new(env!("CARGO_BIN_EXE_preflight")).parent().unwrap();
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", &script])
        .current_dir(root)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("BASE_REF", "main")
        .env("PATHS", "estates")
        .env("ARGS", "")
        .env("SARIF", "out.sarif")
        .env("GITHUB_STEP_SUMMARY", root.join("summary.md"))
        .env("GITHUB_OUTPUT", root.join("output.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let outputs = std::fs::read_to_string(root.join("output.txt")).unwrap();
    assert_eq!(outputs.trim(), "exit-code=1");
    assert!(std::fs::read_to_string(root.join("summary.md"))
        .unwrap()
        .contains("preflight: failed"));
    assert!(root.join("out.sarif").is_file());
    assert!(String::from_utf8_lossy(&out.stdout).contains("::error file=estates/b.toml"));
}

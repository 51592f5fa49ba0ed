//! The shipped CI examples work: their gate scripts, run by bash in a real repository
//! whose change adds, deletes and modifies estates, exit 0, 1 or 2 as they should.

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

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A repository on branch `feature` whose change is made by `change`; returns the exit
/// code of each example's gate script run in it.
fn gate(change: impl Fn(&Path)) -> Vec<(String, i32)> {
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

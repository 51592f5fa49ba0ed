//! Only regular files inside the checked tree are read: links leading out, FIFOs and
//! devices are refused by name, and not one byte of their targets reaches the output.

use crate::support::{run_with, Run};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

const SECRET: &str = "hunter2-do-not-print";

fn check(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["check"];
    all.extend(args);
    all.extend(["--format", "json", "--no-config"]);
    let _ = dir;
    run_with(
        &all,
        &[("PREFLIGHT_TEST_SECRET", SECRET)],
        Duration::from_secs(60),
    )
}

fn unsafe_failures(json: &serde_json::Value) -> Vec<String> {
    json["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unsafe-path")
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn links_leading_out_of_the_tree_are_refused_unread() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("credentials.toml");
    std::fs::write(&secret, format!("[registry]\ntoken = \"{SECRET}\"\n")).unwrap();

    let tree = tempfile::tempdir().unwrap();
    let estates = tree.path().join("estates");
    std::fs::create_dir(&estates).unwrap();
    std::fs::copy("examples/estate.toml", estates.join("good.toml")).unwrap();
    symlink(&secret, estates.join("creds.toml")).unwrap();
    symlink("/proc/self/environ", estates.join("env.toml")).unwrap();
    symlink(outside.path(), estates.join("elsewhere")).unwrap();
    // A link that stays inside the tree is followed.
    std::fs::create_dir(tree.path().join("shared")).unwrap();
    std::fs::copy(
        "examples/estate.toml",
        tree.path().join("shared/inner.toml"),
    )
    .unwrap();
    symlink(tree.path().join("shared"), estates.join("linked")).unwrap();

    let Run {
        json, code, stdout, ..
    } = check(tree.path(), &[tree.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{stdout}");
    assert!(!stdout.contains(SECRET), "a secret leaked: {stdout}");
    let refused = unsafe_failures(&json);
    for name in ["creds.toml", "env.toml", "elsewhere"] {
        assert!(
            refused.iter().any(|f| f.ends_with(name)),
            "{name}: {refused:?}"
        );
    }
    // good.toml, and shared/inner.toml once although a link leads to it too.
    assert_eq!(json["summary"]["files"], 2, "{json}");
    assert_eq!(refused.len(), 3, "{refused:?}");

    // Given directly, a link is judged against the repository root (here, the
    // checkout running the tests).
    let link = tree.path().join("direct.toml");
    symlink(&secret, &link).unwrap();
    let Run {
        json, code, stdout, ..
    } = check(tree.path(), &[link.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(!stdout.contains(SECRET));
    assert_eq!(unsafe_failures(&json).len(), 1, "{json}");
}

#[test]
fn special_files_are_refused_by_name_without_blocking() {
    let tree = tempfile::tempdir().unwrap();
    let fifo = tree.path().join("pipe.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::copy("examples/estate.toml", tree.path().join("good.toml")).unwrap();
    let Run { json, code, .. } = check(tree.path(), &[tree.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    let refused = unsafe_failures(&json);
    assert!(refused.iter().any(|f| f.ends_with("pipe.toml")), "{json}");
    assert_eq!(json["summary"]["files"], 1);

    // Given directly too.
    let Run { json, code, .. } = check(tree.path(), &[fifo.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(unsafe_failures(&json).len(), 1, "{json}");
}

#[test]
fn a_git_diff_of_a_link_leading_out_reads_nothing() {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| crate::support::git(repo.path(), args);
    git(&["init", "-q"]);
    std::fs::create_dir(repo.path().join("estates")).unwrap();
    std::fs::copy("examples/estate.toml", repo.path().join("estates/a.toml")).unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    symlink("/proc/self/environ", repo.path().join("estates/new.toml")).unwrap();
    for path in ["estates/new.toml", "estates"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(["diff", "--git", "HEAD", path, "--format", "json"])
            .current_dir(repo.path())
            .env("PREFLIGHT_TEST_SECRET", SECRET)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{path}: {stdout}");
        assert!(!stdout.contains(SECRET), "{path}: {stdout}");
        assert!(stdout.contains("unsafe-path"), "{path}: {stdout}");
    }
}

#[test]
fn walks_skip_manifests_ignored_and_hidden_files() {
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path();
    for dir in ["ignored", ".hidden", "estates"] {
        std::fs::create_dir(root.join(dir)).unwrap();
    }
    std::fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
    for manifest in ["Cargo.toml", "pyproject.toml", "preflight.toml"] {
        std::fs::write(root.join(manifest), "[package]\nname = \"x\"\n").unwrap();
    }
    for file in ["ignored/a.toml", ".hidden/b.toml", "estates/c.toml"] {
        std::fs::copy("examples/estate.toml", root.join(file)).unwrap();
    }
    let Run { json, code, .. } = check(root, &[root.to_str().unwrap()]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["files"], 1, "{json}");
}

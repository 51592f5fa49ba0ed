//! Getting started: completion scripts bash accepts, a manual page, and `init` writing
//! a working set-up once and refusing to overwrite it.

use crate::support::{run, run_in, Run};
use std::process::Command;

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let Run { stdout, code, .. } = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(stdout.contains("preflight"), "{shell}");
    }
    let Run { stdout, .. } = run(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("preflight.bash");
    std::fs::write(&script, stdout).unwrap();
    let ok = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(ok.success(), "bash refuses the completion script");
    let Run { stdout, code, .. } = run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(".ie") || stdout.contains(".TH"),
        "{}",
        &stdout[..200.min(stdout.len())]
    );
}

#[test]
fn init_writes_a_working_set_up_once() {
    let dir = tempfile::tempdir().unwrap();
    let Run { code, .. } = run_in(dir.path(), &["init"]);
    assert_eq!(code, 0);
    for file in [
        "preflight.toml",
        ".github/workflows/preflight.yml",
        "site-rules/site/server-without-owner.rhai",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    let Run { stdout, code, .. } = run_in(dir.path(), &["test", "site-rules/site"]);
    assert_eq!(code, 0, "the example rule passes its fixture: {stdout}");
    let before = std::fs::read(dir.path().join("preflight.toml")).unwrap();
    let Run { code, stderr, .. } = run_in(dir.path(), &["init"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not overwriting"));
    assert_eq!(
        before,
        std::fs::read(dir.path().join("preflight.toml")).unwrap()
    );
}

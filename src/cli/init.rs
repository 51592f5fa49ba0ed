//! `preflight init`: the files a repository needs to start gating estates, written only
//! where nothing exists yet.

use std::path::{Path, PathBuf};

/// (path relative to the directory, contents)
const FILES: &[(&str, &str)] = &[
    ("preflight.toml", include_str!("init/preflight.toml")),
    (
        "site-rules/site/server-without-owner.rhai",
        include_str!("init/example-rule.rhai"),
    ),
    (
        "site-rules/site/tests/server-without-owner.toml",
        include_str!("init/example-fixture.toml"),
    ),
    (
        ".github/workflows/preflight.yml",
        include_str!("../../examples/ci/github-actions.yml"),
    ),
];

pub(super) fn init(dir: &Path) -> u8 {
    let targets: Vec<(PathBuf, &str)> = FILES
        .iter()
        .map(|(rel, text)| (dir.join(rel), *text))
        .collect();
    let existing: Vec<String> = targets
        .iter()
        .filter(|(p, _)| p.exists() || p.is_symlink())
        .map(|(p, _)| crate::files::display(p))
        .collect();
    if !existing.is_empty() {
        eprintln!(
            "error: not overwriting {}; nothing was written",
            existing.join(", ")
        );
        return 2;
    }
    for (path, text) in &targets {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, text));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", crate::files::display(path));
            return 2;
        }
        println!("wrote {}", crate::files::display(path));
    }
    println!("next: `preflight test site-rules/site`, then `preflight check estates`");
    0
}

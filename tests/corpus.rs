//! The official TOML conformance corpus (`../shared/corpus/toml-test`, the files listed
//! in `files-toml-1.0.0`): invalid files fail with a located diagnostic, valid files
//! never fail, and nothing panics, with the whole built-in pack running on each.

use preflight::check::{self, Options};
use preflight::report::FailureKind;
use std::path::{Path, PathBuf};

fn corpus() -> (PathBuf, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/toml-test");
    let list = std::fs::read_to_string(root.join("files-toml-1.0.0"))
        .expect("the shared corpus sits beside the checkout");
    let files = list
        .lines()
        .filter(|l| l.ends_with(".toml"))
        .map(str::to_string)
        .collect();
    (root, files)
}

#[test]
fn corpus_invalid_files_fail_located_and_valid_files_never_fail() {
    let (root, files) = corpus();
    assert!(files.len() > 600, "corpus list shrank: {}", files.len());
    let paths: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
    // One run over the whole corpus: every file is checked by every rule.
    let report = check::run(&Options {
        paths: paths.clone(),
        ..Options::default()
    });
    let mut problems = Vec::new();
    for (file, path) in files.iter().zip(&paths) {
        let shown = preflight::files::display(path);
        let failures: Vec<_> = report.failures.iter().filter(|f| f.file == shown).collect();
        if file.starts_with("invalid/") {
            if failures.is_empty() {
                problems.push(format!("{file}: accepted"));
            }
            for f in &failures {
                let located = f.span.is_some() && f.source.is_some();
                if !located || !matches!(f.kind, FailureKind::TomlSyntax | FailureKind::Io) {
                    problems.push(format!("{file}: failure not located: {f:?}"));
                }
            }
        } else if !failures.is_empty() {
            problems.push(format!("{file}: rejected: {}", failures[0].message));
        }
    }
    // Rule failures are reported against the rule file: none may occur on valid input.
    for f in &report.failures {
        if !matches!(f.kind, FailureKind::TomlSyntax | FailureKind::Io) {
            problems.push(format!(
                "rule failed on corpus input: {} {}",
                f.message,
                f.note.clone().unwrap_or_default()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

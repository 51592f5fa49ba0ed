//! `diff --git` on a real repository: files added, deleted and modified by the change,
//! whole directories, and revisions that try to pass as options.

use crate::support::{run_in, Run};

/// A temporary repository whose base commit holds `estates/a.toml` (clean) and
/// `estates/b.toml` (one Apache error); the work tree is then changed by each test.
struct Repo {
    dir: tempfile::TempDir,
    clean: String,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let clean = std::fs::read_to_string("examples/estate.toml").unwrap();
        let repo = Repo { dir, clean };
        repo.git(&["init", "-q"]);
        std::fs::create_dir(repo.path("estates")).unwrap();
        repo.write("estates/a.toml", &repo.clean);
        repo.write("estates/b.toml", &repo.apache());
        repo.git(&["add", "."]);
        repo.git(&["commit", "-qm", "base"]);
        repo
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    fn apache(&self) -> String {
        self.clean
            .replacen("web_server = \"IIS\"", "web_server = \"Apache\"", 1)
    }

    fn git(&self, args: &[&str]) {
        crate::support::git(self.dir.path(), args);
    }

    fn diff(&self, rev: &str, path: &str) -> Run {
        let git = format!("--git={rev}");
        run_in(self.dir.path(), &["diff", &git, path, "--format", "json"])
    }
}

fn statuses(json: &serde_json::Value) -> Vec<(String, String)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn an_added_file_is_all_new_and_a_deleted_file_all_fixed() {
    let repo = Repo::new();
    repo.write("estates/c.toml", &repo.apache());
    let Run { json, code, .. } = repo.diff("HEAD", "estates/c.toml");
    assert_eq!(code, 1, "{json}");
    assert_eq!(statuses(&json), [("estates/c.toml".into(), "new".into())]);

    std::fs::remove_file(repo.path("estates/b.toml")).unwrap();
    let Run { json, code, .. } = repo.diff("HEAD", "estates/b.toml");
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["fixed"].as_array().unwrap().len(), 1, "{json}");
    assert!(json["failures"].as_array().unwrap().is_empty());
}

#[test]
fn a_directory_compares_added_deleted_and_modified_estates_in_one_run() {
    let repo = Repo::new();
    repo.write("estates/a.toml", &repo.apache()); // modified: one new finding
    std::fs::remove_file(repo.path("estates/b.toml")).unwrap(); // deleted: one fixed
    repo.write("estates/c.toml", &repo.clean); // added, clean
    let Run { json, code, .. } = repo.diff("HEAD", "estates");
    assert_eq!(code, 1, "{json}");
    assert_eq!(statuses(&json), [("estates/a.toml".into(), "new".into())]);
    assert_eq!(json["fixed"][0]["file"], "estates/b.toml");
    assert!(json["failures"].as_array().unwrap().is_empty(), "{json}");

    // Fixing the new finding makes the change pass.
    repo.write("estates/a.toml", &repo.clean);
    let Run { code, .. } = repo.diff("HEAD", "estates");
    assert_eq!(code, 0);
}

#[test]
fn a_revision_that_looks_like_an_option_is_refused() {
    let repo = Repo::new();
    for rev in ["--output=x.txt", "-p"] {
        let Run { json, code, .. } = repo.diff(rev, "estates");
        assert_eq!(code, 2, "{rev}: {json}");
        let message = json["failures"][0]["message"].as_str().unwrap();
        assert!(message.contains("is not a revision"), "{message}");
    }
    assert!(
        !repo.path("x.txt").exists(),
        "git was never given the option"
    );
}

fn changes(json: &serde_json::Value) -> Vec<(String, String)> {
    json["policy_changes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["file"].as_str().unwrap().to_string(),
                        c["change"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_policy_comes_from_the_base_and_its_changes_are_shown() {
    let repo = Repo::new();
    repo.write("estates/a.toml", &repo.apache());
    for loosen in [
        "[rules]\n\"officescan/*\" = \"allow\"\n",
        "builtin = false\n",
    ] {
        repo.write("preflight.toml", loosen);
        let run = |policy: &str| {
            let git = "--git=HEAD".to_string();
            run_in(
                repo.dir.path(),
                &[
                    "diff", &git, "estates", "--format", "json", "--policy", policy,
                ],
            )
        };
        let Run { json, code, .. } = run("base");
        assert_eq!(
            code, 1,
            "{loosen}: the base's policy still fails the change: {json}"
        );
        assert_eq!(changes(&json), [("preflight.toml".into(), "added".into())]);
        for format in ["human", "markdown", "github", "sarif", "junit"] {
            let git = "--git=HEAD".to_string();
            let out = run_in(
                repo.dir.path(),
                &["diff", &git, "estates", "--format", format],
            );
            assert!(
                out.stdout.contains("preflight.toml"),
                "{format}: {}",
                out.stdout
            );
        }
        let Run { json, code, .. } = run("head");
        if loosen.starts_with("builtin") {
            // Applied, it leaves no rule at all: nothing checked is a failure, not a pass.
            assert_eq!(code, 2, "{loosen}: {json}");
            assert_eq!(json["failures"][0]["kind"], "nothing-to-check", "{json}");
        } else {
            assert_eq!(code, 0, "{loosen}: --policy head applies it: {json}");
        }
        assert_eq!(changes(&json), [("preflight.toml".into(), "added".into())]);
    }
}

#[test]
fn site_rules_named_by_the_base_config_are_read_from_the_base() {
    let repo = Repo::new();
    std::fs::create_dir(repo.path("site")).unwrap();
    let rule = "//! severity: error\n//! title: No Apache\n//! ## What it does\n//! x\n//! ## Why is this bad?\n//! x\n//! ## How to fix\n//! x\n\nfn check(estate) {\n    for s in estate.servers {\n        if s.web_server == \"Apache\" { fail(s, \"web_server\", \"no apache here\"); }\n    }\n}\n";
    repo.write("site/no-apache.rhai", rule);
    repo.write(
        "preflight.toml",
        "rule_dirs = [\"site\"]\nbuiltin = false\n",
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "site policy"]);
    // The change adds an Apache server and defuses the rule that would catch it.
    repo.write("estates/a.toml", &repo.apache());
    repo.write("site/no-apache.rhai", &rule.replace("fail(", "debug("));
    let Run { json, code, .. } = repo.diff("HEAD", "estates");
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["findings"][0]["rule"], "site/no-apache");
    assert_eq!(
        changes(&json),
        [("site/no-apache.rhai".into(), "modified".into())]
    );
}

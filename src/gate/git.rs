//! Reading the base of a change from git: files and directory listings at a revision.
//! Revisions come from the command line; none may pass as an option to git.

use crate::files;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// A git work tree and the revision its change is compared with.
#[derive(Debug, Clone)]
pub struct Base {
    /// The work tree's top level, canonical.
    pub root: PathBuf,
    pub rev: String,
}

impl Base {
    /// Opens the repository holding `near` at `rev`; an option-like or unknown
    /// revision is refused.
    pub fn open(rev: &str, near: &Path) -> Result<Base, String> {
        if rev.starts_with('-') || rev.is_empty() {
            return Err(format!("`{rev}` is not a revision"));
        }
        let full = absolute(near);
        let dir = full
            .ancestors()
            .find(|d| d.is_dir())
            .ok_or_else(|| "no existing directory around the path".to_string())?;
        let root = git(dir, &["rev-parse", "--show-toplevel"])
            .map_err(|e| format!("not inside a git repository: {e}"))?;
        let root = PathBuf::from(String::from_utf8_lossy(&root).trim_end_matches(['\n', '\r']));
        let root = root.canonicalize().unwrap_or(root);
        let spec = format!("{rev}^{{commit}}");
        git(
            &root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ],
        )
        .map_err(|_| format!("git knows no revision `{rev}`"))?;
        Ok(Base {
            root,
            rev: rev.to_string(),
        })
    }

    /// `path` (relative to the current directory) relative to the work tree's root,
    /// `/`-separated, even when it no longer exists; `None` outside the work tree.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let full = absolute(path);
        let rel = full.strip_prefix(&self.root).ok()?;
        Some(files::display(rel))
    }

    /// The bytes of `rel` at the base, or `None` when the base has no such file.
    pub fn show(&self, rel: &str) -> Result<Option<Vec<u8>>, String> {
        let object = format!("{}:{rel}", self.rev);
        let exists = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["cat-file", "-e", "--end-of-options", &object])
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !exists.status.success() {
            return Ok(None);
        }
        git(
            &self.root,
            &["cat-file", "blob", "--end-of-options", &object],
        )
        .map(Some)
    }

    /// Every file below directory `rel` at the base, repository-relative, sorted.
    pub fn list(&self, rel: &str) -> Result<Vec<String>, String> {
        let out = git(
            &self.root,
            &[
                "ls-tree",
                "-r",
                "--name-only",
                "-z",
                "--end-of-options",
                &self.rev,
                "--",
                if rel.is_empty() { "." } else { rel },
            ],
        )?;
        let mut names: Vec<String> = out
            .split(|b| *b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// `path` made absolute with `..` resolved and its longest existing ancestor
/// canonical, so it compares with a canonical root even when it does not exist.
fn absolute(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut full = PathBuf::new();
    for c in cwd.join(path).components() {
        match c {
            Component::ParentDir => {
                full.pop();
            }
            Component::CurDir => {}
            other => full.push(other),
        }
    }
    // The last component is never resolved: a link keeps its own name.
    let parent = full.parent().unwrap_or(&full);
    let existing = parent.ancestors().find(|a| a.exists()).unwrap_or(parent);
    match (existing.canonicalize(), full.strip_prefix(existing)) {
        (Ok(canonical), Ok(rest)) => canonical.join(rest),
        _ => full,
    }
}

/// Runs git in `dir`; its stdout, or its stderr as the error.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

//! The policy of a change comes from its base: `preflight.toml` and the rule
//! directories it names (and `--rules` directories inside the repository) are read at
//! the base revision into a private copy, and every difference in the work tree is
//! listed as a policy change for the reviewer, applied or not.

use super::git::Base;
use crate::config::{self, FILE_NAME};
use crate::files;
use crate::report::{Failure, PolicyChange};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where a run's policy is read from: the config file (or where to look for one) and
/// the rule directories named on the command line.
#[derive(Debug, Clone, Default)]
pub struct PolicyFiles {
    pub config: Option<PathBuf>,
    pub no_config: bool,
    pub config_start: Option<PathBuf>,
    pub rule_dirs: Vec<PathBuf>,
}

/// The base's policy, copied out of git, and how the work tree differs from it.
pub struct BasePolicy {
    /// Holds the copied files for as long as the run needs them.
    _dir: tempfile::TempDir,
    pub changes: Vec<PolicyChange>,
    /// The same files, pointed at the base's copies.
    pub files: PolicyFiles,
}

/// Repository-relative candidates for `preflight.toml`, nearest first: the directory
/// given, then its parents up to the root.
fn config_candidates(base: &Base, flags: &PolicyFiles) -> Vec<String> {
    if let Some(p) = &flags.config {
        return base.relative(p).into_iter().collect();
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let start = flags.config_start.clone().unwrap_or(cwd);
    let Some(mut rel) = base.relative(&start) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    loop {
        out.push(if rel.is_empty() {
            FILE_NAME.to_string()
        } else {
            format!("{rel}/{FILE_NAME}")
        });
        if rel.is_empty() {
            return out;
        }
        rel = rel
            .rsplit_once('/')
            .map_or(String::new(), |(p, _)| p.into());
    }
}

/// The rule files below repository-relative `dir`, at the base and in the work tree.
fn rule_files(base: &Base, dir: &str) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let at_base: BTreeSet<String> = base
        .list(dir)?
        .into_iter()
        .filter(|n| n.ends_with(".rhai"))
        .collect();
    let mut found = Vec::new();
    let mut ignored = Vec::new();
    let full = base.root.join(dir);
    if full.is_dir() {
        files::walk(&full, "rhai", &mut found, &mut ignored);
    }
    let in_tree = found
        .iter()
        .filter_map(|p| p.strip_prefix(&base.root).ok().map(files::display))
        .collect();
    Ok((at_base, in_tree))
}

/// Copies the base's policy and compares the work tree's with it. `flags` are the
/// command line's; the returned files read the base's copy.
pub fn from_base(base: &Base, flags: &PolicyFiles) -> Result<BasePolicy, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let mut changes: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut compare = |rel: &str, at_base: Option<&[u8]>| {
        let in_tree = std::fs::read(base.root.join(rel)).ok();
        let change = match (at_base, in_tree.as_deref()) {
            (Some(_), None) => Some("deleted"),
            (None, Some(_)) => Some("added"),
            (Some(a), Some(b)) if a != b => Some("modified"),
            _ => None,
        };
        if let Some(c) = change {
            changes.insert(rel.to_string(), c);
        }
    };
    let copy = |rel: &str, bytes: &[u8]| -> Result<PathBuf, String> {
        let to = dir.path().join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&to, bytes).map_err(|e| e.to_string())?;
        Ok(to)
    };

    let candidates = config_candidates(base, flags);
    let mut base_config = None;
    for rel in &candidates {
        if let Some(bytes) = base.show(rel)? {
            base_config = Some((rel.clone(), bytes));
            break;
        }
    }
    let head_config = candidates
        .iter()
        .find(|rel| base.root.join(rel).is_file())
        .cloned();
    let mut seen_configs = BTreeSet::new();
    if let Some((rel, bytes)) = &base_config {
        compare(rel, Some(bytes));
        seen_configs.insert(rel.clone());
    }
    if let Some(rel) = &head_config {
        if !seen_configs.contains(rel) {
            let at_base = base.show(rel)?;
            compare(rel, at_base.as_deref());
        }
    }

    // Rule directories: the base config's and the flags' (when inside the repository)
    // are copied; the head config's are only compared.
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut new_flags = flags.clone();
    new_flags.no_config = true;
    new_flags.config = None;
    if let Some((rel, bytes)) = &base_config {
        let copied = copy(rel, bytes)?;
        let (config, _) = config::load(&copied);
        for d in &config.rule_dirs {
            if let Ok(inner) = d.strip_prefix(dir.path()) {
                dirs.insert(files::display(inner));
            }
        }
        new_flags.config = Some(copied);
        new_flags.no_config = false;
    }
    let mut flag_dirs = Vec::new();
    for d in &flags.rule_dirs {
        match base.relative(d) {
            Some(rel) => {
                dirs.insert(rel.clone());
                flag_dirs.push(dir.path().join(&rel));
            }
            None => flag_dirs.push(d.clone()),
        }
    }
    new_flags.rule_dirs = flag_dirs;
    let mut compared_dirs = dirs.clone();
    if let Some(rel) = &head_config {
        let (config, _) = config::load(&base.root.join(rel));
        compared_dirs.extend(config.rule_dirs.iter().filter_map(|d| base.relative(d)));
    }
    for d in &compared_dirs {
        let (at_base, in_tree) = rule_files(base, d)?;
        for rel in at_base.union(&in_tree) {
            let bytes = base.show(rel)?;
            if dirs.contains(d) {
                if let Some(b) = &bytes {
                    copy(rel, b)?;
                }
            }
            compare(rel, bytes.as_deref());
        }
        if dirs.contains(d) {
            // A named directory that is empty at the base still exists for the run.
            std::fs::create_dir_all(dir.path().join(d)).map_err(|e| e.to_string())?;
        }
    }
    Ok(BasePolicy {
        _dir: dir,
        changes: changes
            .into_iter()
            .map(|(file, change)| PolicyChange {
                file,
                change: change.to_string(),
            })
            .collect(),
        files: new_flags,
    })
}

/// The failure of a run whose base policy could not be read.
pub fn failure(path: &Path, message: String) -> Failure {
    Failure::unlocated(
        crate::report::FailureKind::Config,
        files::display(path),
        format!("cannot read the policy at the base revision: {message}"),
    )
}

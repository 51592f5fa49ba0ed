//! `check --fix`: applying the fixes findings carry to the estate files.
//!
//! A pass checks every file, takes in each file the fixes that touch disjoint bytes
//! (fixes that overlap wait for the next pass, when the findings are reported again
//! against the edited text), and keeps the result only if it still parses. Passes
//! repeat until nothing changes, at most [`MAX_PASSES`] times. A file with a failure
//! (unreadable, invalid, a rule that failed on it) is never edited, and a failure no
//! file can be blamed for (a rule that does not compile, a bad config) stops every
//! edit. Files are replaced atomically, and only when they still hold the text that
//! was checked.

use crate::estate::{self, Source};
use crate::files;
use crate::pipeline;
use crate::report::{Failure, FailureKind, Finding, Fix, Report};
use crate::settings::Settings;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Passes before `--fix` gives up on fixes that keep making new ones.
pub const MAX_PASSES: usize = 10;

/// A file whose text the fixes changed.
#[derive(Debug, Clone)]
pub struct Change {
    pub path: PathBuf,
    pub name: String,
    pub before: String,
    pub after: String,
    /// Fixes applied to it.
    pub fixes: usize,
}

/// What `--fix` did, and the report of what remains.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub changes: Vec<Change>,
    /// Files with fixes that were not edited, and why.
    pub skipped: Vec<(String, String)>,
    /// The passes ran out while fixes were still being applied.
    pub exhausted: bool,
}

impl Outcome {
    pub fn fixed(&self) -> usize {
        self.changes.iter().map(|c| c.fixes).sum()
    }

    /// The lines that tell the user what was (or, dry, would be) fixed.
    pub fn summary(&self, dry: bool) -> String {
        let mut out = String::new();
        for (file, why) in &self.skipped {
            out.push_str(&format!("not edited: {file}: {why}\n"));
        }
        if self.exhausted {
            out.push_str(&format!(
                "stopped after {MAX_PASSES} passes: fixes kept producing new fixes\n"
            ));
        }
        let (n, m) = (self.fixed(), self.changes.len());
        out.push_str(&format!(
            "{} {} in {}\n",
            if dry { "would fix" } else { "fixed" },
            plural(n, "finding"),
            plural(m, "file")
        ));
        out
    }

    /// Every change as one unified diff, `a/` and `b/` prefixed for `git apply`.
    pub fn diff(&self) -> String {
        self.changes
            .iter()
            .map(|c| {
                similar::TextDiff::from_lines(&c.before, &c.after)
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{}", c.name), &format!("b/{}", c.name))
                    .to_string()
            })
            .collect()
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Applies `edits` (sorted, disjoint) to `text`.
pub fn apply(text: &str, fixes: &[&Fix]) -> String {
    let mut edits: Vec<_> = fixes.iter().flat_map(|f| f.edits.iter()).collect();
    edits.sort_by_key(|e| (e.offset, e.length));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        if e.offset < at {
            // Overlapping edits are never chosen together; never apply one blindly.
            continue;
        }
        out.push_str(&text[at..e.offset]);
        out.push_str(&e.replacement);
        at = e.offset + e.length;
    }
    out.push_str(&text[at..]);
    out
}

/// Whether every edit of `fix` lies inside `text` on character boundaries.
fn fits(text: &str, fix: &Fix) -> bool {
    fix.edits.iter().all(|e| {
        e.offset
            .checked_add(e.length)
            .is_some_and(|end| text.is_char_boundary(e.offset) && text.is_char_boundary(end))
    })
}

/// The fixes of one pass: in order of position, each kept when it touches nothing an
/// earlier one does.
fn disjoint<'f>(fixes: &[&'f Fix]) -> Vec<&'f Fix> {
    let mut chosen: Vec<&Fix> = Vec::new();
    for &fix in fixes {
        let clash = chosen.iter().any(|c| {
            c.edits
                .iter()
                .any(|a| fix.edits.iter().any(|b| crate::engine::fix::overlap(a, b)))
        });
        if !clash {
            chosen.push(fix);
        }
    }
    chosen
}

fn parses(name: &str, text: &str) -> bool {
    estate::parse(Arc::new(Source::new(name, text.to_string()))).is_ok()
}

/// Which checked files the report's failures concern, or why none may be edited.
fn blocked(report: &Report, names: &[String], settings: &Settings) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    let rule_dirs: Vec<String> = settings
        .rule_dirs
        .iter()
        .map(|d| files::display(d))
        .collect();
    for f in &report.failures {
        let checking = f
            .note
            .as_deref()
            .and_then(|n| n.strip_prefix("while checking "));
        let file = match f.kind {
            FailureKind::RuleRuntime | FailureKind::RuleLimit => checking,
            FailureKind::Io
            | FailureKind::TomlSyntax
            | FailureKind::UnsafePath
            | FailureKind::NothingToCheck
                if !rule_dirs.contains(&f.file) =>
            {
                Some(f.file.as_str())
            }
            _ => None,
        };
        match (f.kind, file) {
            (_, Some(file)) => out.extend(names.iter().position(|n| n == file)),
            _ => {
                return Err(format!(
                    "{} ({}) stops every edit",
                    f.location(),
                    f.kind.as_str()
                ))
            }
        }
    }
    Ok(out)
}

/// Runs `check --fix` over `settings.paths`: fixes in passes, then (unless `dry`)
/// writes the changed files and checks them again from disk.
pub fn run(settings: &Settings, failures: Vec<Failure>, dry: bool) -> Outcome {
    let mut early = failures;
    let paths = pipeline::expand_settings(settings, &mut early);
    let names: Vec<String> = paths.iter().map(|p| files::display(p)).collect();
    // Each edited file's current text, and the text first checked.
    let mut texts: HashMap<usize, Arc<Source>> = HashMap::new();
    let mut originals: HashMap<usize, Arc<Source>> = HashMap::new();
    let mut counts: HashMap<usize, usize> = HashMap::new();
    let mut skipped: BTreeMap<usize, String> = BTreeMap::new();
    let mut exhausted = true;
    let mut report = Report::default();
    for _ in 0..MAX_PASSES {
        report = pipeline::check_paths(settings, &paths, &texts, early.clone());
        let bad = match blocked(&report, &names, settings) {
            Ok(bad) => bad,
            Err(why) => {
                let had = !texts.is_empty();
                for i in texts.keys().chain(
                    report
                        .findings
                        .iter()
                        .filter(|f| f.fix.is_some())
                        .map(|f| &f.file_index),
                ) {
                    skipped.entry(*i).or_insert_with(|| why.clone());
                }
                texts.clear();
                counts.clear();
                if had {
                    report = pipeline::check_paths(settings, &paths, &texts, early.clone());
                }
                exhausted = false;
                break;
            }
        };
        let mut reverted = false;
        for i in bad {
            if texts.remove(&i).is_some() {
                counts.remove(&i);
                reverted = true;
                skipped.insert(
                    i,
                    "the fixed text made the check fail; left as it was".into(),
                );
            } else {
                skipped.entry(i).or_insert_with(|| {
                    "it has a failure; files with failures are never edited".into()
                });
            }
        }
        if reverted {
            continue;
        }
        let mut by_file: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
        for f in &report.findings {
            if f.fix.is_some() && !f.waived() && !skipped.contains_key(&f.file_index) {
                by_file.entry(f.file_index).or_default().push(f);
            }
        }
        let mut changed = false;
        for (i, mut found) in by_file {
            let source = found[0].source.clone();
            originals.entry(i).or_insert_with(|| source.clone());
            found.sort_by_key(|f| {
                let first = f.fix.as_ref().and_then(|x| x.edits.first());
                (first.map(|e| (e.offset, e.length)), f.fingerprint.clone())
            });
            let fixes: Vec<&Fix> = found
                .iter()
                .filter_map(|f| f.fix.as_deref())
                .filter(|fix| fits(source.text(), fix))
                .collect();
            let chosen = disjoint(&fixes);
            let mut text = apply(source.text(), &chosen);
            let mut applied = chosen.len();
            if !parses(source.name(), &text) {
                // Together they break the file: take them one at a time, keeping each
                // that leaves it parsing.
                text = source.text().to_string();
                applied = 0;
                for fix in fixes {
                    let next = apply(&text, &[fix]);
                    if next != text && parses(source.name(), &next) {
                        text = next;
                        applied += 1;
                        break;
                    }
                }
                if applied == 0 {
                    skipped.insert(i, "its fixes would leave it invalid TOML".into());
                }
            }
            if text != source.text() {
                texts.insert(i, Arc::new(Source::new(source.name(), text)));
                *counts.entry(i).or_default() += applied;
                changed = true;
            }
        }
        if !changed {
            exhausted = false;
            break;
        }
    }
    if exhausted {
        report = pipeline::check_paths(settings, &paths, &texts, early.clone());
    }
    let mut changes: Vec<Change> = texts
        .iter()
        .filter_map(|(i, after)| {
            let before = originals.get(i)?;
            (before.text() != after.text()).then(|| Change {
                path: paths[*i].clone(),
                name: names[*i].clone(),
                before: before.text().to_string(),
                after: after.text().to_string(),
                fixes: counts.get(i).copied().unwrap_or(0),
            })
        })
        .collect();
    changes.sort_by(|a, b| a.name.cmp(&b.name));
    if !dry && !changes.is_empty() {
        let mut write_failures = Vec::new();
        changes.retain(
            |c| match write_fixed(&c.path, &settings.root, &c.before, &c.after) {
                Ok(()) => true,
                Err(e) => {
                    write_failures.push(Failure::unlocated(
                        FailureKind::Io,
                        c.name.clone(),
                        format!("cannot write the fixes: {e}"),
                    ));
                    false
                }
            },
        );
        report = pipeline::check_paths(settings, &paths, &HashMap::new(), early);
        report.failures.extend(write_failures);
        report.sort();
    }
    Outcome {
        report,
        changes,
        skipped: skipped
            .into_iter()
            .map(|(i, why)| (names[i].clone(), why))
            .collect(),
        exhausted,
    }
}

/// Replaces the file at `path` with `after`, atomically, when it still holds `before`.
/// A link is followed only to a file inside `root`, as the walk admitted it.
fn write_fixed(path: &Path, root: &Path, before: &str, after: &str) -> Result<(), String> {
    if path.is_symlink() {
        files::admit(path, root).map_err(|f| f.message)?;
    }
    let real = path.canonicalize().map_err(|e| e.to_string())?;
    let meta = std::fs::symlink_metadata(&real).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let now = std::fs::read(&real).map_err(|e| e.to_string())?;
    if now != before.as_bytes() {
        return Err("the file changed while it was being fixed; left as it is".into());
    }
    let dir = real.parent().ok_or("no parent directory")?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".preflight-fix-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| e.to_string())?;
    tmp.write_all(after.as_bytes()).map_err(|e| e.to_string())?;
    tmp.as_file().sync_all().map_err(|e| e.to_string())?;
    std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(|e| e.to_string())?;
    tmp.persist(&real).map_err(|e| e.error.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Edit;

    fn fix(edits: &[(usize, usize, &str)]) -> Fix {
        Fix {
            description: String::new(),
            edits: edits
                .iter()
                .map(|(offset, length, r)| Edit {
                    replacement: r.to_string(),
                    offset: *offset,
                    length: *length,
                })
                .collect(),
        }
    }

    #[test]
    fn overlapping_fixes_wait_for_a_later_pass() {
        let a = fix(&[(0, 3, "abc")]);
        let b = fix(&[(2, 2, "zz")]);
        let c = fix(&[(4, 0, "!")]);
        let chosen = disjoint(&[&a, &b, &c]);
        assert_eq!(chosen.len(), 2);
        assert_eq!(apply("0123456", &chosen), "abc3!456");
        assert!(!fits("é", &fix(&[(1, 0, "x")])));
        assert!(!fits("ab", &fix(&[(1, 5, "x")])));
    }
}

//! `preflight import`: building and refreshing an estate from an inventory export.
//! [`plan`] reads SOURCE (`source`), the map (`map`) and the estate, and merges
//! (`merge`) in memory; the caller shows the diff or writes the result atomically.
//! Nothing is written unless every row, the map and the estate are sound.

pub mod map;
pub mod merge;
pub mod source;
pub mod splice;

use crate::estate::Source;
use crate::files;
use crate::report::{Failure, FailureKind};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use merge::Summary;

/// What to import from where into what.
#[derive(Debug, Clone)]
pub struct Options {
    pub source: PathBuf,
    pub map: PathBuf,
    pub into: PathBuf,
    pub prune: bool,
    /// The CSV delimiter; detected from the header when `None`.
    pub delimiter: Option<u8>,
}

/// A merge done in memory: the estate's text before and after, and what changed.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    pub before: String,
    pub after: String,
    pub summary: Summary,
}

/// Reads everything and merges in memory. Every problem found on the way (map, rows,
/// estate) is returned together, so one run shows them all.
pub fn plan(o: &Options) -> Result<Plan, Vec<Failure>> {
    let name = files::display(&o.into);
    // Reading the estate is the long step: SOURCE is read and mapped beside it.
    let ((map, entries, mut failures), (before, estate_failures)) =
        rayon::join(|| read_map_and_source(o), || read_estate(&o.into));
    failures.extend(estate_failures);
    let (Some(map), true) = (map, failures.is_empty()) else {
        // The estate's own errors are shown with the others in the same run.
        if let Err(f) = parse_estate(&name, &before) {
            failures.extend(f);
        }
        return Err(failures);
    };
    if let Some((after, summary)) =
        splice::refresh(&name, &before, &map.table, &map.key, &entries, o.prune)
    {
        return Ok(Plan {
            name,
            before,
            after,
            summary,
        });
    }
    let mut doc = parse_estate(&name, &before)?;
    let summary = merge::merge(&mut doc, &map.table, &map.key, &entries, o.prune)
        .map_err(|e| vec![Failure::unlocated(FailureKind::Io, name.clone(), e)])?;
    Ok(Plan {
        name,
        after: doc.to_string(),
        before,
        summary,
    })
}

/// The map and SOURCE's rows as entries, with every problem found in either.
fn read_map_and_source(o: &Options) -> (Option<map::Map>, Vec<map::Entry>, Vec<Failure>) {
    let mut failures = Vec::new();
    let map = match files::read_text(&o.map) {
        Ok(text) => map::parse(text).map_err(|f| failures.extend(f)).ok(),
        Err(f) => {
            failures.push(*f);
            None
        }
    };
    let entries = read_source(o, map.as_ref(), &mut failures);
    (map, entries, failures)
}

/// The estate's text; a missing estate starts empty (the first import builds it).
fn read_estate(path: &Path) -> (String, Vec<Failure>) {
    match fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), Vec::new()),
        _ => match files::read_text(path) {
            Ok(s) => (s.text().to_string(), Vec::new()),
            Err(f) => (String::new(), vec![*f]),
        },
    }
}

/// SOURCE's rows as entries; unreadable or unmappable rows become failures.
fn read_source(
    o: &Options,
    map: Option<&map::Map>,
    failures: &mut Vec<Failure>,
) -> Vec<map::Entry> {
    let name = files::display(&o.source);
    let bytes = match fs::read(&o.source) {
        Ok(b) => b,
        Err(e) => {
            failures.push(Failure::unlocated(
                FailureKind::Io,
                name,
                format!("cannot read: {e}"),
            ));
            return Vec::new();
        }
    };
    let text = match source::decode(&name, &bytes) {
        Ok(t) => t,
        Err(f) => {
            failures.push(*f);
            return Vec::new();
        }
    };
    drop(bytes);
    let (export, read_failures) = source::read(text, o.delimiter);
    failures.extend(read_failures);
    let Some(map) = map else {
        return Vec::new();
    };
    if let Some(header) = &export.header {
        let missing = map.check_header(header, &name);
        if !missing.is_empty() {
            failures.extend(missing);
            return Vec::new();
        }
    }
    let key_column = map
        .columns
        .iter()
        .find(|c| *c.key == *map.key)
        .map_or(map.key.as_str(), |c| c.name.as_str());
    let mut lines: HashMap<String, usize> = HashMap::with_capacity(export.rows.len());
    let mut entries = Vec::with_capacity(export.rows.len());
    for row in &export.rows {
        match map.entry(row, &export.source) {
            Ok(e) => {
                if let Some(first) = lines.insert(e.key.clone(), row.line) {
                    failures.push(duplicate(&export.source, row, key_column, &e.key, first));
                } else {
                    entries.push(e);
                }
            }
            Err(f) => failures.push(*f),
        }
    }
    entries
}

fn duplicate(
    source: &Arc<Source>,
    row: &source::Row,
    column: &str,
    key: &str,
    first: usize,
) -> Failure {
    Failure::located(
        FailureKind::Io,
        source,
        row.span.clone(),
        format!(
            "row on line {}, column `{column}`: the key `{key}` is already on line {first}",
            row.line
        ),
    )
}

/// The estate as an editable document; a syntax error is reported as `check` would.
fn parse_estate(name: &str, text: &str) -> Result<toml_edit::DocumentMut, Vec<Failure>> {
    match text.parse::<toml_edit::DocumentMut>() {
        Ok(doc) => Ok(doc),
        Err(e) => {
            let source = Arc::new(Source::new(name, text.to_string()));
            // preflight's own parser reports every syntax error, not just the first.
            match crate::pipeline::parse_source(0, source.clone()) {
                Err(failures) => Err(failures),
                Ok(_) => Err(vec![Failure::located(
                    FailureKind::TomlSyntax,
                    &source,
                    e.span().unwrap_or(0..0),
                    e.message().to_string(),
                )]),
            }
        }
    }
}

/// The change as a unified diff (empty when there is none).
pub fn unified_diff(plan: &Plan) -> String {
    if plan.before == plan.after {
        return String::new();
    }
    similar::TextDiff::from_lines(&plan.before, &plan.after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{}", plan.name), &format!("b/{}", plan.name))
        .to_string()
}

/// What the import did (or, dry, would do), as shown to the user.
pub fn summary_text(plan: &Plan, dry_run: bool) -> String {
    let s = &plan.summary;
    let mut out = format!(
        "{}{}: {} added, {} changed, {} unchanged, {} not in the export, {} removed\n",
        if dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        plan.name,
        s.added.len(),
        s.changed.len(),
        s.unchanged,
        s.absent.len(),
        s.removed.len(),
    );
    if !s.absent.is_empty() {
        out.push_str("not in the export (kept; --prune removes them):\n");
        for n in &s.absent {
            out.push_str(&format!("  {n}\n"));
        }
    }
    if !s.removed.is_empty() {
        out.push_str("removed (not in the export):\n");
        for n in &s.removed {
            out.push_str(&format!("  {n}\n"));
        }
    }
    out
}

/// Replaces `path` with `text` atomically: a temporary file in the same directory,
/// flushed to disk, then renamed over it (a reader sees the old file or the new one).
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    // Through a symbolic link, replace the file it points at, not the link.
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Created exclusively under an unpredictable name: a link planted beside the estate
    // cannot redirect the write.
    let mut tmp = tempfile::Builder::new()
        .prefix(".preflight-import-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    if let Ok(meta) = fs::metadata(&path) {
        fs::set_permissions(tmp.path(), meta.permissions())?;
    }
    tmp.persist(&path).map(|_| ()).map_err(|e| e.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.toml");
        fs::write(&path, "old").unwrap();
        write_atomically(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_where_a_temporary_could_go_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let path = dir.path().join("e.toml");
        fs::write(&path, "old").unwrap();
        let planted = format!(".e.toml.import-{}.tmp", std::process::id());
        std::os::unix::fs::symlink(&victim, dir.path().join(planted)).unwrap();
        write_atomically(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn an_estate_that_does_not_parse_is_located() {
        let failures = parse_estate("e.toml", "[a]\nb = \n").unwrap_err();
        assert_eq!(failures[0].kind, FailureKind::TomlSyntax);
        assert!(failures[0].span.is_some());
    }
}

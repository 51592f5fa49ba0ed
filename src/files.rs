//! Finding input files and reading them as text, with located failures.

use crate::estate::Source;
use crate::report::{Failure, FailureKind};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are refused unless the limit is raised.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 512 << 20;

/// Tool manifests and preflight's own config: TOML, but never estates.
const NOT_ESTATES: &[&str] = &[
    "preflight.toml",
    "Cargo.toml",
    "pyproject.toml",
    "rust-toolchain.toml",
    "taplo.toml",
    ".taplo.toml",
    "rustfmt.toml",
    ".rustfmt.toml",
    "clippy.toml",
    ".clippy.toml",
    "deny.toml",
    "cross.toml",
    "netlify.toml",
    "Pipfile",
    "poetry.toml",
    "ruff.toml",
    ".ruff.toml",
    "typos.toml",
    "_typos.toml",
];

/// Every file with extension `ext` below `dir`, in sorted order. Hidden entries and
/// what `.gitignore` (and `.ignore`) files exclude are skipped, and so are tool
/// manifests such as `Cargo.toml`. A symbolic link is followed only when its target
/// lies inside `dir`; one leading out, and any special file (FIFO, device, socket)
/// named like an input, is an `unsafe-path` failure, read not at all.
pub fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>, failures: &mut Vec<Failure>) {
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut visited = std::collections::HashSet::new();
    walk_in(&root, dir, ext, out, failures, &mut visited);
}

fn walk_in(
    root: &Path,
    dir: &Path,
    ext: &str,
    out: &mut Vec<PathBuf>,
    failures: &mut Vec<Failure>,
    visited: &mut std::collections::HashSet<PathBuf>,
) {
    // A link back up the tree must not walk for ever.
    if let Ok(real) = dir.canonicalize() {
        if !visited.insert(real) {
            return;
        }
    }
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                failures.push(Failure::unlocated(
                    FailureKind::Io,
                    display(dir),
                    format!("cannot read directory: {e}"),
                ));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let path = entry.path().to_path_buf();
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        let wanted = path.extension().is_some_and(|e| e == ext)
            && !(ext == "toml" && NOT_ESTATES.contains(&name.as_ref()));
        if kind.is_symlink() {
            match fs::metadata(&path) {
                Err(_) if wanted => failures.push(Failure::unlocated(
                    // Skipping it silently would hide a file the user meant to check.
                    FailureKind::Io,
                    display(&path),
                    "broken symbolic link",
                )),
                Err(_) => {}
                Ok(meta) if meta.is_dir() || wanted => match admit(&path, root) {
                    Err(f) => failures.push(f),
                    Ok(()) if meta.is_dir() => walk_in(root, &path, ext, out, failures, visited),
                    Ok(()) => push_once(out, path, visited),
                },
                Ok(_) => {}
            }
        } else if !kind.is_dir() && wanted {
            match admit(&path, root) {
                Ok(()) => push_once(out, path, visited),
                Err(f) => failures.push(f),
            }
        }
    }
}

/// A file reached twice (directly and through a link) is checked once.
fn push_once(out: &mut Vec<PathBuf>, path: PathBuf, seen: &mut std::collections::HashSet<PathBuf>) {
    if seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone())) {
        out.push(path);
    }
}

/// Whether `path` may be read as an input under `root`: a regular file or directory,
/// and, when it is a symbolic link, one whose target lies inside `root`.
pub fn admit(path: &Path, root: &Path) -> Result<(), Failure> {
    let unsafe_path =
        |message: String| Failure::unlocated(FailureKind::UnsafePath, display(path), message);
    let real = path.canonicalize().map_err(|e| {
        Failure::unlocated(
            FailureKind::Io,
            display(path),
            format!("cannot read: {}", describe(&e)),
        )
    })?;
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if path.is_symlink() && !real.starts_with(&root) {
        return Err(unsafe_path(format!(
            "refused: it leads outside {} (to {}); only files inside the checked tree are read",
            display(&root),
            display(&real)
        )));
    }
    let meta = fs::metadata(&real).map_err(|e| {
        Failure::unlocated(
            FailureKind::Io,
            display(path),
            format!("cannot read: {}", describe(&e)),
        )
    })?;
    if !(meta.is_file() || meta.is_dir()) {
        return Err(unsafe_path(
            "refused: not a regular file (a FIFO, device or socket)".into(),
        ));
    }
    Ok(())
}

/// A path as shown to users: forward slashes, no leading `./`.
pub fn display(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// `path` relative to `root`, `/`-separated, when it lies below it; else as displayed.
pub fn relative_to(root: &Path, path: &Path) -> String {
    let (Ok(root), Ok(full)) = (root.canonicalize(), path.canonicalize()) else {
        return display(path);
    };
    match full.strip_prefix(&root) {
        Ok(rel) => display(rel),
        Err(_) => display(path),
    }
}

/// The repository root for `dir`: git's top level, else `dir` itself.
pub fn repository_root(dir: &Path) -> PathBuf {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim_end_matches(['\n', '\r'])))
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| dir.to_path_buf())
}

/// Reads a file as UTF-8 text, refusing files above the default size cap.
pub fn read_text(path: &Path) -> Result<Source, Box<Failure>> {
    read_text_capped(path, DEFAULT_MAX_FILE_SIZE)
}

/// Reads a file as UTF-8 text. Invalid UTF-8 is a failure located at the first bad byte.
pub fn read_text_capped(path: &Path, max_size: u64) -> Result<Source, Box<Failure>> {
    let name = display(path);
    let io = |msg: String| Box::new(Failure::unlocated(FailureKind::Io, name.clone(), msg));
    let meta = fs::metadata(path).map_err(|e| io(format!("cannot read: {}", describe(&e))))?;
    if meta.is_dir() {
        return Err(io("is a directory".into()));
    }
    if !meta.is_file() {
        return Err(Box::new(Failure::unlocated(
            FailureKind::UnsafePath,
            name,
            "refused: not a regular file (a FIFO, device or socket)",
        )));
    }
    let too_big = |size: String| {
        io(format!(
            "file is {size} bytes, over the limit of {max_size} bytes (raise it with --max-file-size)"
        ))
    };
    if meta.len() > max_size {
        return Err(too_big(meta.len().to_string()));
    }
    // The reported size can lie (special files report 0): the read itself is bounded.
    let file = fs::File::open(path).map_err(|e| io(format!("cannot read: {}", describe(&e))))?;
    // Sized from the metadata: growing by doubling would leave up to twice the file
    // counted against the memory budget.
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, max_size + 1), &mut bytes)
        .map_err(|e| io(format!("cannot read: {}", describe(&e))))?;
    if bytes.len() as u64 > max_size {
        return Err(too_big(format!("more than {max_size}")));
    }
    source_from_bytes(name, bytes)
}

/// Builds a source from raw bytes; invalid UTF-8 is a located failure.
pub fn source_from_bytes(name: String, bytes: Vec<u8>) -> Result<Source, Box<Failure>> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        // Windows PowerShell 5 writes UTF-16 by default; show none of its bytes, but
        // locate the mark (line 1, column 1).
        let empty = Arc::new(Source::new(name, String::new()));
        return Err(Box::new(Failure::located(
            FailureKind::Io,
            &empty,
            0..0,
            "file is UTF-16 (it starts with a UTF-16 byte-order mark); estates are UTF-8: save it \
             as UTF-8, e.g. in PowerShell `Get-Content f.toml | Set-Content -Encoding utf8 f.toml`",
        )));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            // The lossy text keeps every byte before `at` where it was.
            let end = lossy[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            let source = Arc::new(Source::new(name, lossy));
            Err(Box::new(Failure::located(
                FailureKind::Io,
                &source,
                at..end,
                format!("file is not valid UTF-8 (byte {at})"),
            )))
        }
    }
}

fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded_whatever_the_reported_size() {
        // /dev/zero reports no size and never ends.
        let err = read_text_capped(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(err.kind, FailureKind::UnsafePath);
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; 2048]).unwrap();
        let err = read_text_capped(&big, 1024).unwrap_err();
        assert!(err.message.contains("over the limit"), "{}", err.message);
    }
}

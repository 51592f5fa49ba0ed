//! The checking thread: debounces edits, checks the latest text of each document
//! against its workspace's rules (compiled once per `preflight.toml`), and publishes
//! diagnostics unless a newer version arrived meanwhile.

use super::convert;
use super::transport::Out;
use crate::config;
use crate::estate::Source;
use crate::files;
use crate::gate::date::Date;
use crate::pipeline::{self, Input, Prepared};
use crate::report::{Failure, FailureKind, Finding, RuleDoc};
use crate::settings::{Flags, Settings};
use lsp_server::Notification;
use lsp_types::{Diagnostic, PublishDiagnosticsParams, Uri};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long typing must pause before a changed document is checked.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// An open document's latest text.
#[derive(Clone)]
pub struct Document {
    pub version: i32,
    pub text: Arc<String>,
}

/// What the last check of a document found, for hover and code actions.
pub struct Analysis {
    pub version: i32,
    pub source: Arc<Source>,
    pub findings: Vec<Finding>,
    pub docs: Arc<Vec<RuleDoc>>,
    pub today: Date,
    /// How far ahead a new waiver may expire.
    pub max_waiver_days: i64,
}

/// State the main loop and the checking thread share.
#[derive(Default)]
pub struct Shared {
    pub documents: Mutex<HashMap<Uri, Document>>,
    pub analyses: Mutex<HashMap<Uri, Arc<Analysis>>>,
}

impl Shared {
    pub fn document(&self, uri: &Uri) -> Option<Document> {
        lock(&self.documents).get(uri).cloned()
    }

    /// The analysis of the document's current text, if it is done.
    pub fn current(&self, uri: &Uri) -> Option<Arc<Analysis>> {
        let version = self.document(uri)?.version;
        lock(&self.analyses)
            .get(uri)
            .filter(|a| a.version == version)
            .cloned()
    }
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Work for the checking thread.
pub enum Job {
    /// Check `uri` after `delay` (a later job for the same document replaces it).
    Check(Uri, Duration),
    /// Rules or config changed: recompile and recheck every open document.
    Reload,
}

/// Rules compiled for one `preflight.toml` (or none), with the threads to run them.
struct Workspace {
    settings: Settings,
    prepared: Prepared,
    pool: rayon::ThreadPool,
    docs: Arc<Vec<RuleDoc>>,
}

/// The path a `file:` URI names, percent-decoded.
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file:///C:/x` on Windows; `file://host/x` is not a local file.
    let rest = if cfg!(windows) {
        rest.strip_prefix('/')?
    } else {
        rest
    };
    if !rest.starts_with('/') && !cfg!(windows) {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(String::from_utf8(out).ok()?))
}

pub struct Worker {
    shared: Arc<Shared>,
    out: Out,
    /// Keyed by (config file, repository root).
    workspaces: HashMap<(Option<PathBuf>, PathBuf), Arc<Workspace>>,
    /// Repository roots by directory: asking git costs a process per keystroke.
    roots: HashMap<PathBuf, PathBuf>,
    /// Where documents that are not files take their config from.
    fallback_dir: PathBuf,
}

impl Worker {
    pub fn new(shared: Arc<Shared>, out: Out, fallback_dir: PathBuf) -> Self {
        Worker {
            shared,
            out,
            workspaces: HashMap::new(),
            roots: HashMap::new(),
            fallback_dir,
        }
    }

    /// Runs until the job channel closes.
    pub fn run(mut self, jobs: Receiver<Job>) {
        let mut pending: HashMap<Uri, Instant> = HashMap::new();
        loop {
            let next = pending.values().min().copied();
            let job = match next {
                None => match jobs.recv() {
                    Ok(j) => Some(j),
                    Err(_) => return,
                },
                Some(due) => match jobs.recv_timeout(due.saturating_duration_since(Instant::now()))
                {
                    Ok(j) => Some(j),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
            };
            match job {
                Some(Job::Check(uri, delay)) => {
                    pending.insert(uri, Instant::now() + delay);
                }
                Some(Job::Reload) => {
                    self.workspaces.clear();
                    self.roots.clear();
                    let now = Instant::now();
                    for uri in lock(&self.shared.documents).keys() {
                        pending.insert(uri.clone(), now);
                    }
                }
                None => {}
            }
            let now = Instant::now();
            let mut due: Vec<Uri> = pending
                .iter()
                .filter(|(_, d)| **d <= now)
                .map(|(u, _)| u.clone())
                .collect();
            due.sort();
            for uri in due {
                pending.remove(&uri);
                self.check(&uri);
            }
        }
    }

    fn workspace(&mut self, path: Option<&Path>) -> Arc<Workspace> {
        let dir = path
            .and_then(Path::parent)
            .map_or_else(|| self.fallback_dir.clone(), Path::to_path_buf);
        let config = config::discover(&dir);
        let root = self
            .roots
            .entry(dir.clone())
            .or_insert_with(|| files::repository_root(&dir))
            .clone();
        let key = (config.clone(), root.clone());
        if let Some(ws) = self.workspaces.get(&key) {
            return ws.clone();
        }
        let (settings, mut failures) = Settings::resolve(&Flags {
            paths: path.map(Path::to_path_buf).into_iter().collect(),
            config: config.clone(),
            no_config: config.is_none(),
            root: Some(root),
            ..Flags::default()
        });
        let pool = pipeline::pool(settings.jobs);
        let mut prepared = pool.install(|| pipeline::prepare(&settings));
        failures.append(&mut prepared.failures);
        prepared.failures = failures;
        let ws = Arc::new(Workspace {
            docs: Arc::new(prepared.docs.clone()),
            settings,
            prepared,
            pool,
        });
        self.workspaces.insert(key, ws.clone());
        ws
    }

    /// Checks the document's current text and publishes what was found, unless the
    /// document changed or closed meanwhile.
    fn check(&mut self, uri: &Uri) {
        let Some(doc) = self.shared.document(uri) else {
            return;
        };
        let path = file_path(uri);
        let ws = self.workspace(path.as_deref());
        // Waivers expire against the day of the check, not of the server's start.
        let mut settings = ws.settings.clone();
        settings.today = Date::today();
        let settings = &settings;
        let name = path.as_deref().map_or_else(
            || uri.as_str().to_string(),
            |p| files::relative_to(&settings.root, p),
        );
        let source = Arc::new(Source::new(name.clone(), doc.text.to_string()));
        let skip = path.as_deref().is_some_and(|p| {
            p.file_name().is_some_and(|n| n == config::FILE_NAME) || !settings.scope.keeps(p)
        });
        let (findings, failures) = if skip {
            // preflight.toml, or a file the config says is not an estate.
            (Vec::new(), Vec::new())
        } else if source.text().len() as u64 > settings.max_file_size {
            let f = Failure::unlocated(
                FailureKind::Io,
                &name,
                format!(
                    "the document is over the limit of {} bytes (max_file_size)",
                    settings.max_file_size
                ),
            );
            (Vec::new(), vec![f])
        } else {
            let run = catch_unwind(AssertUnwindSafe(|| {
                ws.pool.install(|| {
                    pipeline::check_prepared(
                        settings,
                        &ws.prepared,
                        vec![Input::Text(source.clone())],
                        vec![name.clone()],
                        ws.prepared.failures.clone(),
                    )
                    .0
                })
            }));
            match run {
                Ok(report) => (report.findings, report.failures),
                Err(_) => (
                    Vec::new(),
                    vec![Failure::unlocated(
                        FailureKind::RuleRuntime,
                        &name,
                        "internal error while checking this document",
                    )],
                ),
            }
        };
        let mut diagnostics: Vec<Diagnostic> = failures
            .iter()
            .map(|f| convert::failure(&source, f))
            .collect();
        diagnostics.extend(
            findings
                .iter()
                .filter(|f| !f.waived())
                .map(|f| convert::finding(uri, f)),
        );
        // Publish only what describes the current text: if it changed meanwhile, a
        // newer check is queued. The lock keeps an edit from slipping in between.
        let documents = lock(&self.shared.documents);
        if documents.get(uri).map(|d| d.version) != Some(doc.version) {
            return;
        }
        let analysis = Arc::new(Analysis {
            version: doc.version,
            source,
            findings,
            docs: ws.docs.clone(),
            today: settings.today,
            max_waiver_days: settings.max_waiver_days,
        });
        lock(&self.shared.analyses).insert(uri.clone(), analysis);
        self.out.send(Notification::new(
            "textDocument/publishDiagnostics".into(),
            PublishDiagnosticsParams {
                uri: uri.clone(),
                diagnostics,
                version: Some(doc.version),
            },
        ));
        drop(documents);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn file_uris_become_paths() {
        let uri = Uri::from_str("file:///tmp/my%20estate/a%C3%A9.toml").unwrap();
        if !cfg!(windows) {
            assert_eq!(
                file_path(&uri),
                Some(PathBuf::from("/tmp/my estate/aé.toml"))
            );
        }
        assert_eq!(
            file_path(&Uri::from_str("untitled:Untitled-1").unwrap()),
            None
        );
        assert_eq!(
            file_path(&Uri::from_str("file://host/share/a.toml").unwrap()),
            None
        );
    }
}

//! Findings begun ahead. Most of what resolving a finding costs (the value its key
//! names, that value's span, the path a report shows, and the finding's own strings)
//! depends only on what the rule passed to `fail`, which never changes once reported.
//! So while a rule call runs on (its next loop, say), an idle thread of the pool
//! begins its earlier findings, a batch at a time, and the call then only adds what
//! may have changed since (labels, fixes, `on_key`) and resolves the rest itself.
//! Without an idle thread nothing changes: a batch no thread has taken is the call's.

use crate::estate::{Doc, NodeId};
use crate::report::{counted, Counted, Finding, Severity};
use rhai::ImmutableString;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::AcqRel, Ordering::Release};
use std::sync::{Arc, Mutex, OnceLock};

/// Findings a job begins at once: long enough to be worth a job, short enough that
/// a loop's findings are handed out while it runs. A call's findings are finished in
/// runs of as many, one run for one batch ([`Ahead::take`]).
pub(crate) const BATCH: usize = 256;

/// How far ahead of the finding being begun its table's memory is asked for
/// ([`Doc::prefetch`]): findings lie scattered over the estate, and beginning one is
/// mostly waiting for its table otherwise.
pub(crate) const FAR: usize = 8;
pub(crate) const NEAR: usize = 4;

/// What a rule call's findings share: the estate, its place among the checked files,
/// the rule, and the rule's severity for findings that give none.
#[derive(Clone)]
pub(crate) struct Origin {
    pub doc: Arc<Doc>,
    pub index: usize,
    pub rule: Arc<str>,
    pub severity: Severity,
}

/// What `fail` was given for a batch of findings: the parts that never change once
/// reported. A call's findings mostly share their key and message (a loop's literal
/// strings, one `fail` on a query), so each string is kept once per run of findings
/// that share it: handing a batch over clones a few strings, not two a finding, and
/// the thread that begins it does not contend for their counts with the rule's.
#[derive(Default)]
pub(crate) struct Givens {
    texts: Vec<ImmutableString>,
    /// Node, key and message (indices into `texts`), severity.
    items: Vec<(NodeId, u32, u32, Option<Severity>)>,
}

/// What `fail` was given for one finding: node, key, message and severity.
pub(crate) type Given<'a> = (
    NodeId,
    &'a ImmutableString,
    &'a ImmutableString,
    Option<Severity>,
);

impl<'a> FromIterator<Given<'a>> for Givens {
    fn from_iter<I: IntoIterator<Item = Given<'a>>>(given: I) -> Self {
        let given = given.into_iter();
        let mut g = Givens {
            texts: Vec::new(),
            items: Vec::with_capacity(given.size_hint().0),
        };
        given.for_each(|one| g.push(one));
        g
    }
}

impl Givens {
    fn push(&mut self, (node, key, message, severity): Given) {
        let (k, m) = match self.items.last() {
            Some(&(_, k, m, _)) => (self.text(k, key), self.text(m, message)),
            None => (self.add(key), self.add(message)),
        };
        self.items.push((node, k, m, severity));
    }

    /// `s`'s index: `last`, the index the previous finding used in its place, when it
    /// is the same string.
    fn text(&mut self, last: u32, s: &ImmutableString) -> u32 {
        if self.texts[last as usize].ptr_eq(s) {
            last
        } else {
            self.add(s)
        }
    }

    fn add(&mut self, s: &ImmutableString) -> u32 {
        self.texts.push(s.clone());
        self.texts.len() as u32 - 1
    }

    fn begin_all(&self, origin: &Origin) -> Vec<Begun> {
        let t = |i: u32| self.texts[i as usize].as_str();
        let node = |i: usize| self.items.get(i).map(|item| item.0);
        let mut handles = Handles::new(origin, self.items.len());
        self.items
            .iter()
            .enumerate()
            .map(|(i, &(n, k, m, severity))| {
                origin.doc.prefetch(node(i + FAR), node(i + NEAR));
                begin(origin, handles.next(origin), n, t(k), t(m), severity)
            })
            .collect()
    }
}

/// The [`Counted`] handles for a run of findings, cloned in one burst. The estate's counts are
/// shared by every call on it: cloned a finding at a time, two threads beginning
/// findings of the same estate would pass the counts' cache line back and forth
/// between every two findings; in a burst it moves about once a run.
pub(crate) struct Handles(Vec<Counted>);

impl Handles {
    pub(crate) fn new(origin: &Origin, n: usize) -> Self {
        Handles((0..n).map(|_| handle(origin)).collect())
    }

    /// The next handle, or a fresh one past the run's.
    pub(crate) fn next(&mut self, origin: &Origin) -> Counted {
        self.0.pop().unwrap_or_else(|| handle(origin))
    }
}

fn handle(origin: &Origin) -> Counted {
    counted(origin.rule.clone(), &origin.doc.source)
}

/// A finding begun from what `fail` was given, and the value its key names.
pub struct Begun {
    pub child: Option<NodeId>,
    pub finding: Finding,
}

/// Begins a finding of a call from `origin`, reported on table `node` about `key`.
pub(crate) fn begin(
    origin: &Origin,
    handle: Counted,
    node: NodeId,
    key: &str,
    message: &str,
    severity: Option<Severity>,
) -> Begun {
    let Located { child, span, path } = locate(&origin.doc, node, key);
    let finding = Finding::of(
        handle,
        severity.unwrap_or(origin.severity),
        message,
        origin.index,
        (path, span),
    );
    Begun { child, finding }
}

/// Where one finding points.
struct Located {
    child: Option<NodeId>,
    span: Range<usize>,
    path: String,
}

/// Where a finding on table `node` about `key` points.
fn locate(doc: &Doc, node: NodeId, key: &str) -> Located {
    let (child, span) = doc.label_span(node, key);
    let path = match child {
        Some(c) => doc.path(c),
        None if key.is_empty() => doc.path(node),
        None => {
            let base = doc.path(node);
            if base.is_empty() {
                key.to_string()
            } else {
                format!("{base}.{key}")
            }
        }
    };
    Located { child, span, path }
}

struct Batch {
    /// The first finding's place among the call's findings.
    first: usize,
    /// What each finding was given; emptied by the job that begins them.
    items: Mutex<Givens>,
    /// Set by whichever of a job and the call comes first; the other leaves the batch.
    taken: AtomicBool,
    /// The job's result (`None` if it panicked), and the sign that it is there.
    out: Mutex<Option<Vec<Begun>>>,
    ready: OnceLock<()>,
}

/// One rule call's batches handed to the pool, in report order.
pub(crate) struct Ahead {
    origin: Origin,
    batches: Vec<Arc<Batch>>,
    /// Only on a pool with another thread to do the work.
    on: bool,
}

impl Ahead {
    pub(crate) fn new(origin: Origin) -> Self {
        Ahead {
            origin,
            batches: Vec::new(),
            on: rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1,
        }
    }

    /// Called after each finding, with the call's `n` findings so far: every [`BATCH`]
    /// findings, the last batch (`last` gives what each of the last so many was given)
    /// goes to the pool.
    pub(crate) fn reported(&mut self, n: usize, last: impl FnOnce(usize) -> Givens) {
        if !self.on || !n.is_multiple_of(BATCH) {
            return;
        }
        let batch = Arc::new(Batch {
            first: n - BATCH,
            items: Mutex::new(last(BATCH)),
            taken: AtomicBool::new(false),
            out: Mutex::new(None),
            ready: OnceLock::new(),
        });
        self.batches.push(batch.clone());
        let origin = self.origin.clone();
        rayon::spawn(move || {
            if batch.taken.swap(true, AcqRel) {
                return;
            }
            let items = std::mem::take(&mut *batch.items.lock().unwrap_or_else(|e| e.into_inner()));
            let out = catch_unwind(AssertUnwindSafe(|| items.begin_all(&origin)));
            *batch.out.lock().unwrap_or_else(|e| e.into_inner()) = out.ok();
            let _ = batch.ready.set(());
        });
    }

    /// For a call that reported `n` findings, per run of [`BATCH`] of them, whether
    /// another thread is beginning it. Every batch no thread has started is claimed
    /// first, so no job starts one after this; one being begun is waited for only
    /// when its run is resolved, so the call's thread resolves the runs it claimed
    /// meanwhile instead of waiting on a job (and on the next one it starts).
    pub(crate) fn take(self, n: usize) -> Vec<Run> {
        let mut runs: Vec<Run> = (0..n.div_ceil(BATCH)).map(|_| Run(None)).collect();
        for b in &self.batches {
            // Batches start at multiples of `BATCH`, each a full run.
            if b.taken.swap(true, AcqRel) && b.first + BATCH <= n {
                runs[b.first / BATCH] = Run(Some(b.clone()));
            }
        }
        runs
    }
}

/// One run of a call's findings: another thread's batch, or the call's own (`None`).
pub(crate) struct Run(Option<Arc<Batch>>);

impl Run {
    /// The findings another thread began of this run, once it has; `None` for the
    /// call's own run, or when the job panicked.
    pub(crate) fn begun(self) -> Option<Vec<Begun>> {
        let b = self.0?;
        b.ready.wait();
        let out = b.out.lock().unwrap_or_else(|e| e.into_inner()).take();
        out
    }
}

impl Drop for Ahead {
    /// Jobs that have not started find their batch taken and do nothing.
    fn drop(&mut self) {
        for b in &self.batches {
            b.taken.store(true, Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::{parse, Source, ROOT};
    use std::sync::atomic::Ordering::Acquire;
    use std::time::{Duration, Instant};

    #[test]
    fn findings_begun_elsewhere_land_where_they_were_reported() {
        let mut text = String::new();
        for i in 0..600 {
            text.push_str(&format!("[[c]]\nname = \"c{i}\"\nos = \"x\"\n"));
        }
        let doc = Arc::new(parse(Arc::new(Source::new("e.toml", text))).unwrap());
        let tables = doc.children(doc.get(ROOT, "c").unwrap());
        let origin = Origin {
            doc: doc.clone(),
            index: 3,
            rule: Arc::from("t/r"),
            severity: Severity::Warning,
        };
        // Keys shared as a loop's literals are; messages shared in runs, or not.
        let keys: [ImmutableString; 3] = ["os".into(), "".into(), "missing".into()];
        let shared = ImmutableString::from("shared");
        let given = |i: usize| {
            let message = if i % 7 < 4 {
                shared.clone()
            } else {
                format!("m{i}").into()
            };
            let severity = i.is_multiple_of(2).then_some(Severity::Error);
            (tables[i], keys[i % 3].clone(), message, severity)
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let begun = pool.install(|| {
            let mut ahead = Ahead::new(origin.clone());
            for n in 1..=600 {
                ahead.reported(n, |k| {
                    let last: Vec<_> = (n - k..n).map(given).collect();
                    last.iter().map(|(t, key, m, s)| (*t, key, m, *s)).collect()
                });
            }
            // The other thread is idle: it takes both batches.
            let start = Instant::now();
            while ahead.batches.iter().any(|b| !b.taken.load(Acquire))
                && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::yield_now();
            }
            ahead.take(600)
        });
        let begun: Vec<Option<Vec<Begun>>> = begun.into_iter().map(Run::begun).collect();
        let begun_runs: Vec<bool> = begun.iter().map(Option::is_some).collect();
        assert_eq!(begun_runs, [true, true, false]);
        let mut i = 0;
        for b in begun {
            for j in 0..BATCH.min(600 - i) {
                if let Some(b) = &b {
                    let (node, key, message, severity) = given(i);
                    let here = begin(&origin, handle(&origin), node, &key, &message, severity);
                    assert_eq!(
                        format!("{:?}", (b[j].child, &b[j].finding)),
                        format!("{:?}", (here.child, here.finding)),
                        "finding {i}"
                    );
                }
                i += 1;
            }
        }
        assert_eq!(i, 600);
    }

    #[test]
    fn taking_claims_every_batch_no_thread_has_started() {
        let text = "[[c]]\nname = \"c\"\n".repeat(600);
        let doc = Arc::new(parse(Arc::new(Source::new("e.toml", text))).unwrap());
        let tables = doc.children(doc.get(ROOT, "c").unwrap());
        let origin = Origin {
            doc,
            index: 0,
            rule: Arc::from("t/r"),
            severity: Severity::Error,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let (runs, batches) = pool.install(move || {
            // The other thread is busy until released: no batch can start.
            rayon::spawn(move || {
                started_tx.send(()).unwrap();
                let _ = release_rx.lock().unwrap().recv();
            });
            started_rx.recv().unwrap();
            let mut ahead = Ahead::new(origin.clone());
            let key = ImmutableString::from("name");
            for n in 1..=600 {
                ahead.reported(n, |k| {
                    tables[n - k..n]
                        .iter()
                        .map(|&t| (t, &key, &key, None))
                        .collect()
                });
            }
            let batches = ahead.batches.clone();
            (ahead.take(600), batches)
        });
        assert_eq!(batches.len(), 2);
        assert!(batches.iter().all(|b| b.taken.load(Acquire)));
        // Every run is the call's own: nothing to wait for.
        assert!(runs.into_iter().all(|r| r.begun().is_none()));
        release_tx.send(()).unwrap();
    }
}

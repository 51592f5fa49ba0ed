//! Findings begun ahead. Most of what resolving a finding costs (the value its key
//! names, that value's span, the path a report shows, and the finding's own strings)
//! depends only on what the rule passed to `fail`, which never changes once reported.
//! So while a rule call runs on (its next loop, say), an idle thread of the pool
//! begins its earlier findings, a batch at a time, and the call then only adds what
//! may have changed since (labels, fixes, `on_key`) and resolves the rest itself.
//! Without an idle thread nothing changes: a batch no thread has taken is the call's.

use crate::estate::{Doc, NodeId};
use crate::report::{Finding, Severity};
use rhai::ImmutableString;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::AcqRel, Ordering::Release};
use std::sync::{Arc, Mutex, OnceLock};

/// Findings a job begins at once: long enough to be worth a job, short enough that
/// a loop's findings are handed out while it runs. A call's findings are finished in
/// runs of as many, one run for one batch ([`Ahead::take`]).
pub(crate) const BATCH: usize = 256;

/// What a rule call's findings share: the estate, its place among the checked files,
/// the rule, and the rule's severity for findings that give none.
#[derive(Clone)]
pub(crate) struct Origin {
    pub doc: Arc<Doc>,
    pub index: usize,
    pub rule: Arc<str>,
    pub severity: Severity,
}

/// What `fail` was given: the parts of a finding that never change once reported
/// (the strings are shared, not copied).
pub(crate) struct Given {
    node: NodeId,
    key: ImmutableString,
    message: ImmutableString,
    severity: Option<Severity>,
}

impl Given {
    pub(crate) fn new(
        node: NodeId,
        key: ImmutableString,
        message: ImmutableString,
        severity: Option<Severity>,
    ) -> Self {
        Given {
            node,
            key,
            message,
            severity,
        }
    }
}

/// A finding begun from what `fail` was given, and the value its key names.
pub struct Begun {
    pub child: Option<NodeId>,
    pub finding: Finding,
}

/// Begins a finding of a call from `origin`.
pub(crate) fn begin(origin: &Origin, raw: &Given) -> Begun {
    let Located { child, span, path } = locate(&origin.doc, raw.node, &raw.key);
    let finding = Finding::new(
        &*origin.rule,
        raw.severity.unwrap_or(origin.severity),
        raw.message.as_str(),
        &origin.doc.source,
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
    /// The first finding's place among the call's findings, and what each was given.
    first: usize,
    /// Emptied by the job that begins them.
    items: Mutex<Vec<Given>>,
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
    pub(crate) fn reported(&mut self, n: usize, last: impl FnOnce(usize) -> Vec<Given>) {
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
            let out = catch_unwind(AssertUnwindSafe(|| {
                items
                    .iter()
                    .map(|raw| begin(&origin, raw))
                    .collect::<Vec<_>>()
            }));
            *batch.out.lock().unwrap_or_else(|e| e.into_inner()) = out.ok();
            let _ = batch.ready.set(());
        });
    }

    /// For a call that reported `n` findings, per run of [`BATCH`] of them, the
    /// findings other threads began, if they did; a batch not yet taken is left to
    /// the caller, one being begun is waited for.
    pub(crate) fn take(self, n: usize) -> Vec<Option<Vec<Begun>>> {
        let mut begun: Vec<Option<Vec<Begun>>> = Vec::with_capacity(n.div_ceil(BATCH));
        for b in &self.batches {
            let mut found = None;
            if b.taken.swap(true, AcqRel) {
                b.ready.wait();
                found = b.out.lock().unwrap_or_else(|e| e.into_inner()).take();
            }
            // Batches start at multiples of `BATCH`, in order.
            begun.resize_with(b.first / BATCH, || None);
            begun.push(found.filter(|f| b.first + f.len() <= n));
        }
        begun.resize_with(n.div_ceil(BATCH), || None);
        begun
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
        let given = |i: usize| {
            Given::new(
                tables[i],
                ["os", "", "missing"][i % 3].into(),
                format!("m{i}").into(),
                i.is_multiple_of(2).then_some(Severity::Error),
            )
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let begun = pool.install(|| {
            let mut ahead = Ahead::new(origin.clone());
            for n in 1..=600 {
                ahead.reported(n, |k| (n - k..n).map(given).collect());
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
        let begun_runs: Vec<bool> = begun.iter().map(Option::is_some).collect();
        assert_eq!(begun_runs, [true, true, false]);
        let mut i = 0;
        for b in begun {
            for j in 0..BATCH.min(600 - i) {
                if let Some(b) = &b {
                    let here = begin(&origin, &given(i));
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
}

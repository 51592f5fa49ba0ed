//! Sharing one native pass (see `Query::split_matches`) with the run's other threads.
//!
//! A pass's extra parts are rayon jobs that any idle thread of the pool takes up,
//! while the rule call that started the pass works on its own part; then the call's
//! thread waits for the parts already taken, blocked rather than helping in turn: a
//! rayon thread that helped while waiting could take up another rule's call on top
//! of its own stack and thread-local context. A part not yet taken by then does
//! nothing when it runs. Threads started for each pass instead cost about 0.3 ms a
//! pass on a 2-core virtual machine (mapping and unmapping a stack), and when every
//! core was busy they only shared it with the rules already running.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// A lock whose holder panicked still guards sound data: every critical section here
/// only sets a flag, counts or pushes.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One pass's parts run by other threads.
struct Parts<T> {
    state: Mutex<State<T>>,
    done: Condvar,
}

struct State<T> {
    /// The caller has finished its own part: parts that start now do nothing.
    closed: bool,
    /// Parts started and not yet finished: what the caller waits for.
    running: usize,
    finished: Vec<std::thread::Result<T>>,
}

/// Runs `work` on this thread and, at the same time, on up to `extra` idle threads of
/// the current rayon pool (none outside one); returns every result, this thread's
/// first. A part that starts only after this thread's own run has finished does
/// nothing: by then `work` has nothing left to take. A panic in a part is resumed here.
pub(crate) fn share<T, F>(extra: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let parts = Arc::new(Parts {
        state: Mutex::new(State {
            closed: false,
            running: 0,
            finished: Vec::new(),
        }),
        done: Condvar::new(),
    });
    let helpers = if rayon::current_thread_index().is_some() {
        extra
    } else {
        0
    };
    for _ in 0..helpers {
        let (work, parts) = (work.clone(), parts.clone());
        rayon::spawn(move || {
            {
                let mut s = lock(&parts.state);
                if s.closed {
                    return;
                }
                s.running += 1;
            }
            let out = catch_unwind(AssertUnwindSafe(|| work()));
            let mut s = lock(&parts.state);
            s.running -= 1;
            s.finished.push(out);
            parts.done.notify_all();
        });
    }
    let first = work();
    let mut s = lock(&parts.state);
    s.closed = true;
    while s.running > 0 {
        s = parts.done.wait(s).unwrap_or_else(|e| e.into_inner());
    }
    let mut out = vec![first];
    for r in s.finished.drain(..) {
        out.push(r.unwrap_or_else(|e| resume_unwind(e)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// Parts that each take numbers until 1,000 are taken; the numbers they got.
    fn take_all(extra: usize) -> Vec<Vec<usize>> {
        let next = Arc::new(AtomicUsize::new(0));
        share(extra, move || {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= 1000 {
                    break mine;
                }
                mine.push(i);
            }
        })
    }

    #[test]
    fn every_part_is_taken_once_and_all_results_come_back() {
        for (threads, extra) in [(1, 0), (2, 1), (4, 3), (2, 3)] {
            let runs = pool(threads).install(|| take_all(extra));
            assert!(runs.len() <= extra + 1);
            let mut all: Vec<usize> = runs.into_iter().flatten().collect();
            all.sort_unstable();
            assert_eq!(all, (0..1000).collect::<Vec<_>>(), "{threads} threads");
        }
        // Outside a pool, the caller does it all.
        assert_eq!(take_all(3).len(), 1);
    }

    #[test]
    fn a_helper_s_panic_is_the_caller_s() {
        let helped = Arc::new(AtomicUsize::new(0));
        let h = helped.clone();
        let caught = pool(2).install(|| {
            let caller = std::thread::current().id();
            catch_unwind(AssertUnwindSafe(|| {
                share(1, move || {
                    if std::thread::current().id() != caller {
                        h.fetch_add(1, Relaxed);
                        panic!("part failed");
                    }
                    // The caller's part lasts until the other thread's has run.
                    while h.load(Relaxed) == 0 {
                        std::thread::yield_now();
                    }
                })
            }))
        });
        assert!(caught.is_err());
        assert_eq!(helped.load(Relaxed), 1);
    }
}

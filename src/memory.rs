//! The live-heap count behind the run's memory budget: a global allocator that
//! counts bytes in use, installed by the binary; rule calls compare it with the budget.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting the bytes it has handed out and not taken back.
pub struct Counting;

/// Bytes in use, as the threads last flushed their counts: each thread adds its
/// allocations in batches, so that threads allocating at once do not contend for this
/// one cache line. Off by at most [`BATCH`] per thread; may dip below zero for a moment
/// when one thread frees what another allocated.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// How far a thread's unflushed count may drift before it is added to [`LIVE`]: small
/// beside any memory budget.
const BATCH: isize = 256 << 10;

thread_local! {
    /// Bytes this thread allocated minus those it freed, so a call can tell its own
    /// growth from another thread's. No destructor: safe to touch from the allocator.
    static MINE: Cell<isize> = const { Cell::new(0) };
    /// This thread's count not yet added to [`LIVE`].
    static UNFLUSHED: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = MINE.try_with(|m| m.set(m.get().wrapping_add(delta)));
    let flush = UNFLUSHED.try_with(|u| {
        let v = u.get().wrapping_add(delta);
        if (-BATCH..BATCH).contains(&v) {
            u.set(v);
            0
        } else {
            u.set(0);
            v
        }
    });
    match flush {
        Ok(0) => {}
        Ok(v) => {
            LIVE.fetch_add(v, Relaxed);
        }
        // The thread is exiting: count directly.
        Err(_) => {
            LIVE.fetch_add(delta, Relaxed);
        }
    }
}

/// Marks the allocator installed; a load first, so the line stays shared between cores.
fn installed() {
    if INSTALLED.load(Relaxed) == 0 {
        INSTALLED.store(1, Relaxed);
    }
}
/// Whether a [`Counting`] allocator is installed: without one `live` means nothing.
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the same arguments; the counter has no
// say in what is allocated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        installed();
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        installed();
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Bytes of heap in use by the whole process, or `None` when nothing counts them.
pub fn live() -> Option<usize> {
    (INSTALLED.load(Relaxed) == 1).then(|| LIVE.load(Relaxed).max(0) as usize)
}

/// Bytes this thread has allocated and not freed (freed by it) so far.
pub fn this_thread() -> isize {
    MINE.try_with(|m| m.get()).unwrap_or(0)
}

/// Default budget for the whole run: 2 GiB.
pub const DEFAULT_BUDGET: u64 = 2 << 30;

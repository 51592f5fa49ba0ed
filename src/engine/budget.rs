//! The budget of one rule call on this thread: the resource limits, the operation and
//! wall-clock counters, the memory share, and `charge`, through which native helpers
//! count the work Rhai's own operation counter cannot see.

use rhai::{Dynamic, EvalAltResult, Position};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Resource limits for rule execution. Defaults suit estates of a million entries: the
/// built-in pack's costliest rule uses 18,152,792 operations on a generated estate of
/// 1,000,000 clients (`docs/threat-model.md`), 27 times below the default.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Operations per rule call, interpreted ones plus native work: the CPU limit,
    /// deterministic whatever the machine's load.
    pub max_operations: u64,
    /// Wall-clock time per rule call (one rule on one estate): a backstop.
    pub timeout: Duration,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Live heap of the whole run, in bytes, that a rule call may not push past.
    pub memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 500_000_000,
            timeout: Duration::from_secs(60),
            max_call_levels: 48,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 100_000,
            memory: crate::memory::DEFAULT_BUDGET,
        }
    }
}

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The memory budget of the run, while a call runs on this thread.
    static MEMORY: Cell<u64> = const { Cell::new(u64::MAX) };
    /// This thread's heap when the running call started.
    static HEAP_AT_START: Cell<isize> = const { Cell::new(0) };
    /// The operation budget of the running call.
    static BUDGET: Cell<u64> = const { Cell::new(u64::MAX) };
    /// Interpreted operations of the running call, as Rhai last reported them.
    static OPS: Cell<u64> = const { Cell::new(0) };
    /// Native work charged to the running call.
    static NATIVE: Cell<u64> = const { Cell::new(0) };
    /// Native work charged since the clock was last read.
    static WORK: Cell<u64> = const { Cell::new(0) };
}

/// Native helpers read the clock once per this many units of work charged.
const CHECK_EVERY: u64 = 1 << 12;

/// Starts the operation budget and the wall-clock backstop of one rule call on this
/// thread.
pub fn arm(limits: &Limits) {
    DEADLINE.with(|d| d.set(Some(Instant::now() + limits.timeout)));
    BUDGET.with(|b| b.set(limits.max_operations));
    MEMORY.with(|m| m.set(limits.memory));
    HEAP_AT_START.with(|h| h.set(crate::memory::this_thread()));
    OPS.with(|o| o.set(0));
    NATIVE.with(|n| n.set(0));
    WORK.with(|w| w.set(0));
}

pub fn disarm() {
    DEADLINE.with(|d| d.set(None));
    BUDGET.with(|b| b.set(u64::MAX));
    MEMORY.with(|m| m.set(u64::MAX));
}

/// Whether the run's heap is past the budget and this call holds a good share of it
/// (an eighth): a call that allocates little is not stopped for another's growth.
fn over_memory() -> bool {
    let budget = MEMORY.with(|m| m.get());
    crate::memory::live().is_some_and(|live| live as u64 > budget) && {
        let grown = crate::memory::this_thread() - HEAP_AT_START.with(|h| h.get());
        grown > 0 && grown as u64 > budget / 8
    }
}

/// Operations the running call has used: interpreted ones and native work.
pub fn operations_used() -> u64 {
    OPS.with(|o| o.get()) + NATIVE.with(|n| n.get())
}

fn late() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|t| Instant::now() > t))
}

fn over_budget() -> bool {
    operations_used() > BUDGET.with(|b| b.get())
}

/// The tokens a call stopped by a limit terminates with.
pub const TIMEOUT_TOKEN: &str = "preflight:timeout";
pub const OPERATIONS_TOKEN: &str = "preflight:operations";
pub const MEMORY_TOKEN: &str = "preflight:memory";

fn stop(token: &str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(Dynamic::from(token.to_string()), Position::NONE).into()
}

/// Charges `units` of work (entries visited, candidates compared, KiB scanned) done
/// by a native helper, which Rhai's operation count does not see. The work counts
/// against the operation budget, so the same input stops at the same point on any
/// machine; the clock is read every few thousand units as a backstop.
pub fn charge(units: u64) -> Result<(), Box<EvalAltResult>> {
    NATIVE.with(|n| n.set(n.get().saturating_add(units)));
    if over_budget() {
        return Err(stop(OPERATIONS_TOKEN));
    }
    if over_memory() {
        return Err(stop(MEMORY_TOKEN));
    }
    let work = WORK.with(|w| w.get()) + units;
    if work < CHECK_EVERY {
        WORK.with(|w| w.set(work));
        return Ok(());
    }
    WORK.with(|w| w.set(0));
    if late() {
        return Err(stop(TIMEOUT_TOKEN));
    }
    Ok(())
}

/// What the engine's progress hook answers after `ops` interpreted operations: the
/// token of the limit the call broke, if any.
pub fn progress(ops: u64) -> Option<Dynamic> {
    OPS.with(|o| o.set(ops));
    // One relaxed load: cheap enough for every operation, and a loop that grows a
    // value by a megabyte each turn must stop within a turn or two.
    if over_memory() {
        return Some(Dynamic::from(MEMORY_TOKEN));
    }
    // Reading the clock every operation would cost more than the operation.
    if ops & 0x3ff != 0 {
        return None;
    }
    if over_budget() {
        return Some(Dynamic::from(OPERATIONS_TOKEN));
    }
    late().then(|| Dynamic::from(TIMEOUT_TOKEN))
}

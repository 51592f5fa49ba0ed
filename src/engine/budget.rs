//! The budget of one rule call on this thread: the resource limits, the operation and
//! wall-clock counters, the memory share, and `charge`, through which native helpers
//! count the work Rhai's own operation counter cannot see. [`Lent`] carries what is left
//! of it to helper threads that work for the call.

use rhai::{Dynamic, EvalAltResult, Position};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
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

/// Where a native helper counts its work: [`ThisCall`] on the call's own thread, a
/// [`Lent`] share on a helper thread.
pub(crate) trait Meter {
    fn charge(&mut self, units: u64) -> Result<(), Box<EvalAltResult>>;
}

/// The running call's budget, on its own thread.
pub(crate) struct ThisCall;

impl Meter for ThisCall {
    fn charge(&mut self, units: u64) -> Result<(), Box<EvalAltResult>> {
        charge(units)
    }
}

/// What is left of the running call's budget, shared by helper threads that split one
/// native pass (a filter over a million entries) between them. Each counts its work
/// into a common total; the call's thread charges that total when they are done, so
/// the call ends with the same count however many threads did the work.
pub(crate) struct Lent {
    left: u64,
    deadline: Option<Instant>,
    spent: AtomicU64,
    /// Set by the first helper stopped by a limit, so the others stop too.
    stopped: AtomicBool,
}

impl Lent {
    /// The budget the running call has left, to lend.
    pub(crate) fn of_this_call() -> Lent {
        Lent {
            left: BUDGET.with(|b| b.get()).saturating_sub(operations_used()),
            deadline: DEADLINE.with(|d| d.get()),
            spent: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    /// A meter for one helper thread.
    pub(crate) fn meter(&self) -> LentMeter<'_> {
        LentMeter {
            lent: self,
            pending: 0,
        }
    }

    /// On the call's thread, when the helpers are done: charges all they did, which
    /// tells whether they went past the budget. A helper that stopped (`stopped`)
    /// within the budget stopped at the deadline.
    pub(crate) fn settle(&self, stopped: bool) -> Result<(), Box<EvalAltResult>> {
        charge(self.spent.load(Relaxed))?;
        if stopped {
            return Err(stop(TIMEOUT_TOKEN));
        }
        Ok(())
    }
}

/// One helper thread's count, added to the shared total every few thousand units.
pub(crate) struct LentMeter<'a> {
    lent: &'a Lent,
    pending: u64,
}

impl LentMeter<'_> {
    /// Adds what is not yet counted to the shared total; call when the helper is done.
    pub(crate) fn flush(&mut self) -> Result<(), Box<EvalAltResult>> {
        let lent = self.lent;
        let spent = lent.spent.fetch_add(self.pending, Relaxed) + self.pending;
        self.pending = 0;
        // Which limit stopped the pass, [`Lent::settle`] tells on the call's thread.
        if spent > lent.left || lent.deadline.is_some_and(|t| Instant::now() > t) {
            lent.stopped.store(true, Relaxed);
        }
        if lent.stopped.load(Relaxed) {
            return Err(stop(OPERATIONS_TOKEN));
        }
        Ok(())
    }
}

impl Meter for LentMeter<'_> {
    fn charge(&mut self, units: u64) -> Result<(), Box<EvalAltResult>> {
        self.pending = self.pending.saturating_add(units);
        if self.pending < CHECK_EVERY {
            return Ok(());
        }
        self.flush()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn token(e: &EvalAltResult) -> String {
        match e {
            EvalAltResult::ErrorTerminated(t, _) => t.to_string(),
            e => e.to_string(),
        }
    }

    #[test]
    fn helpers_share_what_is_left_and_the_call_is_charged_their_sum() {
        arm(&Limits {
            max_operations: 100,
            ..Limits::default()
        });
        charge(10).unwrap();
        let lent = Lent::of_this_call();
        let (mut a, mut b) = (lent.meter(), lent.meter());
        a.charge(50).unwrap();
        b.charge(35).unwrap();
        a.flush().unwrap();
        b.flush().unwrap();
        lent.settle(false).unwrap();
        assert_eq!(operations_used(), 95);
        // Past what is left: the helper that crosses it stops, and so does the other.
        let lent = Lent::of_this_call();
        let (mut a, mut b) = (lent.meter(), lent.meter());
        a.charge(6).unwrap();
        assert!(a.flush().is_err());
        assert!(b.flush().is_err());
        assert_eq!(token(&lent.settle(true).unwrap_err()), OPERATIONS_TOKEN);
        disarm();
    }
}

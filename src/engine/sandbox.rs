//! The one shared Rhai `Engine` and the limits that keep rules contained.
//!
//! Rules cannot reach the file system, the network or the process: `eval` is
//! disabled, modules are compiled out (`no_module`), `print`/`debug` go to the log,
//! and every call runs under operation, depth, size and wall-clock limits.

use super::{api, context};
use rhai::{Dynamic, Engine, EvalAltResult, Position};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Resource limits for rule execution. Defaults suit estates of a million entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Interpreted operations per rule call.
    pub max_operations: u64,
    /// Wall-clock time per rule call (one rule on one estate).
    pub timeout: Duration,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 2_000_000_000,
            timeout: Duration::from_secs(10),
            max_call_levels: 48,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 100_000,
        }
    }
}

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Native work charged since the clock was last read.
    static WORK: Cell<u64> = const { Cell::new(0) };
}

/// Native helpers read the clock once per this many units of work charged.
const CHECK_EVERY: u64 = 1 << 12;

/// Starts the wall-clock budget of one rule call on this thread.
pub fn arm_deadline(timeout: Duration) {
    DEADLINE.with(|d| d.set(Some(Instant::now() + timeout)));
    WORK.with(|w| w.set(0));
}

fn late() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|t| Instant::now() > t))
}

/// Charges `units` of work (entries visited, candidates compared, KiB scanned) done
/// by a native helper, which Rhai's operation count does not see; past the deadline
/// the helper stops with the same error as an interpreted timeout.
pub fn charge(units: u64) -> Result<(), Box<EvalAltResult>> {
    let work = WORK.with(|w| w.get()) + units;
    if work < CHECK_EVERY {
        WORK.with(|w| w.set(work));
        return Ok(());
    }
    WORK.with(|w| w.set(0));
    if late() {
        return Err(
            EvalAltResult::ErrorTerminated(Dynamic::from(TIMEOUT_TOKEN), Position::NONE).into(),
        );
    }
    Ok(())
}

pub fn disarm_deadline() {
    DEADLINE.with(|d| d.set(None));
}

/// The token a timed-out call terminates with.
pub const TIMEOUT_TOKEN: &str = "preflight:timeout";

/// Builds the sandboxed engine with the host API registered.
pub fn build(limits: &Limits, verbose: bool) -> Engine {
    let mut engine = Engine::new();
    // With the interner on, every string `let` takes a global lock.
    engine.set_max_strings_interned(0);
    engine.disable_symbol("eval");
    engine.set_strict_variables(true);
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.on_progress(|ops| {
        // Reading the clock every operation would cost more than the operation.
        if ops & 0x3ff != 0 {
            return None;
        }
        late().then(|| Dynamic::from(TIMEOUT_TOKEN))
    });
    if verbose {
        // Output names the rule that printed it: rules run in parallel.
        engine.on_print(|s| eprintln!("[{}] {s}", context::current_rule()));
        engine.on_debug(|s, _, pos| eprintln!("[{} debug] {pos:?}: {s}", context::current_rule()));
    } else {
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
    }
    api::register(&mut engine);
    engine
}

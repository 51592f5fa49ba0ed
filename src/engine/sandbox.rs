//! The one shared Rhai `Engine`, built so rules stay contained.
//!
//! Rules cannot reach the file system, the network or the process: `eval` is
//! disabled, modules are compiled out (`no_module`), `print`/`debug` go to the log,
//! and every call runs under operation, depth, size and wall-clock limits (`budget`).

use super::budget::{self, Limits};
use super::{api, context};
use rhai::Engine;

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
    engine.on_progress(budget::progress);
    if verbose {
        // Output names the rule that printed it: rules run in parallel.
        engine.on_print(|s| eprintln!("[{}] {s}", context::current_rule()));
        engine.on_debug(|s, _, pos| eprintln!("[{} debug] {pos:?}: {s}", context::current_rule()));
    } else {
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
    }
    super::calls::remember_host_api(api::register(&mut engine));
    engine
}

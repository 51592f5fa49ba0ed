//! `--timings`: how long each phase of a run and each rule took, said on stderr so the
//! report itself stays byte-identical. Off unless asked; then recording costs one
//! relaxed load.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ON: AtomicBool = AtomicBool::new(false);
/// Phases in the order they ended; a phase run twice (both sides of a `diff`) adds up.
static PHASES: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());
/// Each rule's time, summed over the estates it ran on.
static RULES: Mutex<BTreeMap<String, Duration>> = Mutex::new(BTreeMap::new());

/// Starts recording for this process.
pub fn enable() {
    ON.store(true, Relaxed);
}

/// Runs `f` and, when recording, how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Option<Duration>) {
    if !ON.load(Relaxed) {
        return (f(), None);
    }
    let start = Instant::now();
    let out = f();
    (out, Some(start.elapsed()))
}

/// Runs `f`, recording its wall-clock time under `name`.
pub fn phase<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    let (out, took) = timed(f);
    if let Some(took) = took {
        let mut phases = PHASES.lock().unwrap_or_else(|e| e.into_inner());
        match phases.iter_mut().find(|(n, _)| *n == name) {
            Some((_, d)) => *d += took,
            None => phases.push((name, took)),
        }
    }
    out
}

/// Runs `f` as one call of rule `id`, recording its time.
pub fn rule<T>(id: &str, f: impl FnOnce() -> T) -> T {
    let (out, took) = timed(f);
    if let Some(took) = took {
        let mut rules = RULES.lock().unwrap_or_else(|e| e.into_inner());
        *rules.entry(id.to_string()).or_default() += took;
    }
    out
}

/// How many of the slowest rules the summary lists.
const SHOWN: usize = 10;

/// The summary: phases in order, then the slowest rules.
pub fn summary() -> String {
    let phases = PHASES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let rules = RULES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    render(&phases, &rules)
}

fn render(phases: &[(&str, Duration)], rules: &BTreeMap<String, Duration>) -> String {
    let mut out = String::from("timings (wall clock):\n");
    for (name, d) in phases {
        out.push_str(&format!("  {:>9.4} s  {name}\n", d.as_secs_f64()));
    }
    if rules.is_empty() {
        return out;
    }
    let mut slow: Vec<(&String, &Duration)> = rules.iter().collect();
    slow.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    out.push_str(&format!(
        "slowest rules of {} (each summed over the estates; rules run at once on all threads):\n",
        rules.len()
    ));
    for (id, d) in slow.into_iter().take(SHOWN) {
        out.push_str(&format!("  {:>9.4} s  {id}\n", d.as_secs_f64()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_keep_their_order_and_rules_show_slowest_first() {
        let ms = Duration::from_millis;
        let rules = (0..12)
            .map(|i| (format!("r{i:02}"), ms(i * 10)))
            .collect::<BTreeMap<_, _>>();
        let text = render(
            &[("read and parse", ms(1500)), ("evaluate", ms(250))],
            &rules,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "     1.5000 s  read and parse");
        assert_eq!(lines[2], "     0.2500 s  evaluate");
        assert!(lines[3].starts_with("slowest rules of 12 "), "{text}");
        assert_eq!(lines[4], "     0.1100 s  r11");
        assert_eq!(lines.len(), 4 + SHOWN, "{text}");
    }
}

//! (a) evaluation inside one process, against the most two threads could give it: per
//! turn, one evaluation on one thread alone, two whole evaluations at once (a thread
//! each, started together), and one evaluation on two threads. Two at once each do
//! the whole work and divide none of it, so `2 × alone ÷ both` bounds what any split
//! of this very work over two threads could reach in that turn. Prints the medians in seconds and
//! the per-turn ratios' quartiles:
//! `alone both two bound_q1 bound_q2 bound_q3 speedup_q1 speedup_q2 speedup_q3`.
//!
//! Usage: `pair <rules dir> <estate> <turns>`.

use preflight::engine::budget::Limits;
use preflight::engine::run::{evaluate, Estate};
use preflight::estate::Source;
use preflight::pipeline::{load_rules, parse_source, pool};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

// Counted as in the binary: rule calls read the live heap against their budget.
#[global_allocator]
static ALLOC: preflight::memory::Counting = preflight::memory::Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rules, estate, turns] = &args[..] else {
        panic!("usage: pair <rules dir> <estate> <turns>");
    };
    let turns: usize = turns.parse().expect("turns");
    let limits = Limits::default();
    let set = load_rules(false, &[PathBuf::from(rules)], &limits, false);
    assert!(set.failures.is_empty(), "rules failed to load");
    let text = std::fs::read_to_string(estate).expect("estate readable");
    let (one, other, two) = (pool(Some(1)), pool(Some(1)), pool(Some(2)));
    let estates: Vec<Estate> =
        match two.install(|| parse_source(0, Arc::new(Source::new(estate, text)))) {
            Ok(e) => vec![e],
            Err(_) => panic!("estate does not parse"),
        };
    let run = || {
        let t = Instant::now();
        std::hint::black_box(evaluate(&set.engine, &limits, &estates, &set.rules));
        t.elapsed().as_secs_f64()
    };
    // The pools' idle threads spin a while after their last job before they sleep:
    // each phase starts once the last phase's have gone to sleep, and with its own
    // threads busy the moment before, as after parsing in `preflight check`. They may
    // still fall asleep before the evaluation reaches them: traced, the second thread
    // of the two-thread phase started a median 237 µs late, where in `preflight
    // check` it starts within 50 µs, so that phase's speed-up is a floor.
    let busy = || {
        let t = Instant::now();
        while t.elapsed() < Duration::from_micros(300) {
            std::hint::spin_loop();
        }
    };
    let settle = |pool: &rayon::ThreadPool| {
        std::thread::sleep(Duration::from_millis(1));
        pool.broadcast(|_| busy());
    };
    let (mut alone, mut both, mut split) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..turns {
        settle(&one);
        alone.push(one.install(run));
        // Both ready, then both go: spinning, so that neither waits to be woken.
        let ready = AtomicUsize::new(0);
        std::thread::sleep(Duration::from_millis(1));
        let at_once = || {
            busy();
            ready.fetch_add(1, SeqCst);
            while ready.load(SeqCst) < 2 {
                std::hint::spin_loop();
            }
            run()
        };
        let (a, b) = std::thread::scope(|s| {
            let b = s.spawn(|| other.install(at_once));
            (one.install(at_once), b.join().expect("second evaluation"))
        });
        // Both finished only when the later did.
        both.push(a.max(b));
        settle(&two);
        split.push(two.install(run));
    }
    let ratios = |over: &[f64], k: f64| -> Vec<f64> {
        let mut r: Vec<f64> = alone.iter().zip(over).map(|(a, o)| k * a / o).collect();
        r.sort_by(f64::total_cmp);
        r
    };
    let (bound, speedup) = (ratios(&both, 2.0), ratios(&split, 1.0));
    let q = |v: &[f64], f: usize| v[(v.len() - 1) * f / 4];
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        q(&v, 2)
    };
    println!(
        "{} {} {} {} {} {} {} {} {}",
        median(&alone),
        median(&both),
        median(&split),
        q(&bound, 1),
        q(&bound, 2),
        q(&bound, 3),
        q(&speedup, 1),
        q(&speedup, 2),
        q(&speedup, 3)
    );
}

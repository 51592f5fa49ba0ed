//! Limits that hold for a whole call and a whole run: native helpers on big inputs,
//! the operation count, and the built-in pack on big messy estates.

use crate::support::{run_with, Run};
use serde_json::Value;
use std::fmt::Write;
use std::time::Duration;

/// Generous: proves a run does not hang, not how fast it is.
const NO_HANG: Duration = Duration::from_secs(60);

/// For runs with `--timeout 2`: ten times that, so a loaded machine cannot fail the
/// test, while a helper that ignores the deadline (minutes on these inputs) does.
const PAST_DEADLINE: Duration = Duration::from_secs(20);

/// Writes an estate of `clients` clients, each given by `client(i)`, into `dir`.
fn estate(dir: &std::path::Path, clients: usize, client: impl Fn(usize) -> String) -> String {
    let mut text = String::with_capacity(clients * 80);
    text.push_str("[upgrade]\ntarget_version = \"10.6\"\nmethod = \"in-place\"\n\n");
    text.push_str("[[servers]]\nname = \"osce\"\nrole = \"upgrade\"\nversion = \"10.5\"\n\n");
    for i in 0..clients {
        writeln!(text, "[[clients]]\n{}", client(i)).unwrap();
    }
    let path = dir.join("estate.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs `rule` alone on the estate at `path`, with `extra` flags, reporting as JSON.
fn check_alone(path: &str, rule: &str, extra: &[&str], limit: Duration) -> Run {
    let mut args = vec!["check", path, "--no-builtin", "--rules", rule];
    args.extend_from_slice(extra);
    args.extend(["--format", "json"]);
    run_with(&args, &[], limit)
}

/// The messages of the findings of `rule`, and the failures of the run.
fn outcome(report: &Value, rule: &str) -> (Vec<String>, Vec<Value>) {
    let messages = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    (messages, report["failures"].as_array().unwrap().clone())
}

#[test]
fn native_helpers_on_big_inputs_finish_or_stop_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let path = estate(dir.path(), 100_000, |i| {
        let extra = if i == 0 { "nmae = \"typo\"\n" } else { "" };
        format!("name = \"c{i}\"\n{extra}")
    });
    // (rule, what it reports when it finishes)
    for (name, expected) in [
        ("has-words", "has_words: false"),
        ("closest", "closest: "),
        ("select", "select: 100000"),
        ("schema", "schema: 1"),
    ] {
        let rule = format!("tests/data/slow-helpers/{name}.rhai");
        let args = [
            "check",
            &path,
            "--no-builtin",
            "--rules",
            &rule,
            "--timeout",
            "2",
            "--format",
            "json",
        ];
        let Run { json, stdout, .. } = run_with(&args, &[], PAST_DEADLINE);
        assert!(json.is_object(), "{name}: {stdout}");
        let id = format!("slow-helpers/{name}");
        let (messages, failures) = outcome(&json, &id);
        // Well under a second on an idle machine; a loaded one may reach the deadline.
        match failures.as_slice() {
            [] => assert_eq!(messages, [expected], "{name}"),
            [f] => assert!(
                f["kind"] == "rule-limit" && f["message"].as_str().unwrap().contains("2s time"),
                "{name}: {f}"
            ),
            _ => panic!("{name}: {failures:?}"),
        }
    }
    // Too much work even in linear time: stopped inside the helper, as a limit. Its
    // 102,500,000 units of charged work pass an operation budget just under that on
    // any machine; the deadline alone was a race once word search got fast.
    let rule = "tests/data/slow-helpers/has-many-words.rhai";
    let extra = ["--max-operations", "100000000", "--timeout", "2"];
    let Run { json, code, .. } = check_alone(&path, rule, &extra, PAST_DEADLINE);
    assert_eq!(code, 2);
    let (messages, failures) = outcome(&json, "slow-helpers/has-many-words");
    assert!(messages.is_empty());
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["kind"], "rule-limit");
    assert_eq!(failures[0]["file"], rule);
}

#[test]
fn the_operation_limit_stops_runaway_rules_the_same_way_on_any_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let path = estate(dir.path(), 1_000, |i| format!("name = \"c{i}\"\n"));
    // An interpreted loop, and native work the interpreter does not count.
    for rule in [
        "tests/data/hostile/loop.rhai",
        "tests/data/slow-helpers/has-many-words.rhai",
    ] {
        let failures: Vec<Value> = ["1", "2"]
            .iter()
            .map(|jobs| {
                let extra = [
                    "--max-operations",
                    "100000",
                    "--timeout",
                    "600",
                    "--jobs",
                    jobs,
                ];
                let Run { json, code, .. } = check_alone(&path, rule, &extra, NO_HANG);
                assert_eq!(code, 2, "{rule}");
                json["failures"].clone()
            })
            .collect();
        assert_eq!(
            failures[0], failures[1],
            "{rule}: --jobs changed the result"
        );
        let only = failures[0].as_array().unwrap();
        assert_eq!(only.len(), 1, "{rule}: {only:?}");
        assert_eq!(only[0]["kind"], "rule-limit");
        let message = only[0]["message"].as_str().unwrap();
        assert!(
            message.contains("exceeded the limit of 100000 operations"),
            "{rule}: {message}"
        );
    }
}

/// About 30 s in a debug build on a loaded 2-core machine, most of it the 200,000
/// findings: the size is the point (the rule used to fail from about 28,000 clients).
#[test]
fn the_built_in_pack_reports_every_bad_value_of_a_big_messy_estate() {
    let dir = tempfile::tempdir().unwrap();
    let path = estate(dir.path(), 100_000, |i| {
        format!(
            "name = \"ws-{i}\"\nserver = \"osce\"\narch = \"amd{i}\"\nscan_method = \"fast{i}\"\n"
        )
    });
    let args = ["check", &path, "--format", "json"];
    let Run { json, stdout, .. } = run_with(&args, &[], Duration::from_secs(300));
    assert!(json.is_object(), "{}", &stdout[..stdout.len().min(2000)]);
    let (messages, failures) = outcome(&json, "officescan/invalid-value");
    assert!(failures.is_empty(), "{failures:?}");
    let paths: std::collections::BTreeSet<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "officescan/invalid-value")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 200_000);
    assert_eq!(paths.len(), 200_000, "one finding per bad value");
    assert!(paths.contains(r#"clients["ws-99999"].scan_method"#));
    assert!(messages.contains(&"`arch` must be one of x86, x64, ia64, not `amd7`".to_string()));
}

#[test]
fn a_rule_past_the_memory_budget_fails_alone_and_everything_else_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = estate(dir.path(), 10, |i| format!("name = \"c{i}\"\n"));
    for jobs in ["1", "2"] {
        let args = [
            "check",
            &path,
            "--rules",
            "tests/data/memory",
            "--max-memory",
            "268435456",
            "--jobs",
            jobs,
            "--format",
            "json",
        ];
        let Run { json, code, .. } = run_with(&args, &[], NO_HANG);
        assert_eq!(code, 2);
        let failures = json["failures"].as_array().unwrap();
        let mut failed: Vec<&str> = failures
            .iter()
            .map(|f| {
                assert_eq!(f["kind"], "rule-limit", "{f}");
                let m = f["message"].as_str().unwrap();
                assert!(m.contains("exceeded the memory budget of 256 MiB"), "{m}");
                f["file"].as_str().unwrap()
            })
            .collect();
        failed.sort();
        assert_eq!(
            failed,
            [
                "tests/data/memory/fail-loop.rhai",
                "tests/data/memory/map-keys.rhai"
            ]
        );
        // Nothing the failed calls reported is kept; the built-in pack still reports.
        let rules: Vec<&str> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(!rules.iter().any(|r| r.starts_with("memory/")), "{rules:?}");
        assert!(rules.iter().any(|r| r.starts_with("officescan/")));
    }
}

#[test]
fn a_replace_that_would_build_a_terabyte_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = estate(dir.path(), 10, |i| format!("name = \"c{i}\"\n"));
    let rule = "tests/data/size/replace.rhai";
    let args = [
        "check",
        &path,
        "--no-builtin",
        "--rules",
        rule,
        "--format",
        "json",
    ];
    let Run { json, code, .. } = run_with(&args, &[], NO_HANG);
    assert_eq!(code, 2);
    let (messages, failures) = outcome(&json, "size/replace");
    assert!(messages.is_empty());
    assert_eq!(failures.len(), 1, "{failures:?}");
    let message = failures[0]["message"].as_str().unwrap();
    assert!(
        message.contains("exceeded a size limit: Length of string"),
        "{message}"
    );
}

/// Filters over at least 16,384 entries are tested in parts on all threads before a
/// loop uses them: the answers, their order, and where a limit stops the call are
/// those of one thread testing one entry at a time.
#[test]
fn filters_split_between_threads_answer_and_stop_as_one_thread_does() {
    let dir = tempfile::tempdir().unwrap();
    let clients = 40_000;
    let path = estate(dir.path(), clients, |i| {
        let os = if i % 7 == 0 { "Win98 SE" } else { "Windows 7" };
        let arch = ["x86", "x64", "ia64"][i % 3];
        format!("name = \"c{i}\"\nos = \"{os}\"\narch = \"{arch}\"\n")
    });
    let check = |rule: &str, jobs: &str, ops: &str| {
        check_alone(
            &path,
            rule,
            &["--jobs", jobs, "--max-operations", ops],
            NO_HANG,
        )
    };
    let found = |json: &Value, rule: &str| -> Vec<(String, String)> {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| {
                let m = f["message"].as_str().unwrap().to_string();
                (f["path"].as_str().unwrap().to_string(), m)
            })
            .collect()
    };
    let split = check("tests/data/split/select.rhai", "2", "100000000");
    let serial = check("tests/data/split/loop.rhai", "1", "100000000");
    let (a, b) = (
        found(&split.json, "split/select"),
        found(&serial.json, "split/loop"),
    );
    let legacy = (0..clients).filter(|i| i % 7 == 0 && i % 3 != 1).count();
    assert_eq!(a.len(), legacy + 1, "{}", split.stdout);
    assert_eq!(a, b, "the split filter and the plain loop disagree");
    let seven = (0..clients).filter(|i| i % 3 == 2 && i % 7 != 0).count();
    let counts = format!("ia64: {}, on Windows 7: {seven}", clients / 3);
    assert!(a.contains(&(String::new(), counts)), "{a:?}");
    assert_eq!(
        split.stdout,
        check("tests/data/split/select.rhai", "1", "100000000").stdout,
        "--jobs changed the output"
    );
    // A budget the first filter's 40,000 entries exceed: no finding, and the same
    // failure on one thread and on two.
    let stopped: Vec<Run> = ["1", "2"]
        .iter()
        .map(|jobs| check("tests/data/split/select.rhai", jobs, "30000"))
        .collect();
    for run in &stopped {
        assert_eq!(run.code, 2, "{}", run.stdout);
        let (messages, failures) = outcome(&run.json, "split/select");
        assert!(messages.is_empty(), "{messages:?}");
        assert_eq!(failures.len(), 1, "{failures:?}");
        let message = failures[0]["message"].as_str().unwrap();
        assert!(message.contains("limit of 30000 operations"), "{message}");
    }
    assert_eq!(stopped[0].json, stopped[1].json);
}

//! CLI behaviour as data: each case in `tests/cli-cases.toml` gives the arguments, the
//! exit code, and text stdout and stderr must (or must not) contain.

use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    args: Vec<String>,
    status: i32,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    not_stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    stdout_is_json: bool,
}

#[test]
fn cli_cases() {
    let text = std::fs::read_to_string("tests/cli-cases.toml").unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 10, "the case file lost its cases");
    let mut problems = Vec::new();
    for c in &cases.case {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let out = crate::support::run(&args);
        let (stdout, stderr) = (&out.stdout, &out.stderr);
        let mut fail = |what: String| {
            problems.push(format!(
                "[{}] {what}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                c.name
            ))
        };
        if out.code != c.status {
            fail(format!("exit code {}, expected {}", out.code, c.status));
        }
        for s in &c.stdout {
            if !stdout.contains(s.as_str()) {
                fail(format!("stdout lacks {s:?}"));
            }
        }
        for s in &c.not_stdout {
            if stdout.contains(s.as_str()) {
                fail(format!("stdout has {s:?}"));
            }
        }
        for s in &c.stderr {
            if !stderr.contains(s.as_str()) {
                fail(format!("stderr lacks {s:?}"));
            }
        }
        if c.stdout_is_json {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(stdout) {
                fail(format!("stdout is not JSON: {e}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

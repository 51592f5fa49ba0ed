//! Running the `preflight` binary from tests: one helper that returns everything a test
//! may assert on, and kills a run that outlives its limit.

use serde_json::Value;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    /// stdout parsed as JSON, or `Null` when it is not JSON.
    pub json: Value,
}

/// No test run may take longer than this, whatever it does.
const LIMIT: Duration = Duration::from_secs(120);

/// Runs the binary with `args` and `NO_COLOR=1`.
pub fn run(args: &[&str]) -> Run {
    run_with(args, &[], LIMIT)
}

/// Runs the binary with extra environment variables; a run that outlives `limit` is
/// killed and fails the test.
pub fn run_with(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    run_full(None, args, env, limit)
}

fn run_full(
    dir: Option<&std::path::Path>,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_preflight"));
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command
        .args(args)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("{args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = stdout.join().unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    Run {
        stdout,
        stderr: stderr.join().unwrap(),
        code: status.code().unwrap_or(-1),
        json,
    }
}

/// Runs the binary in directory `dir`.
pub fn run_in(dir: &std::path::Path, args: &[&str]) -> Run {
    run_full(Some(dir), args, &[], LIMIT)
}

/// Runs git in `dir` as a throwaway identity; fails the test when git does. Returns
/// stdout, trimmed.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Writes `text` as the site rule `file` in `dir/site/` (made when missing); returns
/// that folder, to pass as `--rules`.
pub fn site_rule(dir: &std::path::Path, file: &str, text: &str) -> std::path::PathBuf {
    let rules = dir.join("site");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join(file), text).unwrap();
    rules
}

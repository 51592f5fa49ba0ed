//! Resolving what a run does: flags over `preflight.toml` over defaults, decided here
//! and nowhere else. The pipeline takes the resolved [`Settings`] and nothing more.

use crate::config::{self, Config, Levels};
use crate::engine::Limits;
use crate::files;
use crate::gate::{date::Date, waivers};
use crate::report::{Failure, FailureKind, Severity};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the command line said, unvalidated: `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub paths: Vec<PathBuf>,
    /// `--config FILE`; with `no_config` false and no file, `preflight.toml` is looked up.
    pub config: Option<PathBuf>,
    pub no_config: bool,
    /// Where to look for `preflight.toml` (default: the current directory).
    pub config_start: Option<PathBuf>,
    pub rule_dirs: Vec<PathBuf>,
    pub no_builtin: bool,
    pub jobs: Option<usize>,
    pub timeout: Option<f64>,
    pub max_operations: Option<u64>,
    pub max_memory: Option<u64>,
    pub max_file_size: Option<u64>,
    /// `--deny`: the lowest failing severity.
    pub fail_on: Option<Severity>,
    pub today: Option<String>,
    pub verbose: bool,
    pub baseline: Option<PathBuf>,
    pub write_baseline: Option<PathBuf>,
    pub progress: bool,
    /// The repository root (default: git's top level, else the current directory).
    pub root: Option<PathBuf>,
    /// `--ignore-waivers`: validate waivers, apply none.
    pub ignore_waivers: bool,
    /// `--select`: rule ids or `pack/*` to run (empty: all).
    pub select: Vec<String>,
    /// `--ignore`: rule ids or `pack/*` to skip.
    pub ignore: Vec<String>,
}

/// Which walked files are estates: `include` and `exclude` globs of `preflight.toml`,
/// matched against paths relative to the directory holding it.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub base: PathBuf,
    pub include: Option<globset::GlobSet>,
    pub exclude: Option<globset::GlobSet>,
}

impl Scope {
    pub fn keeps(&self, path: &Path) -> bool {
        let rel = crate::files::relative_to(&self.base, path);
        self.include.as_ref().is_none_or(|g| g.is_match(&rel))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(&rel))
    }
}

/// Everything a run needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Estate files and directories to check.
    pub paths: Vec<PathBuf>,
    pub rule_dirs: Vec<PathBuf>,
    pub builtin: bool,
    /// Worker threads; `None` is every core.
    pub jobs: Option<usize>,
    pub limits: Limits,
    pub max_file_size: u64,
    /// Rules' print/debug output goes to stderr.
    pub verbose: bool,
    /// Per-rule levels from `preflight.toml`.
    pub levels: Levels,
    /// The lowest severity that fails the run.
    pub fail_on: Severity,
    /// The date waivers expire against.
    pub today: Date,
    /// Findings recorded here are existing, not failing.
    pub baseline: Option<PathBuf>,
    /// Where to record this run's findings.
    pub write_baseline: Option<PathBuf>,
    /// Show a progress bar on stderr for long runs.
    pub progress: bool,
    /// The repository root: files are named relative to it in fingerprints,
    /// baselines and SARIF.
    pub root: PathBuf,
    /// How far ahead a waiver may expire.
    pub max_waiver_days: i64,
    /// Waivers are validated but hide nothing.
    pub ignore_waivers: bool,
    /// Rule ids or `pack/*` patterns to run; empty runs every rule.
    pub select: Vec<String>,
    /// Rule ids or `pack/*` patterns to skip.
    pub ignore: Vec<String>,
    /// Which files found in directories are estates.
    pub scope: Scope,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            paths: Vec::new(),
            rule_dirs: Vec::new(),
            builtin: true,
            jobs: None,
            limits: Limits::default(),
            max_file_size: files::DEFAULT_MAX_FILE_SIZE,
            verbose: false,
            levels: Levels::default(),
            fail_on: Severity::Error,
            today: Date::today(),
            baseline: None,
            write_baseline: None,
            progress: false,
            root: PathBuf::from("."),
            max_waiver_days: waivers::DEFAULT_MAX_DAYS,
            ignore_waivers: false,
            select: Vec::new(),
            ignore: Vec::new(),
            scope: Scope::default(),
        }
    }
}

impl Settings {
    /// Resolves `flags` over the config file they select over the defaults. Every
    /// problem (a bad flag, a broken config) comes back as a failure of the run; the
    /// settings are still usable, with defaults where a value was bad.
    pub fn resolve(flags: &Flags) -> (Settings, Vec<Failure>) {
        let mut failures = Vec::new();
        let file = config_file(flags);
        let config = match &file {
            Some(path) => {
                let (config, problems) = config::load(path);
                failures.extend(problems);
                config
            }
            None => Config::default(),
        };
        let base = file
            .as_ref()
            .and_then(|f| f.parent())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let globs = |patterns: &[String]| {
            if patterns.is_empty() {
                return None;
            }
            let mut set = globset::GlobSetBuilder::new();
            for p in patterns {
                // Patterns were checked when the config was read.
                if let Ok(g) = globset::Glob::new(p) {
                    set.add(g);
                }
            }
            set.build().ok()
        };
        let scope = Scope {
            include: globs(&config.include),
            exclude: globs(&config.exclude),
            base: base.clone(),
        };
        // With no path, `check` checks where the config says estates are, or here.
        let paths = if flags.paths.is_empty() {
            vec![if config.include.is_empty() {
                PathBuf::from(".")
            } else {
                base
            }]
        } else {
            flags.paths.clone()
        };
        let flag_problem = |flag: &str, message: String| {
            Failure::unlocated(FailureKind::Config, format!("--{flag}"), message)
        };
        let mut limits = config.limits(Limits::default());
        if let Some(t) = flags.timeout {
            if t.is_finite() && t > 0.0 {
                limits.timeout = Duration::from_secs_f64(t);
            } else {
                failures.push(flag_problem(
                    "timeout",
                    format!("--timeout must be a positive number of seconds, not {t}"),
                ));
            }
        }
        match flags.max_operations {
            Some(0) => failures.push(flag_problem(
                "max-operations",
                "--max-operations must be a positive number".into(),
            )),
            Some(n) => limits.max_operations = n,
            None => {}
        }
        match flags.max_memory {
            Some(0) => failures.push(flag_problem(
                "max-memory",
                "--max-memory must be a positive number of bytes".into(),
            )),
            Some(n) => limits.memory = n,
            None => {}
        }
        let today = match &flags.today {
            Some(d) => Date::parse(d).unwrap_or_else(|| {
                failures.push(flag_problem(
                    "today",
                    format!("--today takes a date such as 2027-01-31, not `{d}`"),
                ));
                Date::today()
            }),
            None => Date::today(),
        };
        // 0 is every core.
        let most = most_jobs();
        let jobs = match flags.jobs {
            Some(0) | None => None,
            Some(n) if n > most => {
                failures.push(flag_problem(
                    "jobs",
                    format!("--jobs {n} is more than {most} (0 means every core)"),
                ));
                None
            }
            Some(n) => Some(n),
        };
        let mut rule_dirs = config.rule_dirs.clone();
        rule_dirs.extend(flags.rule_dirs.iter().cloned());
        let settings = Settings {
            paths,
            rule_dirs,
            builtin: !flags.no_builtin && config.builtin.unwrap_or(true),
            jobs,
            limits,
            max_file_size: flags
                .max_file_size
                .or(config.max_file_size)
                .unwrap_or(files::DEFAULT_MAX_FILE_SIZE),
            verbose: flags.verbose,
            levels: config.levels,
            fail_on: flags.fail_on.or(config.fail_on).unwrap_or(Severity::Error),
            today,
            baseline: flags.baseline.clone(),
            write_baseline: flags.write_baseline.clone(),
            progress: flags.progress,
            root: flags.root.clone().unwrap_or_else(|| {
                let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                files::repository_root(&cwd)
            }),
            max_waiver_days: config.max_waiver_days.unwrap_or(waivers::DEFAULT_MAX_DAYS),
            ignore_waivers: flags.ignore_waivers,
            select: flags.select.clone(),
            ignore: flags.ignore.clone(),
            scope,
        };
        (settings, failures)
    }
}

/// The config file `flags` select: `--config`, else `preflight.toml` found upward.
fn config_file(flags: &Flags) -> Option<PathBuf> {
    if let Some(p) = &flags.config {
        return Some(p.clone());
    }
    if flags.no_config {
        return None;
    }
    // Like ruff: from the first estate's directory upward, so running from outside
    // the repository still finds its config.
    let first = flags.paths.first().filter(|p| p.as_os_str() != "-");
    let start = match (&flags.config_start, first) {
        (Some(s), _) => s.clone(),
        (None, Some(p)) if p.is_dir() => p.clone(),
        (None, Some(p)) => p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        (None, None) => std::env::current_dir().ok()?,
    };
    config::discover(Path::new(&start))
}

/// The most threads `--jobs` may ask for: past a few per core, threads only cost memory.
pub fn most_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (4 * cores).max(256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(config::FILE_NAME);
        std::fs::write(
            &path,
            "fail_on = \"note\"\n[limits]\ntimeout = 3\nmax_operations = 7\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(path.clone()),
            fail_on: Some(Severity::Warning),
            max_operations: Some(9),
            ..Flags::default()
        };
        let (s, failures) = Settings::resolve(&flags);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(s.fail_on, Severity::Warning);
        assert_eq!(s.limits.timeout, Duration::from_secs(3));
        assert_eq!(s.limits.max_operations, 9);
        let (s, _) = Settings::resolve(&Flags {
            config: Some(path),
            ..Flags::default()
        });
        assert_eq!(s.fail_on, Severity::Note);
    }

    #[test]
    fn bad_flags_are_failures_of_the_run() {
        let (_, failures) = Settings::resolve(&Flags {
            no_config: true,
            timeout: Some(-1.0),
            max_operations: Some(0),
            today: Some("tomorrow".into()),
            ..Flags::default()
        });
        let files: Vec<&str> = failures.iter().map(|f| f.file.as_str()).collect();
        assert_eq!(files, ["--timeout", "--max-operations", "--today"]);
    }
}

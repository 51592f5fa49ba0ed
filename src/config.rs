//! `preflight.toml`: extra rule directories, per-rule levels, the failing level and
//! limits. Looked up in the current directory and its parents unless `--config` names
//! one. Every problem is collected as a located failure before the run gives up.

use crate::engine::Limits;
use crate::estate::{self, doc::Value, Doc, NodeId, Source, ROOT};
use crate::files;
use crate::report::{Failure, FailureKind, Severity};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const FILE_NAME: &str = "preflight.toml";

/// The keys of `[limits]`.
pub const LIMIT_KEYS: &[&str] = &[
    "timeout",
    "max_operations",
    "memory",
    "max_call_levels",
    "max_expr_depth",
    "max_string_size",
    "max_array_size",
    "max_map_size",
    "max_file_size",
];

/// The top-level keys `preflight.toml` accepts.
pub const TOP_KEYS: &[&str] = &[
    "rule_dirs",
    "builtin",
    "fail_on",
    "rules",
    "limits",
    "max_waiver_days",
    "include",
    "exclude",
    "overrides",
];

/// What a `[rules]` entry does to a rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Drop the findings.
    Allow,
    /// Report them as warnings.
    Warn,
    /// Report them as errors.
    Deny,
}

/// A `[rules]` entry: a rule id or `pack/*`, where it was written, and its level.
#[derive(Debug, Clone)]
pub struct LevelEntry {
    pub pattern: String,
    pub level: Level,
    pub span: std::ops::Range<usize>,
}

/// The `[rules]` table: levels per rule id or pack, and the file they were written in;
/// `[[overrides]]` set levels for the estates their `files` globs match.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    pub source: Option<Arc<Source>>,
    pub entries: Vec<LevelEntry>,
    pub overrides: Vec<Override>,
}

/// One `[[overrides]]` entry: levels for the files its globs match.
#[derive(Debug, Clone)]
pub struct Override {
    pub files: globset::GlobSet,
    pub entries: Vec<LevelEntry>,
}

/// The level `entries` give `rule`: an exact id wins over `pack/*`, which wins over `*`.
fn pick(entries: &[LevelEntry], rule: &str) -> Option<Level> {
    let exact = entries.iter().find(|e| e.pattern == rule);
    let pack = entries.iter().find(|e| {
        e.pattern
            .strip_suffix("/*")
            .is_some_and(|p| rule.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
    });
    let all = entries.iter().find(|e| e.pattern == "*");
    exact.or(pack).or(all).map(|e| e.level)
}

/// The settings a config file can make.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub source: Option<Arc<Source>>,
    pub rule_dirs: Vec<PathBuf>,
    pub builtin: Option<bool>,
    pub fail_on: Option<Severity>,
    pub levels: Levels,
    pub timeout: Option<Duration>,
    pub max_operations: Option<u64>,
    pub memory: Option<u64>,
    pub max_call_levels: Option<usize>,
    pub max_expr_depth: Option<usize>,
    pub max_string_size: Option<usize>,
    pub max_array_size: Option<usize>,
    pub max_map_size: Option<usize>,
    pub max_file_size: Option<u64>,
    pub max_waiver_days: Option<i64>,
    /// Globs of the estates `check` takes from directories (empty: every `*.toml`).
    pub include: Vec<String>,
    /// Globs of files never taken as estates.
    pub exclude: Vec<String>,
}

impl Levels {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The level for `rule`: an exact id wins over a `pack/*` pattern.
    pub fn level_of(&self, rule: &str) -> Option<Level> {
        pick(&self.entries, rule)
    }

    /// The level for `rule` in `file` (repository-relative): the last override whose
    /// globs match the file and which names the rule wins over `[rules]`.
    pub fn level_in(&self, rule: &str, file: &str) -> Option<Level> {
        self.overrides
            .iter()
            .rev()
            .filter(|o| o.files.is_match(file))
            .find_map(|o| pick(&o.entries, rule))
            .or_else(|| self.level_of(rule))
    }

    /// Failures for `[rules]` entries naming no loaded rule or pack.
    pub fn check_rule_ids(&self, ids: &[&str]) -> Vec<Failure> {
        let Some(src) = &self.source else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in self
            .entries
            .iter()
            .chain(self.overrides.iter().flat_map(|o| o.entries.iter()))
        {
            let known = e.pattern == "*"
                || ids.contains(&e.pattern.as_str())
                || e.pattern
                    .strip_suffix("/*")
                    .is_some_and(|p| ids.iter().any(|id| id.starts_with(&format!("{p}/"))));
            if !known {
                let hint = crate::suggest::closest(&e.pattern, ids.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                out.push(Failure::located(
                    FailureKind::Config,
                    src,
                    e.span.clone(),
                    format!(
                        "`[rules]` names `{}`, which is no known rule or pack{hint}",
                        e.pattern
                    ),
                ));
            }
        }
        out
    }
}

impl Config {
    /// Applies the config's limits over `limits`.
    pub fn limits(&self, mut limits: Limits) -> Limits {
        if let Some(t) = self.timeout {
            limits.timeout = t;
        }
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { limits.$f = v; })* };
        }
        set!(
            max_operations,
            memory,
            max_call_levels,
            max_expr_depth,
            max_string_size,
            max_array_size,
            max_map_size
        );
        limits
    }
}

/// Finds `preflight.toml` in `start` or one of its parents.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// Reads and validates a config file. All problems come back together, with the
/// settings that could be read (so `[rules]` ids are still checked against the rules).
pub fn load(path: &Path) -> (Config, Vec<Failure>) {
    let source = match files::read_text(path) {
        Ok(s) => Arc::new(s),
        Err(f) => return (Config::default(), vec![*f]),
    };
    let doc = match estate::parse(source.clone()) {
        Ok(doc) => doc,
        Err(errs) => {
            let problems = errs
                .into_iter()
                .map(|e| Failure::located(FailureKind::Config, &source, e.span, e.message))
                .collect();
            return (Config::default(), problems);
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    Reader {
        doc: &doc,
        source: &source,
        problems: Vec::new(),
    }
    .read(base)
}

struct Reader<'a> {
    doc: &'a Doc,
    source: &'a Arc<Source>,
    problems: Vec<Failure>,
}

impl Reader<'_> {
    /// A problem with the value of node `id`.
    fn problem(&mut self, id: NodeId, message: String) {
        self.located(self.doc.span(id), message);
    }

    /// A problem with the key of node `id` (an unknown key).
    fn key_problem(&mut self, id: NodeId, message: String) {
        self.located(self.doc.key_span(id), message);
    }

    fn located(&mut self, span: std::ops::Range<usize>, message: String) {
        let failure = Failure::located(FailureKind::Config, self.source, span, message);
        self.problems.push(failure);
    }

    fn entries(&self, id: NodeId) -> Vec<(String, NodeId)> {
        match self.doc.value(id) {
            Value::Table(t) => t.iter().map(|(k, v)| (k.to_string(), v)).collect(),
            _ => Vec::new(),
        }
    }

    fn int(&mut self, id: NodeId, key: &str) -> Option<u64> {
        match self.doc.value(id) {
            Value::Int(i) if i > 0 => Some(i as u64),
            _ => {
                self.problem(id, format!("`{key}` must be a positive integer"));
                None
            }
        }
    }

    fn read(mut self, base: &Path) -> (Config, Vec<Failure>) {
        let mut config = Config {
            source: Some(self.source.clone()),
            levels: Levels {
                source: Some(self.source.clone()),
                entries: Vec::new(),
                overrides: Vec::new(),
            },
            ..Config::default()
        };
        for (key, id) in self.entries(ROOT) {
            match key.as_str() {
                "rule_dirs" => match self.doc.value(id) {
                    Value::Array(items) => {
                        for item in items.iter() {
                            match self.doc.str_of(*item) {
                                Some(dir) => config.rule_dirs.push(base.join(dir)),
                                None => self.problem(
                                    *item,
                                    "`rule_dirs` holds directory names as strings".into(),
                                ),
                            }
                        }
                    }
                    _ => self.problem(id, "`rule_dirs` must be an array of directory names".into()),
                },
                "builtin" => match self.doc.value(id) {
                    Value::Bool(b) => config.builtin = Some(b),
                    _ => self.problem(id, "`builtin` must be true or false".into()),
                },
                "fail_on" => match self.doc.str_of(id).and_then(Severity::parse) {
                    Some(s) => config.fail_on = Some(s),
                    None => self.problem(
                        id,
                        "`fail_on` must be \"error\", \"warning\" or \"note\"".into(),
                    ),
                },
                "rules" => config.levels.entries = self.level_entries(id),
                "overrides" => self.read_overrides(id, &mut config),
                "limits" => self.read_limits(id, &mut config),
                "include" | "exclude" => {
                    let globs = self.globs(id, &key);
                    if key == "include" {
                        config.include = globs;
                    } else {
                        config.exclude = globs;
                    }
                }
                "max_waiver_days" => {
                    config.max_waiver_days = self.int(id, "max_waiver_days").map(|d| d as i64)
                }
                other => {
                    let hint = crate::suggest::closest(other, TOP_KEYS.iter().copied())
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    self.key_problem(id, format!("unknown key `{other}`{hint}"));
                }
            }
        }
        (config, self.problems)
    }

    /// A `rules` table: rule id or pattern = level.
    fn level_entries(&mut self, id: NodeId) -> Vec<LevelEntry> {
        if self.doc.type_name(id) != "table" {
            self.problem(id, "`rules` must be a table of rule id = level".into());
        }
        let mut out = Vec::new();
        for (rule, level_id) in self.entries(id) {
            let level = match self.doc.str_of(level_id) {
                Some("allow") => Level::Allow,
                Some("warn") => Level::Warn,
                Some("deny") => Level::Deny,
                _ => {
                    self.problem(
                        level_id,
                        format!("the level of `{rule}` must be \"allow\", \"warn\" or \"deny\""),
                    );
                    continue;
                }
            };
            out.push(LevelEntry {
                pattern: rule,
                level,
                span: self.doc.key_span(level_id),
            });
        }
        out
    }

    /// `[[overrides]]`: each with `files` globs and a `rules` table.
    fn read_overrides(&mut self, id: NodeId, config: &mut Config) {
        if self.doc.type_name(id) != "array" {
            self.problem(id, "`overrides` must be `[[overrides]]` tables".into());
            return;
        }
        for item in self.doc.children(id) {
            let (mut files, mut entries) = (None, Vec::new());
            for (key, v) in self.entries(item) {
                match key.as_str() {
                    "files" => files = Some(self.globs(v, "files")),
                    "rules" => entries = self.level_entries(v),
                    other => self.key_problem(
                        v,
                        format!(
                            "unknown key `overrides.{other}`: an override has `files` and `rules`"
                        ),
                    ),
                }
            }
            let Some(globs) = files.filter(|g| !g.is_empty()) else {
                self.problem(
                    item,
                    "an override needs `files`, globs of the estates it covers".into(),
                );
                continue;
            };
            let mut set = globset::GlobSetBuilder::new();
            for g in &globs {
                if let Ok(glob) = globset::Glob::new(g) {
                    set.add(glob);
                }
            }
            if let Ok(files) = set.build() {
                config.levels.overrides.push(Override { files, entries });
            }
        }
    }

    /// An array of glob strings; each bad one is a located problem.
    fn globs(&mut self, id: NodeId, key: &str) -> Vec<String> {
        let Value::Array(items) = self.doc.value(id) else {
            self.problem(
                id,
                format!("`{key}` must be an array of globs such as \"estates/**/*.toml\""),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match self
                .doc
                .str_of(*item)
                .map(|s| (s.to_string(), globset::Glob::new(s)))
            {
                Some((text, Ok(_))) => out.push(text),
                Some((_, Err(e))) => self.problem(*item, format!("not a glob: {}", e.kind())),
                None => self.problem(*item, format!("`{key}` holds globs as strings")),
            }
        }
        out
    }

    fn read_limits(&mut self, id: NodeId, config: &mut Config) {
        for (key, v) in self.entries(id) {
            match key.as_str() {
                "timeout" => match self.doc.value(v) {
                    Value::Int(i) if i > 0 => config.timeout = Some(Duration::from_secs(i as u64)),
                    Value::Float(x) if x > 0.0 && x.is_finite() => {
                        config.timeout = Some(Duration::from_secs_f64(x))
                    }
                    _ => self.problem(v, "`timeout` must be a positive number of seconds".into()),
                },
                "max_operations" => config.max_operations = self.int(v, &key),
                "memory" => config.memory = self.int(v, &key),
                "max_call_levels" => config.max_call_levels = self.int(v, &key).map(|n| n as usize),
                "max_expr_depth" => config.max_expr_depth = self.int(v, &key).map(|n| n as usize),
                "max_string_size" => config.max_string_size = self.int(v, &key).map(|n| n as usize),
                "max_array_size" => config.max_array_size = self.int(v, &key).map(|n| n as usize),
                "max_map_size" => config.max_map_size = self.int(v, &key).map(|n| n as usize),
                "max_file_size" => config.max_file_size = self.int(v, &key),
                other => {
                    let hint = crate::suggest::closest(other, LIMIT_KEYS.iter().copied())
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    self.key_problem(v, format!("unknown key `limits.{other}`{hint}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Vec<Failure>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, text).unwrap();
        match load(&path) {
            (c, problems) if problems.is_empty() => Ok(c),
            (_, problems) => Err(problems),
        }
    }

    #[test]
    fn reads_levels_and_limits() {
        let c = parse("fail_on = \"warning\"\n[rules]\n\"p/*\" = \"warn\"\n\"p/x\" = \"allow\"\n[limits]\ntimeout = 2.5\n").unwrap();
        assert_eq!(c.fail_on, Some(Severity::Warning));
        assert_eq!(c.levels.level_of("p/x"), Some(Level::Allow));
        assert_eq!(c.levels.level_of("p/y"), Some(Level::Warn));
        assert_eq!(c.levels.level_of("q/y"), None);
        assert_eq!(
            c.limits(Limits::default()).timeout,
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn collects_every_problem_located() {
        let errs = parse("fail_onn = 1\nbuiltin = \"yes\"\n[rules]\n\"p/x\" = \"block\"\n[limits]\ntimeout = -1\n").unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:#?}");
        assert!(errs.iter().all(|e| e.span.is_some()));
        assert!(errs[0].message.contains("did you mean `fail_on`"));
    }
}

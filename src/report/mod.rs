//! The findings model every layer shares: findings, failures, the report of a run,
//! their one canonical order, counts, exit code and fingerprints. Renderers live in
//! `output`; nothing here knows a format.

mod fingerprint;
pub mod own;

pub use fingerprint::fingerprint_of;

use crate::estate::Source;
use serde::Serialize;
use std::ops::Range;
use std::sync::Arc;

/// How bad a finding is. Ordered: `Note < Warning < Error`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    #[default]
    Error,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "note" => Some(Severity::Note),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A secondary label: a span in the same estate with its text.
#[derive(Debug, Clone)]
pub struct Label {
    pub span: Range<usize>,
    pub text: String,
}

/// One violation a rule reported against one estate.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Shared by every finding of the rule.
    pub rule: Arc<str>,
    pub severity: Severity,
    pub message: String,
    /// Shared by the findings of one call.
    pub help: Option<Arc<str>>,
    /// Position of the estate among the checked files, for ordering.
    pub file_index: usize,
    pub source: Arc<Source>,
    /// The file as fingerprints and baselines name it: relative to the repository
    /// root, `/`-separated (in a diff, the base stands for the head's file); shared by
    /// the file's findings.
    pub file: Arc<str>,
    /// Unique within a run; set when the report is sorted.
    pub fingerprint: String,
    pub path: String,
    pub span: Range<usize>,
    pub labels: Vec<Label>,
    /// The `fail(...)` call in the rule file.
    pub call_site: Option<(Arc<Source>, Range<usize>)>,
    /// The waiver that covers this finding, if any.
    pub waiver: Option<Box<Waiver>>,
    /// Against a baseline or a base estate: new or already there.
    pub status: Option<Status>,
    /// A machine-applicable edit of the estate that resolves this finding.
    pub fix: Option<Box<Fix>>,
    /// The readiness subject (a server, say) the finding counts against, by path.
    pub subject: Option<String>,
}

/// A rule said it applies to a subject of an estate (`applies(node)`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Applied {
    pub file_index: usize,
    pub subject: String,
    pub rule: String,
}

/// An edit a rule is certain of: applying every edit makes the finding go away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What the fix does, for listings and editor quick fixes.
    pub description: String,
    /// Non-overlapping, sorted by offset.
    pub edits: Vec<Edit>,
}

/// Replace `length` bytes at byte `offset` of the estate text with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub replacement: String,
    pub offset: usize,
    pub length: usize,
}

/// The waiver covering a finding, as the finding carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    pub reason: String,
    /// The waiver's `expires` date, `YYYY-MM-DD`.
    pub expires: String,
}

/// The counted handles every finding holds: its rule's name, its estate's source, and
/// the source's shared name.
pub type Counted = (Arc<str>, Arc<Source>, Arc<str>);

/// The [`Counted`] handles of a finding of `rule` in `source`.
pub fn counted(rule: Arc<str>, source: &Arc<Source>) -> Counted {
    (rule, source.clone(), source.name_shared())
}

impl Finding {
    /// A finding of `rule` on `span` of `source` (path `path`), not yet leveled,
    /// waived or compared.
    pub fn new(
        rule: impl Into<Arc<str>>,
        severity: Severity,
        message: impl Into<String>,
        source: &Arc<Source>,
        file_index: usize,
        (path, span): (String, Range<usize>),
    ) -> Self {
        let handles = counted(rule.into(), source);
        Finding::of(handles, severity, message, file_index, (path, span))
    }

    /// [`Finding::new`] from its counted handles (rule, source, the source's shared
    /// name), cloned by the caller: a run of findings clones them all at once.
    pub fn of(
        (rule, source, file): Counted,
        severity: Severity,
        message: impl Into<String>,
        file_index: usize,
        (path, span): (String, Range<usize>),
    ) -> Self {
        Finding {
            rule,
            severity,
            message: message.into(),
            help: None,
            file_index,
            source,
            file,
            fingerprint: String::new(),
            path,
            span,
            labels: Vec::new(),
            call_site: None,
            waiver: None,
            status: None,
            fix: None,
            subject: None,
        }
    }

    pub fn waived(&self) -> bool {
        self.waiver.is_some()
    }

    /// `file:line:column` of the primary label, for one-line listings.
    pub fn location(&self) -> String {
        let at = self.source.line_col(self.span.start);
        format!("{}:{}:{}", self.source.name(), at.line, at.column)
    }
}

/// Whether a finding is new against a baseline or base estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Existing,
}

/// A finding of the base (or baseline) that the checked estate no longer has.
#[derive(Debug, Clone, Serialize)]
pub struct Fixed {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub file: String,
    pub path: String,
    pub fingerprint: String,
}

/// What kind of thing went wrong, as named in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    Io,
    TomlSyntax,
    RuleHeader,
    RuleCompile,
    RuleRuntime,
    RuleLimit,
    Config,
    Baseline,
    UnsafePath,
    NothingToCheck,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Io => "io",
            FailureKind::TomlSyntax => "toml-syntax",
            FailureKind::RuleHeader => "rule-header",
            FailureKind::RuleCompile => "rule-compile",
            FailureKind::RuleRuntime => "rule-runtime",
            FailureKind::RuleLimit => "rule-limit",
            FailureKind::Config => "config",
            FailureKind::Baseline => "baseline",
            FailureKind::UnsafePath => "unsafe-path",
            FailureKind::NothingToCheck => "nothing-to-check",
        }
    }
}

/// Something that kept preflight from checking a file or running a rule.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    pub file: String,
    pub source: Option<Arc<Source>>,
    pub span: Option<Range<usize>>,
    pub message: String,
    /// Extra context lines, such as which estate a rule failed on.
    pub note: Option<String>,
}

impl Failure {
    pub fn located(
        kind: FailureKind,
        source: &Arc<Source>,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Failure {
            kind,
            file: source.name().to_string(),
            source: Some(source.clone()),
            span: Some(span),
            message: message.into(),
            note: None,
        }
    }

    pub fn unlocated(
        kind: FailureKind,
        file: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Failure {
            kind,
            file: file.into(),
            source: None,
            span: None,
            message: message.into(),
            note: None,
        }
    }

    /// `file:line:column` when located, else the file, for one-line listings.
    pub fn location(&self) -> String {
        match (&self.source, &self.span) {
            (Some(src), Some(span)) => {
                let at = src.line_col(span.start);
                format!("{}:{}:{}", self.file, at.line, at.column)
            }
            _ => self.file.clone(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Everything one run produced.
#[derive(Debug, Default)]
pub struct Report {
    pub files: usize,
    pub rules: usize,
    pub findings: Vec<Finding>,
    pub failures: Vec<Failure>,
    /// Set by `diff` and `--baseline`: findings then carry a new/existing status.
    pub comparison: Option<Comparison>,
    /// The lowest severity that fails the run.
    pub fail_on: Severity,
    /// Documentation of the rules that ran, for formats that describe them.
    pub rule_docs: Vec<RuleDoc>,
    /// Policy files the change under review touches (diff against a git base).
    pub policy_changes: Vec<PolicyChange>,
    /// The estates checked, as (position among inputs, name shown), in order.
    pub checked: Vec<(usize, String)>,
    /// The repository root files are named relative to, as an absolute path.
    pub root: String,
    /// Which rules applied to which readiness subjects, sorted.
    pub applied: Vec<Applied>,
}

/// A policy file (config or rule) the change adds, modifies or deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyChange {
    pub file: String,
    /// `added`, `modified` or `deleted`.
    pub change: String,
}

impl std::fmt::Display for PolicyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.change, self.file)
    }
}

/// What comparing with a base or baseline found beyond each finding's status.
#[derive(Debug, Default, Clone)]
pub struct Comparison {
    /// What the base had and this run has not.
    pub fixed: Vec<Fixed>,
}

/// What output formats say about a rule.
#[derive(Debug, Clone)]
pub struct RuleDoc {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub requirements: Vec<String>,
    pub description: String,
    pub help: String,
    /// The whole documentation, as Markdown.
    pub markdown: String,
}

/// Finding counts by severity, waived findings left out.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    pub waived: usize,
    /// Findings that make the run fail: not waived, at or above the failing level,
    /// and not already in the baseline or base.
    pub failing: usize,
    pub new: usize,
}

impl Report {
    /// Puts findings and failures in their one canonical order, so output does not
    /// depend on thread scheduling.
    pub fn sort(&mut self) {
        // Every field that tells two findings apart is in the key, so only exact
        // duplicates (one rule reporting the same thing twice) are merged.
        self.findings.sort_by(|a, b| {
            (
                *a.rule != *own::WAIVER_ADDED,
                a.file_index,
                a.span.start,
                a.span.end,
                &a.rule,
                &a.path,
                &a.message,
                a.severity,
            )
                .cmp(&(
                    *b.rule != *own::WAIVER_ADDED,
                    b.file_index,
                    b.span.start,
                    b.span.end,
                    &b.rule,
                    &b.path,
                    &b.message,
                    b.severity,
                ))
        });
        self.findings.dedup_by(|a, b| {
            a.file_index == b.file_index
                && a.span == b.span
                && a.rule == b.rule
                && a.path == b.path
                && a.message == b.message
                && a.severity == b.severity
        });
        fingerprint::assign(&mut self.findings);
        self.failures.sort_by(|a, b| {
            let key = |f: &Failure| {
                (
                    f.file.clone(),
                    f.span.as_ref().map(|s| (s.start, s.end)),
                    f.kind,
                )
            };
            key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
        });
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for f in &self.findings {
            if f.waived() {
                c.waived += 1;
                continue;
            }
            if f.status == Some(Status::New) {
                c.new += 1;
            }
            if self.fails(f) {
                c.failing += 1;
            }
            match f.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Note => c.notes += 1,
            }
        }
        c
    }

    /// Whether this finding makes the run fail.
    pub fn fails(&self, f: &Finding) -> bool {
        !f.waived() && f.severity >= self.fail_on && f.status != Some(Status::Existing)
    }

    /// The policy changes, `change file` each, joined by `sep`.
    pub fn policy_list(&self, sep: &str) -> String {
        let list: Vec<String> = self
            .policy_changes
            .iter()
            .map(ToString::to_string)
            .collect();
        list.join(sep)
    }

    /// What HEAD fixed; empty when nothing was compared.
    pub fn fixed(&self) -> &[Fixed] {
        self.comparison.as_ref().map_or(&[], |c| c.fixed.as_slice())
    }

    /// 2 on any failure, 1 on a failing finding, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.failures.is_empty() {
            2
        } else if self.findings.iter().any(|f| self.fails(f)) {
            1
        } else {
            0
        }
    }
}

//! Human output: one miette diagnostic per finding and failure, then a summary line.

use super::excerpt::{escape, Excerpt};
use super::Style;
use crate::report::{Failure, Finding, Report, Severity, Status};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};
use std::fmt;

struct FindingDiag<'a> {
    f: &'a Finding,
    excerpt: Excerpt,
    site: Option<RuleSite>,
}

/// The `fail(...)` call that reported a finding, shown as a related diagnostic.
struct RuleSite {
    excerpt: Excerpt,
    span: std::ops::Range<usize>,
}

struct FailureDiag<'a> {
    f: &'a Failure,
    excerpt: Option<Excerpt>,
}

impl fmt::Debug for FindingDiag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.f.message)
    }
}
impl fmt::Display for FindingDiag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = escape(&self.f.message);
        if self.f.waived() {
            write!(f, "{message} (waived)")
        } else {
            f.write_str(&message)
        }
    }
}
impl std::error::Error for FindingDiag<'_> {}

impl Diagnostic for FindingDiag<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(escape(&self.f.rule)))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.f.severity {
            Severity::Error if !self.f.waived() => miette::Severity::Error,
            Severity::Error | Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        // A fix is named after the help, so the reader knows `--fix` would apply it.
        let fix = self
            .f
            .fix
            .as_ref()
            .map(|x| format!("fix available (--fix): {}", escape(&x.description)));
        match (&self.f.help, fix) {
            (Some(h), Some(fix)) => Some(Box::new(format!("{}\n{fix}", escape(h)))),
            (Some(h), None) => Some(Box::new(escape(h))),
            (None, Some(fix)) => Some(Box::new(fix)),
            (None, None) => None,
        }
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.excerpt)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(
            (!self.f.path.is_empty()).then(|| escape(&self.f.path).into_owned()),
            self.excerpt.span(&self.f.span),
        );
        let secondary = self.f.labels.iter().map(|l| {
            LabeledSpan::new_with_span(
                Some(escape(&l.text).into_owned()),
                self.excerpt.span(&l.span),
            )
        });
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        let site = self.site.as_ref()?;
        Some(Box::new(std::iter::once(site as &dyn Diagnostic)))
    }
}

impl fmt::Debug for RuleSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reported here")
    }
}
impl fmt::Display for RuleSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reported here")
    }
}
impl std::error::Error for RuleSite {}

impl Diagnostic for RuleSite {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.excerpt)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(None, self.excerpt.span(&self.span)),
        )))
    }
}

impl fmt::Debug for FailureDiag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.f.message)
    }
}
impl fmt::Display for FailureDiag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.f.source.is_none() && !self.f.file.is_empty() {
            write!(f, "{}: {}", escape(&self.f.file), escape(&self.f.message))
        } else {
            f.write_str(&escape(&self.f.message))
        }
    }
}
impl std::error::Error for FailureDiag<'_> {}

impl Diagnostic for FailureDiag<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("failure::{}", self.f.kind.as_str())))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.f
            .note
            .as_ref()
            .map(|n| Box::new(escape(n)) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.excerpt.as_ref().map(|e| e as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.f.span.clone()?;
        let excerpt = self.excerpt.as_ref()?;
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(
                Some(self.f.kind.as_str().to_string()),
                excerpt.span(&span),
            ),
        )))
    }
}

fn handler(style: Style) -> GraphicalReportHandler {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
}

/// Renders `findings` in order, each on the current rayon pool: a diagnostic costs tens
/// of thousands of instructions, and 100,000 of them should not wait on one core.
fn render_findings(out: &mut String, findings: &[&Finding], style: Style) {
    use rayon::prelude::*;
    let parts: Vec<String> = findings
        .par_iter()
        .with_min_len(16)
        .map(|f| {
            let mut one = String::new();
            render_finding(&mut one, f, style);
            one
        })
        .collect();
    for p in parts {
        out.push_str(&p);
    }
}

/// Renders one finding, with the rule's call site as a related diagnostic.
pub fn render_finding(out: &mut String, f: &Finding, style: Style) {
    let spans: Vec<_> = std::iter::once(f.span.clone())
        .chain(f.labels.iter().map(|l| l.span.clone()))
        .collect();
    let diag = FindingDiag {
        f,
        excerpt: Excerpt::new(&f.source, &spans),
        site: f
            .call_site
            .as_ref()
            .filter(|_| style.rule_sites)
            .map(|(source, span)| RuleSite {
                excerpt: Excerpt::new(source, std::slice::from_ref(span)),
                span: span.clone(),
            }),
    };
    let _ = handler(style).render_report(out, &diag);
    out.push('\n');
}

pub fn render_failure(out: &mut String, f: &Failure, style: Style) {
    let excerpt = match (&f.source, &f.span) {
        (Some(source), Some(span)) => Some(Excerpt::new(source, std::slice::from_ref(span))),
        _ => None,
    };
    let _ = handler(style).render_report(out, &FailureDiag { f, excerpt });
    out.push('\n');
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The closing line of every human report.
pub fn summary(report: &Report) -> String {
    let c = report.counts();
    let mut line = format!(
        "{} checked with {}: {}, {}, {}",
        plural(report.files, "file"),
        plural(report.rules, "rule"),
        plural(c.errors, "error"),
        plural(c.warnings, "warning"),
        plural(c.notes, "note"),
    );
    if c.waived > 0 {
        line.push_str(&format!(", {} waived", c.waived));
    }
    if report.comparison.is_some() {
        line.push_str(&format!(", {} new, {} fixed", c.new, report.fixed().len()));
    }
    if !report.failures.is_empty() {
        line.push_str(&format!(", {}", plural(report.failures.len(), "failure")));
    }
    line.push('\n');
    line
}

/// Failures first (they decide the exit code), then findings, then the summary.
/// Compared with a base, new findings lead and what was fixed closes the report.
pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    for f in &report.failures {
        render_failure(&mut out, f, style);
    }
    if style.quiet {
        out.push_str(&summary(report));
        return out;
    }
    if !report.policy_changes.is_empty() {
        out.push_str(&format!(
            "policy changes in this change (review them; the base's policy was applied unless --policy head): {}\n",
            report.policy_changes.len()
        ));
        for c in &report.policy_changes {
            out.push_str(&format!("  {c}\n"));
        }
        out.push('\n');
    }
    if report.comparison.is_some() {
        let (new, old): (Vec<&Finding>, Vec<&Finding>) = report
            .findings
            .iter()
            .partition(|f| f.status == Some(Status::New) && !f.waived());
        out.push_str(&format!("new findings: {}\n\n", new.len()));
        render_findings(&mut out, &new, style);
        if !old.is_empty() {
            out.push_str(&format!(
                "existing or waived findings (not failing): {}\n",
                old.len()
            ));
            for f in old {
                out.push_str(&format!(
                    "  {} {} [{}] {}\n",
                    f.location(),
                    f.severity.as_str(),
                    f.rule,
                    f.message
                ));
            }
            out.push('\n');
        }
        out.push_str(&format!("fixed: {}\n", report.fixed().len()));
        for f in report.fixed() {
            out.push_str(&format!(
                "  {} [{}] {}: {}\n",
                f.severity.as_str(),
                f.rule,
                f.path,
                f.message
            ));
        }
        out.push('\n');
    } else {
        let all: Vec<&Finding> = report.findings.iter().collect();
        render_findings(&mut out, &all, style);
    }
    out.push_str(&summary(report));
    out
}

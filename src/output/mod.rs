//! Every output format, each in its own file, behind one [`render`]. A format reads the
//! findings model (`report`) and nothing else; adding one is one file and one arm here.

pub mod concise;
pub mod excerpt;
pub mod github;
pub mod gitlab;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use crate::report::Report;

/// The formats a run can be written in.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Github,
    Markdown,
    /// GitLab Code Quality
    Gitlab,
    /// One line per finding: `file:line:col: severity[rule] message`
    Concise,
    /// A self-contained readiness report: servers by requirement, findings, waivers
    Html,
}

/// How to draw human output.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: usize,
    /// Show the `fail(...)` call in the rule's source under each finding (rule authors).
    pub rule_sites: bool,
    /// Only failures and the summary line.
    pub quiet: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 100,
            rule_sites: false,
            quiet: false,
        }
    }
}

/// The report in `format`; `style` matters to human output only.
pub fn render(report: &Report, format: Format, style: &Style) -> String {
    match format {
        Format::Human => human::render(report, *style),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Github => github::render(report),
        Format::Markdown => markdown::render(report),
        Format::Gitlab => gitlab::render(report),
        Format::Concise => concise::render(report),
        Format::Html => html::render(report),
    }
}

/// `--statistics`: how many findings each rule reported, most first, then the summary.
pub fn statistics(report: &Report) -> String {
    let mut counts: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
    for f in &report.findings {
        *counts.entry((&f.rule, f.severity.as_str())).or_default() += 1;
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = String::new();
    for ((rule, severity), n) in rows {
        out.push_str(&format!(
            "{n:>7}  {severity:<7}  {}\n",
            excerpt::escape(rule)
        ));
    }
    out.push_str(&human::summary(report));
    out
}

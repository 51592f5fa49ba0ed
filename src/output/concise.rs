//! `--format concise`: one line per finding and failure, `file:line:col: severity[rule]
//! message`, for editors' error lists and `grep`.

use super::excerpt::escape;
use crate::report::Report;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.failures {
        let at = f.location();
        out.push_str(&format!(
            "{}: failure[{}] {}\n",
            escape(&at),
            f.kind.as_str(),
            escape(&f.message)
        ));
    }
    for f in &report.findings {
        let waived = if f.waived() { " (waived)" } else { "" };
        out.push_str(&format!(
            "{}: {}[{}] {}{waived}\n",
            escape(&f.location()),
            f.severity.as_str(),
            escape(&f.rule),
            escape(&f.message)
        ));
    }
    out.push_str(&super::human::summary(report));
    out
}

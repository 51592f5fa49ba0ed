//! `--format html`: a readiness report to attach to a change ticket. One file, no
//! external assets, readable offline and on paper: per estate a summary, a matrix of
//! subjects (servers) by requirement, every finding with its estate excerpt, the
//! waivers in force and whatever kept the run from being complete.

use super::excerpt::escape;
use crate::report::{Failure, Finding, Report, Status};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Column for rules that name no requirement.
const OTHER: &str = "other";
/// Row for findings that belong to no subject.
const ESTATE: &str = "(whole estate)";
/// Longest excerpt line shown, in characters.
const MAX_LINE: usize = 240;
/// Most excerpt lines per finding.
const MAX_LINES: usize = 6;
/// Most findings listed in full per report: past that a browser struggles and nobody
/// reads on; the matrix still counts every one.
const MAX_FINDINGS: usize = 2000;
/// Most matrix rows per estate; blocked subjects come first, so none of them is cut.
const MAX_ROWS: usize = 5000;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:1.6em}h2{border-bottom:2px solid #333;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}\
td.fail,td.blocked{background:#f8d0d0}td.warn{background:#fbeec8}td.pass,td.ready{background:#d6efd6}\
td.waived{background:#dde4f4}td.na{color:#777}td.unknown{background:#eee}\
pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;overflow-wrap:anywhere}mark{background:#f6c343}\
.finding{border-left:4px solid #999;padding-left:1em;margin:1em 0;break-inside:avoid}\
.finding.error{border-color:#c22}.finding.warning{border-color:#d90}.finding.note{border-color:#37c}\
@media print{body{margin:0}h2{break-before:page}a{color:inherit}}";

/// Text made inert in HTML: markup escaped, hidden and control characters shown as escapes.
fn text(s: &str) -> String {
    let shown = escape(s);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What one cell of the matrix says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    NotApplicable,
    Pass,
    Waived,
    Warn,
    Fail,
}

impl Cell {
    fn class(self) -> &'static str {
        match self {
            Cell::NotApplicable => "na",
            Cell::Pass => "pass",
            Cell::Waived => "waived",
            Cell::Warn => "warn",
            Cell::Fail => "fail",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Cell::NotApplicable => "n/a",
            Cell::Pass => "pass",
            Cell::Waived => "waived",
            Cell::Warn => "warn",
            Cell::Fail => "fail",
        }
    }
}

/// `R2` before `R10`; names without a number after those with one.
fn requirement_order(r: &str) -> (u32, String) {
    let n = r
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or(u32::MAX);
    (n, r.to_string())
}

pub fn render(report: &Report) -> String {
    let mut reqs_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in &report.rule_docs {
        let reqs = if d.requirements.is_empty() {
            vec![OTHER]
        } else {
            d.requirements.iter().map(String::as_str).collect()
        };
        reqs_of.insert(&d.id, reqs);
    }
    let mut columns: Vec<&str> = reqs_of
        .values()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    columns.sort_by_key(|r| requirement_order(r));
    let reqs = |rule: &str| reqs_of.get(rule).cloned().unwrap_or_else(|| vec![OTHER]);

    let counts = report.counts();
    let complete = report.failures.is_empty();
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<title>Upgrade readiness report</title>\n");
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    out.push_str("<h1>Upgrade readiness report</h1>\n");
    let verdict = if !complete {
        "incomplete: preflight could not check everything (see Failures)"
    } else if counts.failing > 0 {
        "blocked"
    } else {
        "ready"
    };
    let _ = writeln!(
        out,
        "<p id=\"verdict\" data-verdict=\"{}\"><strong>Verdict: {verdict}.</strong> {} estate(s), {} rule(s); {} error(s), {} warning(s), {} note(s), {} waived; {} failure(s).</p>",
        verdict.split(':').next().unwrap_or(verdict),
        report.files,
        report.rules,
        counts.errors,
        counts.warnings,
        counts.notes,
        counts.waived,
        report.failures.len()
    );
    if !report.policy_changes.is_empty() {
        out.push_str("<p><strong>Policy changed by this change (not applied):</strong> ");
        out.push_str(&text(&report.policy_list(", ")));
        out.push_str("</p>\n");
    }
    failures(&mut out, &report.failures);

    let mut room = MAX_FINDINGS;
    for (index, name) in &report.checked {
        let mine: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.file_index == *index)
            .collect();
        let mut rows: BTreeMap<&str, BTreeMap<&str, Cell>> = BTreeMap::new();
        let mut blocked: BTreeSet<&str> = BTreeSet::new();
        for a in report.applied.iter().filter(|a| a.file_index == *index) {
            let row = rows.entry(&a.subject).or_default();
            for r in reqs(&a.rule) {
                row.entry(r).or_insert(Cell::Pass);
            }
        }
        for f in &mine {
            let subject = f.subject.as_deref().unwrap_or(ESTATE);
            let cell = if f.waived() {
                Cell::Waived
            } else if report.fails(f) {
                blocked.insert(subject);
                Cell::Fail
            } else {
                Cell::Warn
            };
            let row = rows.entry(subject).or_default();
            for r in reqs(&f.rule) {
                let c = row.entry(r).or_insert(cell);
                // A pass stands only where nothing was found.
                if *c == Cell::Pass || cell > *c {
                    *c = cell;
                }
            }
        }
        let _ = writeln!(
            out,
            "<section class=\"estate\" data-file=\"{}\">\n<h2>{}</h2>",
            text(name),
            text(name)
        );
        let shown = mine.iter().filter(|f| !f.waived()).count();
        let _ =
            writeln!(
            out,
            "<p class=\"summary\">{} subject(s): {} blocked, {} {}; {} finding(s), {} waived.</p>",
            rows.len(),
            blocked.len(),
            rows.len() - blocked.len(),
            if complete { "ready" } else { "not known to be ready" },
            shown,
            mine.len() - shown
        );
        matrix(&mut out, &rows, &blocked, &columns, complete);
        let listed = mine.len().min(room);
        room -= listed;
        if listed > 0 || mine.is_empty() {
            findings(&mut out, &mine[..listed], report, &reqs);
        }
        if listed < mine.len() {
            let _ = writeln!(
                out,
                "<p class=\"omitted\" data-omitted=\"{}\">{} more finding(s) not listed here; the JSON or SARIF output of the same run has every one.</p>",
                mine.len() - listed,
                mine.len() - listed
            );
        }
        waivers(&mut out, &mine);
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn matrix(
    out: &mut String,
    rows: &BTreeMap<&str, BTreeMap<&str, Cell>>,
    blocked: &BTreeSet<&str>,
    columns: &[&str],
    complete: bool,
) {
    if rows.is_empty() {
        out.push_str("<p>No rule named a subject of this estate.</p>\n");
        return;
    }
    out.push_str("<table class=\"matrix\">\n<thead><tr><th>Subject</th><th>Status</th>");
    for c in columns {
        let _ = write!(out, "<th>{}</th>", text(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let mut order: Vec<(&&str, &BTreeMap<&str, Cell>)> = rows.iter().collect();
    order.sort_by_key(|(subject, _)| !blocked.contains(**subject));
    let hidden = order.len().saturating_sub(MAX_ROWS);
    order.truncate(MAX_ROWS);
    for (subject, cells) in order {
        let status = if blocked.contains(subject) {
            "blocked"
        } else if complete {
            "ready"
        } else {
            "unknown"
        };
        let _ = write!(
            out,
            "<tr data-subject=\"{}\"><th><code>{}</code></th><td class=\"{status}\">{status}</td>",
            text(subject),
            text(subject)
        );
        for c in columns {
            let cell = cells.get(c).copied().unwrap_or(Cell::NotApplicable);
            let _ = write!(
                out,
                "<td class=\"{}\" data-requirement=\"{}\">{}</td>",
                cell.class(),
                text(c),
                cell.label()
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    if hidden > 0 {
        let _ = writeln!(
            out,
            "<p class=\"omitted\" data-omitted-rows=\"{hidden}\">{hidden} more subject(s), none of them blocked, not listed here.</p>"
        );
    }
}

fn findings<'r>(
    out: &mut String,
    mine: &[&Finding],
    report: &Report,
    reqs: &dyn Fn(&str) -> Vec<&'r str>,
) {
    if mine.is_empty() {
        out.push_str("<p>No findings.</p>\n");
        return;
    }
    out.push_str("<h3>Findings</h3>\n");
    for f in mine {
        let at = f.source.line_col(f.span.start);
        let state = match (f.waived(), f.status) {
            (true, _) => " (waived)",
            (false, Some(Status::Existing)) => " (already in the base)",
            (false, Some(Status::New)) => " (new)",
            _ => "",
        };
        let _ = writeln!(
            out,
            "<div class=\"finding {}\" data-rule=\"{}\" data-path=\"{}\" data-line=\"{}\">",
            f.severity.as_str(),
            text(&f.rule),
            text(&f.path),
            at.line
        );
        let _ = writeln!(
            out,
            "<p><strong>{}{}</strong> <code>{}</code> ({}) at <code>{}</code>, line {} column {}</p>",
            f.severity.as_str(),
            state,
            text(&f.rule),
            text(&reqs(&f.rule).join(", ")),
            text(&f.path),
            at.line,
            at.column
        );
        let _ = writeln!(out, "<p class=\"message\">{}</p>", text(&f.message));
        if let Some(help) = &f.help {
            let _ = writeln!(out, "<p class=\"help\">Help: {}</p>", text(help));
        }
        if let Some(w) = &f.waiver {
            let _ = writeln!(
                out,
                "<p class=\"waiver\">Waived until {}: {}</p>",
                text(&w.expires),
                text(&w.reason)
            );
        }
        excerpt(out, f);
        if report.fails(f) {
            out.push_str("<p class=\"gate\">This finding blocks the change.</p>\n");
        }
        out.push_str("</div>\n");
    }
}

/// The estate lines the finding's span covers, the span marked.
fn excerpt(out: &mut String, f: &Finding) {
    let src = &f.source;
    let all = src.text();
    let start = f.span.start.min(all.len());
    let end = f.span.end.clamp(start, all.len());
    let first = src.line_of(start);
    let last = src
        .line_of(if end > start { end - 1 } else { start })
        .min(first + MAX_LINES - 1);
    out.push_str("<pre class=\"excerpt\">");
    for line in first..=last {
        let range = src.line_range(line);
        let _ = write!(out, "{:>5} | ", line + 1);
        let (s, e) = (
            start.clamp(range.start, range.end),
            end.clamp(range.start, range.end),
        );
        if !all.is_char_boundary(s) || !all.is_char_boundary(e) {
            out.push('\n');
            continue;
        }
        let before = &all[range.start..s];
        let marked = &all[s..e];
        let after = &all[e..range.end];
        let mut budget = MAX_LINE;
        for (part, mark) in [(before, false), (marked, true), (after, false)] {
            let taken: String = part
                .trim_end_matches(['\n', '\r'])
                .chars()
                .take(budget)
                .collect();
            budget -= taken.chars().count();
            if mark && !taken.is_empty() {
                let _ = write!(out, "<mark>{}</mark>", text(&taken));
            } else {
                out.push_str(&text(&taken));
            }
        }
        if budget == 0 {
            out.push('…');
        }
        out.push('\n');
    }
    out.push_str("</pre>\n");
}

fn waivers(out: &mut String, mine: &[&Finding]) {
    let waived: Vec<&&Finding> = mine.iter().filter(|f| f.waived()).collect();
    if waived.is_empty() {
        return;
    }
    out.push_str("<h3>Waivers in force</h3>\n<table class=\"waivers\">\n<thead><tr><th>Rule</th><th>Path</th><th>Reason</th><th>Expires</th></tr></thead>\n<tbody>\n");
    for f in waived {
        if let Some(w) = &f.waiver {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                text(&f.rule),
                text(&f.path),
                text(&w.reason),
                text(&w.expires)
            );
        }
    }
    out.push_str("</tbody>\n</table>\n");
}

fn failures(out: &mut String, failures: &[Failure]) {
    if failures.is_empty() {
        return;
    }
    out.push_str("<section class=\"failures\">\n<h2>Failures</h2>\n<p>These kept preflight from checking everything; no subject can be called ready until they are fixed.</p>\n<table>\n<thead><tr><th>Kind</th><th>Where</th><th>Message</th></tr></thead>\n<tbody>\n");
    for f in failures {
        let note = f
            .note
            .as_deref()
            .map(|n| format!(" ({})", text(n)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}{note}</td></tr>",
            f.kind.as_str(),
            text(&f.location()),
            text(&f.message)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

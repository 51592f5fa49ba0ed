//! Code actions: a finding's fix as a quick fix, and "waive this finding", which
//! appends a `[[waivers]]` entry with a reason to fill in and an expiry 90 days ahead.

use super::convert;
use super::worker::Analysis;
use crate::report::Finding;
use lsp_types::{CodeAction, CodeActionKind, CodeActionOrCommand, TextEdit, Uri, WorkspaceEdit};
use std::collections::HashMap;

/// How far ahead a waiver added from the editor expires (capped by `max_waiver_days`).
pub const WAIVER_DAYS: i64 = 90;

/// What the user must replace: a waiver needs a real reason.
pub const REASON_PLACEHOLDER: &str = "TODO: say why this finding is accepted";

fn edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    }
}

/// The `[[waivers]]` entry for `f`, to append to text ending as `text` does.
pub fn waiver_text(f: &Finding, text: &str, analysis: &Analysis) -> String {
    let days = WAIVER_DAYS.min(analysis.max_waiver_days).max(1);
    let expires = analysis.today.plus_days(days);
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let lead = if text.is_empty() {
        ""
    } else if text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let mut out = format!("{lead}[[waivers]]\nrule = {}\n", quote(&f.rule));
    if !f.path.is_empty() {
        out.push_str(&format!("at = {}\n", quote(&f.path)));
    }
    out.push_str(&format!(
        "reason = {}\nexpires = {expires}\n",
        quote(REASON_PLACEHOLDER)
    ));
    out
}

/// The actions for findings overlapping bytes `range` of the analysed text.
pub fn actions(
    uri: &Uri,
    analysis: &Analysis,
    range: std::ops::Range<usize>,
) -> Vec<CodeActionOrCommand> {
    let src = &analysis.source;
    let text = src.text();
    let end = convert::position(src, text.len());
    let mut out = Vec::new();
    for f in &analysis.findings {
        let overlaps = f.span.start <= range.end && range.start <= f.span.end;
        if !overlaps || f.waived() {
            continue;
        }
        let diagnostic = convert::finding(uri, f);
        if let Some(fix) = &f.fix {
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: fix.description.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic.clone()]),
                edit: Some(edit(uri, convert::edits(src, fix))),
                is_preferred: Some(true),
                ..CodeAction::default()
            }));
        }
        // preflight's own findings are about waivers: waiving them makes no sense.
        if f.rule.starts_with("preflight/") {
            continue;
        }
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Waive this finding ({})", f.rule),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic]),
            edit: Some(edit(
                uri,
                vec![TextEdit {
                    range: lsp_types::Range::new(end, end),
                    new_text: waiver_text(f, text, analysis),
                }],
            )),
            ..CodeAction::default()
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::Source;
    use crate::gate::date::Date;
    use crate::report::{Edit, Fix, Severity};
    use std::str::FromStr;
    use std::sync::Arc;

    fn analysis(text: &str, finding: impl Fn(&Arc<Source>) -> Finding) -> Analysis {
        let source = Arc::new(Source::new("e.toml", text.to_string()));
        Analysis {
            version: 1,
            findings: vec![finding(&source)],
            source,
            docs: Arc::new(Vec::new()),
            today: Date::parse("2026-11-26").unwrap(),
            max_waiver_days: 365,
        }
    }

    #[test]
    fn a_fix_is_a_quick_fix_and_any_finding_can_be_waived() {
        let text = "[[servers]]\nname = \"hq\"\nweb_sever = \"IIS\"";
        let at = text.find("web_sever").unwrap();
        let a = analysis(text, |src| {
            let mut f = Finding::new(
                "officescan/unknown-key",
                Severity::Error,
                "unknown key `web_sever`",
                src,
                0,
                ("servers[\"hq\"].web_sever".into(), at..at + 9),
            );
            f.fix = Some(Box::new(Fix {
                description: "rename to `web_server`".into(),
                edits: vec![Edit {
                    replacement: "web_server".into(),
                    offset: at,
                    length: 9,
                }],
            }));
            f
        });
        let uri = Uri::from_str("file:///e.toml").unwrap();
        let got = actions(&uri, &a, at + 2..at + 2);
        let [CodeActionOrCommand::CodeAction(fix), CodeActionOrCommand::CodeAction(waive)] =
            got.as_slice()
        else {
            panic!("{got:?}");
        };
        assert_eq!(fix.title, "rename to `web_server`");
        let edits = &fix.edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri];
        assert_eq!(edits[0].new_text, "web_server");
        assert_eq!(edits[0].range.start, lsp_types::Position::new(2, 0));
        assert_eq!(edits[0].range.end, lsp_types::Position::new(2, 9));
        let edits = &waive.edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri];
        assert_eq!(
            edits[0].new_text,
            "\n\n[[waivers]]\nrule = \"officescan/unknown-key\"\nat = 'servers[\"hq\"].web_sever'\nreason = \"TODO: say why this finding is accepted\"\nexpires = 2027-02-24\n"
        );
        assert_eq!(edits[0].range.start, lsp_types::Position::new(2, 17));
        // Nowhere near the finding: nothing to offer.
        assert!(actions(&uri, &a, 0..3).is_empty());
    }
}

//! Reporting: `fail`, `warn` and `note`, the finding handle's `label` and `on_key`, and
//! `applies`, which tells readiness reports a requirement was checked for a table.

use super::Api;
use crate::engine::context::{
    edit_finding, err, push_applied, push_finding, Node, RawFinding, RhaiResult,
};
use crate::report::Severity;
use rhai::{Dynamic, NativeCallContext};

/// A reported finding, so a rule can attach secondary labels to it.
#[derive(Debug, Clone, Copy)]
pub struct FindingRef(usize);

fn report(
    ctx: &NativeCallContext,
    severity: Severity,
    node: Node,
    key: &str,
    message: &str,
    help: Option<&str>,
) -> RhaiResult<FindingRef> {
    let finding = RawFinding {
        severity: Some(severity),
        node: node.id,
        key: key.to_string(),
        message: capped(message),
        help: help.filter(|h| !h.is_empty()).map(str::to_string),
        call_site: ctx.call_position(),
        labels: Vec::new(),
        on_key: false,
    };
    push_finding(node, finding).map(FindingRef)
}

/// Longest message kept, in bytes: a rule cannot fill the report with one finding.
const MAX_MESSAGE: usize = 4096;

/// `message`, cut at a character boundary past [`MAX_MESSAGE`] bytes, with an ellipsis.
fn capped(message: &str) -> String {
    if message.len() <= MAX_MESSAGE {
        return message.to_string();
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

fn not_a_node(what: &str) -> RhaiResult<FindingRef> {
    err(format!(
        "the first argument of `{what}` must be a table of the estate, not a plain value: pass the table and the key, as in `{what}(server, \"os\", message)`"
    ))
}

pub(super) fn register(api: &mut Api) {
    api.engine()
        .register_type_with_name::<FindingRef>("Finding");
    for (name, severity) in [
        ("fail", Severity::Error),
        ("warn", Severity::Warning),
        ("note", Severity::Note),
    ] {
        api.add(
            name,
            move |ctx: NativeCallContext, n: Node, key: &str, message: &str| {
                report(&ctx, severity, n, key, message, None)
            },
        )
        .add(
            name,
            move |ctx: NativeCallContext, n: Node, key: &str, message: &str, help: &str| {
                report(&ctx, severity, n, key, message, Some(help))
            },
        )
        .add(name, move |_: Dynamic, _: &str, _: &str| not_a_node(name))
        .add(name, move |_: Dynamic, _: &str, _: &str, _: &str| {
            not_a_node(name)
        });
    }
    api.add("applies", push_applied)
        .add("applies", |_: Dynamic| -> RhaiResult<()> {
            err("`applies` takes a table of the estate, as in `applies(server)`")
        });
    api.add(
        "label",
        |f: &mut FindingRef, n: Node, key: &str, text: &str| {
            let label = (n.id, key.to_string(), text.to_string());
            edit_finding(f.0, Some(n), |raw| raw.labels.push(label)).map(|()| *f)
        },
    )
    .add("on_key", |f: &mut FindingRef| {
        edit_finding(f.0, None, |raw| raw.on_key = true).map(|()| *f)
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        assert_eq!(super::capped("short"), "short");
        let long = "€".repeat(2000);
        let cut = super::capped(&long);
        assert!(cut.ends_with('…'));
        assert_eq!(cut.len(), 4095 + '…'.len_utf8());
    }
}

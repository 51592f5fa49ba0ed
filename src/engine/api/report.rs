//! Reporting: `fail`, `warn` and `note`, on one table or on every entry of a query;
//! the finding handle's `label`, `on_key` and fixes (`fix_value`, `fix_key`,
//! `fix_insert`); and `applies`, which tells readiness reports a requirement was
//! checked for a table.

use super::Api;
use crate::engine::budget;
use crate::engine::context::{
    edit_findings, err, push_applied, push_findings, with_doc, Attached, Node, RawFix, RhaiResult,
    Said,
};
use crate::engine::query::Query;
use crate::estate::NodeId;
use crate::report::Severity;
use rhai::{Dynamic, ImmutableString, NativeCallContext, Variant};

/// The findings one call reported (one, or one per entry of a query), so a rule can
/// attach labels and fixes to them: an edit applies to each.
#[derive(Debug, Clone, Copy)]
pub struct FindingRef {
    first: usize,
    len: usize,
}

impl FindingRef {
    fn edit(
        &self,
        node: Option<Node>,
        f: impl FnMut(&mut Attached) -> RhaiResult<()>,
    ) -> RhaiResult<Self> {
        edit_findings(self.first..self.first + self.len, node, f).map(|()| *self)
    }
}

/// What every finding of one call shares.
struct Report<'a> {
    severity: Severity,
    key: ImmutableString,
    message: ImmutableString,
    help: Option<&'a str>,
}

impl Report<'_> {
    fn new(
        severity: Severity,
        key: ImmutableString,
        message: ImmutableString,
        help: Option<&str>,
    ) -> Report<'_> {
        Report {
            severity,
            key,
            message: capped(message),
            help,
        }
    }

    /// The findings on `nodes` of document `generation`, reported at `ctx`'s call.
    fn push(
        &self,
        ctx: &NativeCallContext,
        generation: u32,
        nodes: &[NodeId],
    ) -> RhaiResult<FindingRef> {
        let said = Said {
            severity: Some(self.severity),
            key: self.key.clone(),
            message: self.message.clone(),
            // One copy of the help for all the call's findings.
            help: self.help.filter(|h| !h.is_empty()).map(Into::into),
            call_site: ctx.call_position(),
        };
        let first = push_findings(generation, said, nodes)?;
        Ok(FindingRef {
            first,
            len: nodes.len(),
        })
    }
}

fn report(ctx: &NativeCallContext, r: Report, node: Node) -> RhaiResult<FindingRef> {
    r.push(ctx, node.generation, &[node.id])
}

/// How many entries ahead [`report_each`] asks for a node.
const AHEAD: usize = 16;

/// One finding per entry of `q`, in order: a loop's findings without a script call
/// per entry. Every entry must be a table (or array), as in a loop calling `fail`.
fn report_each(ctx: &NativeCallContext, r: Report, q: &Query) -> RhaiResult<FindingRef> {
    let ids = q.ids()?;
    if ids.is_empty() {
        return Ok(FindingRef { first: 0, len: 0 });
    }
    let generation = q.generation;
    with_doc(generation, |doc| {
        // Entries lie scattered over the estate: each node is asked for well ahead.
        let plain = ids.iter().enumerate().find(|&(i, &id)| {
            doc.prefetch(ids.get(i + AHEAD).copied(), None);
            !doc.holds_entries(id)
        });
        match plain.map(|(_, id)| id) {
            Some(&id) => err(format!(
                "`{}` on a query: the entry at `{}` is a plain value, not a table; narrow the query to tables (`select` on one of their keys)",
                ctx.fn_name(),
                doc.path(id)
            )),
            None => Ok(()),
        }
    })?;
    budget::charge(ids.len() as u64)?;
    r.push(ctx, generation, &ids)
}

/// Longest message kept, in bytes: a rule cannot fill the report with one finding.
const MAX_MESSAGE: usize = 4096;

/// `message`, cut at a character boundary past [`MAX_MESSAGE`] bytes, with an ellipsis.
fn capped(message: ImmutableString) -> ImmutableString {
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end]).into()
}

/// Fixes one finding may carry: enough for any real edit, and a bound on what a rule
/// can pile onto one finding.
const MAX_FIXES: usize = 16;

/// A Rhai value as a TOML literal: strings, integers, floats and booleans only.
fn literal(what: &str, v: &Dynamic) -> RhaiResult<String> {
    let value = if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        if s.len() > MAX_MESSAGE {
            return err(format!(
                "`{what}`: the value is longer than {MAX_MESSAGE} bytes"
            ));
        }
        toml_edit::Value::from(s.as_str())
    } else if let Ok(i) = v.as_int() {
        toml_edit::Value::from(i)
    } else if let Ok(x) = v.as_float() {
        toml_edit::Value::from(x)
    } else if let Ok(b) = v.as_bool() {
        toml_edit::Value::from(b)
    } else {
        return err(format!(
            "`{what}` takes a string, integer, float or boolean, not {}",
            v.type_name()
        ));
    };
    Ok(value.to_string().trim().to_string())
}

/// A key as TOML writes it: bare when it can be, else quoted.
pub(crate) fn key_repr(what: &str, name: &str) -> RhaiResult<String> {
    if name.is_empty() || name.len() > 256 {
        return err(format!("`{what}`: a key must have 1 to 256 bytes"));
    }
    Ok(toml_edit::Key::new(name).display_repr().into_owned())
}

fn add_fix(f: &mut FindingRef, fix: RawFix) -> RhaiResult<FindingRef> {
    f.edit(None, |raw| {
        if raw.fixes.len() >= MAX_FIXES {
            return err(format!("a finding takes at most {MAX_FIXES} fixes"));
        }
        raw.fixes.push(fix.clone());
        Ok(())
    })
}

fn not_a_node(what: &str) -> RhaiResult<FindingRef> {
    err(format!(
        "the first argument of `{what}` must be a table of the estate or a query of tables, not a plain value: pass the table and the key, as in `{what}(server, \"os\", message)`"
    ))
}

/// What `fail`, `warn` and `note` report on: a table, or each entry of a query.
trait Subject: Variant + Clone {
    fn report(&self, ctx: &NativeCallContext, r: Report) -> RhaiResult<FindingRef>;
}

impl Subject for Node {
    fn report(&self, ctx: &NativeCallContext, r: Report) -> RhaiResult<FindingRef> {
        report(ctx, r, *self)
    }
}

impl Subject for Query {
    fn report(&self, ctx: &NativeCallContext, r: Report) -> RhaiResult<FindingRef> {
        report_each(ctx, r, self)
    }
}

/// `name(subject, key, message)` and `name(subject, key, message, help)` on `S`.
fn reporting<S: Subject>(api: &mut Api, name: &'static str, severity: Severity) {
    api.add(
        name,
        move |ctx: NativeCallContext, s: &mut S, key: ImmutableString, message: ImmutableString| {
            s.report(&ctx, Report::new(severity, key, message, None))
        },
    )
    .add(
        name,
        move |ctx: NativeCallContext,
              s: &mut S,
              key: ImmutableString,
              message: ImmutableString,
              help: &str| {
            s.report(&ctx, Report::new(severity, key, message, Some(help)))
        },
    );
}

pub(super) fn register(api: &mut Api) {
    api.engine()
        .register_type_with_name::<FindingRef>("Finding");
    for (name, severity) in [
        ("fail", Severity::Error),
        ("warn", Severity::Warning),
        ("note", Severity::Note),
    ] {
        reporting::<Node>(api, name, severity);
        reporting::<Query>(api, name, severity);
        api.add(name, move |_: Dynamic, _: &str, _: &str| not_a_node(name))
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
            f.edit(Some(n), |raw| {
                raw.labels.push(label.clone());
                Ok(())
            })
        },
    )
    .add("on_key", |f: &mut FindingRef| {
        f.edit(None, |raw| {
            raw.on_key = true;
            Ok(())
        })
    })
    .add("fix_value", |f: &mut FindingRef, v: Dynamic| {
        let text = literal("fix_value", &v)?;
        add_fix(f, RawFix::Value(text))
    })
    .add("fix_key", |f: &mut FindingRef, name: &str| {
        let key = key_repr("fix_key", name)?;
        let name = name.to_string();
        add_fix(f, RawFix::Key { name, key })
    })
    .add(
        "fix_insert",
        |f: &mut FindingRef, name: &str, v: Dynamic| {
            let key = key_repr("fix_insert", name)?;
            let value = literal("fix_insert", &v)?;
            let name = name.to_string();
            add_fix(f, RawFix::Insert { name, key, value })
        },
    );
}

#[cfg(test)]
mod tests {
    use rhai::Dynamic;

    #[test]
    fn fix_texts_are_toml_literals() {
        let lit = |v: Dynamic| super::literal("fix_value", &v).unwrap();
        assert_eq!(lit(Dynamic::from("smart")), "\"smart\"");
        assert_eq!(lit(Dynamic::from("a\"b\\c")), r#"'a"b\c'"#);
        assert_eq!(lit(Dynamic::from_int(8080)), "8080");
        assert_eq!(lit(Dynamic::from_float(1.0)), "1.0");
        assert_eq!(lit(Dynamic::from_bool(true)), "true");
        assert!(super::literal("fix_value", &Dynamic::UNIT).is_err());
        assert_eq!(super::key_repr("k", "web_server").unwrap(), "web_server");
        assert_eq!(super::key_repr("k", "a b").unwrap(), "\"a b\"");
        assert!(super::key_repr("k", "").is_err());
    }
    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        assert_eq!(super::capped("short".into()), "short");
        let long = "€".repeat(2000);
        let cut = super::capped(long.into());
        assert!(cut.ends_with('…'));
        assert_eq!(cut.len(), 4095 + '…'.len_utf8());
    }
}

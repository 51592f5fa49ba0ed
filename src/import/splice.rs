//! Refreshing an estate in place: the estate is read with preflight's own loader (spans,
//! a compact arena), and only what changes is edited in the original text: a changed
//! value is replaced, a new key is inserted after its entry's last line, new entries
//! follow the last one. Whatever cannot be done with certainty (an inline array of
//! tables, a key in a header or dotted, an entry with sub-tables, pruning) is left to
//! the `toml_edit` merge, which handles every shape but costs several times more.

use super::map::Entry;
use super::merge::Summary;
use crate::engine::fix::{insertion, is_key_value, last_key_value, line_end, newline_of};
use crate::estate::{self, doc::Value as V, Doc, NodeId, Source, ROOT};
use crate::report::Edit;
use std::collections::HashMap;
use std::sync::Arc;
use toml_edit::Value;

/// The refreshed text and what changed, or `None` when the merge must do it.
pub fn refresh(
    name: &str,
    text: &str,
    table: &str,
    key: &str,
    entries: &[Entry],
    prune: bool,
) -> Option<(String, Summary)> {
    let doc = estate::parse(Arc::new(Source::new(name, text.to_string()))).ok()?;
    let array = doc.get(ROOT, table)?;
    let V::Array(items) = doc.value(array) else {
        return None;
    };
    let items: Vec<NodeId> = items.to_vec();
    // Only `[[table]]` entries: their text is theirs alone.
    if items.is_empty()
        || !items.iter().all(|&i| {
            matches!(doc.value(i), V::Table(_)) && text[doc.span(i).start..].starts_with("[[")
        })
    {
        return None;
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, &item) in items.iter().enumerate() {
        if let Some(k) = doc.get(item, key).and_then(|n| doc.str_of(n)) {
            index.entry(k).or_insert(i);
        }
    }
    let mut summary = Summary::default();
    let mut seen = vec![false; items.len()];
    let mut edits: Vec<Edit> = Vec::new();
    let mut added = String::new();
    let newline = newline_of(text);
    for e in entries {
        let Some(&i) = index.get(e.key.as_str()) else {
            added.push_str(newline);
            added.push_str(&format!(
                "[[{}]]",
                toml_edit::Key::new(table).display_repr()
            ));
            for (k, v) in &e.values {
                added.push_str(&format!(
                    "{newline}{} = {}",
                    toml_edit::Key::new(&**k).display_repr(),
                    literal(v)
                ));
            }
            added.push_str(newline);
            summary.added.push(e.key.clone());
            continue;
        };
        seen[i] = true;
        let entry = items[i];
        let mut changed = false;
        for (k, v) in &e.values {
            match doc.get(entry, k) {
                Some(child) => {
                    if !is_key_value(&doc, child) {
                        return None;
                    }
                    if same(&doc, child, v) {
                        continue;
                    }
                    let span = doc.span(child);
                    edits.push(Edit {
                        replacement: literal(v),
                        offset: span.start,
                        length: span.len(),
                    });
                }
                None => edits.push(insertion(
                    &doc,
                    entry,
                    &toml_edit::Key::new(&**k).display_repr(),
                    &literal(v),
                )?),
            }
            changed = true;
        }
        if changed {
            summary.changed.push(e.key.clone());
        } else {
            summary.unchanged += 1;
        }
    }
    for (i, &item) in items.iter().enumerate() {
        if !seen[i] {
            if let Some(name) = doc.get(item, key).and_then(|n| doc.str_of(n)) {
                summary.absent.push(name.to_string());
            }
        }
    }
    if prune && !summary.absent.is_empty() {
        return None;
    }
    if !added.is_empty() {
        let last = *items.last()?;
        // A sub-table would end after the last key-value: the merge places entries then.
        if doc.children(last).iter().any(|&c| !is_key_value(&doc, c)) {
            return None;
        }
        let (end, _) = last_key_value(&doc, last)?;
        edits.push(Edit {
            replacement: format!("{newline}{}", added.trim_end_matches(['\r', '\n'])),
            offset: line_end(text, end),
            length: 0,
        });
    }
    // Stable: insertions at one offset keep the order they were made in.
    edits.sort_by_key(|e| e.offset);
    let mut out = String::with_capacity(text.len() + added.len() + 64 * edits.len());
    let mut at = 0;
    for e in &edits {
        if e.offset < at {
            return None;
        }
        out.push_str(&text[at..e.offset]);
        out.push_str(&e.replacement);
        at = e.offset + e.length;
    }
    out.push_str(&text[at..]);
    Some((out, summary))
}

/// `v` as a TOML literal, without the spaces a document would put around it.
fn literal(v: &Value) -> String {
    v.clone().decorated("", "").to_string()
}

/// Whether the estate value at `node` is the same data as `v`, whatever its spelling.
fn same(doc: &Doc, node: NodeId, v: &Value) -> bool {
    match (doc.value(node), v) {
        (V::Str(_) | V::Raw(..), Value::String(s)) => doc.str_of(node) == Some(s.value().as_str()),
        (V::Int(i), Value::Integer(x)) => i == *x.value(),
        (V::Float(f), Value::Float(x)) => f.to_bits() == x.value().to_bits(),
        (V::Bool(b), Value::Boolean(x)) => b == *x.value(),
        (V::Datetime(d), Value::Datetime(x)) => d.to_string() == x.value().to_string(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml_edit::DocumentMut;

    fn entry(key: &str, values: &[(&str, Value)]) -> Entry {
        Entry {
            key: key.into(),
            values: values
                .iter()
                .map(|(k, v)| (Arc::from(*k), v.clone()))
                .collect(),
        }
    }

    const ESTATE: &str = "[upgrade]\ntarget_version = \"10.6\"\n\n# the lab machines\n[[clients]]\nname = \"pc1\"\nos   = 'Windows 7'   # checked by hand\nx_owner = \"ana\"\n\n[[clients]]\n  name = \"pc2\"\n  os = \"Windows XP\"\n\n[[waivers]]\nrule = \"r\"\n";

    /// The splice and the `toml_edit` merge give the same data and the same summary.
    fn agree(text: &str, entries: &[Entry]) -> String {
        let (spliced, summary) =
            refresh("e.toml", text, "clients", "name", entries, false).unwrap();
        let mut doc: DocumentMut = text.parse().unwrap();
        let merged =
            super::super::merge::merge(&mut doc, "clients", "name", entries, false).unwrap();
        assert_eq!(summary, merged);
        let a: toml::Table = toml::from_str(&spliced).unwrap();
        let b: toml::Table = toml::from_str(&doc.to_string()).unwrap();
        assert_eq!(a, b, "{spliced}");
        spliced
    }

    #[test]
    fn changed_values_new_keys_and_new_entries_are_edited_in_place() {
        let entries = [
            entry(
                "pc1",
                &[
                    ("name", "pc1".into()),
                    ("os", "Windows 10".into()),
                    ("arch", "x64".into()),
                ],
            ),
            entry(
                "pc2",
                &[
                    ("name", "pc2".into()),
                    ("os", "Windows XP".into()),
                    ("port", 8080.into()),
                ],
            ),
            entry(
                "pc3",
                &[("name", "pc3".into()), ("os", "Windows \"11\"".into())],
            ),
        ];
        let out = agree(ESTATE, &entries);
        assert!(out.starts_with("[upgrade]\ntarget_version = \"10.6\"\n\n# the lab machines\n[[clients]]\nname = \"pc1\"\nos   = \"Windows 10\"   # checked by hand\nx_owner = \"ana\"\narch = \"x64\"\n"), "{out}");
        // Indentation of the entry is kept for its new key; the new entry follows it.
        assert!(out.contains("  os = \"Windows XP\"\n  port = 8080\n\n[[clients]]\nname = \"pc3\"\nos = 'Windows \"11\"'\n\n[[waivers]]"), "{out}");
    }

    #[test]
    fn crlf_files_stay_crlf_and_unchanged_entries_are_byte_identical() {
        let text = ESTATE.replace('\n', "\r\n");
        let entries = [
            entry("pc1", &[("os", "Windows 7".into())]),
            entry("pc9", &[("name", "pc9".into())]),
        ];
        let out = agree(&text, &entries);
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        assert!(
            out.starts_with(&text[..text.find("[[waivers]]").unwrap() - 2]),
            "{out:?}"
        );
        let same = agree(&text, &[entry("pc1", &[("os", "Windows 7".into())])]);
        assert_eq!(same, text);
    }

    #[test]
    fn shapes_it_cannot_edit_with_certainty_go_to_the_merge() {
        let e = [entry("pc1", &[("os", "Windows 10".into())])];
        let inline = "clients = [{ name = \"pc1\", os = \"Windows 7\" }]\n";
        assert!(refresh("e", inline, "clients", "name", &e, false).is_none());
        let dotted = "[[clients]]\nname = \"pc1\"\nos.name = \"Windows 7\"\n";
        assert!(refresh("e", dotted, "clients", "name", &e, false).is_none());
        assert!(refresh("e", ESTATE, "clients", "name", &e, true).is_none());
        assert!(refresh("e", "", "clients", "name", &e, false).is_none());
        assert!(refresh("e", "[[clients]\n", "clients", "name", &e, false).is_none());
        let sub = "[[clients]]\nname = \"pc1\"\n[clients.hw]\ncpu = 1\n";
        let add = [entry("pc2", &[("name", "pc2".into())])];
        assert!(refresh("e", sub, "clients", "name", &add, false).is_none());
    }
}

//! Hover: a key's documentation from the estate schema, and for a finding under the
//! cursor, its rule's documentation (what `preflight explain` prints).

use super::worker::Analysis;
use crate::estate::{self, doc::Seg, Doc, Source};
use serde_json::Value;
use std::sync::Arc;

/// Markdown for the key at byte `offset` of `text`, if the cursor is on a key.
pub fn key_doc(schema: &Value, text: &str, offset: usize) -> Option<String> {
    let doc = estate::parse(Arc::new(Source::new("hover", text.to_string()))).ok()?;
    let id = key_at(&doc, offset)?;
    let mut chain = Vec::new();
    let mut cur = id;
    while cur != estate::ROOT {
        chain.push(cur);
        cur = doc.node(cur).parent;
    }
    chain.reverse();
    let mut node = schema;
    let mut path = String::new();
    for id in chain {
        match doc.node(id).seg() {
            Seg::Key => {
                let k = doc.key_of(id)?;
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match node.get("properties").and_then(|p| p.get(k)) {
                    Some(n) => node = n,
                    None if k.starts_with("x_") => {
                        return Some(format!(
                            "**`{path}`**\n\nSite data: rules never report `x_` keys as unknown."
                        ));
                    }
                    None => {
                        let known = node
                            .get("properties")
                            .and_then(Value::as_object)
                            .map(|m| m.keys().map(String::as_str).collect::<Vec<_>>())
                            .unwrap_or_default();
                        let hint = crate::suggest::closest(k, known.iter().copied())
                            .map(|c| format!(" Did you mean `{c}`?"))
                            .unwrap_or_default();
                        return Some(format!(
                            "**`{path}`**\n\nNot a key of the estate format.{hint}"
                        ));
                    }
                }
            }
            Seg::Index => {
                path.push_str("[]");
                node = node.get("items")?;
            }
            Seg::Root => {}
        }
    }
    let mut out = format!("**`{path}`**");
    let kind = node.get("type").and_then(Value::as_str);
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        let list: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("`{v}`"))
            .collect();
        out.push_str(&format!(" — one of {}", list.join(", ")));
    } else if let Some(kind) = kind {
        let kind = match (kind, node.get("format").and_then(Value::as_str)) {
            ("array", _) => match node.pointer("/items/type").and_then(Value::as_str) {
                Some("object") => "array of tables".to_string(),
                Some(t) => format!("array of {t}s"),
                None => "array".to_string(),
            },
            ("object", _) => "table".to_string(),
            ("string", Some("date")) => "date".to_string(),
            (t, _) => t.to_string(),
        };
        out.push_str(&format!(" — {kind}"));
    }
    if let Some(d) = node.get("description").and_then(Value::as_str) {
        out.push_str("\n\n");
        out.push_str(d);
    }
    Some(out)
}

/// The innermost node whose key holds `offset` (the end of a key counts, where the
/// cursor rests after typing it).
fn key_at(doc: &Doc, offset: usize) -> Option<u32> {
    (0..doc.node_count() as u32)
        .filter(|&id| doc.node(id).seg() == Seg::Key)
        .map(|id| (id, doc.key_span(id)))
        .filter(|(id, k)| k.start <= offset && offset <= k.end && *k != doc.span(*id))
        .min_by_key(|(_, k)| k.len())
        .map(|(id, _)| id)
}

/// Markdown documenting the rules of the findings whose span holds `offset`.
pub fn rule_docs(analysis: &Analysis, offset: usize) -> Option<String> {
    let mut ids: Vec<&str> = analysis
        .findings
        .iter()
        .filter(|f| !f.waived() && f.span.start <= offset && offset <= f.span.end)
        .map(|f| &*f.rule)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let parts: Vec<String> = ids
        .into_iter()
        .map(|id| match analysis.docs.iter().find(|d| d.id == id) {
            Some(d) => format!("### `{}`: {}\n\n{}", d.id, d.title, d.markdown.trim_end()),
            None => format!("### `{id}`"),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n\n---\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_shows_its_schema_documentation() {
        let schema = crate::jsonschema::estate().unwrap();
        let text = "[[servers]]\nname = \"a\"\nweb_server = \"IIS\"\nweb_sever = 1\n";
        let at = text.find("web_server").unwrap() + 3;
        let doc = key_doc(&schema, text, at).unwrap();
        assert!(
            doc.starts_with("**`servers[].web_server`** — one of"),
            "{doc}"
        );
        assert!(doc.contains("`IIS`"), "{doc}");
        let at = text.find("web_sever").unwrap();
        let doc = key_doc(&schema, text, at).unwrap();
        assert!(doc.contains("Did you mean `web_server`?"), "{doc}");
        // A value is not a key.
        assert_eq!(key_doc(&schema, text, text.find("IIS").unwrap() + 1), None);
    }
}

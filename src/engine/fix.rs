//! Placing the fixes a rule attached to a finding: each becomes an exact byte edit of
//! the estate text, or, when the engine cannot place it with certainty, nothing.
//!
//! Only plain `key = value` lines are edited: a key written in a `[table]` header or
//! as part of a dotted key is shared with other lines, so renaming one occurrence
//! would change the estate's shape rather than fix it.

use super::context::RawFix;
use crate::estate::{Doc, NodeId, ROOT};
use crate::report::{Edit, Fix};

/// The fix for a finding on `key` of table `table`, or `None` when any of `fixes`
/// cannot be placed exactly (or the fix would change nothing).
pub fn place(doc: &Doc, table: NodeId, key: &str, fixes: &[RawFix]) -> Option<Fix> {
    if fixes.is_empty() {
        return None;
    }
    let text = doc.source.text();
    let mut edits: Vec<Edit> = Vec::new();
    let mut said = Vec::new();
    for fix in fixes {
        match fix {
            RawFix::Value(literal) => {
                let child = doc.get(table, key).filter(|c| is_key_value(doc, *c))?;
                let span = doc.span(child);
                let old = &text[span.clone()];
                if old == literal {
                    continue;
                }
                said.push(format!("replace `{}` with `{literal}`", short(old)));
                edits.push(replace(span, literal));
            }
            RawFix::Key { name, key: written } => {
                let child = doc.get(table, key).filter(|c| is_key_value(doc, *c))?;
                if name == key {
                    continue;
                }
                if doc.get(table, name).is_some() {
                    // Renaming onto a key the table has would define it twice.
                    return None;
                }
                said.push(format!("rename `{}` to `{written}`", short(key)));
                edits.push(replace(doc.key_span(child), written));
            }
            RawFix::Insert { name, key, value } => {
                if doc.get(table, name).is_some() {
                    return None;
                }
                said.push(format!("insert `{key} = {value}`"));
                edits.push(insertion(doc, table, key, value)?);
            }
        }
    }
    if edits.is_empty() {
        return None;
    }
    edits.sort_by_key(|e| (e.offset, e.length));
    // Insertions at one point, in the order the rule gave them, become one edit.
    let mut merged: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        match merged.last_mut() {
            Some(last) if last.length == 0 && e.length == 0 && last.offset == e.offset => {
                last.replacement.push_str(&e.replacement);
            }
            Some(last) if overlap(last, &e) => return None,
            _ => merged.push(e),
        }
    }
    Some(Fix {
        description: said.join("; "),
        edits: merged,
    })
}

/// Whether two edits touch the same bytes, or insert where the other edits, so the
/// order they are applied in would matter.
pub fn overlap(a: &Edit, b: &Edit) -> bool {
    let (a0, a1, b0, b1) = (a.offset, a.offset + a.length, b.offset, b.offset + b.length);
    (a0 < b1 && b0 < a1)
        || (a0 == b0 && (a.length == 0 || b.length == 0))
        || (a.length == 0 && b0 < a0 && a0 < b1)
        || (b.length == 0 && a0 < b0 && b0 < a1)
}

fn replace(span: std::ops::Range<usize>, with: &str) -> Edit {
    Edit {
        replacement: with.to_string(),
        offset: span.start,
        length: span.len(),
    }
}

/// At most 60 characters of `s`, on one line, for a fix's description.
fn short(s: &str) -> String {
    let one_line = s.replace(['\r', '\n'], " ");
    match one_line.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

/// Whether `node` is the value of a `key = value` line (not a header, not part of a
/// dotted key, not an array element).
pub fn is_key_value(doc: &Doc, node: NodeId) -> bool {
    let text = doc.source.text();
    let key = doc.key_span(node);
    key != doc.span(node)
        && !in_header(text, key.start)
        && text[key.end..]
            .trim_start_matches([' ', '\t'])
            .starts_with('=')
}

/// Whether byte `at` lies on a `[table]` header line.
fn in_header(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].trim_start().starts_with('[')
}

/// Where the last `key = value` of `table` (looking into dotted keys) ends, and where
/// its line's key starts, if the table has one.
pub fn last_key_value(doc: &Doc, table: NodeId) -> Option<(usize, usize)> {
    let text = doc.source.text();
    doc.children(table)
        .into_iter()
        .filter_map(|c| {
            let (key, span) = (doc.key_span(c), doc.span(c));
            if is_key_value(doc, c) {
                Some((span.end, key.start))
            } else if key == span && !in_header(text, key.start) && text[key.end..].starts_with('.')
            {
                last_key_value(doc, c).map(|(end, _)| (end, key.start))
            } else {
                None
            }
        })
        .max()
}

/// `key = value` added to `table`: after its last key-value, or after its header,
/// on a line of its own with the file's line ending; inside the braces of an inline
/// table. A table made only of dotted keys or implied by a header is not placed.
pub fn insertion(doc: &Doc, table: NodeId, key: &str, value: &str) -> Option<Edit> {
    let text = doc.source.text();
    let at = |offset: usize, replacement: String| Edit {
        replacement,
        offset,
        length: 0,
    };
    let opening = if table == ROOT {
        None
    } else {
        Some(text.as_bytes().get(doc.span(table).start).copied()?)
    };
    if opening == Some(b'{') {
        let span = doc.span(table);
        return Some(match last_key_value(doc, table) {
            Some((end, _)) => at(end, format!(", {key} = {value}")),
            None => Edit {
                replacement: format!(" {key} = {value} "),
                offset: span.start + 1,
                length: span.len().checked_sub(2)?,
            },
        });
    }
    if opening.is_some() && opening != Some(b'[') {
        return None;
    }
    let newline = newline_of(text);
    let (after, indent) = match (last_key_value(doc, table), opening) {
        (Some((end, key_start)), _) => {
            let line_start = text[..key_start].rfind('\n').map_or(0, |i| i + 1);
            (end, &text[line_start..key_start])
        }
        (None, Some(_)) => (doc.span(table).end, ""),
        (None, None) => return Some(at(0, format!("{key} = {value}{newline}"))),
    };
    // Only blanks before the key are indentation.
    let indent = if indent.bytes().all(|b| b == b' ' || b == b'\t') {
        indent
    } else {
        ""
    };
    Some(at(
        line_end(text, after),
        format!("{newline}{indent}{key} = {value}"),
    ))
}

/// The line break the file uses, judged by its first line.
pub fn newline_of(text: &str) -> &'static str {
    if text.split('\n').next().is_some_and(|l| l.ends_with('\r')) {
        "\r\n"
    } else {
        "\n"
    }
}

/// Where the line holding byte `at` ends, before its line break.
pub fn line_end(text: &str, at: usize) -> usize {
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    if text[..end].ends_with('\r') {
        end - 1
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::{parse, Source};
    use std::sync::Arc;

    fn doc(text: &str) -> Doc {
        parse(Arc::new(Source::new("t.toml", text.to_string()))).unwrap()
    }

    fn apply(text: &str, fix: &Fix) -> String {
        let mut out = text.to_string();
        for e in fix.edits.iter().rev() {
            out.replace_range(e.offset..e.offset + e.length, &e.replacement);
        }
        out
    }

    fn first_server(d: &Doc) -> NodeId {
        d.children(d.get(ROOT, "servers").unwrap())[0]
    }

    fn insert(name: &str, value: &str) -> RawFix {
        RawFix::Insert {
            name: name.into(),
            key: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn values_and_keys_are_replaced_exactly() {
        let text = "[[servers]]\nname = \"a\"\nweb_sever = \"Smart\" # keep\n";
        let d = doc(text);
        let s = first_server(&d);
        let fix = place(&d, s, "web_sever", &[RawFix::Value("\"smart\"".into())]).unwrap();
        assert_eq!(
            apply(text, &fix),
            "[[servers]]\nname = \"a\"\nweb_sever = \"smart\" # keep\n"
        );
        let key = RawFix::Key {
            name: "web_server".into(),
            key: "web_server".into(),
        };
        let fix = place(&d, s, "web_sever", &[key]).unwrap();
        assert_eq!(fix.description, "rename `web_sever` to `web_server`");
        assert!(apply(text, &fix).contains("\nweb_server = \"Smart\" # keep\n"));
        let onto_existing = RawFix::Key {
            name: "name".into(),
            key: "name".into(),
        };
        assert_eq!(place(&d, s, "web_sever", &[onto_existing]), None);
        assert_eq!(place(&d, s, "absent", &[RawFix::Value("1".into())]), None);
    }

    #[test]
    fn header_and_dotted_keys_are_not_edited() {
        let text = "[[servers]]\nname = \"a\"\nb.c = 1\n[servers.bakup]\nk = 1\n";
        let d = doc(text);
        let s = first_server(&d);
        let key = RawFix::Key {
            name: "backup".into(),
            key: "backup".into(),
        };
        assert_eq!(place(&d, s, "bakup", std::slice::from_ref(&key)), None);
        assert_eq!(place(&d, s, "b", &[key]), None);
        let b = d.get(s, "b").unwrap();
        assert_eq!(place(&d, b, "", &[insert("d", "2")]), None);
    }

    #[test]
    fn insertions_follow_the_last_key_value_with_the_file_s_line_ending() {
        let text = "top = 1\r\n[[servers]]\r\n  name = \"a\" # n\r\n  b.c = [\r\n 1 ]\r\n\r\n[servers.backup]\r\nk = 1\r\n";
        let d = doc(text);
        let s = first_server(&d);
        let fix = place(&d, s, "", &[insert("role", "\"upgrade\"")]).unwrap();
        assert_eq!(fix.edits[0].offset, text.find(" ]\r\n").unwrap() + 2);
        let fixed = apply(text, &fix);
        assert!(fixed.contains(" 1 ]\r\n  role = \"upgrade\"\r\n\r\n[servers.backup]"));
        let fix = place(&d, ROOT, "", &[insert("x", "true")]).unwrap();
        assert!(apply(text, &fix).starts_with("top = 1\r\nx = true\r\n[[servers]]"));
        let backup = d.get(s, "backup").unwrap();
        let fix = place(&d, backup, "", &[insert("a", "1"), insert("b", "2")]).unwrap();
        assert_eq!(fix.edits.len(), 1);
        assert!(apply(text, &fix).ends_with("k = 1\r\na = 1\r\nb = 2\r\n"));
        assert_eq!(place(&d, s, "", &[insert("name", "\"b\"")]), None);
    }

    #[test]
    fn insertions_into_empty_and_inline_tables() {
        let text = "[[servers]]\n[upgrade]\nt = { x = 1 }\ne = {}";
        let d = doc(text);
        let s = first_server(&d);
        let fixed = apply(text, &place(&d, s, "", &[insert("a", "1")]).unwrap());
        assert!(
            fixed.starts_with("[[servers]]\na = 1\n[upgrade]"),
            "{fixed}"
        );
        let up = d.get(ROOT, "upgrade").unwrap();
        let t = d.get(up, "t").unwrap();
        let fixed = apply(text, &place(&d, t, "", &[insert("y", "2")]).unwrap());
        assert!(fixed.contains("t = { x = 1, y = 2 }"), "{fixed}");
        let e = d.get(up, "e").unwrap();
        let fixed = apply(text, &place(&d, e, "", &[insert("y", "2")]).unwrap());
        assert!(fixed.ends_with("e = { y = 2 }"), "{fixed}");
        let fixed = apply(text, &place(&d, up, "", &[insert("z", "3")]).unwrap());
        assert!(fixed.ends_with("e = {}\nz = 3"), "{fixed}");
    }

    #[test]
    fn overlapping_edits_are_told_apart() {
        let e = |offset, length| Edit {
            replacement: String::new(),
            offset,
            length,
        };
        assert!(overlap(&e(0, 4), &e(2, 4)));
        assert!(!overlap(&e(0, 4), &e(4, 4)));
        assert!(overlap(&e(4, 0), &e(4, 2)));
        assert!(overlap(&e(3, 0), &e(2, 2)));
        assert!(!overlap(&e(4, 0), &e(2, 2)));
        assert!(overlap(&e(4, 0), &e(4, 0)));
    }
}

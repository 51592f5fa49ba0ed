//! Reading the path syntax findings and waivers use (`servers["osce-hq"].backup.files`,
//! `clients[3]`): parsing, resolving in a document, and repairing common mistakes.

use super::{Doc, NodeId, ROOT};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.key` (or a leading `key`).
    Key(String),
    /// `["name"]`: an array entry by its `name`, or a table key that is not bare.
    Name(String),
    /// `[3]`: an array entry by position.
    Index(usize),
}

fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Parses `text`; the error is a message saying what is wrong where.
pub fn parse(text: &str) -> Result<Vec<Step>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' if !steps.is_empty() => {
                let start = i + 1;
                i = start;
                while i < chars.len() && bare(chars[i]) {
                    i += 1;
                }
                if i == start {
                    return Err(format!("a key must follow `.` at character {}", start + 1));
                }
                steps.push(Step::Key(chars[start..i].iter().collect()));
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'"') {
                    let mut name = String::new();
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err("a quoted name is not closed".into()),
                            Some('"') => break,
                            Some('\\') => {
                                match chars.get(i + 1) {
                                    Some(c @ ('"' | '\\')) => name.push(*c),
                                    _ => return Err("only `\\\"` and `\\\\` escape".into()),
                                }
                                i += 1;
                            }
                            Some(c) => name.push(*c),
                        }
                        i += 1;
                    }
                    if chars.get(i + 1) != Some(&']') {
                        return Err("`]` must follow a quoted name".into());
                    }
                    i += 2;
                    steps.push(Step::Name(name));
                } else {
                    let start = i;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                    let digits: String = chars[start..i].iter().collect();
                    if digits.is_empty() || chars.get(i) != Some(&']') {
                        return Err("inside `[...]` goes a quoted name or a number".into());
                    }
                    i += 1;
                    steps.push(Step::Index(digits.parse().map_err(|_| "index too large")?));
                }
            }
            c if steps.is_empty() && bare(c) => {
                let start = i;
                while i < chars.len() && bare(chars[i]) {
                    i += 1;
                }
                steps.push(Step::Key(chars[start..i].iter().collect()));
            }
            c => return Err(format!("unexpected `{c}` at character {}", i + 1)),
        }
    }
    Ok(steps)
}

/// The path written canonically.
pub fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Name(n) => {
                out.push_str("[\"");
                out.push_str(&n.replace('\\', "\\\\").replace('"', "\\\""));
                out.push_str("\"]");
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The node `steps` lead to in `doc`, if any.
pub fn resolve(doc: &Doc, steps: &[Step]) -> Option<NodeId> {
    let mut at = ROOT;
    for s in steps {
        at = match s {
            Step::Key(k) => doc.get(at, k)?,
            Step::Name(n) => doc.get(at, n).or_else(|| {
                doc.children(at)
                    .into_iter()
                    .find(|c| doc.name_of(*c) == Some(n))
            })?,
            Step::Index(i) => *doc.children(at).get(*i)?,
        };
    }
    Some(at)
}

/// What the writer of a malformed or misdirected `text` most likely meant: unquoted
/// names quoted (`servers[osce-dmz]`), and dotted names of array entries turned into
/// `["name"]` where that finds an entry of `doc` (`servers.osce-branch`).
pub fn repair(doc: &Doc, text: &str) -> Option<String> {
    let quoted = quote_brackets(text);
    let mut steps = parse(&quoted).ok()?;
    if resolve(doc, &steps).is_none() {
        for i in 1..steps.len() {
            if let Step::Key(k) = &steps[i] {
                let before = resolve(doc, &steps[..i]);
                if before.is_some_and(|b| doc.type_name(b) == "array") {
                    steps[i] = Step::Name(k.clone());
                }
            }
        }
    }
    let fixed = render(&steps);
    (fixed != text).then_some(fixed)
}

/// `a[b]` written as `a["b"]`; numbers and quoted names are left alone.
fn quote_brackets(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close)
                if !after.starts_with('"')
                    && !after[..close].chars().all(|c| c.is_ascii_digit()) =>
            {
                let inner = after[..close].trim_matches(['\'', ' ']);
                out.push_str(&format!("[\"{inner}\"]"));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::{parse as parse_doc, Source};
    use std::sync::Arc;

    #[test]
    fn parses_what_findings_print() {
        let p = parse(r#"servers["osce-hq"].backup.files[2]"#).unwrap();
        assert_eq!(
            p,
            [
                Step::Key("servers".into()),
                Step::Name("osce-hq".into()),
                Step::Key("backup".into()),
                Step::Key("files".into()),
                Step::Index(2),
            ]
        );
        assert_eq!(render(&p), r#"servers["osce-hq"].backup.files[2]"#);
        assert!(parse("servers[osce-dmz]").is_err());
        assert!(parse("servers..x").is_err());
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn repairs_the_usual_mistakes() {
        let src = "[[servers]]\nname = \"osce-branch\"\n[[servers]]\nname = \"osce-dmz\"\n";
        let doc = parse_doc(Arc::new(Source::new("t.toml", src.into()))).unwrap();
        assert_eq!(
            repair(&doc, "servers[osce-dmz]").as_deref(),
            Some(r#"servers["osce-dmz"]"#)
        );
        assert_eq!(
            repair(&doc, "servers.osce-branch").as_deref(),
            Some(r#"servers["osce-branch"]"#)
        );
        assert_eq!(repair(&doc, r#"servers["osce-dmz"]"#), None);
    }
}

//! Generic text helpers: addresses, Windows paths, whole-word and regular-expression
//! matching, "did you mean" suggestions, and today's date.

use super::Api;
use crate::engine::budget;
use crate::engine::context::{err, RhaiResult};
use crate::engine::query::{scan_cost, Hay};
use crate::engine::schema::suggest;
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, NativeCallContext};
use std::cell::RefCell;
use std::collections::HashMap;

/// Compiled patterns may take this much memory: `regex` matches in linear time, and
/// this bounds what a pattern can cost before matching starts.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Patterns compiled on this thread, so a rule matching every client compiles once.
const REGEX_CACHE: usize = 64;

thread_local! {
    static PATTERNS: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
}

/// Whether `pattern` matches anywhere in `text`.
pub fn regex_matches(text: &str, pattern: &str) -> Result<bool, String> {
    PATTERNS.with_borrow_mut(|cache| {
        if let Some(re) = cache.get(pattern) {
            return Ok(re.is_match(text));
        }
        let re = regex::RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("`matches`: invalid pattern: {e}"))?;
        let hit = re.is_match(text);
        if cache.len() >= REGEX_CACHE {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re);
        Ok(hit)
    })
}

fn today() -> String {
    crate::date::Date::today().to_string()
}

/// Normalises a Windows path for comparison: `\` for `/`, lower case, `.` and `..`
/// segments resolved, no trailing separator.
pub fn windows_path(path: &str) -> String {
    let path = path.replace('/', "\\").to_lowercase();
    let (prefix, rest) = match path.find(':') {
        Some(1) => path.split_at(2),
        _ => ("", path.as_str()),
    };
    let unc = rest.starts_with("\\\\");
    let mut parts: Vec<&str> = Vec::new();
    for seg in rest.split('\\') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let lead = if unc {
        "\\\\"
    } else if rest.starts_with('\\') {
        "\\"
    } else {
        ""
    };
    format!("{prefix}{lead}{}", parts.join("\\"))
}

pub(super) fn register(api: &mut Api) {
    api.add("is_ipv4", |s: &str| s.parse::<std::net::Ipv4Addr>().is_ok())
        .add("is_ipv6", |s: &str| s.parse::<std::net::Ipv6Addr>().is_ok())
        .add("windows_path", |s: &str| windows_path(s))
        .add(
            "has_words",
            |hay: &str, needles: Dynamic| -> RhaiResult<bool> {
                // The same test as `select_words`: needles lowered, the hay compared
                // ignoring ASCII case. ASCII needles need no copy: called once per
                // entry in a loop, this allocates nothing.
                let text = Hay::new(hay);
                let one = |w: &Dynamic| -> RhaiResult<bool> {
                    budget::charge(scan_cost(hay))?;
                    Ok(match w.read_lock::<ImmutableString>() {
                        Some(n) if n.is_ascii() => text.has(&n),
                        _ => text.has(&w.to_string().to_lowercase()),
                    })
                };
                match needles.read_lock::<Array>() {
                    Some(items) => {
                        for w in items.iter() {
                            if one(w)? {
                                return Ok(true);
                            }
                        }
                        Ok(false)
                    }
                    None => one(&needles),
                }
            },
        )
        .add("matches", |text: &str, pattern: &str| -> RhaiResult<bool> {
            regex_matches(text, pattern).or_else(err)
        })
        .add("matches", |_: Dynamic, _: &str| false)
        .add("today", today);
    // Stands in for Rhai's own string `replace`.
    api.add(
        "replace",
        |ctx: NativeCallContext, s: &mut ImmutableString, find: &str, sub: &str| {
            // Rhai's own `replace` builds the whole result before checking its size:
            // a 1 MB string with every byte replaced by 1 MB would take a terabyte.
            let n = s.matches(find).count();
            let len = (s.len() - n * find.len()).saturating_add(n.saturating_mul(sub.len()));
            let max = ctx.engine().max_string_size();
            if max != 0 && len > max {
                return Err(EvalAltResult::ErrorDataTooLarge(
                    "Length of string".into(),
                    ctx.call_position(),
                )
                .into());
            }
            *s = s.replace(find, sub).into();
            Ok::<(), Box<EvalAltResult>>(())
        },
    );
    api.add(
        "closest",
        |word: &str, candidates: Array| -> RhaiResult<Dynamic> {
            let names: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
            Ok(suggest(word, names.iter().map(String::as_str))?
                .map_or(Dynamic::UNIT, |c| Dynamic::from(c.to_string())))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_paths_compare_loosely() {
        assert_eq!(windows_path(r"C:/Program Files\X\\"), r"c:\program files\x");
        assert_eq!(windows_path(r"C:\a\b\..\c"), r"c:\a\c");
        assert_eq!(windows_path(r"\\srv\share\x"), r"\\srv\share\x");
    }

    #[test]
    fn regexes_match_and_bad_ones_are_errors() {
        assert_eq!(regex_matches("osce-hq.corp", r"^osce-[a-z]+\."), Ok(true));
        assert_eq!(regex_matches("OSCE", "osce"), Ok(false));
        assert!(regex_matches("x", "(")
            .unwrap_err()
            .contains("invalid pattern"));
        // Too large to compile within the limit: an error, not a stall.
        assert!(regex_matches("x", r"\w{1000}{1000}").is_err());
    }

    #[test]
    fn has_words_is_the_select_words_test() {
        let engine = crate::engine::sandbox::build(&crate::engine::Limits::default(), false);
        let has = |script: &str| engine.eval::<bool>(script).unwrap();
        assert!(has(
            r#"has_words("Microsoft WINDOWS 2000 SP4", ["Windows 95", "windows 2000"])"#
        ));
        assert!(!has(r#"has_words("Windows Media Center", ["Windows Me"])"#));
        assert!(has(r#"has_words("Windows NT 4.0", "WINDOWS NT")"#));
        // Like `select_words`: needles are lowered, the text compared ignoring ASCII case.
        assert!(has(r#"has_words("école Windows", "ÉCOLE")"#));
        assert!(!has(r#"has_words("ÉCOLE Windows", "école")"#));
    }

    #[test]
    fn today_is_a_date() {
        assert_eq!(today().len(), 10);
    }
}

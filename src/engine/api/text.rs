//! Generic text helpers: addresses, Windows paths, whole-word matching and "did you
//! mean" suggestions.

use super::Api;
use crate::engine::query::contains_words;
use rhai::{Array, Dynamic};

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
        .add("has_words", |s: &str, needles: Dynamic| {
            let hay = s.to_lowercase();
            match needles.read_lock::<Array>() {
                Some(items) => items
                    .iter()
                    .any(|w| contains_words(&hay, &w.to_string().to_lowercase())),
                None => contains_words(&hay, &needles.to_string().to_lowercase()),
            }
        })
        .add("closest", |word: &str, candidates: Array| {
            let names: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
            crate::suggest::closest(word, names.iter().map(String::as_str))
                .map_or(Dynamic::UNIT, |c| Dynamic::from(c.to_string()))
        });
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
}

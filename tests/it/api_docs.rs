//! The host API and `docs/writing-rules.md` name the same functions.

use preflight::engine::{api, sandbox, Limits};
use std::collections::BTreeSet;

/// Names called as `name(` in the host API and reporting sections of the guide.
fn documented() -> BTreeSet<String> {
    let text = std::fs::read_to_string("docs/writing-rules.md").unwrap();
    let start = text.find("## The host API").expect("host API section");
    let end = text.find("## The sandbox").expect("sandbox section");
    let mut names = BTreeSet::new();
    let section = &text[start..end];
    let bytes = section.as_bytes();
    for (i, _) in section.match_indices('(') {
        let word_start = bytes[..i]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .map_or(0, |p| p + 1);
        if word_start < i && bytes[word_start].is_ascii_lowercase() {
            names.insert(section[word_start..i].to_string());
        }
    }
    names
}

/// Names the built engine answers to, read from its own signatures.
fn registered() -> BTreeSet<String> {
    let engine = sandbox::build(&Limits::default(), false);
    engine
        .gen_fn_signatures(false)
        .iter()
        .filter_map(|s| s.split_once('(').map(|(name, _)| name.to_string()))
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect()
}

#[test]
fn every_registered_function_is_documented_and_back() {
    let registered = registered();
    let exported: BTreeSet<String> = api::names().iter().map(|s| s.to_string()).collect();
    assert_eq!(
        registered, exported,
        "the api modules' list is the engine's"
    );
    let documented = documented();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "registered but not in docs/writing-rules.md: {undocumented:?}; documented but not registered: {unknown:?}"
    );
}

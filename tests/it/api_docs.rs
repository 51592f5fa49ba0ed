//! The host API and `docs/writing-rules.md` name the same functions, and the idioms the
//! guide recommends answer as the loops they replace.

use crate::support::{run, site_rule, Run};
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

/// `(rule, path, message)` of each finding, sorted: the two forms report in different orders.
fn found(json: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("rule"), s("path"), s("message"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_index_and_duplicates_answer_as_the_map_loops_they_replace() {
    let dir = tempfile::tempdir().unwrap();
    let mut estate = String::from("[upgrade]\ntarget_version = \"10.6\"\n");
    for s in ["osce-a", "osce-b", "osce-c"] {
        estate.push_str(&format!("[[servers]]\nname = \"{s}\"\n"));
    }
    // Every fifth client names a server that is not there, every seventh repeats a name.
    for i in 0..60 {
        let server = if i % 5 == 0 {
            "gone"
        } else {
            ["osce-a", "osce-b", "osce-c"][i % 3]
        };
        let name = if i % 7 == 0 {
            "pc-twin".to_string()
        } else {
            format!("pc-{i}")
        };
        estate.push_str(&format!(
            "[[clients]]\nname = \"{name}\"\nserver = \"{server}\"\n"
        ));
    }
    let file = dir.path().join("estate.toml");
    std::fs::write(&file, estate).unwrap();
    let head = "//! severity: error\n//! title: t\n";
    site_rule(
        dir.path(),
        "by-map.rhai",
        &format!(
            "{head}fn check(estate) {{
    let names = #{{}};
    for s in estate.servers {{ names[s.name] = true; }}
    let seen = #{{}};
    for c in estate.clients {{
        if !(c.server in names) {{ fail(c, \"server\", \"names no server\"); }}
        if c.name in seen {{ fail(c, \"name\", \"name used twice\"); }}
        seen[c.name] = true;
    }}
}}\n"
        ),
    );
    let rules = site_rule(
        dir.path(),
        "by-index.rhai",
        &format!(
            "{head}fn check(estate) {{
    let servers = estate.servers.index_by(\"name\");
    for c in estate.clients {{
        if !(c.server in servers) {{ fail(c, \"server\", \"names no server\"); }}
    }}
    fail(estate.clients.duplicates(\"name\"), \"name\", \"name used twice\");
}}\n"
        ),
    );
    let Run { json, .. } = run(&[
        "check",
        file.to_str().unwrap(),
        "--no-builtin",
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let all = found(&json);
    let of = |rule: &str| -> Vec<(String, String)> {
        all.iter()
            .filter(|f| f.0 == rule)
            .map(|f| (f.1.clone(), f.2.clone()))
            .collect()
    };
    let by_map = of("site/by-map");
    // 12 dangling clients and 8 repeats of `pc-twin` after its first use.
    assert_eq!(by_map.len(), 12 + 8, "{all:?}");
    assert_eq!(by_map, of("site/by-index"));
}

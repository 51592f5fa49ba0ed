//! Property tests: generated estates never make preflight panic, and the report is
//! byte-identical whatever the thread count and however often it runs.

use preflight::estate::{parse, Source};
use preflight::output::json;
use preflight::pipeline::{self, Input};
use preflight::settings::Settings;
use proptest::prelude::*;
use std::sync::Arc;

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._:-]{0,12}".prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("2027-01-31".to_string()),
        Just("[]".to_string()),
        Just("[\"ofcscan.ini\", 1]".to_string()),
        Just("{ a = 1 }".to_string()),
        prop::sample::select(vec![
            "\"upgrade\"",
            "\"parent\"",
            "\"source\"",
            "\"target\"",
            "\"10.5\"",
            "\"8.0 SP1\"",
            "\"Windows 2000\"",
            "\"Windows Server 2003\"",
            "\"ia64\"",
            "\"smart\"",
            "\"conventional\"",
            "\"Apache\"",
            "\"IIS\"",
            "\"fqdn\"",
            "\"ipv4\"",
            "\"move-clients\"",
            "\"s0\"",
            "\"s1\"",
            "\"A1\"",
            "'C:\\PCCSRV'",
            "'c:/pccsrv/x'",
        ])
        .prop_map(str::to_string),
    ]
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "name",
        "role",
        "version",
        "os",
        "arch",
        "web_server",
        "identified_by",
        "ipv4",
        "ipv6",
        "name_resolves",
        "program_dir",
        "port",
        "client_grouping",
        "root_scan_method",
        "client_auto_upgrade",
        "move_to",
        "server",
        "domain",
        "scan_method",
        "rule",
        "at",
        "reason",
        "expires",
        "web_sever",
        "x_site",
    ])
}

fn table() -> impl Strategy<Value = String> {
    prop::collection::btree_map(key(), value(), 0..8).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect::<String>()
    })
}

fn estate() -> impl Strategy<Value = String> {
    (
        table(),
        prop::collection::vec((table(), table(), table()), 0..4),
        prop::collection::vec(table(), 0..12),
        prop::collection::vec(table(), 0..3),
    )
        .prop_map(|(upgrade, servers, clients, waivers)| {
            let mut s = format!("[upgrade]\n{upgrade}\n");
            for (server, backup, domain) in servers {
                s.push_str(&format!("[[servers]]\n{server}\n[servers.backup]\n{backup}\n[[servers.domains]]\n{domain}\n"));
            }
            for c in clients {
                s.push_str(&format!("[[clients]]\n{c}\n"));
            }
            for w in waivers {
                s.push_str(&format!("[[waivers]]\n{w}\n"));
            }
            s
        })
}

fn report(text: &str, jobs: usize) -> String {
    let opts = Settings {
        jobs: Some(jobs),
        today: preflight::gate::date::Date::parse("2026-11-24").unwrap(),
        ..Settings::default()
    };
    let source = Arc::new(Source::new("generated.toml", text.to_string()));
    json::render(&pipeline::check_inputs(
        &opts,
        vec![Input::Text(source)],
        Vec::new(),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_estates_never_panic_and_render_identically(text in estate()) {
        let one = report(&text, 1);
        let two = report(&text, 2);
        prop_assert_eq!(&one, &two);
        prop_assert_eq!(&one, &report(&text, 2));
        // Rules may find problems; they must never fail on well-formed TOML.
        let parsed: serde_json::Value = serde_json::from_str(&one).unwrap();
        let failures = parsed["failures"].as_array().unwrap();
        prop_assert!(failures.iter().all(|f| f["kind"] == "toml-syntax"), "{}", one);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in "[\\[\\]{}=,.\"'a-z0-9 \\n#\\\\-]{0,200}") {
        let _ = parse(Arc::new(Source::new("t.toml", text)));
    }
}

/// `k = v` lines as the inside of an inline table.
fn inline(lines: &str) -> String {
    let pairs: Vec<&str> = lines.lines().collect();
    format!("{{ {} }}", pairs.join(", "))
}

/// A value where the format expects a table: sometimes one, sometimes not.
fn table_slot() -> impl Strategy<Value = String> {
    prop_oneof![
        table().prop_map(|t| inline(&t)),
        value(),
        prop::collection::vec(table(), 0..3).prop_map(|v| format!(
            "[{}]",
            v.iter().map(|t| inline(t)).collect::<Vec<_>>().join(", ")
        )),
    ]
}

/// A value where the format expects an array of tables, built from `entry`.
fn array_slot(entry: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(entry.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        value(),
        entry,
        prop::collection::vec(value(), 1..3).prop_map(|v| format!("[{}]", v.join(", "))),
    ]
}

/// Estates whose every known table and array of tables may have the wrong shape.
fn misshapen_estate() -> impl Strategy<Value = String> {
    let domain = table().prop_map(|t| inline(&t)).boxed();
    let server = (table(), table_slot(), array_slot(domain))
        .prop_map(|(t, backup, domains)| {
            let mut lines = format!("{t}backup = {backup}\ndomains = {domains}\n");
            lines.retain(|c| c != '\r');
            inline(&lines)
        })
        .boxed();
    (
        table_slot(),
        array_slot(server),
        array_slot(table().prop_map(|t| inline(&t)).boxed()),
        array_slot(table().prop_map(|t| inline(&t)).boxed()),
    )
        .prop_map(|(upgrade, servers, clients, waivers)| {
            format!("upgrade = {upgrade}\nservers = {servers}\nclients = {clients}\nwaivers = {waivers}\n")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn no_estate_shape_makes_a_builtin_rule_fail(text in misshapen_estate()) {
        let out = report(&text, 1);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let failures = parsed["failures"].as_array().unwrap();
        prop_assert!(failures.iter().all(|f| f["kind"] == "toml-syntax"), "{}\n{}", text, out);
    }
}

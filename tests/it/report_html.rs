//! The HTML readiness report: parsed as HTML5 and checked against the JSON of the same
//! run (matrix cells, findings, waivers), self-contained, inert with hostile text, and
//! never "ready" when a failure kept the run from checking everything.

use crate::support::{run, site_rule};
use scraper::{Html, Selector};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

/// Runs `check` on `estate` with JSON on stdout and the HTML report beside it.
fn both(dir: &Path, estate: &str, extra: &[&str]) -> (Value, Html, String, i32) {
    let path = dir.join("estate.toml");
    std::fs::write(&path, estate).unwrap();
    let html = dir.join("report.html");
    let out = format!("html={}", html.display());
    let mut args = vec![
        "check",
        path.to_str().unwrap(),
        "--no-config",
        "--today",
        "2026-11-26",
        "--format",
        "json",
        "--output",
        &out,
    ];
    args.extend(extra);
    let r = run(&args);
    let text = std::fs::read_to_string(&html).unwrap();
    (r.json, Html::parse_document(&text), text, r.code)
}

/// The requirements each built-in rule names in its header.
fn requirements() -> BTreeMap<String, Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/officescan");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".rhai").filter(|n| !n.starts_with('_')) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("//! requirement: "))
            .unwrap();
        out.insert(
            format!("officescan/{stem}"),
            line.split(',').map(|r| r.trim().to_string()).collect(),
        );
    }
    out
}

/// The matrix: subject -> (status, requirement -> cell).
type Matrix = BTreeMap<String, (String, BTreeMap<String, String>)>;

fn matrix(doc: &Html) -> Matrix {
    let mut out = Matrix::new();
    for row in doc.select(&sel("table.matrix tbody tr")) {
        let subject = row.value().attr("data-subject").unwrap().to_string();
        let status = row.select(&sel("td")).next().unwrap().inner_html();
        let cells = row
            .select(&sel("td[data-requirement]"))
            .map(|c| {
                (
                    c.value().attr("data-requirement").unwrap().to_string(),
                    c.inner_html(),
                )
            })
            .collect();
        out.insert(subject, (status, cells));
    }
    out
}

/// The subject a JSON finding counts for: its server, or a client's server.
fn subject_of(path: &str, estate: &toml::Table) -> String {
    if path.starts_with("servers[") {
        return path[..path.find(']').unwrap() + 1].to_string();
    }
    if let Some(rest) = path.strip_prefix("clients[\"") {
        let name = &rest[..rest.find('"').unwrap()];
        let clients = estate["clients"].as_array().unwrap();
        let client = clients.iter().find(|c| c["name"].as_str() == Some(name));
        let server = client
            .and_then(|c| c.get("server"))
            .and_then(|s| s.as_str());
        let servers = estate["servers"].as_array().unwrap();
        if let Some(s) = server.filter(|s| servers.iter().any(|t| t["name"].as_str() == Some(s))) {
            return format!("servers[\"{s}\"]");
        }
    }
    "(whole estate)".into()
}

const TWO_SERVERS: &str = r#"
[upgrade]
target_version = "10.6"
method = "in-place"

[[servers]]
name = "hq"
role = "upgrade"
version = "10.5"
os = "Windows Server 2003 R2"
arch = "x64"
web_server = "Apache"
host_name = "hq.corp.example.com"
identified_by = "fqdn"
ipv6 = "fd00::10"
name_resolves = true
program_dir = 'C:\PCCSRV'

[servers.backup]
database_tool = "web-console"
database_path = 'D:\Backup'
master_service_stopped = true
files = ["ofcscan.ini", "ous.ini", "Private", 'Web\tmOPP', 'Pccnt\Common\OfcPfw*.dat', 'Download\OfcPfw*.dat', "Log", "Virus", "HTTPDB"]

[[servers.domains]]
name = "HQ"
scan_method = "smart"

[[servers]]
name = "branch"
role = "upgrade"
version = "10.5"
os = "Windows Server 2008 R2"
arch = "x64"
web_server = "IIS"
host_name = "branch.corp.example.com"
identified_by = "fqdn"
ipv6 = "fd00::20"
name_resolves = true
program_dir = 'C:\PCCSRV'

[servers.backup]
database_tool = "web-console"
database_path = 'D:\Backup'
master_service_stopped = true
files = ["ofcscan.ini", "ous.ini", "Private", 'Web\tmOPP', 'Pccnt\Common\OfcPfw*.dat', 'Download\OfcPfw*.dat', "Log", "Virus", "HTTPDB"]

[[servers.domains]]
name = "BR"
scan_method = "smart"

[[clients]]
name = "ws-1"
server = "branch"
domain = "BR"
os = "Windows 7"
arch = "x64"
scan_method = "Smart"

[[waivers]]
rule = "officescan/server-on-apache"
at = 'servers["hq"]'
reason = "IIS move booked as CHG-7"
expires = 2027-01-31
"#;

#[test]
fn matrix_and_findings_agree_with_the_json_of_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let (json, doc, _, code) = both(dir.path(), TWO_SERVERS, &[]);
    assert_eq!(code, 1, "{json}");
    let estate: toml::Table = toml::from_str(TWO_SERVERS).unwrap();
    let reqs = requirements();
    let m = matrix(&doc);
    assert!(
        m.contains_key("servers[\"hq\"]") && m.contains_key("servers[\"branch\"]"),
        "{m:?}"
    );

    // Every finding of the JSON is a cell of its subject that is not a pass.
    let mut expected_fail: BTreeSet<(String, String)> = BTreeSet::new();
    for f in json["findings"].as_array().unwrap() {
        let subject = subject_of(f["path"].as_str().unwrap(), &estate);
        let (status, cells) = &m[&subject];
        let rule = f["rule"].as_str().unwrap();
        for r in &reqs[rule] {
            let cell = &cells[r];
            if f["waived"] == true {
                assert!(
                    cell == "waived" || cell == "fail" || cell == "warn",
                    "{subject} {r}: {cell}"
                );
            } else if f["severity"] == "error" {
                assert_eq!(cell, "fail", "{subject} {r}");
                assert_eq!(status, "blocked", "{subject}");
                expected_fail.insert((subject.clone(), r.clone()));
            } else {
                assert!(cell == "warn" || cell == "fail", "{subject} {r}: {cell}");
            }
        }
    }
    // And no cell fails without a finding behind it.
    for (subject, (_, cells)) in &m {
        for (r, cell) in cells {
            if cell == "fail" {
                assert!(
                    expected_fail.contains(&(subject.clone(), r.clone())),
                    "{subject} {r}"
                );
            }
        }
    }
    // hq: R1 (Windows 2003) fails; R3 (Apache) is waived; backups pass; moving is n/a.
    let hq = &m["servers[\"hq\"]"].1;
    assert_eq!(hq["R1"], "fail");
    assert_eq!(hq["R3"], "waived");
    assert_eq!(hq["R10"], "pass");
    assert_eq!(hq["R13"], "pass");
    assert_eq!(hq["R14"], "n/a");
    // branch: only its client's misspelt scan method (R22) fails.
    let (status, branch) = &m["servers[\"branch\"]"];
    assert_eq!(status, "blocked");
    assert_eq!(branch["R22"], "fail");
    assert_eq!(branch["R1"], "pass");
    assert_eq!(branch["R3"], "pass");
    assert_eq!(branch["R18"], "n/a");

    // One finding block per JSON finding, with the same rule and path.
    let shown: BTreeSet<(String, String)> = doc
        .select(&sel("div.finding"))
        .map(|d| {
            let v = d.value();
            (
                v.attr("data-rule").unwrap().into(),
                v.attr("data-path").unwrap().into(),
            )
        })
        .collect();
    let listed: BTreeSet<(String, String)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(shown, listed);
    assert_eq!(
        doc.select(&sel("div.finding")).count(),
        json["findings"].as_array().unwrap().len()
    );

    // The waiver: reason and expiry.
    let waivers: Vec<String> = doc
        .select(&sel("table.waivers tbody tr"))
        .map(|r| r.text().collect::<Vec<_>>().join("|"))
        .collect();
    assert_eq!(waivers.len(), 1, "{waivers:?}");
    assert!(waivers[0].contains("IIS move booked as CHG-7") && waivers[0].contains("2027-01-31"));
    // The estate excerpt marks the value at fault.
    let marks: Vec<String> = doc
        .select(&sel("pre.excerpt mark"))
        .map(|m| m.inner_html())
        .collect();
    assert!(
        marks.iter().any(|m| m.contains("Windows Server 2003 R2")),
        "{marks:?}"
    );
    assert_eq!(
        doc.select(&sel("#verdict"))
            .next()
            .unwrap()
            .value()
            .attr("data-verdict"),
        Some("blocked")
    );
}

#[test]
fn a_clean_estate_is_ready_and_the_report_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    let clean = TWO_SERVERS[..TWO_SERVERS.find("[[waivers]]").unwrap()]
        .replace("Windows Server 2003 R2", "Windows Server 2012 R2")
        .replace("\"Apache\"", "\"IIS\"")
        .replace("\"Smart\"", "\"smart\"");
    let (json, doc, text, code) = both(dir.path(), &clean, &[]);
    assert_eq!(code, 0, "{json}");
    let m = matrix(&doc);
    assert_eq!(m.len(), 2, "{m:?}");
    for (subject, (status, cells)) in &m {
        assert_eq!(status, "ready", "{subject}");
        assert!(
            cells.values().all(|c| c == "pass" || c == "n/a"),
            "{subject}: {cells:?}"
        );
        assert_eq!(cells["R4"], "pass");
    }
    assert_eq!(
        doc.select(&sel("#verdict"))
            .next()
            .unwrap()
            .value()
            .attr("data-verdict"),
        Some("ready")
    );
    // No script, stylesheet link, image or remote reference: it works offline.
    for tag in ["script", "link", "img", "iframe"] {
        assert_eq!(doc.select(&sel(tag)).count(), 0, "{tag}");
    }
    assert!(!text.contains("http://") && !text.contains("https://"));
    assert!(text.contains("@media print"));
}

#[test]
fn hostile_text_stays_text_and_failures_make_nothing_ready() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = TWO_SERVERS.replace(
        "web_server = \"Apache\"",
        "web_server = \"<script>alert(1)</script>\\u202e\"",
    );
    let (_, doc, text, _) = both(dir.path(), &hostile, &[]);
    assert_eq!(doc.select(&sel("script")).count(), 0);
    assert!(!text.contains('\u{202e}'));
    assert!(text.contains("&lt;script&gt;"));

    // A site rule that cannot run: the report says it is incomplete and calls nothing ready.
    let rules = site_rule(dir.path(), "broken.rhai", "//! severity: error\n//! title: Broken\n//! ## What it does\n//! Breaks.\n//! ## How to fix\n//! Nothing.\nfn check(estate) { let x = 1 / 0; }\n");
    let clean = TWO_SERVERS
        .replace("Windows Server 2003 R2", "Windows Server 2012 R2")
        .replace("\"Smart\"", "\"smart\"");
    let (json, doc, _, code) = both(dir.path(), &clean, &["--rules", rules.to_str().unwrap()]);
    assert_eq!(code, 2, "{json}");
    let m = matrix(&doc);
    assert!(m.values().all(|(status, _)| status != "ready"), "{m:?}");
    assert_eq!(doc.select(&sel("section.failures tbody tr")).count(), 1);
    assert_eq!(
        doc.select(&sel("#verdict"))
            .next()
            .unwrap()
            .value()
            .attr("data-verdict"),
        Some("incomplete")
    );
}

#[test]
fn a_flood_of_findings_is_listed_up_to_a_cap_and_counted_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let rules = site_rule(dir.path(), "every-client.rhai", "//! severity: error\n//! title: Every client\n//! requirement: R21\n//! ## What it does\n//! Flags.\n//! ## How to fix\n//! Nothing.\nfn check(estate) { for c in estate.clients { fail(c, \"name\", \"flagged\"); } }\n");
    let mut estate = String::from("[[servers]]\nname = \"hq\"\n");
    for i in 0..2100 {
        estate.push_str(&format!("[[clients]]\nname = \"c{i}\"\nserver = \"hq\"\n"));
    }
    // With the built-in pack beside it, the site rule's findings count for servers too.
    let (json, doc, _, code) = both(dir.path(), &estate, &["--rules", rules.to_str().unwrap()]);
    assert_eq!(code, 1);
    let all = json["findings"].as_array().unwrap().len();
    let mine = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "site/every-client")
        .count();
    assert_eq!(mine, 2100);
    assert_eq!(doc.select(&sel("div.finding")).count(), 2000);
    let omitted = doc.select(&sel("p.omitted")).next().unwrap();
    assert_eq!(
        omitted.value().attr("data-omitted"),
        Some(format!("{}", all - 2000).as_str())
    );
    // The matrix still holds the server every finding counts for.
    assert_eq!(matrix(&doc)["servers[\"hq\"]"].1["R21"], "fail");
}

#[test]
fn a_huge_matrix_is_cut_after_the_blocked_rows() {
    let dir = tempfile::tempdir().unwrap();
    // Applies to every server; fails only the one named `bad`.
    let rules = site_rule(dir.path(), "named.rhai", "//! severity: error\n//! title: Named\n//! requirement: R21\n//! ## What it does\n//! Flags.\n//! ## How to fix\n//! Nothing.\nfn check(estate) { for s in estate.servers { applies(s); applies(s); if s.name == \"bad\" { fail(s, \"name\", \"bad\"); } } }\n");
    let mut estate = String::new();
    for i in 0..5004 {
        estate.push_str(&format!("[[servers]]\nname = \"s{i:05}\"\n"));
    }
    estate.push_str("[[servers]]\nname = \"bad\"\n");
    // A site pack may declare its own rows.
    std::fs::write(
        rules.join("_schema.toml"),
        "[readiness]\nsubjects = \"servers\"\n",
    )
    .unwrap();
    let (_, doc, _, code) = both(
        dir.path(),
        &estate,
        &["--no-builtin", "--rules", rules.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    let rows: Vec<_> = doc.select(&sel("table.matrix tbody tr")).collect();
    assert_eq!(rows.len(), 5000);
    // The blocked server sorts last by name but is listed first.
    assert_eq!(
        rows[0].value().attr("data-subject"),
        Some("servers[\"bad\"]")
    );
    let omitted = doc.select(&sel("p.omitted")).next().unwrap();
    assert_eq!(omitted.value().attr("data-omitted-rows"), Some("5"));
}

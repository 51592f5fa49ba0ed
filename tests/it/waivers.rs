//! Waivers as a gate sees them: reviewed when a change adds them, bounded in time,
//! never renewed silently, and explained when they are written wrong.

use crate::support::{run, Run};

const TODAY: &str = "2026-11-26";

/// The clean example with Apache as web server: one error, on `servers["osce-hq"]`.
fn apache() -> String {
    std::fs::read_to_string("examples/estate.toml")
        .unwrap()
        .replacen("web_server = \"IIS\"", "web_server = \"Apache\"", 1)
}

fn waiver(rule: &str, at: &str, expires: &str) -> String {
    format!(
        "\n[[waivers]]\nrule = \"{rule}\"\nat = '{at}'\nreason = \"IIS migration in CHG-1042\"\nexpires = {expires}\n"
    )
}

const APACHE: &str = "officescan/server-on-apache";
const HQ: &str = "servers[\"osce-hq\"]";

struct Pair {
    dir: tempfile::TempDir,
}

impl Pair {
    fn new(base: &str, head: &str) -> Pair {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.toml"), base).unwrap();
        std::fs::write(dir.path().join("head.toml"), head).unwrap();
        Pair { dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn diff(&self, extra: &[&str]) -> Run {
        let (base, head) = (self.file("base.toml"), self.file("head.toml"));
        let mut args = vec!["diff", &base, &head, "--today", TODAY, "--format", "json"];
        if !extra.contains(&"--config") {
            args.push("--no-config");
        }
        args.extend(extra);
        run(&args)
    }
}

fn rules(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_waiver_the_change_adds_is_shown_first_and_can_be_denied() {
    let head = apache() + waiver(APACHE, HQ, "2027-03-31").as_str();
    let pair = Pair::new(&apache(), &head);
    let Run { json, code, .. } = pair.diff(&[]);
    assert_eq!(code, 0, "a warning by default: {json}");
    assert_eq!(rules(&json)[0], "preflight/waiver-added", "{json}");
    assert_eq!(json["findings"][0]["severity"], "warning");

    let Run { code, .. } = pair.diff(&["--deny", "warnings"]);
    assert_eq!(code, 1);

    let config = pair.file("preflight.toml");
    std::fs::write(&config, "[rules]\n\"preflight/waiver-added\" = \"deny\"\n").unwrap();
    let Run { json, code, .. } = pair.diff(&["--config", &config]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["findings"][0]["severity"], "error");

    // The same waiver in base and head is not news.
    let same = Pair::new(&head, &head);
    let Run { json, .. } = same.diff(&[]);
    assert!(!rules(&json).contains(&"preflight/waiver-added".to_string()));
}

#[test]
fn an_expired_waiver_fails_a_diff_and_cannot_renew_itself_for_ever() {
    let expired = apache() + waiver(APACHE, HQ, "2026-01-31").as_str();
    // An unrelated edit beside the expired waiver.
    let head = expired.replacen("# ", "#  ", 1);
    let Run { json, code, .. } = Pair::new(&expired, &head).diff(&[]);
    assert_eq!(code, 1, "{json}");
    let expired_finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "preflight/waiver-expired")
        .unwrap();
    assert_eq!(expired_finding["status"], "new");

    let renewed = apache() + waiver(APACHE, HQ, "9999-12-31").as_str();
    let Run { json, code, .. } = Pair::new(&expired, &renewed).diff(&[]);
    assert_eq!(code, 1, "{json}");
    assert!(rules(&json).contains(&"preflight/waiver-too-long".to_string()));
}

#[test]
fn max_waiver_days_and_ignore_waivers() {
    let dir = tempfile::tempdir().unwrap();
    let estate = dir.path().join("estate.toml");
    std::fs::write(
        &estate,
        apache() + waiver(APACHE, HQ, "2027-03-31").as_str(),
    )
    .unwrap();
    let path = estate.to_str().unwrap();
    let check = |extra: &[&str]| {
        let mut args = vec!["check", path, "--today", TODAY, "--format", "json"];
        args.extend(extra);
        run(&args)
    };
    let Run { json, code, .. } = check(&["--no-config"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["waived"], 1);

    let config = dir.path().join("preflight.toml");
    std::fs::write(&config, "max_waiver_days = 30\n").unwrap();
    let Run { json, code, .. } = check(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "{json}");
    assert!(rules(&json).contains(&"preflight/waiver-too-long".to_string()));
    assert_eq!(
        json["summary"]["waived"], 0,
        "a too-long waiver hides nothing"
    );

    let Run { json, code, .. } = check(&["--no-config", "--ignore-waivers"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["summary"]["waived"], 0);
}

#[test]
fn waiver_mistakes_are_explained_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let estate = dir.path().join("estate.toml");
    let text = apache()
        + waiver("officescan/server-on-apachee", HQ, "2027-03-31").as_str()
        + waiver(APACHE, "servers[osce-hq]", "2027-03-31").as_str()
        + waiver(APACHE, "servers.osce-hq", "2027-03-31").as_str()
        + waiver("officescan/*", "", "2027-03-31").as_str()
        + "\n[[waivers]]\nrule = \"officescan/server-on-apache\"\nreason = \"r\"\nexpires = \"2027-01-01\"\n";
    std::fs::write(&estate, text).unwrap();
    let Run { json, code, .. } = run(&[
        "check",
        estate.to_str().unwrap(),
        "--today",
        TODAY,
        "--format",
        "json",
        "--no-config",
    ]);
    assert_eq!(code, 1);
    let messages: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "preflight/waiver-invalid")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    let has = |s: &str| messages.iter().any(|m| m.contains(s));
    assert!(
        has("did you mean `officescan/server-on-apache`?"),
        "{messages:#?}"
    );
    assert!(
        has(r#"did you mean `servers["osce-hq"]`?"#),
        "{messages:#?}"
    );
    assert!(has("no rule of this run"), "{messages:#?}");
    assert!(has("write the date without quotes"), "{messages:#?}");
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("servers[\"osce-hq\"]`?"))
            .count(),
        2,
        "both path spellings are explained: {messages:#?}"
    );
    assert_eq!(messages.len(), 5, "one message per mistake: {messages:#?}");
    let doubled: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["path"].as_str().unwrap().starts_with("waivers")
                && f["rule"] != "preflight/waiver-invalid"
        })
        .collect();
    assert!(
        doubled.is_empty(),
        "the pack repeats a waiver mistake: {doubled:#?}"
    );
    assert_eq!(json["summary"]["waived"], 0);
}

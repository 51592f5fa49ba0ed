//! JSON Schema for editors: the committed files are what `preflight schema` prints, and
//! they accept compliant estates and refuse wrongly typed ones.

use crate::support::run;

/// TOML as the JSON an editor's schema validator sees (dates as strings).
fn to_json(value: toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => s.into(),
        toml::Value::Integer(i) => i.into(),
        toml::Value::Float(f) => f.into(),
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => a.into_iter().map(to_json).collect(),
        toml::Value::Table(t) => t.into_iter().map(|(k, v)| (k, to_json(v))).collect(),
    }
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/estate.json").unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn estate(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    to_json(toml::Value::Table(toml::from_str(&text).unwrap()))
}

#[test]
fn committed_schemas_are_what_preflight_prints() {
    for (of, file) in [
        ("estate", "schemas/estate.json"),
        ("config", "schemas/preflight.json"),
    ] {
        let printed = run(&["schema", of]).stdout;
        let committed = std::fs::read_to_string(file).unwrap_or_default();
        assert_eq!(
            printed, committed,
            "{file} drifted: run `preflight schema {of} > {file}`"
        );
    }
}

#[test]
fn compliant_estates_validate_and_type_errors_do_not() {
    let v = validator();
    for path in [
        "examples/estate.toml",
        "rules/officescan/tests/compliant.toml",
    ] {
        let errors: Vec<String> = v
            .iter_errors(&estate(path))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{path}: {errors:#?}");
    }
    let mut wrong = estate("examples/estate.toml");
    wrong["servers"][0]["port"] = "8080".into();
    assert!(!v.is_valid(&wrong));
    let mut wrong = estate("examples/estate.toml");
    wrong["servers"][0]["role"] = "upgrader".into();
    assert!(!v.is_valid(&wrong));
    let mut site = estate("examples/estate.toml");
    site["servers"][0]["x_owner"] = "it".into();
    site["site"] = serde_json::json!({ "anything": [1, 2] });
    assert!(v.is_valid(&site), "site data stays allowed");
}

#[test]
fn the_config_schema_accepts_the_documented_example() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/preflight.json").unwrap()).unwrap();
    let v = jsonschema::draft202012::new(&schema).unwrap();
    let config = to_json(toml::Value::Table(
        toml::from_str(
            "rule_dirs = [\"site-rules\"]\nfail_on = \"error\"\nmax_waiver_days = 90\n[rules]\n\"officescan/*\" = \"deny\"\n[limits]\ntimeout = 10\n",
        )
        .unwrap(),
    ));
    assert!(v.is_valid(&config));
    let bad = to_json(toml::Value::Table(
        toml::from_str("fail_onn = 1\n").unwrap(),
    ));
    assert!(!v.is_valid(&bad));
}

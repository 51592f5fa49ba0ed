//! JSON Schema (2020-12) for editors: the estate format generated from the built-in
//! pack's `_schema.toml` (the definition its rules check against) with descriptions
//! from `docs/estate-format.md`, and `preflight.toml` from the config reader's keys.

use crate::engine::schema::{KeySpec, Schema};
use serde_json::{json, Map, Value};

const ESTATE_DOC: &str = include_str!("../docs/estate-format.md");
const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Descriptions by (schema table path, key), read from the format's documentation.
fn descriptions() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut table = None;
    for line in ESTATE_DOC.lines() {
        if line.starts_with("## ") || line.starts_with("### ") {
            table = [
                ("`[upgrade]`", "upgrade"),
                ("`[[servers]]`", "servers[]"),
                ("`[servers.backup]`", "servers[].backup"),
                ("`[[servers.domains]]`", "servers[].domains[]"),
                ("`[[clients]]`", "clients[]"),
                ("`[[waivers]]`", "waivers[]"),
            ]
            .iter()
            .find(|(heading, _)| line.contains(heading))
            .map(|(_, path)| path.to_string());
            // The heading describes the table as a key of its parent.
            if let (Some(path), Some((_, text))) = (&table, line.split_once("`: ")) {
                let bare = path.trim_end_matches("[]");
                let (parent, key) = bare.rsplit_once('.').unwrap_or(("", bare));
                out.push((parent.to_string(), key.to_string(), text.trim().to_string()));
            }
            continue;
        }
        let (Some(path), Some(row)) = (&table, line.strip_prefix("| `")) else {
            continue;
        };
        let cells: Vec<&str> = row.split(" | ").collect();
        let (Some(keys), Some(meaning)) = (cells.first(), cells.get(2)) else {
            continue;
        };
        let meaning = meaning.trim_end_matches(" |").trim();
        for key in keys.split(", ") {
            let key = key.trim_matches('`').to_string();
            out.push((path.clone(), key, meaning.to_string()));
        }
    }
    out
}

fn key_schema(spec: &KeySpec) -> Value {
    match spec {
        KeySpec::OneOf(values) => json!({ "type": "string", "enum": values }),
        KeySpec::Type(t) => match t.as_str() {
            "string" | "ipv4" | "ipv6" => json!({ "type": "string" }),
            "integer" => json!({ "type": "integer" }),
            "float" => json!({ "type": "number" }),
            "boolean" => json!({ "type": "boolean" }),
            "datetime" => json!({ "type": "string", "format": "date" }),
            "table" => json!({ "type": "object" }),
            "array<table>" => json!({ "type": "array", "items": { "type": "object" } }),
            "array<string>" => json!({ "type": "array", "items": { "type": "string" } }),
            "array" => json!({ "type": "array" }),
            _ => json!({}),
        },
    }
}

/// The object schema of table `path`, with its sub-tables nested.
fn table_schema(schema: &Schema, path: &str, docs: &[(String, String, String)]) -> Value {
    let mut properties = Map::new();
    for (key, spec) in schema.table(path).unwrap_or(&[]) {
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let mut value = if schema.table(&format!("{child}[]")).is_some() {
            json!({ "type": "array", "items": table_schema(schema, &format!("{child}[]"), docs) })
        } else if schema.table(&child).is_some() {
            table_schema(schema, &child, docs)
        } else {
            key_schema(spec)
        };
        if let Some((_, _, text)) = docs.iter().find(|(p, k, _)| p == path && k == key) {
            value["description"] = json!(text);
        }
        properties.insert(key.clone(), value);
    }
    json!({
        "type": "object",
        "properties": properties,
        // Site data is always welcome in `x_` keys.
        "patternProperties": { "^x_": {} },
        "additionalProperties": false,
    })
}

/// The estate format as JSON Schema; `None` if the built-in schema does not parse.
pub fn estate() -> Option<Value> {
    let text = crate::engine::rule::builtin_file("officescan/_schema.toml")?;
    let schema = Schema::parse(text).ok()?;
    let mut root = table_schema(&schema, "", &descriptions());
    root["$schema"] = json!(DRAFT);
    root["title"] = json!("preflight estate");
    root["description"] =
        json!("An OfficeScan estate and its upgrade plan, as preflight checks it");
    if let Some(site) = root["properties"].get_mut("site") {
        *site = json!({ "type": "object", "description": "site data, never checked by the built-in pack" });
    }
    Some(root)
}

/// `preflight.toml` as JSON Schema, from the keys the config reader accepts.
pub fn config() -> Value {
    let level = json!({ "type": "string", "enum": ["allow", "warn", "deny"] });
    let positive = json!({ "type": "integer", "minimum": 1 });
    let mut limits = Map::new();
    for key in crate::config::LIMIT_KEYS {
        let value = if *key == "timeout" {
            json!({ "type": "number", "exclusiveMinimum": 0, "description": "seconds per rule and estate" })
        } else {
            positive.clone()
        };
        limits.insert((*key).to_string(), value);
    }
    let mut properties = Map::new();
    for key in crate::config::TOP_KEYS {
        let value = match *key {
            "rule_dirs" => {
                json!({ "type": "array", "items": { "type": "string" }, "description": "site rule directories, relative to this file" })
            }
            "builtin" => json!({ "type": "boolean", "description": "load the built-in pack" }),
            "fail_on" => {
                json!({ "type": "string", "enum": ["error", "warning", "note"], "description": "the lowest severity that fails a run" })
            }
            "rules" => {
                json!({ "type": "object", "additionalProperties": level, "description": "levels per rule id, `pack/*` or `*`" })
            }
            "limits" => {
                json!({ "type": "object", "properties": limits, "additionalProperties": false })
            }
            "max_waiver_days" => {
                json!({ "type": "integer", "minimum": 1, "description": "how far ahead a waiver may expire" })
            }
            _ => json!({}),
        };
        properties.insert((*key).to_string(), value);
    }
    json!({
        "$schema": DRAFT,
        "title": "preflight.toml",
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_key_has_a_description() {
        let estate = super::estate().unwrap();
        let servers = &estate["properties"]["servers"]["items"]["properties"];
        assert!(servers["role"]["enum"].as_array().unwrap().len() == 4);
        for (key, value) in servers.as_object().unwrap() {
            assert!(value["description"].is_string(), "servers.{key}");
        }
    }
}

//! Merging entries into the estate with `toml_edit`: matched entries get the mapped
//! values and keep everything else (keys, comments, order, formatting); new entries are
//! appended; entries the export lacks are kept, or removed with `--prune`.

use super::map::Entry;
use std::collections::HashMap;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// What a merge did, entry by entry (names are entry keys, in estate order).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
    /// Entries the export does not have, kept.
    pub absent: Vec<String>,
    /// Entries the export does not have, removed by `--prune`.
    pub removed: Vec<String>,
}

/// Whether two values are the same data, whatever their spelling (`'a'` and `"a"`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.value() == y.value(),
        (Value::Integer(x), Value::Integer(y)) => x.value() == y.value(),
        (Value::Float(x), Value::Float(y)) => x.value().to_bits() == y.value().to_bits(),
        (Value::Boolean(x), Value::Boolean(y)) => x.value() == y.value(),
        (Value::Datetime(x), Value::Datetime(y)) => x.value() == y.value(),
        _ => false,
    }
}

/// Sets `key` in `entry`; an existing value keeps its surrounding spaces and comment.
/// Returns whether anything changed.
fn set(entry: &mut Table, key: &str, value: &Value) -> bool {
    match entry.get_mut(key) {
        Some(Item::Value(old)) => {
            if same(old, value) {
                return false;
            }
            let decor = old.decor().clone();
            *old = value.clone();
            *old.decor_mut() = decor;
            true
        }
        Some(item) => {
            *item = Item::Value(value.clone());
            true
        }
        None => {
            entry.insert(key, Item::Value(value.clone()));
            true
        }
    }
}

/// Merges `entries` into `doc`'s array of tables `table`, matching on `key`.
/// `Err` when `table` exists but is not an array of tables.
pub fn merge(
    doc: &mut DocumentMut,
    table: &str,
    key: &str,
    entries: &[Entry],
    prune: bool,
) -> Result<Summary, String> {
    let item = doc
        .as_table_mut()
        .entry(table)
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    let Some(array) = item.as_array_of_tables_mut() else {
        return Err(format!(
            "`{table}` is not an array of tables (`[[{table}]]` entries), so rows cannot be merged into it"
        ));
    };
    let mut index: HashMap<String, usize> = HashMap::with_capacity(array.len());
    for (i, t) in array.iter().enumerate() {
        if let Some(k) = t.get(key).and_then(Item::as_str) {
            // With duplicates in the estate, the first is the one refreshed.
            index.entry(k.to_string()).or_insert(i);
        }
    }
    let mut summary = Summary::default();
    let mut seen = vec![false; array.len()];
    for e in entries {
        match index.get(&e.key) {
            Some(&i) => {
                seen[i] = true;
                let t = array.get_mut(i).expect("indexed entries exist");
                let mut changed = false;
                for (k, v) in &e.values {
                    changed |= set(t, k, v);
                }
                if changed {
                    summary.changed.push(e.key.clone());
                } else {
                    summary.unchanged += 1;
                }
            }
            None => {
                let mut t = Table::new();
                for (k, v) in &e.values {
                    t.insert(k, Item::Value(v.clone()));
                }
                array.push(t);
                summary.added.push(e.key.clone());
            }
        }
    }
    // Entries without a key are hand-written data the export cannot speak for.
    let absent: Vec<(usize, String)> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| !**s)
        .filter_map(|(i, _)| {
            let name = array.get(i)?.get(key)?.as_str()?;
            Some((i, name.to_string()))
        })
        .collect();
    if prune {
        for (i, _) in absent.iter().rev() {
            array.remove(*i);
        }
        summary.removed = absent.into_iter().map(|(_, n)| n).collect();
    } else {
        summary.absent = absent.into_iter().map(|(_, n)| n).collect();
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, values: &[(&str, &str)]) -> Entry {
        Entry {
            key: key.into(),
            values: values
                .iter()
                .map(|(k, v)| (std::sync::Arc::from(*k), Value::from(*v)))
                .collect(),
        }
    }

    const ESTATE: &str = r#"[upgrade]
target_version = "10.6"

# the lab machines
[[clients]]
name = "pc1"
os   = 'Windows 7'   # checked by hand
x_owner = "ana"

[[clients]]
name = "pc2"
os = "Windows XP"

[[waivers]]
rule = "r"
"#;

    #[test]
    fn refresh_keeps_what_the_export_does_not_say() {
        let mut doc: DocumentMut = ESTATE.parse().unwrap();
        let entries = [
            entry("pc1", &[("name", "pc1"), ("os", "Windows 10")]),
            entry("pc3", &[("name", "pc3"), ("os", "Windows 11")]),
        ];
        let s = merge(&mut doc, "clients", "name", &entries, false).unwrap();
        assert_eq!(s.changed, ["pc1"]);
        assert_eq!(s.added, ["pc3"]);
        assert_eq!(s.absent, ["pc2"]);
        let text = doc.to_string();
        assert!(text.contains("# the lab machines\n[[clients]]\nname = \"pc1\"\nos   = \"Windows 10\"   # checked by hand\nx_owner = \"ana\"\n"), "{text}");
        // New entries follow the last client, before the waivers.
        let pc3 = text.find("pc3").unwrap();
        assert!(
            text.find("pc2").unwrap() < pc3 && pc3 < text.find("[[waivers]]").unwrap(),
            "{text}"
        );
    }

    #[test]
    fn same_data_is_unchanged_and_prune_removes_only_the_absent() {
        let mut doc: DocumentMut = ESTATE.parse().unwrap();
        let entries = [entry("pc1", &[("os", "Windows 7")])];
        let s = merge(&mut doc, "clients", "name", &entries, true).unwrap();
        assert_eq!(
            (s.unchanged, s.removed.clone()),
            (1, vec!["pc2".to_string()])
        );
        let text = doc.to_string();
        assert!(
            !text.contains("pc2") && text.contains("os   = 'Windows 7'"),
            "{text}"
        );
    }

    #[test]
    fn a_table_that_is_not_an_array_is_refused() {
        let mut doc: DocumentMut = "[clients]\nname = 1\n".parse().unwrap();
        assert!(merge(&mut doc, "clients", "name", &[], false).is_err());
    }
}

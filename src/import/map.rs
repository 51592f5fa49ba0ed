//! MAP.toml: which estate table rows become entries of, the key they are matched on,
//! how each column maps to an estate key (with an optional spelling table) and the
//! constants every imported entry gets; and turning one row into one entry.

use super::source::{Cell, Row};
use crate::estate::Source;
use crate::report::{Failure, FailureKind};
use crate::suggest::closest;
use std::ops::Range;
use std::sync::Arc;
use toml_edit::{Item, TableLike, Value};

/// The keys entries of `[[table]]` may have: the built-in pack's estate schema, the
/// one definition its rules check against.
pub fn known_keys(table: &str) -> Vec<&'static str> {
    static SCHEMA: std::sync::OnceLock<Option<crate::engine::schema::Schema>> =
        std::sync::OnceLock::new();
    let schema = SCHEMA.get_or_init(|| {
        crate::engine::rule::builtin_file("officescan/_schema.toml")
            .and_then(|text| crate::engine::schema::Schema::parse(text).ok())
    });
    schema
        .as_ref()
        .and_then(|s| s.table(&format!("{table}[]")))
        .map(|keys| keys.iter().map(|(k, _)| k.as_str()).collect())
        .unwrap_or_default()
}

const TABLES: [&str; 2] = ["servers", "clients"];
const FIELDS: [&str; 4] = ["table", "key", "columns", "constants"];
const COLUMN_FIELDS: [&str; 3] = ["key", "values", "strict"];

/// How one SOURCE column becomes one estate key.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub key: Arc<str>,
    /// Source spelling → estate value; empty means values pass as they are.
    pub values: Vec<(String, Value)>,
    /// A value outside `values` is a failure rather than passed through.
    pub strict: bool,
    /// Where the column is named in the map.
    pub span: Range<usize>,
}

/// A map, validated.
#[derive(Debug)]
pub struct Map {
    pub source: Arc<Source>,
    pub table: String,
    pub key: String,
    pub columns: Vec<Column>,
    pub constants: Vec<(Arc<str>, Value)>,
}

/// One row as an estate entry: its key and its values in map order.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    /// Estate keys are shared with the map, not copied per row.
    pub values: Vec<(Arc<str>, Value)>,
}

/// Collects problems with their spans while the map is read.
struct Reader {
    source: Arc<Source>,
    failures: Vec<Failure>,
}

impl Reader {
    fn fail(&mut self, span: Option<Range<usize>>, message: String) {
        self.failures.push(Failure::located(
            FailureKind::Config,
            &self.source,
            span.unwrap_or(0..0),
            message,
        ));
    }

    fn unknown_field(&mut self, span: Option<Range<usize>>, name: &str, of: &str, known: &[&str]) {
        let hint = closest(name, known.iter().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_else(|| format!(" (known: {})", known.join(", ")));
        self.fail(span, format!("unknown field `{name}` in {of}{hint}"));
    }

    /// Checks that `key` is an estate key of `table`; site keys (`x_*`) always are.
    fn estate_key(&mut self, table: &str, key: &str, span: Option<Range<usize>>) -> bool {
        let known = known_keys(table);
        if key.starts_with("x_") || known.contains(&key) {
            return true;
        }
        let hint = closest(key, known.iter().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        self.fail(
            span,
            format!("`{key}` is not a key of `[[{table}]]` entries{hint}"),
        );
        false
    }
}

fn key_span(t: &dyn TableLike, k: &str) -> Option<Range<usize>> {
    t.key(k).and_then(|k| k.span())
}

/// A fresh, undecorated copy of a scalar from the map; `None` for arrays and tables.
fn scalar(item: &Item) -> Option<Value> {
    Some(match item.as_value()? {
        Value::String(s) => Value::from(s.value().as_str()),
        Value::Integer(i) => Value::from(*i.value()),
        Value::Float(f) => Value::from(*f.value()),
        Value::Boolean(b) => Value::from(*b.value()),
        Value::Datetime(d) => Value::from(*d.value()),
        Value::Array(_) | Value::InlineTable(_) => return None,
    })
}

/// Reads and validates a map; every problem is a located failure.
pub fn parse(source: Source) -> Result<Map, Vec<Failure>> {
    let source = Arc::new(source);
    let doc = match toml_edit::Document::parse(source.text().to_string()) {
        Ok(d) => d,
        Err(e) => {
            return Err(vec![Failure::located(
                FailureKind::TomlSyntax,
                &source,
                e.span().unwrap_or(0..0),
                e.message().to_string(),
            )])
        }
    };
    let mut r = Reader {
        source: source.clone(),
        failures: Vec::new(),
    };
    let root = doc.as_table();
    for (name, _) in root.iter() {
        if !FIELDS.contains(&name) {
            r.unknown_field(key_span(root, name), name, "the map", &FIELDS);
        }
    }
    let table = match root.get("table").map(|i| (i.as_str(), i.span())) {
        Some((Some(t), _)) if TABLES.contains(&t) => t.to_string(),
        Some((_, span)) => {
            r.fail(span, "`table` must be \"servers\" or \"clients\"".into());
            String::new()
        }
        None => {
            r.fail(
                None,
                "the map has no `table` (\"servers\" or \"clients\")".into(),
            );
            String::new()
        }
    };
    let key = match root.get("key").map(|i| (i.as_str(), i.span())) {
        Some((Some(k), span)) => {
            if !table.is_empty() {
                r.estate_key(&table, k, span);
            }
            k.to_string()
        }
        Some((None, span)) => {
            r.fail(
                span,
                "`key` must be the estate key rows are matched on, such as \"name\"".into(),
            );
            String::new()
        }
        None => {
            r.fail(
                None,
                "the map has no `key` (the estate key rows are matched on)".into(),
            );
            String::new()
        }
    };
    let mut columns = Vec::new();
    match root.get("columns").map(|i| (i.as_table_like(), i.span())) {
        Some((Some(t), _)) => {
            for (name, item) in t.iter() {
                if let Some(c) = column(&mut r, &table, t, name, item) {
                    columns.push(c);
                }
            }
        }
        Some((None, span)) => r.fail(span, "`columns` must be a table".into()),
        None => r.fail(None, "the map has no `[columns]`".into()),
    }
    let mut constants = Vec::new();
    match root.get("constants").map(|i| (i.as_table_like(), i.span())) {
        Some((Some(t), _)) => {
            for (k, item) in t.iter() {
                let span = key_span(t, k);
                if !table.is_empty() && !r.estate_key(&table, k, span.clone()) {
                    continue;
                }
                match scalar(item) {
                    Some(v) => constants.push((Arc::from(k), v)),
                    None => r.fail(
                        item.span().or(span),
                        format!("constant `{k}` must be a single value"),
                    ),
                }
            }
        }
        Some((None, span)) => r.fail(span, "`constants` must be a table".into()),
        None => {}
    }
    let map = Map {
        source,
        table,
        key,
        columns,
        constants,
    };
    check_targets(&mut r, &map, root);
    if r.failures.is_empty() {
        Ok(map)
    } else {
        Err(r.failures)
    }
}

/// Every estate key is filled once, and the matching key by a column.
fn check_targets(r: &mut Reader, map: &Map, root: &toml_edit::Table) {
    let mut seen: Vec<&str> = Vec::new();
    for c in &map.columns {
        if seen.contains(&&*c.key) {
            r.fail(
                Some(c.span.clone()),
                format!("`{}` is filled by two columns", c.key),
            );
        }
        seen.push(&c.key);
    }
    let constants = root.get("constants").and_then(Item::as_table_like);
    for (k, _) in &map.constants {
        if seen.contains(&&**k) {
            let span = constants.and_then(|t| key_span(t, k));
            r.fail(span, format!("`{k}` is both a column and a constant"));
        }
    }
    let has_key_column = map.columns.iter().any(|c| *c.key == *map.key);
    if !map.key.is_empty() && !has_key_column && root.contains_key("columns") {
        let span = root.get("key").and_then(Item::span);
        r.fail(
            span,
            format!(
                "no column maps to `{}`, the key rows are matched on",
                map.key
            ),
        );
    }
}

fn column(
    r: &mut Reader,
    table: &str,
    columns: &dyn TableLike,
    name: &str,
    item: &Item,
) -> Option<Column> {
    let span = key_span(columns, name)
        .or_else(|| item.span())
        .unwrap_or(0..0);
    let of = format!("column `{name}`");
    let mut c = Column {
        name: name.to_string(),
        key: Arc::from(""),
        values: Vec::new(),
        strict: false,
        span: span.clone(),
    };
    if let Some(k) = item.as_str() {
        c.key = Arc::from(k);
    } else if let Some(t) = item.as_table_like() {
        for (field, _) in t.iter() {
            if !COLUMN_FIELDS.contains(&field) {
                r.unknown_field(key_span(t, field), field, &of, &COLUMN_FIELDS);
            }
        }
        match t.get("key").map(|i| (i.as_str(), i.span())) {
            Some((Some(k), _)) => c.key = Arc::from(k),
            Some((None, s)) => r.fail(s, format!("{of}: `key` must be a string")),
            None => r.fail(Some(span.clone()), format!("{of} has no `key`")),
        }
        match t.get("values").map(|i| (i.as_table_like(), i.span())) {
            Some((Some(values), _)) => {
                for (from, to) in values.iter() {
                    match scalar(to) {
                        Some(v) => c.values.push((from.to_string(), v)),
                        None => r.fail(
                            to.span().or_else(|| key_span(values, from)),
                            format!("{of}: the value for `{from}` must be a single value"),
                        ),
                    }
                }
            }
            Some((None, s)) => r.fail(s, format!("{of}: `values` must be a table")),
            None => {}
        }
        match t.get("strict").map(|i| (i.as_bool(), i.span())) {
            Some((Some(b), _)) => c.strict = b,
            Some((None, s)) => r.fail(s, format!("{of}: `strict` must be true or false")),
            None => {}
        }
        if c.strict && c.values.is_empty() {
            r.fail(
                Some(span.clone()),
                format!("{of}: `strict = true` needs `values`"),
            );
        }
    } else {
        r.fail(
            item.span().or(Some(span)),
            format!("{of} must map to an estate key, or to {{ key = ..., values = {{ ... }} }}"),
        );
        return None;
    }
    if c.key.is_empty() {
        return None;
    }
    let key_span = match item.as_table_like() {
        Some(t) => t.get("key").and_then(Item::span),
        None => item.span(),
    };
    (table.is_empty() || r.estate_key(table, &c.key, key_span)).then_some(c)
}

impl Map {
    /// Failures for columns the CSV header lacks, located in the map.
    pub fn check_header(&self, header: &[String], source_name: &str) -> Vec<Failure> {
        self.columns
            .iter()
            .filter(|c| !header.contains(&c.name))
            .map(|c| {
                let hint = closest(&c.name, header.iter().map(String::as_str))
                    .map(|h| format!("; did you mean `{h}`?"))
                    .unwrap_or_default();
                Failure::located(
                    FailureKind::Config,
                    &self.source,
                    c.span.clone(),
                    format!(
                        "column `{}` is not in the header of `{source_name}`{hint}",
                        c.name
                    ),
                )
            })
            .collect()
    }

    /// The row as an entry; a row without a key or with a value outside a strict
    /// column's `values` is a failure located on the row in `source`.
    pub fn entry(&self, row: &Row, source: &Arc<Source>) -> Result<Entry, Box<Failure>> {
        let fail = |column: &str, message: String| {
            Box::new(Failure::located(
                FailureKind::Io,
                source,
                row.span.clone(),
                format!("row on line {}, column `{column}`: {message}", row.line),
            ))
        };
        let mut key = None;
        let mut values = Vec::with_capacity(self.columns.len() + self.constants.len());
        for c in &self.columns {
            let Some(cell) = row.get(&c.name) else {
                if *c.key == *self.key {
                    return Err(fail(&c.name, format!("the key `{}` is empty", c.key)));
                }
                continue;
            };
            let text = cell.text();
            let value = match c.values.iter().find(|(from, _)| *from == *text) {
                Some((_, to)) => to.clone(),
                None if c.strict => {
                    let allowed: Vec<String> =
                        c.values.iter().map(|(f, _)| format!("`{f}`")).collect();
                    return Err(fail(
                        &c.name,
                        format!(
                            "`{text}` is none of the values the map allows ({})",
                            allowed.join(", ")
                        ),
                    ));
                }
                None => match cell {
                    Cell::Text(s) => Value::from(s.as_str()),
                    Cell::Integer(i) => Value::from(*i),
                    Cell::Float(f) => Value::from(*f),
                    Cell::Bool(b) => Value::from(*b),
                },
            };
            if *c.key == *self.key {
                match value.as_str() {
                    Some(k) => key = Some(k.to_string()),
                    None => return Err(fail(&c.name, format!("the key `{}` must be text", c.key))),
                }
            }
            values.push((c.key.clone(), value));
        }
        values.extend(self.constants.iter().cloned());
        let key = key.ok_or_else(|| fail(&self.key, format!("the key `{}` is empty", self.key)))?;
        Ok(Entry { key, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Result<Map, Vec<Failure>> {
        parse(Source::new("map.toml", text.to_string()))
    }

    const GOOD: &str = r#"
table = "clients"
key = "name"
[columns]
"Computer Name" = "name"
"Scan Method" = { key = "scan_method", values = { "Smart Scan" = "smart" }, strict = true }
[constants]
server = "osce-hq"
"#;

    #[test]
    fn a_good_map_reads() {
        let m = map(GOOD).unwrap();
        assert_eq!(m.table, "clients");
        assert_eq!(m.columns.len(), 2);
        assert!(m.columns[1].strict);
        assert_eq!(&*m.constants[0].0, "server");
    }

    #[test]
    fn unknown_fields_and_keys_are_located_with_suggestions() {
        let text = GOOD
            .replace("strict = true", "strikt = true")
            .replace("\"name\"\n\"Scan", "\"nmae\"\n\"Scan")
            .replace("[constants]", "colour = 1\n[constants]");
        let failures = map(&text).unwrap_err();
        let messages: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`strikt`") && m.contains("`strict`")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`nmae`") && m.contains("`name`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("`colour`")),
            "{messages:?}"
        );
        assert!(failures
            .iter()
            .all(|f| f.span.as_ref().is_some_and(|s| !s.is_empty())));
    }

    #[test]
    fn rows_map_to_entries() {
        let m = map(GOOD).unwrap();
        let source = Arc::new(Source::new("s.csv", "x\n".into()));
        let row = |cells: &[(&str, &str)]| Row {
            line: 3,
            span: 0..1,
            cells: cells
                .iter()
                .map(|(c, v)| (Arc::from(*c), Cell::Text(v.to_string())))
                .collect(),
        };
        let e = m
            .entry(
                &row(&[("Computer Name", "pc1"), ("Scan Method", "Smart Scan")]),
                &source,
            )
            .unwrap();
        assert_eq!(e.key, "pc1");
        assert_eq!(e.values[1].1.as_str(), Some("smart"));
        assert_eq!(&*e.values[2].0, "server");
        let bad = m
            .entry(
                &row(&[("Computer Name", "pc1"), ("Scan Method", "Fast")]),
                &source,
            )
            .unwrap_err();
        assert!(
            bad.message.contains("line 3, column `Scan Method`"),
            "{}",
            bad.message
        );
        let empty = m
            .entry(&row(&[("Scan Method", "Smart Scan")]), &source)
            .unwrap_err();
        assert!(empty.message.contains("empty"), "{}", empty.message);
    }
}

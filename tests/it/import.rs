//! `preflight import` through the binary: re-imports keep hand-written data, changes
//! touch only what changed, `--prune` and `--dry-run` do what they say, UTF-16 and
//! JSON exports read, and bad input is located and writes nothing.

use crate::support::run;
use std::fs;
use std::path::{Path, PathBuf};

const MAP: &str = r#"table = "clients"
key = "name"
[columns]
"Computer Name" = "name"
"Domain" = "domain"
"OS" = "os"
"Scan Method" = { key = "scan_method", values = { "Smart Scan" = "smart", "Conventional Scan" = "conventional" }, strict = true }
[constants]
server = "osce-hq"
"#;

const HEADER: &str = "Computer Name,Domain,OS,Scan Method\n";

/// A scratch directory holding the map, and paths for the export and the estate.
struct Dir {
    _tmp: tempfile::TempDir,
    map: PathBuf,
    csv: PathBuf,
    estate: PathBuf,
}

fn dir() -> Dir {
    let tmp = tempfile::tempdir().unwrap();
    let map = tmp.path().join("map.toml");
    fs::write(&map, MAP).unwrap();
    Dir {
        map,
        csv: tmp.path().join("export.csv"),
        estate: tmp.path().join("estate.toml"),
        _tmp: tmp,
    }
}

fn rows(n: usize) -> String {
    let mut s = HEADER.to_string();
    for i in 1..=n {
        s.push_str(&format!("pc{i},Lab,Windows 10,Smart Scan\n"));
    }
    s
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `preflight import` of the directory's export into its estate, unchecked unless
/// `extra` says otherwise.
fn import(d: &Dir, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "import",
        s(&d.csv),
        "--map",
        s(&d.map),
        "--into",
        s(&d.estate),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn a_comment_and_a_hand_written_key_survive_a_re_import() {
    let d = dir();
    fs::write(&d.csv, rows(3)).unwrap();
    let first = import(&d, &["--no-check"]);
    assert_eq!(first.code, 0, "{}", first.stdout);
    assert!(first.stdout.contains("3 added"), "{}", first.stdout);
    let text = fs::read_to_string(&d.estate).unwrap();
    let edited = text
        .replace(
            "[[clients]]\nname = \"pc2\"",
            "# kept by hand\n[[clients]]\nname = \"pc2\"",
        )
        .replace(
            "os = \"Windows 10\"\n",
            "os = \"Windows 10\" # from the console\nx_owner = \"ana\"\n",
        );
    fs::write(&d.estate, &edited).unwrap();
    let again = import(&d, &["--no-check"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert!(
        again.stdout.contains("0 added, 0 changed, 3 unchanged"),
        "{}",
        again.stdout
    );
    assert_eq!(fs::read_to_string(&d.estate).unwrap(), edited);
}

#[test]
fn a_changed_row_changes_only_its_values() {
    let d = dir();
    fs::write(&d.csv, rows(5)).unwrap();
    assert_eq!(import(&d, &["--no-check"]).code, 0);
    let before = fs::read_to_string(&d.estate).unwrap();
    fs::write(
        &d.csv,
        rows(5).replace("pc3,Lab,Windows 10", "pc3,Lab,Windows 11"),
    )
    .unwrap();
    let out = import(&d, &["--no-check"]);
    assert!(
        out.stdout.contains("0 added, 1 changed, 4 unchanged"),
        "{}",
        out.stdout
    );
    let after = fs::read_to_string(&d.estate).unwrap();
    let differing: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(differing, [("os = \"Windows 10\"", "os = \"Windows 11\"")]);
    let pc3 = after.find("\"pc3\"").unwrap();
    assert!(after[pc3..].find("Windows 11").unwrap() < after[pc3..].find("pc4").unwrap());
}

#[test]
fn prune_removes_exactly_the_absent_entries() {
    let d = dir();
    fs::write(&d.csv, rows(5)).unwrap();
    assert_eq!(import(&d, &["--no-check"]).code, 0);
    let mut fewer = HEADER.to_string();
    for i in [1, 3, 5] {
        fewer.push_str(&format!("pc{i},Lab,Windows 10,Smart Scan\n"));
    }
    fs::write(&d.csv, fewer).unwrap();
    let kept = import(&d, &["--no-check"]);
    assert!(
        kept.stdout.contains("2 not in the export, 0 removed"),
        "{}",
        kept.stdout
    );
    assert!(
        kept.stdout
            .contains("not in the export (kept; --prune removes them):\n  pc2\n  pc4\n"),
        "{}",
        kept.stdout
    );
    let before = fs::read_to_string(&d.estate).unwrap();
    assert!(before.contains("\"pc2\"") && before.contains("\"pc4\""));
    let pruned = import(&d, &["--no-check", "--prune"]);
    assert!(
        pruned.stdout.contains("0 not in the export, 2 removed"),
        "{}",
        pruned.stdout
    );
    let after = fs::read_to_string(&d.estate).unwrap();
    let names: Vec<&str> = after.lines().filter(|l| l.starts_with("name = ")).collect();
    assert_eq!(
        names,
        ["name = \"pc1\"", "name = \"pc3\"", "name = \"pc5\""]
    );
}

#[test]
fn dry_run_prints_a_diff_and_leaves_the_file_byte_identical() {
    let d = dir();
    fs::write(&d.csv, rows(2)).unwrap();
    assert_eq!(import(&d, &["--no-check"]).code, 0);
    let before = fs::read(&d.estate).unwrap();
    let modified = fs::metadata(&d.estate).unwrap().modified().unwrap();
    fs::write(
        &d.csv,
        rows(3).replace("pc1,Lab,Windows 10", "pc1,Lab,Windows 11"),
    )
    .unwrap();
    let out = import(&d, &["--dry-run", "--prune"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(fs::read(&d.estate).unwrap(), before);
    assert_eq!(
        fs::metadata(&d.estate).unwrap().modified().unwrap(),
        modified
    );
    for line in [
        "--- a/",
        "+++ b/",
        "@@ ",
        "-os = \"Windows 10\"",
        "+os = \"Windows 11\"",
        "+name = \"pc3\"",
    ] {
        assert!(out.stdout.contains(line), "no {line:?} in\n{}", out.stdout);
    }
    assert!(
        out.stdout.contains("dry run, nothing written"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_utf16_csv_imports() {
    for big_endian in [false, true] {
        let d = dir();
        let text = "Computer Name;Domain;OS;Scan Method\r\npc1;Lab;Windows 7;Conventional Scan\r\n";
        let mut bytes = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        fs::write(&d.csv, bytes).unwrap();
        let out = import(&d, &["--no-check"]);
        assert_eq!(out.code, 0, "{}", out.stdout);
        let estate = fs::read_to_string(&d.estate).unwrap();
        assert!(
            estate.contains("os = \"Windows 7\"\nscan_method = \"conventional\""),
            "{estate}"
        );
    }
}

#[test]
fn a_bad_row_on_line_7_is_reported_as_line_7_and_nothing_is_written() {
    let d = dir();
    fs::write(&d.csv, rows(3)).unwrap();
    assert_eq!(import(&d, &["--no-check"]).code, 0);
    let before = fs::read(&d.estate).unwrap();
    // Line 1 is the header; line 7 has a field too few.
    let bad = rows(5) + "pc6,Lab,Windows 10\n" + "pc7,Lab,Windows 10,Smart Scan\n";
    fs::write(&d.csv, bad).unwrap();
    let out = import(&d, &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("export.csv:7:1"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("row on line 7 has 3 fields, the header has 4"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("nothing written"), "{}", out.stdout);
    assert_eq!(fs::read(&d.estate).unwrap(), before);
    // A value outside a strict column's values, and a duplicate key, name the column.
    let bad = rows(5) + "pc6,Lab,Windows 10,Fast Scan\npc1,Lab,Windows 10,Smart Scan\n";
    fs::write(&d.csv, bad).unwrap();
    let out = import(&d, &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout
            .contains("row on line 7, column `Scan Method`: `Fast Scan`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("row on line 8, column `Computer Name`: the key `pc1` is already on line 2"),
        "{}",
        out.stdout
    );
    assert_eq!(fs::read(&d.estate).unwrap(), before);
}

#[test]
fn a_bad_map_or_estate_is_located_and_nothing_is_written() {
    let d = dir();
    fs::write(&d.csv, rows(2)).unwrap();
    fs::write(
        &d.map,
        MAP.replace("\"OS\" = \"os\"", "\"OS\" = \"operating_system\"")
            .replace("strict = true", "stict = true"),
    )
    .unwrap();
    let out = import(&d, &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("`operating_system` is not a key of `[[clients]]` entries"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("unknown field `stict` in column `Scan Method`; did you mean `strict`?"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("map.toml:6:"), "{}", out.stdout);
    assert!(!d.estate.exists());
    fs::write(&d.map, MAP).unwrap();
    fs::write(&d.estate, "[[clients]]\nname = \n").unwrap();
    let out = import(&d, &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("estate.toml:2:"), "{}", out.stdout);
    assert_eq!(
        fs::read_to_string(&d.estate).unwrap(),
        "[[clients]]\nname = \n"
    );
}

#[test]
fn json_exports_import_and_the_estate_is_checked_after_writing() {
    let d = dir();
    let json = d.csv.with_extension("jsonl");
    fs::write(
        &json,
        "{\"Computer Name\": \"pc1\", \"Domain\": \"Lab\", \"OS\": \"Windows 2000\", \"Scan Method\": \"Smart Scan\"}\n",
    )
    .unwrap();
    let out = run(&[
        "import",
        s(&json),
        "--map",
        s(&d.map),
        "--into",
        s(&d.estate),
    ]);
    // The client names a server the estate lacks: the check after writing says so.
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("1 added"), "{}", out.stdout);
    assert!(
        out.stdout.contains("officescan/client-server-unknown"),
        "{}",
        out.stdout
    );
    assert!(fs::read_to_string(&d.estate)
        .unwrap()
        .contains("os = \"Windows 2000\""));
}

#[test]
fn the_example_is_the_result_of_its_import() {
    let tmp = tempfile::tempdir().unwrap();
    let estate = tmp.path().join("estate.toml");
    fs::copy("examples/import/estate.toml", &estate).unwrap();
    let before = fs::read(&estate).unwrap();
    let out = run(&[
        "import",
        "examples/import/export.csv",
        "--map",
        "examples/import/map.toml",
        "--into",
        s(&estate),
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("0 added, 0 changed, 5 unchanged"),
        "{}",
        out.stdout
    );
    assert_eq!(fs::read(&estate).unwrap(), before);
}

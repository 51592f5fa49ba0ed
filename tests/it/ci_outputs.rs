//! CI formats agree with the exit code: JUnit cases fail exactly when findings fail the
//! run, SARIF names files relative to the repository root, GitHub annotations stay
//! within what GitHub shows.

use crate::support::{run, Run};

fn example() -> String {
    std::fs::read_to_string("examples/estate.toml").unwrap()
}

/// Writes `text` as `name` in a temporary directory and returns both.
fn estate(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path.display().to_string())
}

/// The example with the first backup's file list on several lines, missing `HTTPDB`.
fn multi_line_finding() -> String {
    example().replacen(
        "'Download\\OfcPfw*.dat', \"Log\", \"Virus\", \"HTTPDB\"]",
        "'Download\\OfcPfw*.dat',\n  \"Log\",\n  \"Virus\"]",
        1,
    )
}

/// The example with `n` more clients, each with an invalid scan method.
fn many_errors(n: usize) -> String {
    let mut text = example();
    for i in 0..n {
        text.push_str(&format!(
            "\n[[clients]]\nname = \"extra-{i}\"\nserver = \"osce-hq\"\ndomain = \"HQ-Workstations\"\nos = \"Windows 10\"\narch = \"x64\"\nscan_method = \"Smart\"\n"
        ));
    }
    text
}

fn format(path: &str, format: &str, extra: &[&str]) -> Run {
    let mut args = vec!["check", path, "--format", format, "--no-config"];
    args.extend(extra);
    run(&args)
}

#[test]
fn junit_cases_fail_exactly_when_the_run_fails() {
    // A clean run: cases for every rule, no failure.
    let Run { stdout, code, .. } = format("examples/estate.toml", "junit", &[]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(
            "<testcase name=\"officescan/server-on-apache\" classname=\"examples/estate_toml\"/>"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("<failure"));

    // A warning does not fail the run, so it fails no case.
    let (_dir, path) = estate(
        "warn.toml",
        &example().replacen(
            "web_server = \"IIS\"",
            "web_sever = \"IIS\"\nweb_server = \"IIS\"",
            1,
        ),
    );
    let Run { stdout, code, .. } = format(&path, "junit", &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("<failure"), "{stdout}");

    // One failure per case, listing each finding with its line.
    let (_dir, path) = estate("many.toml", &many_errors(3));
    let Run { stdout, code, .. } = format(&path, "junit", &[]);
    assert_eq!(code, 1);
    assert_eq!(stdout.matches("<failure").count(), 1, "{stdout}");
    assert_eq!(
        stdout.matches("must be one of smart, conventional").count(),
        3
    );

    // XML 1.0 forbids some characters estates may hold.
    let (_dir, path) = estate(
        "bad-chars.toml",
        &example().replacen(
            "name = \"osce-hq\"",
            "name = \"osce-hq\"\nweb_sever = \"\\u0001\\uFFFE\"",
            1,
        ),
    );
    let Run { stdout, .. } = format(&path, "junit", &[]);
    assert!(!stdout.contains('\u{1}') && !stdout.contains('\u{fffe}'));
}

#[test]
fn junit_errors_have_unique_names() {
    let Run { stdout, code, .. } = run(&[
        "check",
        "tests/data/broken/two-errors.toml",
        "--format",
        "junit",
    ]);
    assert_eq!(code, 2);
    let names: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("<testcase") && l.contains("classname=\"preflight\""))
        .collect();
    assert!(names.len() >= 2, "{stdout}");
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
}

#[test]
fn sarif_names_files_from_the_repository_root() {
    let (dir, path) = estate("a #b%é.toml", &many_errors(1));
    let Run { json, .. } = run(&["check", &path, "--format", "sarif", "--no-config"]);
    let run0 = &json["runs"][0];
    let location = &run0["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    // Outside the repository: an absolute, encoded file URI.
    let uri = location["uri"].as_str().unwrap();
    assert!(uri.starts_with("file:///"), "{uri}");
    assert!(uri.ends_with("/a%20%23b%25%C3%A9.toml"), "{uri}");
    drop(dir);

    let Run { json, .. } = format(
        "tests/data/gate/waivers.toml",
        "sarif",
        &["--today", "2026-11-24"],
    );
    let run0 = &json["runs"][0];
    let location = &run0["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uri"], "tests/data/gate/waivers.toml");
    assert_eq!(location["uriBaseId"], "%SRCROOT%");
    let root = run0["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        root.starts_with("file:///") && root.ends_with('/'),
        "{root}"
    );
    let ids: Vec<&str> = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for r in run0["results"].as_array().unwrap() {
        assert!(ids.contains(&r["ruleId"].as_str().unwrap()), "{r}");
        assert!(r["partialFingerprints"]["primaryLocationLineHash"].is_string());
    }
    let markdown = run0["tool"]["driver"]["rules"][0]["help"]["markdown"]
        .as_str()
        .unwrap();
    assert!(markdown.contains("## "), "{markdown}");
}

#[test]
fn github_annotations_stay_within_what_github_shows() {
    let (_dir, path) = estate("many.toml", &many_errors(15));
    let Run { stdout, code, .. } = format(&path, "github", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("::error ")).count(),
        10
    );
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("::notice ") && last.contains("5 more"),
        "{last}"
    );

    let (_dir, path) = estate("multi.toml", &multi_line_finding());
    let Run { stdout, code, .. } = format(&path, "github", &[]);
    assert_eq!(code, 1, "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("officescan/backup-file-missing"))
        .unwrap();
    assert!(
        !line.contains(",col=") && !line.contains("endColumn"),
        "{line}"
    );
}

#[test]
fn markdown_caps_rows_and_neutralises_estate_text() {
    let mut text = many_errors(1_005);
    text = text.replacen(
        "name = \"extra-0\"",
        "name = \"@admins <img src=x> `code`\"",
        1,
    );
    let (_dir, path) = estate("md.toml", &text);
    let Run { stdout, code, .. } = format(&path, "markdown", &[]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("and 5 more findings"),
        "{}",
        &stdout[stdout.len() - 300..]
    );
    assert!(!stdout.contains("<img"));
    assert!(!stdout.contains("@admins"));
    assert!(stdout.contains("&lt;img"));
}

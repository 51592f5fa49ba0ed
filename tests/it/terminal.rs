//! What a terminal or a log viewer is shown of a hostile estate: no escape sequence or
//! bidirectional override passes through, any line length renders, and text that is
//! not UTF-8 is named, not printed.

use crate::support::{run, Run};

fn example() -> String {
    std::fs::read_to_string("examples/estate.toml").unwrap()
}

fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path.display().to_string())
}

#[test]
fn control_characters_and_bidi_overrides_are_shown_escaped() {
    // An unknown key and a bad value carrying an escape sequence and an override.
    let text = example().replacen(
        "name = \"osce-hq\"",
        "name = \"osce-hq\"\n\"web_\\u001b[2Jsever\" = 1\nrole_ = \"\\u202e\\u0007evil\"",
        1,
    );
    let (_dir, path) = write("hostile.toml", text.as_bytes());
    for format in ["human", "github", "markdown"] {
        for color in ["never", "always"] {
            let Run { stdout, .. } = run(&[
                "check",
                &path,
                "--format",
                format,
                "--color",
                color,
                "--no-config",
            ]);
            for c in ['\u{1b}', '\u{7}', '\u{202e}'] {
                // Colour codes are ours; the estate's escape is `ESC [2J`.
                let leaked = match c {
                    '\u{1b}' => stdout.contains("\u{1b}[2J"),
                    _ => stdout.contains(c),
                };
                assert!(!leaked, "{format}/{color}: {c:?} reached the output");
            }
            assert!(
                stdout.contains("\\u{1b}") || stdout.contains("\\u{202e}"),
                "{format}: {stdout}"
            );
        }
    }
}

#[test]
fn findings_and_errors_past_column_65535_render() {
    let long = "x".repeat(70_000);
    // A waiver on one line: its unknown rule id is reported past column 70,000.
    let text = format!(
        "waivers = [{{ reason = \"{long}\", expires = 2027-01-01, rule = \"officescan/nope\" }}]\n{}",
        example()
    );
    let (_dir, path) = write("long.toml", text.as_bytes());
    let Run { stdout, code, .. } = run(&["check", &path, "--no-config", "--today", "2026-11-26"]);
    assert_eq!(code, 1, "{}", &stdout[..stdout.len().min(2_000)]);
    assert!(stdout.contains("officescan/nope"));
    assert!(
        stdout.lines().all(|l| l.chars().count() < 1_000),
        "long lines are clipped"
    );

    let (_dir, path) = write("broken.toml", format!("a = \"{long}\" b\n").as_bytes());
    let Run { stdout, code, .. } = run(&["check", &path, "--no-config"]);
    assert_eq!(code, 2);
    assert!(stdout.contains(":1:70008]"), "the real column is kept");
}

#[test]
fn utf16_and_invalid_utf8_are_named_not_printed() {
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "[upgrade]\nipv6 = true\n".encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let (_dir, path) = write("ps5.toml", &utf16);
    let Run { stdout, code, .. } = run(&["check", &path, "--format", "json", "--no-config"]);
    assert_eq!(code, 2);
    assert!(stdout.contains("UTF-16") && stdout.contains("Set-Content -Encoding utf8"));

    let (_dir, path) = write("latin1.toml", b"[upgrade]\nname = \"caf\xe9\"\n");
    let Run { stdout, code, .. } = run(&["check", &path, "--no-config"]);
    assert_eq!(code, 2);
    assert!(stdout.contains("not valid UTF-8"), "{stdout}");
}

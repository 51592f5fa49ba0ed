//! Human output of arbitrary estates under the built-in pack: checking and rendering
//! never panic, and no control character of the estate reaches the terminal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight::output::{self, Format, Style};
use preflight::pipeline::{self, Input};
use preflight::settings::Settings;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = Settings {
        jobs: Some(1),
        ..Settings::default()
    };
    let source = Arc::new(preflight::estate::Source::new("fuzz.toml", text.to_string()));
    let report = pipeline::check_inputs(&settings, vec![Input::Text(source)], Vec::new());
    let plain = Style {
        color: false,
        width: 100,
        ..Style::default()
    };
    // Colour, and the rule-source excerpts rule authors see.
    let rich = Style {
        color: true,
        width: 80,
        rule_sites: true,
        quiet: false,
    };
    for style in [plain, rich] {
        let shown = output::render(&report, Format::Human, &style);
        // Colour codes are preflight's own; the estate's escapes must arrive escaped.
        for c in shown.chars() {
            let ours = c == '\u{1b}' && style.color;
            assert!(
                ours || !(c.is_control() && c != '\n' && c != '\t'),
                "control character {c:?} reached the output"
            );
            assert!(!preflight::output::excerpt::hidden(c) || ours, "{c:?} reached the output");
        }
    }
});

//! Compiling and running a rule over an estate: the input is split at the first NUL
//! byte into a rule script and an estate. Whatever the script does, the run ends
//! with findings and located failures, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight::pipeline::{self, Input};
use preflight::settings::Settings;
use preflight::engine::Limits;
use preflight::estate::Source;
use std::sync::Arc;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (script, estate) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let (Ok(script), Ok(estate)) = (std::str::from_utf8(script), std::str::from_utf8(estate)) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("preflight-fuzz-{}", std::process::id()));
    let pack = dir.join("fuzz");
    std::fs::create_dir_all(&pack).unwrap();
    let text = format!("//! severity: error\n//! title: fuzz\n{script}");
    std::fs::write(pack.join("rule.rhai"), text).unwrap();
    let opts = Settings {
        rule_dirs: vec![pack],
        builtin: false,
        jobs: Some(1),
        limits: Limits {
            timeout: Duration::from_millis(200),
            max_operations: 200_000,
            ..Limits::default()
        },
        ..Settings::default()
    };
    let source = Arc::new(Source::new("fuzz.toml", estate.to_string()));
    let report = pipeline::check_inputs(&opts, vec![Input::Text(source)], Vec::new());
    for f in &report.findings {
        assert!(f.span.end <= f.source.text().len());
    }
    for f in &report.failures {
        if let (Some(src), Some(span)) = (&f.source, &f.span) {
            assert!(span.end <= src.text().len(), "failure span outside its file");
        }
    }
});

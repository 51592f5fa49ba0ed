//! Estate loading: any bytes give a document or located errors, never a panic, and
//! every span a document holds lies inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight::estate::{parse, ROOT};
use preflight::files::source_from_bytes;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = source_from_bytes("fuzz.toml".into(), data.to_vec()) else {
        return;
    };
    let len = source.text().len();
    match parse(Arc::new(source)) {
        Ok(doc) => {
            let mut stack = vec![ROOT];
            while let Some(id) = stack.pop() {
                assert!(doc.span(id).end <= len && doc.key_span(id).end <= len);
                let _ = doc.path(id);
                stack.extend(doc.children(id));
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(e.span.end <= len, "error span outside the text");
            }
        }
    }
});

//! Embeds the built-in packs into the binary: every `rules/<pack>/*.rhai` file and the
//! pack's shared `_` files, in sorted order.
use std::{env, fs, path::Path};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut entries = Vec::new();
    if let Ok(packs) = fs::read_dir(&root) {
        for pack in packs.flatten() {
            println!("cargo:rerun-if-changed={}", pack.path().display());
            let Ok(files) = fs::read_dir(pack.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                let shared = file.file_name().to_string_lossy().starts_with('_');
                if path.is_file() && (shared || path.extension().is_some_and(|e| e == "rhai")) {
                    println!("cargo:rerun-if-changed={}", path.display());
                    let Ok(rel) = path.strip_prefix(&root) else {
                        continue;
                    };
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    entries.push((rel, path.display().to_string()));
                }
            }
        }
    }
    entries.sort();
    let mut out = String::from(
        "/// `(path under rules/, text)` of every built-in rule and shared pack file, sorted.\npub static BUILTIN_FILES: &[(&str, &str)] = &[\n",
    );
    for (rel, abs) in entries {
        out.push_str(&format!("    ({rel:?}, include_str!({abs:?})),\n"));
    }
    out.push_str("];\n");
    let Ok(dir) = env::var("OUT_DIR") else {
        panic!("cargo sets OUT_DIR for build scripts");
    };
    if let Err(e) = fs::write(Path::new(&dir).join("builtin_rules.rs"), out) {
        panic!("cannot write the embedded rules: {e}");
    }
}

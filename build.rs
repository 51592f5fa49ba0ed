//! Embeds every `rules/<pack>/<rule>.rhai` file into the binary, in sorted order.
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
                if path.extension().is_some_and(|e| e == "rhai") {
                    println!("cargo:rerun-if-changed={}", path.display());
                    let rel = path
                        .strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    entries.push((rel, path.display().to_string()));
                }
            }
        }
    }
    entries.sort();
    let mut out = String::from("/// `(path under rules/, text)` of every built-in rule, sorted by path.\npub static BUILTIN_RULES: &[(&str, &str)] = &[\n");
    for (rel, abs) in entries {
        out.push_str(&format!("    ({rel:?}, include_str!({abs:?})),\n"));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("builtin_rules.rs"),
        out,
    )
    .unwrap();
}

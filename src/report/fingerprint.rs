//! Semantic fingerprints: a hash of what a finding says and where (rule, file relative
//! to the repository root, path, message), never of a line or offset, so reordering or
//! reformatting an estate keeps findings matched while a moved or copied violation is new.

use super::Finding;
use std::collections::HashMap;
use std::sync::Arc;

/// FNV-1a 64: stable across platforms, releases and runs.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The fingerprint of the `occurrence`-th (from 0) finding sharing these four fields.
pub fn fingerprint_of(
    rule: &str,
    file: &str,
    path: &str,
    message: &str,
    occurrence: usize,
) -> String {
    let h = if occurrence == 0 {
        fnv1a(&[rule, file, path, message])
    } else {
        fnv1a(&[rule, file, path, message, &occurrence.to_string()])
    };
    format!("{h:016x}")
}

/// What tells findings apart for numbering: file index, rule, file, path, message.
type Fields = (usize, Arc<str>, Arc<str>, String, String);

/// Gives each finding its fingerprint; findings sharing rule, file, path and message in
/// one estate are numbered in their order, so every fingerprint of a run is unique.
pub(super) fn assign(findings: &mut [Finding]) {
    let mut seen: HashMap<Fields, usize> = HashMap::new();
    for f in findings {
        let key = (
            f.file_index,
            f.rule.clone(),
            f.file.clone(),
            f.path.clone(),
            f.message.clone(),
        );
        let n = seen.entry(key).or_insert(0);
        f.fingerprint = fingerprint_of(&f.rule, &f.file, &f.path, &f.message, *n);
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint_of;

    #[test]
    fn every_field_and_the_occurrence_count() {
        let base = fingerprint_of("r", "a.toml", "p", "m", 0);
        assert_ne!(base, fingerprint_of("r", "b.toml", "p", "m", 0));
        assert_ne!(base, fingerprint_of("r", "a.toml", "q", "m", 0));
        assert_ne!(base, fingerprint_of("r", "a.toml", "p", "m", 1));
        assert_eq!(base, fingerprint_of("r", "a.toml", "p", "m", 0));
    }
}

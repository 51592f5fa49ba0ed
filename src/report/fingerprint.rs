//! Semantic fingerprints: a hash of what a finding says, never of a line or offset, so
//! reordering or reformatting an estate keeps findings matched across runs.

use super::Finding;

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

pub fn fingerprint(f: &Finding) -> String {
    format!("{:016x}", fnv1a(&[&f.rule, &f.path, &f.message]))
}

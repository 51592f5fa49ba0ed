//! "Did you mean" suggestions: the known name closest to a mistyped one.

/// Words longer than this are never typos of a name; comparing them would cost
/// quadratic time on hostile input.
const MAX_LEN: usize = 256;

/// The candidate closest to `word`, if any is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if word.len() > MAX_LEN {
        return None;
    }
    candidates
        .into_iter()
        .filter(|c| c.len() <= MAX_LEN)
        .map(|c| (similarity(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// Jaro-Winkler similarity: `strsim`'s, with ASCII text compared as bytes on the
/// stack. A rule suggests a server for each of thousands of dangling clients, each
/// against every name, and `strsim` decodes characters and allocates per pair.
fn similarity(a: &str, b: &str) -> f64 {
    if !a.is_ascii() || !b.is_ascii() || a.len() > 64 || b.len() > 64 {
        return strsim::jaro_winkler(a, b);
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.is_empty() || b.is_empty() {
        return if a.len() == b.len() { 1.0 } else { 0.0 };
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let (mut a_hit, mut b_hit) = ([false; 64], [false; 64]);
    let mut matches = 0usize;
    for (i, &x) in a.iter().enumerate() {
        let (lo, hi) = (i.saturating_sub(window), b.len().min(i + window + 1));
        for j in lo..hi {
            if !b_hit[j] && b[j] == x {
                a_hit[i] = true;
                b_hit[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // Matched bytes of `a` and of `b`, in order, that differ: half of them are
    // transpositions.
    let from_b = b.iter().zip(&b_hit[..b.len()]).filter(|(_, &h)| h);
    let from_a = a.iter().zip(&a_hit[..a.len()]).filter(|(_, &h)| h);
    let transpositions = from_a.zip(from_b).filter(|((x, _), (y, _))| x != y).count() / 2;
    let m = matches as f64;
    let jaro =
        (m / a.len() as f64 + m / b.len() as f64 + (matches - transpositions) as f64 / m) / 3.0;
    if jaro <= 0.7 {
        return jaro;
    }
    let prefix = a.iter().take(4).zip(b).take_while(|(x, y)| x == y).count();
    jaro + 0.1 * prefix as f64 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    use super::{closest, similarity};

    #[test]
    fn byte_similarity_is_strsims_to_the_bit() {
        let words = [
            "",
            "a",
            "ab",
            "ba",
            "osce-0048",
            "osce-0084",
            "osce-hq",
            "web_server",
            "web_sever",
            "host_name",
            "hostname",
            "martha",
            "marhta",
            "dixon",
            "dicksonx",
            "x",
            "aaaa",
            "crate",
            "trace",
            "Windows 98",
            "windows 98",
            "Win98",
            "ÿ",
            "scan_method",
        ];
        for a in words {
            for b in words {
                let (ours, theirs) = (similarity(a, b), strsim::jaro_winkler(a, b));
                assert_eq!(ours.to_bits(), theirs.to_bits(), "{a:?} {b:?}");
            }
        }
    }

    proptest::proptest! {
        /// Short words over a few letters, where matches and transpositions abound.
        #[test]
        fn byte_similarity_agrees_on_any_ascii(a in "[abc_-]{0,20}", b in "[abc_-]{0,70}") {
            proptest::prop_assert_eq!(similarity(&a, &b).to_bits(), strsim::jaro_winkler(&a, &b).to_bits());
        }
    }

    #[test]
    fn suggests_typos_only() {
        let keys = ["web_server", "host_name", "os"];
        assert_eq!(closest("web_sever", keys), Some("web_server"));
        assert_eq!(closest("zzzzzz", keys), None);
    }

    #[test]
    fn long_words_are_not_compared() {
        let long = "a".repeat(300_000);
        assert_eq!(closest(&long, [long.as_str()]), None);
    }
}

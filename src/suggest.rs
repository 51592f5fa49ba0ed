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
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

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

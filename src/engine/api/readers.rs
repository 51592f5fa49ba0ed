//! Readers of how people write product versions and Windows names: `version_info`,
//! `version_cmp` and `os_info`. They know version syntax and Windows releases, not any
//! product the rules check.

use super::Api;
use rhai::{Dynamic, Map};

/// A version as written: `8.0 SP1`, `8.0SP1`, `10.5 Patch 5`, `10.0 Service Pack 1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Dotted numbers: `[10, 5]`.
    pub numbers: Vec<u32>,
    pub service_pack: u32,
    pub patch: u32,
}

impl Version {
    /// The usual spelling: `8.0 SP1`, `10.5 Patch 5`.
    pub fn canonical(&self) -> String {
        let mut out: Vec<String> = vec![self
            .numbers
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(".")];
        if self.service_pack > 0 {
            out.push(format!("SP{}", self.service_pack));
        }
        if self.patch > 0 {
            out.push(format!("Patch {}", self.patch));
        }
        out.join(" ")
    }
}

/// Reads a version; `None` when it is not dotted numbers with optional SP and patch.
pub fn read_version(text: &str) -> Option<Version> {
    let lower = text.trim().to_ascii_lowercase();
    let end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let numbers = lower[..end]
        .split('.')
        .map(|n| n.parse::<u32>().ok())
        .collect::<Option<Vec<_>>>()?;
    if numbers.len() > 4 {
        return None;
    }
    let mut version = Version {
        numbers,
        service_pack: 0,
        patch: 0,
    };
    let mut rest = lower[end..].trim_start();
    while !rest.is_empty() {
        let (slot, after) = if let Some(r) = rest.strip_prefix("service pack") {
            (&mut version.service_pack, r)
        } else if let Some(r) = rest.strip_prefix("sp") {
            (&mut version.service_pack, r)
        } else if let Some(r) = rest.strip_prefix("patch") {
            (&mut version.patch, r)
        } else {
            return None;
        };
        let after = after.trim_start();
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        if digits == 0 || *slot != 0 {
            return None;
        }
        *slot = after[..digits].parse().ok()?;
        rest = after[digits..].trim_start();
    }
    Some(version)
}

/// A Windows release: its usual name, NT version, and whether it is a server edition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Os {
    pub name: &'static str,
    /// The NT kernel version (`"5.0"` for Windows 2000); the 9x line has `"4.x"`.
    pub nt: &'static str,
    pub server: bool,
    pub itanium: bool,
}

/// Spellings of each release, lower case, matched as whole words; the first match
/// in this order wins, so longer spellings come before the shorter ones they contain.
const RELEASES: &[(&str, &str, bool, &[&str])] = &[
    (
        "Windows Server 2003 R2",
        "5.2",
        true,
        &["server 2003 r2", "2003 r2", "w2k3 r2"],
    ),
    (
        "Windows Server 2003",
        "5.2",
        true,
        &[
            "server 2003",
            "windows 2003",
            "w2k3",
            "win2k3",
            "windows nt 5.2",
        ],
    ),
    (
        "Windows Server 2008 R2",
        "6.1",
        true,
        &["server 2008 r2", "2008 r2", "w2k8 r2"],
    ),
    (
        "Windows Server 2008",
        "6.0",
        true,
        &["server 2008", "windows 2008", "w2k8", "win2k8"],
    ),
    (
        "Windows Server 2012 R2",
        "6.3",
        true,
        &["server 2012 r2", "2012 r2"],
    ),
    (
        "Windows Server 2012",
        "6.2",
        true,
        &["server 2012", "windows 2012"],
    ),
    ("Windows Server 2016", "10.0", true, &["server 2016"]),
    ("Windows Server 2019", "10.0", true, &["server 2019"]),
    ("Windows Server 2022", "10.0", true, &["server 2022"]),
    ("Windows Server 2025", "10.0", true, &["server 2025"]),
    (
        "Windows 2000",
        "5.0",
        false,
        &["windows 2000", "win2k", "win 2000", "w2k", "windows nt 5.0"],
    ),
    ("Windows 95", "4.0", false, &["windows 95", "win95"]),
    ("Windows 98", "4.10", false, &["windows 98", "win98"]),
    (
        "Windows Me",
        "4.90",
        false,
        &["windows me", "windows millennium", "winme"],
    ),
    (
        "Windows XP",
        "5.1",
        false,
        &["windows xp", "winxp", "windows nt 5.1"],
    ),
    (
        "Windows Vista",
        "6.0",
        false,
        &["windows vista", "windows nt 6.0"],
    ),
    (
        "Windows 7",
        "6.1",
        false,
        &["windows 7", "win7", "windows nt 6.1"],
    ),
    (
        "Windows 8.1",
        "6.3",
        false,
        &["windows 8.1", "windows nt 6.3"],
    ),
    (
        "Windows 8",
        "6.2",
        false,
        &["windows 8", "win8", "windows nt 6.2"],
    ),
    (
        "Windows 10",
        "10.0",
        false,
        &["windows 10", "win10", "windows nt 10.0"],
    ),
    ("Windows 11", "10.0", false, &["windows 11", "win11"]),
    (
        "Windows NT 4.0",
        "4.0",
        false,
        &[
            "windows nt 4.0",
            "windows nt 4",
            "winnt 4.0",
            "winnt",
            "nt 4.0",
            "windows nt",
        ],
    ),
    // Last: a bare "Windows NT" is 4.0 only when no later NT version matched.
];

/// Whether `needle` occurs in `hay` with no letter, digit or `.` directly around it.
fn has_word(hay: &str, needle: &str) -> bool {
    let bound = |b: Option<&u8>| b.is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'.'));
    hay.match_indices(needle).any(|(i, _)| {
        bound(i.checked_sub(1).and_then(|j| hay.as_bytes().get(j)))
            && bound(hay.as_bytes().get(i + needle.len()))
    })
}

/// Reads a Windows name as inventories write it; `None` when it names no known release.
pub fn read_os(text: &str) -> Option<Os> {
    let lower = text.to_ascii_lowercase();
    let itanium = has_word(&lower, "itanium")
        || has_word(&lower, "itanium-based")
        || has_word(&lower, "ia64");
    RELEASES.iter().find_map(|(name, nt, server, spellings)| {
        spellings.iter().any(|s| has_word(&lower, s)).then_some(Os {
            name,
            nt,
            server: *server,
            itanium,
        })
    })
}

/// Every release's usual name, for "did you mean".
pub fn os_names() -> Vec<&'static str> {
    RELEASES.iter().map(|r| r.0).collect()
}

fn version_map(v: &Version) -> Dynamic {
    let mut m = Map::new();
    let n = |i: usize| Dynamic::from_int(v.numbers.get(i).copied().unwrap_or(0).into());
    m.insert("major".into(), n(0));
    m.insert("minor".into(), n(1));
    m.insert(
        "service_pack".into(),
        Dynamic::from_int(v.service_pack.into()),
    );
    m.insert("patch".into(), Dynamic::from_int(v.patch.into()));
    m.insert("text".into(), Dynamic::from(v.canonical()));
    Dynamic::from_map(m)
}

fn os_map(os: &Os) -> Dynamic {
    let mut m = Map::new();
    m.insert("name".into(), Dynamic::from(os.name.to_string()));
    m.insert("nt".into(), Dynamic::from(os.nt.to_string()));
    m.insert("server".into(), Dynamic::from_bool(os.server));
    m.insert("itanium".into(), Dynamic::from_bool(os.itanium));
    Dynamic::from_map(m)
}

/// Compares two versions: -1, 0 or 1; `()` when either cannot be read.
fn compare(a: &str, b: &str) -> Dynamic {
    match (read_version(a), read_version(b)) {
        (Some(mut a), Some(mut b)) => {
            let len = a.numbers.len().max(b.numbers.len());
            a.numbers.resize(len, 0);
            b.numbers.resize(len, 0);
            Dynamic::from_int(a.cmp(&b) as i64)
        }
        _ => Dynamic::UNIT,
    }
}

pub(super) fn register(api: &mut Api) {
    api.add("version_info", |s: &str| {
        read_version(s).map_or(Dynamic::UNIT, |v| version_map(&v))
    })
    .add("version_info", |_: Dynamic| Dynamic::UNIT)
    .add("version_cmp", |a: &str, b: &str| compare(a, b))
    .add("os_info", |s: &str| {
        read_os(s).map_or(Dynamic::UNIT, |o| os_map(&o))
    })
    .add("os_info", |_: Dynamic| Dynamic::UNIT)
    .add("os_names", || {
        os_names()
            .into_iter()
            .map(|n| Dynamic::from(n.to_string()))
            .collect::<rhai::Array>()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_people_write_them() {
        for (text, canonical) in [
            ("8.0 SP1", Some("8.0 SP1")),
            ("8.0SP1", Some("8.0 SP1")),
            ("8.0 sp1", Some("8.0 SP1")),
            ("8.0 Service Pack 1", Some("8.0 SP1")),
            ("10.0", Some("10.0")),
            ("10.0 SP1", Some("10.0 SP1")),
            ("10.5", Some("10.5")),
            ("10.5 Patch 5", Some("10.5 Patch 5")),
            ("10.6 SP1", Some("10.6 SP1")),
            ("10.51", Some("10.51")),
            (" 10.6 ", Some("10.6")),
            ("ten", None),
            ("10.5 beta", None),
            ("8.0 SP", None),
            ("8.0 SP1 SP2", None),
            ("", None),
        ] {
            assert_eq!(
                read_version(text).map(|v| v.canonical()).as_deref(),
                canonical,
                "{text:?}"
            );
        }
    }

    #[test]
    fn versions_compare_by_number_then_service_pack_then_patch() {
        let cmp = |a, b| compare(a, b).as_int().unwrap();
        assert_eq!(cmp("8.0 SP1", "8.0"), 1);
        assert_eq!(cmp("10.5 Patch 5", "10.6"), -1);
        assert_eq!(cmp("10.51", "10.6"), 1);
        assert_eq!(cmp("10", "10.0"), 0);
        assert!(compare("x", "10").is_unit());
    }

    #[test]
    fn windows_as_inventories_write_it() {
        for (text, name) in [
            ("Windows 2000", Some("Windows 2000")),
            (
                "Microsoft Windows 2000 Professional SP4",
                Some("Windows 2000"),
            ),
            ("Win2K", Some("Windows 2000")),
            ("Windows NT 4.0", Some("Windows NT 4.0")),
            ("WinNT", Some("Windows NT 4.0")),
            ("Win98", Some("Windows 98")),
            ("Windows Millennium Edition", Some("Windows Me")),
            (
                "Windows Server 2003 R2 Standard",
                Some("Windows Server 2003 R2"),
            ),
            ("W2K3", Some("Windows Server 2003")),
            (
                "Windows Server 2003 for Itanium-based Systems",
                Some("Windows Server 2003"),
            ),
            ("Windows NT 6.1", Some("Windows 7")),
            (
                "Windows Server 2008 R2 Enterprise",
                Some("Windows Server 2008 R2"),
            ),
            (
                "Windows Server 2019 (KB2003xxx)",
                Some("Windows Server 2019"),
            ),
            ("Windows Media Center", None),
            ("Windows 20001", None),
            ("Linux", None),
        ] {
            assert_eq!(read_os(text).map(|o| o.name), name, "{text:?}");
        }
        assert!(
            read_os("Windows Server 2003 for Itanium-based Systems")
                .unwrap()
                .itanium
        );
        assert!(!read_os("Windows 7").unwrap().itanium);
        assert!(read_os("W2K3").unwrap().server);
    }
}

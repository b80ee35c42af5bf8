//! Version ordering per ecosystem, as OSV ranges need it.
//!
//! crates.io and npm versions are SemVer 2.0 (`semver` crate); Go module versions are
//! SemVer with a `v` prefix, pseudo-versions (valid SemVer prereleases) and
//! `+incompatible` (build metadata, which does not affect precedence); PyPI versions
//! follow PEP 440 (`pep440_rs`). A version that does not parse in its ecosystem's
//! scheme compares as "unknown": range checks then fall back to exact string matches
//! only, so an unparsable version is never silently declared safe by ordering alone.

use std::cmp::Ordering;
use std::str::FromStr;

use crate::package::Ecosystem;

/// A parsed version in its ecosystem's scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    Semver(semver::Version),
    Pep440(pep440_rs::Version),
}

impl Version {
    /// Parses `text` as `ecosystem` writes versions; `None` if it is not one.
    pub fn parse(ecosystem: Ecosystem, text: &str) -> Option<Version> {
        let text = text.trim();
        match ecosystem {
            Ecosystem::Cargo | Ecosystem::Npm => parse_semver(text).map(Version::Semver),
            Ecosystem::Go => {
                parse_semver(text.strip_prefix('v').unwrap_or(text)).map(Version::Semver)
            }
            Ecosystem::PyPI => pep440_rs::Version::from_str(text).ok().map(Version::Pep440),
        }
    }

    /// Ordering within one scheme; `None` across schemes.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        match (self, other) {
            // SemVer precedence ignores build metadata (`+incompatible`, `+build`).
            (Version::Semver(a), Version::Semver(b)) => Some(
                a.major
                    .cmp(&b.major)
                    .then(a.minor.cmp(&b.minor))
                    .then(a.patch.cmp(&b.patch))
                    .then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => Ordering::Greater,
                        (false, true) => Ordering::Less,
                        (false, false) => a.pre.cmp(&b.pre),
                    }),
            ),
            (Version::Pep440(a), Version::Pep440(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// SemVer, tolerating the `v`/`=` prefixes npm and advisory data sometimes carry.
fn parse_semver(text: &str) -> Option<semver::Version> {
    let text = text.trim_start_matches(['=', 'v']);
    semver::Version::parse(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(eco: Ecosystem, a: &str, b: &str) -> Option<Ordering> {
        Version::parse(eco, a)?.compare(&Version::parse(eco, b)?)
    }

    #[test]
    fn semver_prereleases_sort_before_releases() {
        assert_eq!(
            cmp(Ecosystem::Npm, "1.0.0-alpha", "1.0.0"),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp(Ecosystem::Npm, "1.0.0-alpha.1", "1.0.0-alpha.beta"),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp(Ecosystem::Cargo, "1.0.0+build", "1.0.0"),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn go_versions_have_a_v_pseudo_versions_and_incompatible() {
        assert_eq!(
            cmp(Ecosystem::Go, "v1.2.3", "v1.10.0"),
            Some(Ordering::Less)
        );
        // A pseudo-version sorts before the release it precedes.
        assert_eq!(
            cmp(
                Ecosystem::Go,
                "v0.0.0-20210101000000-abcdefabcdef",
                "v0.0.1"
            ),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp(
                Ecosystem::Go,
                "v1.5.1-0.20200101000000-abcdefabcdef",
                "v1.5.1"
            ),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp(Ecosystem::Go, "v2.0.0+incompatible", "v2.0.0"),
            Some(Ordering::Equal)
        );
        assert_eq!(
            cmp(Ecosystem::Go, "v17.0.0+incompatible", "v2.1.0+incompatible"),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn pep440_orders_pre_post_dev_and_epochs() {
        let order = [
            "1.0.dev1",
            "1.0a1",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0.post1",
            "1.1",
            "1!0.5",
        ];
        for pair in order.windows(2) {
            assert_eq!(
                cmp(Ecosystem::PyPI, pair[0], pair[1]),
                Some(Ordering::Less),
                "{pair:?}"
            );
        }
        assert_eq!(cmp(Ecosystem::PyPI, "1.0", "1.0.0"), Some(Ordering::Equal));
    }

    #[test]
    fn unparsable_versions_do_not_compare() {
        assert_eq!(cmp(Ecosystem::Cargo, "not-a-version", "1.0.0"), None);
        assert_eq!(cmp(Ecosystem::PyPI, "1.0", "???"), None);
    }
}

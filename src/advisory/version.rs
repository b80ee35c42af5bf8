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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn semver_text() -> impl Strategy<Value = String> {
        (
            0u64..4,
            0u64..4,
            0u64..4,
            proptest::option::of(proptest::sample::select(vec![
                "alpha",
                "beta",
                "rc",
                "0",
                "1",
                "alpha.1",
                "alpha.beta",
                "20210101000000-abcdefabcdef",
            ])),
            proptest::option::of(proptest::sample::select(vec!["build", "incompatible", "1"])),
        )
            .prop_map(|(a, b, c, pre, build)| {
                let mut s = format!("{a}.{b}.{c}");
                if let Some(pre) = pre {
                    s.push('-');
                    s.push_str(pre);
                }
                if let Some(build) = build {
                    s.push('+');
                    s.push_str(build);
                }
                s
            })
    }

    /// PEP 440's sort key for `X.Y[.Z][{a|b|rc}N][.postN][.devN]`, written from the
    /// spec's ordering rules independently of `pep440_rs`.
    /// A PEP 440 version's parts: release, pre-release (phase, n), post, dev.
    type Pep440Parts = (Vec<u64>, Option<(u8, u64)>, Option<u64>, Option<u64>);
    /// Its sort key: release without trailing zeros, then (rank, n) for pre, post, dev.
    type Pep440Key = (Vec<u64>, (i8, u64), (i8, u64), (i8, u64));

    fn pep440_key(
        release: &[u64],
        pre: Option<(u8, u64)>,
        post: Option<u64>,
        dev: Option<u64>,
    ) -> Pep440Key {
        let mut release = release.to_vec();
        while release.last() == Some(&0) {
            release.pop();
        }
        let pre_key = match (pre, post, dev) {
            (None, None, Some(_)) => (-1, 0), // X.devN sorts before X's pre-releases
            (Some((phase, n)), _, _) => (phase as i8, n),
            (None, _, _) => (3, 0), // a final release sorts after its pre-releases
        };
        let post_key = post.map_or((-1, 0), |n| (0, n));
        let dev_key = dev.map_or((1, 0), |n| (0, n));
        (release, pre_key, post_key, dev_key)
    }

    fn pep440_parts() -> impl Strategy<Value = Pep440Parts> {
        (
            proptest::collection::vec(0u64..3, 1..4),
            proptest::option::of((0u8..3, 0u64..3)),
            proptest::option::of(0u64..3),
            proptest::option::of(0u64..3),
        )
    }

    fn pep440_text(parts: &Pep440Parts) -> String {
        let (release, pre, post, dev) = parts;
        let mut s = release
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".");
        if let Some((phase, n)) = pre {
            s.push_str(["a", "b", "rc"][*phase as usize]);
            s.push_str(&n.to_string());
        }
        if let Some(n) = post {
            s.push_str(&format!(".post{n}"));
        }
        if let Some(n) = dev {
            s.push_str(&format!(".dev{n}"));
        }
        s
    }

    proptest! {
        #[test]
        fn semver_order_agrees_with_the_semver_crate(a in semver_text(), b in semver_text()) {
            let reference = semver::Version::parse(&a).unwrap().cmp_precedence(&semver::Version::parse(&b).unwrap());
            for eco in [Ecosystem::Cargo, Ecosystem::Npm] {
                prop_assert_eq!(Version::parse(eco, &a).unwrap().compare(&Version::parse(eco, &b).unwrap()), Some(reference));
            }
            // Go writes the same versions with a `v`.
            let (ga, gb) = (format!("v{a}"), format!("v{b}"));
            prop_assert_eq!(Version::parse(Ecosystem::Go, &ga).unwrap().compare(&Version::parse(Ecosystem::Go, &gb).unwrap()), Some(reference));
        }

        #[test]
        fn pep440_order_agrees_with_the_spec_model(a in pep440_parts(), b in pep440_parts()) {
            let reference = pep440_key(&a.0, a.1, a.2, a.3).cmp(&pep440_key(&b.0, b.1, b.2, b.3));
            let (ta, tb) = (pep440_text(&a), pep440_text(&b));
            let ours = Version::parse(Ecosystem::PyPI, &ta).unwrap().compare(&Version::parse(Ecosystem::PyPI, &tb).unwrap());
            prop_assert_eq!(ours, Some(reference), "{} vs {}", ta, tb);
        }
    }
}

/// vouch's order held to each ecosystem's own implementation: tables written once by
/// node-semver, Python's `packaging` and Go's `golang.org/x/mod/semver` (testdata/README.md).
#[cfg(test)]
pub(crate) mod reference {
    use super::*;
    use proptest::prelude::*;

    /// `(rank, version)` rows of a reference table.
    pub(crate) fn table(ecosystem: Ecosystem) -> Vec<(usize, &'static str)> {
        let text = match ecosystem {
            Ecosystem::Npm | Ecosystem::Cargo => include_str!("testdata/npm-order.tsv"),
            Ecosystem::PyPI => include_str!("testdata/pypi-order.tsv"),
            Ecosystem::Go => include_str!("testdata/go-order.tsv"),
        };
        text.lines()
            .map(|line| {
                let (rank, version) = line.split_once('\t').expect("rank<TAB>version");
                (rank.parse().expect("a rank"), version)
            })
            .collect()
    }

    /// Every pair of the table compares as the reference ranks say.
    fn agrees_on_every_pair(ecosystem: Ecosystem) {
        let rows = table(ecosystem);
        let parsed: Vec<Version> = rows
            .iter()
            .map(|(_, v)| {
                Version::parse(ecosystem, v).unwrap_or_else(|| panic!("{ecosystem}: {v} parses"))
            })
            .collect();
        for (i, (rank_a, a)) in rows.iter().enumerate() {
            for (j, (rank_b, b)) in rows.iter().enumerate() {
                assert_eq!(
                    parsed[i].compare(&parsed[j]),
                    Some(rank_a.cmp(rank_b)),
                    "{ecosystem}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn npm_order_is_node_semvers() {
        agrees_on_every_pair(Ecosystem::Npm);
    }

    #[test]
    fn go_order_is_x_mod_semvers_with_pseudo_versions_and_incompatible() {
        agrees_on_every_pair(Ecosystem::Go);
    }

    #[test]
    fn pypi_order_is_packagings_with_post_dev_and_local_versions() {
        // 1,366 versions: sorting by our order must give packaging's ranks, and each
        // neighbour must compare as its rank says (the whole order, in n log n).
        let rows = table(Ecosystem::PyPI);
        let mut parsed: Vec<(usize, Version, &str)> = rows
            .iter()
            .map(|(rank, v)| {
                let parsed = Version::parse(Ecosystem::PyPI, v).unwrap_or_else(|| panic!("{v}"));
                (*rank, parsed, *v)
            })
            .collect();
        parsed.sort_by(|a, b| a.1.compare(&b.1).expect("one scheme"));
        for pair in parsed.windows(2) {
            let (ra, a, ta) = &pair[0];
            let (rb, b, tb) = &pair[1];
            assert_eq!(a.compare(b), Some(ra.cmp(rb)), "{ta} vs {tb}");
        }
    }

    proptest! {
        /// Random pairs of the PEP 440 table (the exhaustive pass above checks neighbours).
        #[test]
        fn pypi_pairs_compare_as_packaging_does(i in 0usize..1366, j in 0usize..1366) {
            let rows = table(Ecosystem::PyPI);
            let ((ra, a), (rb, b)) = (rows[i % rows.len()], rows[j % rows.len()]);
            let ours = Version::parse(Ecosystem::PyPI, a).unwrap().compare(&Version::parse(Ecosystem::PyPI, b).unwrap());
            prop_assert_eq!(ours, Some(ra.cmp(&rb)), "{} vs {}", a, b);
        }
    }
}

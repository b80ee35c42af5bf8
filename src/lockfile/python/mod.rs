//! Python lockfiles: pip's requirements files, poetry.lock, uv.lock, Pipfile.lock and
//! pylock.toml (PEP 751).
//!
//! Every one of them yields `Ecosystem::PyPI` packages with PEP 503-normalised names.
//! Index-served packages are `Source::Registry` whatever index URL the file records: vouch
//! does not guess which index is the public one. Hashes become checksums.

pub(crate) mod pipfile;
pub(crate) mod poetry;
pub(crate) mod pylock;
pub(crate) mod requirements;
pub(crate) mod uv;
mod uv_canonical;

use super::{ParseError, offset_to_line_column};
use crate::package::{Checksum, HashAlgorithm};

/// Reads `<algorithm>:<hex>` as lockfiles write hashes; `None` for algorithms vouch does
/// not record or text that is not a hash.
pub(crate) fn parse_hash(text: &str) -> Option<Checksum> {
    let (name, hex) = text.split_once(':')?;
    // This runs once per wheel: the name is compared without a lower-cased copy, and every
    // digit is checked (no early exit) so that the check becomes vector code.
    let (algorithm, want) = [
        ("sha1", HashAlgorithm::Sha1, 40),
        ("sha256", HashAlgorithm::Sha256, 64),
        ("sha384", HashAlgorithm::Sha384, 96),
        ("sha512", HashAlgorithm::Sha512, 128),
    ]
    .into_iter()
    .find(|(known, ..)| name.eq_ignore_ascii_case(known))
    .map(|(_, algorithm, want)| (algorithm, want))?;
    (hex.len() == want && hex.bytes().fold(true, |ok, b| ok & b.is_ascii_hexdigit())).then(|| {
        Checksum {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        }
    })
}

/// Adds a checksum unless the package already has it.
pub(crate) fn push_unique(checksums: &mut Vec<Checksum>, checksum: Checksum) {
    // A package can have dozens (one per wheel): their first eight digits, compared as one
    // number, tell almost every pair apart before the full comparison.
    let head = |hex: &str| {
        let mut eight = [0; 8];
        let n = hex.len().min(8);
        eight[..n].copy_from_slice(&hex.as_bytes()[..n]);
        u64::from_le_bytes(eight)
    };
    let (len, first) = (checksum.hex.len(), head(&checksum.hex));
    if !checksums
        .iter()
        .any(|c| c.hex.len() == len && head(&c.hex) == first && *c == checksum)
    {
        checksums.push(checksum);
    }
}

/// A TOML syntax or shape error, located from toml's span.
pub(crate) fn toml_error(text: &str, err: &toml::de::Error, what: &str) -> ParseError {
    let (line, column) = err
        .span()
        .map_or((1, 1), |span| offset_to_line_column(text, span.start));
    ParseError::new(
        line,
        column,
        format!("invalid {what}: {}", err.message().trim()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_need_a_known_algorithm_and_the_right_length() {
        let hex = "a".repeat(64);
        let checksum = parse_hash(&format!("sha256:{hex}")).unwrap();
        assert_eq!(checksum.algorithm, HashAlgorithm::Sha256);
        assert!(parse_hash(&format!("md5:{hex}")).is_none());
        assert!(parse_hash("sha256:abc").is_none());
        assert!(parse_hash(&format!("sha256:{}", "g".repeat(64))).is_none());
        assert!(parse_hash(&format!("sha256:{}g", "a".repeat(63))).is_none());
        let upper = parse_hash(&format!("SHA512:{}", "AB".repeat(64))).unwrap();
        assert_eq!(upper.algorithm, HashAlgorithm::Sha512);
        assert_eq!(upper.hex, "ab".repeat(64));
    }

    #[test]
    fn a_checksum_is_kept_once() {
        let sha = |hex: String| parse_hash(&format!("sha256:{hex}")).unwrap();
        let mut checksums = Vec::new();
        let same_head = format!("{}{}", "a".repeat(8), "b".repeat(56));
        for checksum in [
            sha("a".repeat(64)),
            sha(same_head.clone()),
            sha("A".repeat(64)),
            sha(same_head),
            parse_hash(&format!("sha1:{}", "a".repeat(40))).unwrap(),
        ] {
            push_unique(&mut checksums, checksum);
        }
        let hexes: Vec<&str> = checksums.iter().map(|c| &c.hex[..9]).collect();
        assert_eq!(hexes, ["aaaaaaaaa", "aaaaaaaab", "aaaaaaaaa"]);
        assert_eq!(checksums[2].algorithm, HashAlgorithm::Sha1);
    }

    use crate::package::{Package, Source};
    use std::path::{Path, PathBuf};

    /// The runtime packages every real fixture locks (fixtures/python/README.md).
    const RUNTIME: &[(&str, &str)] = &[
        ("certifi", "2022.9.24"),
        ("chardet", "3.0.4"),
        ("idna", "2.10"),
        ("jinja2", "2.11.2"),
        ("markupsafe", "2.0.1"),
        ("requests", "2.25.0"),
        ("urllib3", "1.26.4"),
    ];

    /// `(name, version, dev, optional)`, sorted.
    fn summary(packages: &[Package]) -> Vec<(String, String, bool, bool)> {
        let mut out: Vec<_> = packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.dev, p.optional))
            .collect();
        out.sort();
        out
    }

    fn expected(extra: &[(&str, &str, bool, bool)]) -> Vec<(String, String, bool, bool)> {
        let mut out: Vec<_> = RUNTIME
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string(), false, false))
            .chain(
                extra
                    .iter()
                    .map(|(n, v, d, o)| (n.to_string(), v.to_string(), *d, *o)),
            )
            .collect();
        out.sort();
        out
    }

    /// Every registry package has a SHA-256 and a line that opens its entry.
    fn check_hashes_and_lines(
        text: &str,
        packages: &[Package],
        opener: impl Fn(&str, &Package) -> bool,
    ) {
        let lines: Vec<&str> = text.lines().collect();
        for p in packages {
            if p.source == Source::Registry {
                assert!(
                    p.checksums
                        .iter()
                        .any(|c| c.algorithm == HashAlgorithm::Sha256),
                    "{} has no sha256",
                    p.name
                );
            }
            let line = p.line.unwrap_or_else(|| panic!("{} has no line", p.name)) as usize;
            assert!(
                opener(lines[line - 1], p),
                "{}: line {line} is `{}`",
                p.name,
                lines[line - 1]
            );
        }
    }

    fn index(packages: &[Package], name: &str) -> usize {
        packages
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    fn deps(packages: &[Package], name: &str) -> Vec<String> {
        let mut out: Vec<_> = packages[index(packages, name)]
            .dependencies
            .iter()
            .map(|&i| packages[i].name.clone())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn real_uv_lock_reads_exactly_what_uv_locked() {
        let text = include_str!("../../../fixtures/python/uv/uv.lock");
        let packages = uv::parse(text).unwrap().packages;
        assert_eq!(
            summary(&packages),
            expected(&[
                ("py", "1.9.0", true, false),
                ("sqlparse", "0.4.1", false, true),
                ("vouch-fixture-uv", "0.1.0", false, false),
            ])
        );
        let project = &packages[index(&packages, "vouch-fixture-uv")];
        assert_eq!(project.source, Source::Path(".".into()));
        check_hashes_and_lines(text, &packages, |l, _| l == "[[package]]");
        assert_eq!(
            deps(&packages, "requests"),
            ["certifi", "chardet", "idna", "urllib3"]
        );
        assert_eq!(deps(&packages, "jinja2"), ["markupsafe"]);
    }

    #[test]
    fn real_poetry_lock_reads_exactly_what_poetry_locked() {
        let text = include_str!("../../../fixtures/python/poetry/poetry.lock");
        let packages = poetry::parse(text).unwrap().packages;
        assert_eq!(
            summary(&packages),
            expected(&[("py", "1.9.0", true, false)])
        );
        check_hashes_and_lines(text, &packages, |l, _| l == "[[package]]");
        assert_eq!(
            deps(&packages, "requests"),
            ["certifi", "chardet", "idna", "urllib3"]
        );
        assert_eq!(deps(&packages, "jinja2"), ["markupsafe"]);
    }

    #[test]
    fn real_pipfile_lock_reads_exactly_what_pipenv_locked() {
        let text = include_str!("../../../fixtures/python/pipenv/Pipfile.lock");
        let packages = pipfile::parse(text).unwrap().packages;
        assert_eq!(
            summary(&packages),
            expected(&[("py", "1.9.0", true, false)])
        );
        check_hashes_and_lines(text, &packages, |l, p| {
            l.trim_start()
                .to_ascii_lowercase()
                .starts_with(&format!("\"{}\": {{", p.name))
        });
    }

    #[test]
    fn real_requirements_txt_reads_exactly_what_pip_compile_pinned() {
        let text = include_str!("../../../fixtures/python/requirements/requirements.txt");
        let mut no_includes = |_: &Path, _: &str| -> Result<(PathBuf, String), String> {
            Err("no includes in this fixture".into())
        };
        let parsed =
            requirements::parse_with(text, Path::new("/t/requirements.txt"), &mut no_includes)
                .unwrap();
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
        assert_eq!(summary(&parsed.packages), expected(&[]));
        check_hashes_and_lines(text, &parsed.packages, |l, p| {
            l.to_ascii_lowercase().starts_with(&format!("{}==", p.name))
        });
        for p in &parsed.packages {
            assert!(p.checksums.len() >= 2, "{}: sdist and wheel hashes", p.name);
        }
    }
}

//! `Cargo.lock` (v1 to v4), read with the `cargo-lock` crate that cargo-audit uses.

use std::collections::HashMap;
use std::str::FromStr;

use rustsec::cargo_lock;

use super::{ParseError, Parsed};
use crate::package::{Checksum, Ecosystem, HashAlgorithm, Package, Source};

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    refuse_non_ascii_checksums(text)?;
    let lockfile = cargo_lock::Lockfile::from_str(text).map_err(to_parse_error)?;
    let lines = package_lines(text);

    let mut packages: Vec<Package> = lockfile
        .packages
        .iter()
        .map(|p| {
            let name = p.name.as_str();
            let version = p.version.to_string();
            let mut pkg = Package::new(Ecosystem::Cargo, name, &version);
            pkg.source = match &p.source {
                None => Source::Path(String::new()),
                Some(s) if s.is_default_registry() => Source::Registry,
                Some(s) if s.is_git() => Source::Git(s.url().to_string()),
                Some(s) if s.is_path() => Source::Path(s.url().to_string()),
                Some(s) => Source::AlternateRegistry(s.url().to_string()),
            };
            if let Some(cargo_lock::package::Checksum::Sha256(bytes)) = &p.checksum {
                pkg.checksums.push(Checksum {
                    algorithm: HashAlgorithm::Sha256,
                    hex: crate::package::hex(bytes.as_slice()),
                });
            }
            pkg.line = lines.get(&(name, version.as_str())).copied();
            pkg
        })
        .collect();

    // Edges: a dependency names a package by name, and by version/source when ambiguous.
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in lockfile.packages.iter().enumerate() {
        by_name.entry(p.name.as_str()).or_default().push(i);
    }
    for (i, p) in lockfile.packages.iter().enumerate() {
        for dep in &p.dependencies {
            let candidates = by_name
                .get(dep.name.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let target = candidates.iter().copied().find(|&j| {
                let q = &lockfile.packages[j];
                dep.version == q.version && (dep.source.is_none() || dep.source == q.source)
            });
            match target {
                Some(j) => packages[i].dependencies.push(j),
                None => {
                    return Err(ParseError::new(
                        lines
                            .get(&(p.name.as_str(), p.version.to_string().as_str()))
                            .map_or(1, |&l| l as usize),
                        1,
                        format!(
                            "package `{} {}` depends on `{}`, which is not in the lockfile",
                            p.name, p.version, dep.name
                        ),
                    ));
                }
            }
        }
        packages[i].dependencies.sort_unstable();
        packages[i].dependencies.dedup();
    }
    Ok(Parsed {
        packages,
        notes: Vec::new(),
    })
}

/// cargo-lock 11 slices a checksum two bytes at a time, which panics when the string
/// holds a multi-byte character (found by fuzz/lockfile_cargo). A checksum can only hold
/// one when the file has a non-ASCII byte or an escape, so only then is the TOML read
/// twice to look at every checksum first.
fn refuse_non_ascii_checksums(text: &str) -> Result<(), ParseError> {
    if text.is_ascii() && !text.contains('\\') {
        return Ok(());
    }
    let value: toml::Table =
        toml::from_str(text).map_err(|e| super::python::toml_error(text, &e, "Cargo.lock"))?;
    let bad = |v: &toml::Value| v.as_str().is_some_and(|s| !s.is_ascii());
    let in_packages = value
        .get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("checksum"))
        .any(bad);
    let in_metadata = value
        .get("metadata")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
        .any(|(key, v)| key.starts_with("checksum ") && bad(v));
    if in_packages || in_metadata {
        let line = text
            .lines()
            .position(|l| l.contains("checksum") && !l.is_ascii())
            .map_or(1, |i| i + 1);
        return Err(ParseError::new(
            line,
            1,
            "invalid checksum: expected 64 hex digits",
        ));
    }
    Ok(())
}

/// Maps each `(name, version)` to the line of its `[[package]]` header, for locations in
/// reports. A cheap textual pass: `cargo-lock` keeps no spans.
fn package_lines(text: &str) -> HashMap<(&str, &str), u32> {
    let mut lines = HashMap::new();
    let mut header: Option<u32> = None;
    let mut name: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line == "[[package]]" {
            header = Some(i as u32 + 1);
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"'));
        } else if let Some(v) = line.strip_prefix("version = ")
            && let (Some(h), Some(n)) = (header, name)
        {
            lines.insert((n, v.trim_matches('"')), h);
            header = None;
        }
    }
    lines
}

/// `cargo-lock` reports TOML errors as text; recover the position toml put in it.
fn to_parse_error(err: cargo_lock::Error) -> ParseError {
    let text = err.to_string();
    let (line, column) = position_in_toml_message(&text).unwrap_or((1, 1));
    // Keep toml's own explanation (last non-empty line), not its ASCII-art excerpt.
    let message = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('|'))
        .unwrap_or(&text)
        .trim()
        .trim_start_matches("parse error: ")
        .trim_start_matches("parse error: ")
        .to_string();
    ParseError::new(line, column, format!("invalid Cargo.lock: {message}"))
}

fn position_in_toml_message(text: &str) -> Option<(usize, usize)> {
    let rest = &text[text.find("line ")? + 5..];
    let (line, rest) = rest.split_once(", column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "smallvec",
]

[[package]]
name = "smallvec"
version = "0.6.9"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "c4488ae950c49d403731982257768f48fada354a5203fe81f9bb6f43ca9002be"
"#;

    #[test]
    fn reads_packages_sources_checksums_edges_and_lines() {
        let packages = parse(LOCK).unwrap().packages;
        assert_eq!(packages.len(), 2);
        let app = &packages[0];
        assert_eq!(app.source, Source::Path(String::new()));
        assert_eq!(app.dependencies, vec![1]);
        assert_eq!(app.line, Some(3));
        let smallvec = &packages[1];
        assert_eq!(smallvec.source, Source::Registry);
        assert_eq!(smallvec.line, Some(10));
        assert_eq!(smallvec.checksums[0].algorithm, HashAlgorithm::Sha256);
        assert!(smallvec.checksums[0].hex.starts_with("c4488ae9"));
    }

    #[test]
    fn malformed_toml_is_located() {
        let err = parse("version = 4\n\n[[package]\nname = 1\n").unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        assert!(err.message.starts_with("invalid Cargo.lock"), "{err:?}");
    }

    #[test]
    fn a_dangling_dependency_is_an_error() {
        let text = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b\"]\n";
        let err = parse(text).unwrap_err();
        assert!(err.message.contains("resolve dependency: b"), "{err:?}");
        assert!(!err.message.contains("parse error: parse error"), "{err:?}");
    }

    #[test]
    fn a_checksum_with_a_multi_byte_character_is_an_error_not_a_panic() {
        let raw = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"1a5\u{2de}a5f3b68e41c979bf8c46a6f1da892ca4db8f94023ce0bd32407573b1ac0\"\n";
        let err = parse(raw).unwrap_err();
        assert_eq!(err.line, 7, "{err:?}");
        let escaped = raw.replace('\u{2de}', "\\u02de");
        assert!(parse(&escaped).is_err());
    }
}

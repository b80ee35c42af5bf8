//! `Cargo.lock` (v1 to v4), read into a light struct with `toml` and resolved by vouch.
//!
//! `cargo-lock` (the crate cargo-audit reads lockfiles with) resolves each abbreviated
//! dependency by scanning the whole package list, which is quadratic: three quarters of
//! an audit of 10,000 packages. Here every package is indexed by name once and each
//! dependency entry (`"name"`, `"name version"` or `"name version (source)"`) is resolved
//! through that index, with cargo-lock's rules: an entry without a source is the first
//! package of that name (and version, when given); one with a source must match it too.
//! Sources are still parsed by cargo-lock's `SourceId`, once per distinct string, so
//! which package counts as a crates.io one is exactly cargo-audit's answer.

use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;

use rustsec::cargo_lock::SourceId;
use serde::Deserialize;
use toml::Spanned;

use super::{LineIndex, ParseError, Parsed};
use crate::package::{Checksum, Ecosystem, HashAlgorithm, Package, Source};

/// The header `[[package]]` cargo writes: the file is parsed in pieces that start at it.
const PACKAGE_HEADER: &str = "[[package]]";

/// One piece of the file as TOML: the part before the first package, or a package with
/// whatever follows it up to the next one (`[metadata]`, `[[patch.unused]]`).
#[derive(Deserialize)]
struct RawPiece<'a> {
    version: Option<Spanned<i64>>,
    #[serde(default, borrow)]
    package: Vec<Spanned<RawPackage<'a>>>,
    /// v1: `"checksum <name> <version> (<source>)" = "<hex>"`.
    #[serde(default, borrow)]
    metadata: Option<HashMap<Cow<'a, str>, Spanned<Cow<'a, str>>>>,
}

#[derive(Deserialize)]
struct RawPackage<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    version: Spanned<Cow<'a, str>>,
    #[serde(default, borrow)]
    source: Option<Spanned<Cow<'a, str>>>,
    #[serde(default, borrow)]
    checksum: Option<Spanned<Cow<'a, str>>>,
    #[serde(default, borrow)]
    dependencies: Vec<Spanned<Cow<'a, str>>>,
}

/// A string from the file and the byte offset where its value starts.
type At<'a> = (Cow<'a, str>, usize);

/// A `[[package]]` with offsets into the whole file.
struct Entry<'a> {
    name: Cow<'a, str>,
    version: At<'a>,
    source: Option<At<'a>>,
    checksum: Option<At<'a>>,
    dependencies: Vec<At<'a>>,
    line: u32,
}

/// One `dependencies` entry.
struct DependencyRef<'a> {
    name: &'a str,
    version: Option<semver::Version>,
    source: Option<SourceId>,
}

/// Byte offsets where the file's pieces start: the top, then every line that is exactly
/// `[[package]]`. No table spans such a header, so each piece reads as it would in the
/// whole file; a multi-line string or array that did span one leaves its piece
/// unterminated, an error; a table defined in two pieces (a second `[metadata]`) is
/// refused by [`parse`]. Parsing pieces keeps toml's working memory to one package
/// instead of the whole file's tokens (45 MB for 10,000 packages).
fn pieces(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    for (at, _) in text.match_indices(PACKAGE_HEADER) {
        let after = &text[at + PACKAGE_HEADER.len()..];
        let line_start = at == 0 || text.as_bytes()[at - 1] == b'\n';
        let line_end = after.is_empty() || after.starts_with('\n') || after.starts_with("\r\n");
        if at > 0 && line_start && line_end {
            starts.push(at);
        }
    }
    starts
}

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let at = |offset: usize, message: String| {
        let (line, column) = super::offset_to_line_column(text, offset);
        ParseError::new(line, column, format!("invalid Cargo.lock: {message}"))
    };
    let mut format_version = None;
    let mut metadata = None;
    let mut entries: Vec<Entry<'_>> = Vec::new();
    let starts = pieces(text);
    let mut line = 1;
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(text.len());
        let piece = &text[start..end];
        let raw: RawPiece<'_> = toml::from_str(piece).map_err(|e| {
            let mut err = super::python::toml_error(piece, &e, "Cargo.lock");
            err.line += line - 1;
            err
        })?;
        let lines = LineIndex::new(piece);
        if let Some(v) = raw.version {
            format_version = Some((*v.get_ref(), start + v.span().start));
        }
        if let Some(m) = raw.metadata {
            if metadata.is_some() {
                return Err(at(start, "a second [metadata] table".into()));
            }
            metadata = Some((m, start));
        }
        for spanned in raw.package {
            let header = super::python::poetry::header_line(piece, &lines, spanned.span().start);
            let raw = spanned.into_inner();
            entries.push(Entry {
                name: raw.name,
                version: global(start, raw.version),
                source: raw.source.map(|s| global(start, s)),
                checksum: raw.checksum.map(|s| global(start, s)),
                dependencies: raw
                    .dependencies
                    .into_iter()
                    .map(|s| global(start, s))
                    .collect(),
                line: line as u32 - 1 + header,
            });
        }
        line += piece.bytes().filter(|&b| b == b'\n').count();
    }
    if let Some((version, offset)) = format_version
        && !(1..=4).contains(&version)
    {
        return Err(at(
            offset,
            format!("format version {version} (expected 1 to 4)"),
        ));
    }

    // v1 keeps checksums in [metadata], keyed by the package's full dependency string;
    // cargo-lock reads them only when the file has no explicit version of 2 or more.
    let mut v1_checksums: HashMap<(&str, &str), At<'_>> = HashMap::new();
    let v1 = format_version.is_none_or(|(v, _)| v < 2);
    for (table, start) in metadata.iter().filter(|_| v1) {
        for (key, value) in table {
            let Some(rest) = key.strip_prefix("checksum ") else {
                continue;
            };
            let mut words = rest.split_whitespace();
            if let (Some(name), Some(version)) = (words.next(), words.next()) {
                v1_checksums
                    .entry((name, version))
                    .or_insert_with(|| (Cow::Borrowed(value.get_ref().as_ref()), start + value.span().start));
            }
        }
    }
    if !v1_checksums.is_empty() && entries.iter().any(|e| e.checksum.is_some()) {
        return Err(at(
            0,
            "checksums in both [[package]] and [metadata] sections".into(),
        ));
    }

    let mut sources = SourceCache::default();
    let mut packages = Vec::with_capacity(entries.len());
    let mut versions = Vec::with_capacity(entries.len());
    let mut source_ids = Vec::with_capacity(entries.len());
    for entry in &entries {
        let (raw_version, version_at) = &entry.version;
        let version = semver::Version::parse(raw_version).map_err(|e| {
            at(
                *version_at,
                format!("package `{}`: version `{raw_version}`: {e}", entry.name),
            )
        })?;
        let source = match &entry.source {
            Some((raw, offset)) => Some(sources.get(raw).map_err(|m| at(*offset, m))?),
            None => None,
        };
        // semver reads versions strictly: the text is what it displays.
        let mut pkg = Package::new(Ecosystem::Cargo, entry.name.as_ref(), raw_version.as_ref());
        pkg.source = match &source {
            None => Source::Path(String::new()),
            Some(s) if s.is_default_registry() => Source::Registry,
            Some(s) if s.is_git() => Source::Git(s.url().to_string()),
            Some(s) if s.is_path() => Source::Path(s.url().to_string()),
            Some(s) => Source::AlternateRegistry(s.url().to_string()),
        };
        let checksum = entry.checksum.as_ref().or_else(|| {
            v1_checksums.get(&(entry.name.as_ref(), raw_version.as_ref()))
        });
        match checksum {
            // v1 writes `<none>` for packages without one (git, path).
            Some((value, offset)) if value != "<none>" => {
                let hex = sha256_hex(value).ok_or_else(|| {
                    at(*offset, "invalid checksum: expected 64 hex digits".into())
                })?;
                pkg.checksums.push(Checksum {
                    algorithm: HashAlgorithm::Sha256,
                    hex,
                });
            }
            _ => {}
        }
        pkg.line = Some(entry.line);
        packages.push(pkg);
        versions.push(version);
        source_ids.push(source);
    }

    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        by_name.entry(e.name.as_ref()).or_default().push(i);
    }
    for (i, entry) in entries.iter().enumerate() {
        let mut deps = Vec::with_capacity(entry.dependencies.len());
        for (text, offset) in &entry.dependencies {
            let dep = dependency(text, &mut |s| sources.get(s)).map_err(|m| at(*offset, m))?;
            let candidates = by_name.get(dep.name).map(Vec::as_slice).unwrap_or(&[]);
            let target = candidates.iter().copied().find(|&j| {
                dep.version.as_ref().is_none_or(|v| *v == versions[j])
                    && dep
                        .source
                        .as_ref()
                        .is_none_or(|s| source_ids[j].as_ref() == Some(s))
            });
            let Some(j) = target else {
                return Err(ParseError::new(
                    entry.line as usize,
                    1,
                    format!(
                        "package `{} {}` depends on `{text}`, which is not in the lockfile",
                        entry.name, entry.version.0
                    ),
                ));
            };
            deps.push(j);
        }
        deps.sort_unstable();
        deps.dedup();
        packages[i].dependencies = deps;
    }
    Ok(Parsed {
        packages,
        notes: Vec::new(),
    })
}

/// A piece's string with its offset in the whole file.
fn global(piece_start: usize, s: Spanned<Cow<'_, str>>) -> At<'_> {
    let offset = piece_start + s.span().start;
    (s.into_inner(), offset)
}

/// Parsed sources, one per distinct string (a lockfile has a handful).
#[derive(Default)]
struct SourceCache {
    parsed: HashMap<String, SourceId>,
}

impl SourceCache {
    fn get(&mut self, text: &str) -> Result<SourceId, String> {
        if let Some(id) = self.parsed.get(text) {
            return Ok(id.clone());
        }
        let id = SourceId::from_str(text).map_err(|e| format!("source `{text}`: {e}"))?;
        self.parsed.insert(text.to_string(), id.clone());
        Ok(id)
    }
}

/// `name`, `name version` or `name version (source)`.
fn dependency<'a>(
    text: &'a str,
    sources: &mut dyn FnMut(&str) -> Result<SourceId, String>,
) -> Result<DependencyRef<'a>, String> {
    let mut words = text.split_whitespace();
    let name = words
        .next()
        .ok_or_else(|| "an empty dependency entry".to_string())?;
    let version = words
        .next()
        .map(|v| {
            semver::Version::parse(v).map_err(|e| format!("dependency `{text}`: version `{v}`: {e}"))
        })
        .transpose()?;
    let source = match words.next() {
        None => None,
        Some(s) => {
            let inner = s
                .strip_prefix('(')
                .and_then(|s| s.strip_suffix(')'))
                .ok_or_else(|| format!("dependency `{text}`: expected `(source)`, found `{s}`"))?;
            Some(sources(inner)?)
        }
    };
    if words.next().is_some() {
        return Err(format!(
            "dependency `{text}`: expected `name [version [(source)]]`"
        ));
    }
    Ok(DependencyRef {
        name,
        version,
        source,
    })
}

/// A SHA-256 written as 64 hex digits, lower-cased.
fn sha256_hex(text: &str) -> Option<String> {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| text.to_ascii_lowercase())
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

    /// What cargo-lock (cargo-audit's reader) makes of a lockfile, as vouch's packages.
    fn with_cargo_lock(text: &str) -> Vec<(String, String, Source, Vec<String>, Vec<usize>)> {
        use rustsec::cargo_lock;
        let lockfile: cargo_lock::Lockfile = text.parse().unwrap();
        let packages = &lockfile.packages;
        packages
            .iter()
            .map(|p| {
                let source = match &p.source {
                    None => Source::Path(String::new()),
                    Some(s) if s.is_default_registry() => Source::Registry,
                    Some(s) if s.is_git() => Source::Git(s.url().to_string()),
                    Some(s) if s.is_path() => Source::Path(s.url().to_string()),
                    Some(s) => Source::AlternateRegistry(s.url().to_string()),
                };
                let checksums = p
                    .checksum
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>();
                let mut deps: Vec<usize> = p
                    .dependencies
                    .iter()
                    .map(|d| {
                        packages
                            .iter()
                            .position(|q| {
                                q.name == d.name
                                    && q.version == d.version
                                    && (d.source.is_none() || d.source == q.source)
                            })
                            .unwrap()
                    })
                    .collect();
                deps.sort_unstable();
                deps.dedup();
                (p.name.to_string(), p.version.to_string(), source, checksums, deps)
            })
            .collect()
    }

    fn with_vouch(text: &str) -> Vec<(String, String, Source, Vec<String>, Vec<usize>)> {
        parse(text)
            .unwrap()
            .packages
            .into_iter()
            .map(|p| {
                let checksums = p.checksums.into_iter().map(|c| c.hex).collect();
                (p.name, p.version, p.source, checksums, p.dependencies)
            })
            .collect()
    }

    /// The reader replaced cargo-lock's quadratic resolution: on every real lockfile, in
    /// every format version cargo-lock writes (v1 with [metadata] checksums, v2, v3, v4),
    /// it must find the same packages, sources, checksums and edges.
    #[test]
    fn agrees_with_cargo_lock_on_real_lockfiles_in_every_format_version() {
        use rustsec::cargo_lock::{Lockfile, ResolveVersion};
        let files = [
            include_str!("../../Cargo.lock"),
            include_str!("../../fuzz/Cargo.lock"),
            include_str!("../../fixtures/bench/medium/Cargo.lock"),
            include_str!("../../fixtures/cargo/vulnerable/Cargo.lock"),
            include_str!("../../fixtures/example/Cargo.lock"),
        ];
        for text in files {
            let mut lockfile: Lockfile = text.parse().unwrap();
            for version in [
                ResolveVersion::V1,
                ResolveVersion::V2,
                ResolveVersion::V3,
                ResolveVersion::V4,
            ] {
                lockfile.version = version;
                let written = lockfile.to_string();
                let ours = with_vouch(&written);
                assert_eq!(ours, with_cargo_lock(&written), "{version:?}");
                assert_eq!(ours.len(), lockfile.packages.len());
            }
            assert_eq!(with_vouch(text), with_cargo_lock(text));
        }
    }

    #[test]
    fn ambiguous_names_resolve_by_version_and_source() {
        let text = r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "dup 1.0.0",
 "dup 2.0.0 (git+https://example.invalid/dup?branch=main)",
 "dup 2.0.0 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "dup"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "dup"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "dup"
version = "2.0.0"
source = "git+https://example.invalid/dup?branch=main#0123456789abcdef0123456789abcdef01234567"
"#;
        let packages = parse(text).unwrap().packages;
        assert_eq!(packages[0].dependencies, vec![1, 2, 3]);
        assert!(matches!(&packages[3].source, Source::Git(url) if url == "https://example.invalid/dup"));
        assert_eq!(with_vouch(text), with_cargo_lock(text));
        let unknown = text.replace("\"dup 1.0.0\"", "\"dup 3.0.0\"");
        let err = parse(&unknown).unwrap_err();
        assert!(err.message.contains("`dup 3.0.0`, which is not"), "{err:?}");
    }

    /// The file is parsed in pieces cut at `[[package]]` lines: one inside a multi-line
    /// string must not be taken for a table.
    #[test]
    fn a_package_header_inside_a_string_is_not_a_package() {
        let text = "version = 3\nx = \"\"\"\n[[package]]\nname = \"evil\"\nversion = \"1.0.0\"\n\"\"\"\n";
        assert!(text.parse::<toml::Table>().is_ok(), "valid TOML");
        assert!(parse(text).is_err(), "refused, never read as a package");
        let crlf = LOCK.replace('\n', "\r\n");
        assert_eq!(with_vouch(&crlf), with_vouch(LOCK));
    }

    #[test]
    fn bad_versions_sources_and_entries_are_located() {
        let cases = [
            ("version = \"x\"", "version `x`"),
            ("source = \"weird+https://x\"", "unsupported source protocol"),
            (
                "dependencies = [\"a 1.0.0 (registry+https://x) d\"]",
                "expected `name [version [(source)]]`",
            ),
            ("dependencies = [\"a 1.0.0 x\"]", "expected `(source)`"),
            ("dependencies = [\"\"]", "empty dependency"),
        ];
        for (line, want) in cases {
            let text = format!(
                "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\n{line}\n"
            );
            let text = if line.starts_with("version") {
                text.replacen("version = \"1.0.0\"\nversion", "version", 1)
            } else {
                text
            };
            let err = parse(&text).unwrap_err();
            assert!(err.message.contains(want), "{line}: {err:?}");
            assert!(err.line >= 8, "{line}: {err:?}");
        }
        let err = parse("version = 7\n").unwrap_err();
        assert!(err.message.contains("format version 7"), "{err:?}");
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
        assert_eq!(err.line, 3, "{err:?}");
        assert!(
            err.message.contains("`a 1.0.0` depends on `b`, which is not"),
            "{err:?}"
        );
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

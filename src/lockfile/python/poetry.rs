//! `poetry.lock`: lock-version 1.x (`category = "dev"`, hashes in `[metadata.files]`) and
//! 2.x (`groups`, per-package `files`).
//!
//! A package is dev-only when its category is `dev` or, in newer locks, when none of its
//! groups is `main`. Dependency edges come from `[package.dependencies]` by normalised
//! name. The project itself is not in poetry.lock.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use super::{parse_hash, push_unique, toml_error};
use crate::lockfile::{LineIndex, ParseError, Parsed};
use crate::package::{Ecosystem, LocalKind, Package, Source, normalize_pypi_name};

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Spanned<Entry>>,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize, Default)]
struct Metadata {
    /// lock-version 1.x: name → files.
    #[serde(default)]
    files: HashMap<String, Vec<File>>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    version: String,
    #[serde(default)]
    optional: bool,
    category: Option<String>,
    groups: Option<Vec<String>>,
    #[serde(default)]
    files: Vec<File>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    source: Option<EntrySource>,
}

#[derive(Deserialize)]
struct File {
    hash: String,
}

#[derive(Deserialize)]
struct EntrySource {
    #[serde(rename = "type")]
    kind: String,
    url: String,
    resolved_reference: Option<String>,
}

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let lock: Lock = toml::from_str(text).map_err(|e| toml_error(text, &e, "poetry.lock"))?;
    let files_by_name: HashMap<String, &Vec<File>> = lock
        .metadata
        .files
        .iter()
        .map(|(name, files)| (normalize_pypi_name(name), files))
        .collect();

    let mut packages = Vec::with_capacity(lock.package.len());
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    let lines = LineIndex::new(text);
    for (i, spanned) in lock.package.iter().enumerate() {
        let entry = spanned.get_ref();
        let line = header_line(text, &lines, spanned.span().start);
        let name = normalize_pypi_name(&entry.name);
        let mut pkg = Package::new(Ecosystem::PyPI, &name, &entry.version);
        pkg.line = Some(line);
        pkg.optional = entry.optional;
        pkg.dev = entry.category.as_deref() == Some("dev")
            || entry
                .groups
                .as_ref()
                .is_some_and(|groups| !groups.iter().any(|g| g == "main"));
        pkg.source = match &entry.source {
            None => Source::Registry,
            Some(s) => match s.kind.as_str() {
                "legacy" => Source::Registry,
                "git" => Source::Git(match &s.resolved_reference {
                    Some(rev) => format!("{}#{rev}", s.url),
                    None => s.url.clone(),
                }),
                "directory" | "file" => {
                    pkg.local = Some(LocalKind::LocalPath);
                    Source::Path(s.url.clone())
                }
                "url" => Source::AlternateRegistry(s.url.clone()),
                other => {
                    return Err(ParseError::new(
                        line as usize,
                        1,
                        format!(
                            "package `{name}` has source type `{other}`: expected legacy, git, directory, file or url"
                        ),
                    ));
                }
            },
        };
        let files = entry
            .files
            .iter()
            .chain(files_by_name.get(&name).into_iter().flat_map(|f| f.iter()));
        for file in files {
            let checksum = parse_hash(&file.hash).ok_or_else(|| {
                ParseError::new(
                    line as usize,
                    1,
                    format!(
                        "package `{name}` has hash `{}`: expected `sha256:<hex>`",
                        file.hash
                    ),
                )
            })?;
            push_unique(&mut pkg.checksums, checksum);
        }
        by_name.entry(name).or_default().push(i);
        packages.push(pkg);
    }

    for (i, spanned) in lock.package.iter().enumerate() {
        let mut deps: Vec<usize> = spanned
            .get_ref()
            .dependencies
            .keys()
            .filter_map(|dep| by_name.get(&normalize_pypi_name(dep)))
            .flatten()
            .copied()
            .collect();
        // A dependency absent from the lock is one whose markers exclude every platform
        // poetry locked for (e.g. `colorama` on Windows only): poetry omits it.
        deps.sort_unstable();
        deps.dedup();
        packages[i].dependencies = deps;
    }
    Ok(Parsed {
        packages,
        notes: Vec::new(),
    })
}

/// The 1-based line of the `[[package]]` header that opens the table at `offset`.
pub(crate) fn header_line(text: &str, lines: &LineIndex, offset: usize) -> u32 {
    array_table_line(text, lines, offset, "[[package]]") as u32
}

/// The 1-based line of the array-of-tables `header` (`[[package]]`, `[[packages]]`) that
/// opens the table whose span starts at `offset` (toml's span starts inside it).
pub(crate) fn array_table_line(
    text: &str,
    lines: &LineIndex,
    offset: usize,
    header: &str,
) -> usize {
    let end = (offset + header.len()).min(text.len());
    let at = text
        .get(..end)
        .and_then(|before| before.rfind(header))
        .unwrap_or(offset);
    lines.line(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = r#"# This file is automatically @generated by Poetry 2.5.1 and should not be changed by hand.

[[package]]
name = "Jinja2"
version = "2.11.2"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = [
    {file = "Jinja2-2.11.2.tar.gz", hash = "sha256:89aab215427ef59c34ad58735269eb58b1a5808103067f7bb9d5836c651b3bb0"},
]

[package.dependencies]
MarkupSafe = ">=0.23"

[[package]]
name = "markupsafe"
version = "2.0.1"
optional = false
groups = ["main", "dev"]
files = []

[[package]]
name = "py"
version = "1.9.0"
optional = true
groups = ["dev"]
files = []

[package.source]
type = "git"
url = "https://example.invalid/py.git"
reference = "main"
resolved_reference = "abc123"

[metadata]
lock-version = "2.1"
"#;

    #[test]
    fn reads_groups_files_edges_sources_and_lines() {
        let packages = parse(V2).unwrap().packages;
        assert_eq!(packages.len(), 3);
        let jinja = &packages[0];
        assert_eq!((jinja.name.as_str(), jinja.line), ("jinja2", Some(3)));
        assert_eq!(jinja.dependencies, vec![1]);
        assert_eq!(jinja.checksums.len(), 1);
        assert!(!jinja.dev);
        assert!(!packages[1].dev, "in main and dev: not dev-only");
        assert_eq!(packages[1].line, Some(17));
        assert!(packages[2].dev && packages[2].optional);
        assert_eq!(
            packages[2].source,
            Source::Git("https://example.invalid/py.git#abc123".into())
        );
    }

    #[test]
    fn old_locks_use_category_and_metadata_files() {
        let text = r#"[[package]]
name = "py"
version = "1.9.0"
category = "dev"
optional = false

[[package]]
name = "requests"
version = "2.25.0"
category = "main"
optional = false

[metadata]
lock-version = "1.1"

[metadata.files]
py = [
    {file = "py-1.9.0.tar.gz", hash = "sha256:9ca6883ce56b4e8da7e79ac18787889fa5206c79dcc67fb065376cd2fe03f342"},
]
requests = []
"#;
        let packages = parse(text).unwrap().packages;
        assert!(packages[0].dev);
        assert!(!packages[1].dev);
        assert_eq!(packages[0].checksums.len(), 1);
        assert_eq!(packages[1].line, Some(7));
    }

    #[test]
    fn malformed_locks_are_located() {
        let err = parse("[[package]]\nname = \"a\"\n").unwrap_err();
        assert!(err.message.contains("version"), "{err:?}");
        let err = parse("[[package]]\nname = \"a\"\nversion = 1\n").unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        let err = parse("[[package]\n").unwrap_err();
        assert_eq!(err.line, 1, "{err:?}");
        let err =
            parse("[[package]]\nname = \"a\"\nversion = \"1\"\nfiles = [{hash = \"md5:x\"}]\n")
                .unwrap_err();
        assert_eq!(err.line, 1, "{err:?}");
    }
}

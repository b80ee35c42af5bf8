//! `uv.lock` (lock `version = 1`).
//!
//! Workspace members (`source = { editable = ... }` or `{ virtual = ... }`) are the roots,
//! reported with `Source::Path`. A package reached from them only through
//! `dev-dependencies` groups is dev; one reached only through the members'
//! `optional-dependencies` (extras) is optional. Edges follow `dependencies`, with a
//! package's extras activated where an edge names them, so a package is never called dev
//! or optional unless the lock shows it: `--exclude-dev` must not hide runtime code. A
//! member without a version (dynamic) is not a package but still a root. sdist and wheel
//! hashes become checksums.
//!
//! The file is read in pieces cut at `[[package]]` lines, each by [`uv_canonical`] when it
//! has exactly the shape uv writes, else by toml (toml on a 500 KB lockfile was most of
//! an audit). Whole-file toml stays the reference: any file the pieces cannot describe
//! faithfully is read by it, and so are its errors.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use toml::Spanned;

use super::poetry::header_line;
use super::uv_canonical;
use super::{parse_hash, push_unique, toml_error};
use crate::lockfile::cargo::PACKAGE_HEADER;
use crate::lockfile::{Note, ParseError, Parsed};
use crate::package::{Ecosystem, LocalKind, Package, Source, normalize_pypi_name};

/// What the resolution below needs of a lockfile, however it was read.
#[derive(Debug, PartialEq)]
pub(super) struct Lock<'a> {
    version: u32,
    /// `[manifest]`: a workspace's member names.
    members: Vec<Cow<'a, str>>,
    entries: Vec<Entry<'a>>,
}

/// A `[[package]]`.
#[derive(Debug, PartialEq)]
pub(super) struct Entry<'a> {
    pub name: Cow<'a, str>,
    /// Absent for dynamic-version workspace members.
    pub version: Option<Cow<'a, str>>,
    pub source: SourceSpec<'a>,
    pub dependencies: Vec<Dep<'a>>,
    pub optional_dependencies: BTreeMap<Cow<'a, str>, Vec<Dep<'a>>>,
    pub dev_dependencies: BTreeMap<Cow<'a, str>, Vec<Dep<'a>>>,
    /// The sdist's hash, then each wheel's, where they have one.
    pub hashes: Vec<Cow<'a, str>>,
    /// The line of its `[[package]]` header.
    pub line: u32,
}

#[derive(Debug, PartialEq)]
pub(super) struct Dep<'a> {
    pub name: Cow<'a, str>,
    pub version: Option<Cow<'a, str>>,
    pub source: Option<SourceSpec<'a>>,
    pub extra: Vec<Cow<'a, str>>,
}

/// A package's or dependency's `source` table.
#[derive(Debug, PartialEq)]
pub(super) enum SourceSpec<'a> {
    /// `{ key = "value" }`, the only shape uv writes.
    One(Cow<'a, str>, Cow<'a, str>),
    /// Any other table, as toml read it. Never one of `One`'s shape ([`SourceSpec::new`]),
    /// so equal sources are equal variants.
    Table(toml::Table),
}

impl SourceSpec<'_> {
    fn new(table: toml::Table) -> SourceSpec<'static> {
        let mut entries = table.into_iter();
        match (entries.next(), entries.next()) {
            (Some((key, toml::Value::String(value))), None) => {
                SourceSpec::One(Cow::Owned(key), Cow::Owned(value))
            }
            // Rebuilt in the order it came in.
            (first, second) => {
                SourceSpec::Table(first.into_iter().chain(second).chain(entries).collect())
            }
        }
    }

    fn has(&self, key: &str) -> bool {
        match self {
            SourceSpec::One(k, _) => k == key,
            SourceSpec::Table(table) => table.contains_key(key),
        }
    }
}

// The file as serde reads it with toml: the whole of it, or one piece.

#[derive(Deserialize)]
struct RawLock {
    version: u32,
    #[serde(default)]
    manifest: Manifest,
    #[serde(default)]
    package: Vec<Spanned<RawEntry>>,
}

/// The part before the first `[[package]]` line.
#[derive(Deserialize)]
struct RawHeader {
    version: u32,
    #[serde(default)]
    manifest: Manifest,
    /// Packages here would mix with the pieces': such a file is read whole.
    package: Option<toml::Value>,
}

/// A piece from a `[[package]]` line to the next: one package and its tables; any other
/// top-level table here is refused, so that no table is defined in two pieces.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackagePiece {
    package: Vec<RawEntry>,
}

/// `[manifest]`: a workspace's member names.
#[derive(Deserialize, Default)]
struct Manifest {
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Deserialize)]
struct RawEntry {
    name: String,
    version: Option<String>,
    source: toml::Table,
    #[serde(default)]
    dependencies: Vec<RawDep>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<RawDep>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<RawDep>>,
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
}

#[derive(Deserialize)]
struct RawDep {
    name: String,
    version: Option<String>,
    source: Option<toml::Table>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Deserialize)]
struct Artifact {
    hash: Option<String>,
}

impl RawEntry {
    fn into_entry(self, line: u32) -> Entry<'static> {
        let groups = |map: BTreeMap<String, Vec<RawDep>>| {
            map.into_iter()
                .map(|(k, list)| {
                    (
                        Cow::Owned(k),
                        list.into_iter().map(RawDep::into_dep).collect(),
                    )
                })
                .collect()
        };
        Entry {
            name: Cow::Owned(self.name),
            version: self.version.map(Cow::Owned),
            source: SourceSpec::new(self.source),
            dependencies: self
                .dependencies
                .into_iter()
                .map(RawDep::into_dep)
                .collect(),
            optional_dependencies: groups(self.optional_dependencies),
            dev_dependencies: groups(self.dev_dependencies),
            hashes: self
                .sdist
                .into_iter()
                .chain(self.wheels)
                .filter_map(|a| a.hash.map(Cow::Owned))
                .collect(),
            line,
        }
    }
}

impl RawDep {
    fn into_dep(self) -> Dep<'static> {
        Dep {
            name: Cow::Owned(self.name),
            version: self.version.map(Cow::Owned),
            source: self.source.map(SourceSpec::new),
            extra: self.extra.into_iter().map(Cow::Owned).collect(),
        }
    }
}

/// The whole file read with toml: the reference reading, and the one that reports a
/// malformed file's error where toml finds it.
pub(super) fn read_with_toml(text: &str) -> Result<Lock<'static>, ParseError> {
    let lock: RawLock = toml::from_str(text).map_err(|e| toml_error(text, &e, "uv.lock"))?;
    let line_index = crate::lockfile::LineIndex::new(text);
    let entries = lock
        .package
        .into_iter()
        .map(|p| {
            let line = header_line(text, &line_index, p.span().start);
            p.into_inner().into_entry(line)
        })
        .collect();
    Ok(Lock {
        version: lock.version,
        members: lock.manifest.members.into_iter().map(Cow::Owned).collect(),
        entries,
    })
}

/// The file read in pieces cut at `[[package]]` lines (as for Cargo.lock), each by
/// [`uv_canonical`] when it has uv's shape, else by toml. `None` when a piece is not
/// valid TOML on its own or holds more than its package (a `[[package]]` line inside a
/// multi-line string, a top-level table after a package): then only the whole file,
/// read by toml, says what it holds or where it is wrong.
pub(super) fn read_in_pieces(text: &str) -> Option<Lock<'_>> {
    let starts = piece_starts(text);
    let piece = |k: usize| {
        let end = starts.get(k + 1).map_or(text.len(), |n| n.0);
        text.get(starts[k].0..end)
    };
    let top = piece(0)?;
    let header = uv_canonical::header(top).or_else(|| header_with_toml(top))?;
    let mut entries = Vec::with_capacity(starts.len() - 1);
    for (k, &(_, line)) in starts.iter().enumerate().skip(1) {
        let text = piece(k)?;
        let entry = uv_canonical::package(text, line).or_else(|| package_with_toml(text, line))?;
        entries.push(entry);
    }
    Some(Lock {
        version: header.version,
        members: header.members,
        entries,
    })
}

/// The part before the first `[[package]]` line read with toml; `None` if toml refuses
/// it or it holds packages.
pub(super) fn header_with_toml(piece: &str) -> Option<uv_canonical::Header<'static>> {
    let raw: RawHeader = toml::from_str(piece).ok()?;
    if raw.package.is_some() {
        return None;
    }
    Some(uv_canonical::Header {
        version: raw.version,
        members: raw.manifest.members.into_iter().map(Cow::Owned).collect(),
    })
}

/// A piece from a `[[package]]` line (line `line` of the file) read with toml; `None` if
/// toml refuses it or it holds anything but one package.
pub(super) fn package_with_toml(piece: &str, line: u32) -> Option<Entry<'static>> {
    let mut raw: RawPackagePiece = toml::from_str(piece).ok()?;
    if raw.package.len() != 1 {
        return None;
    }
    Some(raw.package.pop()?.into_entry(line))
}

/// Where the file's pieces start, and on which line: the top, then every line that is
/// exactly `[[package]]` (before a `\n`, a `\r\n` or the end). A search for the header
/// and a count of the newlines between: most of the file is never looked at twice.
pub(super) fn piece_starts(text: &str) -> Vec<(usize, u32)> {
    let bytes = text.as_bytes();
    let mut starts = vec![(0, 1)];
    let (mut counted, mut line) = (0, 1);
    for (newline, _) in text.match_indices("\n[[package]]") {
        let at = newline + 1;
        let after = bytes.get(at + PACKAGE_HEADER.len()..).unwrap_or_default();
        if !matches!(after, [] | [b'\n', ..] | [b'\r'] | [b'\r', b'\n', ..]) {
            continue;
        }
        line += count_newlines(&bytes[counted..at]);
        counted = at;
        starts.push((at, line));
    }
    starts
}

/// `\n`s in `bytes`, 64 at a time (the comparisons and the sum become vector code).
fn count_newlines(bytes: &[u8]) -> u32 {
    let mut blocks = bytes.chunks_exact(64);
    let mut count = 0;
    for block in &mut blocks {
        count += u32::from(
            block
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'\n'))),
        );
    }
    count
        + blocks
            .remainder()
            .iter()
            .map(|&b| u32::from(b == b'\n'))
            .sum::<u32>()
}

/// An edge: target entry and the extras it activates there.
type Edge<'e> = (usize, &'e [Cow<'e, str>]);

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    match read_in_pieces(text) {
        Some(lock) => resolve(&lock),
        None => resolve(&read_with_toml(text)?),
    }
}

/// Roots, roles, edges and checksums of a lockfile read.
pub(super) fn resolve(lock: &Lock<'_>) -> Result<Parsed, ParseError> {
    if lock.version != 1 {
        return Err(ParseError::new(
            1,
            1,
            format!(
                "uv.lock version {} is not supported: expected version = 1",
                lock.version
            ),
        ));
    }
    let entries = &lock.entries;
    let lines: Vec<u32> = entries.iter().map(|e| e.line).collect();

    // Entries by normalised name, in file order: a search of every entry per edge was
    // quadratic.
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        by_name
            .entry(normalize_pypi_name(&e.name))
            .or_default()
            .push(i);
    }
    let resolve = |from: usize, list| resolve_edges(entries, &by_name, from, list);
    let mut deps = Vec::with_capacity(entries.len());
    let mut optional = Vec::with_capacity(entries.len());
    let mut dev = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        deps.push(resolve(i, &entry.dependencies)?);
        let mut extras = BTreeMap::new();
        for (extra, list) in &entry.optional_dependencies {
            extras.insert(extra.as_ref(), resolve(i, list)?);
        }
        optional.push(extras);
        let mut groups = Vec::new();
        for list in entry.dev_dependencies.values() {
            groups.extend(resolve(i, list)?);
        }
        dev.push(groups);
    }

    let is_root = |e: &Entry| e.source.has("editable") || e.source.has("virtual");
    let roots: Vec<usize> = (0..entries.len())
        .filter(|&i| is_root(&entries[i]))
        .collect();
    // Everything reachable from `start` through runtime edges and activated extras.
    let reach = |start: Vec<Edge>| -> HashSet<usize> {
        let mut seen: HashSet<(usize, Option<&str>)> = HashSet::new();
        let mut nodes = HashSet::new();
        let mut queue = start;
        while let Some((node, extras)) = queue.pop() {
            nodes.insert(node);
            if seen.insert((node, None)) {
                queue.extend(deps[node].iter().copied());
            }
            for extra in extras {
                if seen.insert((node, Some(extra.as_ref()))) {
                    queue.extend(
                        optional[node]
                            .get(extra.as_ref())
                            .into_iter()
                            .flatten()
                            .copied(),
                    );
                }
            }
        }
        nodes
    };
    let main = reach(roots.iter().map(|&r| (r, &[][..])).collect());
    let extras = reach(
        roots
            .iter()
            .flat_map(|&r| optional[r].values().flatten().copied())
            .collect(),
    );
    let dev_only = reach(roots.iter().flat_map(|&r| dev[r].iter().copied()).collect());

    let members: HashSet<String> = lock
        .members
        .iter()
        .map(|m| normalize_pypi_name(m))
        .collect();
    let mut notes = Vec::new();
    let mut index_of = vec![None; entries.len()];
    let mut packages = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let name = normalize_pypi_name(&entry.name);
        let Some(version) = &entry.version else {
            if !is_root(entry) {
                notes.push(Note {
                    line: Some(lines[i] as usize),
                    message: format!("`{name}` has no version in the lockfile: not audited"),
                    ..Note::default()
                });
            }
            continue;
        };
        let mut pkg = Package::new(Ecosystem::PyPI, &name, version.as_ref());
        pkg.line = Some(lines[i]);
        pkg.source = source(&entry.source).map_err(|m| ParseError::new(lines[i] as usize, 1, m))?;
        if matches!(pkg.source, Source::Path(_)) {
            // The project and its members are roots; any other local source is a path
            // dependency (an editable or directory install of the project's own code).
            let member =
                members.contains(&name) || matches!(&pkg.source, Source::Path(p) if p == ".");
            pkg.local = Some(if is_root(entry) && member {
                LocalKind::WorkspaceMember
            } else {
                LocalKind::LocalPath
            });
        }
        pkg.checksums.reserve_exact(entry.hashes.len());
        for hash in &entry.hashes {
            let checksum = parse_hash(hash).ok_or_else(|| {
                ParseError::new(
                    lines[i] as usize,
                    1,
                    format!("package `{name}` has hash `{hash}`: expected `sha256:<hex>`"),
                )
            })?;
            push_unique(&mut pkg.checksums, checksum);
        }
        // Without members nothing is known about roles: everything stays runtime.
        if !roots.is_empty() && !main.contains(&i) {
            pkg.optional = extras.contains(&i);
            pkg.dev = !pkg.optional && dev_only.contains(&i);
        }
        index_of[i] = Some(packages.len());
        packages.push(pkg);
    }
    for (i, edges) in deps.iter().enumerate() {
        let Some(from) = index_of[i] else { continue };
        let mut targets: Vec<usize> = edges
            .iter()
            .chain(optional[i].values().flatten())
            .chain(&dev[i])
            .filter_map(|(t, _)| index_of[*t])
            .collect();
        targets.sort_unstable();
        targets.dedup();
        packages[from].dependencies = targets;
    }
    Ok(Parsed { packages, notes })
}

/// The entries `from`'s dependency list `deps` names.
fn resolve_edges<'e>(
    entries: &'e [Entry<'e>],
    by_name: &HashMap<String, Vec<usize>>,
    from: usize,
    deps: &'e [Dep<'e>],
) -> Result<Vec<Edge<'e>>, ParseError> {
    deps.iter()
        .map(|dep| {
            let candidates = by_name
                .get(&normalize_pypi_name(&dep.name))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let target = candidates.iter().copied().find(|&t| {
                let e = &entries[t];
                dep.version
                    .as_ref()
                    .is_none_or(|v| e.version.as_ref() == Some(v))
                    && dep.source.as_ref().is_none_or(|s| &e.source == s)
            });
            target.map(|t| (t, dep.extra.as_slice())).ok_or_else(|| {
                ParseError::new(
                    entries[from].line as usize,
                    1,
                    format!(
                        "package `{}` depends on `{}`, which is not in the lockfile",
                        entries[from].name, dep.name
                    ),
                )
            })
        })
        .collect()
}

fn source(spec: &SourceSpec<'_>) -> Result<Source, String> {
    let table = match spec {
        SourceSpec::One(key, value) => {
            return match key.as_ref() {
                "registry" => Ok(Source::Registry),
                "editable" | "virtual" | "path" | "directory" => {
                    Ok(Source::Path(value.to_string()))
                }
                "git" => Ok(Source::Git(value.to_string())),
                "url" => Ok(Source::AlternateRegistry(value.to_string())),
                _ => Err(unknown_source(&toml::Table::from_iter([(
                    key.to_string(),
                    toml::Value::String(value.to_string()),
                )]))),
            };
        }
        SourceSpec::Table(table) => table,
    };
    let value = |key: &str| {
        table
            .get(key)
            .and_then(toml::Value::as_str)
            .map(str::to_string)
    };
    if value("registry").is_some() {
        return Ok(Source::Registry);
    }
    for key in ["editable", "virtual", "path", "directory"] {
        if let Some(path) = value(key) {
            return Ok(Source::Path(path));
        }
    }
    if let Some(url) = value("git") {
        return Ok(Source::Git(url));
    }
    if let Some(url) = value("url") {
        return Ok(Source::AlternateRegistry(url));
    }
    Err(unknown_source(table))
}

fn unknown_source(table: &toml::Table) -> String {
    format!(
        "unknown package source `{}`: expected registry, git, url, path, directory, editable or virtual",
        table.to_string().trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "requests", extra = ["socks"] },
]

[package.optional-dependencies]
sql = [
    { name = "sqlparse" },
]

[package.dev-dependencies]
dev = [
    { name = "py" },
    { name = "requests" },
]

[[package]]
name = "py"
version = "1.9.0"
source = { registry = "https://registry.example/simple" }
sdist = { url = "https://registry.example/py-1.9.0.tar.gz", hash = "sha256:9ca6883ce56b4e8da7e79ac18787889fa5206c79dcc67fb065376cd2fe03f342", size = 1 }
wheels = [
    { url = "https://registry.example/py-1.9.0-py2.py3-none-any.whl", hash = "sha256:366389d1db726cd2fcfc79732e75410e5fe4d31db13692115529d34069a043c2", size = 1 },
]

[[package]]
name = "PySocks"
version = "1.7.1"
source = { registry = "https://registry.example/simple" }

[[package]]
name = "requests"
version = "2.25.0"
source = { registry = "https://registry.example/simple" }

[package.optional-dependencies]
socks = [
    { name = "pysocks" },
]

[[package]]
name = "sqlparse"
version = "0.4.1"
source = { git = "https://example.invalid/sqlparse?rev=1#abc" }

[[package]]
name = "dynamic-member"
source = { virtual = "member" }
dependencies = [{ name = "py" }]
"#;

    #[test]
    fn roots_dev_optional_extras_hashes_and_lines() {
        let parsed = parse(LOCK).unwrap();
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
        let packages = parsed.packages;
        assert_eq!(
            packages.len(),
            5,
            "the versionless member is a root, not a package"
        );
        let get = |n: &str| packages.iter().find(|p| p.name == n).unwrap();
        let app = get("app");
        assert_eq!(app.source, Source::Path(".".into()));
        assert_eq!((app.line, app.dev, app.optional), (Some(5), false, false));
        assert_eq!(app.dependencies, vec![1, 3, 4]);
        // Reached at run time from the dynamic member: not dev, even if app's dev group has it.
        let py = get("py");
        assert!(!py.dev && !py.optional);
        assert_eq!(py.checksums.len(), 2);
        assert_eq!(py.line, Some(24));
        // Reached through an extra that the runtime edge activates: runtime.
        let socks = get("pysocks");
        assert!(!socks.dev && !socks.optional);
        assert!(!get("requests").dev);
        let sqlparse = get("sqlparse");
        assert!(sqlparse.optional && !sqlparse.dev);
        assert!(matches!(sqlparse.source, Source::Git(_)));
    }

    #[test]
    fn dev_group_only_packages_are_dev() {
        let text = LOCK
            .split("[[package]]\nname = \"dynamic-member\"")
            .next()
            .unwrap();
        let packages = parse(text).unwrap().packages;
        let py = packages.iter().find(|p| p.name == "py").unwrap();
        assert!(py.dev && !py.optional);
    }

    #[test]
    fn malformed_locks_are_located() {
        let err = parse("version = 1\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { registry = \"x\" }\ndependencies = [{ name = \"b\" }]\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(err.message.contains("not in the lockfile"), "{err:?}");
        let err = parse("version = 1\n[[package]]\nname = \"a\"\n").unwrap_err();
        assert!(err.message.contains("source"), "{err:?}");
        let err = parse("version = 1\n[[package]]\nname = 3\nsource = {}\n").unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        let err = parse("version = 2\n").unwrap_err();
        assert!(err.message.contains("not supported"), "{err:?}");
        let err = parse("version = 1\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { registry = \"x\" }\nsdist = { hash = \"sha256:zz\" }\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        let err = parse(
            "version = 1\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { odd = \"x\" }\n",
        )
        .unwrap_err();
        assert!(err.message.contains("unknown package source"), "{err:?}");
    }
}

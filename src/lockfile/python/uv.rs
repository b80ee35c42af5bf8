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

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use toml::Spanned;

use super::poetry::header_line;
use super::{parse_hash, push_unique, toml_error};
use crate::lockfile::{Note, ParseError, Parsed};
use crate::package::{Ecosystem, LocalKind, Package, Source, normalize_pypi_name};

#[derive(Deserialize)]
struct Lock {
    version: u32,
    #[serde(default)]
    manifest: Manifest,
    #[serde(default)]
    package: Vec<Spanned<Entry>>,
}

/// `[manifest]`: a workspace's member names.
#[derive(Deserialize, Default)]
struct Manifest {
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    /// Absent for dynamic-version workspace members.
    version: Option<String>,
    source: toml::Table,
    #[serde(default)]
    dependencies: Vec<Dep>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<Dep>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<Dep>>,
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
}

#[derive(Deserialize)]
struct Dep {
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

/// An edge: target entry and the extras it activates there.
type Edge = (usize, Vec<String>);

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let lock: Lock = toml::from_str(text).map_err(|e| toml_error(text, &e, "uv.lock"))?;
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
    let entries: Vec<&Entry> = lock.package.iter().map(Spanned::get_ref).collect();
    let line_index = crate::lockfile::LineIndex::new(text);
    let lines: Vec<u32> = lock
        .package
        .iter()
        .map(|p| header_line(text, &line_index, p.span().start))
        .collect();

    // Entries by normalised name, in file order: a search of every entry per edge was
    // quadratic.
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        by_name
            .entry(normalize_pypi_name(&e.name))
            .or_default()
            .push(i);
    }
    let resolve = |from: usize, deps: &[Dep]| -> Result<Vec<Edge>, ParseError> {
        deps.iter()
            .map(|dep| {
                let candidates = by_name
                    .get(&normalize_pypi_name(&dep.name))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let target = candidates.iter().copied().find(|&t| {
                    let e = entries[t];
                    dep.version
                        .as_ref()
                        .is_none_or(|v| e.version.as_ref() == Some(v))
                        && dep.source.as_ref().is_none_or(|s| &e.source == s)
                });
                target.map(|t| (t, dep.extra.clone())).ok_or_else(|| {
                    ParseError::new(
                        lines[from] as usize,
                        1,
                        format!(
                            "package `{}` depends on `{}`, which is not in the lockfile",
                            entries[from].name, dep.name
                        ),
                    )
                })
            })
            .collect()
    };
    let mut deps = Vec::with_capacity(entries.len());
    let mut optional = Vec::with_capacity(entries.len());
    let mut dev = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        deps.push(resolve(i, &entry.dependencies)?);
        let mut extras = BTreeMap::new();
        for (extra, list) in &entry.optional_dependencies {
            extras.insert(extra.clone(), resolve(i, list)?);
        }
        optional.push(extras);
        let mut groups = Vec::new();
        for list in entry.dev_dependencies.values() {
            groups.extend(resolve(i, list)?);
        }
        dev.push(groups);
    }

    let is_root = |e: &Entry| e.source.contains_key("editable") || e.source.contains_key("virtual");
    let roots: Vec<usize> = (0..entries.len())
        .filter(|&i| is_root(entries[i]))
        .collect();
    // Everything reachable from `start` through runtime edges and activated extras.
    let reach = |start: Vec<Edge>| -> HashSet<usize> {
        let mut seen: HashSet<(usize, Option<String>)> = HashSet::new();
        let mut nodes = HashSet::new();
        let mut queue = start;
        while let Some((node, extras)) = queue.pop() {
            nodes.insert(node);
            if seen.insert((node, None)) {
                queue.extend(deps[node].iter().cloned());
            }
            for extra in extras {
                if seen.insert((node, Some(extra.clone()))) {
                    queue.extend(optional[node].get(&extra).into_iter().flatten().cloned());
                }
            }
        }
        nodes
    };
    let main = reach(roots.iter().map(|&r| (r, Vec::new())).collect());
    let extras = reach(
        roots
            .iter()
            .flat_map(|&r| optional[r].values().flatten().cloned())
            .collect(),
    );
    let dev_only = reach(roots.iter().flat_map(|&r| dev[r].iter().cloned()).collect());

    let members: HashSet<String> = lock
        .manifest
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
        let mut pkg = Package::new(Ecosystem::PyPI, &name, version);
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
        for artifact in entry.sdist.iter().chain(&entry.wheels) {
            let Some(hash) = &artifact.hash else { continue };
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

fn source(table: &toml::Table) -> Result<Source, String> {
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
    Err(format!(
        "unknown package source `{}`: expected registry, git, url, path, directory, editable or virtual",
        table.to_string().trim()
    ))
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

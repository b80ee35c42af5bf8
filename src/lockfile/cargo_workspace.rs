//! Which crates of a `Cargo.lock` only development needs, worked out from the workspace's
//! `Cargo.toml` files, offline and without running cargo.
//!
//! A lockfile records edges but not their kind. The manifests do: the root's `[workspace]`
//! (`members` globs, `exclude`, and every path dependency inside the root, which cargo
//! makes a member too), and each member's `[dependencies]`, `[build-dependencies]` and
//! `[dev-dependencies]`, also under `[target.'cfg(..)']`. Only members' dev-dependencies
//! are locked, so a crate is dev-only when it is reached from a member only through a
//! dev-dependency edge (every edge out of a non-member is a normal one).
//!
//! It must never hide a package on a guess: when the manifests are missing, unreadable or
//! disagree with the lockfile, nothing is marked and the caller gets the reason; an edge
//! that cannot be told apart (two locked versions of one name, no requirement deciding)
//! counts as a normal edge.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use toml::{Table, Value};

use crate::package::{Package, Source};

/// The dependency tables of a manifest, and whether their edges are dev-only.
const TABLES: &[(&str, bool)] = &[
    ("dependencies", false),
    ("build-dependencies", false),
    ("build_dependencies", false),
    ("dev-dependencies", true),
    ("dev_dependencies", true),
];

/// Manifests are small; one larger than this is not read.
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// One declared dependency of a member.
struct Declared {
    /// The package's real name (`package = ".."` when renamed).
    name: String,
    /// The version requirement, when one is given.
    req: Option<semver::VersionReq>,
    /// A path dependency (resolved, lexically normalised).
    path: Option<PathBuf>,
    dev: bool,
}

struct Member {
    dir: PathBuf,
    name: String,
    version: String,
    declared: Vec<Declared>,
}

/// Marks the dev-only packages of the lockfile at `lockfile` (`packages` as parsed from
/// it). `Err` says why dev-only packages cannot be told; then nothing is marked.
pub(crate) fn mark_dev(lockfile: &Path, packages: &mut [Package]) -> Result<(), String> {
    let dir = match lockfile.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let root = fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let members = members(&root)?;
    // Each member is a path package of the lockfile, by name and version.
    let mut path_packages: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, p) in packages.iter().enumerate() {
        if matches!(p.source, Source::Path(_)) {
            path_packages
                .entry((p.name.as_str(), p.version.as_str()))
                .or_insert(i);
        }
    }
    let mut member_index = Vec::with_capacity(members.len());
    for member in &members {
        let found = path_packages
            .get(&(member.name.as_str(), member.version.as_str()))
            .copied();
        let Some(i) = found else {
            return Err(format!(
                "workspace member `{} {}` ({}) is not in the lockfile: Cargo.lock is out of date",
                member.name,
                member.version,
                member.dir.display()
            ));
        };
        member_index.push(i);
    }
    let is_member: HashSet<usize> = member_index.iter().copied().collect();

    // Normal edges: all of a non-member's, and each member's except those only its
    // dev-dependencies explain.
    let mut normal: Vec<Vec<usize>> = packages.iter().map(|p| p.dependencies.clone()).collect();
    for (member, &i) in members.iter().zip(&member_index) {
        normal[i] = packages[i]
            .dependencies
            .iter()
            .copied()
            .filter(|&j| !only_dev(member, &packages[j], &packages[i].dependencies, packages))
            .collect();
    }
    let reach = |edges: &dyn Fn(usize) -> Vec<usize>| {
        let mut seen = vec![false; packages.len()];
        let mut stack: Vec<usize> = member_index.clone();
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut seen[i], true) {
                stack.extend(edges(i));
            }
        }
        seen
    };
    let by_normal = reach(&|i| normal[i].clone());
    let by_any = reach(&|i| packages[i].dependencies.clone());
    for (i, package) in packages.iter_mut().enumerate() {
        package.dev = by_any[i] && !by_normal[i] && !is_member.contains(&i);
    }
    Ok(())
}

/// Is the lockfile edge from `member` to `target` explained only by dev-dependencies?
/// `siblings` are all of the member's locked dependencies.
fn only_dev(member: &Member, target: &Package, siblings: &[usize], packages: &[Package]) -> bool {
    let same_name = siblings
        .iter()
        .filter(|&&j| packages[j].name == target.name)
        .count();
    let mut explained = false;
    for declared in member.declared.iter().filter(|d| d.name == target.name) {
        let matches = same_name == 1
            || match (&declared.path, &target.source) {
                (Some(_), Source::Path(_)) => true,
                (Some(_), _) => false,
                (None, _) => declared.req.as_ref().is_some_and(|req| {
                    semver::Version::parse(&target.version).is_ok_and(|v| req.matches(&v))
                }),
            };
        if matches {
            if !declared.dev {
                return false;
            }
            explained = true;
        }
    }
    // An edge no declaration explains counts as a normal one.
    explained
}

/// The workspace's members, read from the manifests under `root`.
fn members(root: &Path) -> Result<Vec<Member>, String> {
    let root_manifest = read_manifest(&root.join("Cargo.toml"))?;
    let workspace = root_manifest.get("workspace").and_then(Value::as_table);
    let inherited = workspace
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table);
    let workspace_version = workspace
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(Value::as_str);

    let mut dirs: Vec<PathBuf> = Vec::new();
    if root_manifest.contains_key("package") {
        dirs.push(root.to_path_buf());
    }
    let excluded: Vec<PathBuf> = strings(workspace, "exclude")
        .map(|e| normalize(&root.join(e)))
        .collect();
    if workspace.is_some() {
        let base = glob::Pattern::escape(&root.to_string_lossy());
        for pattern in strings(workspace, "members") {
            let full = format!("{base}/{pattern}");
            let paths = glob::glob(&full)
                .map_err(|e| format!("{}: workspace member `{pattern}`: {e}", root.display()))?;
            for path in paths {
                let path = path.map_err(|e| {
                    format!("{}: workspace member `{pattern}`: {e}", root.display())
                })?;
                // Cargo skips matches that hold no manifest only for globs.
                if path.join("Cargo.toml").is_file() || !pattern.contains(['*', '?', '[']) {
                    dirs.push(normalize(&path));
                }
            }
        }
    }

    let mut members = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    while let Some(dir) = dirs.pop() {
        if !seen.insert(dir.clone()) || excluded.iter().any(|e| dir.starts_with(e)) {
            continue;
        }
        let manifest_path = dir.join("Cargo.toml");
        let manifest = if dir == root {
            root_manifest.clone()
        } else {
            read_manifest(&manifest_path)?
        };
        let package = manifest
            .get("package")
            .and_then(Value::as_table)
            .ok_or_else(|| format!("{}: no [package]", manifest_path.display()))?;
        let name = package
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: [package] has no name", manifest_path.display()))?
            .to_string();
        let version = match package.get("version") {
            None => "0.0.0".to_string(),
            Some(Value::String(v)) => v.clone(),
            Some(Value::Table(t)) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                workspace_version
                    .ok_or_else(|| {
                        format!(
                            "{}: version.workspace = true, but the root has no [workspace.package] version",
                            manifest_path.display()
                        )
                    })?
                    .to_string()
            }
            Some(_) => {
                return Err(format!(
                    "{}: [package] version is not a string",
                    manifest_path.display()
                ));
            }
        };
        let declared = declared(&manifest, &dir, root, inherited, &manifest_path)?;
        // Path dependencies inside the workspace root are members too.
        for d in &declared {
            if let Some(path) = &d.path
                && path.starts_with(root)
            {
                dirs.push(path.clone());
            }
        }
        members.push(Member {
            dir,
            name,
            version,
            declared,
        });
    }
    Ok(members)
}

/// Every dependency a manifest declares, top-level and per target.
fn declared(
    manifest: &Table,
    dir: &Path,
    root: &Path,
    inherited: Option<&Table>,
    manifest_path: &Path,
) -> Result<Vec<Declared>, String> {
    let holders = std::iter::once(manifest).chain(
        manifest
            .get("target")
            .and_then(Value::as_table)
            .into_iter()
            .flat_map(|t| t.values())
            .filter_map(Value::as_table),
    );
    let tables: Vec<(&Table, bool)> = holders
        .flat_map(|holder| {
            TABLES.iter().filter_map(move |&(key, dev)| {
                holder.get(key).and_then(Value::as_table).map(|t| (t, dev))
            })
        })
        .collect();
    let mut out = Vec::new();
    for (table, dev) in tables {
        for (key, spec) in table {
            let bad = || {
                format!(
                    "{}: dependency `{key}`: unexpected shape",
                    manifest_path.display()
                )
            };
            let (spec, base) = match spec {
                Value::Table(t) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                    let from_root = inherited.and_then(|w| w.get(key)).ok_or_else(|| {
                        format!(
                            "{}: dependency `{key}` is inherited, but the root has no [workspace.dependencies] `{key}`",
                            manifest_path.display()
                        )
                    })?;
                    (from_root, root)
                }
                other => (other, dir),
            };
            let (name, req, path) = match spec {
                Value::String(req) => (key.as_str(), Some(req.as_str()), None),
                Value::Table(t) => (
                    t.get("package").and_then(Value::as_str).unwrap_or(key),
                    t.get("version").and_then(Value::as_str),
                    t.get("path").and_then(Value::as_str),
                ),
                _ => return Err(bad()),
            };
            out.push(Declared {
                name: name.to_string(),
                // A requirement cargo would reject only costs the disambiguation.
                req: req.and_then(|r| semver::VersionReq::parse(r).ok()),
                path: path.map(|p| normalize(&base.join(p))),
                dev,
            });
        }
    }
    Ok(out)
}

fn strings<'a>(table: Option<&'a Table>, key: &str) -> impl Iterator<Item = &'a str> {
    table
        .and_then(|t| t.get(key))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn read_manifest(path: &Path) -> Result<Table, String> {
    let text = super::read_limited(path, MAX_MANIFEST_BYTES).map_err(|e| e.to_string())?;
    toml::from_str(&text).map_err(|e| {
        let err = super::python::toml_error(&text, &e, "Cargo.toml");
        format!(
            "{}:{}:{}: {}",
            path.display(),
            err.line,
            err.column,
            err.message
        )
    })
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cargo/workspace-dev")
    }

    fn parsed(dir: &Path) -> Vec<Package> {
        let text = fs::read_to_string(dir.join("Cargo.lock")).unwrap();
        super::super::cargo::parse(&text).unwrap().packages
    }

    fn dev_set(packages: &[Package]) -> Vec<String> {
        let mut dev: Vec<String> = packages
            .iter()
            .filter(|p| p.dev)
            .map(|p| format!("{} {}", p.name, p.version))
            .collect();
        dev.sort();
        dev
    }

    /// Regression: `--exclude-dev` on a Cargo.lock excluded nothing.
    #[test]
    fn crates_reached_only_through_dev_dependencies_are_dev() {
        let dir = fixture();
        let mut packages = parsed(&dir);
        mark_dev(&dir.join("Cargo.lock"), &mut packages).unwrap();
        assert_eq!(
            dev_set(&packages),
            [
                "atty 0.2.14",
                "hermit-abi 0.1.19",
                "smallvec 0.6.10",
                "time 0.1.43",
                "winapi 0.3.9",
                "winapi-i686-pc-windows-gnu 0.4.0",
                "winapi-x86_64-pc-windows-gnu 0.4.0",
            ]
        );
        // Members (the helper through its path dependency) are the project's own code.
        for name in ["app", "lib", "helper"] {
            let member = packages.iter().find(|p| p.name == name).unwrap();
            assert!(matches!(member.source, Source::Path(_)), "{name}");
            assert!(!member.dev, "{name}");
        }
    }

    fn copy_fixture() -> tempfile::TempDir {
        let to = tempfile::tempdir().unwrap();
        let from = fixture();
        for rel in [
            "Cargo.toml",
            "Cargo.lock",
            "crates/app/Cargo.toml",
            "crates/lib/Cargo.toml",
            "tools/helper/Cargo.toml",
        ] {
            let dest = to.path().join(rel);
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::copy(from.join(rel), dest).unwrap();
        }
        to
    }

    /// Whenever the manifests cannot say, nothing is marked and the reason is given.
    #[test]
    fn without_usable_manifests_nothing_is_marked() {
        // What the reason names, and how the workspace copy is spoiled.
        type Case = (&'static str, fn(&Path));
        let cases: [Case; 4] = [
            ("Cargo.toml", |d| {
                fs::remove_file(d.join("Cargo.toml")).unwrap()
            }),
            ("is not in the lockfile", |d| {
                let path = d.join("crates/lib/Cargo.toml");
                let text = fs::read_to_string(&path).unwrap();
                fs::write(path, text.replace("0.1.0", "0.9.0")).unwrap();
            }),
            ("crates/app/Cargo.toml", |d| {
                fs::write(d.join("crates/app/Cargo.toml"), "[package\n").unwrap();
            }),
            ("[workspace.dependencies]", |d| {
                let path = d.join("Cargo.toml");
                let text = fs::read_to_string(&path).unwrap();
                fs::write(path, text.replace("smallvec = \"=0.6.10\"", "")).unwrap();
            }),
        ];
        for (want, damage) in cases {
            let dir = copy_fixture();
            damage(dir.path());
            let mut packages = parsed(dir.path());
            let err = mark_dev(&dir.path().join("Cargo.lock"), &mut packages).unwrap_err();
            assert!(err.contains(want), "{want}: {err}");
            assert!(dev_set(&packages).is_empty(), "{want}");
        }
    }

    /// Two locked versions of one name that no requirement tells apart count as normal.
    #[test]
    fn an_edge_that_cannot_be_told_apart_is_a_normal_one() {
        let dir = copy_fixture();
        let path = dir.path().join("crates/app/Cargo.toml");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(
            &path,
            text.replace(r#"version = "1" }"#, r#"version = ">=0.6" }"#),
        )
        .unwrap();
        let mut packages = parsed(dir.path());
        mark_dev(&dir.path().join("Cargo.lock"), &mut packages).unwrap();
        assert!(!dev_set(&packages).contains(&"smallvec 0.6.10".to_string()));
        assert!(dev_set(&packages).contains(&"atty 0.2.14".to_string()));
    }
}

//! `pnpm-lock.yaml`, lockfileVersion 6 and 9.
//!
//! v6 lists packages under `packages` keyed `/name@version(peer-suffix)` with a `dev`
//! flag; v9 splits metadata (`packages`, keyed `name@version`) from the dependency graph
//! (`snapshots`) and drops the flag, so dev-only packages are computed: those not
//! reachable from any importer's `dependencies`/`optionalDependencies`.

use std::collections::{HashMap, HashSet};

use yaml_rust2::Yaml;

use super::{Note, ParseError, Parsed, yaml};
use crate::package::{Checksum, Ecosystem, LocalKind, Package, Source};

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let doc = yaml::load(text, "pnpm-lock.yaml")?;
    let version = match &doc["lockfileVersion"] {
        Yaml::String(s) => s.clone(),
        Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        _ => {
            return Err(ParseError::new(
                1,
                1,
                "invalid pnpm-lock.yaml: no lockfileVersion",
            ));
        }
    };
    let major = version.split('.').next().unwrap_or("");
    let v9 = match major {
        "6" => false,
        "9" => true,
        _ => {
            return Err(ParseError::new(
                yaml::KeyLines::new(text)
                    .get("lockfileVersion")
                    .unwrap_or(1) as usize,
                1,
                format!("unsupported pnpm lockfileVersion {version} (expected 6.0 or 9.0)"),
            ));
        }
    };
    let key_lines = yaml::KeyLines::new(text);
    let packages = doc["packages"].as_hash();
    let mut parsed = Parsed::default();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let Some(packages) = packages else {
        return Ok(parsed);
    };
    for (key, entry) in packages {
        let Some(key) = key.as_str() else { continue };
        let Some((name, version)) = split_key(key) else {
            return Err(ParseError::new(
                key_lines.get(key).unwrap_or(1) as usize,
                1,
                format!("package key `{key}` is not name@version"),
            ));
        };
        let mut package = Package::new(Ecosystem::Npm, name, version);
        let resolution = &entry["resolution"];
        if let Some(integrity) = resolution["integrity"].as_str() {
            package.checksums = sri(integrity);
        }
        package.source = if let Some(path) =
            resolution["directory"].as_str().or(resolution["tarball"]
                .as_str()
                .filter(|t| t.starts_with("file:")))
        {
            // A `file:` dependency: the project's own directory or tarball.
            package.local = Some(LocalKind::LocalPath);
            Source::Path(path.trim_start_matches("file:").to_string())
        } else if let Some(repo) = resolution["repo"].as_str() {
            Source::Git(repo.to_string())
        } else {
            Source::Registry
        };
        package.dev = !v9 && entry["dev"].as_bool() == Some(true);
        package.optional = entry["optional"].as_bool() == Some(true);
        package.line = key_lines.get(key);
        index_of.insert(format!("{name}@{version}"), parsed.packages.len());
        parsed.packages.push(package);
    }
    // Edges: v6 inside each package entry, v9 in `snapshots`.
    let graph = if v9 {
        doc["snapshots"].as_hash()
    } else {
        Some(packages)
    };
    if let Some(graph) = graph {
        for (key, entry) in graph {
            let Some((name, version)) = key.as_str().and_then(split_key) else {
                continue;
            };
            let Some(&i) = index_of.get(&format!("{name}@{version}")) else {
                continue;
            };
            for field in ["dependencies", "optionalDependencies"] {
                if let Some(deps) = entry[field].as_hash() {
                    for (dep, v) in deps {
                        let (Some(dep), Some(v)) = (dep.as_str(), v.as_str()) else {
                            continue;
                        };
                        if let Some(&j) = index_of.get(&format!("{dep}@{}", strip_peers(v))) {
                            parsed.packages[i].dependencies.push(j);
                        }
                    }
                }
            }
            parsed.packages[i].dependencies.sort_unstable();
            parsed.packages[i].dependencies.dedup();
        }
    }
    if v9 {
        mark_dev_by_reachability(&doc, &index_of, &mut parsed);
    }
    // Workspace members are importers, never packages: pnpm records no name or version
    // for them, only their directory.
    for (key, _) in doc["importers"].as_hash().into_iter().flatten() {
        if let Some(key) = key.as_str().filter(|k| *k != ".") {
            parsed.notes.push(Note::local(
                key_lines.get(key).map(|l| l as usize),
                key,
                LocalKind::WorkspaceMember,
            ));
        }
    }
    Ok(parsed)
}

/// v9: a package is dev-only unless some importer's production dependencies reach it.
fn mark_dev_by_reachability(doc: &Yaml, index_of: &HashMap<String, usize>, parsed: &mut Parsed) {
    let importers: Vec<&Yaml> = match doc["importers"].as_hash() {
        Some(h) => h.values().collect(),
        // A single-project v6-style layout at the top level.
        None => vec![doc],
    };
    let mut prod: Vec<usize> = Vec::new();
    for importer in importers {
        for field in ["dependencies", "optionalDependencies"] {
            for (name, spec) in importer[field].as_hash().into_iter().flatten() {
                let version = spec["version"].as_str().or(spec.as_str());
                if let (Some(name), Some(version)) = (name.as_str(), version)
                    && let Some(&i) = index_of.get(&format!("{name}@{}", strip_peers(version)))
                {
                    prod.push(i);
                }
            }
        }
    }
    let mut seen: HashSet<usize> = HashSet::new();
    while let Some(i) = prod.pop() {
        if seen.insert(i) {
            prod.extend(parsed.packages[i].dependencies.iter().copied());
        }
    }
    for (i, package) in parsed.packages.iter_mut().enumerate() {
        package.dev = !seen.contains(&i);
    }
}

/// `/name@1.2.3(peer@1)` (v6) or `name@1.2.3` (v9) → (name, 1.2.3).
fn split_key(key: &str) -> Option<(&str, &str)> {
    let key = strip_peers(key.strip_prefix('/').unwrap_or(key));
    let at = key.get(1..)?.rfind('@')? + 1;
    let (name, version) = (&key[..at], &key[at + 1..]);
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

fn strip_peers(s: &str) -> &str {
    s.split('(').next().unwrap_or(s)
}

fn sri(integrity: &str) -> Vec<Checksum> {
    super::npm::checksums(Some(integrity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_with_scopes_and_peer_suffixes() {
        assert_eq!(split_key("/lodash@4.17.4"), Some(("lodash", "4.17.4")));
        assert_eq!(
            split_key("/@scope/a@1.0.0(react@18.0.0)"),
            Some(("@scope/a", "1.0.0"))
        );
        assert_eq!(split_key("@scope/a@1.0.0"), Some(("@scope/a", "1.0.0")));
        assert_eq!(split_key("nonsense"), None);
    }

    #[test]
    fn v9_dev_is_what_production_cannot_reach() {
        let text = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      a:\n        specifier: 1.0.0\n        version: 1.0.0\n    devDependencies:\n      d:\n        specifier: 1.0.0\n        version: 1.0.0\npackages:\n  a@1.0.0:\n    resolution: {integrity: sha1-qUwlJk6B5sJsw1ht0Ok2t2R9Eok=}\n  b@2.0.0:\n    resolution: {integrity: sha1-qUwlJk6B5sJsw1ht0Ok2t2R9Eok=}\n  d@1.0.0:\n    resolution: {integrity: sha1-qUwlJk6B5sJsw1ht0Ok2t2R9Eok=}\nsnapshots:\n  a@1.0.0:\n    dependencies:\n      b: 2.0.0\n  b@2.0.0: {}\n  d@1.0.0:\n    dependencies:\n      b: 2.0.0\n";
        let parsed = parse(text).unwrap();
        let dev: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.dev))
            .collect();
        assert_eq!(dev, [("a", false), ("b", false), ("d", true)]);
        assert_eq!(parsed.packages[0].dependencies, [1]);
        assert_eq!(parsed.packages[0].line, Some(13));
    }

    #[test]
    fn unsupported_versions_and_bad_keys_are_errors() {
        assert!(
            parse("lockfileVersion: '5.4'\n")
                .unwrap_err()
                .message
                .contains("unsupported")
        );
        assert!(
            parse("lockfileVersion: '9.0'\npackages:\n  nonsense: {}\n")
                .unwrap_err()
                .message
                .contains("name@version")
        );
    }
}

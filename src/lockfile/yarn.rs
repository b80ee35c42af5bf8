//! `yarn.lock`: classic (v1, yarn's own indented format) and berry (v2+, YAML with
//! `__metadata`, lockfile versions 4 to 10). Workspace members and `file:` entries are
//! the project's own code, `link:`/`portal:` entries too (counted as local, never
//! audited).
//!
//! Neither records which packages are dev-only, so none is marked dev (audited, never
//! hidden). Classic records the npm `integrity`; berry's `checksum` is a hash of yarn's
//! own cache archive, not of the published package, so it is not reported as one.

use std::collections::HashMap;

use yaml_rust2::Yaml;

use super::{Note, ParseError, Parsed, yaml};
use crate::package::{Ecosystem, LocalKind, Package, Source};

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    if text.lines().any(|l| l.starts_with("__metadata:")) {
        parse_berry(text)
    } else {
        parse_classic(text)
    }
}

/// `name@range` → name (the `@` of a scope is not the separator).
fn spec_name(spec: &str) -> Option<&str> {
    let spec = spec.trim().trim_matches('"');
    let at = spec.get(1..)?.find('@')? + 1;
    Some(&spec[..at])
}

struct Entry {
    specs: Vec<String>,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    deps: Vec<(String, String)>,
    line: usize,
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

fn parse_classic(text: &str) -> Result<Parsed, ParseError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut in_deps = false;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim();
        match indent {
            0 => {
                let Some(header) = line.strip_suffix(':') else {
                    return Err(ParseError::new(
                        line_no,
                        1,
                        "invalid yarn.lock: expected `<name>@<range>:` starting an entry",
                    ));
                };
                entries.push(Entry {
                    specs: header.split(',').map(unquote).collect(),
                    version: None,
                    resolved: None,
                    integrity: None,
                    deps: Vec::new(),
                    line: line_no,
                });
                in_deps = false;
            }
            2 => {
                let Some(entry) = entries.last_mut() else {
                    return Err(ParseError::new(
                        line_no,
                        3,
                        "invalid yarn.lock: a field outside any entry",
                    ));
                };
                in_deps = matches!(line, "dependencies:" | "optionalDependencies:");
                if in_deps || line.ends_with(':') {
                    continue;
                }
                let Some((key, value)) = line.split_once(' ') else {
                    return Err(ParseError::new(
                        line_no,
                        3,
                        format!("invalid yarn.lock: expected `key value`, found `{line}`"),
                    ));
                };
                match key {
                    "version" => entry.version = Some(unquote(value)),
                    "resolved" => entry.resolved = Some(unquote(value)),
                    "integrity" => entry.integrity = Some(unquote(value)),
                    _ => {}
                }
            }
            4 if in_deps => {
                let entry = entries.last_mut().ok_or_else(|| {
                    ParseError::new(
                        line_no,
                        5,
                        "invalid yarn.lock: a dependency outside any entry",
                    )
                })?;
                let Some((name, range)) = line.split_once(' ') else {
                    return Err(ParseError::new(
                        line_no,
                        5,
                        format!("invalid yarn.lock: expected `name range`, found `{line}`"),
                    ));
                };
                entry.deps.push((unquote(name), unquote(range)));
            }
            _ => {}
        }
    }
    let mut parsed = Parsed::default();
    let mut by_spec: HashMap<String, usize> = HashMap::new();
    for entry in &entries {
        let Some(name) = entry.specs.first().and_then(|s| spec_name(s)) else {
            return Err(ParseError::new(
                entry.line,
                1,
                "invalid yarn.lock: an entry header without `name@range`",
            ));
        };
        let Some(version) = &entry.version else {
            return Err(ParseError::new(
                entry.line,
                1,
                format!("invalid yarn.lock: `{name}` has no version"),
            ));
        };
        let mut package = Package::new(Ecosystem::Npm, name, version);
        match &entry.resolved {
            Some(r) if r.starts_with("git") || r.contains(".git#") => {
                package.source = Source::Git(r.clone())
            }
            Some(r) if r.starts_with("file:") => package.set_local(r.clone(), LocalKind::LocalPath),
            _ => package.source = Source::Registry,
        }
        package.checksums = super::npm::checksums(entry.integrity.as_deref());
        package.line = Some(entry.line as u32);
        for spec in &entry.specs {
            by_spec.insert(spec.clone(), parsed.packages.len());
        }
        parsed.packages.push(package);
    }
    for (i, entry) in entries.iter().enumerate() {
        for (name, range) in &entry.deps {
            if let Some(&j) = by_spec.get(&format!("{name}@{range}")) {
                parsed.packages[i].dependencies.push(j);
            }
        }
        parsed.packages[i].dependencies.sort_unstable();
        parsed.packages[i].dependencies.dedup();
    }
    Ok(parsed)
}

/// The berry lockfile versions real yarn releases write: 4 (yarn 2.4, 3.0), 6 (yarn 3.1
/// to 3.8), 7 and 8 (yarn 4 release candidates), 10 (yarn 4.x); 5 and 9 lie between.
/// Entries kept one shape across them; an unknown version is refused, not guessed at.
const BERRY_VERSIONS: std::ops::RangeInclusive<i64> = 4..=10;

fn parse_berry(text: &str) -> Result<Parsed, ParseError> {
    let doc = yaml::load(text, "yarn.lock")?;
    let Some(map) = doc.as_hash() else {
        return Err(ParseError::new(
            1,
            1,
            "invalid yarn.lock: expected a mapping",
        ));
    };
    let key_lines = yaml::KeyLines::new(text);
    let metadata_line = key_lines.get("__metadata").unwrap_or(1) as usize;
    let version = match &doc["__metadata"]["version"] {
        Yaml::Integer(v) => Some(*v),
        Yaml::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match version {
        Some(v) if BERRY_VERSIONS.contains(&v) => {}
        Some(v) => {
            return Err(ParseError::new(
                metadata_line,
                1,
                format!(
                    "yarn.lock __metadata version {v} is not one vouch reads (expected {} to {}, written by yarn 2 to 4)",
                    BERRY_VERSIONS.start(),
                    BERRY_VERSIONS.end()
                ),
            ));
        }
        None => {
            return Err(ParseError::new(
                metadata_line,
                1,
                "invalid yarn.lock: `__metadata` has no numeric `version`",
            ));
        }
    }
    let mut parsed = Parsed::default();
    let mut by_spec: HashMap<String, usize> = HashMap::new();
    let mut deps_of: Vec<(usize, Vec<(String, String)>)> = Vec::new();
    for (key, entry) in map {
        let Some(key) = key.as_str() else { continue };
        if key == "__metadata" {
            continue;
        }
        let line = key_lines.get(key);
        let Some(resolution) = entry["resolution"].as_str() else {
            return Err(ParseError::new(
                line.unwrap_or(1) as usize,
                1,
                format!("invalid yarn.lock: `{key}` has no resolution"),
            ));
        };
        let Some(name) = spec_name(resolution) else {
            return Err(ParseError::new(
                line.unwrap_or(1) as usize,
                1,
                format!("invalid yarn.lock: resolution `{resolution}` is not name@reference"),
            ));
        };
        let reference = &resolution[name.len() + 1..];
        let version = match &entry["version"] {
            Yaml::String(s) => s.clone(),
            Yaml::Real(s) => s.clone(),
            Yaml::Integer(i) => i.to_string(),
            _ => {
                return Err(ParseError::new(
                    line.unwrap_or(1) as usize,
                    1,
                    format!("invalid yarn.lock: `{key}` has no version"),
                ));
            }
        };
        let (source, local) = if reference.starts_with("npm:") {
            (Source::Registry, None)
        } else if reference.starts_with("workspace:") {
            if reference == "workspace:." {
                // The project itself.
                for spec in key.split(',') {
                    by_spec.insert(spec.trim().to_string(), usize::MAX);
                }
                continue;
            }
            (
                Source::Path(reference.trim_start_matches("workspace:").to_string()),
                Some(LocalKind::WorkspaceMember),
            )
        } else if reference.starts_with("file:") {
            // A directory or tarball of the project, with the version its package.json says.
            let path = reference.trim_start_matches("file:");
            let path = path.split(['#', ':']).next().unwrap_or(path);
            (Source::Path(path.to_string()), Some(LocalKind::LocalPath))
        } else if reference.starts_with("link:") || reference.starts_with("portal:") {
            // Linked directories have no version of their own (`0.0.0-use.local`).
            parsed.notes.push(Note::local(
                line.map(|l| l as usize),
                resolution.split("::").next().unwrap_or(resolution),
                LocalKind::LocalPath,
            ));
            continue;
        } else if reference.starts_with("patch:") {
            parsed.notes.push(Note {
                line: line.map(|l| l as usize),
                message: format!("`{name}` is patched locally; the unpatched package is audited under its own entry"),
                ..Note::default()
            });
            continue;
        } else {
            (Source::Git(reference.to_string()), None)
        };
        let mut package = Package::new(Ecosystem::Npm, name, version);
        package.source = source;
        package.local = local;
        package.line = line;
        let index = parsed.packages.len();
        for spec in key.split(',') {
            by_spec.insert(spec.trim().to_string(), index);
        }
        let mut deps = Vec::new();
        for field in ["dependencies", "optionalDependencies"] {
            for (dep, range) in entry[field].as_hash().into_iter().flatten() {
                if let (Some(dep), Some(range)) = (dep.as_str(), range.as_str()) {
                    deps.push((dep.to_string(), range.to_string()));
                }
            }
        }
        deps_of.push((index, deps));
        parsed.packages.push(package);
    }
    for (i, deps) in deps_of {
        for (name, range) in deps {
            // Berry keys carry the protocol: `name@npm:^1.0.0`; ranges in deps may not.
            let j = by_spec
                .get(&format!("{name}@{range}"))
                .or_else(|| by_spec.get(&format!("{name}@npm:{range}")));
            if let Some(&j) = j.filter(|&&j| j != usize::MAX) {
                parsed.packages[i].dependencies.push(j);
            }
        }
        parsed.packages[i].dependencies.sort_unstable();
        parsed.packages[i].dependencies.dedup();
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSIC: &str = "# yarn lockfile v1\n\n\n\"@s/a@^1.0.0\", \"@s/a@^1.1.0\":\n  version \"1.2.0\"\n  integrity sha1-qUwlJk6B5sJsw1ht0Ok2t2R9Eok=\n  dependencies:\n    b \"~2\"\n\nb@~2:\n  version \"2.0.1\"\n";

    #[test]
    fn classic_entries_specs_and_edges() {
        let parsed = parse(CLASSIC).unwrap();
        let names: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            names,
            [("@s/a", "1.2.0", Some(4)), ("b", "2.0.1", Some(10))]
        );
        assert_eq!(parsed.packages[0].dependencies, [1]);
        assert_eq!(parsed.packages[0].checksums.len(), 1);
    }

    #[test]
    fn classic_malformed_lines_are_located() {
        let err = parse("a@1:\n  version\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 3), "{err:?}");
        let err = parse("a@1\n").unwrap_err();
        assert_eq!(err.line, 1);
        let err = parse("a@1:\n  resolved \"x\"\n").unwrap_err();
        assert!(err.message.contains("has no version"), "{err:?}");
    }

    #[test]
    fn berry_protocols() {
        let text = "__metadata:\n  version: 8\n\n\"a@npm:^1.0.0\":\n  version: 1.0.3\n  resolution: \"a@npm:1.0.3\"\n  dependencies:\n    b: \"npm:^2.0.0\"\n\n\"b@npm:^2.0.0\":\n  version: 2.1.0\n  resolution: \"b@npm:2.1.0\"\n\n\"p@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"p@workspace:.\"\n\n\"w@workspace:packages/w\":\n  version: 0.0.0-use.local\n  resolution: \"w@workspace:packages/w\"\n\n\"l@link:../l\":\n  version: 0.0.0-use.local\n  resolution: \"l@link:../l::locator=p%40workspace%3A.\"\n";
        let parsed = parse(text).unwrap();
        let names: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [("a", "1.0.3"), ("b", "2.1.0"), ("w", "0.0.0-use.local")]
        );
        assert_eq!(parsed.packages[0].dependencies, [1]);
        assert_eq!(parsed.packages[2].source, Source::Path("packages/w".into()));
        assert_eq!(parsed.notes.len(), 1);
    }

    /// Real lockfiles of one project made by yarn 2.4.2, 3.0.2, 3.8.7, 4.0.0-rc.35,
    /// 4.0.0-rc.48 and 4.18.1 (fixtures/npm/README.md): every __metadata version they write
    /// reads the same packages.
    #[test]
    fn every_berry_lockfile_version_reads_the_same_packages() {
        let locks = [
            (
                4,
                include_str!("../../fixtures/npm/yarn-berry-versions/v4-yarn-2.4.2/yarn.lock"),
            ),
            (
                4,
                include_str!("../../fixtures/npm/yarn-berry-versions/v4-yarn-3.0.2/yarn.lock"),
            ),
            (
                6,
                include_str!("../../fixtures/npm/yarn-berry-versions/v6-yarn-3.8.7/yarn.lock"),
            ),
            (
                7,
                include_str!(
                    "../../fixtures/npm/yarn-berry-versions/v7-yarn-4.0.0-rc.35/yarn.lock"
                ),
            ),
            (
                8,
                include_str!(
                    "../../fixtures/npm/yarn-berry-versions/v8-yarn-4.0.0-rc.48/yarn.lock"
                ),
            ),
            (
                10,
                include_str!("../../fixtures/npm/yarn-berry-versions/v10-yarn-4.18.1/yarn.lock"),
            ),
        ];
        let mut first: Option<Vec<(String, String, Option<LocalKind>)>> = None;
        for (version, text) in locks {
            assert!(text.contains(&format!("__metadata:\n  version: {version}\n")));
            let parsed = parse(text).unwrap();
            assert!(parsed.notes.is_empty(), "v{version}: {:?}", parsed.notes);
            let mut got: Vec<_> = parsed
                .packages
                .iter()
                .map(|p| (p.name.clone(), p.version.clone(), p.local_kind()))
                .collect();
            got.sort();
            assert_eq!(got.len(), 17, "v{version}: {got:?}");
            let local: Vec<_> = got.iter().filter(|p| p.2.is_some()).collect();
            assert_eq!(
                local
                    .iter()
                    .map(|p| (p.0.as_str(), p.2))
                    .collect::<Vec<_>>(),
                [
                    ("@fixture/util", Some(LocalKind::WorkspaceMember)),
                    ("bassmaster", Some(LocalKind::LocalPath))
                ],
                "v{version}"
            );
            match &first {
                None => first = Some(got),
                Some(first) => assert_eq!(&got, first, "v{version}"),
            }
        }
    }

    #[test]
    fn an_unknown_berry_version_is_an_error() {
        for bad in ["3", "11", "x"] {
            let text = format!(
                "__metadata:\n  version: {bad}\n\n\"a@npm:1\":\n  version: 1.0.0\n  resolution: \"a@npm:1.0.0\"\n"
            );
            let err = parse(&text).unwrap_err();
            assert_eq!(err.line, 1, "{err:?}");
            assert!(err.message.contains("version"), "{err:?}");
        }
    }
}

//! `package-lock.json` and `npm-shrinkwrap.json`, lockfileVersion 1, 2 and 3.
//!
//! v2/v3 list every installed package under `packages`, keyed by its path
//! (`node_modules/a/node_modules/b`); v1 nests `dependencies`. Either way a package's
//! real name is the last path segment unless the entry names another (an alias,
//! `"x": "npm:real@1.2.3"`). Workspace members are the project's own code (path
//! sources, never audited as registry packages); linked entries point at them and are
//! not packages of their own. Dependency edges follow Node's lookup: the nearest
//! enclosing `node_modules` that has the name.

use std::collections::HashMap;

use base64::Engine;
use serde_json::{Map, Value};

use super::{Note, ParseError, Parsed};
use crate::package::{Checksum, Ecosystem, HashAlgorithm, LocalKind, Package, Source};

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        ParseError::new(
            e.line().max(1),
            e.column().max(1),
            format!("invalid package-lock.json: {e}"),
        )
    })?;
    let Some(root) = root.as_object() else {
        return Err(ParseError::new(
            1,
            1,
            "invalid package-lock.json: expected a JSON object",
        ));
    };
    let version = root.get("lockfileVersion").and_then(Value::as_u64);
    match (version, root.get("packages").and_then(Value::as_object)) {
        (Some(2 | 3), Some(packages)) => parse_packages(text, packages),
        (Some(1), _) | (None, _) => parse_v1(text, root),
        (Some(v), _) => Err(ParseError::new(
            line_of(text, "\"lockfileVersion\"").unwrap_or(1),
            1,
            format!("unsupported lockfileVersion {v} (expected 1, 2 or 3)"),
        )),
    }
}

/// The line where `needle` first occurs, 1-based.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|at| text[..at].matches('\n').count() + 1)
}

/// The line of each object key that starts a line (`"node_modules/x": {`), found in one
/// pass: looking each package up with a search from the top was quadratic, half a second
/// on a 1,700-package lockfile. Keys are kept as written (escape sequences undecoded), so
/// a key with escapes has no line, which only costs the location in a message. Only keys
/// whose value is an object are kept (a package's entry is one): keeping every key of
/// every line was a quarter of reading a lockfile.
struct KeyLines<'a> {
    /// Keys whose value is an object (`"name": {`), with the first line each starts.
    objects: HashMap<&'a str, usize>,
}

/// The key a line starts with and what follows its colon.
fn line_key(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    let value = rest[end + 1..].trim_start().strip_prefix(':')?;
    Some((&rest[..end], value))
}

impl<'a> KeyLines<'a> {
    fn new(text: &'a str) -> Self {
        let mut objects = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if let Some((key, value)) = line_key(line)
                && value.trim_start().starts_with('{')
            {
                objects.entry(key).or_insert(i + 1);
            }
        }
        KeyLines { objects }
    }

    /// The first line that starts with `key`, whatever its value (for an error about an
    /// entry that is not an object).
    fn first(text: &str, key: &str) -> Option<usize> {
        text.lines()
            .position(|line| line_key(line).is_some_and(|(k, _)| k == key))
            .map(|i| i + 1)
    }
}

fn field<'a>(entry: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    entry.get(key).and_then(Value::as_str)
}

fn flag(entry: &Map<String, Value>, key: &str) -> bool {
    entry.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// SRI `integrity` (`sha512-<base64> sha1-<base64>`) → checksums.
pub(crate) fn checksums(integrity: Option<&str>) -> Vec<Checksum> {
    let mut out = Vec::new();
    for part in integrity.unwrap_or("").split_whitespace() {
        let Some((alg, b64)) = part.split_once('-') else {
            continue;
        };
        let algorithm = match alg {
            "sha1" => HashAlgorithm::Sha1,
            "sha256" => HashAlgorithm::Sha256,
            "sha384" => HashAlgorithm::Sha384,
            "sha512" => HashAlgorithm::Sha512,
            _ => continue,
        };
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) {
            out.push(Checksum {
                algorithm,
                hex: crate::package::hex(&bytes),
            });
        }
    }
    out
}

fn license(entry: &Map<String, Value>) -> Option<String> {
    match entry.get("license") {
        Some(Value::String(s)) => Some(s.clone()),
        // Old packages: `{"type": "MIT", "url": ...}`.
        Some(Value::Object(o)) => o.get("type").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn source(resolved: Option<&str>, version: &str) -> Source {
    let r = resolved.unwrap_or(version);
    if r.starts_with("git+") || r.starts_with("git://") || r.starts_with("github:") {
        Source::Git(r.to_string())
    } else if r.starts_with("file:") {
        Source::Path(r.trim_start_matches("file:").to_string())
    } else {
        Source::Registry
    }
}

/// Sets `package`'s source; a local one is a `file:` dependency of the project.
fn set_source(package: &mut Package, source: Source) {
    match source {
        Source::Path(path) => package.set_local(path, LocalKind::LocalPath),
        other => package.source = other,
    }
}

/// `npm:real-name@1.2.3` → (real-name, 1.2.3).
fn alias(version: &str) -> Option<(&str, &str)> {
    let spec = version.strip_prefix("npm:")?;
    // The version follows the last `@` that is not the scope's leading one.
    let at = spec[1..].rfind('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

/// v2/v3: the flat `packages` map.
fn parse_packages(text: &str, packages: &Map<String, Value>) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    let mut paths: Vec<&str> = Vec::new();
    let lines = KeyLines::new(text);
    for (path, entry) in packages {
        if path.is_empty() {
            continue; // the project itself
        }
        let line = lines.objects.get(path.as_str()).copied();
        let Some(entry) = entry.as_object() else {
            return Err(ParseError::new(
                KeyLines::first(text, path).unwrap_or(1),
                1,
                format!("package `{path}` is not an object"),
            ));
        };
        if flag(entry, "link") {
            // The link's target is listed under its own path (a workspace member, or a
            // `file:` directory) and counted there; one that is not is counted here.
            let target = field(entry, "resolved").unwrap_or_default();
            if !packages.contains_key(target) {
                parsed.notes.push(Note::local(
                    line,
                    format!("{path} -> {target}"),
                    LocalKind::LocalPath,
                ));
            }
            continue;
        }
        let in_node_modules = path.starts_with("node_modules/") || path.contains("/node_modules/");
        let last = path
            .rsplit_once("node_modules/")
            .map_or(path.as_str(), |(_, n)| n);
        let name = field(entry, "name").unwrap_or(last);
        let Some(version) = field(entry, "version") else {
            parsed.notes.push(Note {
                line,
                message: format!("`{path}` has no version: not installed, cannot be audited"),
                ..Note::default()
            });
            continue;
        };
        let mut package = Package::new(Ecosystem::Npm, name, version);
        if in_node_modules {
            set_source(&mut package, source(field(entry, "resolved"), version));
        } else {
            // Outside node_modules: a workspace member (or a linked directory) of the project.
            package.set_local(path.clone(), LocalKind::WorkspaceMember);
        }
        package.checksums = checksums(field(entry, "integrity"));
        package.dev = flag(entry, "dev");
        package.optional = flag(entry, "optional");
        package.license = license(entry);
        package.line = line.map(|l| l as u32);
        index_of.insert(path.as_str(), parsed.packages.len());
        paths.push(path.as_str());
        parsed.packages.push(package);
    }
    // Edges: from `a/node_modules/b`, a dependency `c` is the nearest of
    // `a/node_modules/b/node_modules/c`, `a/node_modules/c`, `node_modules/c`.
    for (i, path) in paths.iter().enumerate() {
        let Some(entry) = packages.get(*path).and_then(Value::as_object) else {
            continue;
        };
        let mut deps = Vec::new();
        for key in ["dependencies", "optionalDependencies", "peerDependencies"] {
            if let Some(map) = entry.get(key).and_then(Value::as_object) {
                deps.extend(map.keys().map(String::as_str));
            }
        }
        for dep in deps {
            let mut base = Some(*path);
            while let Some(b) = base {
                let candidate = format!("{b}/node_modules/{dep}");
                if let Some(&j) = index_of.get(candidate.as_str()) {
                    parsed.packages[i].dependencies.push(j);
                    break;
                }
                base = b.rfind("/node_modules/").map(|at| &b[..at]);
            }
            if base.is_none()
                && let Some(&j) = index_of.get(format!("node_modules/{dep}").as_str())
            {
                parsed.packages[i].dependencies.push(j);
            }
        }
        parsed.packages[i].dependencies.sort_unstable();
        parsed.packages[i].dependencies.dedup();
    }
    Ok(parsed)
}

/// v1: nested `dependencies`.
fn parse_v1(text: &str, root: &Map<String, Value>) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    let Some(deps) = root.get("dependencies") else {
        return Ok(parsed);
    };
    let Some(deps) = deps.as_object() else {
        return Err(ParseError::new(
            line_of(text, "\"dependencies\"").unwrap_or(1),
            1,
            "`dependencies` must be an object",
        ));
    };
    // Each nesting level's name → package index, for `requires` lookups.
    let mut scopes: Vec<HashMap<String, usize>> = Vec::new();
    let mut requires: Vec<Requires> = Vec::new();
    walk_v1(
        &KeyLines::new(text),
        deps,
        &mut parsed,
        &mut scopes,
        &mut Vec::new(),
        &mut requires,
        0,
    )?;
    for (i, names, chain) in requires {
        for name in names {
            // Nearest scope first: the package's own, then each enclosing one.
            let found = chain
                .iter()
                .rev()
                .find_map(|&s| scopes[s].get(&name).copied());
            if let Some(j) = found {
                parsed.packages[i].dependencies.push(j);
            }
        }
        parsed.packages[i].dependencies.sort_unstable();
        parsed.packages[i].dependencies.dedup();
    }
    Ok(parsed)
}

/// A package's `requires` names and the scopes to look them up in, innermost last.
type Requires = (usize, Vec<String>, Vec<usize>);

fn walk_v1(
    lines: &KeyLines<'_>,
    deps: &Map<String, Value>,
    parsed: &mut Parsed,
    scopes: &mut Vec<HashMap<String, usize>>,
    chain: &mut Vec<usize>,
    requires: &mut Vec<Requires>,
    depth: usize,
) -> Result<(), ParseError> {
    if depth > 256 {
        return Err(ParseError::new(
            1,
            1,
            "dependencies nested more than 256 levels deep",
        ));
    }
    let scope = scopes.len();
    scopes.push(HashMap::new());
    chain.push(scope);
    let mut entries = Vec::new();
    for (key, entry) in deps {
        let line = if depth == 0 {
            lines.objects.get(key.as_str()).copied()
        } else {
            None
        };
        let Some(entry) = entry.as_object() else {
            return Err(ParseError::new(
                line.unwrap_or(1),
                1,
                format!("dependency `{key}` is not an object"),
            ));
        };
        let Some(raw_version) = field(entry, "version") else {
            parsed.notes.push(Note {
                line,
                message: format!("`{key}` has no version: cannot be audited"),
                ..Note::default()
            });
            continue;
        };
        let (name, version) = alias(raw_version).unwrap_or((key.as_str(), raw_version));
        let mut package = Package::new(Ecosystem::Npm, name, version);
        let package_source = if raw_version.starts_with("file:") {
            Source::Path(raw_version.trim_start_matches("file:").to_string())
        } else {
            source(field(entry, "resolved"), raw_version)
        };
        set_source(&mut package, package_source);
        package.checksums = checksums(field(entry, "integrity"));
        package.dev = flag(entry, "dev");
        package.optional = flag(entry, "optional");
        package.line = line.map(|l| l as u32);
        let index = parsed.packages.len();
        parsed.packages.push(package);
        scopes[scope].insert(key.clone(), index);
        let names: Option<Vec<String>> = entry
            .get("requires")
            .and_then(Value::as_object)
            .map(|r| r.keys().cloned().collect());
        entries.push((
            index,
            entry.get("dependencies").and_then(Value::as_object),
            names,
        ));
    }
    for (index, children, names) in entries {
        // Node looks in the package's own node_modules first, then outward.
        let mut lookup = chain.clone();
        if let Some(children) = children {
            lookup.push(scopes.len());
            walk_v1(lines, children, parsed, scopes, chain, requires, depth + 1)?;
        }
        if let Some(names) = names {
            requires.push((index, names, lookup));
        }
    }
    chain.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_split_at_the_version() {
        assert_eq!(alias("npm:lodash@4.17.4"), Some(("lodash", "4.17.4")));
        assert_eq!(alias("npm:@scope/pkg@1.0.0"), Some(("@scope/pkg", "1.0.0")));
        assert_eq!(alias("4.17.4"), None);
    }

    #[test]
    fn integrity_is_decoded_to_hex() {
        let c = checksums(Some("sha1-qUwlJk6B5sJsw1ht0Ok2t2R9Eok="));
        assert_eq!(c[0].algorithm, HashAlgorithm::Sha1);
        assert_eq!(c[0].hex, "a94c25264e81e6c26cc3586dd0e936b7647d1289");
        assert!(checksums(Some("md5-xxx not-sri")).is_empty());
    }

    #[test]
    fn v3_nested_paths_aliases_links_and_edges() {
        let text = r#"{
  "name": "p", "lockfileVersion": 3,
  "packages": {
    "": {"name": "p", "dependencies": {"a": "1", "alias": "npm:b@2"}},
    "node_modules/a": {"version": "1.0.0", "dependencies": {"b": "1"}, "integrity": "sha1-qUwlJk6B5sJsw1ht0Ok2t2R9Eok="},
    "node_modules/a/node_modules/b": {"version": "1.5.0", "dev": true},
    "node_modules/alias": {"name": "b", "version": "2.0.0", "license": "MIT"},
    "node_modules/w": {"resolved": "packages/w", "link": true},
    "packages/w": {"name": "w", "version": "0.1.0"}
  }
}"#;
        let parsed = parse(text).unwrap();
        let names: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("a", "1.0.0"),
                ("b", "1.5.0"),
                ("b", "2.0.0"),
                ("w", "0.1.0")
            ]
        );
        assert_eq!(
            parsed.packages[0].dependencies,
            [1],
            "a's b is its nested one"
        );
        assert!(parsed.packages[1].dev);
        assert_eq!(parsed.packages[2].license.as_deref(), Some("MIT"));
        assert_eq!(parsed.packages[3].source, Source::Path("packages/w".into()));
        let lines: Vec<_> = parsed.packages.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(5), Some(6), Some(7), Some(9)]);
        assert_eq!(parsed.packages[3].local, Some(LocalKind::WorkspaceMember));
        // The link is its target's other name: the target counts, the link is no note.
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
        let dangling = text.replace(
            ",\n    \"packages/w\": {\"name\": \"w\", \"version\": \"0.1.0\"}",
            "",
        );
        let parsed = parse(&dangling).unwrap();
        assert_eq!(
            parsed.notes.len(),
            1,
            "a link to a directory the lock does not list"
        );
        assert_eq!(parsed.notes[0].line, Some(8));
        assert_eq!(parsed.notes[0].local, Some(LocalKind::LocalPath));
    }

    #[test]
    fn v1_nested_dependencies_and_requires() {
        let text = r#"{"lockfileVersion": 1, "dependencies": {
  "a": {"version": "1.0.0", "requires": {"b": "1"}, "dependencies": {"b": {"version": "1.5.0"}}},
  "b": {"version": "2.0.0", "dev": true},
  "c": {"version": "npm:b@3.0.0", "requires": {"b": "2"}}
}}"#;
        let parsed = parse(text).unwrap();
        let names: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("a", "1.0.0"),
                ("b", "2.0.0"),
                ("b", "3.0.0"),
                ("b", "1.5.0")
            ]
        );
        assert_eq!(
            parsed.packages[0].dependencies,
            [3],
            "a requires its nested b"
        );
        assert_eq!(
            parsed.packages[2].dependencies,
            [1],
            "c requires the top-level b"
        );
    }

    #[test]
    fn malformed_input_is_located() {
        let err = parse("{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"node_modules/a\": {\"version\": }\n").unwrap_err();
        assert_eq!(err.line, 4, "{err:?}");
        let err = parse("[]").unwrap_err();
        assert!(err.message.contains("expected a JSON object"));
        let err = parse("{\"lockfileVersion\": 9, \"packages\": {}}").unwrap_err();
        assert!(err.message.contains("unsupported lockfileVersion 9"));
        let err =
            parse("{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": 1}}").unwrap_err();
        assert!(err.message.contains("not an object"));
    }
}

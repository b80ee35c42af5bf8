//! `bun.lock`: bun's text lockfile (bun 1.2 and later; `lockfileVersion` 0 to 2).
//!
//! The file is JSONC as bun writes it (trailing commas; comments are allowed too): a
//! position-keeping pass blanks those out so `serde_json` reads it and its errors keep
//! the file's own line and column. `packages` maps a path in the install tree (`a`,
//! `a/b` for a `b` nested under `a`) to an array whose first item is the resolution,
//! `name@version` for registry packages (then the registry URL, empty for the default
//! one; metadata with the dependencies; the integrity). Workspace members, `file:` and
//! `link:` entries are the project's own code (counted as local); git and tarball entries
//! record no version and are noted as not audited. bun marks nothing dev-only: a package
//! is dev when no workspace's `dependencies`/`optionalDependencies`/`peerDependencies`
//! reach it. `bun.lockb`, the binary format, is refused with the command that writes the
//! text one.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{Note, ParseError, Parsed};
use crate::package::{Ecosystem, LocalKind, Package, Source};

/// The `lockfileVersion`s bun has written (0 and 1 by bun 1.2, 2 by bun 1.3 and later).
const VERSIONS: std::ops::RangeInclusive<u64> = 0..=2;

/// Why `bun.lockb` is not read.
pub(crate) fn binary_lockfile() -> ParseError {
    ParseError::new(
        1,
        1,
        "bun.lockb is bun's binary lockfile, which vouch does not read: run `bun install --save-text-lockfile` (bun 1.2 or later) to write bun.lock beside it, and audit that",
    )
}

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let json = strip_jsonc(text);
    let root: Value = serde_json::from_str(&json).map_err(|e| {
        ParseError::new(
            e.line().max(1),
            e.column().max(1),
            format!("invalid bun.lock: {e}"),
        )
    })?;
    let Some(root) = root.as_object() else {
        return Err(ParseError::new(
            1,
            1,
            "invalid bun.lock: expected a JSON object",
        ));
    };
    let version_line = line_of_key(text, 0, "lockfileVersion").unwrap_or(1);
    match root.get("lockfileVersion").and_then(Value::as_u64) {
        Some(v) if VERSIONS.contains(&v) => {}
        Some(v) => {
            return Err(ParseError::new(
                version_line,
                1,
                format!(
                    "bun.lock lockfileVersion {v} is not one vouch reads (expected {} to {})",
                    VERSIONS.start(),
                    VERSIONS.end()
                ),
            ));
        }
        None => {
            return Err(ParseError::new(
                version_line,
                1,
                "invalid bun.lock: no numeric `lockfileVersion`",
            ));
        }
    }
    let empty = Map::new();
    let workspaces = match root.get("workspaces") {
        None => &empty,
        Some(Value::Object(w)) => w,
        Some(_) => {
            return Err(ParseError::new(
                line_of_key(text, 0, "workspaces").unwrap_or(1),
                1,
                "invalid bun.lock: `workspaces` must be an object",
            ));
        }
    };
    let packages_at = text.find("\"packages\"").unwrap_or(0);
    let entries = match root.get("packages") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(ParseError::new(
                line_of_key(text, 0, "packages").unwrap_or(1),
                1,
                "invalid bun.lock: `packages` must be an object",
            ));
        }
    };
    let lines = KeyLines::new(text, packages_at);

    let mut parsed = Parsed::default();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    // A member's dependencies are in its `workspaces` entry, not its package entry.
    let mut member_meta: HashMap<usize, &Map<String, Value>> = HashMap::new();
    for (key, entry) in entries {
        let line = lines.get(key);
        let located = |message: String| ParseError::new(line.unwrap_or(1), 1, message);
        let Some(items) = entry.as_array() else {
            return Err(located(format!("package `{key}` is not an array")));
        };
        let Some(resolution) = items.first().and_then(Value::as_str) else {
            return Err(located(format!(
                "package `{key}` has no resolution: expected `[\"name@version\", ...]`"
            )));
        };
        let Some((name, reference)) = split_resolution(resolution) else {
            return Err(located(format!(
                "package `{key}`: resolution `{resolution}` is not name@version"
            )));
        };
        let local = |kind| Note::local(line, format!("{name} ({reference})"), kind);
        if let Some(path) = reference.strip_prefix("workspace:") {
            // A member: counted with the version its workspace entry records.
            match workspaces
                .get(path)
                .and_then(|w| w.get("version"))
                .and_then(Value::as_str)
            {
                Some(version) => {
                    let mut package = Package::new(Ecosystem::Npm, name, version);
                    package.set_local(path, LocalKind::WorkspaceMember);
                    package.line = line.map(|l| l as u32);
                    if let Some(meta) = workspaces.get(path).and_then(Value::as_object) {
                        member_meta.insert(parsed.packages.len(), meta);
                    }
                    index_of.insert(key, parsed.packages.len());
                    parsed.packages.push(package);
                }
                None => parsed.notes.push(local(LocalKind::WorkspaceMember)),
            }
            continue;
        }
        if reference.starts_with("file:") || reference.starts_with("link:") {
            parsed.notes.push(local(LocalKind::LocalPath));
            continue;
        }
        if reference.starts_with("root:") {
            continue; // the project itself
        }
        let remote = reference.starts_with("git+")
            || reference.starts_with("github:")
            || reference.starts_with("git@")
            || reference.contains("://");
        if remote || items.len() < 4 {
            parsed.notes.push(Note::not_audited(
                line,
                format!("`{name}` comes from `{reference}`, not a registry version: not audited"),
            ));
            continue;
        }
        let registry = items.get(1).and_then(Value::as_str).unwrap_or_default();
        let mut package = Package::new(Ecosystem::Npm, name, reference);
        package.source = if registry.is_empty() {
            Source::Registry
        } else {
            Source::AlternateRegistry(registry.to_string())
        };
        package.checksums = super::npm::checksums(items.get(3).and_then(Value::as_str));
        package.line = line.map(|l| l as u32);
        index_of.insert(key, parsed.packages.len());
        parsed.packages.push(package);
    }

    // Edges: from `a/b`, a dependency `c` is the nearest of `a/b/c`, `a/c`, `c`.
    let lookup = |from: &str, dep: &str| -> Option<usize> {
        let mut base = Some(from);
        while let Some(b) = base {
            if let Some(&j) = index_of.get(format!("{b}/{dep}").as_str()) {
                return Some(j);
            }
            base = parent(b);
        }
        index_of.get(dep).copied()
    };
    for (key, &i) in &index_of {
        let meta = member_meta.get(&i).copied().or_else(|| {
            entries
                .get(*key)
                .and_then(Value::as_array)
                .and_then(|items| items.iter().find_map(Value::as_object))
        });
        let mut deps = Vec::new();
        for field in DEPENDENCY_FIELDS {
            for dep in meta
                .and_then(|m| m.get(field))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(j) = lookup(key, dep.0) {
                    deps.push(j);
                }
            }
        }
        deps.sort_unstable();
        deps.dedup();
        parsed.packages[i].dependencies = deps;
    }

    // Dev-only: what no workspace's production dependencies reach.
    let mut queue: Vec<usize> = Vec::new();
    for (path, workspace) in workspaces {
        let own = workspace
            .get("name")
            .and_then(Value::as_str)
            .filter(|_| !path.is_empty());
        for field in DEPENDENCY_FIELDS {
            for dep in workspace
                .get(field)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let nested = own.and_then(|n| index_of.get(format!("{n}/{}", dep.0).as_str()));
                if let Some(&j) = nested.or_else(|| index_of.get(dep.0.as_str())) {
                    queue.push(j);
                }
            }
        }
    }
    let mut reached: HashSet<usize> = HashSet::new();
    while let Some(i) = queue.pop() {
        if reached.insert(i) {
            queue.extend(parsed.packages[i].dependencies.iter().copied());
        }
    }
    for (i, package) in parsed.packages.iter_mut().enumerate() {
        if !matches!(package.source, Source::Path(_)) {
            package.dev = !reached.contains(&i);
        }
    }
    Ok(parsed)
}

/// The dependency kinds that are needed at run time.
const DEPENDENCY_FIELDS: [&str; 3] = ["dependencies", "optionalDependencies", "peerDependencies"];

/// `a/b` → `a`, `@s/a/b` → `@s/a`, `a` and `@s/a` → none.
fn parent(key: &str) -> Option<&str> {
    let (head, _) = key.rsplit_once('/')?;
    // `@scope/name` is one segment.
    if head.starts_with('@') && !head.contains('/') {
        None
    } else {
        Some(head)
    }
}

/// `name@ref` → (name, ref); the `@` of a scope is not the separator.
fn split_resolution(resolution: &str) -> Option<(&str, &str)> {
    let at = resolution.get(1..)?.find('@')? + 1;
    let (name, reference) = (&resolution[..at], &resolution[at + 1..]);
    (!name.is_empty() && !reference.is_empty()).then_some((name, reference))
}

/// JSONC → JSON of the same length: comments and trailing commas become spaces (line
/// breaks are kept), so every other byte stays where it was and parse errors point at
/// the original text.
fn strip_jsonc(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let mut last_comma: Option<usize> = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                last_comma = None;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                for b in &mut out[i..end] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
                i = end;
                continue;
            }
            b',' => last_comma = Some(i),
            b'}' | b']' => {
                if let Some(comma) = last_comma.take() {
                    out[comma] = b' ';
                }
            }
            b if b.is_ascii_whitespace() => {}
            _ => last_comma = None,
        }
        i += 1;
    }
    // Only ASCII bytes were replaced, by ASCII spaces: still UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// The line of `"key":` as the first thing on a line, searching from byte `from`.
fn line_of_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let needle = format!("\"{key}\"");
    let at = text.get(from..)?.find(&needle)? + from;
    Some(text[..at].matches('\n').count() + 1)
}

/// Lines of the `packages` entries (`"key": [` opening a line), found in one pass.
struct KeyLines<'a> {
    lines: HashMap<&'a str, usize>,
}

impl<'a> KeyLines<'a> {
    fn new(text: &'a str, from: usize) -> Self {
        let first_line = text[..from.min(text.len())].matches('\n').count();
        let mut lines = HashMap::new();
        for (i, line) in text.get(from..).unwrap_or("").lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix('"') else {
                continue;
            };
            let Some(end) = rest.find('"') else {
                continue;
            };
            if rest[end + 1..].trim_start().starts_with(':') {
                lines.entry(&rest[..end]).or_insert(first_line + i + 1);
            }
        }
        KeyLines { lines }
    }

    fn get(&self, key: &str) -> Option<usize> {
        self.lines.get(key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../fixtures/npm/bun/bun.lock");

    #[test]
    fn the_real_bun_lock_reads_as_bun_locked_it() {
        let parsed = parse(FIXTURE).unwrap();
        let registry: Vec<_> = parsed
            .packages
            .iter()
            .filter(|p| p.source == Source::Registry)
            .collect();
        assert_eq!(registry.len(), 21, "{:#?}", parsed.packages);
        assert!(
            registry
                .iter()
                .all(|p| p.checksums.len() == 1 && p.line.is_some())
        );
        let find = |name: &str, version: &str| {
            parsed
                .packages
                .iter()
                .find(|p| p.name == name && p.version == version)
                .unwrap_or_else(|| panic!("{name} {version}"))
        };
        // The alias is the real package.
        assert_eq!(find("lodash", "4.17.4").line, Some(51));
        assert!(
            parsed
                .packages
                .iter()
                .filter(|p| p.name == "lodash")
                .count()
                == 2
        );
        // dev: uglify-js's tree only.
        assert!(find("uglify-js", "2.4.23").dev && find("yargs", "3.5.4").dev);
        assert!(!find("ms", "0.7.0").dev && !find("semver", "4.3.1").dev);
        assert_eq!(parsed.packages.iter().filter(|p| p.dev).count(), 10);
        // The workspace member is local, with its version; bassmaster (file:) is local.
        let util = find("@fixture/util", "0.1.0");
        assert_eq!(util.local_kind(), Some(LocalKind::WorkspaceMember));
        assert_eq!(util.dependencies.len(), 1, "semver");
        assert_eq!(parsed.notes.len(), 1, "{:?}", parsed.notes);
        assert_eq!(parsed.notes[0].local, Some(LocalKind::LocalPath));
        assert!(parsed.notes[0].message.starts_with("bassmaster"));
    }

    #[test]
    fn jsonc_trailing_commas_and_comments_are_valid() {
        let text = "{\n  // bun writes none, JSONC allows them\n  \"lockfileVersion\": 1, /* here */\n  \"packages\": {\n    \"a\": [\"a@1.0.0\", \"\", {},  \"sha1-qUwlJk6B5sJsw1ht0Ok2t2R9Eok=\",],\n  },\n}\n";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.packages.len(), 1);
        assert_eq!(parsed.packages[0].line, Some(5));
        // A comma inside a string is text, not a trailing comma.
        let text =
            "{\"lockfileVersion\": 1, \"packages\": {\"a\": [\"a@1.0.0\", \"x,]\", {}, \"\"]}}";
        assert_eq!(
            parse(text).unwrap().packages[0].source,
            Source::AlternateRegistry("x,]".into())
        );
    }

    #[test]
    fn a_truncated_bun_lock_is_an_error_with_line_and_column() {
        let cut = &FIXTURE[..FIXTURE.rfind("\"marked\"").unwrap() + 20];
        let err = parse(cut).unwrap_err();
        assert_eq!(err.line, cut.lines().count(), "{err:?}");
        assert!(err.column > 1, "{err:?}");
        assert!(err.message.contains("EOF"), "{err:?}");
    }

    #[test]
    fn unknown_versions_and_shapes_are_errors() {
        let err = parse("{\"lockfileVersion\": 9}").unwrap_err();
        assert!(err.message.contains("lockfileVersion 9"), "{err:?}");
        let err = parse("{\"lockfileVersion\": 1, \"packages\": {\"a\": 3}}").unwrap_err();
        assert!(err.message.contains("not an array"), "{err:?}");
        let err =
            parse("{\"lockfileVersion\": 1, \"packages\": {\"a\": [\"nonsense\"]}}").unwrap_err();
        assert!(err.message.contains("name@version"), "{err:?}");
        assert!(binary_lockfile().message.contains("--save-text-lockfile"));
    }

    #[test]
    fn git_and_tarball_entries_are_not_audited_but_noted() {
        let text = r#"{"lockfileVersion": 1, "packages": {
  "g": ["g@github:o/g#abc", {}, "o-g-abc"],
  "t": ["t@https://example.invalid/t.tgz", {}]
}}"#;
        let parsed = parse(text).unwrap();
        assert!(parsed.packages.is_empty());
        assert_eq!(parsed.notes.len(), 2);
        assert!(parsed.notes.iter().all(|n| n.local.is_none() && !n.remark));
    }

    #[test]
    fn nested_keys_resolve_to_the_nearest_copy() {
        assert_eq!(parent("a/b"), Some("a"));
        assert_eq!(parent("@s/a/b"), Some("@s/a"));
        assert_eq!(parent("@s/a"), None);
        assert_eq!(parent("a"), None);
        assert_eq!(split_resolution("@s/a@1.0.0"), Some(("@s/a", "1.0.0")));
    }
}

//! `package-lock.json` and `npm-shrinkwrap.json`, lockfileVersion 1, 2 and 3.
//!
//! v2/v3 list every installed package under `packages`, keyed by its path
//! (`node_modules/a/node_modules/b`); v1 nests `dependencies`. Either way a package's
//! real name is the last path segment unless the entry names another (an alias,
//! `"x": "npm:real@1.2.3"`). Workspace members are the project's own code (path
//! sources, never audited as registry packages); linked entries point at them and are
//! not packages of their own. Dependency edges follow Node's lookup: the nearest
//! enclosing `node_modules` that has the name.
//!
//! A v2/v3 lockfile is read straight into the few fields used ([`Entry`]), strings
//! borrowed from the text: building a `serde_json::Value` of the whole file was four
//! fifths of auditing a 1,700-package lockfile. That reader is strict (a field of another
//! type than npm writes is an error); whatever it refuses is read again as a `Value`, as
//! before, which gives the same packages for the odd shapes the `Value` reading tolerates
//! and the same located error for a malformed file. v1 is read as a `Value` only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{Note, ParseError, Parsed};
use crate::json::{Skip, Text};
use crate::package::{Checksum, Ecosystem, HashAlgorithm, LocalKind, Package, Source};

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    // An error here is not the answer: the `Value` reading below decides what the file
    // means and, when it is malformed, says where.
    if let Ok(root) = serde_json::from_str::<Root<'_>>(text) {
        match (root.lockfile_version, root.packages) {
            (Some(2 | 3), Some(packages)) => return parse_packages(text, &packages),
            (Some(1) | None, _) => {}
            (Some(v), _) => return Err(unsupported(text, v)),
        }
    }
    parse_value(text)
}

/// The reading of any lockfile as a `serde_json::Value`: every v1 lockfile, and a v2/v3
/// one the typed reading refused.
fn parse_value(text: &str) -> Result<Parsed, ParseError> {
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
        (Some(2 | 3), Some(packages)) => parse_packages(text, &entries_of(text, packages)?),
        (Some(1) | None, _) => parse_v1(text, root),
        (Some(v), _) => Err(unsupported(text, v)),
    }
}

fn unsupported(text: &str, version: u64) -> ParseError {
    ParseError::new(
        line_of(text, "\"lockfileVersion\"").unwrap_or(1),
        1,
        format!("unsupported lockfileVersion {version} (expected 1, 2 or 3)"),
    )
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
    let rest = trim_start(line).strip_prefix('"')?;
    let end = rest.bytes().position(|b| b == b'"')?;
    let value = trim_start(&rest[end + 1..]).strip_prefix(':')?;
    Some((&rest[..end], value))
}

/// `str::trim_start`, without decoding the ASCII indentation char by char (that was a
/// tenth of reading a lockfile).
fn trim_start(s: &str) -> &str {
    let ascii = s
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .count();
    let rest = &s[ascii..];
    if rest.bytes().next().is_some_and(|b| !b.is_ascii()) {
        rest.trim_start()
    } else {
        rest
    }
}

/// Where the next `\n` or `{` at or after `from` is.
fn next_newline_or_brace(bytes: &[u8], from: usize) -> Option<usize> {
    memchr::memchr2(b'\n', b'{', bytes.get(from..)?).map(|at| from + at)
}

impl<'a> KeyLines<'a> {
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut objects = HashMap::new();
        // A key whose value is an object has a `{` on its line: only the lines with one
        // are read (reading every line was a quarter of the parse), in one pass that
        // stops at each `\n` and `{`.
        let (mut line, mut line_start, mut at) = (1, 0, 0);
        // Most such keys are the same few fields (`dependencies`, `engines`, `funding`):
        // those seen lately, already kept with their first line, are not hashed again.
        let mut recent = [None; 8];
        let mut next_recent = 0;
        while let Some(found) = next_newline_or_brace(bytes, at) {
            if bytes[found] == b'\n' {
                line += 1;
                line_start = found + 1;
                at = found + 1;
                continue;
            }
            let end = bytes[found..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |n| found + n);
            if let Some((key, value)) = line_key(&text[line_start..end])
                && trim_start(value).starts_with('{')
                && !recent.contains(&Some(key))
            {
                objects.entry(key).or_insert(line);
                recent[next_recent] = Some(key);
                next_recent = (next_recent + 1) % recent.len();
            }
            at = end;
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
    let integrity = integrity.unwrap_or("");
    let mut out = Vec::new();
    if integrity.is_ascii() {
        // As npm writes it: split on the bytes `split_whitespace` splits ASCII text on,
        // without decoding it char by char.
        for part in integrity
            .as_bytes()
            .split(|b| matches!(b, b' ' | b'\t'..=b'\r'))
        {
            push_checksum(part, &mut out);
        }
    } else {
        for part in integrity.split_whitespace() {
            push_checksum(part.as_bytes(), &mut out);
        }
    }
    out
}

/// One SRI hash (`sha512-<base64>`) of a known algorithm, if it decodes; others are
/// skipped.
fn push_checksum(part: &[u8], out: &mut Vec<Checksum>) {
    let Some(dash) = part.iter().position(|&b| b == b'-') else {
        return;
    };
    let algorithm = match &part[..dash] {
        b"sha1" => HashAlgorithm::Sha1,
        b"sha256" => HashAlgorithm::Sha256,
        b"sha384" => HashAlgorithm::Sha384,
        b"sha512" => HashAlgorithm::Sha512,
        _ => return,
    };
    let b64 = &part[dash + 1..];
    let engine = &base64::engine::general_purpose::STANDARD;
    // Decoded on the stack: a SHA-512 digest needs 66 bytes by base64's estimate.
    let mut buffer = [0; 96];
    let bytes = match engine.decode_slice(b64, &mut buffer) {
        Ok(len) => Cow::Borrowed(&buffer[..len]),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => match engine.decode(b64) {
            Ok(bytes) => Cow::Owned(bytes),
            Err(_) => return,
        },
        Err(base64::DecodeSliceError::DecodeError(_)) => return,
    };
    out.push(Checksum {
        algorithm,
        hex: crate::package::hex(&bytes),
    });
}

fn license(entry: &Map<String, Value>) -> Option<&str> {
    match entry.get("license") {
        Some(Value::String(s)) => Some(s),
        // Old packages: `{"type": "MIT", "url": ...}`.
        Some(Value::Object(o)) => o.get("type").and_then(Value::as_str),
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
fn parse_packages(text: &str, packages: &Packages<'_>) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    let mut installed: Vec<(&str, &Entry<'_>)> = Vec::new();
    let lines = KeyLines::new(text);
    for (path, entry) in &packages.0 {
        let path: &str = path;
        if path.is_empty() {
            continue; // the project itself
        }
        let line = lines.objects.get(path).copied();
        if entry.link {
            // The link's target is listed under its own path (a workspace member, or a
            // `file:` directory) and counted there; one that is not is counted here.
            let target = entry.resolved.as_deref().unwrap_or_default();
            if !packages.contains(target) {
                parsed.notes.push(Note::local(
                    line,
                    format!("{path} -> {target}"),
                    LocalKind::LocalPath,
                ));
            }
            continue;
        }
        let in_node_modules =
            path.starts_with("node_modules/") || rfind_dir(path, "/node_modules/").is_some();
        let last = rfind_dir(path, "node_modules/").map_or(path, |at| &path[at + 13..]);
        let name = entry.name.as_deref().unwrap_or(last);
        let Some(version) = entry.version.as_deref() else {
            parsed.notes.push(Note {
                line,
                message: format!("`{path}` has no version: not installed, cannot be audited"),
                ..Note::default()
            });
            continue;
        };
        let mut package = Package::new(Ecosystem::Npm, name, version);
        if in_node_modules {
            set_source(&mut package, source(entry.resolved.as_deref(), version));
        } else {
            // Outside node_modules: a workspace member (or a linked directory) of the project.
            package.set_local(path, LocalKind::WorkspaceMember);
        }
        package.checksums = checksums(entry.integrity.as_deref());
        package.dev = entry.dev;
        package.optional = entry.optional;
        package.license = entry.license.as_deref().map(str::to_string);
        package.line = line.map(|l| l as u32);
        index_of.insert(path, parsed.packages.len());
        installed.push((path, entry));
        parsed.packages.push(package);
    }
    // Edges: from `a/node_modules/b`, a dependency `c` is the nearest of
    // `a/node_modules/b/node_modules/c`, `a/node_modules/c`, `node_modules/c`. One buffer
    // holds each candidate path: a string allocated per candidate was a tenth of the parse.
    let nested = has_nested(&installed);
    let mut candidate = String::new();
    for (i, (path, entry)) in installed.iter().enumerate() {
        // Under a package that has nothing nested, the first place to look can only miss.
        let start = if nested[i] {
            Some(*path)
        } else {
            parent_dir(path)
        };
        for dep in entry.dependencies.iter().flatten() {
            let mut base = start;
            while let Some(b) = base {
                candidate.clear();
                candidate.push_str(b);
                candidate.push_str("/node_modules/");
                candidate.push_str(dep);
                if let Some(&j) = index_of.get(candidate.as_str()) {
                    parsed.packages[i].dependencies.push(j);
                    break;
                }
                base = parent_dir(b);
            }
            if base.is_none() {
                candidate.clear();
                candidate.push_str("node_modules/");
                candidate.push_str(dep);
                if let Some(&j) = index_of.get(candidate.as_str()) {
                    parsed.packages[i].dependencies.push(j);
                }
            }
        }
        parsed.packages[i].dependencies.sort_unstable();
        parsed.packages[i].dependencies.dedup();
    }
    Ok(parsed)
}

/// For each of the installed packages (sorted by path), whether another one is installed
/// under its `node_modules/`. The paths under a path sort right after it, so a stack of
/// the paths enclosing the current one finds them in one pass, without a lookup.
fn has_nested(installed: &[(&str, &Entry<'_>)]) -> Vec<bool> {
    let mut nested = vec![false; installed.len()];
    let mut enclosing: Vec<usize> = Vec::new();
    for (i, (path, _)) in installed.iter().enumerate() {
        while let Some(&top) = enclosing.last() {
            if path.starts_with(installed[top].0) {
                break;
            }
            enclosing.pop();
        }
        for &outer in &enclosing {
            if path[installed[outer].0.len()..].starts_with("/node_modules/") {
                nested[outer] = true;
            }
        }
        enclosing.push(i);
    }
    nested
}

/// The path of the package whose `node_modules/` holds `path`, if any.
fn parent_dir(path: &str) -> Option<&str> {
    rfind_dir(path, "/node_modules/").map(|at| &path[..at])
}

/// Where the last `dir` (which ends in `/`) starts in `path`: `path.rfind(dir)`, found
/// from the slashes instead of with a substring searcher built per call (which was a
/// tenth of the parse). The last occurrence is the one that ends at the last slash that
/// ends one.
fn rfind_dir(path: &str, dir: &str) -> Option<usize> {
    let mut end = path.len();
    while let Some(slash) = path[..end].rfind('/') {
        if path[..=slash].ends_with(dir) {
            return Some(slash + 1 - dir.len());
        }
        end = slash;
    }
    None
}

/// `packages` by path, in the order the `Value` reading iterates them: sorted, as
/// serde_json's map is a `BTreeMap` (its `preserve_order` feature is off). A path listed
/// twice keeps its last entry, as there.
struct Packages<'a>(Vec<(Cow<'a, str>, Entry<'a>)>);

impl<'a> Packages<'a> {
    /// From the entries in the order the file lists them. Sorted after reading rather than
    /// kept in a `BTreeMap` while reading: npm writes them nearly sorted already.
    fn from_listed(mut listed: Vec<(Cow<'a, str>, Entry<'a>)>) -> Self {
        listed.sort_by(|a, b| a.0.cmp(&b.0)); // stable: a repeated path keeps file order
        listed.dedup_by(|later, kept| {
            let repeated = later.0 == kept.0;
            if repeated {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            repeated
        });
        Packages(listed)
    }

    fn contains(&self, path: &str) -> bool {
        self.0.binary_search_by(|(p, _)| (**p).cmp(path)).is_ok()
    }
}

/// What vouch reads of a `packages` entry. Both readings fill it: the typed one from the
/// text, and [`Entry::from_object`] from a `Value`, whose rules (a field of another type
/// is absent) the typed reading keeps by refusing such a field.
#[derive(Debug, Default)]
struct Entry<'a> {
    name: Option<Cow<'a, str>>,
    version: Option<Cow<'a, str>>,
    resolved: Option<Cow<'a, str>>,
    integrity: Option<Cow<'a, str>>,
    license: Option<Cow<'a, str>>,
    dev: bool,
    optional: bool,
    link: bool,
    /// The names under `dependencies`, `optionalDependencies` and `peerDependencies`.
    dependencies: [Vec<Cow<'a, str>>; 3],
}

/// The keys of [`Entry::dependencies`], in its order.
const DEPENDENCY_KEYS: [&str; 3] = ["dependencies", "optionalDependencies", "peerDependencies"];

impl<'a> Entry<'a> {
    fn from_object(entry: &'a Map<String, Value>) -> Self {
        let names = |key: &str| -> Vec<Cow<'a, str>> {
            entry
                .get(key)
                .and_then(Value::as_object)
                .map(|map| map.keys().map(|k| Cow::Borrowed(k.as_str())).collect())
                .unwrap_or_default()
        };
        Entry {
            name: field(entry, "name").map(Cow::Borrowed),
            version: field(entry, "version").map(Cow::Borrowed),
            resolved: field(entry, "resolved").map(Cow::Borrowed),
            integrity: field(entry, "integrity").map(Cow::Borrowed),
            license: license(entry).map(Cow::Borrowed),
            dev: flag(entry, "dev"),
            optional: flag(entry, "optional"),
            link: flag(entry, "link"),
            dependencies: DEPENDENCY_KEYS.map(names),
        }
    }
}

/// The `Value` reading's `packages`: a package that is not an object is an error, except
/// the project's own entry, which is never read.
fn entries_of<'a>(
    text: &str,
    packages: &'a Map<String, Value>,
) -> Result<Packages<'a>, ParseError> {
    let mut entries = Vec::with_capacity(packages.len());
    for (path, entry) in packages {
        let entry = match entry.as_object() {
            Some(entry) => Entry::from_object(entry),
            None if path.is_empty() => Entry::default(),
            None => {
                return Err(ParseError::new(
                    KeyLines::first(text, path).unwrap_or(1),
                    1,
                    format!("package `{path}` is not an object"),
                ));
            }
        };
        entries.push((Cow::Borrowed(path.as_str()), entry));
    }
    Ok(Packages::from_listed(entries))
}

// The typed reading. Each reader accepts only the JSON type npm writes there and errors
// on any other (serde's defaults), so that [`parse`] falls back to the `Value` reading.
// A field listed twice keeps its last value, as a `Value` map does. What is not read is
// skipped by [`Skip`], not `IgnoredAny`: serde_json skips an ignored value without its
// recursion limit, and a file the `Value` reading refuses as nested too deep must not
// pass here.

/// The top level: `lockfileVersion` and `packages`.
struct Root<'a> {
    lockfile_version: Option<u64>,
    packages: Option<Packages<'a>>,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum RootKey {
    #[serde(rename = "lockfileVersion")]
    LockfileVersion,
    #[serde(rename = "packages")]
    Packages,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Root<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RootVisitor;
        impl<'de> Visitor<'de> for RootVisitor {
            type Value = Root<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a package-lock.json object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Root<'de>, A::Error> {
                let mut root = Root {
                    lockfile_version: None,
                    packages: None,
                };
                while let Some(key) = map.next_key()? {
                    match key {
                        RootKey::LockfileVersion => root.lockfile_version = map.next_value()?,
                        RootKey::Packages => {
                            root.packages =
                                map.next_value::<Option<PackageMap<'de>>>()?.map(|p| p.0);
                        }
                        RootKey::Other => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(root)
            }
        }
        deserializer.deserialize_map(RootVisitor)
    }
}

struct PackageMap<'a>(Packages<'a>);

impl<'de> Deserialize<'de> for PackageMap<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PackagesVisitor;
        impl<'de> Visitor<'de> for PackagesVisitor {
            type Value = PackageMap<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of packages")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut packages = Vec::new();
                while let Some((path, entry)) = map.next_entry::<Text<'de>, Entry<'de>>()? {
                    packages.push((path.0, entry));
                }
                Ok(PackageMap(Packages::from_listed(packages)))
            }
        }
        deserializer.deserialize_map(PackagesVisitor)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum EntryKey {
    Name,
    Version,
    Resolved,
    Integrity,
    License,
    Dev,
    Optional,
    Link,
    Dependencies,
    OptionalDependencies,
    PeerDependencies,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Entry<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = Entry<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a package object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry<'de>, A::Error> {
                let mut entry = Entry::default();
                while let Some(key) = map.next_key()? {
                    let text = |t: Option<Text<'de>>| t.map(|t| t.0);
                    let names = |n: Option<Names<'de>>| n.map(|n| n.0).unwrap_or_default();
                    match key {
                        EntryKey::Name => entry.name = text(map.next_value()?),
                        EntryKey::Version => entry.version = text(map.next_value()?),
                        EntryKey::Resolved => entry.resolved = text(map.next_value()?),
                        EntryKey::Integrity => entry.integrity = text(map.next_value()?),
                        EntryKey::License => {
                            entry.license =
                                map.next_value::<Option<License<'de>>>()?.and_then(|l| l.0);
                        }
                        EntryKey::Dev => {
                            entry.dev = map.next_value::<Option<bool>>()?.unwrap_or(false)
                        }
                        EntryKey::Optional => {
                            entry.optional = map.next_value::<Option<bool>>()?.unwrap_or(false);
                        }
                        EntryKey::Link => {
                            entry.link = map.next_value::<Option<bool>>()?.unwrap_or(false)
                        }
                        EntryKey::Dependencies => entry.dependencies[0] = names(map.next_value()?),
                        EntryKey::OptionalDependencies => {
                            entry.dependencies[1] = names(map.next_value()?);
                        }
                        EntryKey::PeerDependencies => {
                            entry.dependencies[2] = names(map.next_value()?)
                        }
                        EntryKey::Other => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(entry)
            }
        }
        deserializer.deserialize_map(EntryVisitor)
    }
}

/// The keys of an object (a dependency map: the names, not the version ranges).
struct Names<'a>(Vec<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Names<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NamesVisitor;
        impl<'de> Visitor<'de> for NamesVisitor {
            type Value = Names<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of dependencies")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Names<'de>, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = map.next_key::<Text<'de>>()? {
                    map.next_value::<Skip>()?;
                    names.push(name.0);
                }
                Ok(Names(names))
            }
        }
        deserializer.deserialize_map(NamesVisitor)
    }
}

/// `license`: an SPDX string, or old packages' `{"type": "MIT", "url": ...}`.
struct License<'a>(Option<Cow<'a, str>>);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum LicenseKey {
    Type,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for License<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LicenseVisitor;
        impl<'de> Visitor<'de> for LicenseVisitor {
            type Value = License<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a license string or object")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<License<'de>, E> {
                Ok(License(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<License<'de>, E> {
                Ok(License(Some(Cow::Owned(s.to_string()))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<License<'de>, A::Error> {
                let mut kind = None;
                while let Some(key) = map.next_key()? {
                    match key {
                        LicenseKey::Type => {
                            kind = map.next_value::<Option<Text<'de>>>()?.map(|t| t.0)
                        }
                        LicenseKey::Other => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(License(kind))
            }
        }
        deserializer.deserialize_any(LicenseVisitor)
    }
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

    /// The typed reading's packages and notes, checked against the `Value` reading's.
    fn read_both_ways(text: &str) -> Parsed {
        let typed = parse(text).unwrap();
        let value = parse_value(text).unwrap();
        assert_eq!(format!("{typed:?}"), format!("{value:?}"));
        typed
    }

    fn typed_reading_accepts(text: &str) -> bool {
        serde_json::from_str::<Root<'_>>(text).is_ok()
    }

    #[test]
    fn the_typed_reading_gives_what_the_value_reading_gives() {
        // Old-style license objects, fields vouch does not read (of every JSON type,
        // nested), escaped strings, a path listed twice, a field listed twice.
        let text = r#"{
  "lockfileVersion": 3, "requires": true, "x": [1, -2.5e3, null, true, {"a": [{}]}],
  "packages": {
    "": {"name": "p", "workspaces": ["w"], "devDependencies": {"a": "1"}},
    "node_modules/b": {"version": "1.0.0", "license": {"type": "MIT", "url": "u"}, "bin": {"b": "x.js"}},
    "node_modules/a": {"version": "0.1.0", "dependencies": {"b": "1", "c": {"odd": 1}}, "engines": ["node >= 0.4"]},
    "node_modules/\u0063": {"version": "2\u002e0.0", "license": {"url": "u"}, "funding": [{"url": "u"}, "v"]},
    "node_modules/d": {"version": "1.0.0", "dev": true, "dev": false, "cpu": ["x64"], "peer": true},
    "node_modules/a": {"version": "0.2.0", "optionalDependencies": {"d": "1"}, "license": null},
    "node_modules/e": {"version": "1.0.0", "resolved": null, "integrity": null, "dev": null}
  }
}"#;
        assert!(typed_reading_accepts(text));
        let parsed = read_both_ways(text);
        let names: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.license.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("a", "0.2.0", None),
                ("b", "1.0.0", Some("MIT")),
                ("c", "2.0.0", None),
                ("d", "1.0.0", None),
                ("e", "1.0.0", None)
            ],
            "sorted by path; a repeated path or field keeps its last value"
        );
        assert_eq!(parsed.packages[0].dependencies, [3], "the last `a`'s edges");
        assert!(!parsed.packages[3].dev);
        // The first line of a repeated path, as before; none for an escaped one.
        let lines: Vec<_> = parsed.packages.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(6), Some(5), None, Some(8), Some(10)]);
    }

    #[test]
    fn fields_of_another_type_are_read_as_before() {
        // Each is refused by the typed reading and read as a `Value`: the field counts as
        // absent, as it always did.
        for entry in [
            r#"{"version": 1}"#,
            r#"{"version": "1.0.0", "dev": "yes"}"#,
            r#"{"version": "1.0.0", "license": ["MIT"]}"#,
            r#"{"version": "1.0.0", "license": {"type": 1}}"#,
            r#"{"version": "1.0.0", "dependencies": ["b"]}"#,
            r#"{"version": "1.0.0", "resolved": {"url": "x"}}"#,
        ] {
            let text = format!(
                r#"{{"lockfileVersion": 3, "packages": {{"": 7, "node_modules/a": {entry}}}}}"#
            );
            assert!(!typed_reading_accepts(&text), "{entry}");
            read_both_ways(&text);
        }
        let text = r#"{"lockfileVersion": "3", "packages": {}}"#;
        assert!(!typed_reading_accepts(text));
        read_both_ways(text);
        // A typed reading that would take a sequence for an object does not.
        assert!(!typed_reading_accepts(r#"[3, {}]"#));
        assert!(
            parse(r#"[3, {}]"#)
                .unwrap_err()
                .message
                .contains("expected a JSON object")
        );
    }

    /// Regression: values vouch does not read are still nested no deeper than serde_json's
    /// limit, as when the whole file was read as a `Value` (skipping them with
    /// `IgnoredAny` would have no limit, and accept a file that was refused).
    #[test]
    fn deep_nesting_where_nothing_is_read_is_still_refused() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for text in [
            format!(r#"{{"lockfileVersion": 3, "packages": {{}}, "x": {deep}}}"#),
            format!(
                r#"{{"lockfileVersion": 3, "packages": {{"node_modules/a": {{"version": "1", "x": {deep}}}}}}}"#
            ),
        ] {
            assert!(!typed_reading_accepts(&text));
            let err = parse(&text).unwrap_err();
            assert!(err.message.contains("recursion limit"), "{err:?}");
        }
    }

    #[test]
    fn dependencies_are_found_past_paths_that_sort_between() {
        // `a-b` sorts between `a` and `a`'s nested packages.
        let text = r#"{"lockfileVersion": 3, "packages": {
  "node_modules/a": {"version": "1.0.0", "dependencies": {"c": "1"}},
  "node_modules/a-b": {"version": "1.0.0", "dependencies": {"c": "2"}},
  "node_modules/a/node_modules/c": {"version": "1.0.0"},
  "node_modules/c": {"version": "2.0.0"}
}}"#;
        let parsed = read_both_ways(text);
        assert_eq!(parsed.packages[0].dependencies, [2], "a's own c");
        assert_eq!(parsed.packages[1].dependencies, [3], "the top-level c");
    }

    #[test]
    fn key_lines_keep_the_first_line_of_each_key() {
        let text = "{\n\"\": {\n  \"engines\": {},\n  \"engines\": {\n\"a\": {}\n\"\": {\n}\n";
        let lines = KeyLines::new(text);
        assert_eq!(lines.objects.get(""), Some(&2), "the empty key too");
        assert_eq!(lines.objects.get("engines"), Some(&3));
        assert_eq!(lines.objects.get("a"), Some(&5));
    }

    #[test]
    fn dirs_are_found_as_rfind_finds_them() {
        for path in [
            "node_modules/a",
            "node_modules/a/node_modules/b",
            "x/node_modules/node_modules/",
            "a/node_modules//node_modules/b",
            "node_modules/",
            "no",
            "",
        ] {
            for dir in ["node_modules/", "/node_modules/"] {
                assert_eq!(rfind_dir(path, dir), path.rfind(dir), "{path} {dir}");
            }
        }
    }

    #[test]
    fn integrity_splits_as_split_whitespace_does() {
        let sha1 = "sha1-qUwlJk6B5sJsw1ht0Ok2t2R9Eok=";
        for sep in [" ", "\t", "\u{b}", "\u{a0}", "\u{3000}", "\r\n"] {
            assert_eq!(
                checksums(Some(&format!("{sha1}{sep}{sha1}"))).len(),
                2,
                "{sep:?}"
            );
        }
        // Longer than any digest: decoded all the same.
        let long = base64::engine::general_purpose::STANDARD.encode([7u8; 100]);
        let c = checksums(Some(&format!("sha512-{long}")));
        assert_eq!(c[0].hex, "07".repeat(100));
        assert!(checksums(Some("sha512-not*base64")).is_empty());
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

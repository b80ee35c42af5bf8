//! `Pipfile.lock` (pipenv): JSON with `default` and `develop` sections.
//!
//! Entries pinned with `"version": "==X"` are packages; those in `develop` only are dev.
//! Entries without a pin are notes: path and file entries (editable or not) as the
//! project's own code, git and unpinned ones as not audited. No dependency edges are
//! recorded.
//! serde_json keeps no spans, so lines are found by a textual pass over the pretty-printed
//! file (pipenv writes one key per line).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{parse_hash, push_unique};
use crate::lockfile::{Note, ParseError, Parsed};
use crate::package::{Ecosystem, LocalKind, Package, Source, normalize_pypi_name};

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    default: BTreeMap<String, Entry>,
    #[serde(default)]
    develop: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    path: Option<String>,
    file: Option<String>,
}

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let lock: Lock = serde_json::from_str(text).map_err(|e| {
        ParseError::new(
            e.line().max(1),
            e.column().max(1),
            format!("invalid Pipfile.lock: {e}"),
        )
    })?;
    let mut packages: Vec<Package> = Vec::new();
    let mut index_of: HashMap<(String, String), usize> = HashMap::new();
    let mut notes = Vec::new();
    for (section, entries, dev) in [
        ("default", &lock.default, false),
        ("develop", &lock.develop, true),
    ] {
        let section_start = text.find(&format!("\"{section}\"")).unwrap_or(0);
        let lines = EntryLines::new(text, section_start);
        for (raw_name, entry) in entries {
            let line = lines.get(raw_name);
            let name = normalize_pypi_name(raw_name);
            let version = entry
                .version
                .as_deref()
                .and_then(|v| v.strip_prefix("===").or_else(|| v.strip_prefix("==")));
            let Some(version) = version.filter(|v| !v.is_empty() && !v.contains('*')) else {
                // A path or file entry (editable or not) is the project's own code.
                if entry.git.is_none()
                    && let Some(path) = entry.path.as_ref().or(entry.file.as_ref())
                {
                    let kind = if path.trim_end_matches('/') == "." {
                        LocalKind::WorkspaceMember
                    } else {
                        LocalKind::LocalPath
                    };
                    notes.push(Note::local(line, format!("{name} ({path})"), kind));
                    continue;
                }
                let what = match (&entry.git, &entry.path, &entry.file) {
                    (Some(git), _, _) => format!(
                        "git `{git}`{}",
                        entry
                            .reference
                            .as_ref()
                            .map(|r| format!(" at `{r}`"))
                            .unwrap_or_default()
                    ),
                    (_, Some(path), _) => format!("path `{path}`"),
                    (_, _, Some(file)) => format!("file `{file}`"),
                    _ => format!("version `{}`", entry.version.as_deref().unwrap_or("none")),
                };
                notes.push(Note {
                    line,
                    message: format!(
                        "`{name}` in `{section}` is not pinned with `==` ({what}): not audited"
                    ),
                    ..Note::default()
                });
                continue;
            };
            if let Some(&existing) = index_of.get(&(name.clone(), version.to_string())) {
                // In both sections: needed at run time, so not dev-only.
                packages[existing].dev &= dev;
                continue;
            }
            index_of.insert((name.clone(), version.to_string()), packages.len());
            let mut pkg = Package::new(Ecosystem::PyPI, &name, version);
            pkg.source = Source::Registry;
            pkg.dev = dev;
            pkg.line = line.map(|l| l as u32);
            for hash in &entry.hashes {
                let checksum = parse_hash(hash).ok_or_else(|| {
                    ParseError::new(
                        line.unwrap_or(1),
                        1,
                        format!("package `{name}` has hash `{hash}`: expected `sha256:<hex>`"),
                    )
                })?;
                push_unique(&mut pkg.checksums, checksum);
            }
            packages.push(pkg);
        }
    }
    Ok(Parsed { packages, notes })
}

/// The line of each `"name": {` at or after a section's key, found in one pass (a search
/// per entry was quadratic). Keys are kept as written (JSON escapes undecoded).
struct EntryLines<'a> {
    first: HashMap<&'a str, usize>,
}

impl<'a> EntryLines<'a> {
    fn new(text: &'a str, section_start: usize) -> Self {
        let mut first = HashMap::new();
        let start_line = text[..section_start].matches('\n').count() + 1;
        let line_start = text[..section_start].rfind('\n').map_or(0, |i| i + 1);
        for (i, line) in text[line_start..].lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix('"') else {
                continue;
            };
            let Some(end) = rest.find('"') else { continue };
            let after = rest[end + 1..].trim_start();
            if let Some(value) = after.strip_prefix(':')
                && value.trim_start().starts_with('{')
            {
                first.entry(&rest[..end]).or_insert(start_line + i);
            }
        }
        EntryLines { first }
    }

    fn get(&self, name: &str) -> Option<usize> {
        let key = serde_json::to_string(name).ok()?;
        self.first.get(&key[1..key.len() - 1]).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
    "_meta": {
        "hash": {"sha256": "x"},
        "pipfile-spec": 6,
        "requires": {"python_version": "3.11"},
        "sources": []
    },
    "default": {
        "Jinja2": {
            "hashes": [
                "sha256:f0a4641d3cf955324a89c04f3d94663aa4d638abe8f733ecd3582848e1c37035"
            ],
            "index": "pypi",
            "version": "==2.11.2"
        },
        "mylib": {
            "git": "https://example.invalid/mylib.git",
            "ref": "abc"
        },
        "shared": {
            "version": "==1.0"
        }
    },
    "develop": {
        "py": {
            "hashes": [],
            "version": "==1.9.0"
        },
        "shared": {
            "version": "==1.0"
        }
    }
}
"#;

    #[test]
    fn sections_hashes_notes_and_lines() {
        let parsed = parse(LOCK).unwrap();
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.dev, p.line))
            .collect();
        assert_eq!(
            got,
            [
                ("jinja2", "2.11.2", false, Some(9)),
                ("shared", "1.0", false, Some(20)),
                ("py", "1.9.0", true, Some(25)),
            ]
        );
        assert_eq!(parsed.packages[0].checksums.len(), 1);
        assert_eq!(parsed.notes.len(), 1);
        assert_eq!(parsed.notes[0].line, Some(16));
        assert!(parsed.notes[0].message.contains("git"));
    }

    #[test]
    fn malformed_json_is_located() {
        let err = parse("{\n  \"default\": {\n    \"a\": {\"version\": 1}\n  }\n}").unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        let err = parse("{\n  \"default\": [\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
    }
}

//! `pylock.toml` and `pylock.<name>.toml` (PEP 751, `lock-version = "1.0"`), as `uv export
//! --format pylock.toml` and `pip lock` write them.
//!
//! Each `[[packages]]` entry is a package; `index`, `sdist` and `wheels` sources are
//! registry packages (their hashes become checksums), `vcs` ones git, `directory` ones
//! the project's own code (counted as local; `uv export` writes the workspace members and
//! editable path dependencies this way), an `archive` a path or URL. An entry without a
//! version that is not local cannot be audited and is noted. The format records no edges
//! by default and no dev flag vouch could read without evaluating markers: nothing is
//! marked dev. PEP 751 says a reader must refuse a major version it does not know; an
//! unknown minor version is read with a warning.

use serde::Deserialize;
use toml::Spanned;

use super::poetry::array_table_line;
use super::{parse_hash, push_unique, toml_error};
use crate::lockfile::{LineIndex, Note, ParseError, Parsed};
use crate::package::{Ecosystem, LocalKind, Package, Source, normalize_pypi_name};

/// `pylock.toml` or `pylock.<name>.toml` (one name segment, no dots, per PEP 751).
pub(crate) fn is_pylock_name(name: &str) -> bool {
    name == "pylock.toml"
        || name
            .strip_prefix("pylock.")
            .and_then(|rest| rest.strip_suffix(".toml"))
            .is_some_and(|middle| !middle.is_empty() && !middle.contains('.'))
}

#[derive(Deserialize)]
struct Lock {
    #[serde(rename = "lock-version")]
    lock_version: Spanned<String>,
    #[serde(default)]
    packages: Vec<Spanned<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    version: Option<String>,
    index: Option<String>,
    vcs: Option<Vcs>,
    directory: Option<Directory>,
    archive: Option<Archive>,
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
}

#[derive(Deserialize)]
struct Vcs {
    url: Option<String>,
    path: Option<String>,
    #[serde(rename = "commit-id")]
    commit_id: Option<String>,
}

#[derive(Deserialize)]
struct Directory {
    path: String,
}

#[derive(Deserialize)]
struct Archive {
    url: Option<String>,
    path: Option<String>,
    #[serde(default)]
    hashes: toml::Table,
}

#[derive(Deserialize)]
struct Artifact {
    #[serde(default)]
    hashes: toml::Table,
}

pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let lock: Lock = toml::from_str(text).map_err(|e| toml_error(text, &e, "pylock.toml"))?;
    let lines = LineIndex::new(text);
    let mut notes = Vec::new();
    let version = lock.lock_version.get_ref().trim();
    let version_line = lines.line(lock.lock_version.span().start);
    match version.split_once('.').unwrap_or((version, "")) {
        ("1", "0") => {}
        ("1", minor) if minor.bytes().all(|b| b.is_ascii_digit()) && !minor.is_empty() => {
            notes.push(Note::not_audited(
                Some(version_line),
                format!("pylock.toml lock-version {version} is newer than the 1.0 vouch knows: read as 1.0, newer fields ignored"),
            ));
        }
        _ => {
            return Err(ParseError::new(
                version_line,
                1,
                format!(
                    "pylock.toml lock-version `{version}` is not one vouch reads (expected 1.0)"
                ),
            ));
        }
    }

    let mut packages = Vec::new();
    for spanned in &lock.packages {
        let entry = spanned.get_ref();
        let line = array_table_line(text, &lines, spanned.span().start, "[[packages]]");
        let name = normalize_pypi_name(&entry.name);
        let local = entry
            .directory
            .as_ref()
            .map(|d| d.path.clone())
            .or_else(|| entry.archive.as_ref().and_then(|a| a.path.clone()))
            .or_else(|| {
                entry
                    .vcs
                    .as_ref()
                    .filter(|v| v.url.is_none())
                    .and_then(|v| v.path.clone())
            });
        let Some(version) = &entry.version else {
            match local {
                Some(path) => notes.push(Note::local(
                    Some(line),
                    format!("{name} ({path})"),
                    local_kind(&path),
                )),
                None => notes.push(Note::not_audited(
                    Some(line),
                    format!(
                        "`{name}` has no version in the lockfile (a VCS or URL source): not audited"
                    ),
                )),
            }
            continue;
        };
        let mut pkg = Package::new(Ecosystem::PyPI, &name, version);
        pkg.line = Some(line as u32);
        if let Some(path) = local {
            let kind = local_kind(&path);
            pkg.set_local(path, kind);
        } else if let Some(vcs) = &entry.vcs {
            let url = vcs.url.clone().unwrap_or_default();
            pkg.source = Source::Git(match &vcs.commit_id {
                Some(commit) => format!("{url}#{commit}"),
                None => url,
            });
        } else if let Some(url) = entry.archive.as_ref().and_then(|a| a.url.clone()) {
            pkg.source = Source::AlternateRegistry(url);
        } else {
            pkg.source = Source::Registry;
        }
        let hashes = entry
            .sdist
            .iter()
            .chain(&entry.wheels)
            .map(|a| &a.hashes)
            .chain(entry.archive.as_ref().map(|a| &a.hashes));
        for table in hashes {
            for (algorithm, hex) in table {
                let Some(hex) = hex.as_str() else {
                    return Err(ParseError::new(
                        line,
                        1,
                        format!("package `{name}`: hash `{algorithm}` is not a string"),
                    ));
                };
                // Algorithms vouch does not record (e.g. blake2b) are skipped; a known one
                // that is malformed is an error.
                if let Some(checksum) = parse_hash(&format!("{algorithm}:{hex}")) {
                    push_unique(&mut pkg.checksums, checksum);
                } else if matches!(algorithm.as_str(), "sha256" | "sha384" | "sha512") {
                    return Err(ParseError::new(
                        line,
                        1,
                        format!(
                            "package `{name}` has {algorithm} hash `{hex}`: expected hex digits"
                        ),
                    ));
                }
            }
        }
        let _ = &entry.index;
        packages.push(pkg);
    }
    Ok(Parsed { packages, notes })
}

/// `.` is the project itself; anything else a path dependency.
fn local_kind(path: &str) -> LocalKind {
    if path.trim_end_matches('/') == "." {
        LocalKind::WorkspaceMember
    } else {
        LocalKind::LocalPath
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_pep_751() {
        assert!(is_pylock_name("pylock.toml") && is_pylock_name("pylock.dev.toml"));
        assert!(!is_pylock_name("pylock..toml") && !is_pylock_name("pylock.a.b.toml"));
        assert!(!is_pylock_name("pylock.tom") && !is_pylock_name("mylock.toml"));
    }

    #[test]
    fn pip_lock_output_reads_as_pip_locked_it() {
        let text = include_str!("../../../fixtures/python/pip-lock/pylock.toml");
        let parsed = parse(text).unwrap();
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
        let mut got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("certifi", "2022.9.24"),
                ("chardet", "3.0.4"),
                ("idna", "2.10"),
                ("jinja2", "2.11.2"),
                ("markupsafe", "2.0.1"),
                ("requests", "2.25.0"),
                ("urllib3", "1.26.4"),
            ]
        );
        let lines: Vec<&str> = text.lines().collect();
        for p in &parsed.packages {
            assert_eq!(p.source, Source::Registry);
            assert!(!p.checksums.is_empty(), "{}", p.name);
            assert_eq!(lines[p.line.unwrap() as usize - 1], "[[packages]]");
        }
    }

    #[test]
    fn uv_export_directories_are_the_projects_own() {
        let text = include_str!("../../../fixtures/python/uv-workspace/pylock.toml");
        let parsed = parse(text).unwrap();
        let names: Vec<_> = parsed.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["idna", "jinja2", "markupsafe", "py"]);
        let local: Vec<_> = parsed
            .notes
            .iter()
            .map(|n| (n.message.as_str(), n.local))
            .collect();
        assert_eq!(
            local,
            [
                ("sqlparse (vendor/sqlparse)", Some(LocalKind::LocalPath)),
                (
                    "vouch-member (packages/vouch-member)",
                    Some(LocalKind::LocalPath)
                ),
            ]
        );
    }

    #[test]
    fn an_unknown_lock_version_is_an_error_naming_it() {
        let err = parse("lock-version = \"2.0\"\ncreated-by = \"x\"\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("`2.0`"), "{err:?}");
        let parsed = parse("lock-version = \"1.1\"\n").unwrap();
        assert_eq!(
            parsed.notes.len(),
            1,
            "a newer minor version is read, with a warning"
        );
        let err = parse("created-by = \"x\"\n").unwrap_err();
        assert!(err.message.contains("lock-version"), "{err:?}");
    }

    #[test]
    fn sources_hashes_and_unversioned_entries() {
        let text = r#"lock-version = "1.0"
[[packages]]
name = "Git_Pkg"
version = "1.0"
vcs = { type = "git", url = "https://example.invalid/g.git", commit-id = "abc" }

[[packages]]
name = "nover"
vcs = { type = "git", url = "https://example.invalid/n.git", commit-id = "abc" }

[[packages]]
name = "arch"
version = "2.0"
archive = { url = "https://example.invalid/a.tar.gz", hashes = { sha256 = "9ca6883ce56b4e8da7e79ac18787889fa5206c79dcc67fb065376cd2fe03f342", blake2b = "00" } }

[[packages]]
name = "me"
version = "0.1"
directory = { path = "." }
"#;
        let parsed = parse(text).unwrap();
        let p = &parsed.packages;
        assert_eq!(p.len(), 3);
        assert_eq!(
            (p[0].name.as_str(), &p[0].source),
            (
                "git-pkg",
                &Source::Git("https://example.invalid/g.git#abc".into())
            )
        );
        assert_eq!(p[1].checksums.len(), 1, "blake2b is not recorded");
        assert_eq!(p[2].local_kind(), Some(LocalKind::WorkspaceMember));
        assert_eq!(parsed.notes.len(), 1);
        assert!(
            parsed.notes[0].local.is_none(),
            "a VCS entry without a version: not audited"
        );
        let err = parse("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\nsdist = { hashes = { sha256 = \"zz\" } }\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
    }
}

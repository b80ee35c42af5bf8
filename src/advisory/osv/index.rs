//! The name index of an OSV export: normalised package name → the entries that name it
//! (and for a zip, where each entry's bytes sit), built by reading every entry once and
//! cached between runs with a stamp of the export it was built from and a checksum of
//! itself. A stale index is rebuilt; a damaged one is an error, never "no advisories".

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::export::{ZipSpan, each_entry};
use super::record::{OsvPackage, check_names_a_package};
use super::{Error, OsvDb, invalid, normalize, sha2_hex};
use crate::package::Ecosystem;

/// Only the part of a record the index needs.
#[derive(Deserialize)]
struct IndexProbe {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    affected: Vec<IndexProbeAffected>,
}

#[derive(Deserialize)]
struct IndexProbeAffected {
    package: Option<OsvPackage>,
}

/// One advisory file: its name, and for a zip where its compressed bytes sit, so a warm
/// run reads just the entries it needs instead of parsing the whole central directory
/// (which was a third of a 3,300-package monorepo audit).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct EntryRef {
    pub(super) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) zip: Option<ZipSpan>,
}

impl OsvDb {
    /// The zip's index: from the cache when it was built for this exact file (size and
    /// modification time), else built by reading every entry once, then cached.
    pub(super) fn zip_index(
        &self,
        ecosystem: Ecosystem,
        zip: &Path,
    ) -> Result<HashMap<String, Vec<EntryRef>>, Error> {
        let meta = fs::metadata(zip).map_err(|source| Error::Io {
            path: zip.to_path_buf(),
            source,
        })?;
        let stamp = format!(
            "{INDEX_FORMAT}-{}-{}",
            meta.len(),
            meta.modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos())
        );
        let cached = self
            .index_cache
            .as_ref()
            .map(|dir| index_file(dir, ecosystem, zip));
        if let Some(path) = &cached
            && let Some(names) = load_index(path, &stamp)?
        {
            return Ok(names);
        }
        let mut names: HashMap<String, Vec<EntryRef>> = HashMap::new();
        each_entry(zip, |entry, span, bytes| {
            for package in probe(bytes, Path::new(entry))? {
                if package.ecosystem == ecosystem.osv_name() {
                    names
                        .entry(normalize(ecosystem, &package.name))
                        .or_default()
                        .push(EntryRef {
                            name: entry.to_string(),
                            zip: Some(span),
                        });
                }
            }
            Ok(())
        })?;
        if let Some(path) = &cached {
            // Best effort: a read-only cache only costs speed, never correctness.
            let _ = store_index(path, &stamp, &names);
        }
        Ok(names)
    }
}

/// Bumped whenever the cached index's shape changes, so an old cache is rebuilt.
const INDEX_FORMAT: &str = "v3";

/// The first line of a cached index file; the name index itself (JSON) follows it.
/// `digest` is the SHA-256 of those following bytes, so an index that was cut short,
/// garbled or emptied is detected: read as is, it would say "no advisories".
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexHeader {
    stamp: String,
    digest: String,
}

/// Where the index of the export `zip` of `ecosystem` is kept inside `dir`.
pub fn index_file(dir: &Path, ecosystem: Ecosystem, zip: &Path) -> PathBuf {
    let canonical = fs::canonicalize(zip).unwrap_or_else(|_| zip.to_path_buf());
    let key = sha2_hex(canonical.to_string_lossy().as_bytes());
    dir.join(format!("{}-{}.json", ecosystem.purl_type(), &key[..16]))
}

pub(super) type NameIndex = HashMap<String, Vec<EntryRef>>;

/// The cached index at `path` when it was built for the zip version `stamp`; `None` when
/// there is none or it is for another version (or an older format: rebuilt). A damaged
/// index is an error naming the file.
pub(super) fn load_index(path: &Path, stamp: &str) -> Result<Option<NameIndex>, Error> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let corrupt = |message: String| Error::CorruptIndex {
        path: path.to_path_buf(),
        message,
    };
    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
        // Earlier formats were one JSON object with a `stamp`: stale, not damaged.
        return match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) if v.get("stamp").is_some_and(|s| s.is_string()) => Ok(None),
            _ => Err(corrupt("not an index file".into())),
        };
    };
    let (head, body) = (&bytes[..newline], &bytes[newline + 1..]);
    let header: IndexHeader =
        serde_json::from_slice(head).map_err(|e| corrupt(format!("bad header: {e}")))?;
    if header.stamp != stamp {
        return Ok(None);
    }
    if header.digest != sha2_hex(body) {
        return Err(corrupt("its content does not match its checksum".into()));
    }
    let names = serde_json::from_slice(body).map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(names))
}

/// Writes an index through a temporary file and a rename (readers see all or nothing).
pub(super) fn store_index(path: &Path, stamp: &str, names: &NameIndex) -> io::Result<()> {
    let body = serde_json::to_vec(names).map_err(io::Error::other)?;
    let header = IndexHeader {
        stamp: stamp.to_string(),
        digest: sha2_hex(&body),
    };
    let mut bytes = serde_json::to_vec(&header).map_err(io::Error::other)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

pub(super) fn probe(bytes: &[u8], path: &Path) -> Result<Vec<OsvPackage>, Error> {
    let probe: IndexProbe = serde_json::from_slice(bytes).map_err(|e| {
        invalid(
            path,
            format!("line {}, column {}: {e}", e.line(), e.column()),
        )
    })?;
    if probe.id.trim().is_empty() {
        return Err(invalid(path, "an advisory without an id"));
    }
    let packages: Vec<OsvPackage> = probe
        .affected
        .into_iter()
        .filter_map(|a| a.package)
        .collect();
    check_names_a_package(&probe.id, &probe.aliases, packages.len())
        .map_err(|message| invalid(path, message))?;
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::osv::record::OsvRecord;

    #[test]
    fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
        // serde_json's default recursion limit (128) stops it, in the full record and in
        // the index probe; nothing in the tree enables `unbounded_depth`.
        let depth = 100_000;
        let nested = |field: &str| {
            format!(
                r#"{{"id":"X-1","{field}":{}{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let record = nested("database_specific");
        let parsed = serde_json::from_str::<OsvRecord>(&record);
        assert!(
            parsed
                .err()
                .is_some_and(|e| e.to_string().contains("recursion limit"))
        );
        assert!(probe(nested("affected").as_bytes(), Path::new("X-1.json")).is_err());
    }

    #[test]
    fn a_cached_index_is_reused_rebuilt_when_stale_and_refused_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("npm-0.json");
        let mut names = NameIndex::new();
        names.insert(
            "left-pad".into(),
            vec![EntryRef {
                name: "X-1.json".into(),
                zip: None,
            }],
        );
        assert!(load_index(&path, "s1").unwrap().is_none(), "none yet");
        store_index(&path, "s1", &names).unwrap();
        assert_eq!(load_index(&path, "s1").unwrap().map(|n| n.len()), Some(1));
        assert!(
            load_index(&path, "s2").unwrap().is_none(),
            "another zip: rebuilt"
        );

        let good = fs::read(&path).unwrap();
        let newline = good.iter().position(|&b| b == b'\n').unwrap();
        let mut emptied = good[..=newline].to_vec();
        emptied.extend_from_slice(b"{}");
        for damaged in [
            emptied,
            good[..good.len() - 3].to_vec(),
            b"garbage".to_vec(),
            b"{\"stamp\":1}\n{}".to_vec(),
        ] {
            fs::write(&path, &damaged).unwrap();
            let err = load_index(&path, "s1").expect_err("damaged");
            assert!(matches!(err, Error::CorruptIndex { .. }), "{err}");
            assert!(err.to_string().contains("vouch db update"), "{err}");
        }
        // The previous format (one JSON object) is stale, not damaged.
        fs::write(&path, br#"{"stamp":"v2-1-2","names":{}}"#).unwrap();
        assert!(load_index(&path, "s1").unwrap().is_none());
    }
}

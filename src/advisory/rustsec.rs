//! The RustSec advisory database in its native layout (`crates/<name>/RUSTSEC-*.md`).
//!
//! Advisories are parsed with the `rustsec` crate, so the format and the version matching
//! are exactly cargo-audit's. Parsing is most of what an audit would spend here, so it is
//! done once per database version: an index of crate name → advisory files, holding every
//! field matching and the reports use, is built at `vouch db update` or on first use and
//! kept in the cache directory (never in the database, which may be read-only). An audit
//! then lists no directory per package: it reads the index, and for each crate it has that
//! the index names, that crate's directory and files, checked against the index's
//! listing, lengths and CRC-32s before the indexed fields are trusted.
//!
//! It must never answer from an index that does not describe the files as they are: a
//! database updated the usual way (files replaced or added, crates added: the directories
//! change) is indexed again; one whose files changed in place under an unchanged listing
//! is an error, as for an OSV export that changed under its index.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Advisory, Affected, Informational, Kind, Severity};
use crate::package::Ecosystem;

/// Why the RustSec database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0}: not a RustSec advisory database (no `crates/` directory); run `vouch db update` or pass --db"
    )]
    NotADatabase(PathBuf),
    #[error(
        "{0}: the RustSec advisory database holds no advisories (`crates/` is empty); run `vouch db update` or pass --db with a complete copy"
    )]
    Empty(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: invalid advisory: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path}: changed since the database was indexed ({index}), though its directory did not; run `vouch db update` or delete the index"
    )]
    Changed { path: PathBuf, index: PathBuf },
    #[error(transparent)]
    Index(#[from] super::index_file::Error),
}

/// An opened RustSec database directory.
#[derive(Debug, Clone)]
pub struct RustSecDb {
    root: PathBuf,
    /// Where the index is kept between runs, when there is a cache directory.
    index_file: Option<PathBuf>,
    index: Arc<Mutex<Option<Arc<Index>>>>,
}

/// Bumped whenever the index's shape changes, so an old one is rebuilt.
const INDEX_FORMAT: &str = "rustsec-v3";

/// A directory changed less than this long before the index was built may still change
/// within the same timestamp tick: its listing is compared on every load instead.
const RACY: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    /// `crates/` changed within [`RACY`] of the build: compare its listing when loading.
    racy: bool,
    /// Advisory files in all.
    files: usize,
    /// Crate name → where its [`CrateEntry`] (JSON) sits in `entries`, sorted by name, so
    /// a run reads only the entries of the crates it has.
    crates: Vec<(String, usize, usize)>,
    /// The entries, one after another, from `entries_start` on (the index file's blob).
    #[serde(skip)]
    entries: Vec<u8>,
    #[serde(skip)]
    entries_start: usize,
}

impl Index {
    fn entries(&self) -> &[u8] {
        self.entries.get(self.entries_start..).unwrap_or_default()
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrateEntry {
    /// The directory's modification time (ns since the epoch) at the build.
    mtime: u64,
    /// Its advisory files, sorted by name.
    files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    name: String,
    len: u64,
    crc32: u32,
    /// `None`: withdrawn, or for another registry's crate (never matched).
    advisory: Option<Indexed>,
}

/// What an [`Advisory`] from RustSec holds, as the index stores it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Indexed {
    id: String,
    aliases: Vec<String>,
    kind: IndexedKind,
    #[serde(with = "severity")]
    severity: Option<Severity>,
    cvss_score: Option<f64>,
    cvss_vector: Option<String>,
    title: String,
    url: Option<String>,
    versions: ::rustsec::advisory::Versions,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
enum IndexedKind {
    Vulnerability,
    Unmaintained,
    Unsound,
    Notice,
    Other(String),
}

impl RustSecDb {
    /// Opens `root`, checking that it has the RustSec layout. `index_dir` is where its
    /// index may be kept between runs (the cache's); without one it is built per run.
    pub fn open(root: &Path, index_dir: Option<&Path>) -> Result<Self, Error> {
        // Whether it holds any advisory is known once it is indexed (an empty database is
        // never indexed): listing crates/ here would cost as much as the index saves.
        if !root.join("crates").is_dir() {
            return Err(Error::NotADatabase(root.to_path_buf()));
        }
        Ok(RustSecDb {
            root: root.to_path_buf(),
            index_file: index_dir.map(|dir| index_file(dir, root)),
            index: Arc::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Loads or builds the index now, instead of at first use.
    pub fn prepare(&self) -> Result<(), Error> {
        self.index().map(|_| ())
    }

    /// The advisories filed against crate `name`, withdrawn ones excluded.
    pub fn advisories_for(&self, name: &str) -> Result<Vec<Advisory>, Error> {
        let index = self.index()?;
        let Some(entry) = self.entry(&index, name)? else {
            return Ok(Vec::new());
        };
        match self.check(name, &entry)? {
            Some(advisories) => Ok(advisories),
            // The database was updated since the index was built: build it again.
            None => {
                let index = self.rebuild()?;
                let Some(entry) = self.entry(&index, name)? else {
                    return Ok(Vec::new());
                };
                self.check(name, &entry)?.ok_or_else(|| Error::Changed {
                    path: self.root.join("crates").join(name),
                    index: self.index_path(),
                })
            }
        }
    }

    /// Parses every advisory in the database (and indexes it): for `db update` and `db
    /// status`, so a database that cargo-audit would reject is rejected here too.
    pub fn load_all(&self) -> Result<usize, Error> {
        Ok(self.rebuild()?.files)
    }

    /// The index's entry for crate `name`, when it has one.
    fn entry(&self, index: &Index, name: &str) -> Result<Option<CrateEntry>, Error> {
        let Ok(at) = index
            .crates
            .binary_search_by(|(n, _, _)| n.as_str().cmp(name))
        else {
            return Ok(None);
        };
        let (_, start, len) = index.crates[at];
        let raw = start
            .checked_add(len)
            .and_then(|end| index.entries().get(start..end))
            .unwrap_or_default();
        serde_json::from_slice(raw).map(Some).map_err(|e| {
            Error::Index(super::index_file::Error::Damaged {
                path: self.index_path(),
                problem: format!("the entry of `{name}`: {e}"),
            })
        })
    }

    fn index_path(&self) -> PathBuf {
        self.index_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("(in memory)"))
    }

    fn index(&self) -> Result<Arc<Index>, Error> {
        let mut slot = self.index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(index) = &*slot {
            return Ok(Arc::clone(index));
        }
        let (stamp, mtime) = self.stamp()?;
        if let Some(path) = &self.index_file
            && let Some((mut index, bytes, blob)) = super::index_file::load::<Index>(path, &stamp)?
            && index.crates.is_sorted_by(|a, b| a.0 < b.0)
        {
            (index.entries, index.entries_start) = (bytes, blob);
            let current = !index.racy
                || self
                    .listing(&self.root.join("crates"))?
                    .iter()
                    .eq(sorted_keys(&index));
            if current {
                if index.racy && !racy(mtime) {
                    // Old enough now: the stamp alone will tell from here on.
                    index.racy = false;
                    let _ = super::index_file::store(path, &stamp, &index, index.entries());
                }
                let index = Arc::new(index);
                *slot = Some(Arc::clone(&index));
                return Ok(index);
            }
        }
        drop(slot);
        self.rebuild()
    }

    /// Builds the index from every file, keeps it, and stores it when there is a cache.
    fn rebuild(&self) -> Result<Arc<Index>, Error> {
        let (stamp, mtime) = self.stamp()?;
        let crates_dir = self.root.join("crates");
        let mut crates = Vec::new();
        let mut entries = Vec::new();
        let mut total = 0;
        for name in self.listing(&crates_dir)? {
            let dir = crates_dir.join(&name);
            let mut files = Vec::new();
            for file in self.listing(&dir)? {
                let path = dir.join(&file);
                let bytes = fs::read(&path).map_err(io_error(&path))?;
                let text = String::from_utf8(bytes).map_err(|e| Error::Invalid {
                    path: path.clone(),
                    message: format!("not UTF-8: {e}"),
                })?;
                files.push(FileEntry {
                    len: text.len() as u64,
                    crc32: crc32fast::hash(text.as_bytes()),
                    advisory: parse_indexed(&path, &name, &text)?,
                    name: file,
                });
            }
            let mtime = modified_nanos(&fs::metadata(&dir).map_err(io_error(&dir))?);
            total += files.len();
            let start = entries.len();
            serde_json::to_writer(&mut entries, &CrateEntry { mtime, files }).map_err(|e| {
                Error::Invalid {
                    path: dir.clone(),
                    message: e.to_string(),
                }
            })?;
            crates.push((name, start, entries.len() - start));
        }
        if total == 0 {
            return Err(Error::Empty(self.root.clone()));
        }
        let index = Arc::new(Index {
            racy: racy(mtime),
            files: total,
            crates,
            entries,
            entries_start: 0,
        });
        if let Some(path) = &self.index_file {
            // Best effort: an unwritable cache only costs speed, never correctness.
            let _ = super::index_file::store(path, &stamp, &*index, index.entries());
        }
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&index));
        Ok(index)
    }

    /// What the index is built for: `crates/` itself (replaced by `vouch db update`,
    /// changed when a crate is added or removed). Also its modification time.
    fn stamp(&self) -> Result<(String, u64), Error> {
        let crates = self.root.join("crates");
        let meta = fs::metadata(&crates).map_err(io_error(&crates))?;
        let mtime = modified_nanos(&meta);
        #[cfg(unix)]
        let id = {
            use std::os::unix::fs::MetadataExt;
            format!("{}-{}", meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let id = "0-0";
        Ok((format!("{INDEX_FORMAT}-{id}-{mtime}"), mtime))
    }

    /// Sorted names in `dir`: crate directories under `crates/`, advisory files in a
    /// crate's directory.
    fn listing(&self, dir: &Path) -> Result<Vec<String>, Error> {
        let top = dir == self.root.join("crates");
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_error(dir))? {
            let entry = entry.map_err(io_error(dir))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let wanted = if top {
                entry.file_type().map_err(io_error(&entry.path()))?.is_dir()
            } else {
                is_advisory_file(&name)
            };
            if wanted {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// The advisories of crate `name` from its index entry, when its directory still
    /// holds exactly the indexed files; `None` when the directory changed (the database
    /// was updated). A file that changed under an unchanged directory is an error.
    fn check(&self, name: &str, entry: &CrateEntry) -> Result<Option<Vec<Advisory>>, Error> {
        let dir = self.root.join("crates").join(name);
        let listing = match self.listing(&dir) {
            Ok(listing) => listing,
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if !listing.iter().eq(entry.files.iter().map(|f| &f.name)) {
            return Ok(None);
        }
        let dir_changed = || {
            fs::metadata(&dir)
                .map(|m| modified_nanos(&m) != entry.mtime)
                .unwrap_or(true)
        };
        let mut advisories = Vec::new();
        for file in &entry.files {
            let path = dir.join(&file.name);
            let intact = match fs::read(&path) {
                Ok(bytes) => {
                    bytes.len() as u64 == file.len && crc32fast::hash(&bytes) == file.crc32
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(source) => return Err(Error::Io { path, source }),
            };
            if !intact {
                if dir_changed() {
                    return Ok(None);
                }
                return Err(Error::Changed {
                    path,
                    index: self.index_path(),
                });
            }
            if let Some(indexed) = &file.advisory {
                advisories.push(indexed.to_advisory(name));
            }
        }
        Ok(Some(advisories))
    }

    /// Does the database hold an advisory with this id or alias (case-insensitive)? For
    /// `vouch waivers add`, which warns about an id no database knows. Answered from the
    /// index (withdrawn advisories are not in it, as they are not matched).
    pub fn knows(&self, id: &str) -> Result<bool, Error> {
        let index = self.index()?;
        for (name, _, _) in &index.crates {
            let Some(entry) = self.entry(&index, name)? else {
                continue;
            };
            let known = entry
                .files
                .iter()
                .filter_map(|f| f.advisory.as_ref())
                .any(|a| {
                    a.id.eq_ignore_ascii_case(id)
                        || a.aliases.iter().any(|x| x.eq_ignore_ascii_case(id))
                });
            if known {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn sorted_keys(index: &Index) -> impl Iterator<Item = &String> {
    index.crates.iter().map(|(name, _, _)| name)
}

/// Was a directory modified at `mtime` (ns) too recently to trust its timestamp alone?
fn racy(mtime: u64) -> bool {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(true, |now| {
            now.as_nanos() < u128::from(mtime) + RACY.as_nanos()
        })
}

/// Where the index of the database at `root` is kept inside `dir`.
pub fn index_file(dir: &Path, root: &Path) -> PathBuf {
    use sha2::Digest;
    let canonical = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let key = crate::package::hex(&sha2::Sha256::digest(
        canonical.to_string_lossy().as_bytes(),
    ));
    dir.join(format!("{}.json", &key[..16]))
}

fn modified_nanos(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn is_advisory_file(name: &str) -> bool {
    // Drafts (`RUSTSEC-0000-0000.md`) are included by rustsec; dotfiles are not.
    !name.starts_with('.') && name.ends_with(".md")
}

impl Indexed {
    fn to_advisory(&self, package: &str) -> Advisory {
        Advisory {
            id: self.id.clone(),
            aliases: self.aliases.clone(),
            ecosystem: Ecosystem::Cargo,
            package: package.to_string(),
            kind: match &self.kind {
                IndexedKind::Vulnerability => Kind::Vulnerability,
                IndexedKind::Unmaintained => Kind::Informational(Informational::Unmaintained),
                IndexedKind::Unsound => Kind::Informational(Informational::Unsound),
                IndexedKind::Notice => Kind::Informational(Informational::Notice),
                IndexedKind::Other(s) => Kind::Informational(Informational::Other(s.clone())),
            },
            severity: self.severity,
            cvss_score: self.cvss_score,
            cvss_vector: self.cvss_vector.clone(),
            title: self.title.clone(),
            url: self.url.clone(),
            fixed: self
                .versions
                .patched()
                .iter()
                .map(ToString::to_string)
                .collect(),
            affected: Affected::RustSec(self.versions.clone()),
            default_registry_only: true,
        }
    }
}

/// Parses one advisory's text (`path` names it in errors; `dir_name` is the crate
/// directory it was filed under). Also the fuzz targets' entry point.
#[doc(hidden)]
pub fn parse(path: &Path, dir_name: &str, text: &str) -> Result<Option<Advisory>, Error> {
    Ok(parse_indexed(path, dir_name, text)?.map(|a| a.to_advisory(dir_name)))
}

/// Parses one advisory into what the index keeps; `None` when it is withdrawn or for
/// another registry's crate. [`parse`] goes through this too, so an advisory read from
/// the index is the one read from its file.
fn parse_indexed(path: &Path, dir_name: &str, text: &str) -> Result<Option<Indexed>, Error> {
    let invalid = |message: String| Error::Invalid {
        path: path.to_path_buf(),
        message,
    };
    // rustsec 0.33 slices the first 20 bytes of an unexpected start for its message,
    // which panics inside a multi-byte character (found by fuzz/advisory_rustsec); check
    // the start here so its message is never built.
    if !text.starts_with("```toml") {
        return Err(invalid(
            "expected the advisory to start with a ```toml front-matter block".to_string(),
        ));
    }
    let raw: ::rustsec::Advisory = text
        .parse()
        .map_err(|e: ::rustsec::Error| invalid(e.to_string()))?;
    let meta = &raw.metadata;
    if meta.package.as_str() != dir_name {
        return Err(invalid(format!(
            "advisory is for `{}` but filed under `{dir_name}`",
            meta.package
        )));
    }
    // Withdrawn advisories are ignored. An advisory for an alternate registry's crate
    // never matches in cargo-audit (it only audits crates.io packages): skip it too.
    if meta.withdrawn.is_some()
        || meta
            .source
            .as_ref()
            .is_some_and(|s| !s.is_default_registry())
    {
        return Ok(None);
    }
    let kind = match &meta.informational {
        None => IndexedKind::Vulnerability,
        Some(i) if i.is_unmaintained() => IndexedKind::Unmaintained,
        Some(i) if i.is_unsound() => IndexedKind::Unsound,
        Some(i) if i.is_notice() => IndexedKind::Notice,
        Some(other) => IndexedKind::Other(other.as_str().to_string()),
    };
    let severity = raw.severity().map(|s| match s {
        ::rustsec::advisory::Severity::None => Severity::None,
        ::rustsec::advisory::Severity::Low => Severity::Low,
        ::rustsec::advisory::Severity::Medium => Severity::Medium,
        ::rustsec::advisory::Severity::High => Severity::High,
        ::rustsec::advisory::Severity::Critical => Severity::Critical,
    });
    Ok(Some(Indexed {
        id: meta.id.to_string(),
        aliases: meta.aliases.iter().map(ToString::to_string).collect(),
        kind,
        severity,
        cvss_score: meta.cvss.as_ref().map(|c| c.score()),
        cvss_vector: meta.cvss.as_ref().map(ToString::to_string),
        title: meta.title.clone(),
        url: meta
            .url
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| Some(format!("https://rustsec.org/advisories/{}.html", meta.id))),
        versions: raw.versions.clone(),
    }))
}

/// The index keeps a severity by its name.
mod severity {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::advisory::Severity;

    pub fn serialize<S: Serializer>(value: &Option<Severity>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(severity) => s.serialize_some(severity.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|name| name.parse().map_err(D::Error::custom))
            .transpose()
    }
}

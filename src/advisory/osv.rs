//! OSV advisories (<https://ossf.github.io/osv-schema/>) from per-ecosystem exports.
//!
//! The layout is the public export's: `<root>/<Ecosystem>/all.zip` holding one `<ID>.json`
//! per advisory, or `<root>/<Ecosystem>/*.json`. Nothing is extracted to disk: entries are
//! read in memory with a size cap. Opening an ecosystem builds (or loads from the cache) an
//! index of package name → entries, so an audit decompresses and parses only the
//! advisories of the packages it has: ~8,600 advisories are never all parsed per run.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::version::Version;
use super::{Advisory, Affected, Informational, Kind, Severity};
use crate::package::{Ecosystem, Package, normalize_pypi_name};

/// An advisory file larger than this is refused (the largest real one is ~200 KB).
const MAX_ENTRY_BYTES: u64 = 8 * 1024 * 1024;
/// A zip with more entries than this is refused (the largest export has ~40,000).
const MAX_ENTRIES: usize = 500_000;
/// The most all entries of one export may inflate to together (the largest is ~1 GiB).
const MAX_TOTAL_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// An export's entries are `<ID>.json` files at its top level: anything with a path in
/// its name (`../x.json`, `/x.json`, `a/b.json`, `C:\x.json`) is refused, not skipped,
/// because no real export has one. vouch never extracts entries, so this is belt and
/// braces for anything that later might.
fn check_entry_name(zip: &Path, name: &str) -> Result<(), Error> {
    let plain =
        !name.is_empty() && !name.contains(['/', '\\', ':', '\0']) && name != ".." && name != ".";
    if plain {
        Ok(())
    } else {
        Err(invalid(
            zip,
            format!(
                "entry name `{}` is a path, not a file name",
                name.escape_debug()
            ),
        ))
    }
}

/// Reads every entry of an OSV export zip under the limits (entry count, names, each
/// entry's and the total inflated size) and checks each is an OSV record with an `id`:
/// what `vouch db update` requires before a download replaces the cached copy. Returns
/// the number of advisories.
pub fn validate_export(zip: &Path) -> Result<usize, Error> {
    let mut count = 0;
    each_entry(zip, |name, _, bytes| {
        let record: IdProbe = serde_json::from_slice(bytes).map_err(|e| {
            invalid(
                zip,
                format!("{name}: line {}, column {}: {e}", e.line(), e.column()),
            )
        })?;
        if record.id.trim().is_empty() {
            return Err(invalid(zip, format!("{name}: an advisory without an id")));
        }
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

/// Reads every `.json` entry of an export once, under the limits (entry count, names,
/// each entry's and the total inflated size), giving `visit` its name, where its bytes
/// sit, and its inflated bytes.
fn each_entry(
    zip: &Path,
    mut visit: impl FnMut(&str, ZipSpan, &[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut archive = open_zip(zip)?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| invalid(zip, e))?;
        let name = file.name().map_err(|e| invalid(zip, e))?.to_string();
        check_entry_name(zip, &name)?;
        if !file.is_file() || !name.ends_with(".json") {
            continue;
        }
        let span = ZipSpan {
            start: file
                .data_start()
                .ok_or_else(|| invalid(zip, format!("{name}: no data offset")))?,
            compressed: file.compressed_size(),
            size: file.size(),
            crc32: file.crc32(),
            deflated: match file.compression() {
                zip::CompressionMethod::Stored => false,
                zip::CompressionMethod::Deflated => true,
                other => {
                    return Err(invalid(
                        zip,
                        format!("{name}: unsupported compression {other}"),
                    ));
                }
            },
        };
        let bytes = read_capped(&mut file, zip)?;
        total += bytes.len() as u64;
        if total > MAX_TOTAL_BYTES {
            return Err(invalid(
                zip,
                format!("entries inflate to more than {MAX_TOTAL_BYTES} bytes"),
            ));
        }
        visit(&name, span, &bytes)?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct IdProbe {
    id: String,
}

pub const ECOSYSTEMS: [Ecosystem; 4] = [
    Ecosystem::Cargo,
    Ecosystem::Npm,
    Ecosystem::PyPI,
    Ecosystem::Go,
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not a readable OSV export: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path}: the cached OSV index is damaged ({message}); run `vouch db update` (or delete the file)"
    )]
    CorruptIndex { path: PathBuf, message: String },
    #[error(
        "{path}: no OSV data for {ecosystem} (expected {ecosystem}/all.zip or {ecosystem}/*.json); run `vouch db update` or pass --osv"
    )]
    Missing { path: PathBuf, ecosystem: Ecosystem },
}

// ---- the OSV schema, as much as matching needs -------------------------------------

#[derive(Deserialize)]
struct OsvRecord {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    affected: Vec<OsvAffected>,
    #[serde(default)]
    references: Vec<OsvReference>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct OsvReference {
    #[serde(rename = "type", default)]
    kind: String,
    url: String,
}

#[derive(Deserialize)]
struct OsvAffected {
    package: Option<OsvPackage>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
}

#[derive(Deserialize)]
struct OsvPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

/// Only the part of a record the index needs.
#[derive(Deserialize)]
struct IndexProbe {
    id: String,
    #[serde(default)]
    affected: Vec<IndexProbeAffected>,
}

#[derive(Deserialize)]
struct IndexProbeAffected {
    package: Option<OsvPackage>,
}

// ---- ranges ------------------------------------------------------------------------

/// One OSV range event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// The versions of one package an OSV advisory affects.
#[derive(Clone, Debug)]
pub struct OsvAffectedVersions {
    pub ecosystem: Ecosystem,
    /// `SEMVER`/`ECOSYSTEM` ranges (GIT ranges name commits, not versions: skipped).
    pub ranges: Vec<Vec<Event>>,
    /// Explicitly listed versions.
    pub versions: Vec<String>,
}

impl OsvAffectedVersions {
    /// Is `version` affected? Exact listing first, then the ranges per the OSV spec:
    /// events sorted by version (stably: equal versions keep the order the data gives),
    /// `introduced` opens, `fixed` (at or above) and `last_affected` (strictly above)
    /// close, and `limit` caps the range.
    pub fn affects(&self, version: &str) -> bool {
        if self.versions.iter().any(|v| v == version) {
            return true;
        }
        let Some(v) = Version::parse(self.ecosystem, version) else {
            // Unordered, it can only be placed in a range that covers every version.
            return self.ranges.iter().any(|events| {
                !events.is_empty()
                    && events
                        .iter()
                        .all(|e| matches!(e, Event::Introduced(s) if s == "0"))
            });
        };
        self.ranges.iter().any(|events| self.in_range(&v, events))
    }

    fn in_range(&self, v: &Version, events: &[Event]) -> bool {
        let parse = |s: &str| Version::parse(self.ecosystem, s);
        let key = |e: &Event| match e {
            Event::Introduced(s) if s == "0" => None,
            Event::Introduced(s) | Event::Fixed(s) | Event::LastAffected(s) | Event::Limit(s) => {
                parse(s)
            }
        };
        let mut sorted: Vec<(Option<Version>, &Event)> =
            events.iter().map(|e| (key(e), e)).collect();
        // "0" (None) first; unparsable event versions make the range unusable.
        if sorted
            .iter()
            .any(|(k, e)| k.is_none() && !matches!(e, Event::Introduced(s) if s == "0"))
        {
            return false;
        }
        sorted.sort_by(|(a, _), (b, _)| match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => a.compare(b).unwrap_or(std::cmp::Ordering::Equal),
        });
        let cmp = |bound: &Option<Version>| bound.as_ref().and_then(|b| v.compare(b));
        let mut affected = false;
        for (bound, event) in &sorted {
            match event {
                Event::Introduced(_) => {
                    if bound.is_none() || cmp(bound).is_some_and(|o| o.is_ge()) {
                        affected = true;
                    }
                }
                Event::Fixed(_) => {
                    if cmp(bound).is_some_and(|o| o.is_ge()) {
                        affected = false;
                    }
                }
                Event::LastAffected(_) => {
                    if cmp(bound).is_some_and(|o| o.is_gt()) {
                        affected = false;
                    }
                }
                Event::Limit(_) => {}
            }
        }
        let under_limits = sorted
            .iter()
            .filter(|(_, e)| matches!(e, Event::Limit(_)))
            .all(|(bound, _)| cmp(bound).is_some_and(|o| o.is_lt()));
        affected && under_limits
    }
}

// ---- the database ------------------------------------------------------------------

/// Where one ecosystem's advisories are.
enum Store {
    Zip(PathBuf),
    Dir(PathBuf),
}

struct EcosystemData {
    store: Store,
    /// Normalised package name → entries.
    index: HashMap<String, Vec<EntryRef>>,
}

/// One advisory file: its name, and for a zip where its compressed bytes sit, so a warm
/// run reads just the entries it needs instead of parsing the whole central directory
/// (which was a third of a 3,300-package monorepo audit).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntryRef {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zip: Option<ZipSpan>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct ZipSpan {
    start: u64,
    compressed: u64,
    size: u64,
    crc32: u32,
    deflated: bool,
}

/// An OSV database directory with lazily opened ecosystems.
pub struct OsvDb {
    root: PathBuf,
    index_cache: Option<PathBuf>,
    ecosystems: [OnceLock<Result<EcosystemData, String>>; 4],
}

fn slot(ecosystem: Ecosystem) -> usize {
    match ecosystem {
        Ecosystem::Cargo => 0,
        Ecosystem::Npm => 1,
        Ecosystem::PyPI => 2,
        Ecosystem::Go => 3,
    }
}

/// How names are compared within an ecosystem.
fn normalize(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::PyPI => normalize_pypi_name(name),
        _ => name.to_string(),
    }
}

impl OsvDb {
    /// Opens `root`; `index_cache` is a directory where indexes may be kept between runs.
    pub fn open(root: &Path, index_cache: Option<&Path>) -> Result<OsvDb, Error> {
        if !root.is_dir() {
            return Err(Error::Io {
                path: root.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotFound, "no such directory"),
            });
        }
        Ok(OsvDb {
            root: root.to_path_buf(),
            index_cache: index_cache.map(Path::to_path_buf),
            ecosystems: Default::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Does the database hold data for `ecosystem`?
    pub fn has(&self, ecosystem: Ecosystem) -> bool {
        let dir = self.root.join(ecosystem.osv_name());
        dir.join("all.zip").is_file() || dir.is_dir()
    }

    /// Opens `ecosystem` now (building and caching its index), instead of at first use.
    pub fn prepare(&self, ecosystem: Ecosystem) -> Result<(), Error> {
        self.data(ecosystem).map(|_| ())
    }

    fn data(&self, ecosystem: Ecosystem) -> Result<&EcosystemData, Error> {
        let cell = &self.ecosystems[slot(ecosystem)];
        let result = cell.get_or_init(|| self.load(ecosystem).map_err(|e| e.to_string()));
        result.as_ref().map_err(|message| Error::Invalid {
            path: self.root.join(ecosystem.osv_name()),
            message: message.clone(),
        })
    }

    fn load(&self, ecosystem: Ecosystem) -> Result<EcosystemData, Error> {
        let dir = self.root.join(ecosystem.osv_name());
        let zip = dir.join("all.zip");
        if zip.is_file() {
            let index = self.zip_index(ecosystem, &zip)?;
            return Ok(EcosystemData {
                store: Store::Zip(zip),
                index,
            });
        }
        if dir.is_dir() {
            let mut index: HashMap<String, Vec<EntryRef>> = HashMap::new();
            let entries = fs::read_dir(&dir).map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
            // The same limits as a zip export's: entry count and total size.
            let (mut count, mut total) = (0usize, 0u64);
            for entry in entries {
                let entry = entry.map_err(|source| Error::Io {
                    path: dir.clone(),
                    source,
                })?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".json") {
                    continue;
                }
                count += 1;
                if count > MAX_ENTRIES {
                    return Err(invalid(
                        &dir,
                        format!("more than {MAX_ENTRIES} advisory files"),
                    ));
                }
                let bytes = read_capped(
                    &mut fs::File::open(entry.path()).map_err(|source| Error::Io {
                        path: entry.path(),
                        source,
                    })?,
                    &entry.path(),
                )?;
                total += bytes.len() as u64;
                if total > MAX_TOTAL_BYTES {
                    return Err(invalid(
                        &dir,
                        format!("advisory files larger than {MAX_TOTAL_BYTES} bytes together"),
                    ));
                }
                for package in probe(&bytes, &entry.path())? {
                    if package.ecosystem == ecosystem.osv_name() {
                        index
                            .entry(normalize(ecosystem, &package.name))
                            .or_default()
                            .push(EntryRef {
                                name: name.clone(),
                                zip: None,
                            });
                    }
                }
            }
            return Ok(EcosystemData {
                store: Store::Dir(dir),
                index,
            });
        }
        Err(Error::Missing {
            path: self.root.clone(),
            ecosystem,
        })
    }

    /// The zip's index: from the cache when it was built for this exact file (size and
    /// modification time), else built by reading every entry once, then cached.
    fn zip_index(
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

    /// The advisories affecting package `name` in `ecosystem` (withdrawn ones excluded),
    /// each restricted to its entries for that package.
    pub fn advisories_for(&self, ecosystem: Ecosystem, name: &str) -> Result<Vec<Advisory>, Error> {
        let data = self.data(ecosystem)?;
        let wanted = normalize(ecosystem, name);
        let Some(entries) = data.index.get(&wanted) else {
            return Ok(Vec::new());
        };
        let mut advisories = Vec::new();
        let mut zip_file = match &data.store {
            Store::Zip(path) => Some(fs::File::open(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?),
            Store::Dir(_) => None,
        };
        for entry in entries {
            let bytes = match (&mut zip_file, &data.store, entry.zip) {
                (Some(file), Store::Zip(path), Some(span)) => {
                    read_zip_entry(file, path, &entry.name, span)?
                }
                (None, Store::Dir(dir), _) => {
                    let path = dir.join(&entry.name);
                    read_capped(
                        &mut fs::File::open(&path).map_err(|source| Error::Io {
                            path: path.clone(),
                            source,
                        })?,
                        &path,
                    )?
                }
                (_, store, _) => {
                    let path = match store {
                        Store::Zip(p) | Store::Dir(p) => p,
                    };
                    return Err(invalid(
                        path,
                        format!("{}: index has no location", entry.name),
                    ));
                }
            };
            let record: OsvRecord = serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
                path: PathBuf::from(&entry.name),
                message: format!("line {}, column {}: {e}", e.line(), e.column()),
            })?;
            if let Some(advisory) = convert(&record, ecosystem, &wanted) {
                advisories.push(advisory);
            }
        }
        advisories.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(advisories)
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

type NameIndex = HashMap<String, Vec<EntryRef>>;

/// The cached index at `path` when it was built for the zip version `stamp`; `None` when
/// there is none or it is for another version (or an older format: rebuilt). A damaged
/// index is an error naming the file.
fn load_index(path: &Path, stamp: &str) -> Result<Option<NameIndex>, Error> {
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
fn store_index(path: &Path, stamp: &str, names: &NameIndex) -> io::Result<()> {
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

/// Reads one entry at its indexed place, inflating it under the size cap and checking
/// its length and CRC-32 against the index: a zip that changed under an unchanged size
/// and timestamp is an error, never a silently different answer.
fn read_zip_entry(
    file: &mut fs::File,
    path: &Path,
    name: &str,
    span: ZipSpan,
) -> Result<Vec<u8>, Error> {
    use std::io::{Seek, SeekFrom};
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if span.size > MAX_ENTRY_BYTES || span.compressed > MAX_ENTRY_BYTES {
        return Err(invalid(
            path,
            format!("{name}: larger than {MAX_ENTRY_BYTES} bytes"),
        ));
    }
    file.seek(SeekFrom::Start(span.start)).map_err(io_err)?;
    let mut raw = Vec::with_capacity(span.compressed as usize);
    (&mut *file)
        .take(span.compressed)
        .read_to_end(&mut raw)
        .map_err(io_err)?;
    let bytes = if span.deflated {
        read_capped(&mut flate2::read::DeflateDecoder::new(raw.as_slice()), path).ok()
    } else {
        Some(raw)
    };
    let intact = bytes.filter(|b| b.len() as u64 == span.size && crc32fast::hash(b) == span.crc32);
    let Some(bytes) = intact else {
        return Err(invalid(
            path,
            format!(
                "{name} does not match the cached index (the file changed or is damaged); run `vouch db update`"
            ),
        ));
    };
    Ok(bytes)
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::package::hex(&sha2::Sha256::digest(bytes))
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<io::BufReader<fs::File>>, Error> {
    open_zip_limited(path, MAX_ENTRIES)
}

fn open_zip_limited(
    path: &Path,
    max_entries: usize,
) -> Result<zip::ZipArchive<io::BufReader<fs::File>>, Error> {
    let file = fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let archive = zip::ZipArchive::new(io::BufReader::new(file)).map_err(|e| invalid(path, e))?;
    if archive.len() > max_entries {
        return Err(invalid(
            path,
            format!("{} entries, over the limit of {max_entries}", archive.len()),
        ));
    }
    Ok(archive)
}

/// Reads at most `MAX_ENTRY_BYTES` (a zip bomb stops here, whatever its header says).
fn read_capped(reader: &mut dyn Read, path: &Path) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err(invalid(
            path,
            format!("an entry is larger than {MAX_ENTRY_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// Parses one OSV record and converts it for every package it names in `ecosystem`,
/// checking each against `version`: the fuzz targets' entry point.
#[doc(hidden)]
pub fn parse_record(
    bytes: &[u8],
    ecosystem: Ecosystem,
    version: &str,
) -> Result<Vec<(Advisory, bool)>, Error> {
    let path = Path::new("record.json");
    let names = probe(bytes, path)?;
    let record: OsvRecord = serde_json::from_slice(bytes).map_err(|e| invalid(path, e))?;
    let mut out = Vec::new();
    for package in names {
        let wanted = normalize(ecosystem, &package.name);
        if let Some(advisory) = convert(&record, ecosystem, &wanted) {
            let hit = advisory.affects(&Package::new(ecosystem, &wanted, version));
            out.push((advisory, hit));
        }
    }
    Ok(out)
}

fn probe(bytes: &[u8], path: &Path) -> Result<Vec<OsvPackage>, Error> {
    let probe: IndexProbe = serde_json::from_slice(bytes).map_err(|e| {
        invalid(
            path,
            format!("line {}, column {}: {e}", e.line(), e.column()),
        )
    })?;
    if probe.id.trim().is_empty() {
        return Err(invalid(path, "an advisory without an id"));
    }
    Ok(probe
        .affected
        .into_iter()
        .filter_map(|a| a.package)
        .collect())
}

/// Turns an OSV record into our advisory for one package (`None` when withdrawn or when
/// no entry names that package).
fn convert(record: &OsvRecord, ecosystem: Ecosystem, wanted: &str) -> Option<Advisory> {
    if record.withdrawn.is_some() {
        return None;
    }
    let entries: Vec<&OsvAffected> = record
        .affected
        .iter()
        .filter(|a| {
            a.package.as_ref().is_some_and(|p| {
                p.ecosystem == ecosystem.osv_name() && normalize(ecosystem, &p.name) == wanted
            })
        })
        .collect();
    let first = entries.first()?;
    let mut ranges = Vec::new();
    let mut versions = Vec::new();
    let mut fixed = Vec::new();
    for entry in &entries {
        versions.extend(entry.versions.iter().cloned());
        for range in &entry.ranges {
            if range.kind != "SEMVER" && range.kind != "ECOSYSTEM" {
                continue;
            }
            let events: Vec<Event> = range
                .events
                .iter()
                .filter_map(|e| {
                    let (kind, value) = e.iter().next()?;
                    Some(match kind.as_str() {
                        "introduced" => Event::Introduced(value.clone()),
                        "fixed" => {
                            fixed.push(value.clone());
                            Event::Fixed(value.clone())
                        }
                        "last_affected" => Event::LastAffected(value.clone()),
                        "limit" => Event::Limit(value.clone()),
                        _ => return None,
                    })
                })
                .collect();
            ranges.push(events);
        }
    }
    fixed.sort();
    fixed.dedup();

    let specific = |key: &str| {
        first
            .database_specific
            .as_ref()
            .and_then(|d| d.get(key))
            .or_else(|| record.database_specific.as_ref().and_then(|d| d.get(key)))
    };
    let kind = match specific("informational").and_then(|v| v.as_str()) {
        Some("unmaintained") => Kind::Informational(Informational::Unmaintained),
        Some("unsound") => Kind::Informational(Informational::Unsound),
        Some("notice") => Kind::Informational(Informational::Notice),
        Some(other) => Kind::Informational(Informational::Other(other.to_string())),
        None => Kind::Vulnerability,
    };
    let vector = first
        .severity
        .iter()
        .chain(&record.severity)
        .filter(|s| s.kind.starts_with("CVSS_V"))
        .max_by_key(|s| s.kind.clone())
        .map(|s| s.score.clone());
    let cvss = vector.as_deref().and_then(|v| cvss::Cvss::from_str(v).ok());
    let severity = match &cvss {
        Some(c) => Some(match c.severity() {
            cvss::Severity::None => Severity::None,
            cvss::Severity::Low => Severity::Low,
            cvss::Severity::Medium => Severity::Medium,
            cvss::Severity::High => Severity::High,
            cvss::Severity::Critical => Severity::Critical,
        }),
        None => specific("severity")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok()),
    };
    let title = record
        .summary
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            record
                .details
                .as_ref()
                .and_then(|d| d.lines().next().map(str::to_string))
        })
        .unwrap_or_default();
    let url = record
        .references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .or_else(|| record.references.iter().find(|r| r.kind == "WEB"))
        .map(|r| r.url.clone())
        .or_else(|| Some(format!("https://osv.dev/vulnerability/{}", record.id)));
    let mut aliases: Vec<String> = record
        .aliases
        .iter()
        .filter(|a| **a != record.id)
        .cloned()
        .collect();
    aliases.sort();
    aliases.dedup();
    Some(Advisory {
        id: record.id.clone(),
        aliases,
        ecosystem,
        package: first
            .package
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        kind,
        severity,
        cvss_score: cvss.as_ref().map(|c| c.score()),
        cvss_vector: cvss.map(|c| c.to_string()),
        title,
        url,
        fixed: fixed.iter().map(|f| format!(">={f}")).collect(),
        affected: Affected::Osv(OsvAffectedVersions {
            ecosystem,
            ranges,
            versions,
        }),
        default_registry_only: false,
    })
}

/// Is this package's name the same as an advisory's, in the ecosystem's terms?
pub fn same_package(package: &Package, advisory_package: &str) -> bool {
    normalize(package.ecosystem, &package.name) == normalize(package.ecosystem, advisory_package)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry-count cap, at a size a test can afford (the real cap is 500,000).
    #[test]
    fn a_zip_with_more_entries_than_the_cap_is_refused() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.zip");
        let mut writer = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        for i in 0..3 {
            writer
                .start_file(
                    format!("X-{i}.json"),
                    zip::write::SimpleFileOptions::default(),
                )
                .unwrap();
            writer.write_all(b"{}").unwrap();
        }
        writer.finish().unwrap();
        assert!(open_zip_limited(&path, 3).is_ok());
        let e = open_zip_limited(&path, 2).unwrap_err().to_string();
        assert!(e.contains("3 entries, over the limit of 2"), "{e}");
    }

    fn affected(eco: Ecosystem, ranges: Vec<Vec<Event>>, versions: &[&str]) -> OsvAffectedVersions {
        OsvAffectedVersions {
            ecosystem: eco,
            ranges,
            versions: versions.iter().map(|v| v.to_string()).collect(),
        }
    }
    use Event::*;
    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn introduced_fixed_and_last_affected() {
        let a = affected(
            Ecosystem::Npm,
            vec![vec![Introduced(s("0")), Fixed(s("1.2.3"))]],
            &[],
        );
        assert!(a.affects("0.0.1") && a.affects("1.2.2") && a.affects("1.2.3-beta"));
        assert!(!a.affects("1.2.3") && !a.affects("2.0.0"));
        let a = affected(
            Ecosystem::Npm,
            vec![vec![Introduced(s("1.0.0")), LastAffected(s("1.4.0"))]],
            &[],
        );
        assert!(
            !a.affects("0.9.0") && a.affects("1.0.0") && a.affects("1.4.0") && !a.affects("1.4.1")
        );
    }

    #[test]
    fn several_intervals_in_one_range_keep_their_order_on_ties() {
        // The npm data's shape: `>= 5.2.1 <= 6.0.0 || >=6.0.0 <= 6.0.2`.
        let a = affected(
            Ecosystem::Npm,
            vec![vec![
                Introduced(s("5.2.1")),
                LastAffected(s("6.0.0")),
                Introduced(s("6.0.0")),
                LastAffected(s("6.0.2")),
            ]],
            &[],
        );
        for (v, want) in [
            ("5.2.0", false),
            ("5.2.1", true),
            ("6.0.0", true),
            ("6.0.1", true),
            ("6.0.2", true),
            ("6.0.3", false),
        ] {
            assert_eq!(a.affects(v), want, "{v}");
        }
        // Unsorted events are sorted first.
        let a = affected(
            Ecosystem::Cargo,
            vec![vec![
                Fixed(s("2.0.0")),
                Introduced(s("1.0.0")),
                Fixed(s("1.5.0")),
                Introduced(s("1.8.0")),
            ]],
            &[],
        );
        for (v, want) in [
            ("0.9.0", false),
            ("1.2.0", true),
            ("1.6.0", false),
            ("1.9.0", true),
            ("2.0.0", false),
        ] {
            assert_eq!(a.affects(v), want, "{v}");
        }
    }

    #[test]
    fn limits_and_explicit_versions() {
        let a = affected(
            Ecosystem::Cargo,
            vec![vec![Introduced(s("0")), Limit(s("1.0.0"))]],
            &[],
        );
        assert!(a.affects("0.5.0") && !a.affects("1.0.0") && !a.affects("1.5.0"));
        let a = affected(Ecosystem::PyPI, vec![], &["1.0", "1.1"]);
        assert!(a.affects("1.1") && !a.affects("1.2"));
    }

    #[test]
    fn pep440_and_go_ranges() {
        let a = affected(
            Ecosystem::PyPI,
            vec![vec![Introduced(s("0")), Fixed(s("2.0.1"))]],
            &[],
        );
        assert!(
            a.affects("2.0")
                && a.affects("2.0.1rc1")
                && a.affects("2.0.0.post1")
                && !a.affects("2.0.1")
                && !a.affects("2.1")
        );
        // Go OSV ranges are semver without the v; packages carry it.
        let a = affected(
            Ecosystem::Go,
            vec![vec![Introduced(s("0")), Fixed(s("0.7.0"))]],
            &[],
        );
        assert!(
            a.affects("v0.6.0")
                && a.affects("v0.0.0-20210226172049-e18ecbb05110")
                && !a.affects("v0.7.0")
        );
    }

    #[test]
    fn an_unparsable_version_matches_listings_and_all_version_ranges_only() {
        let a = affected(
            Ecosystem::Npm,
            vec![vec![Introduced(s("1.0.0"))]],
            &["weird"],
        );
        assert!(a.affects("weird"));
        assert!(!a.affects("also-weird"));
        let every = affected(Ecosystem::Npm, vec![vec![Introduced(s("0"))]], &[]);
        assert!(
            every.affects("also-weird"),
            "an advisory on every version covers it too"
        );
    }

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

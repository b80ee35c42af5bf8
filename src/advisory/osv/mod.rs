//! OSV advisories (<https://ossf.github.io/osv-schema/>) from per-ecosystem exports.
//!
//! The layout is the public export's: `<root>/<Ecosystem>/all.zip` holding one `<ID>.json`
//! per advisory, or `<root>/<Ecosystem>/*.json`. Nothing is extracted to disk: entries are
//! read in memory with a size cap. Opening an ecosystem builds (or loads from the cache) an
//! index of package name → entries, so an audit decompresses and parses only the
//! advisories of the packages it has: ~8,600 advisories are never all parsed per run.
//!
//! The rooms: [`export`] reads a zip (or directory) under its limits, [`index`] builds,
//! caches and validates the name index (the same pass validates a download), [`record`]
//! is the OSV schema and its conversion to an [`Advisory`] with the range semantics,
//! [`delta`] plans and builds an incremental update from `modified_id.csv`; this module
//! ties them into [`OsvDb`].

pub mod delta;
mod export;
mod index;
mod record;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::Advisory;
use crate::package::{Ecosystem, Package, normalize_pypi_name};
use export::{MAX_ENTRIES, MAX_TOTAL_BYTES, ZipReader, read_capped};
use index::{DirIndex, ZipIndex, name_key, probe};
pub use index::{ExportScan, index_file, scan_export};
pub use record::{Event, OsvAffectedVersions};
use record::{OsvRecord, convert};

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
    #[error(
        "{path}: the OSV export holds no advisories (an empty export would pass every package); run `vouch db update` or pass --osv with a full export"
    )]
    Empty { path: PathBuf },
}

/// Where one ecosystem's advisories are, and the index of their package names.
enum EcosystemData {
    Zip {
        path: PathBuf,
        index: ZipIndex,
        /// Opened at the first lookup that finds entries, then kept for the others.
        reader: Box<Mutex<Option<ZipReader>>>,
    },
    Dir {
        path: PathBuf,
        index: DirIndex,
    },
}

/// An OSV database directory with lazily opened ecosystems.
pub struct OsvDb {
    root: PathBuf,
    index_cache: Option<PathBuf>,
    ecosystems: [OnceLock<Result<EcosystemData, String>>; 4],
    /// `has`, asked once per ecosystem (an audit asks it for every package name).
    present: [OnceLock<bool>; 4],
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
            present: Default::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Does the database hold data for `ecosystem`?
    pub fn has(&self, ecosystem: Ecosystem) -> bool {
        *self.present[slot(ecosystem)].get_or_init(|| {
            let dir = self.root.join(ecosystem.osv_name());
            dir.join("all.zip").is_file() || dir.is_dir()
        })
    }

    /// The hex SHA-256 of `ecosystem`'s zip export, which reports name it by: kept in its
    /// index (trusted as the index is), else the file hashed now. `None` for a directory
    /// of JSON files, which has no one file to name.
    pub fn export_sha256(&self, ecosystem: Ecosystem) -> Result<Option<String>, Error> {
        match self.data(ecosystem)? {
            EcosystemData::Zip { path, index, .. } => self.zip_sha256(path, index).map(Some),
            EcosystemData::Dir { .. } => Ok(None),
        }
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
            return Ok(EcosystemData::Zip {
                path: zip,
                index,
                reader: Box::new(Mutex::new(None)),
            });
        }
        if dir.is_dir() {
            let mut index = DirIndex::new();
            let entries = fs::read_dir(&dir).map_err(io_error(&dir))?;
            // The same limits as a zip export's: entry count and total size.
            let (mut count, mut total) = (0usize, 0u64);
            for entry in entries {
                let entry = entry.map_err(io_error(&dir))?;
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
                    &mut fs::File::open(entry.path()).map_err(io_error(&entry.path()))?,
                    &entry.path(),
                )?;
                total += bytes.len() as u64;
                if total > MAX_TOTAL_BYTES {
                    return Err(invalid(
                        &dir,
                        format!("advisory files larger than {MAX_TOTAL_BYTES} bytes together"),
                    ));
                }
                let probed = probe(&bytes).map_err(|e| invalid(&entry.path(), e))?;
                for package in probed.packages {
                    if package.ecosystem == ecosystem.osv_name() {
                        index
                            .entry(normalize(ecosystem, &package.name))
                            .or_default()
                            .push(name.clone());
                    }
                }
            }
            if count == 0 {
                return Err(Error::Empty { path: dir });
            }
            return Ok(EcosystemData::Dir { path: dir, index });
        }
        Err(Error::Missing {
            path: self.root.clone(),
            ecosystem,
        })
    }

    /// The advisories affecting package `name` in `ecosystem` (withdrawn ones excluded),
    /// each restricted to its entries for that package.
    pub fn advisories_for(&self, ecosystem: Ecosystem, name: &str) -> Result<Vec<Advisory>, Error> {
        let data = self.data(ecosystem)?;
        let wanted = normalize(ecosystem, name);
        let mut advisories = Vec::new();
        let mut add = |entry: &str, bytes: &[u8]| -> Result<(), Error> {
            let record: OsvRecord = serde_json::from_slice(bytes).map_err(|e| Error::Invalid {
                path: PathBuf::from(entry),
                message: format!("line {}, column {}: {e}", e.line(), e.column()),
            })?;
            // The record's own names decide: an index key shared by two names only costs
            // this read.
            if let Some(advisory) = convert(&record, ecosystem, &wanted) {
                advisories.push(advisory);
            }
            Ok(())
        };
        match data {
            EcosystemData::Zip {
                path,
                index,
                reader,
            } => {
                let spans = index.entries(name_key(&wanted))?;
                if !spans.is_empty() {
                    let mut reader = reader.lock().unwrap_or_else(|e| e.into_inner());
                    let reader = match &mut *reader {
                        Some(reader) => reader,
                        empty => empty.insert(ZipReader::open(path)?),
                    };
                    for span in spans {
                        let (entry, bytes) = reader.read(span)?;
                        add(&entry, bytes)?;
                    }
                }
            }
            EcosystemData::Dir { path: dir, index } => {
                for entry in index.get(&wanted).into_iter().flatten() {
                    let path = dir.join(entry);
                    let bytes =
                        read_capped(&mut fs::File::open(&path).map_err(io_error(&path))?, &path)?;
                    add(entry, &bytes)?;
                }
            }
        }
        advisories.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(advisories)
    }
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::package::hex(&sha2::Sha256::digest(bytes))
}

/// An I/O error on `path`, for `map_err`.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
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
    let names = probe(bytes).map_err(|e| invalid(path, e))?.packages;
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

/// Is this package's name the same as an advisory's, in the ecosystem's terms?
pub fn same_package(package: &Package, advisory_package: &str) -> bool {
    normalize(package.ecosystem, &package.name) == normalize(package.ecosystem, advisory_package)
}

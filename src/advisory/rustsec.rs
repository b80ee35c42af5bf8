//! The RustSec advisory database in its native layout (`crates/<name>/RUSTSEC-*.md`).
//!
//! Advisories are parsed with the `rustsec` crate, so the format and the version matching
//! are exactly cargo-audit's. Unlike `rustsec::Database::open`, which parses all ~1,200
//! files, this reads only the directories of the crates being audited: the layout
//! guarantees (and `rustsec` enforces) that an advisory lives under its package's name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Advisory, Affected, Informational, Kind, Severity};
use crate::package::Ecosystem;

/// Why the RustSec database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0}: not a RustSec advisory database (no `crates/` directory); run `vouch db update` or pass --db"
    )]
    NotADatabase(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: invalid advisory: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// An opened RustSec database directory.
#[derive(Debug, Clone)]
pub struct RustSecDb {
    root: PathBuf,
}

impl RustSecDb {
    /// Opens `root`, checking that it has the RustSec layout.
    pub fn open(root: &Path) -> Result<Self, Error> {
        if !root.join("crates").is_dir() {
            return Err(Error::NotADatabase(root.to_path_buf()));
        }
        Ok(RustSecDb {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The advisories filed against crate `name`, withdrawn ones excluded.
    pub fn advisories_for(&self, name: &str) -> Result<Vec<Advisory>, Error> {
        // A crate name that could not exist on crates.io has no advisory directory; never
        // let a name from a lockfile become a path outside the database.
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(Vec::new());
        }
        let dir = self.root.join("crates").join(name);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Io { path: dir, source }),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_advisory_file(p))
            .collect();
        paths.sort();
        let mut advisories = Vec::with_capacity(paths.len());
        for path in paths {
            if let Some(advisory) = load(&path, name)? {
                advisories.push(advisory);
            }
        }
        Ok(advisories)
    }

    /// Parses every advisory in the database: for `db update` and `db status`, so a
    /// database that cargo-audit would reject is rejected here too.
    pub fn load_all(&self) -> Result<usize, Error> {
        let files = self.advisory_files()?;
        for (path, name) in &files {
            load(path, name)?;
        }
        Ok(files.len())
    }

    /// Does the database hold an advisory with this id or alias (case-insensitive)? For
    /// `vouch waivers add`, which warns about an id no database knows.
    pub fn knows(&self, id: &str) -> Result<bool, Error> {
        let needle = format!("\"{}\"", id.to_ascii_lowercase());
        for (path, name) in self.advisory_files()? {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let text = fs::read_to_string(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            if !stem.eq_ignore_ascii_case(id) && !text.to_ascii_lowercase().contains(&needle) {
                continue;
            }
            // A hit in the text may be a `related` id: only the id and aliases count.
            if parse(&path, &name, &text)?.is_some_and(|a| a.is_known_as(id)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every advisory file, with the crate directory it is filed under.
    fn advisory_files(&self) -> Result<Vec<(PathBuf, String)>, Error> {
        let crates = self.root.join("crates");
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(&crates).map_err(io_err(&crates))? {
            let entry = entry.map_err(io_err(&crates))?;
            if !entry.file_type().map_err(io_err(&entry.path()))?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            for file in fs::read_dir(entry.path()).map_err(io_err(&entry.path()))? {
                let path = file.map_err(io_err(&entry.path()))?.path();
                if is_advisory_file(&path) {
                    files.push((path, name.clone()));
                }
            }
        }
        Ok(files)
    }
}

fn is_advisory_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    // Drafts (`RUSTSEC-0000-0000.md`) are included by rustsec; dotfiles are not.
    !name.starts_with('.') && name.ends_with(".md")
}

/// Loads one advisory file; `None` when it is withdrawn.
fn load(path: &Path, dir_name: &str) -> Result<Option<Advisory>, Error> {
    let text = fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, dir_name, &text)
}

/// Parses one advisory's text (`path` names it in errors; `dir_name` is the crate
/// directory it was filed under). Also the fuzz targets' entry point.
#[doc(hidden)]
pub fn parse(path: &Path, dir_name: &str, text: &str) -> Result<Option<Advisory>, Error> {
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
        None => Kind::Vulnerability,
        Some(i) if i.is_unmaintained() => Kind::Informational(Informational::Unmaintained),
        Some(i) if i.is_unsound() => Kind::Informational(Informational::Unsound),
        Some(i) if i.is_notice() => Kind::Informational(Informational::Notice),
        Some(other) => Kind::Informational(Informational::Other(other.as_str().to_string())),
    };
    let severity = raw.severity().map(|s| match s {
        ::rustsec::advisory::Severity::None => Severity::None,
        ::rustsec::advisory::Severity::Low => Severity::Low,
        ::rustsec::advisory::Severity::Medium => Severity::Medium,
        ::rustsec::advisory::Severity::High => Severity::High,
        ::rustsec::advisory::Severity::Critical => Severity::Critical,
    });
    Ok(Some(Advisory {
        id: meta.id.to_string(),
        aliases: meta.aliases.iter().map(ToString::to_string).collect(),
        ecosystem: Ecosystem::Cargo,
        package: meta.package.to_string(),
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
        fixed: raw
            .versions
            .patched()
            .iter()
            .map(ToString::to_string)
            .collect(),
        affected: Affected::RustSec(raw.versions.clone()),
        default_registry_only: true,
    }))
}

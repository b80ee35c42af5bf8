//! Finding lockfiles and turning them into [`Package`]s.
//!
//! One submodule per format; each takes the file's text and returns packages or a
//! [`Error::Parse`] that names the line and column. This module owns what is common:
//! discovery (which directories to walk and which to skip, never leaving the tree through
//! a symlink), the size limit, and recognising a format by file name. Parsers never panic
//! on input and never read anything but the text they are given.

mod bun;
mod cargo;
mod cargo_canonical;
mod cargo_workspace;
mod go;
mod npm;
mod pnpm;
mod python;
mod sbom;
mod yaml;
mod yarn;

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::package::{Ecosystem, Package};

/// Lockfiles larger than this are refused rather than read: no real lockfile comes close.
pub const MAX_LOCKFILE_BYTES: u64 = 64 * 1024 * 1024;

/// Directories never descended into while discovering lockfiles: build output, VCS data,
/// installed dependencies and Python virtual environments (built from the lockfiles, and
/// thousands of files that may ship stray requirements files of their own).
const SKIPPED_DIRS: &[&str] = &[
    "target",
    ".git",
    "node_modules",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
];

/// The lockfile formats vouch reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    CargoLock,
    /// `package-lock.json`, lockfileVersion 1, 2 or 3.
    NpmLock,
    /// `npm-shrinkwrap.json`: the same format, published with a package.
    NpmShrinkwrap,
    /// `yarn.lock`, classic (v1) or berry (v2+).
    YarnLock,
    /// `pnpm-lock.yaml`, lockfileVersion 6 or 9.
    PnpmLock,
    /// `requirements.txt`, `requirements-<x>.txt`, `requirements_<x>.txt`, and any `.txt`
    /// directly inside a `requirements/` directory.
    RequirementsTxt,
    PoetryLock,
    UvLock,
    PipfileLock,
    /// `go.mod`, with `go.sum` beside it read for checksums.
    GoMod,
    /// `go.work`: the workspace's `use`d modules (their go.mod and go.sum) and go.work.sum.
    GoWork,
    /// `bun.lock`, bun's text lockfile (bun 1.2 and later).
    BunLock,
    /// `bun.lockb`, bun's binary lockfile: refused with the command that writes the text one.
    BunLockb,
    /// `pylock.toml` or `pylock.<name>.toml` (PEP 751).
    PylockToml,
    /// SBOMs, recognised by content in a file named explicitly, never found by a
    /// directory scan (see [`discover`]): SPDX 2.2/2.3 JSON, tag-value, CycloneDX JSON.
    SpdxJson,
    SpdxTagValue,
    CycloneDxJson,
}

impl Format {
    /// Recognises a lockfile by its file name.
    pub fn from_file_name(name: &str) -> Option<Format> {
        match name {
            "Cargo.lock" => Some(Format::CargoLock),
            "package-lock.json" => Some(Format::NpmLock),
            "npm-shrinkwrap.json" => Some(Format::NpmShrinkwrap),
            "yarn.lock" => Some(Format::YarnLock),
            "pnpm-lock.yaml" => Some(Format::PnpmLock),
            "poetry.lock" => Some(Format::PoetryLock),
            "uv.lock" => Some(Format::UvLock),
            "Pipfile.lock" => Some(Format::PipfileLock),
            "go.mod" => Some(Format::GoMod),
            "go.work" => Some(Format::GoWork),
            "bun.lock" => Some(Format::BunLock),
            "bun.lockb" => Some(Format::BunLockb),
            _ if python::pylock::is_pylock_name(name) => Some(Format::PylockToml),
            _ if python::requirements::is_requirements_name(name) => Some(Format::RequirementsTxt),
            _ => None,
        }
    }

    /// Recognises a lockfile by its path: its file name, or for requirements files also
    /// the `requirements/` directory holding it.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        Format::from_file_name(name).or_else(|| {
            let parent = path.parent()?.file_name()?.to_str()?;
            (parent == "requirements" && name.ends_with(".txt")).then_some(Format::RequirementsTxt)
        })
    }

    /// The one ecosystem of the format's packages; `None` for SBOMs, which mix them.
    pub fn ecosystem(self) -> Option<Ecosystem> {
        Some(match self {
            Format::CargoLock => Ecosystem::Cargo,
            Format::NpmLock
            | Format::NpmShrinkwrap
            | Format::YarnLock
            | Format::PnpmLock
            | Format::BunLock
            | Format::BunLockb => Ecosystem::Npm,
            Format::RequirementsTxt
            | Format::PoetryLock
            | Format::UvLock
            | Format::PipfileLock
            | Format::PylockToml => Ecosystem::PyPI,
            Format::GoMod | Format::GoWork => Ecosystem::Go,
            Format::SpdxJson | Format::SpdxTagValue | Format::CycloneDxJson => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::CargoLock => "Cargo.lock",
            Format::NpmLock => "package-lock.json",
            Format::NpmShrinkwrap => "npm-shrinkwrap.json",
            Format::YarnLock => "yarn.lock",
            Format::PnpmLock => "pnpm-lock.yaml",
            Format::RequirementsTxt => "requirements.txt",
            Format::PoetryLock => "poetry.lock",
            Format::UvLock => "uv.lock",
            Format::PipfileLock => "Pipfile.lock",
            Format::GoMod => "go.mod",
            Format::GoWork => "go.work",
            Format::BunLock => "bun.lock",
            Format::BunLockb => "bun.lockb",
            Format::PylockToml => "pylock.toml",
            // As `vouch sbom --format` names them.
            Format::SpdxJson => "spdx-json",
            Format::SpdxTagValue => "spdx-tv",
            Format::CycloneDxJson => "cyclonedx-json",
        }
    }

    /// The file names recognised, for error messages.
    pub fn known_file_names() -> &'static [&'static str] {
        &[
            "Cargo.lock",
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "requirements*.txt",
            "requirements/*.txt",
            "poetry.lock",
            "uv.lock",
            "Pipfile.lock",
            "pylock.toml",
            "pylock.*.toml",
            "go.mod",
            "go.work",
            "bun.lock",
        ]
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed lockfile.
#[derive(Clone, Debug)]
pub struct Lockfile {
    pub path: PathBuf,
    pub format: Format,
    pub packages: Vec<Package>,
    /// Things the parser skipped or could not pin, for the report (never silently dropped).
    pub notes: Vec<Note>,
    /// Why this lockfile cannot tell which packages are only for development, when it
    /// cannot (none is marked `dev` then, so `--exclude-dev` excludes none).
    pub dev_unknown: Option<String>,
}

/// Something a parser wants the user to know about a lockfile, e.g. an unpinned
/// requirement that cannot be audited or a linked package that was skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Note {
    pub line: Option<usize>,
    pub message: String,
    /// The entry is the project's own code that the lockfile gives no version (a pnpm
    /// importer, an editable Pipfile entry, a link): counted as local, not a warning.
    pub local: Option<crate::package::LocalKind>,
    /// Not about an entry at all but about how the file was read (e.g. a go.mod older
    /// than Go 1.17 completed from go.sum): the report says it, it is never a finding.
    pub remark: bool,
}

impl Note {
    /// An entry that could not be audited (a warning in the report).
    pub fn not_audited(line: Option<usize>, message: impl Into<String>) -> Note {
        Note {
            line,
            message: message.into(),
            ..Note::default()
        }
    }

    /// A versionless entry that is the project's own code.
    pub fn local(
        line: Option<usize>,
        message: impl Into<String>,
        kind: crate::package::LocalKind,
    ) -> Note {
        Note {
            line,
            message: message.into(),
            local: Some(kind),
            remark: false,
        }
    }

    /// How the file was read, for the report.
    pub fn remark(line: Option<usize>, message: impl Into<String>) -> Note {
        Note {
            line,
            message: message.into(),
            local: None,
            remark: true,
        }
    }
}

/// What a format module returns.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parsed {
    pub packages: Vec<Package>,
    pub notes: Vec<Note>,
}

/// Why a lockfile could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: file is {size} bytes, over the {limit}-byte limit for lockfiles")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: not a lockfile or SBOM vouch reads (expected one of: {}; or {})", Format::known_file_names().join(", "), sbom::DESCRIPTION)]
    UnknownFormat { path: PathBuf },
    #[error("{path}: no lockfile found (looked for {}; SBOMs are read only when named)", Format::known_file_names().join(", "))]
    NoneFound { path: PathBuf },
    #[error(
        "{path}: a symlink to {target}, outside the scanned tree {root}; not read (name the file itself to audit it)"
    )]
    SymlinkOutOfTree {
        path: PathBuf,
        target: String,
        root: PathBuf,
    },
}

/// A parse failure inside a format module, located in the text; [`load`] adds the path
/// of the lockfile unless the error is in another file it read (an included requirements
/// file, go.sum), which then names itself in `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub path: Option<PathBuf>,
}

impl ParseError {
    pub(crate) fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            column,
            message: message.into(),
            path: None,
        }
    }

    /// The error is in `path`, not in the lockfile being loaded.
    pub(crate) fn in_file(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }
}

/// Finds the lockfiles named by `paths`: files are taken as given (they must be a known
/// format: a lockfile by name, else an SBOM by content), directories are walked. Each
/// directory argument must yield at least one lockfile: asking for a scan that finds
/// nothing is an error, not a pass. A walk never reads SBOMs: those in a tree are mostly
/// made from its own lockfiles (`vouch check`'s `[sbom]` output among them), and auditing
/// them too would count every finding twice, or a stale SBOM's findings; name one to
/// audit it.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Format)>, Error> {
    let mut found = Vec::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_file() {
            let format = match Format::from_path(path) {
                Some(format) => format,
                None => sbom::detect(&read_limited(path, MAX_LOCKFILE_BYTES)?)
                    .ok_or_else(|| Error::UnknownFormat { path: path.clone() })?,
            };
            found.push((path.clone(), format));
            continue;
        }
        let root = fs::canonicalize(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let before = found.len();
        walk(path, &root, &mut found)?;
        if found.len() == before {
            return Err(Error::NoneFound { path: path.clone() });
        }
    }
    found.sort();
    found.dedup();
    // bun keeps bun.lockb beside bun.lock while a project migrates; bun.lock is read.
    let text_locks: std::collections::HashSet<PathBuf> = found
        .iter()
        .filter(|(_, f)| *f == Format::BunLock)
        .map(|(p, _)| p.with_file_name("bun.lockb"))
        .collect();
    found.retain(|(p, f)| *f != Format::BunLockb || !text_locks.contains(p));
    Ok(found)
}

fn walk(dir: &Path, root: &Path, found: &mut Vec<(PathBuf, Format)>) -> Result<(), Error> {
    let entries = fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if file_type.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                walk(&path, root, found)?;
            }
            continue;
        }
        let Some(format) = Format::from_path(&path) else {
            continue;
        };
        if file_type.is_symlink() {
            // A symlinked lockfile is read only when it resolves inside the scanned tree;
            // directories reached through symlinks are never walked. One that leads out
            // (or nowhere) is an error, not a silent skip: a lockfile found but not audited
            // must not let the gate pass.
            match fs::canonicalize(&path) {
                Ok(target) if target.starts_with(root) && target.is_file() => {}
                resolved => {
                    return Err(Error::SymlinkOutOfTree {
                        target: match resolved {
                            Ok(t) => t.display().to_string(),
                            Err(e) => format!("nothing readable ({e})"),
                        },
                        path,
                        root: root.to_path_buf(),
                    });
                }
            }
        }
        found.push((path, format));
    }
    Ok(())
}

/// Reads and parses one lockfile. Files it includes (requirements `-r`/`-c`) are read
/// only inside the lockfile's own directory; [`load_within`] widens that to a scanned tree.
pub fn load(path: &Path, format: Format) -> Result<Lockfile, Error> {
    let root = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    load_within(path, format, root)
}

/// The widest directory among `scanned` (the paths a user asked to scan) whose tree holds
/// `lockfile`: the limit for what it may include. A lockfile named directly is limited to
/// its own directory.
pub fn scan_root(scanned: &[PathBuf], lockfile: &Path) -> PathBuf {
    scanned
        .iter()
        .filter(|dir| dir.is_dir() && lockfile.starts_with(dir))
        .min_by_key(|dir| dir.components().count())
        .cloned()
        .unwrap_or_else(|| {
            lockfile
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        })
}

/// Reads and parses every discovered lockfile, each within its scan root, spread over the
/// cores (a monorepo's lockfiles are independent). Results keep discovery order, and the
/// first error in that order is the one reported, so output never depends on timing.
pub fn load_all(scanned: &[PathBuf], found: &[(PathBuf, Format)]) -> Result<Vec<Lockfile>, Error> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(found.len());
    if workers <= 1 {
        return found
            .iter()
            .map(|(path, format)| load_within(path, *format, &scan_root(scanned, path)))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Lockfile, Error>>>> =
        found.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, format)) = found.get(i) else {
                        break;
                    };
                    let result = load_within(path, *format, &scan_root(scanned, path));
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .zip(found)
        .map(|(slot, (path, _))| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(Error::Io {
                    path: path.clone(),
                    source: std::io::Error::other("the parser thread stopped without a result"),
                })
            })
        })
        .collect()
}

/// Reads and parses one lockfile that belongs to the tree under `root`: files it includes
/// must resolve (symlinks followed) inside `root`.
pub fn load_within(path: &Path, format: Format, root: &Path) -> Result<Lockfile, Error> {
    if format == Format::BunLockb {
        // Binary: refused before it is read as text (it is not UTF-8).
        let e = bun::binary_lockfile();
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: e.line,
            column: e.column,
            message: e.message,
        });
    }
    let text = read_limited(path, MAX_LOCKFILE_BYTES)?;
    let parsed = match format {
        Format::CargoLock => cargo::parse(&text),
        Format::NpmLock | Format::NpmShrinkwrap => npm::parse(&text),
        Format::YarnLock => yarn::parse(&text),
        Format::PnpmLock => pnpm::parse(&text),
        Format::RequirementsTxt => python::requirements::load(path, &text, root)?,
        Format::PoetryLock => python::poetry::parse(&text),
        Format::UvLock => python::uv::parse(&text),
        Format::PipfileLock => python::pipfile::parse(&text),
        Format::GoWork => load_go_work(path, &text, root)?,
        Format::BunLock => bun::parse(&text),
        Format::BunLockb => Err(bun::binary_lockfile()),
        Format::PylockToml => python::pylock::parse(&text),
        Format::GoMod => {
            let sum_path = path.with_file_name("go.sum");
            let sums = if sum_path.is_file() {
                let sum_text = read_limited(&sum_path, MAX_LOCKFILE_BYTES)?;
                Some(go::parse_sum(&sum_text).map_err(|e| e.in_file(&sum_path)))
            } else {
                None
            }
            .transpose();
            sums.and_then(|sums| go::parse(&text, sums.as_ref()))
        }
        Format::SpdxJson | Format::SpdxTagValue | Format::CycloneDxJson => {
            sbom::parse(format, &text)
        }
    }
    .map_err(|e| Error::Parse {
        path: e.path.unwrap_or_else(|| path.to_path_buf()),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let mut packages = parsed.packages;
    let dev_unknown = match format {
        Format::CargoLock => cargo_workspace::mark_dev(path, &mut packages).err(),
        Format::YarnLock
        | Format::RequirementsTxt
        | Format::GoMod
        | Format::GoWork
        | Format::PylockToml => Some(format!(
            "{format} does not record which packages are only for development"
        )),
        _ => None,
    };
    Ok(Lockfile {
        path: path.to_path_buf(),
        format,
        packages,
        notes: parsed.notes,
        dev_unknown,
    })
}

/// An SBOM that is no file: the document of a verified SBOM attestation. `label` names
/// it in the report and in errors; the format is recognised by content, as a named
/// file's is, under the same size limit.
pub fn from_sbom_text(label: &Path, text: &str) -> Result<Lockfile, Error> {
    if text.len() as u64 > MAX_LOCKFILE_BYTES {
        return Err(Error::TooLarge {
            path: label.to_path_buf(),
            size: text.len() as u64,
            limit: MAX_LOCKFILE_BYTES,
        });
    }
    let format = sbom::detect(text).ok_or_else(|| Error::UnknownFormat {
        path: label.to_path_buf(),
    })?;
    let parsed = sbom::parse(format, text).map_err(|e| Error::Parse {
        path: label.to_path_buf(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    Ok(Lockfile {
        path: label.to_path_buf(),
        format,
        packages: parsed.packages,
        notes: parsed.notes,
        dev_unknown: None,
    })
}

/// go.work with go.work.sum beside it; each `use`d module's go.mod (and go.sum) must
/// resolve inside `root`, as requirements includes must.
fn load_go_work(path: &Path, text: &str, root: &Path) -> Result<Result<Parsed, ParseError>, Error> {
    let io = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let canonical_root = fs::canonicalize(root).map_err(|e| io(root, e))?;
    let sum_path = path.with_file_name("go.work.sum");
    let work_sums = if sum_path.is_file() {
        let sum_text = read_limited(&sum_path, MAX_LOCKFILE_BYTES)?;
        match go::parse_sum(&sum_text) {
            Ok(sums) => Some(sums),
            Err(e) => return Ok(Err(e.in_file(&sum_path))),
        }
    } else {
        None
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut read = |used: &str| -> Result<(PathBuf, String, Option<String>), ParseError> {
        let module_dir = dir.join(used);
        let go_mod = module_dir.join("go.mod");
        let inside = fs::canonicalize(&go_mod).map_err(|e| {
            ParseError::new(
                1,
                1,
                format!("`use {used}`: cannot read {}: {e}", go_mod.display()),
            )
        })?;
        if !inside.starts_with(&canonical_root) {
            return Err(ParseError::new(
                1,
                1,
                format!(
                    "`use {used}` is outside the scanned tree `{}`: not read (scan a directory that holds it)",
                    root.display()
                ),
            ));
        }
        let text = read_limited(&go_mod, MAX_LOCKFILE_BYTES)
            .map_err(|e| ParseError::new(1, 1, format!("`use {used}`: {e}")))?;
        let go_sum = module_dir.join("go.sum");
        let sums = if go_sum.is_file() {
            Some(
                read_limited(&go_sum, MAX_LOCKFILE_BYTES)
                    .map_err(|e| ParseError::new(1, 1, format!("`use {used}`: {e}")))?,
            )
        } else {
            None
        };
        Ok((module_dir, text, sums))
    };
    Ok(go::parse_work(text, work_sums.as_ref(), &mut read))
}

/// One parser, for [`parse_detached`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Parser {
    Lockfile(Format),
    GoSum,
    /// An SBOM of whichever format its content shows.
    Sbom,
}

/// Parses text with one parser and no file system access (a requirements include is
/// refused): the entry point of the fuzz targets in `fuzz/`. Returns the package count,
/// or the error as `line:column: message`.
#[doc(hidden)]
pub fn parse_detached(parser: Parser, text: &str) -> Result<usize, String> {
    let located = |e: ParseError| format!("{}:{}: {}", e.line, e.column, e.message);
    let parsed = match parser {
        Parser::GoSum => return go::parse_sum(text).map(|sums| sums.len()).map_err(located),
        Parser::Sbom => match sbom::detect(text) {
            Some(format) => sbom::parse(format, text),
            None => return Err(format!("not {}", sbom::DESCRIPTION)),
        },
        Parser::Lockfile(format) => match format {
            Format::CargoLock => cargo::parse(text),
            Format::NpmLock | Format::NpmShrinkwrap => npm::parse(text),
            Format::YarnLock => yarn::parse(text),
            Format::PnpmLock => pnpm::parse(text),
            Format::RequirementsTxt => python::requirements::parse_with(
                text,
                Path::new("requirements.txt"),
                &mut |_, target| Err(format!("`{target}`: no includes in a detached parse")),
            ),
            Format::PoetryLock => python::poetry::parse(text),
            Format::UvLock => python::uv::parse(text),
            Format::PipfileLock => python::pipfile::parse(text),
            Format::GoMod => go::parse(text, None),
            Format::GoWork => go::parse_work(text, None, &mut |dir| {
                Err(ParseError::new(
                    1,
                    1,
                    format!("`use {dir}`: no files in a detached parse"),
                ))
            }),
            Format::BunLock => bun::parse(text),
            Format::BunLockb => Err(bun::binary_lockfile()),
            Format::PylockToml => python::pylock::parse(text),
            Format::SpdxJson | Format::SpdxTagValue | Format::CycloneDxJson => {
                sbom::parse(format, text)
            }
        },
    }
    .map_err(located)?;
    Ok(parsed.packages.len())
}

/// Reads a UTF-8 text file, refusing files over `limit` bytes without reading them whole.
pub fn read_limited(path: &Path, limit: u64) -> Result<String, Error> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    if size > limit {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // `take` guards against files that grow while being read.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
        Error::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: "file is not valid UTF-8".into(),
        }
    })
}

/// 1-based line and column of the end of `prefix`.
pub(crate) fn line_column(prefix: &[u8]) -> (usize, usize) {
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = prefix.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// Line starts of a text, for locating many offsets without rescanning from the top
/// (once per package was quadratic on large lockfiles).
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        LineIndex { starts }
    }

    /// 1-based line of byte offset `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }

    /// 1-based line and column (in characters) of byte offset `offset` in `text`, the
    /// text the index was made from.
    pub(crate) fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = self.line(offset);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let end = offset.clamp(start, text.len());
        let column = text
            .get(start..end)
            .map_or(end - start, |s| s.chars().count());
        (line, column + 1)
    }
}

/// 1-based line and column of byte offset `offset` in `text`.
pub(crate) fn offset_to_line_column(text: &str, offset: usize) -> (usize, usize) {
    line_column(&text.as_bytes()[..offset.min(text.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parser, fed every truncation of a real lockfile and the same text with a
    /// multibyte character or a quote spliced in, returns packages or an error: never a
    /// panic, and errors always point at a line of the text.
    #[test]
    fn parsers_never_panic_on_damaged_input() {
        let no_includes = |_: &Path, _: &str| -> Result<(PathBuf, String), String> {
            Err("no includes here".into())
        };
        let requirements = |text: &str| {
            python::requirements::parse_with(
                text,
                Path::new("/t/requirements.txt"),
                &mut no_includes.clone(),
            )
        };
        let go_sum = |text: &str| go::parse_sum(text).map(|_| Parsed::default());
        let go_mod = |text: &str| go::parse(text, None);
        type Parser<'a> = &'a dyn Fn(&str) -> Result<Parsed, ParseError>;
        let cases: [(&str, Parser<'_>); 6] = [
            (
                include_str!("../../fixtures/python/uv/uv.lock"),
                &python::uv::parse,
            ),
            (
                include_str!("../../fixtures/python/poetry/poetry.lock"),
                &python::poetry::parse,
            ),
            (
                include_str!("../../fixtures/python/pipenv/Pipfile.lock"),
                &python::pipfile::parse,
            ),
            (
                include_str!("../../fixtures/python/requirements/requirements.txt"),
                &requirements,
            ),
            (include_str!("../../fixtures/go/skopeo/go.mod"), &go_mod),
            (
                &include_str!("../../fixtures/go/skopeo/go.sum")[..4000],
                &go_sum,
            ),
        ];
        for (text, parse) in cases {
            assert!(parse(text).is_ok());
            let step = (text.len() / 200).max(1);
            let cuts = (0..text.len())
                .step_by(step)
                .filter(|&i| text.is_char_boundary(i));
            for cut in cuts {
                for damaged in [
                    text[..cut].to_string(),
                    format!("{}é{}", &text[..cut], &text[cut..]),
                    format!("{}\"{}", &text[..cut], &text[cut..]),
                ] {
                    if let Err(e) = parse(&damaged) {
                        let lines = damaged.lines().count().max(1);
                        assert!(e.line >= 1 && e.line <= lines + 1, "{e:?}");
                    }
                }
            }
        }
    }

    /// Regression: with `vouch audit . services/a`, a file under services/a may include
    /// anything under `.`, the widest tree the user asked to scan.
    #[test]
    fn the_scan_root_is_the_widest_scanned_directory_holding_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("services/a");
        fs::create_dir_all(&inner).unwrap();
        let file = inner.join("requirements.txt");
        let scanned = [inner.clone(), dir.path().to_path_buf()];
        assert_eq!(scan_root(&scanned, &file), dir.path());
        assert_eq!(scan_root(&scanned[..1], &file), inner);
        // Named directly: its own directory.
        assert_eq!(scan_root(std::slice::from_ref(&file), &file), inner);
        assert_eq!(
            scan_root(&[], Path::new("requirements.txt")),
            Path::new(".")
        );
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(offset_to_line_column("ab\ncd", 0), (1, 1));
        assert_eq!(offset_to_line_column("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn line_index_agrees_with_counting() {
        let text = "a\n\nbc\nd\n";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                index.line(offset),
                offset_to_line_column(text, offset).0,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn discovery_skips_build_and_vcs_dirs() {
        let dir = tempfile::tempdir().unwrap();
        for sub in [
            "a",
            "target",
            "node_modules/x",
            ".git",
            ".venv/lib",
            "venv",
            ".tox/py",
        ] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
            fs::write(dir.path().join(sub).join("Cargo.lock"), "").unwrap();
        }
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].0.ends_with("a/Cargo.lock"));
    }

    #[cfg(unix)]
    #[test]
    fn discovery_never_follows_a_symlink_out_of_the_tree() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("Cargo.lock"), "").unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("inner")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked-dir")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("Cargo.lock"),
            dir.path().join("inner/Cargo.lock"),
        )
        .unwrap();
        let err = discover(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(matches!(err, Error::SymlinkOutOfTree { .. }), "{err}");
        // The linked directory alone is never walked: nothing found.
        fs::remove_file(dir.path().join("inner/Cargo.lock")).unwrap();
        let err = discover(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(matches!(err, Error::NoneFound { .. }), "{err}");
        // A dangling link is refused the same way.
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("Cargo.lock")).unwrap();
        let err = discover(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(matches!(err, Error::SymlinkOutOfTree { .. }), "{err}");
    }

    #[test]
    fn a_directory_without_lockfiles_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            discover(&[dir.path().to_path_buf()]),
            Err(Error::NoneFound { .. })
        ));
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.lock");
        fs::write(&path, "x".repeat(100)).unwrap();
        assert!(matches!(
            read_limited(&path, 10),
            Err(Error::TooLarge { size: 100, .. })
        ));
    }
}

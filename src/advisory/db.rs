//! The local advisory cache: where databases live, how `vouch db update` refreshes them,
//! and what identifies the copy an audit ran against (source, commit, age).
//!
//! Updates are atomic: a fresh copy is fetched and fully validated beside the old one,
//! then swapped in by rename, under a lock file, so a killed or concurrent update never
//! leaves a half-written database behind. Nothing here reads the network except `update`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::rustsec::{self, RustSecDb};

/// Where RustSec's advisory database is published.
pub const DEFAULT_RUSTSEC_URL: &str = "https://github.com/rustsec/advisory-db.git";

/// Name of the metadata file `vouch db update` writes into each database it fetches.
pub const METADATA_FILE: &str = "vouch-db.json";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no cache directory: set VOUCH_CACHE_DIR or HOME, or pass --db with a database directory"
    )]
    NoCacheDir,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not run git (is it installed?): {0}")]
    GitMissing(#[source] io::Error),
    #[error("git {action} failed for {url}: {stderr}")]
    Git {
        action: &'static str,
        url: String,
        stderr: String,
    },
    #[error("git clone of {url}: no data within {}", seconds_text(*seconds))]
    GitStalled { url: String, seconds: u64 },
    #[error("git clone of {url} did not finish within {}", seconds_text(*seconds))]
    GitDeadline { url: String, seconds: u64 },
    /// The last try's error, after `tries` tries.
    #[error("{last}; gave up after {tries} tries in {}", seconds_text(*seconds))]
    GitGaveUp {
        tries: u32,
        seconds: u64,
        last: Box<Error>,
    },
    #[error("fetched database from {url} is not usable")]
    Invalid {
        url: String,
        #[source]
        source: rustsec::Error,
    },
    #[error("downloading the OSV export failed")]
    Download(#[source] super::fetch::Error),
    #[error("the downloaded OSV export from {url} is not usable")]
    InvalidExport {
        url: String,
        #[source]
        source: super::osv::Error,
    },
    #[error(
        "{path}: the cached database is damaged ({problem}); run `vouch db update` to fetch a fresh copy"
    )]
    Damaged { path: PathBuf, problem: String },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The cache root: `$VOUCH_CACHE_DIR`, else the platform's user cache directory.
pub fn cache_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("VOUCH_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if cfg!(target_os = "macos") {
        if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(home).join("Library/Caches/vouch"));
        }
    } else if cfg!(windows) {
        if let Some(dir) = std::env::var_os("LOCALAPPDATA").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir).join("vouch"));
        }
    } else {
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir).join("vouch"));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(home).join(".cache/vouch"));
        }
    }
    Err(Error::NoCacheDir)
}

/// The RustSec database directory inside a cache root.
pub fn rustsec_dir(cache: &Path) -> PathBuf {
    cache.join("rustsec")
}

/// The OSV database directory inside a cache root (`<Ecosystem>/all.zip`).
pub fn osv_dir(cache: &Path) -> PathBuf {
    cache.join("osv")
}

/// What identifies a database copy, as reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbInfo {
    /// Where it came from: the URL it was fetched from, or the directory given.
    pub source: String,
    /// The git commit of the copy, when known.
    pub commit: Option<String>,
    /// When that commit was made (Unix seconds), when known.
    pub commit_time: Option<i64>,
    /// When `vouch db update` fetched it, when it did.
    pub fetched_at: Option<Timestamp>,
    /// Number of advisories, when counted (at update time).
    pub advisories: Option<usize>,
}

impl DbInfo {
    /// Age of the copy at `now`: since it was fetched, else since its last commit. `None`
    /// when neither is known, which a freshness policy must treat as too old.
    pub fn age_seconds(&self, now: Timestamp) -> Option<i64> {
        let since = self
            .fetched_at
            .map(|t| t.as_second())
            .or(self.commit_time)?;
        Some((now.as_second() - since).max(0))
    }

    /// Describes the database at `root`: its metadata file when `vouch db update` wrote
    /// one, else what the directory itself says (a git checkout's HEAD).
    pub fn read(root: &Path) -> DbInfo {
        if let Ok(text) = fs::read_to_string(root.join(METADATA_FILE))
            && let Ok(info) = serde_json::from_str::<DbInfo>(&text)
        {
            return info;
        }
        DbInfo {
            source: root.display().to_string(),
            commit: git_head(root),
            commit_time: None,
            fetched_at: None,
            advisories: None,
        }
    }
}

/// Reads a checkout's HEAD commit from `.git` without running git (audits stay fast).
fn git_head(root: &Path) -> Option<String> {
    let git = root.join(".git");
    let head = fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else {
        return is_hex_id(head).then(|| head.to_string());
    };
    if let Ok(id) = fs::read_to_string(git.join(reference)) {
        let id = id.trim();
        return is_hex_id(id).then(|| id.to_string());
    }
    let packed = fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (id, name) = line.split_once(' ')?;
        (name == reference && is_hex_id(id)).then(|| id.to_string())
    })
}

fn is_hex_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Hides any `user:password@` in a URL before it is shown anywhere.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Hides the `user:password@` of every URL inside free text (a library's error message
/// that quoted a URL).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| "/?#)\"'<>".contains(c) || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("***@");
                out.push_str(&authority[i + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Fetches the RustSec database from `url` (a git URL or a local repository path) into
/// `cache`, validates every advisory, and swaps it in atomically. Returns the new copy's
/// identity. On any failure the previous copy is left untouched. The clone is bounded as
/// a download is (see [`super::fetch::Limits`]): a server that sends nothing for
/// `limits.stall` fails the try, failed tries are retried, and the whole clone, retries
/// included, is stopped at `limits.timeout`; `progress` is told each try.
pub fn update_rustsec(
    cache: &Path,
    url: &str,
    limits: &super::fetch::Limits,
    progress: &mut dyn FnMut(super::fetch::Progress<'_>),
) -> Result<DbInfo, Error> {
    let lock = lock_cache(cache)?;

    let staging = cache.join(format!(".rustsec.tmp-{}", std::process::id()));
    remove_dir_if_exists(&staging)?;
    let result = fetch_into(&staging, url, limits, progress);
    let info = match result {
        Ok(info) => info,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };

    let target = rustsec_dir(cache);
    let retired = cache.join(format!(".rustsec.old-{}", std::process::id()));
    if target.exists() {
        fs::rename(&target, &retired).map_err(io_error(&target))?;
    }
    fs::rename(&staging, &target).map_err(io_error(&staging))?;
    let _ = fs::remove_dir_all(&retired);
    // Index it now, so the first audit does not pay for it. Best effort: an audit builds
    // a missing index, and every advisory was validated above.
    if let Ok(db) = RustSecDb::open(&target, Some(&rustsec_index_dir(cache))) {
        let _ = db.prepare();
    }
    drop(lock);
    Ok(info)
}

impl Error {
    /// Did `db update` run out of time (a silent server, or the overall deadline)?
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::GitStalled { .. } | Error::GitDeadline { .. } => true,
            Error::GitGaveUp { last, .. } => last.is_timeout(),
            Error::Download(e) => e.is_timeout(),
            _ => false,
        }
    }

    /// May another try of the clone succeed (silence, a dropped or refused connection,
    /// a 5xx)? A missing repository or a bad URL will not.
    fn is_transient(&self) -> bool {
        match self {
            Error::GitStalled { .. } => true,
            Error::Git { stderr, .. } => [
                "Failed to connect",
                "Connection reset",
                "Connection refused",
                "Empty reply",
                "Recv failure",
                "returned error: 5",
                "early EOF",
            ]
            .iter()
            .any(|m| stderr.contains(m)),
            _ => false,
        }
    }
}

/// "1 second", "30 seconds".
fn seconds_text(seconds: u64) -> String {
    if seconds == 1 {
        "1 second".into()
    } else {
        format!("{seconds} seconds")
    }
}

/// Takes the cache's exclusive lock (waiting for another update to finish): every writer
/// of the cache holds it, so concurrent updates take turns and never interleave. The OS
/// releases it when a process dies, so whatever staging is found once it is held was
/// left by a killed update and is cleared here (a killed download can weigh 512 MiB).
fn lock_cache(cache: &Path) -> Result<fs::File, Error> {
    fs::create_dir_all(cache).map_err(io_error(cache))?;
    let lock_path = cache.join(".lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_error(&lock_path))?;
    lock.lock().map_err(io_error(&lock_path))?;
    clear_staging(cache);
    Ok(lock)
}

/// Removes what killed updates staged: `.rustsec.tmp-*` clones, temporary exports and
/// metadata files in `osv/`. A RustSec copy retired by an update killed between its two
/// renames is put back rather than lost.
fn clear_staging(cache: &Path) {
    let remove = |path: &Path| {
        let _ = fs::remove_dir_all(path).or_else(|_| fs::remove_file(path));
    };
    let names = |dir: &Path| -> Vec<(String, PathBuf)> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let rustsec = rustsec_dir(cache);
    for (name, path) in names(cache) {
        if name.starts_with(".rustsec.tmp-") {
            remove(&path);
        } else if name.starts_with(".rustsec.old-") {
            if !rustsec.exists() && fs::rename(&path, &rustsec).is_ok() {
                continue;
            }
            remove(&path);
        }
    }
    let root = osv_dir(cache);
    let mut dirs = vec![root.clone()];
    dirs.extend(
        super::osv::ECOSYSTEMS
            .iter()
            .map(|e| root.join(e.osv_name())),
    );
    for dir in dirs {
        for (name, path) in names(&dir) {
            // tempfile's names: `.all.zip.XXXXXX` (exports), `.tmpXXXXXX` (metadata).
            if name.starts_with(".all.zip.") || name.starts_with(".tmp") {
                remove(&path);
            }
        }
    }
}

/// The directory of the RustSec indexes audits keep between runs (a `--db` directory may
/// be read-only, so they are never kept inside the database).
pub fn rustsec_index_dir(cache: &Path) -> PathBuf {
    cache.join("rustsec-index")
}

/// The directory of the OSV name indexes audits keep between runs.
pub fn osv_index_dir(cache: &Path) -> PathBuf {
    cache.join("osv-index")
}

/// The public OSV export bucket: `<base>/<Ecosystem>/all.zip`.
pub const DEFAULT_OSV_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// What `update_osv` is doing, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum OsvProgress<'a> {
    /// Downloading `what` (`all.zip`, `modified_id.csv`) of the ecosystem.
    Download {
        what: &'a str,
        event: super::fetch::Progress<'a>,
    },
    /// Fetching the records an incremental update needs: `done` of `total`.
    Records { done: usize, total: usize },
    /// Validating and indexing the new export.
    Checking,
}

/// How an ecosystem's export was brought up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OsvUpdate {
    /// The whole `all.zip`; `why` says why not incrementally, when the cache had a copy.
    Full { why: Option<String> },
    /// From `modified_id.csv`: `fetched` records fetched, `dropped` gone, `kept` as they
    /// were.
    Incremental {
        fetched: usize,
        dropped: usize,
        kept: usize,
    },
}

/// A step of an incremental update: done, or the reason to download the whole export
/// instead.
enum Step<T> {
    Done(T),
    Instead(String),
}

/// A fetched record: its id and bytes.
type Record = (String, Vec<u8>);

/// An incremental update fetches at most a tenth of an export's records, and at most
/// `MAX_INCREMENTAL_RECORDS`: past that, one `all.zip` costs less than the requests. (On
/// npm's 200,000-record export, `scripts/bench-osv-scale.sh`: 1,250 changed records are
/// 8.8 MiB against 154 MiB, but 2.7 s more time on loopback, and 157 round trips at 8
/// requests at a time: the faster one on links slower than ~20 MiB/s at 30 ms round
/// trips. At 2,000 records, 250 round trips: still so below ~14 MiB/s.)
const MAX_INCREMENTAL_SHARE: usize = 10;
const MAX_INCREMENTAL_RECORDS: usize = 2_000;
/// Records fetched at once by an incremental update.
const FETCH_THREADS: usize = 8;
/// The largest `modified_id.csv` accepted (npm's is ~10 MB).
const MAX_LISTING_BYTES: u64 = 64 * 1024 * 1024;

/// Brings the OSV export of each of `ecosystems` from `base_url` up to date in the cache,
/// under the cache lock. Where the cache holds a copy with its state, only what changed
/// is fetched (from `modified_id.csv`, unless `full`); otherwise, or when an incremental
/// update cannot be trusted (stale records, an odd listing), the whole `all.zip`. Either
/// way the new export is built in a temporary file beside its place, validated and
/// indexed completely in one pass (see [`super::osv::scan_export`]), synced, then renamed
/// over the old copy: a failure leaves every export not yet replaced as it was.
pub fn update_osv(
    cache: &Path,
    base_url: &str,
    ecosystems: &[crate::package::Ecosystem],
    limits: &super::fetch::Limits,
    full: bool,
    progress: &mut dyn FnMut(crate::package::Ecosystem, OsvProgress<'_>),
) -> Result<Vec<(crate::package::Ecosystem, DbInfo, OsvUpdate)>, Error> {
    let _lock = lock_cache(cache)?;
    let fetcher = super::fetch::Fetcher::new(limits).map_err(Error::Download)?;
    let root = osv_dir(cache);
    let mut updated = Vec::new();
    let mut total = 0;
    for &ecosystem in ecosystems {
        let dir = root.join(ecosystem.osv_name());
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let base = format!(
            "{}/{}",
            base_url.trim_end_matches('/'),
            ecosystem.osv_name()
        );
        let url = format!("{base}/all.zip");
        let target = dir.join("all.zip");
        let mut on = |event: OsvProgress<'_>| progress(ecosystem, event);
        let incremental = if full || !target.is_file() {
            None
        } else {
            Some(incremental(&fetcher, ecosystem, &base, &dir, &mut on)?)
        };
        let (tmp, scan, how) = match incremental {
            Some(Step::Done(staged)) => staged,
            why => {
                let why = match why {
                    Some(Step::Instead(why)) => Some(why),
                    _ => None,
                };
                let mut tmp = tempfile::Builder::new()
                    .prefix(".all.zip.")
                    .tempfile_in(&dir)
                    .map_err(io_error(&dir))?;
                fetcher
                    .download(&url, tmp.as_file_mut(), &mut |event| {
                        on(OsvProgress::Download {
                            what: "all.zip",
                            event,
                        })
                    })
                    .map_err(Error::Download)?;
                tmp.as_file().sync_all().map_err(io_error(tmp.path()))?;
                on(OsvProgress::Checking);
                let scan = super::osv::scan_export(tmp.path(), ecosystem).map_err(|source| {
                    Error::InvalidExport {
                        url: redact_url(&url),
                        source,
                    }
                })?;
                (tmp, scan, OsvUpdate::Full { why })
            }
        };
        // Taken in the scan, of the file that was validated.
        let digest = scan.sha256();
        tmp.persist(&target)
            .map_err(|e| io_error(&target)(e.error))?;
        // The new export's index, built in the pass that validated it (this replaces a
        // damaged one too: this is the repair). Best effort: an audit builds a missing
        // one, and a state that does not match the export only means a full download.
        let index_dir = osv_index_dir(cache);
        let _ = fs::remove_file(super::osv::index_file(&index_dir, ecosystem, &target));
        let _ = scan.store(&index_dir, ecosystem, &target);
        let _ = super::osv::delta::write_state(&dir, &digest, scan.modified());
        let info = DbInfo {
            source: redact_url(&url),
            commit: Some(format!("sha256:{digest}")),
            commit_time: None,
            fetched_at: Some(Timestamp::now()),
            advisories: Some(scan.records()),
        };
        write_metadata(&dir, &info)?;
        total += scan.records();
        updated.push((ecosystem, info, how));
    }
    // The root's metadata dates the whole OSV copy; written last, so a killed update
    // leaves the older date (a freshness policy then errs on the side of "too old").
    let oldest_fetch = updated.iter().filter_map(|(_, i, _)| i.fetched_at).min();
    write_metadata(
        &root,
        &DbInfo {
            source: redact_url(base_url),
            commit: None,
            commit_time: None,
            fetched_at: oldest_fetch,
            advisories: Some(total),
        },
    )?;
    Ok(updated)
}

/// A new export built, validated and indexed in a temporary file, and how.
type Staged = (tempfile::NamedTempFile, super::osv::ExportScan, OsvUpdate);

/// Tries an incremental update of the export in `dir` from `<base>/modified_id.csv`:
/// `Step::Done(staged)` when it worked, `Step::Instead(why)` when a full download should be done
/// instead (no usable state, no listing at the mirror, too many changes, records that do
/// not match the listing), `Err` when the mirror cannot be reached at all.
fn incremental(
    fetcher: &super::fetch::Fetcher,
    ecosystem: crate::package::Ecosystem,
    base: &str,
    dir: &Path,
    on: &mut dyn FnMut(OsvProgress<'_>),
) -> Result<Step<Staged>, Error> {
    use super::osv::delta;
    let target = dir.join("all.zip");
    let Some(state) = delta::read_state(dir) else {
        return Ok(Step::Instead(
            "no record of what the cached copy holds (an older vouch fetched it)".into(),
        ));
    };
    if sha256_file(&target)? != state.digest {
        return Ok(Step::Instead(
            "the cached copy changed since it was fetched".into(),
        ));
    }
    let listing_url = format!("{base}/modified_id.csv");
    let mut bytes = Vec::new();
    match fetcher
        .capped(MAX_LISTING_BYTES)
        .download(&listing_url, &mut bytes, &mut |event| {
            on(OsvProgress::Download {
                what: "modified_id.csv",
                event,
            })
        }) {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {
            return Ok(Step::Instead("the mirror has no modified_id.csv".into()));
        }
        Err(e) => return Err(Error::Download(e)),
    }
    let listing = match delta::parse_listing(&bytes) {
        Ok(listing) => listing,
        Err(e) => return Ok(Step::Instead(format!("modified_id.csv: {e}"))),
    };
    drop(bytes);
    let plan = delta::plan(&state, &listing);
    if plan.fetch.len() > MAX_INCREMENTAL_RECORDS
        || plan.fetch.len() * MAX_INCREMENTAL_SHARE > listing.len()
    {
        return Ok(Step::Instead(format!(
            "{} of {} records changed: one download costs less",
            plan.fetch.len(),
            listing.len()
        )));
    }
    let fetched = match fetch_records(fetcher, base, &plan.fetch, on)? {
        Step::Done(fetched) => fetched,
        Step::Instead(why) => return Ok(Step::Instead(why)),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".all.zip.")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    let mut replace: std::collections::HashSet<String> =
        plan.fetch.iter().map(|l| l.id.clone()).collect();
    replace.extend(plan.drop.iter().cloned());
    // The cached copy or a fetched record may be damaged: a full download replaces both.
    if let Err(e) = delta::rebuild(&target, tmp.as_file_mut(), &replace, &fetched) {
        return Ok(Step::Instead(e.to_string()));
    }
    drop(fetched);
    on(OsvProgress::Checking);
    let scan = match super::osv::scan_export(tmp.path(), ecosystem) {
        Ok(scan) => scan,
        Err(e) => {
            return Ok(Step::Instead(format!(
                "the rebuilt export is not valid: {e}"
            )));
        }
    };
    // The result must hold exactly the listed records, each at least as new as listed:
    // anything else is a mix, and a full download replaces it.
    let listed: HashMap<&str, jiff::Timestamp> = listing
        .iter()
        .map(|l| (l.id.as_str(), l.modified))
        .collect();
    let exact = scan.modified().len() == listed.len()
        && scan.modified().iter().all(|(id, modified)| {
            listed.get(id.as_str()).is_some_and(|want| {
                modified
                    .parse::<jiff::Timestamp>()
                    .is_ok_and(|got| got >= *want)
            })
        });
    if !exact {
        return Ok(Step::Instead(
            "the rebuilt export does not match modified_id.csv".into(),
        ));
    }
    let how = OsvUpdate::Incremental {
        fetched: plan.fetch.len(),
        dropped: plan.drop.len(),
        kept: plan.keep,
    };
    Ok(Step::Done((tmp, scan, how)))
}

/// Fetches `<base>/<ID>.json` for each listed record, `FETCH_THREADS` at a time, each
/// checked to be that record, at least as new as listed: `Step::Instead(why)` when one is not
/// (a mirror caught mid-publication), or is missing.
fn fetch_records(
    fetcher: &super::fetch::Fetcher,
    base: &str,
    wanted: &[super::osv::delta::Listed],
    on: &mut dyn FnMut(OsvProgress<'_>),
) -> Result<Step<Vec<Record>>, Error> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Result<Step<Record>, Error>>();
    let mut fetched = Vec::with_capacity(wanted.len());
    let mut outcome: Result<Step<()>, Error> = Ok(Step::Done(()));
    on(OsvProgress::Records {
        done: 0,
        total: wanted.len(),
    });
    std::thread::scope(|scope| {
        for _ in 0..FETCH_THREADS.min(wanted.len()) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(listed) = wanted.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let result = fetch_record(fetcher, base, listed);
                    if tx.send(result).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for result in rx {
            match result {
                Ok(Step::Done(record)) => {
                    fetched.push(record);
                    on(OsvProgress::Records {
                        done: fetched.len(),
                        total: wanted.len(),
                    });
                }
                Ok(Step::Instead(why)) => {
                    stop.store(true, Ordering::Relaxed);
                    if matches!(outcome, Ok(Step::Done(()))) {
                        outcome = Ok(Step::Instead(why));
                    }
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    if outcome.is_ok() {
                        outcome = Err(e);
                    }
                }
            }
        }
    });
    match outcome {
        Ok(Step::Done(())) => {
            fetched.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Step::Done(fetched))
        }
        Ok(Step::Instead(why)) => Ok(Step::Instead(why)),
        Err(e) => Err(e),
    }
}

/// One record of an incremental update (see [`fetch_records`]).
fn fetch_record(
    fetcher: &super::fetch::Fetcher,
    base: &str,
    listed: &super::osv::delta::Listed,
) -> Result<Step<Record>, Error> {
    #[derive(Deserialize)]
    struct Head {
        id: String,
        modified: Option<String>,
    }
    let url = format!("{base}/{}.json", listed.id);
    let mut bytes = Vec::new();
    match fetcher.download(&url, &mut bytes, &mut |_| {}) {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {
            return Ok(Step::Instead(format!(
                "{}.json is not at the mirror",
                listed.id
            )));
        }
        Err(e) => return Err(Error::Download(e)),
    }
    let head: Head = match serde_json::from_slice(&bytes) {
        Ok(head) => head,
        Err(e) => return Ok(Step::Instead(format!("{}.json: {e}", listed.id))),
    };
    if head.id != listed.id {
        return Ok(Step::Instead(format!(
            "{}.json holds {}",
            listed.id, head.id
        )));
    }
    let current = head
        .modified
        .and_then(|m| m.parse::<jiff::Timestamp>().ok())
        .is_some_and(|m| m >= listed.modified);
    if !current {
        return Ok(Step::Instead(format!(
            "{}.json is older than modified_id.csv says",
            listed.id
        )));
    }
    Ok(Step::Done((listed.id.clone(), bytes)))
}

/// Writes `vouch-db.json` into `dir` atomically.
fn write_metadata(dir: &Path, info: &DbInfo) -> Result<(), Error> {
    let path = dir.join(METADATA_FILE);
    let json = serde_json::to_string_pretty(info).map_err(|e| Error::Io {
        path: path.clone(),
        source: io::Error::other(e),
    })?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_error(dir))?;
    io::Write::write_all(&mut tmp, (json + "\n").as_bytes()).map_err(io_error(&path))?;
    tmp.persist(&path).map_err(|e| io_error(&path)(e.error))?;
    Ok(())
}

/// The hex SHA-256 of the file at `path` (reports name the OSV exports they read by it).
pub fn sha256_file(path: &Path) -> Result<String, Error> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut file = fs::File::open(path).map_err(io_error(path))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = io::Read::read(&mut file, &mut buf).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::package::hex(&hasher.finalize()))
}

/// Checks the cache's OSV copy before an audit trusts it: the root's metadata, and for
/// every ecosystem directory its metadata and its `all.zip` (an ecosystem directory
/// without its export would otherwise be read as a directory of JSON files: none, so
/// "no advisories"). Returns the root's description.
pub fn check_cached_osv(root: &Path) -> Result<DbInfo, Error> {
    let info = check_cached(root, false)?;
    for ecosystem in super::osv::ECOSYSTEMS {
        let dir = root.join(ecosystem.osv_name());
        if !dir.exists() {
            continue;
        }
        check_cached(&dir, false)?;
        let zip = dir.join("all.zip");
        if !zip.is_file() {
            return Err(Error::Damaged {
                path: zip,
                problem: "the export is missing".into(),
            });
        }
    }
    Ok(info)
}

/// Checks a database copy in the cache before an audit trusts it: `vouch db update`
/// always writes metadata, so a copy without readable metadata, or a RustSec copy
/// without advisories, was damaged after the fact and must not read as "no advisories".
pub fn check_cached(dir: &Path, rustsec: bool) -> Result<DbInfo, Error> {
    let damaged = |problem: String| Error::Damaged {
        path: dir.to_path_buf(),
        problem,
    };
    let meta = dir.join(METADATA_FILE);
    let text =
        fs::read_to_string(&meta).map_err(|e| damaged(format!("{}: {e}", meta.display())))?;
    let info: DbInfo =
        serde_json::from_str(&text).map_err(|e| damaged(format!("{}: {e}", meta.display())))?;
    if rustsec {
        let crates = dir.join("crates");
        let any = fs::read_dir(&crates)
            .map_err(|e| damaged(format!("{}: {e}", crates.display())))?
            .next()
            .is_some();
        if !any {
            return Err(damaged(format!("{} holds no advisories", crates.display())));
        }
    }
    Ok(info)
}

fn remove_dir_if_exists(dir: &Path) -> Result<(), Error> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(dir)(e)),
        _ => Ok(()),
    }
}

fn fetch_into(
    staging: &Path,
    url: &str,
    limits: &super::fetch::Limits,
    progress: &mut dyn FnMut(super::fetch::Progress<'_>),
) -> Result<DbInfo, Error> {
    // A local repository is cloned through file:// so that --depth applies.
    let clone_url = match fs::canonicalize(url) {
        Ok(path) if path.is_dir() => format!("file://{}", path.display()),
        _ => url.to_string(),
    };
    super::fetch::retrying(
        limits,
        progress,
        |deadline, _| {
            remove_dir_if_exists(staging)?;
            clone(staging, &clone_url, url, limits, deadline)
        },
        Error::is_transient,
        |tries, seconds, last| Error::GitGaveUp {
            tries,
            seconds,
            last: Box::new(last),
        },
    )?;
    let count = RustSecDb::open(staging, None)
        .and_then(|db| db.load_all())
        .map_err(|source| Error::Invalid {
            url: redact_url(url),
            source,
        })?;
    let log = git(
        "log",
        url,
        Command::new("git")
            .arg("-C")
            .arg(staging)
            .args(["log", "-1", "--format=%H %ct"]),
    )?;
    let mut parts = log.split_whitespace();
    let info = DbInfo {
        source: redact_url(url),
        commit: parts.next().map(str::to_string),
        commit_time: parts.next().and_then(|t| t.parse().ok()),
        fetched_at: Some(Timestamp::now()),
        advisories: Some(count),
    };
    let meta_path = staging.join(METADATA_FILE);
    let json = serde_json::to_string_pretty(&info).map_err(|e| Error::Io {
        path: meta_path.clone(),
        source: io::Error::other(e),
    })?;
    fs::write(&meta_path, json + "\n").map_err(io_error(&meta_path))?;
    Ok(info)
}

/// Runs git without a terminal prompt, returning stdout; stderr goes into the error with
/// any credentials in the URL redacted.
fn git(action: &'static str, url: &str, command: &mut Command) -> Result<String, Error> {
    let output = command
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(Error::GitMissing)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.replace(url, &redact_url(url));
        return Err(Error::Git {
            action,
            url: redact_url(url),
            stderr: stderr.trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// `git clone --depth 1` of `clone_url` into `staging`, bounded: git's own low-speed
/// limit ends a try on a server that sends nothing for `limits.stall` (over http(s)), and
/// the process is killed at `deadline` whatever it is doing (git has no overall timeout,
/// and a silent server otherwise keeps it waiting for good).
fn clone(
    staging: &Path,
    clone_url: &str,
    url: &str,
    limits: &super::fetch::Limits,
    deadline: std::time::Instant,
) -> Result<(), Error> {
    let stall = limits.stall.min(limits.timeout).as_secs().max(1);
    let shown = redact_url(url);
    let mut stderr = tempfile::tempfile().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut child = Command::new("git")
        .args(["-c", "http.lowSpeedLimit=1", "-c"])
        .arg(format!("http.lowSpeedTime={stall}"))
        .args(["clone", "--quiet", "--depth", "1", "--single-branch", "--"])
        .arg(clone_url)
        .arg(staging)
        .env("GIT_TERMINAL_PROMPT", "0")
        // curl's messages, which tell a stall from other failures, in one language.
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr.try_clone().map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?)
        .spawn()
        .map_err(Error::GitMissing)?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::GitDeadline {
                    url: shown,
                    seconds: limits.timeout.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(e) => return Err(Error::GitMissing(e)),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let _ = io::Seek::rewind(&mut stderr);
    let _ = io::Read::read_to_string(&mut stderr, &mut text);
    if text.contains("Operation too slow") {
        return Err(Error::GitStalled {
            url: shown,
            seconds: stall,
        });
    }
    Err(Error::Git {
        action: "clone",
        url: shown,
        stderr: text.replace(url, &redact_url(url)).trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(
            redact_url("https://user:s3cret@example.test/db.git"),
            "https://***@example.test/db.git"
        );
        assert_eq!(
            redact_url("https://example.test/a@b"),
            "https://example.test/a@b"
        );
        assert_eq!(redact_url("/local/path"), "/local/path");
    }

    #[test]
    fn credentials_in_free_text_are_redacted() {
        assert_eq!(
            redact_text("error for url (http://u:s3cret@127.0.0.1:9/x) and https://t@h"),
            "error for url (http://***@127.0.0.1:9/x) and https://***@h"
        );
        assert_eq!(
            redact_text("redirect to \"http://a:b@h:1\""),
            "redirect to \"http://***@h:1\""
        );
        assert_eq!(redact_text("no url here"), "no url here");
        assert_eq!(redact_text("a://"), "a://");
    }

    #[test]
    fn age_prefers_fetch_time_and_is_unknown_without_either() {
        let now = Timestamp::from_second(1_000_000).unwrap();
        let mut info = DbInfo {
            source: "x".into(),
            commit: None,
            commit_time: Some(999_000),
            fetched_at: None,
            advisories: None,
        };
        assert_eq!(info.age_seconds(now), Some(1000));
        info.fetched_at = Some(Timestamp::from_second(999_900).unwrap());
        assert_eq!(info.age_seconds(now), Some(100));
        info.fetched_at = None;
        info.commit_time = None;
        assert_eq!(info.age_seconds(now), None);
    }

    #[test]
    fn taking_the_lock_clears_what_killed_updates_staged() {
        let cache = tempfile::tempdir().unwrap();
        let c = cache.path();
        fs::create_dir_all(c.join("osv/npm")).unwrap();
        fs::write(c.join("osv/npm/.all.zip.AbC123"), b"half").unwrap();
        fs::write(c.join("osv/npm/.tmpXyZ"), b"meta").unwrap();
        fs::write(c.join("osv/npm/all.zip"), b"kept").unwrap();
        fs::create_dir_all(c.join(".rustsec.tmp-42/crates")).unwrap();
        // Killed between its two renames: the retired copy is the only one left.
        fs::create_dir_all(c.join(".rustsec.old-41/crates/x")).unwrap();
        let lock = lock_cache(c).unwrap();
        let mut left: Vec<String> = fs::read_dir(c.join("osv/npm"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["all.zip"]);
        assert!(!c.join(".rustsec.tmp-42").exists());
        assert!(!c.join(".rustsec.old-41").exists());
        assert!(rustsec_dir(c).join("crates/x").is_dir(), "restored");
        drop(lock);
    }
}

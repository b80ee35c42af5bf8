//! The name index of an OSV export: normalised package name → where the entries that name
//! it sit in the zip, built by reading every entry once (the same pass that validates an
//! export at `vouch db update`) and cached between runs with a stamp of the export it was
//! built from and checksums of itself. A stale index is rebuilt; a damaged one is an
//! error, never "no advisories".
//!
//! The cached form is made for warm audits of big exports (npm's has ~214,000 records):
//! rows of fixed size sorted by a 64-bit key of the package name, preceded by the high 32
//! bits of every row's key. A run reads and checks only those short keys (4 bytes a row:
//! 0.8 MB for npm) and searches them in place, then reads the rows of the names it looks
//! up, each checked against its own CRC-32; it never parses the index. Keys are the
//! first 8 bytes of the name's SHA-256: two names sharing a key (or a short key) only
//! make a run read a row, or an entry it then finds is about another package (the
//! record's own names decide), never miss one.
//!
//! The index also keeps the export's SHA-256, which reports name the export by, so a warm
//! audit does not hash the whole export again. It is trusted on the same terms as the
//! rest of the index (the export's size and modification time are the stamp), and only
//! when it was taken of a file whose modification time was already [`RACY`] old: a file
//! rewritten after that gets a later time, so its stamp no longer matches and the index
//! (digest and all) is built again. A digest taken sooner is not kept; the first audit that
//! needs it once the file is old enough hashes the file and keeps it then.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use sha2::Digest;

use super::export::{EntrySpan, each_entry};
use super::record::{OsvPackage, check_names_a_package};
use super::{Error, OsvDb, invalid, io_error, normalize, sha2_hex};
use crate::package::Ecosystem;

/// Only the part of a record the index (and an incremental update) needs.
#[derive(Deserialize)]
struct IndexProbe {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    affected: Vec<IndexProbeAffected>,
}

#[derive(Deserialize)]
struct IndexProbeAffected {
    package: Option<OsvPackage>,
}

/// What the index reads of one record.
pub(super) struct Probe {
    pub(super) modified: Option<String>,
    pub(super) packages: Vec<OsvPackage>,
}

/// The index key of a normalised package name.
pub(super) fn name_key(normalized: &str) -> u64 {
    let digest = sha2::Sha256::digest(normalized.as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(key)
}

/// One row: key, local header offset, compressed size, size and CRC-32 of the entry,
/// and the row's own CRC-32 (little-endian).
const ROW: usize = 8 + 8 + 4 + 4 + 4 + 4;

/// The name index of one zip export: rows sorted by key (then offset), the high 32 bits
/// of each row's key in the same order (what a lookup searches: 4 bytes a row), how
/// many advisories the export holds (never zero: an empty export is refused), and the
/// export's SHA-256 when it could be trusted at the build (see the module's docs).
pub(super) struct ZipIndex {
    records: u64,
    keys: Vec<u32>,
    rows: Rows,
    sha256: Option<[u8; 32]>,
}

/// A file modified less than this long before it was hashed may still change within the
/// same timestamp tick (a coarse clock), which its stamp would not show.
const RACY: Duration = Duration::from_secs(2);

/// Where an index's rows are: built in this run, or in the cached file from byte `at`,
/// read only for the keys a run looks up (each checked against its own CRC-32), so a warm
/// run reads 4 bytes per row up front instead of 32.
enum Rows {
    Memory(Vec<u8>),
    File {
        file: Mutex<fs::File>,
        path: PathBuf,
        at: u64,
    },
}

impl std::fmt::Debug for ZipIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipIndex")
            .field("records", &self.records)
            .field("rows", &self.keys.len())
            .finish()
    }
}

fn short_key(key: u64) -> u32 {
    (key >> 32) as u32
}

impl ZipIndex {
    fn from_rows(records: u64, mut rows: Vec<(u64, EntrySpan)>) -> ZipIndex {
        rows.sort_unstable();
        // A record naming one package in several `affected` entries is read once.
        rows.dedup();
        let mut bytes = Vec::with_capacity(rows.len() * ROW);
        let mut keys = Vec::with_capacity(rows.len());
        for (key, span) in rows {
            let at = bytes.len();
            bytes.extend_from_slice(&key.to_le_bytes());
            bytes.extend_from_slice(&span.header.to_le_bytes());
            bytes.extend_from_slice(&span.compressed.to_le_bytes());
            bytes.extend_from_slice(&span.size.to_le_bytes());
            bytes.extend_from_slice(&span.crc32.to_le_bytes());
            let sum = crc32fast::hash(&bytes[at..]);
            bytes.extend_from_slice(&sum.to_le_bytes());
            keys.push(short_key(key));
        }
        ZipIndex {
            records,
            keys,
            rows: Rows::Memory(bytes),
            sha256: None,
        }
    }

    /// Where the entries filed under `key` sit. A row that does not match its checksum
    /// or its short key is an error (the cached index is damaged), never "none".
    pub(super) fn entries(&self, key: u64) -> Result<Vec<EntrySpan>, Error> {
        let short = short_key(key);
        let lo = self.keys.partition_point(|&k| k < short);
        let n = self.keys[lo..].iter().take_while(|&&k| k == short).count();
        if n == 0 {
            return Ok(Vec::new());
        }
        let bytes = match &self.rows {
            Rows::Memory(bytes) => bytes[lo * ROW..(lo + n) * ROW].to_vec(),
            Rows::File { file, path, at } => {
                let damaged = |message: &str| Error::CorruptIndex {
                    path: path.clone(),
                    message: message.to_string(),
                };
                let mut bytes = vec![0u8; n * ROW];
                let mut file = file
                    .lock()
                    .map_err(|_| damaged("a lookup failed part-way before"))?;
                file.seek(io::SeekFrom::Start(at + (lo * ROW) as u64))
                    .and_then(|_| file.read_exact(&mut bytes))
                    .map_err(|_| damaged("it is cut short"))?;
                bytes
            }
        };
        let mut spans = Vec::new();
        for (i, row) in bytes.chunks_exact(ROW).enumerate() {
            let row_key = u64_at(row, 0);
            if crc32fast::hash(&row[..ROW - 4]) != u32_at(row, ROW - 4)
                || short_key(row_key) != self.keys[lo + i]
            {
                return Err(self.damaged("a row does not match its checksum"));
            }
            if row_key == key {
                spans.push(EntrySpan {
                    header: u64_at(row, 8),
                    compressed: u32_at(row, 16),
                    size: u32_at(row, 20),
                    crc32: u32_at(row, 24),
                });
            }
        }
        Ok(spans)
    }

    fn damaged(&self, message: &str) -> Error {
        let path = match &self.rows {
            Rows::File { path, .. } => path.clone(),
            Rows::Memory(_) => PathBuf::from("(the index built in this run)"),
        };
        Error::CorruptIndex {
            path,
            message: message.to_string(),
        }
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// One pass over a zip export: every entry read under the limits and checked to be an
/// OSV record with an id (what `vouch db update` requires before a download replaces the
/// cached copy), indexed by the names it gives for `ecosystem`, and each record's
/// `modified` noted (what an incremental update compares with `modified_id.csv`).
pub struct ExportScan {
    index: ZipIndex,
    modified: Vec<(String, String)>,
    sha256: [u8; 32],
}

impl ExportScan {
    /// The hex SHA-256 of the scanned file.
    pub fn sha256(&self) -> String {
        crate::package::hex(&self.sha256)
    }

    /// How many advisories the export holds (at least one).
    pub fn records(&self) -> usize {
        self.index.records as usize
    }

    /// (id, `modified`) of every record, ids from the entry names (`<ID>.json`);
    /// `modified` is empty when a record has none.
    pub fn modified(&self) -> &[(String, String)] {
        &self.modified
    }

    /// Caches the index for `zip`, the scanned file at its final place (a rename keeps
    /// the size and modification time the stamp is made of), in `index_dir`.
    pub fn store(&self, index_dir: &Path, ecosystem: Ecosystem, zip: &Path) -> io::Result<()> {
        let stamp = stamp(zip).map_err(|e| io::Error::other(e.to_string()))?;
        store_index(&index_file(index_dir, ecosystem, zip), &stamp, &self.index)
    }
}

/// Validates and indexes the zip export `zip` of `ecosystem` in one pass (see
/// [`ExportScan`]). An export without a single advisory is an error: read as is, it
/// would say "no advisories" for every package.
pub fn scan_export(zip: &Path, ecosystem: Ecosystem) -> Result<ExportScan, Error> {
    let before = file_version(zip)?;
    let sha256 = sha256_file(zip)?;
    let mut rows = Vec::new();
    let mut modified = Vec::new();
    let mut records: u64 = 0;
    each_entry(zip, |entry, span, bytes| {
        let probe = probe(bytes).map_err(|e| invalid(zip, format!("{entry}: {e}")))?;
        records += 1;
        for package in probe.packages {
            if package.ecosystem == ecosystem.osv_name() {
                rows.push((name_key(&normalize(ecosystem, &package.name)), span));
            }
        }
        let id = entry.strip_suffix(".json").unwrap_or(entry).to_string();
        modified.push((id, probe.modified.unwrap_or_default()));
        Ok(())
    })?;
    if records == 0 {
        return Err(Error::Empty {
            path: zip.to_path_buf(),
        });
    }
    let mut index = ZipIndex::from_rows(records, rows);
    // Kept only when the file was old enough and did not change during the scan.
    if !racy(before.1) && file_version(zip)? == before {
        index.sha256 = Some(sha256);
    }
    Ok(ExportScan {
        index,
        modified,
        sha256,
    })
}

/// A file's size and modification time.
fn file_version(path: &Path) -> Result<(u64, SystemTime), Error> {
    let meta = fs::metadata(path).map_err(io_error(path))?;
    let modified = meta.modified().map_err(io_error(path))?;
    Ok((meta.len(), modified))
}

/// Was a file modified at `modified` too recently for its timestamp to show a change?
fn racy(modified: SystemTime) -> bool {
    SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|age| age < RACY)
        || modified > SystemTime::now()
}

/// The SHA-256 of the file at `path`.
fn sha256_file(path: &Path) -> Result<[u8; 32], Error> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(io_err)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// The zip version an index is valid for: the format, the file's size and modification
/// time.
fn stamp(zip: &Path) -> Result<String, Error> {
    let meta = fs::metadata(zip).map_err(io_error(zip))?;
    Ok(format!(
        "{INDEX_FORMAT}-{}-{}",
        meta.len(),
        meta.modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos())
    ))
}

impl OsvDb {
    /// The zip's index: from the cache when it was built for this exact file (size and
    /// modification time), else built by reading every entry once, then cached.
    pub(super) fn zip_index(&self, ecosystem: Ecosystem, zip: &Path) -> Result<ZipIndex, Error> {
        let built_for = stamp(zip)?;
        let cached = self
            .index_cache
            .as_ref()
            .map(|dir| index_file(dir, ecosystem, zip));
        if let Some(path) = &cached
            && let Some(index) = load_index(path, &built_for)?
        {
            return Ok(index);
        }
        let mut scan = scan_export(zip, ecosystem)?;
        if stamp(zip)? != built_for {
            // Changed during the scan: good for this run's lookups (each entry is checked
            // against its CRC-32), not to be kept, and its digest may not be the file's.
            scan.index.sha256 = None;
        } else if let Some(path) = &cached {
            // Best effort: a read-only cache only costs speed, never correctness.
            let _ = store_index(path, &built_for, &scan.index);
        }
        Ok(scan.index)
    }

    /// The hex SHA-256 of the export `zip`, whose index is `index`: the one the index
    /// keeps, else the file hashed now (and kept in the cached index when the file is
    /// old enough for that to be safe).
    pub(super) fn zip_sha256(&self, zip: &Path, index: &ZipIndex) -> Result<String, Error> {
        if let Some(digest) = index.sha256 {
            return Ok(crate::package::hex(&digest));
        }
        let before = file_version(zip)?;
        let digest = sha256_file(zip)?;
        if let Rows::File { path, .. } = &index.rows
            && !racy(before.1)
            && file_version(zip)? == before
            && let Ok(stamp) = stamp(zip)
        {
            // Best effort, as storing the index is.
            let _ = store_digest(path, &stamp, &digest);
        }
        Ok(crate::package::hex(&digest))
    }
}

/// Bumped whenever the cached index's shape changes, so an old cache is rebuilt.
const INDEX_FORMAT: &str = "v5";

/// A cached index file: this magic, the stamp (u32 length, bytes), the record count and
/// the row count (u64 each), the export's SHA-256 (a byte saying whether it is known, 32
/// bytes), the CRC-32 of all that and the short keys, the short keys (u32 each), then the
/// rows (each with its own CRC-32). A run reads the file up to the
/// rows, checks it, and reads only the rows of the keys it looks up. The lengths and the
/// checksums catch an index cut short, garbled or emptied: read as is, it would say "no
/// advisories". (CRC-32, the zip entries' own check, rather than SHA-256: it finds the
/// same damage at a fraction of the time. Neither would stop someone who can write the
/// cache and recomputes the sums; such a person can as well rewrite the export.)
const MAGIC: &[u8; 16] = b"vouch-osv-index\n";
/// The record count, the row count, the digest and the checksum.
const HEAD: usize = 8 + 8 + 1 + 32 + 4;
/// Where the checksum starts in the head.
const HEAD_SUM: usize = HEAD - 4;

/// Where the index of the export `zip` of `ecosystem` is kept inside `dir`.
pub fn index_file(dir: &Path, ecosystem: Ecosystem, zip: &Path) -> PathBuf {
    dir.join(format!("{}.idx", index_name(ecosystem, zip)))
}

fn index_name(ecosystem: Ecosystem, zip: &Path) -> String {
    let canonical = fs::canonicalize(zip).unwrap_or_else(|_| zip.to_path_buf());
    let key = sha2_hex(canonical.to_string_lossy().as_bytes());
    format!("{}-{}", ecosystem.purl_type(), &key[..16])
}

/// The cached index at `path` when it was built for the zip version `stamp`; `None` when
/// there is none or it is for another version (or an older format: rebuilt). A damaged
/// index is an error naming the file.
fn load_index(path: &Path, stamp: &str) -> Result<Option<ZipIndex>, Error> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_err(source)),
    };
    let corrupt = |message: &str| Error::CorruptIndex {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    let len = file.metadata().map_err(io_err)?.len();
    let mut read = |n: u64| -> Result<Vec<u8>, Error> {
        let mut bytes = vec![0u8; usize::try_from(n).map_err(|_| corrupt("it is too large"))?];
        file.read_exact(&mut bytes).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => corrupt("it is cut short"),
            _ => io_err(e),
        })?;
        Ok(bytes)
    };
    let Ok(start) = read((MAGIC.len() + 4) as u64) else {
        return older_or_corrupt(path);
    };
    if start[..MAGIC.len()] != MAGIC[..] {
        return older_or_corrupt(path);
    }
    let stamp_len = u64::from(u32_at(&start, MAGIC.len()));
    if stamp_len > 4096 {
        return Err(corrupt("its stamp is too long"));
    }
    if read(stamp_len)? != stamp.as_bytes() {
        return Ok(None);
    }
    let head = read(HEAD as u64)?;
    let (records, rows) = (u64_at(&head, 0), u64_at(&head, 8));
    let before_rows = (MAGIC.len() + 4 + HEAD) as u64 + stamp_len;
    let expected = rows
        .checked_mul((4 + ROW) as u64)
        .and_then(|n| n.checked_add(before_rows));
    if expected != Some(len) {
        return Err(corrupt("its length does not match its row count"));
    }
    let keys = read(rows * 4)?;
    let mut summed = crc32fast::Hasher::new();
    summed.update(&head[..HEAD_SUM]);
    summed.update(&keys);
    if summed.finalize() != u32_at(&head, HEAD_SUM) {
        return Err(corrupt("its content does not match its checksum"));
    }
    let sha256 = match head[16] {
        0 => None,
        1 => {
            let mut digest = [0u8; 32];
            digest.copy_from_slice(&head[17..HEAD_SUM]);
            Some(digest)
        }
        _ => return Err(corrupt("its digest flag is neither 0 nor 1")),
    };
    if records == 0 {
        return Err(corrupt("it says the export holds no advisories"));
    }
    let keys: Vec<u32> = keys
        .chunks_exact(4)
        .map(|k| u32::from_le_bytes([k[0], k[1], k[2], k[3]]))
        .collect();
    if keys.windows(2).any(|w| w[0] > w[1]) {
        return Err(corrupt("its rows are out of order"));
    }
    Ok(Some(ZipIndex {
        records,
        keys,
        rows: Rows::File {
            file: Mutex::new(file),
            path: path.to_path_buf(),
            at: before_rows + rows * 4,
        },
        sha256,
    }))
}

/// A file that is not an index of this format: an earlier one (stale, rebuilt) or
/// damage (an error).
fn older_or_corrupt(path: &Path) -> Result<Option<ZipIndex>, Error> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    if is_older_format(&bytes) {
        Ok(None)
    } else {
        Err(Error::CorruptIndex {
            path: path.to_path_buf(),
            message: "not an index file".into(),
        })
    }
}

/// Earlier formats were JSON: one object with a `stamp`, or a JSON header line with a
/// `stamp` and the index after it. Those are stale, not damaged.
fn is_older_format(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(first)
        .ok()
        .or_else(|| serde_json::from_slice(bytes).ok())
        .is_some_and(|v| v.get("stamp").is_some_and(|s| s.is_string()))
}

/// Writes an index built in this run through a temporary file and a rename (readers see
/// all or nothing).
fn store_index(path: &Path, stamp: &str, index: &ZipIndex) -> io::Result<()> {
    let Rows::Memory(rows) = &index.rows else {
        return Err(io::Error::other(
            "an index read from a file is stored already",
        ));
    };
    let keys_len = index.keys.len() * 4;
    let mut bytes =
        Vec::with_capacity(MAGIC.len() + 4 + stamp.len() + HEAD + keys_len + rows.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(
        &u32::try_from(stamp.len())
            .map_err(io::Error::other)?
            .to_le_bytes(),
    );
    bytes.extend_from_slice(stamp.as_bytes());
    let mut head = Vec::with_capacity(HEAD_SUM);
    head.extend_from_slice(&index.records.to_le_bytes());
    head.extend_from_slice(&(index.keys.len() as u64).to_le_bytes());
    head.push(u8::from(index.sha256.is_some()));
    head.extend_from_slice(&index.sha256.unwrap_or_default());
    let keys: Vec<u8> = index.keys.iter().flat_map(|k| k.to_le_bytes()).collect();
    let mut summed = crc32fast::Hasher::new();
    summed.update(&head);
    summed.update(&keys);
    bytes.extend_from_slice(&head);
    bytes.extend_from_slice(&summed.finalize().to_le_bytes());
    bytes.extend_from_slice(&keys);
    bytes.extend_from_slice(rows);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    replace_file(path, &bytes)?;
    // The previous format (JSON) kept the same index beside it, under another name.
    let _ = fs::remove_file(path.with_extension("json"));
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Records `digest` in the cached index at `path`, built for `stamp`, that has none: the
/// same file with its digest and checksum set, or nothing when it is not that index.
fn store_digest(path: &Path, stamp: &str, digest: &[u8; 32]) -> io::Result<()> {
    let mut bytes = fs::read(path)?;
    let head_at = MAGIC.len() + 4 + stamp.len();
    let keys_at = head_at + HEAD;
    let rows = bytes
        .get(head_at + 8..head_at + 16)
        .map(|b| u64_at(b, 0) as usize);
    let expected_head = {
        let mut start = MAGIC.to_vec();
        start.extend_from_slice(&(stamp.len() as u32).to_le_bytes());
        start.extend_from_slice(stamp.as_bytes());
        start
    };
    let Some(keys_end) = rows
        .and_then(|rows| rows.checked_mul(4))
        .and_then(|n| n.checked_add(keys_at))
        .filter(|&end| end <= bytes.len() && bytes.starts_with(&expected_head))
    else {
        return Err(io::Error::other("not the index it was read as"));
    };
    let mut summed = crc32fast::Hasher::new();
    summed.update(&bytes[head_at..head_at + HEAD_SUM]);
    summed.update(&bytes[keys_at..keys_end]);
    if summed.finalize() != u32_at(&bytes, head_at + HEAD_SUM) || bytes[head_at + 16] != 0 {
        return Err(io::Error::other("not the index it was read as"));
    }
    bytes[head_at + 16] = 1;
    bytes[head_at + 17..head_at + HEAD_SUM].copy_from_slice(digest);
    let mut summed = crc32fast::Hasher::new();
    summed.update(&bytes[head_at..head_at + HEAD_SUM]);
    summed.update(&bytes[keys_at..keys_end]);
    let sum = summed.finalize().to_le_bytes();
    bytes[head_at + HEAD_SUM..keys_at].copy_from_slice(&sum);
    replace_file(path, &bytes)
}

/// The id, `modified` and package names of one record; for an entry that is not an OSV
/// record with an id, what is wrong (with line and column), for the caller to name it.
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, String> {
    let probe: IndexProbe = serde_json::from_slice(bytes)
        .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?;
    if probe.id.trim().is_empty() {
        return Err("an advisory without an id".into());
    }
    let packages: Vec<OsvPackage> = probe
        .affected
        .into_iter()
        .filter_map(|a| a.package)
        .collect();
    check_names_a_package(&probe.id, &probe.aliases, packages.len())?;
    Ok(Probe {
        modified: probe.modified,
        packages,
    })
}

/// The in-memory index of a directory export: normalised name → file names. (Directory
/// exports are read in place and not cached: they are what a user points `--osv` at.)
pub(super) type DirIndex = HashMap<String, Vec<String>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::osv::record::OsvRecord;

    #[test]
    fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
        // serde_json's default recursion limit (128) stops it, in the full record (also in
        // what matching passes over) and in the index probe; nothing in the tree enables
        // `unbounded_depth`.
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
        assert!(probe(nested("affected").as_bytes()).is_err());
        assert!(serde_json::from_str::<OsvRecord>(&nested("affected")).is_err());
    }

    fn span(header: u64) -> EntrySpan {
        EntrySpan {
            header,
            compressed: 10,
            size: 20,
            crc32: 30,
        }
    }

    #[test]
    fn lookups_find_every_entry_of_a_name_and_nothing_else() {
        let (a, b) = (name_key("left-pad"), name_key("lodash"));
        // A key sharing `a`'s short key: its rows are read and passed over.
        let twin = a ^ 1;
        let index = ZipIndex::from_rows(
            3,
            vec![
                (b, span(7)),
                (a, span(5)),
                (twin, span(9)),
                (a, span(1)),
                (a, span(5)),
            ],
        );
        assert_eq!(
            index.entries(a).unwrap(),
            [span(1), span(5)],
            "sorted, deduplicated"
        );
        assert_eq!(index.entries(twin).unwrap(), [span(9)]);
        assert_eq!(index.entries(b).unwrap(), [span(7)]);
        assert!(index.entries(name_key("express")).unwrap().is_empty());
        assert!(
            ZipIndex::from_rows(1, Vec::new())
                .entries(a)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_cached_index_is_reused_rebuilt_when_stale_and_refused_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("npm-0.idx");
        let (a, b) = (name_key("left-pad"), name_key("lodash"));
        let index = ZipIndex::from_rows(2, vec![(a, span(0)), (b, span(40))]);
        assert!(load_index(&path, "s1").unwrap().is_none(), "none yet");
        store_index(&path, "s1", &index).unwrap();
        let loaded = load_index(&path, "s1").unwrap().unwrap();
        assert_eq!(loaded.entries(a).unwrap(), [span(0)]);
        assert_eq!(loaded.entries(b).unwrap(), [span(40)]);
        assert_eq!(loaded.records, 2);
        assert!(
            load_index(&path, "s2").unwrap().is_none(),
            "another zip: rebuilt"
        );

        let good = fs::read(&path).unwrap();
        let rows_at = good.len() - 2 * ROW;
        let keys_at = rows_at - 2 * 4;
        let head_at = keys_at - HEAD;
        // Emptied: no keys nor rows, the header's counts rewritten to match.
        let mut emptied = good[..keys_at].to_vec();
        emptied[head_at + 8..head_at + 16].copy_from_slice(&0u64.to_le_bytes());
        let mut garbled_key = good.clone();
        garbled_key[keys_at + 1] ^= 0x10;
        // No advisories at all, with a checksum that matches: still refused.
        store_index(&path, "s1", &ZipIndex::from_rows(0, Vec::new())).unwrap();
        let zero = fs::read(&path).unwrap();
        for (what, damaged) in [
            ("emptied", emptied),
            ("a garbled key", garbled_key),
            ("cut short", good[..good.len() - 3].to_vec()),
            ("header only", good[..20].to_vec()),
            ("zero records", zero),
            ("garbage", b"garbage".to_vec()),
            ("not a stamp", b"{\"stamp\":1}\n{}".to_vec()),
        ] {
            fs::write(&path, &damaged).unwrap();
            let err = load_index(&path, "s1").expect_err(what);
            assert!(matches!(err, Error::CorruptIndex { .. }), "{what}: {err}");
            assert!(err.to_string().contains("vouch db update"), "{what}: {err}");
        }
        // A garbled row loads (rows are read when looked up) and fails its lookup; the
        // other row still answers.
        let (first, (second, second_span)) = if a < b {
            (a, (b, span(40)))
        } else {
            (b, (a, span(0)))
        };
        for at in [rows_at + 9, rows_at + ROW - 1] {
            let mut garbled = good.clone();
            garbled[at] ^= 0x01;
            fs::write(&path, &garbled).unwrap();
            let loaded = load_index(&path, "s1").unwrap().unwrap();
            let err = loaded.entries(first).expect_err("a garbled row");
            assert!(matches!(err, Error::CorruptIndex { .. }), "{err}");
            assert!(err.to_string().contains("npm-0.idx"), "{err}");
            assert_eq!(loaded.entries(second).unwrap(), [second_span]);
        }
        // The previous formats (JSON) are stale, not damaged.
        fs::write(&path, br#"{"stamp":"v2-1-2","names":{}}"#).unwrap();
        assert!(load_index(&path, "s1").unwrap().is_none());
        fs::write(&path, b"{\"stamp\":\"v3-1-2\",\"digest\":\"00\"}\n{}").unwrap();
        assert!(load_index(&path, "s1").unwrap().is_none());
    }

    /// A zip export of two npm records, modified `age` ago.
    fn export(dir: &Path, age: Duration) -> PathBuf {
        use std::io::Write as _;
        let path = dir.join("all.zip");
        let mut writer = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        for (id, name) in [("GHSA-1", "left-pad"), ("GHSA-2", "lodash")] {
            writer
                .start_file(
                    format!("{id}.json"),
                    zip::write::SimpleFileOptions::default(),
                )
                .unwrap();
            write!(
                writer,
                r#"{{"id":"{id}","affected":[{{"package":{{"ecosystem":"npm","name":"{name}"}}}}]}}"#
            )
            .unwrap();
        }
        writer.finish().unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    fn hex_of(path: &Path) -> String {
        crate::package::hex(&sha2::Sha256::digest(fs::read(path).unwrap()))
    }

    /// The report's export digest comes from the index once the export is old enough to
    /// be trusted by its stamp; an index of a just-written export keeps none, and the
    /// first lookup after that hashes the file and keeps the digest. A stored digest is
    /// covered by the index's checksum.
    #[test]
    fn the_export_digest_is_kept_only_when_its_stamp_can_vouch_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let old = export(dir.path(), Duration::from_secs(60));
        let scan = scan_export(&old, Ecosystem::Npm).unwrap();
        assert_eq!(scan.sha256(), hex_of(&old));
        assert_eq!(
            scan.index.sha256.map(|d| crate::package::hex(&d)),
            Some(hex_of(&old))
        );

        let db = OsvDb::open(dir.path(), Some(&cache)).unwrap();
        let built = db.zip_index(Ecosystem::Npm, &old).unwrap();
        assert!(matches!(built.rows, Rows::Memory(_)));
        let loaded = db.zip_index(Ecosystem::Npm, &old).unwrap();
        assert!(matches!(loaded.rows, Rows::File { .. }), "cached");
        assert_eq!(db.zip_sha256(&old, &loaded).unwrap(), hex_of(&old));
        assert!(loaded.sha256.is_some(), "read from the index, not hashed");

        // Garbled digest: the index's checksum catches it.
        let idx = index_file(&cache, Ecosystem::Npm, &old);
        let good = fs::read(&idx).unwrap();
        let stamp_len = u32_at(&good, MAGIC.len()) as usize;
        let digest_at = MAGIC.len() + 4 + stamp_len + 17;
        let mut garbled = good.clone();
        garbled[digest_at] ^= 1;
        fs::write(&idx, &garbled).unwrap();
        let err = db.zip_index(Ecosystem::Npm, &old).expect_err("garbled");
        assert!(matches!(err, Error::CorruptIndex { .. }), "{err}");

        // Just written: no digest kept; hashed when asked, and kept once the file is old.
        let young_dir = tempfile::tempdir().unwrap();
        let young = export(young_dir.path(), Duration::ZERO);
        let scan = scan_export(&young, Ecosystem::Npm).unwrap();
        assert_eq!(
            scan.sha256(),
            hex_of(&young),
            "update still gets the digest"
        );
        assert!(scan.index.sha256.is_none(), "not kept in the index");
        let db = OsvDb::open(young_dir.path(), Some(&cache)).unwrap();
        db.zip_index(Ecosystem::Npm, &young).unwrap();
        let loaded = db.zip_index(Ecosystem::Npm, &young).unwrap();
        assert!(loaded.sha256.is_none());
        assert_eq!(db.zip_sha256(&young, &loaded).unwrap(), hex_of(&young));
        assert!(
            db.zip_index(Ecosystem::Npm, &young)
                .unwrap()
                .sha256
                .is_none(),
            "still too young to keep"
        );
        // Old enough by the clock alone (the same stamp): the digest taken then is kept.
        let aging_dir = tempfile::tempdir().unwrap();
        let aging = export(aging_dir.path(), RACY - Duration::from_millis(500));
        let aging_db = OsvDb::open(aging_dir.path(), Some(&cache)).unwrap();
        aging_db.zip_index(Ecosystem::Npm, &aging).unwrap();
        let loaded = aging_db.zip_index(Ecosystem::Npm, &aging).unwrap();
        assert!(loaded.sha256.is_none(), "built while too young");
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(
            aging_db.zip_sha256(&aging, &loaded).unwrap(),
            hex_of(&aging)
        );
        let healed = aging_db.zip_index(Ecosystem::Npm, &aging).unwrap();
        assert!(matches!(healed.rows, Rows::File { .. }), "the same index");
        assert_eq!(
            healed.sha256.map(|d| crate::package::hex(&d)),
            Some(hex_of(&aging))
        );

        let file = fs::File::options().write(true).open(&young).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        drop(file);
        // A new modification time is a new stamp: the index is built again, with it.
        let rebuilt = db.zip_index(Ecosystem::Npm, &young).unwrap();
        assert_eq!(
            rebuilt.sha256.map(|d| crate::package::hex(&d)),
            Some(hex_of(&young))
        );
    }

    /// An index stored without a digest gets one from `store_digest`, which checks that
    /// the file is the index it was read as and keeps its checksum right.
    #[test]
    fn a_digest_is_added_to_a_stored_index_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("npm-0.idx");
        let a = name_key("left-pad");
        store_index(&path, "s1", &ZipIndex::from_rows(1, vec![(a, span(3))])).unwrap();
        assert!(load_index(&path, "s1").unwrap().unwrap().sha256.is_none());
        store_digest(&path, "s1", &[7u8; 32]).unwrap();
        let loaded = load_index(&path, "s1").unwrap().unwrap();
        assert_eq!(loaded.sha256, Some([7u8; 32]));
        assert_eq!(loaded.entries(a).unwrap(), [span(3)]);
        assert!(
            store_digest(&path, "s1", &[8u8; 32]).is_err(),
            "has one already"
        );
        assert!(
            store_digest(&path, "s2", &[8u8; 32]).is_err(),
            "another stamp"
        );
        assert_eq!(
            load_index(&path, "s1").unwrap().unwrap().sha256,
            Some([7u8; 32])
        );
    }
}

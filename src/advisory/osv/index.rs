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

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;
use sha2::Digest;

use super::export::{EntrySpan, each_entry};
use super::record::{OsvPackage, check_names_a_package};
use super::{Error, OsvDb, invalid, normalize, sha2_hex};
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
/// of each row's key in the same order (what a lookup searches: 4 bytes a row), and how
/// many advisories the export holds (never zero: an empty export is refused).
pub(super) struct ZipIndex {
    records: u64,
    keys: Vec<u32>,
    rows: Rows,
}

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
}

impl ExportScan {
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
    Ok(ExportScan {
        index: ZipIndex::from_rows(records, rows),
        modified,
    })
}

/// The zip version an index is valid for: the format, the file's size and modification
/// time.
fn stamp(zip: &Path) -> Result<String, Error> {
    let meta = fs::metadata(zip).map_err(|source| Error::Io {
        path: zip.to_path_buf(),
        source,
    })?;
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
        let stamp = stamp(zip)?;
        let cached = self
            .index_cache
            .as_ref()
            .map(|dir| index_file(dir, ecosystem, zip));
        if let Some(path) = &cached
            && let Some(index) = load_index(path, &stamp)?
        {
            return Ok(index);
        }
        let scan = scan_export(zip, ecosystem)?;
        if let Some(path) = &cached {
            // Best effort: a read-only cache only costs speed, never correctness.
            let _ = store_index(path, &stamp, &scan.index);
        }
        Ok(scan.index)
    }
}

/// Bumped whenever the cached index's shape changes, so an old cache is rebuilt.
const INDEX_FORMAT: &str = "v4";

/// A cached index file: this magic, the stamp (u32 length, bytes), the record count and
/// the row count (u64 each), the CRC-32 of the counts and the short keys, the short keys
/// (u32 each), then the rows (each with its own CRC-32). A run reads the file up to the
/// rows, checks it, and reads only the rows of the keys it looks up. The lengths and the
/// checksums catch an index cut short, garbled or emptied: read as is, it would say "no
/// advisories". (CRC-32, the zip entries' own check, rather than SHA-256: it finds the
/// same damage at a fraction of the time. Neither would stop someone who can write the
/// cache and recomputes the sums; such a person can as well rewrite the export.)
const MAGIC: &[u8; 16] = b"vouch-osv-index\n";
/// The record count, the row count and the checksum.
const HEAD: usize = 8 + 8 + 4;

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
    summed.update(&head[..16]);
    summed.update(&keys);
    if summed.finalize() != u32_at(&head, 16) {
        return Err(corrupt("its content does not match its checksum"));
    }
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
    }))
}

/// A file that is not an index of this format: an earlier one (stale, rebuilt) or
/// damage (an error).
fn older_or_corrupt(path: &Path) -> Result<Option<ZipIndex>, Error> {
    let bytes = fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
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
    let mut head = Vec::with_capacity(16);
    head.extend_from_slice(&index.records.to_le_bytes());
    head.extend_from_slice(&(index.keys.len() as u64).to_le_bytes());
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
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })?;
    // The previous format (JSON) kept the same index beside it, under another name.
    let _ = fs::remove_file(path.with_extension("json"));
    Ok(())
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
        assert!(probe(nested("affected").as_bytes()).is_err());
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
}

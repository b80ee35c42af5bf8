//! Reading an OSV export under its limits: the zip's entries (count, names, each entry's
//! and the total inflated size), or one entry at the place the index recorded, checked
//! against its CRC-32. Nothing is extracted to disk; nothing here knows what an advisory
//! is: that is the index's and the record's business.

use std::fs;
use std::io::{self, Read, Seek};
use std::path::Path;

use serde::Deserialize;

use super::{Error, invalid, io_error};

/// An advisory file larger than this is refused (the largest real one is ~200 KB).
const MAX_ENTRY_BYTES: u64 = 8 * 1024 * 1024;
/// A zip with more entries than this is refused (the largest export has ~40,000).
pub(super) const MAX_ENTRIES: usize = 500_000;
/// The most all entries of one export may inflate to together (the largest is ~1 GiB).
pub(super) const MAX_TOTAL_BYTES: u64 = 4 * 1024 * 1024 * 1024;

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

/// Reads every `.json` entry of an export once, under the limits (entry count, names,
/// each entry's and the total inflated size), giving `visit` its name, where its bytes
/// sit, and its inflated bytes, checked against the central directory's length and
/// CRC-32. One entry is in memory at a time: the central directory is read first (and
/// let go), then the entries in file order through one buffer, each through its local
/// header, so the pass reads the file once, front to back.
pub(super) fn each_entry(
    zip: &Path,
    mut visit: impl FnMut(&str, EntrySpan, &[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut entries = Vec::new();
    {
        let archive = open_zip(zip)?;
        entries.reserve(archive.len());
        for i in 0..archive.len() {
            let entry = archive.by_index_data(i).map_err(|e| invalid(zip, e))?;
            let name = entry.name().map_err(|e| invalid(zip, e))?.to_string();
            check_entry_name(zip, &name)?;
            if !entry.is_file() || !name.ends_with(".json") {
                continue;
            }
            if entry.encrypted() {
                return Err(invalid(zip, format!("{name}: encrypted")));
            }
            match entry.compression() {
                zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated => {}
                other => {
                    return Err(invalid(
                        zip,
                        format!("{name}: unsupported compression {other}"),
                    ));
                }
            }
            let too_large = || invalid(zip, format!("{name}: larger than {MAX_ENTRY_BYTES} bytes"));
            if entry.size() > MAX_ENTRY_BYTES || entry.compressed_size() > MAX_ENTRY_BYTES {
                return Err(too_large());
            }
            let span = EntrySpan {
                header: entry.header_start(),
                compressed: u32::try_from(entry.compressed_size()).map_err(|_| too_large())?,
                size: u32::try_from(entry.size()).map_err(|_| too_large())?,
                crc32: entry.crc32(),
            };
            entries.push((span, name));
        }
    }
    entries.sort_unstable();
    let file = fs::File::open(zip).map_err(io_error(zip))?;
    let mut reader = Entries::new(
        io::BufReader::with_capacity(256 * 1024, file),
        std::borrow::Cow::Borrowed(zip),
    );
    let mut total: u64 = 0;
    for (span, name) in &entries {
        let (local, bytes) = reader.read(*span)?;
        if local != *name {
            return Err(invalid(
                zip,
                format!(
                    "{name}: its local header names it `{}`",
                    local.escape_debug()
                ),
            ));
        }
        total += bytes.len() as u64;
        if total > MAX_TOTAL_BYTES {
            return Err(invalid(
                zip,
                format!("entries inflate to more than {MAX_TOTAL_BYTES} bytes"),
            ));
        }
        visit(name, *span, bytes)?;
    }
    Ok(())
}

/// Where one entry sits in its zip, as the central directory says: the local header's
/// offset, the compressed and inflated sizes and the CRC-32 of the inflated bytes. What
/// the cached index keeps per entry (20 bytes), so a warm run reads only the entries it
/// needs instead of the central directory (which was a third of a 3,300-package
/// monorepo audit); the entry's name and compression come from its local header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct EntrySpan {
    pub(super) header: u64,
    pub(super) compressed: u32,
    pub(super) size: u32,
    pub(super) crc32: u32,
}

/// A zip local file header's fixed part (APPNOTE 4.3.7): signature, versions, flags,
/// method, time, date, CRC, sizes, name and extra lengths.
const LOCAL_HEADER_LEN: usize = 30;
const LOCAL_HEADER_SIGNATURE: [u8; 4] = *b"PK\x03\x04";

/// Reads entries at their spans through a local header each, front to back or at random,
/// inflating into buffers it reuses.
struct Entries<'a, F> {
    reader: io::BufReader<F>,
    path: std::borrow::Cow<'a, Path>,
    /// Where `reader` is.
    at: u64,
    raw: Vec<u8>,
    inflated: Vec<u8>,
    inflater: flate2::Decompress,
}

impl<'a, F: Read + io::Seek> Entries<'a, F> {
    fn new(reader: io::BufReader<F>, path: std::borrow::Cow<'a, Path>) -> Self {
        Entries {
            reader,
            path,
            at: 0,
            raw: Vec::new(),
            inflated: Vec::new(),
            inflater: flate2::Decompress::new(false),
        }
    }

    /// The name (from its local header) and inflated bytes of the entry at `span`, which
    /// must be exactly `span.size` bytes with CRC-32 `span.crc32`; anything else is an
    /// error naming the entry.
    fn read(&mut self, span: EntrySpan) -> Result<(String, &[u8]), Error> {
        let path: &Path = &self.path;
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let at = format!("the entry at byte {}", span.header);
        let broken = |what: &str| invalid(path, format!("{what}: damaged (no local header)"));
        if u64::from(span.size) > MAX_ENTRY_BYTES || u64::from(span.compressed) > MAX_ENTRY_BYTES {
            return Err(invalid(
                path,
                format!("{at}: larger than {MAX_ENTRY_BYTES} bytes"),
            ));
        }
        // Forward within the buffer when reading front to back; a real seek otherwise.
        match span
            .header
            .checked_sub(self.at)
            .and_then(|n| i64::try_from(n).ok())
        {
            Some(forward) => self.reader.seek_relative(forward).map_err(io_err)?,
            None => {
                self.reader
                    .seek(io::SeekFrom::Start(span.header))
                    .map_err(io_err)?;
            }
        }
        // Unknown until the entry's bytes are read: a read that fails part-way leaves the
        // next one to seek.
        self.at = u64::MAX;
        let mut header = [0u8; LOCAL_HEADER_LEN];
        if self.reader.read_exact(&mut header).is_err() || header[..4] != LOCAL_HEADER_SIGNATURE {
            return Err(broken(&at));
        }
        let field = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
        let (method, name_len, extra_len) = (field(8), field(26), field(28));
        let mut name = vec![0u8; usize::from(name_len)];
        self.reader.read_exact(&mut name).map_err(|_| broken(&at))?;
        let name = String::from_utf8(name).map_err(|_| broken(&at))?;
        check_entry_name(path, &name)?;
        self.reader
            .seek_relative(i64::from(extra_len))
            .map_err(io_err)?;
        self.raw.clear();
        self.raw.reserve_exact(span.compressed as usize);
        (&mut self.reader)
            .take(u64::from(span.compressed))
            .read_to_end(&mut self.raw)
            .map_err(io_err)?;
        self.at = span.header
            + (LOCAL_HEADER_LEN as u64)
            + u64::from(name_len)
            + u64::from(extra_len)
            + self.raw.len() as u64;
        let intact = match method {
            0 => {
                std::mem::swap(&mut self.raw, &mut self.inflated);
                true
            }
            8 => {
                self.inflated.clear();
                self.inflated.reserve_exact(span.size as usize + 1);
                self.inflater.reset(false);
                let status = self.inflater.decompress_vec(
                    &self.raw,
                    &mut self.inflated,
                    flate2::FlushDecompress::Finish,
                );
                matches!(status, Ok(flate2::Status::StreamEnd))
            }
            _ => false,
        };
        let intact = intact
            && self.inflated.len() == span.size as usize
            && crc32fast::hash(&self.inflated) == span.crc32;
        if !intact {
            return Err(invalid(
                path,
                format!(
                    "{name} does not match its recorded length and CRC-32 (the file changed or is damaged); run `vouch db update`"
                ),
            ));
        }
        Ok((name, &self.inflated))
    }
}

/// Reads entries of one zip at their indexed places (see [`Entries::read`]), one after
/// another through one open file, one buffer and one inflater (setting up an inflater
/// cost as much as inflating a small entry): a zip that changed under an unchanged size
/// and timestamp is an error, never a silently different answer.
pub(super) struct ZipReader(Entries<'static, fs::File>);

impl ZipReader {
    pub(super) fn open(path: &Path) -> Result<ZipReader, Error> {
        let file = fs::File::open(path).map_err(io_error(path))?;
        let mut entries = Entries::new(
            io::BufReader::with_capacity(16 * 1024, file),
            std::borrow::Cow::Owned(path.to_path_buf()),
        );
        // Where the reader is is unknown: the first read seeks.
        entries.at = u64::MAX;
        Ok(ZipReader(entries))
    }

    /// The entry's name and inflated bytes.
    pub(super) fn read(&mut self, span: EntrySpan) -> Result<(String, &[u8]), Error> {
        self.0.read(span)
    }
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<Buffered<fs::File>>, Error> {
    open_zip_limited(path, MAX_ENTRIES)
}

pub(super) fn open_zip_limited(
    path: &Path,
    max_entries: usize,
) -> Result<zip::ZipArchive<Buffered<fs::File>>, Error> {
    let file = fs::File::open(path).map_err(io_error(path))?;
    let archive = zip::ZipArchive::new(Buffered::new(file)).map_err(|e| invalid(path, e))?;
    if archive.len() > max_entries {
        return Err(invalid(
            path,
            format!("{} entries, over the limit of {max_entries}", archive.len()),
        ));
    }
    Ok(archive)
}

/// A buffered reader whose seeks stay within its buffer when they can. The zip crate
/// seeks to every entry's local header and then to its data; a plain `BufReader` answers
/// each seek by dropping its buffer and reading it again, which for a 200,000-entry export
/// read front to back meant re-reading 3 GB.
#[derive(Debug)]
pub(super) struct Buffered<R> {
    inner: io::BufReader<R>,
    /// Where the reader is, as its user sees it.
    at: u64,
}

impl<R: Read + Seek> Buffered<R> {
    fn new(inner: R) -> Self {
        Buffered {
            inner: io::BufReader::with_capacity(64 * 1024, inner),
            at: 0,
        }
    }
}

impl<R: Read + Seek> Read for Buffered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Buffered<R> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let relative = match to {
            io::SeekFrom::Start(to) => i64::try_from(i128::from(to) - i128::from(self.at)).ok(),
            io::SeekFrom::Current(by) => Some(by),
            io::SeekFrom::End(_) => None,
        };
        match relative {
            Some(by) if self.at.checked_add_signed(by).is_some() => {
                self.inner.seek_relative(by)?;
                self.at = self.at.wrapping_add_signed(by);
            }
            _ => self.at = self.inner.seek(to)?,
        }
        Ok(self.at)
    }
}

/// Reads at most `MAX_ENTRY_BYTES` (a zip bomb stops here, whatever its header says).
pub(super) fn read_capped(reader: &mut dyn Read, path: &Path) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err(invalid(
            path,
            format!("an entry is larger than {MAX_ENTRY_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

impl super::OsvDb {
    /// Does any export hold an advisory with this id or alias (case-insensitive)? For
    /// `vouch waivers add`, which warns about an id no database knows. Reads every
    /// record, so it is for one-off questions, not audits.
    pub fn knows(&self, id: &str) -> Result<bool, Error> {
        let needle = format!("\"{}\"", id.to_ascii_lowercase());
        let names_it = |bytes: &[u8]| {
            // Cheap text test first; only a hit is parsed.
            let lower = bytes.to_ascii_lowercase();
            lower.windows(needle.len()).any(|w| w == needle.as_bytes())
                && serde_json::from_slice::<IdAndAliases>(bytes).is_ok_and(|record| {
                    std::iter::once(&record.id)
                        .chain(&record.aliases)
                        .any(|a| a.eq_ignore_ascii_case(id))
                })
        };
        let mut found = false;
        for ecosystem in super::ECOSYSTEMS {
            let dir = self.root.join(ecosystem.osv_name());
            let zip = dir.join("all.zip");
            if zip.is_file() {
                each_entry(&zip, |_, _, bytes| {
                    found = found || names_it(bytes);
                    Ok(())
                })?;
            } else if dir.is_dir() {
                let entries = fs::read_dir(&dir).map_err(io_error(&dir))?;
                for entry in entries.flatten() {
                    if entry.file_name().to_string_lossy().ends_with(".json") {
                        let path = entry.path();
                        let mut file = fs::File::open(&path).map_err(io_error(&path))?;
                        found = found || names_it(&read_capped(&mut file, &path)?);
                    }
                }
            }
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[derive(Deserialize)]
struct IdAndAliases {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
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
}

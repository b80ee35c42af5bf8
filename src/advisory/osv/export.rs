//! Reading an OSV export under its limits: the zip's entries (count, names, each entry's
//! and the total inflated size), or one entry at the place the index recorded, checked
//! against its CRC-32. Nothing is extracted to disk; nothing here knows what an advisory
//! means beyond "a JSON object with an `id`".

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Error, invalid};

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
pub(super) fn each_entry(
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct ZipSpan {
    start: u64,
    compressed: u64,
    size: u64,
    crc32: u32,
    deflated: bool,
}

/// Reads one entry at its indexed place, inflating it under the size cap and checking
/// its length and CRC-32 against the index: a zip that changed under an unchanged size
/// and timestamp is an error, never a silently different answer.
pub(super) fn read_zip_entry(
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

fn open_zip(path: &Path) -> Result<zip::ZipArchive<io::BufReader<fs::File>>, Error> {
    open_zip_limited(path, MAX_ENTRIES)
}

pub(super) fn open_zip_limited(
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
pub(super) fn read_capped(reader: &mut dyn Read, path: &Path) -> Result<Vec<u8>, Error> {
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
                let entries = fs::read_dir(&dir).map_err(|source| Error::Io {
                    path: dir.clone(),
                    source,
                })?;
                for entry in entries.flatten() {
                    if entry.file_name().to_string_lossy().ends_with(".json") {
                        let path = entry.path();
                        let mut file = fs::File::open(&path).map_err(|source| Error::Io {
                            path: path.clone(),
                            source,
                        })?;
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

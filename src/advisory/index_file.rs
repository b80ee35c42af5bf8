//! Index files kept in the cache between runs: one header line saying what the index was
//! built for (a stamp) with a CRC-32 of the rest, then the index itself as one line of
//! JSON, then any bytes it points into (a blob, read only where the index says). The
//! checksum is there to catch damage (a file cut short, garbled, emptied), not tampering:
//! whoever can write the cache can write a matching checksum too, so the cheapest one
//! that catches damage is the right one (it is read on every audit).
//!
//! An index built for another version of its database (another stamp) reads as absent
//! and is rebuilt by the caller. One whose content does not match its checksum (cut
//! short, garbled, emptied) is an error naming the file: read as is it could say "no
//! advisories". Writes go through a temporary file and a rename, so a reader sees a
//! whole index or none. Nothing here decides what a stamp is: the databases do.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Why a cached index could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path}: the cached index is damaged ({problem}); delete the file or run `vouch db update`"
    )]
    Damaged { path: PathBuf, problem: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    stamp: String,
    crc32: u32,
}

/// The index at `path` when it was built for `stamp`, with the file's bytes and where
/// its blob starts in them; `None` when there is none or it was built for something else.
pub fn load<T: DeserializeOwned>(
    path: &Path,
    stamp: &str,
) -> Result<Option<(T, Vec<u8>, usize)>, Error> {
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
    let damaged = |problem: String| Error::Damaged {
        path: path.to_path_buf(),
        problem,
    };
    let line_end = |bytes: &[u8], from: usize| {
        bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| from + i)
    };
    let head_end = line_end(&bytes, 0).ok_or_else(|| damaged("no header line".into()))?;
    let header: Header = serde_json::from_slice(&bytes[..head_end])
        .map_err(|e| damaged(format!("bad header: {e}")))?;
    if header.stamp != stamp {
        return Ok(None);
    }
    if header.crc32 != crc32fast::hash(&bytes[head_end + 1..]) {
        return Err(damaged("its content does not match its checksum".into()));
    }
    let index_end =
        line_end(&bytes, head_end + 1).ok_or_else(|| damaged("no index line".into()))?;
    let index = serde_json::from_slice(&bytes[head_end + 1..index_end])
        .map_err(|e| damaged(e.to_string()))?;
    Ok(Some((index, bytes, index_end + 1)))
}

/// Writes `index` and `blob` for `stamp` to `path` (creating its directory), all or
/// nothing.
pub fn store<T: Serialize>(path: &Path, stamp: &str, index: &T, blob: &[u8]) -> io::Result<()> {
    // Compact JSON has no raw newline: strings escape theirs.
    let mut body = serde_json::to_vec(index).map_err(io::Error::other)?;
    body.push(b'\n');
    body.extend_from_slice(blob);
    let header = Header {
        stamp: stamp.to_string(),
        crc32: crc32fast::hash(&body),
    };
    let mut bytes = serde_json::to_vec(&header).map_err(io::Error::other)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_reused_ignored_when_stale_and_refused_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/index.json");
        let load = |stamp| {
            load::<Vec<u32>>(&path, stamp)
                .map(|found| found.map(|(index, bytes, blob)| (index, bytes[blob..].to_vec())))
        };
        assert_eq!(load("a").unwrap(), None, "none yet");
        store(&path, "a", &vec![1u32, 2], b"blob\nwith lines").unwrap();
        assert_eq!(
            load("a").unwrap(),
            Some((vec![1, 2], b"blob\nwith lines".to_vec()))
        );
        assert_eq!(load("b").unwrap(), None, "another stamp");
        let good = fs::read(&path).unwrap();
        let damaged = [
            good[..good.len() - 1].to_vec(),
            [&good[..good.len() - 2], b"9s".as_slice()].concat(),
            good.iter()
                .map(|&b| if b == b'2' { b'3' } else { b })
                .collect(),
            b"garbage".to_vec(),
            b"{\"stamp\":\"a\"}\n[]".to_vec(),
        ];
        for bytes in damaged {
            fs::write(&path, &bytes).unwrap();
            let err = load("a").expect_err("damaged");
            assert!(matches!(err, Error::Damaged { .. }), "{err}");
            assert!(err.to_string().contains("index.json"), "{err}");
        }
    }
}

//! Index files kept in the cache between runs: one header line saying what the index was
//! built for (a stamp) with a SHA-256 of the rest, then the index itself as JSON.
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
    #[error("{path}: the cached index is damaged ({problem}); delete the file or run `vouch db update`")]
    Damaged { path: PathBuf, problem: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    stamp: String,
    digest: String,
}

/// The index at `path` when it was built for `stamp`; `None` when there is none or it
/// was built for something else.
pub fn load<T: DeserializeOwned>(path: &Path, stamp: &str) -> Result<Option<T>, Error> {
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
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| damaged("no header line".into()))?;
    let (head, body) = (&bytes[..newline], &bytes[newline + 1..]);
    let header: Header =
        serde_json::from_slice(head).map_err(|e| damaged(format!("bad header: {e}")))?;
    if header.stamp != stamp {
        return Ok(None);
    }
    if header.digest != sha256_hex(body) {
        return Err(damaged("its content does not match its checksum".into()));
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| damaged(e.to_string()))
}

/// Writes `index` for `stamp` to `path` (creating its directory), all or nothing.
pub fn store<T: Serialize>(path: &Path, stamp: &str, index: &T) -> io::Result<()> {
    let body = serde_json::to_vec(index).map_err(io::Error::other)?;
    let header = Header {
        stamp: stamp.to_string(),
        digest: sha256_hex(&body),
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

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::package::hex(&sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_reused_ignored_when_stale_and_refused_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/index.json");
        assert_eq!(load::<Vec<u32>>(&path, "a").unwrap(), None, "none yet");
        store(&path, "a", &vec![1u32, 2]).unwrap();
        assert_eq!(load::<Vec<u32>>(&path, "a").unwrap(), Some(vec![1, 2]));
        assert_eq!(load::<Vec<u32>>(&path, "b").unwrap(), None, "another stamp");
        let good = fs::read(&path).unwrap();
        let damaged = [
            good[..good.len() - 1].to_vec(),
            [&good[..good.len() - 2], b"9]".as_slice()].concat(),
            b"garbage".to_vec(),
            b"{\"stamp\":\"a\"}\n[]".to_vec(),
        ];
        for bytes in damaged {
            fs::write(&path, &bytes).unwrap();
            let err = load::<Vec<u32>>(&path, "a").expect_err("damaged");
            assert!(matches!(err, Error::Damaged { .. }), "{err}");
            assert!(err.to_string().contains("index.json"), "{err}");
        }
    }
}

//! Incremental updates of a cached zip export, from osv.dev's per-ecosystem
//! `modified_id.csv` (`<modified>,<ID>` per record of the current export, newest first):
//! the listing, the state of the cached copy (each record's `modified`, as the records
//! themselves say, tied to the copy by its SHA-256), the plan (which records to fetch,
//! which to drop), and the new zip built from the old one's unchanged entries (copied
//! compressed, as they are) and the fetched records.
//!
//! Nothing here touches the network or the cached copy: the caller fetches, then
//! validates the new zip completely and swaps it in as it does a full download, so an
//! incremental update that fails or is killed leaves the old copy, never a mix.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use jiff::Timestamp;

use super::export::open_zip_limited;
use super::{Error, invalid};

/// The file beside a cached `all.zip` that says what it holds.
pub const STATE_FILE: &str = "vouch-modified.csv";

/// One line of a listing: a record's id and when it was last modified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub modified: Timestamp,
}

/// Is `id` usable as a file and URL name? (osv.dev's ids are letters, digits, `-`, `.`
/// and `_`; anything else is refused rather than escaped.)
pub fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Parses a `modified_id.csv` (no header; `\r\n` or `\n`): every line `<RFC 3339
/// time>,<id>`, each id once. A line that is not that is an error with its number.
pub fn parse_listing(bytes: &[u8]) -> Result<Vec<Listed>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut seen = HashSet::new();
    let mut listed = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}: `{}`", n + 1, line.escape_debug());
        let (modified, id) = line.split_once(',').ok_or_else(|| bad("no comma"))?;
        let modified: Timestamp = modified.parse().map_err(|_| bad("not an RFC 3339 time"))?;
        if !plain_id(id) {
            return Err(bad("not an advisory id"));
        }
        if !seen.insert(id.to_string()) {
            return Err(bad("an id listed twice"));
        }
        listed.push(Listed {
            id: id.to_string(),
            modified,
        });
    }
    if listed.is_empty() {
        return Err("it lists no advisories".into());
    }
    Ok(listed)
}

/// What a cached copy holds: the SHA-256 of its `all.zip` and each record's `modified`
/// (`None` when a record has none or it is not a time: such a record is always fetched).
pub struct State {
    pub digest: String,
    pub modified: HashMap<String, Option<Timestamp>>,
}

/// Writes the state of the zip whose SHA-256 is `digest` into `dir`, atomically.
pub fn write_state(dir: &Path, digest: &str, modified: &[(String, String)]) -> io::Result<()> {
    let mut out = io::BufWriter::new(tempfile::NamedTempFile::new_in(dir)?);
    writeln!(out, "# sha256:{digest}")?;
    for (id, when) in modified {
        writeln!(out, "{when},{id}")?;
    }
    let tmp = out.into_inner().map_err(|e| e.into_error())?;
    tmp.persist(dir.join(STATE_FILE)).map_err(|e| e.error)?;
    Ok(())
}

/// The state in `dir`, when there is a readable one (else `None`: a full download).
pub fn read_state(dir: &Path) -> Option<State> {
    let text = fs::read_to_string(dir.join(STATE_FILE)).ok()?;
    let mut lines = text.lines();
    let digest = lines.next()?.strip_prefix("# sha256:")?.to_string();
    let mut modified = HashMap::new();
    for line in lines {
        let (when, id) = line.split_once(',')?;
        modified.insert(id.to_string(), when.parse().ok());
    }
    Some(State { digest, modified })
}

/// What an incremental update does.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// Ids to fetch: new, or modified since the cached copy.
    pub fetch: Vec<Listed>,
    /// Ids of the cached copy the listing no longer has.
    pub drop: Vec<String>,
    /// Records kept as they are.
    pub keep: usize,
}

/// Compares the listing with the cached copy's state.
pub fn plan(state: &State, listing: &[Listed]) -> Plan {
    let mut fetch = Vec::new();
    let mut keep = 0;
    let listed: HashSet<&str> = listing.iter().map(|l| l.id.as_str()).collect();
    for entry in listing {
        match state.modified.get(&entry.id) {
            Some(Some(cached)) if *cached == entry.modified => keep += 1,
            _ => fetch.push(entry.clone()),
        }
    }
    let mut drop: Vec<String> = state
        .modified
        .keys()
        .filter(|id| !listed.contains(id.as_str()))
        .cloned()
        .collect();
    drop.sort();
    Plan { fetch, drop, keep }
}

/// Writes into `out` a zip of `old`'s entries except those named in `replace` (ids),
/// copied compressed as they are, followed by `added` (id, record bytes), deflated.
pub fn rebuild(
    old: &Path,
    out: &mut fs::File,
    replace: &HashSet<String>,
    added: &[(String, Vec<u8>)],
) -> Result<(), Error> {
    let mut archive = open_zip_limited(old, super::export::MAX_ENTRIES)?;
    let failed = |e: zip::result::ZipError| invalid(old, format!("rebuilding it: {e}"));
    let mut writer = zip::ZipWriter::new(Positioned::new(out));
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(|e| invalid(old, e))?;
        let name = file.name().map_err(|e| invalid(old, e))?;
        if replace.contains(name.strip_suffix(".json").unwrap_or(&name)) {
            continue;
        }
        writer.raw_copy_file(file).map_err(failed)?;
    }
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (id, bytes) in added {
        writer
            .start_file(format!("{id}.json"), options)
            .map_err(failed)?;
        writer
            .write_all(bytes)
            .map_err(|e| failed(zip::result::ZipError::Io(e)))?;
    }
    let mut positioned = writer.finish().map_err(failed)?;
    positioned
        .finish()
        .map_err(|e| failed(zip::result::ZipError::Io(e)))?;
    Ok(())
}

/// A buffered writer that knows where it is: the zip writer asks for the position at
/// every entry, which a plain `BufWriter` answers by flushing (a write and a seek per
/// entry, 200,000 of each for npm's export).
struct Positioned<'a> {
    inner: io::BufWriter<&'a mut fs::File>,
    at: u64,
}

impl<'a> Positioned<'a> {
    fn new(file: &'a mut fs::File) -> Self {
        Positioned {
            inner: io::BufWriter::with_capacity(256 * 1024, file),
            at: 0,
        }
    }

    /// Writes out what is buffered and syncs the file.
    fn finish(&mut self) -> io::Result<()> {
        self.inner.flush()?;
        self.inner.get_ref().sync_all()
    }
}

impl Write for Positioned<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.at += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl io::Seek for Positioned<'_> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        if to == io::SeekFrom::Current(0) {
            return Ok(self.at);
        }
        self.at = self.inner.seek(to)?;
        Ok(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_listing_is_parsed_strictly() {
        let listed = parse_listing(
            b"2026-08-20T10:00:00.123456Z,MAL-2026-1\r\n2026-08-19T00:00:00Z,GHSA-a2b3-c4d5-e6f7\n\n",
        )
        .unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].id, "MAL-2026-1");
        assert_eq!(listed[0].modified, at("2026-08-20T10:00:00.123456Z"));
        for (bad, why) in [
            (&b"2026-08-20T10:00:00Z MAL-1"[..], "line 1: no comma"),
            (b"yesterday,MAL-1", "line 1: not an RFC 3339 time"),
            (b"2026-08-20T10:00:00Z,../x", "line 1: not an advisory id"),
            (b"2026-08-20T10:00:00Z,a/b", "not an advisory id"),
            (b"2026-08-20T10:00:00Z,", "not an advisory id"),
            (
                b"2026-08-20T10:00:00Z,X-1\n2026-08-19T10:00:00Z,X-1",
                "line 2: an id listed twice",
            ),
            (b"\n\n", "it lists no advisories"),
            (b"<html>", "no comma"),
        ] {
            let e = parse_listing(bad).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn the_plan_fetches_what_is_new_or_changed_and_drops_what_is_gone() {
        let state = State {
            digest: "d".into(),
            modified: HashMap::from([
                ("A".to_string(), Some(at("2026-01-01T00:00:00Z"))),
                ("B".to_string(), Some(at("2026-01-01T00:00:00Z"))),
                ("C".to_string(), None),
                ("D".to_string(), Some(at("2026-01-01T00:00:00Z"))),
            ]),
        };
        let listing = parse_listing(
            b"2026-02-01T00:00:00Z,B\n2026-01-15T00:00:00Z,E\n2026-01-01T00:00:00.000Z,A\n2026-01-01T00:00:00Z,C\n",
        )
        .unwrap();
        let plan = plan(&state, &listing);
        let ids: Vec<&str> = plan.fetch.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["B", "E", "C"], "changed, new, and one without a time");
        assert_eq!(plan.drop, ["D"]);
        assert_eq!(plan.keep, 1, "A: the same time, written differently");
    }

    #[test]
    fn a_state_is_tied_to_its_digest_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_state(dir.path()).is_none());
        write_state(
            dir.path(),
            "abc",
            &[
                ("X-1".into(), "2026-01-01T00:00:00Z".into()),
                ("X-2".into(), String::new()),
            ],
        )
        .unwrap();
        let state = read_state(dir.path()).unwrap();
        assert_eq!(state.digest, "abc");
        assert_eq!(state.modified["X-1"], Some(at("2026-01-01T00:00:00Z")));
        assert_eq!(state.modified["X-2"], None);
        fs::write(dir.path().join(STATE_FILE), "garbage").unwrap();
        assert!(read_state(dir.path()).is_none());
    }
}

//! `vouch db update` of the OSV exports, over real HTTP on 127.0.0.1.
//!
//! The happy paths use a real web server (Python's `http.server`) serving copies of the
//! real exports in ../shared/advisories/osv. The fault cases use a small hand-written
//! server (`Misbehaving`), because no real server misbehaves on demand: it answers 500,
//! closes mid-body, streams forever, never answers, or redirects in a loop.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{advisory_findings, fixture, json, osv_db, tempdir, vouch};

const ECOSYSTEMS: [&str; 4] = ["crates.io", "npm", "PyPI", "Go"];

/// Python's http.server on a free loopback port, serving `dir`; stopped on drop.
pub(crate) struct PythonServer {
    child: Child,
    port: u16,
    /// Where its request log goes, when kept.
    log: Option<tempfile::NamedTempFile>,
}

impl PythonServer {
    pub(crate) fn start(dir: &Path) -> PythonServer {
        PythonServer::serve(dir, None)
    }

    /// A server whose request log is kept: see [`PythonServer::requested`].
    pub(crate) fn start_logged(dir: &Path) -> PythonServer {
        PythonServer::serve(dir, Some(tempfile::NamedTempFile::new().unwrap()))
    }

    fn serve(dir: &Path, log: Option<tempfile::NamedTempFile>) -> PythonServer {
        let stderr = match &log {
            Some(file) => Stdio::from(file.reopen().unwrap()),
            None => Stdio::null(),
        };
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 43567 (http://127.0.0.1:43567/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        PythonServer { child, port, log }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The paths requested so far, in order (from the log lines `"GET /npm/all.zip
    /// HTTP/1.1" 200 -`).
    pub(crate) fn requested(&self) -> Vec<String> {
        let log = self.log.as_ref().expect("a logged server");
        fs::read_to_string(log.path())
            .unwrap()
            .lines()
            .filter_map(|line| {
                let request = line.split('"').nth(1)?;
                let mut words = request.split_whitespace();
                (words.next()? == "GET").then(|| words.next().map(str::to_string))?
            })
            .collect()
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory laid out like the export bucket, holding copies of the real exports.
pub(crate) fn mirror() -> tempfile::TempDir {
    let dir = tempdir();
    for eco in ECOSYSTEMS {
        fs::create_dir(dir.path().join(eco)).unwrap();
        fs::copy(
            osv_db().join(eco).join("all.zip"),
            dir.path().join(eco).join("all.zip"),
        )
        .unwrap();
    }
    dir
}

/// A hand-written HTTP server: `respond(request_number, path, stream)` writes the raw
/// response for each request. Runs until the test process ends.
pub(crate) struct Misbehaving {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl Misbehaving {
    pub(crate) fn start(
        respond: impl Fn(usize, &str, &mut TcpStream) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let respond = Arc::new(respond);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let counter = counter.clone();
                let respond = respond.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).is_err() {
                        return;
                    }
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) <= 2 {
                            break;
                        }
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("/")
                        .to_string();
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    respond(n, &path, &mut stream);
                });
            }
        });
        Misbehaving { port, requests }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

pub(crate) fn respond(stream: &mut TcpStream, status: &str, body: &[u8]) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}

pub(crate) fn update(cache: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    vouch()
        .env("VOUCH_CACHE_DIR", cache)
        .args(["db", "update", "--only", "osv", "--osv-url", url])
        .args(extra)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

pub(crate) fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn audit(cache: &Path, osv: Option<&Path>, target: &Path) -> std::process::Output {
    let mut cmd = vouch();
    cmd.env("VOUCH_CACHE_DIR", cache)
        .args(["audit", "--format", "json"]);
    if let Some(osv) = osv {
        cmd.arg("--osv").arg(osv);
    }
    cmd.arg(target).output().unwrap()
}

/// A cache filled from a real server, shared by tests that start from a good copy.
fn good_cache() -> (tempfile::TempDir, PathBuf) {
    let mirror = mirror();
    let server = PythonServer::start(mirror.path());
    let cache = tempdir();
    let out = update(cache.path(), &server.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let zip = cache.path().join("osv/npm/all.zip");
    (cache, zip)
}

pub(crate) fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if path.file_name().is_some_and(|n| {
            n.to_string_lossy().starts_with(".all.zip.") || n.to_string_lossy().starts_with(".tmp")
        }) {
            found.push(path);
        }
    }
    found
}

#[test]
fn update_downloads_every_export_and_audit_then_uses_the_cache() {
    let mirror = mirror();
    let server = PythonServer::start(mirror.path());
    let cache = tempdir();
    let out = update(cache.path(), &server.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for eco in ECOSYSTEMS {
        let cached = cache.path().join("osv").join(eco).join("all.zip");
        assert_eq!(
            fs::read(&cached).unwrap(),
            fs::read(osv_db().join(eco).join("all.zip")).unwrap(),
            "{eco}"
        );
    }

    // Offline from here: the cache answers exactly as the exports read in place do.
    for target in ["npm/lock-v3", "python/uv", "go/skopeo"] {
        let from_cache = audit(cache.path(), None, &fixture(target));
        let in_place = audit(cache.path(), Some(&osv_db()), &fixture(target));
        assert_eq!(
            from_cache.status.code(),
            Some(1),
            "{target}: {}",
            stderr(&from_cache)
        );
        let (a, b) = (
            advisory_findings(&json(&from_cache)),
            advisory_findings(&json(&in_place)),
        );
        assert!(!a.is_empty(), "{target}");
        assert_eq!(a, b, "{target}");
    }
}

#[test]
fn a_transient_server_error_is_retried_and_a_missing_export_is_not() {
    let good = fs::read(osv_db().join("npm/all.zip")).unwrap();
    let flaky = Misbehaving::start(move |n, path, stream| {
        if n == 0 {
            respond(stream, "500 Internal Server Error", b"try again");
        } else if path.ends_with("/all.zip") {
            respond(stream, "200 OK", &good);
        }
    });
    let cache = tempdir();
    // One ecosystem is enough here; the others 200 as well after the first 500.
    let out = update(cache.path(), &flaky.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        flaky.requests(),
        5,
        "one retry, then one request per ecosystem"
    );

    let missing = Misbehaving::start(|_, _, stream| respond(stream, "404 Not Found", b""));
    // A cache without a copy, so the update asks for all.zip alone (with a copy it asks
    // for modified_id.csv first).
    let cache = tempdir();
    let out = update(cache.path(), &missing.url(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("HTTP 404"), "{}", stderr(&out));
    assert_eq!(missing.requests(), 1, "a 404 is not retried");
}

#[test]
fn failed_downloads_leave_the_cached_exports_untouched() {
    let (cache, zip) = good_cache();
    let before = fs::read(&zip).unwrap();
    let npm_before = audit(cache.path(), None, &fixture("npm/lock-v3"));

    let always_500 = Misbehaving::start(|_, _, s| respond(s, "503 Service Unavailable", b""));
    let truncated = Misbehaving::start(|_, _, s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        let _ = s.write_all(&[b'P'; 1000]);
    });
    let garbage = Misbehaving::start(|_, _, s| respond(s, "200 OK", b"<html>not a zip</html>"));
    let cases: [(&Misbehaving, &str); 3] = [
        (&always_500, "HTTP 503"),
        (&truncated, "failed after"),
        (&garbage, "not a readable OSV export"),
    ];
    for (server, expected) in cases {
        let out = update(cache.path(), &server.url(), &[]);
        assert_eq!(out.status.code(), Some(2), "{expected}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{expected}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("unchanged"), "{}", stderr(&out));
        assert_eq!(fs::read(&zip).unwrap(), before, "{expected}");
        assert!(
            temp_files(cache.path()).is_empty(),
            "{:?}",
            temp_files(cache.path())
        );
    }
    let npm_after = audit(cache.path(), None, &fixture("npm/lock-v3"));
    assert_eq!(
        advisory_findings(&json(&npm_before)),
        advisory_findings(&json(&npm_after))
    );
}

/// Builds a zip in memory from (name, contents).
pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(body).unwrap();
    }
    writer.finish().unwrap();
    out.into_inner()
}

#[test]
fn hostile_exports_are_refused_and_nothing_is_written_outside_the_cache() {
    let record = br#"{"id": "GHSA-test", "affected": []}"#;
    let zeros = vec![b' '; 40 * 1024 * 1024];
    let bomb = zip_of(&[("BOMB.json", &zeros)]); // 40 MiB of spaces deflates to ~40 KiB
    assert!(bomb.len() < 200 * 1024);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("../evil.json", zip_of(&[("../evil.json", record)])),
        ("/abs.json", zip_of(&[("/abs.json", record)])),
        ("nested/x.json", zip_of(&[("nested/x.json", record)])),
        ("bomb", bomb),
        ("no id", zip_of(&[("X.json", br#"{"affected": []}"#)])),
    ];
    for (what, body) in cases {
        let body = Arc::new(body);
        let server = Misbehaving::start(move |_, _, s| respond(s, "200 OK", &body));
        let root = tempdir();
        let cache = root.path().join("cache");
        let out = update(&cache, &server.url(), &[]);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("not a readable OSV export"),
            "{what}: {}",
            stderr(&out)
        );
        assert!(!cache.join("osv/crates.io/all.zip").exists(), "{what}");
        let outside: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(outside, ["cache"], "{what}: nothing beside the cache");
        assert!(!Path::new("/abs.json").exists());
    }
}

#[test]
fn endless_slow_and_looping_servers_end_in_an_error() {
    let cache = tempdir();
    let endless = Misbehaving::start(|_, _, s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let chunk = [b'x'; 64 * 1024];
        while s.write_all(&chunk).is_ok() {}
    });
    let out = update(
        cache.path(),
        &endless.url(),
        &["--max-download-bytes", "1048576"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("larger than the 1048576 byte limit"),
        "{}",
        stderr(&out)
    );

    let silent = Misbehaving::start(|_, _, _| std::thread::sleep(Duration::from_secs(60)));
    let started = std::time::Instant::now();
    let out = update(cache.path(), &silent.url(), &["--timeout", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    let port = Arc::new(AtomicUsize::new(0));
    let p = port.clone();
    let looping = Misbehaving::start(move |n, _, s| {
        let _ = write!(
            s,
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{}/hop{n}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            p.load(Ordering::SeqCst)
        );
    });
    port.store(looping.port.into(), Ordering::SeqCst);
    let out = update(cache.path(), &looping.url(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("redirect"), "{}", stderr(&out));
    assert!(
        looping.requests() <= 6 * 4,
        "bounded: {}",
        looping.requests()
    );
}

#[test]
fn credentials_in_the_osv_url_never_reach_the_output() {
    let server = Misbehaving::start(|_, _, s| respond(s, "500 Internal Server Error", b""));
    let cache = tempdir();
    let url = format!("http://vouch-user:hunter2-s3cret@127.0.0.1:{}", server.port);
    let out = update(cache.path(), &url, &[]);
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(
        !all.contains("hunter2-s3cret") && !all.contains("vouch-user"),
        "{all}"
    );
    assert!(
        all.contains("127.0.0.1"),
        "the error still says where: {all}"
    );
}

#[test]
fn a_damaged_cache_is_an_error_never_no_advisories() {
    let (cache, zip) = good_cache();
    let target = fixture("npm/lock-v3");

    let bytes = fs::read(&zip).unwrap();
    fs::write(&zip, &bytes[..bytes.len() / 2]).unwrap();
    let out = audit(cache.path(), None, &target);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("npm/all.zip"), "{}", stderr(&out));
    fs::write(&zip, &bytes).unwrap();

    let meta = cache.path().join("osv/npm/vouch-db.json");
    fs::write(&meta, "{ not json").unwrap();
    let out = audit(cache.path(), None, &target);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert!(stderr(&out).contains("vouch db update"), "{}", stderr(&out));
}

#[test]
fn concurrent_updates_take_turns_and_a_killed_one_leaves_the_old_copy() {
    let (cache, zip) = good_cache();
    let before = fs::read(&zip).unwrap();
    let mirror = mirror();
    let server = PythonServer::start(mirror.path());
    let spawn = |url: &str| {
        Command::new(assert_cmd::cargo::cargo_bin("vouch"))
            .env("VOUCH_CACHE_DIR", cache.path())
            .args(["db", "update", "--only", "osv", "--osv-url", url])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(&server.url()), spawn(&server.url()));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(fs::read(&zip).unwrap(), before);

    // A server that sends half an export and then stalls; the update is killed there.
    let good = fs::read(osv_db().join("crates.io/all.zip")).unwrap();
    let slow = Misbehaving::start(move |_, _, s| {
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            good.len()
        );
        let _ = s.write_all(&good[..good.len() / 2]);
        std::thread::sleep(Duration::from_secs(30));
    });
    let mut child = spawn(&slow.url());
    let mut waited = 0;
    while slow.requests() == 0 && waited < 100 {
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    }
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    let _ = child.wait();
    let crates = cache.path().join("osv/crates.io/all.zip");
    assert_eq!(
        fs::read(&crates).unwrap(),
        fs::read(osv_db().join("crates.io/all.zip")).unwrap()
    );
    let out = audit(cache.path(), None, &fixture("npm/lock-v3"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

// ---- what the first version let through ----------------------------------------------

/// Regression: an ecosystem directory whose `all.zip` is gone (its metadata still there)
/// was read as a directory of JSON files, found none, and the audit passed.
#[test]
fn a_cached_ecosystem_without_its_export_is_an_error_not_a_pass() {
    let (cache, zip) = good_cache();
    fs::remove_file(&zip).unwrap();
    let out = audit(cache.path(), None, &fixture("npm/lock-v3"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("npm/all.zip"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the export is missing"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("vouch db update"), "{}", stderr(&out));
}

fn npm_index(cache: &Path) -> PathBuf {
    fs::read_dir(cache.join("osv-index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("npm-"))
        .expect("db update builds the indexes")
}

/// The head of a cached index: the record and row counts (u64 each), the export's
/// digest (a flag byte and 32 bytes) and a CRC-32.
const INDEX_HEAD: usize = 8 + 8 + 1 + 32 + 4;

/// Where the parts of a cached index file are: (key section, row section, row count).
/// The layout (src/advisory/osv/index.rs): a 16-byte magic, the stamp (u32 length and
/// bytes), the head ([`INDEX_HEAD`]), the rows' short keys (u32 each), then the rows
/// (32 bytes each).
fn index_sections(index: &[u8]) -> (usize, usize, usize) {
    let stamp_len = u32::from_le_bytes(index[16..20].try_into().unwrap()) as usize;
    let head = 20 + stamp_len;
    let rows = u64::from_le_bytes(index[head + 8..head + 16].try_into().unwrap()) as usize;
    let keys = head + INDEX_HEAD;
    (keys, keys + rows * 4, rows)
}

/// Regression: an index emptied (still valid JSON, same stamp) made every package look
/// clean; a garbled one was silently rebuilt. Both are now errors naming the file, and
/// `vouch db update` repairs them. Rows are read only when a run looks their package up,
/// so a garbled row is caught by the audit that needs it.
#[test]
fn a_damaged_osv_index_is_an_error_naming_it_and_an_update_repairs_it() {
    let (cache, _) = good_cache();
    let index = npm_index(cache.path());
    let name = index.file_name().unwrap().to_string_lossy().into_owned();
    let good = fs::read(&index).unwrap();
    let (keys, rows_at, rows) = index_sections(&good);
    assert_eq!(good.len(), rows_at + rows * 32);

    let mut emptied = good[..keys].to_vec();
    let head = keys - INDEX_HEAD;
    emptied[head + 8..head + 16].copy_from_slice(&0u64.to_le_bytes());
    let mut garbled_keys = good.clone();
    garbled_keys[keys + 5] ^= 0x40;
    // Every row garbled: whichever rows the audit looks up, it finds them damaged.
    let mut garbled_rows = good.clone();
    for byte in &mut garbled_rows[rows_at..] {
        *byte ^= 0x01;
    }
    let truncated = good[..good.len() / 2].to_vec();
    for (what, bytes) in [
        ("emptied", emptied),
        ("garbled keys", garbled_keys),
        ("garbled rows", garbled_rows),
        ("truncated", truncated),
        ("garbage", b"\x00garbage".to_vec()),
    ] {
        fs::write(&index, &bytes).unwrap();
        let out = audit(cache.path(), None, &fixture("npm/lock-v3"));
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains(&name), "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains("damaged"), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("vouch db update"),
            "{what}: {}",
            stderr(&out)
        );
    }

    let mirror = mirror();
    let server = PythonServer::start(mirror.path());
    let out = update(cache.path(), &server.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = audit(cache.path(), None, &fixture("npm/lock-v3"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn update_builds_the_indexes_so_the_first_audit_reads_them() {
    let (cache, _) = good_cache();
    let indexes: Vec<String> = fs::read_dir(cache.path().join("osv-index"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for prefix in ["cargo-", "npm-", "pypi-", "golang-"] {
        assert!(
            indexes
                .iter()
                .any(|n| n.starts_with(prefix) && n.ends_with(".idx")),
            "{prefix}: {indexes:?}"
        );
    }
    let index = npm_index(cache.path());
    let before = fs::metadata(&index).unwrap().modified().unwrap();
    let out = audit(cache.path(), None, &fixture("npm/lock-v3"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(fs::metadata(&index).unwrap().modified().unwrap(), before);
}

/// A download killed mid-way leaves its temporary file (up to the size cap); the next
/// update, once it holds the lock, clears it.
#[test]
fn the_next_update_clears_what_a_killed_one_left() {
    let (cache, zip) = good_cache();
    let good = fs::read(&zip).unwrap();
    let slow = Misbehaving::start(move |_, _, s| {
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            good.len() * 4
        );
        let _ = s.write_all(&good);
        std::thread::sleep(Duration::from_secs(30));
    });
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("vouch"))
        .env("VOUCH_CACHE_DIR", cache.path())
        .args([
            "db",
            "update",
            "--only",
            "osv",
            "--full",
            "--osv-url",
            &slow.url(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while temp_files(cache.path()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no download started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL: nothing of vouch's runs after this
    let _ = child.wait();
    assert!(
        !temp_files(cache.path()).is_empty(),
        "the kill left its staging"
    );

    let mirror = mirror();
    let server = PythonServer::start(mirror.path());
    let out = update(cache.path(), &server.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        temp_files(cache.path()).is_empty(),
        "{:?}",
        temp_files(cache.path())
    );
}

/// reqwest's blocking timeout bounds each wait, not the transfer: a server that trickles
/// a byte at a time never trips it. The whole-transfer deadline does.
#[test]
fn a_trickling_server_is_stopped_by_the_transfer_deadline() {
    let trickle = Misbehaving::start(|_, _, s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
        while s.write_all(b"P").is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let cache = tempdir();
    let started = std::time::Instant::now();
    let out = update(cache.path(), &trickle.url(), &["--timeout", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did not finish within 2 seconds"),
        "{}",
        stderr(&out)
    );
    assert_eq!(trickle.requests(), 1, "a deadline is not retried");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn plain_http_is_refused_except_to_this_machine() {
    let cache = tempdir();
    let out = update(cache.path(), "http://osv-mirror.invalid", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("plain http is only allowed to this machine"),
        "{}",
        stderr(&out)
    );
    // And a loopback server may not send the client elsewhere over plain http.
    let away = Misbehaving::start(|_, _, s| {
        let _ = write!(
            s,
            "HTTP/1.1 302 Found\r\nLocation: http://osv-mirror.invalid/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    });
    let out = update(cache.path(), &away.url(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refusing a redirect"),
        "{}",
        stderr(&out)
    );
    assert_eq!(away.requests(), 1);
}

#[test]
fn a_redirect_on_this_machine_is_followed_and_a_loop_is_not_retried() {
    let mirror = mirror();
    let server = PythonServer::start(mirror.path());
    let target = server.url();
    let moved = Misbehaving::start(move |_, path, s| {
        let _ = write!(
            s,
            "HTTP/1.1 301 Moved Permanently\r\nLocation: {target}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    });
    let cache = tempdir();
    let out = update(cache.path(), &moved.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(moved.requests(), 4);
    assert_eq!(
        fs::read(cache.path().join("osv/Go/all.zip")).unwrap(),
        fs::read(osv_db().join("Go/all.zip")).unwrap()
    );

    let looping = Misbehaving::start(|n, _, s| {
        let _ = write!(
            s,
            "HTTP/1.1 302 Found\r\nLocation: /hop{n}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    });
    let out = update(cache.path(), &looping.url(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("more than 5 redirects"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        looping.requests(),
        6,
        "the request and five redirects, once"
    );
}

#[test]
fn credentials_in_a_redirect_never_reach_the_output() {
    let port = Arc::new(AtomicUsize::new(0));
    let p = port.clone();
    let server = Misbehaving::start(move |n, _, s| {
        let _ = write!(
            s,
            "HTTP/1.1 302 Found\r\nLocation: http://hop-user:hop-s3cret@127.0.0.1:{}/hop{n}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            p.load(Ordering::SeqCst)
        );
    });
    port.store(server.port.into(), Ordering::SeqCst);
    let cache = tempdir();
    let url = format!("http://vouch-user:hunter2-s3cret@127.0.0.1:{}", server.port);
    let out = update(cache.path(), &url, &[]);
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    for secret in ["hunter2-s3cret", "vouch-user", "hop-s3cret", "hop-user"] {
        assert!(!all.contains(secret), "{secret}: {all}");
    }
    assert!(all.contains("redirects"), "{all}");
}

/// A fresh RustSec copy must not hide stale OSV exports from `--db-max-age`.
#[test]
fn the_database_age_is_the_oldest_cached_source() {
    let (cache, _) = good_cache();
    let rustsec = cache.path().join("rustsec");
    fs::create_dir_all(&rustsec).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(crate::common::shared_dir().join("advisories/rustsec-advisory-db.tar.gz"))
        .arg("-C")
        .arg(&rustsec)
        .status()
        .unwrap();
    assert!(status.success());
    let fresh = serde_json::json!({
        "source": "test", "commit": null, "commit_time": null,
        "fetched_at": jiff::Timestamp::now().to_string(), "advisories": 1
    });
    fs::write(rustsec.join("vouch-db.json"), fresh.to_string()).unwrap();
    let root_meta = cache.path().join("osv/vouch-db.json");
    let mut osv: serde_json::Value =
        serde_json::from_slice(&fs::read(&root_meta).unwrap()).unwrap();
    osv["fetched_at"] = serde_json::json!("2020-01-01T00:00:00Z");
    fs::write(&root_meta, osv.to_string()).unwrap();

    let out = vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["audit", "--format", "json", "--db-max-age", "7d"])
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert!(
        report["database"]["age_seconds"].as_i64().unwrap() > 365 * 86_400,
        "{}",
        report["database"]
    );
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"advisory-db-stale"), "{codes:?}");
}

#[test]
fn an_osv_directory_of_files_that_are_not_osv_records_is_refused() {
    let dir = tempdir();
    fs::create_dir(dir.path().join("npm")).unwrap();
    fs::write(dir.path().join("npm/notes.json"), br#"{"affected": []}"#).unwrap();
    let out = vouch()
        .args(["audit", "--osv"])
        .arg(dir.path())
        .arg(fixture("npm/lock-v3"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("notes.json"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing field `id`"),
        "{}",
        stderr(&out)
    );
}

/// Regression: `db status` required a RustSec copy, so a cache filled with
/// `--only osv` could not be described.
#[test]
fn status_describes_a_cache_of_osv_exports_only_and_refuses_a_damaged_one() {
    let (cache, _) = good_cache();
    let out = vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["db", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for eco in ECOSYSTEMS {
        let real = fs::read(osv_db().join(eco).join("all.zip")).unwrap();
        assert!(text.contains(&format!("{eco}/all.zip")), "{text}");
        assert!(
            text.contains(&format!("size:       {} bytes", real.len())),
            "{text}"
        );
        assert!(text.contains(&sha256_hex(&real)), "{text}");
    }
    assert!(text.contains("advisories: 4291"), "{text}");
    assert!(!text.contains("rustsec"), "{text}");

    fs::write(cache.path().join("osv/PyPI/vouch-db.json"), "[1,").unwrap();
    let out = vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["db", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("PyPI/vouch-db.json"),
        "{}",
        stderr(&out)
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    vouch::package::hex(&sha2::Sha256::digest(bytes))
}

// ---- a silent server, an empty export, a cache not there yet (issue 16) ---------------

/// The error text with the test server's port replaced, for a snapshot.
fn without_port(text: &str, port: u16) -> String {
    text.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:[PORT]")
}

/// Regression: a server that accepts and never answers kept `db update` silent for four
/// minutes (a minute per try, four tries). Each try now ends after the wait limit, the
/// tries are bounded by the overall `--timeout`, and the error says which flag changes it.
#[test]
fn a_silent_server_ends_in_an_error_that_names_the_timeout_flag() {
    let silent = Misbehaving::start(|_, _, _| std::thread::sleep(Duration::from_secs(120)));
    let cache = tempdir();
    let started = std::time::Instant::now();
    let out = update(
        cache.path(),
        &silent.url(),
        &["--stall-timeout", "1", "--timeout", "60"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(silent.requests(), 3, "three tries, then it gives up");
    let text = without_port(&stderr(&out), silent.port);
    // The seconds it took vary with the machine; everything else is fixed.
    let text = regex::Regex::new(r"tries in \d+ seconds?")
        .unwrap()
        .replace_all(&text, "tries in [N] seconds");
    insta::assert_snapshot!("db_update_silent_server", text);
}

/// The overall deadline (here 2 seconds, of a server sending a byte at a time) is the
/// error, and it names the flag.
#[test]
fn the_overall_deadline_error_names_the_timeout_flag() {
    let trickle = Misbehaving::start(|_, _, s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
        while s.write_all(b"P").is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let cache = tempdir();
    let out = update(cache.path(), &trickle.url(), &["--timeout", "2"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(
        "db_update_deadline",
        without_port(&stderr(&out), trickle.port)
    );
}

/// On a terminal, `db update` shows what it waits for and which try it is on while a
/// server stays silent. `script` gives the command a terminal (util-linux, on every
/// Debian and Ubuntu system).
#[test]
fn on_a_terminal_the_wait_and_the_try_count_are_shown() {
    let script = crate::common::require_tool("script");
    let silent = Misbehaving::start(|_, _, _| std::thread::sleep(Duration::from_secs(120)));
    let cache = tempdir();
    let command = format!(
        "{} db update --only osv --osv-url {} --stall-timeout 1 --timeout 60",
        assert_cmd::cargo::cargo_bin("vouch").display(),
        silent.url()
    );
    let out = Command::new(script)
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("VOUCH_CACHE_DIR", cache.path())
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let shown = without_port(&text, silent.port);
    for expected in [
        "OSV crates.io: waiting for 127.0.0.1:[PORT] to send all.zip (try 1 of 3)",
        "OSV crates.io: try 1 of 3 failed (http://127.0.0.1:[PORT]/crates.io/all.zip: no answer within 1 second); trying again in 0.5s",
        "(try 2 of 3)",
        "(try 3 of 3)",
        "--timeout SECONDS changes it",
    ] {
        assert!(shown.contains(expected), "{expected:?} in {shown}");
    }
}

/// Without a terminal (CI logs), nothing but the error reaches stderr.
#[test]
fn without_a_terminal_only_the_error_is_written() {
    let silent = Misbehaving::start(|_, _, _| std::thread::sleep(Duration::from_secs(120)));
    let cache = tempdir();
    let out = update(
        cache.path(),
        &silent.url(),
        &["--stall-timeout", "1", "--timeout", "60"],
    );
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("error: "), "{text}");
    assert!(!text.contains('\u{1b}'), "no escape codes: {text:?}");
}

/// `db update --only rustsec` from `url` (a git URL) with `extra` arguments.
fn update_rustsec(cache: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    vouch()
        .env("VOUCH_CACHE_DIR", cache)
        .args(["db", "update", "--only", "rustsec", "--rustsec-url", url])
        .args(extra)
        .output()
        .unwrap()
}

/// Names in `cache` that a RustSec update stages (`.rustsec.tmp-*`, `.rustsec.old-*`).
fn rustsec_staging(cache: &Path) -> Vec<String> {
    fs::read_dir(cache)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".rustsec."))
                .collect()
        })
        .unwrap_or_default()
}

/// Regression: the RustSec clone had no limit at all: git against a server that accepts
/// and never answers waited for good (git has no overall timeout and no low-speed limit
/// by default: a plain `git clone` of such a server was still waiting when killed).
/// Each try now ends after the wait limit (git's low-speed limit), three tries, and the
/// error names the flag, as for the OSV downloads.
#[test]
fn a_silent_rustsec_server_ends_in_an_error_that_names_the_timeout_flag() {
    let silent = Misbehaving::start(|_, _, _| std::thread::sleep(Duration::from_secs(120)));
    let cache = tempdir();
    let started = std::time::Instant::now();
    let out = update_rustsec(
        cache.path(),
        &format!("{}/advisory-db.git", silent.url()),
        &["--stall-timeout", "1", "--timeout", "60"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(silent.requests(), 3, "three tries, then it gives up");
    assert!(rustsec_staging(cache.path()).is_empty());
    assert!(!cache.path().join("rustsec").exists());
    let text = without_port(&stderr(&out), silent.port);
    let text = regex::Regex::new(r"tries in \d+ seconds?")
        .unwrap()
        .replace_all(&text, "tries in [N] seconds");
    insta::assert_snapshot!("db_update_rustsec_silent_server", text);
}

/// A server that answers a byte at a time never trips the wait limit: the clone is
/// killed at the overall `--timeout`, its staging removed, and the error names the flag.
#[test]
fn the_overall_deadline_stops_a_rustsec_clone_that_never_ends() {
    let trickle = Misbehaving::start(|_, _, s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
        while s.write_all(b"P").is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let cache = tempdir();
    let started = std::time::Instant::now();
    let out = update_rustsec(
        cache.path(),
        &format!("{}/advisory-db.git", trickle.url()),
        &["--timeout", "2"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(trickle.requests(), 1, "the deadline is not retried");
    assert!(rustsec_staging(cache.path()).is_empty());
    insta::assert_snapshot!(
        "db_update_rustsec_deadline",
        without_port(&stderr(&out), trickle.port)
    );
}

/// On a terminal, the RustSec clone shows what it waits for and the try count too.
#[test]
fn on_a_terminal_the_rustsec_wait_and_the_try_count_are_shown() {
    let script = crate::common::require_tool("script");
    let silent = Misbehaving::start(|_, _, _| std::thread::sleep(Duration::from_secs(120)));
    let cache = tempdir();
    let command = format!(
        "{} db update --only rustsec --rustsec-url {}/advisory-db.git --stall-timeout 1 --timeout 60",
        assert_cmd::cargo::cargo_bin("vouch").display(),
        silent.url()
    );
    let out = Command::new(script)
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("VOUCH_CACHE_DIR", cache.path())
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let shown = without_port(&text, silent.port);
    for expected in [
        "RustSec: waiting for http://127.0.0.1:[PORT]/advisory-db.git to send the advisory database (git clone, try 1 of 3)",
        "RustSec: try 1 of 3 failed (git clone of http://127.0.0.1:[PORT]/advisory-db.git: no data within 1 second); trying again in 0.5s",
        "(git clone, try 2 of 3)",
        "(git clone, try 3 of 3)",
        "--timeout SECONDS changes it",
    ] {
        assert!(shown.contains(expected), "{expected:?} in {shown}");
    }
}

fn status(cache: &Path) -> std::process::Output {
    vouch()
        .env("VOUCH_CACHE_DIR", cache)
        .args(["db", "status"])
        .output()
        .unwrap()
}

/// Regression: `db status` on a cache `db update` never filled said "not a RustSec
/// advisory database"; it now says there is nothing yet and what to run.
#[test]
fn status_of_a_cache_not_filled_yet_says_what_to_run() {
    let root = tempdir();
    let cache = root.path().join("vouch-cache");
    let out = status(&cache);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out).replace(&root.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!("db_status_no_cache_yet", text);
    assert!(!cache.exists(), "status creates nothing");
    // The built-in trusted root is described all the same (it needs no database).
    let described = String::from_utf8_lossy(&out.stdout);
    assert!(
        described.contains("sigstore:   embedded public-good trusted root"),
        "{described}"
    );

    // A first update that failed leaves the cache's directories, and still no copy.
    let missing = Misbehaving::start(|_, _, s| respond(s, "404 Not Found", b""));
    let out = update(&cache, &missing.url(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = status(&cache);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no advisory database in the cache yet"),
        "{}",
        stderr(&out)
    );
}

/// Regression: an export with no advisory at all was accepted by `db update` and then
/// read as "no advisories" for every package. It is refused, and the cached copy stays.
#[test]
fn an_export_without_a_single_advisory_is_refused_by_db_update() {
    let (cache, zip) = good_cache();
    let before = fs::read(&zip).unwrap();
    let readme = zip_of(&[("README.txt", b"nothing here")]);
    for (what, body) in [("no entries", zip_of(&[])), ("no .json entry", readme)] {
        let body = Arc::new(body);
        let server = Misbehaving::start(move |_, path, s| {
            if path.ends_with("/all.zip") {
                respond(s, "200 OK", &body);
            } else {
                respond(s, "404 Not Found", b"");
            }
        });
        let out = update(cache.path(), &server.url(), &[]);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains("the OSV export holds no advisories"),
            "{what}: {text}"
        );
        assert!(text.contains("crates.io/all.zip"), "{what}: {text}");
        assert_eq!(fs::read(&zip).unwrap(), before, "{what}");
        assert!(temp_files(cache.path()).is_empty(), "{what}");
    }
}

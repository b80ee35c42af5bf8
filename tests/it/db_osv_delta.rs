//! Incremental `vouch db update` from a mirror's `modified_id.csv`, over real HTTP on
//! 127.0.0.1 (Python's `http.server`, as in db_osv.rs).
//!
//! The data: the real npm export in ../shared/advisories/osv (463 records) as "day 1",
//! and "day 2" made from it here the way the real export changes from one day to the
//! next: a few records modified (a later `modified`, a new summary), one new, one gone,
//! the listing rewritten, and each new or changed record also served as `<ID>.json`, as
//! the export bucket serves every record. (The day-2 records are edits of real ones made
//! by this test; no real server publishes them.)

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{advisory_findings, fixture, json, osv_db, tempdir};
use crate::db_osv::{
    Misbehaving, PythonServer, audit, mirror, respond, stderr, temp_files, update,
};

/// (entry name, bytes) of a zip, sorted by name.
fn records_of(zip: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    let mut records = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        records.insert(file.name().unwrap().to_string(), bytes);
    }
    records
}

/// Writes npm's part of a mirror: `all.zip` of `records`, `modified_id.csv` from each
/// record's `modified` (newest first), and the `loose` ids as `<ID>.json`.
fn write_npm(mirror: &Path, records: &BTreeMap<String, Vec<u8>>, loose: &[&str]) {
    let dir = mirror.join("npm");
    for entry in fs::read_dir(&dir).unwrap() {
        fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let mut out = fs::File::create(dir.join("all.zip")).unwrap();
    let mut writer = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut listing = Vec::new();
    for (name, bytes) in records {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(bytes).unwrap();
        let record: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        listing.push((
            record["modified"].as_str().unwrap().to_string(),
            record["id"].as_str().unwrap().to_string(),
        ));
    }
    writer.finish().unwrap();
    listing.sort_by(|a, b| b.cmp(a));
    let csv: String = listing
        .iter()
        .map(|(m, id)| format!("{m},{id}\n"))
        .collect();
    fs::write(dir.join("modified_id.csv"), csv).unwrap();
    for id in loose {
        let name = format!("{id}.json");
        fs::write(dir.join(&name), &records[&name]).unwrap();
    }
}

/// `record` as a later day has it: a new `modified` and summary.
fn modified(record: &[u8], day: u32) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(record).unwrap();
    value["modified"] = format!("2026-09-{day:02}T08:00:00Z").into();
    value["summary"] = format!("Revised on day {day}").into();
    serde_json::to_vec_pretty(&value).unwrap()
}

/// Day 1 (the real export) and day 2: `changed` records modified, one new (a copy of
/// one of the lock-v3 fixture's advisories under a new id), one gone. Returns day 2 and
/// the ids new or changed in it.
fn day_two(
    day1: &BTreeMap<String, Vec<u8>>,
    changed: usize,
) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let mut day2 = day1.clone();
    let names: Vec<String> = day1.keys().cloned().collect();
    let mut touched = Vec::new();
    for name in names.iter().skip(10).take(changed) {
        day2.insert(name.clone(), modified(&day1[name], 2));
        touched.push(name.trim_end_matches(".json").to_string());
    }
    day2.remove(&names[1]);
    // lodash's, which the lock-v3 fixture has.
    let mut new: serde_json::Value = serde_json::from_slice(&day1["NSWG-ECO-368.json"]).unwrap();
    new["id"] = "NSWG-ECO-9001".into();
    // Its own finding, not merged into 368's through a shared alias.
    new["aliases"] = serde_json::json!([]);
    new["modified"] = "2026-09-02T09:00:00Z".into();
    day2.insert(
        "NSWG-ECO-9001.json".into(),
        serde_json::to_vec_pretty(&new).unwrap(),
    );
    touched.push("NSWG-ECO-9001".into());
    (day2, touched)
}

/// A mirror serving day 1, and a cache filled from it with `db update`.
struct Setup {
    mirror: tempfile::TempDir,
    cache: tempfile::TempDir,
    day1: BTreeMap<String, Vec<u8>>,
}

fn setup() -> Setup {
    let mirror = mirror();
    let day1 = records_of(&osv_db().join("npm/all.zip"));
    write_npm(mirror.path(), &day1, &[]);
    let cache = tempdir();
    let server = PythonServer::start(mirror.path());
    updated(cache.path(), &server.url(), &[]);
    Setup {
        mirror,
        cache,
        day1,
    }
}

/// A cache filled from day 1 (see [`setup`]), and the mirror then serving day 2 with
/// `changed` records modified (see [`day_two`]); day 2 and the ids new or changed in it.
fn two_days(changed: usize) -> (Setup, BTreeMap<String, Vec<u8>>, Vec<String>) {
    let setup = setup();
    let (day2, touched) = day_two(&setup.day1, changed);
    let loose: Vec<&str> = touched.iter().map(String::as_str).collect();
    write_npm(setup.mirror.path(), &day2, &loose);
    (setup, day2, touched)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `download:` line `db update` printed for npm.
fn npm_download_line(out: &std::process::Output) -> String {
    let text = stdout(out);
    let mut lines = text.lines().skip_while(|l| !l.ends_with("/npm/all.zip"));
    lines.next();
    lines
        .next()
        .filter(|l| l.starts_with("download:"))
        .unwrap_or("(none)")
        .to_string()
}

/// `db update` from `url`, which must succeed.
fn updated(cache: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    let out = update(cache, url, extra);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out
}

/// The npm paths `server` was asked for, in order.
fn npm_requested(server: &PythonServer) -> Vec<String> {
    server
        .requested()
        .into_iter()
        .filter(|p| p.starts_with("/npm/"))
        .collect()
}

#[test]
fn an_update_fetches_only_what_changed_and_ends_with_the_same_export() {
    let (setup, day2, touched) = two_days(3);
    let (mirror, cache, day1) = (&setup.mirror, &setup.cache, &setup.day1);

    let server = PythonServer::start_logged(mirror.path());
    let out = updated(cache.path(), &server.url(), &[]);
    assert_eq!(
        npm_download_line(&out),
        format!(
            "download:   incremental (4 fetched, 1 dropped, {} kept)",
            day1.len() - 4
        )
    );
    let npm = npm_requested(&server);
    assert_eq!(npm[0], "/npm/modified_id.csv", "{npm:?}");
    let mut fetched = npm[1..].to_vec();
    fetched.sort();
    let mut records: Vec<String> = touched.iter().map(|id| format!("/npm/{id}.json")).collect();
    records.sort();
    assert_eq!(fetched, records, "only the listing and the changed records");

    // The cached export holds exactly day 2's records, byte for byte, and audits as the
    // mirror's own all.zip does.
    let cached = cache.path().join("osv/npm/all.zip");
    assert_eq!(records_of(&cached), day2);
    let target = fixture("npm/lock-v3");
    let from_cache = audit(cache.path(), None, &target);
    let from_mirror = audit(tempdir().path(), Some(mirror.path()), &target);
    assert_eq!(from_cache.status.code(), Some(1), "{}", stderr(&from_cache));
    let (a, b) = (
        advisory_findings(&json(&from_cache)),
        advisory_findings(&json(&from_mirror)),
    );
    assert!(a.iter().any(|(_, id)| id == "NSWG-ECO-9001"), "{a:?}");
    assert_eq!(a, b);

    // And again: nothing changed, nothing but the listing is fetched.
    let again = PythonServer::start_logged(mirror.path());
    let out = updated(cache.path(), &again.url(), &[]);
    assert_eq!(
        npm_download_line(&out),
        format!(
            "download:   incremental (0 fetched, 0 dropped, {} kept)",
            day2.len()
        )
    );
    let npm = npm_requested(&again);
    assert_eq!(npm, ["/npm/modified_id.csv"]);
    assert_eq!(records_of(&cached), day2);
}

/// Whenever the listing and the records do not add up, the update downloads the whole
/// export instead, and the result is the mirror's all.zip byte for byte: an incremental
/// update never leaves a mix.
#[test]
fn whatever_does_not_add_up_is_a_full_download_never_a_mix() {
    type Spoil = fn(&Path, &BTreeMap<String, Vec<u8>>, &BTreeMap<String, Vec<u8>>, &[String]);
    let cases: [(&str, Spoil, &str); 6] = [
        (
            "a record older than listed",
            |dir, day1, _, touched| {
                let name = format!("{}.json", touched[0]);
                fs::write(dir.join(&name), &day1[&name]).unwrap();
            },
            "is older than modified_id.csv says",
        ),
        (
            "a record under another id",
            |dir, _, day2, touched| {
                let other = format!("{}.json", touched[1]);
                fs::write(dir.join(format!("{}.json", touched[0])), &day2[&other]).unwrap();
            },
            "holds NSWG",
        ),
        (
            "a record missing",
            |dir, _, _, touched| fs::remove_file(dir.join(format!("{}.json", touched[0]))).unwrap(),
            "is not at the mirror",
        ),
        (
            "a listing that is not one",
            |dir, _, _, _| fs::write(dir.join("modified_id.csv"), "<html>hello</html>\n").unwrap(),
            "modified_id.csv: line 1: no comma",
        ),
        (
            "no listing",
            |dir, _, _, _| fs::remove_file(dir.join("modified_id.csv")).unwrap(),
            "the mirror has no modified_id.csv",
        ),
        (
            "a record that is not JSON",
            |dir, _, _, touched| {
                fs::write(dir.join(format!("{}.json", touched[0])), "{\"id\": ").unwrap()
            },
            "EOF while parsing",
        ),
    ];
    for (what, spoil, why) in cases {
        let (setup, day2, touched) = two_days(3);
        let (mirror, cache, day1) = (&setup.mirror, &setup.cache, &setup.day1);
        spoil(&mirror.path().join("npm"), day1, &day2, &touched);
        let server = PythonServer::start(mirror.path());
        let out = update(cache.path(), &server.url(), &[]);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
        let line = npm_download_line(&out);
        assert!(
            line.starts_with("download:   full (") && line.contains(why),
            "{what}: {line}"
        );
        assert_eq!(
            fs::read(cache.path().join("osv/npm/all.zip")).unwrap(),
            fs::read(mirror.path().join("npm/all.zip")).unwrap(),
            "{what}"
        );
        assert!(temp_files(cache.path()).is_empty(), "{what}");
    }
}

#[test]
fn many_changes_or_a_cached_copy_changed_since_mean_a_full_download() {
    let (Setup { mirror, cache, .. }, day2, _) = two_days(60);
    let server = PythonServer::start_logged(mirror.path());
    let out = updated(cache.path(), &server.url(), &[]);
    assert_eq!(
        npm_download_line(&out),
        format!(
            "download:   full (61 of {} records changed: one download costs less)",
            day2.len()
        )
    );
    assert!(
        !server
            .requested()
            .iter()
            .any(|p| p.starts_with("/npm/NSWG"))
    );

    // The cached copy edited after the fact no longer matches what the cache recorded
    // of it: its records cannot be trusted to be the listed ones.
    let cached = cache.path().join("osv/npm/all.zip");
    let mut bytes = fs::read(&cached).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&cached, &bytes).unwrap();
    let out = updated(cache.path(), &server.url(), &[]);
    assert_eq!(
        npm_download_line(&out),
        "download:   full (the cached copy changed since it was fetched)"
    );
    assert_eq!(
        fs::read(&cached).unwrap(),
        fs::read(mirror.path().join("npm/all.zip")).unwrap()
    );

    // `--full` asks for the whole export whatever the cache holds.
    let out = updated(cache.path(), &server.url(), &["--full"]);
    assert_eq!(npm_download_line(&out), "(none)");
}

/// An incremental update killed while it fetches records leaves the cached copy and its
/// state as they were; the next one completes.
#[test]
fn a_killed_incremental_update_leaves_the_old_copy_and_its_state() {
    let (Setup { mirror, cache, .. }, day2, touched) = two_days(3);
    let zip = cache.path().join("osv/npm/all.zip");
    let state = cache.path().join("osv/npm/vouch-modified.csv");
    let (zip_before, state_before) = (fs::read(&zip).unwrap(), fs::read(&state).unwrap());

    // Serves the mirror, but stalls on the first record.
    let root = mirror.path().to_path_buf();
    let stall = format!("/npm/{}.json", touched[0]);
    let server = Misbehaving::start(move |_, path, s| {
        if path == stall {
            std::thread::sleep(Duration::from_secs(60));
        }
        match fs::read(root.join(path.trim_start_matches('/'))) {
            Ok(body) => respond(s, "200 OK", &body),
            Err(_) => respond(s, "404 Not Found", b""),
        }
    });
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("vouch"))
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["db", "update", "--only", "osv", "--osv-url", &server.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // crates.io: listing (404), all.zip; npm: listing, then the records.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.requests() < 2 + 1 + touched.len() {
        assert!(std::time::Instant::now() < deadline, "no records fetched");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL: nothing of vouch's runs after this
    let _ = child.wait();
    assert_eq!(fs::read(&zip).unwrap(), zip_before);
    assert_eq!(fs::read(&state).unwrap(), state_before);
    let out = audit(cache.path(), None, &fixture("npm/lock-v3"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let good = PythonServer::start(mirror.path());
    let out = updated(cache.path(), &good.url(), &[]);
    assert!(npm_download_line(&out).contains("incremental (4 fetched"));
    assert_eq!(records_of(&zip), day2);
    assert!(temp_files(cache.path()).is_empty());
}

/// A record the mirror keeps failing to serve (HTTP 503 on every try) ends the update in
/// an error, exit 2, and the cached copy and its state stay byte for byte as they were,
/// with nothing staged left behind: a failed incremental update is no partial one.
#[test]
fn a_record_the_mirror_fails_to_serve_leaves_the_old_copy_and_its_state() {
    let (Setup { mirror, cache, .. }, _, touched) = two_days(3);
    let zip = cache.path().join("osv/npm/all.zip");
    let state = cache.path().join("osv/npm/vouch-modified.csv");
    let (zip_before, state_before) = (fs::read(&zip).unwrap(), fs::read(&state).unwrap());

    let root = mirror.path().to_path_buf();
    let failing = format!("/npm/{}.json", touched[1]);
    let server = Misbehaving::start(move |_, path, s| {
        if path == failing {
            return respond(s, "503 Service Unavailable", b"");
        }
        match fs::read(root.join(path.trim_start_matches('/'))) {
            Ok(body) => respond(s, "200 OK", &body),
            Err(_) => respond(s, "404 Not Found", b""),
        }
    });
    let out = update(cache.path(), &server.url(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains(&format!("{}.json: HTTP 503", touched[1])),
        "{text}"
    );
    assert!(text.contains("gave up after 3 tries"), "{text}");
    assert_eq!(fs::read(&zip).unwrap(), zip_before);
    assert_eq!(fs::read(&state).unwrap(), state_before);
    assert!(temp_files(cache.path()).is_empty());
    let out = audit(cache.path(), None, &fixture("npm/lock-v3"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// The last guard: a state that claims a record the cached zip does not hold (here
/// edited in; the digest still matches the zip) makes the plan keep a record that is not
/// there. The rebuilt export then does not hold exactly the listed records, and a full
/// download replaces it: the result is the mirror's all.zip, byte for byte.
#[test]
fn a_rebuilt_export_that_misses_a_listed_record_is_replaced_by_a_full_download() {
    let (Setup { mirror, cache, .. }, _, _) = two_days(3);
    let state = cache.path().join("osv/npm/vouch-modified.csv");
    let phantom = "2026-09-03T00:00:00Z,NSWG-ECO-PHANTOM";
    let mut text = fs::read_to_string(&state).unwrap();
    text.push_str(phantom);
    text.push('\n');
    fs::write(&state, text).unwrap();
    let listing = mirror.path().join("npm/modified_id.csv");
    let listed = fs::read_to_string(&listing).unwrap();
    fs::write(&listing, format!("{phantom}\n{listed}")).unwrap();

    let server = PythonServer::start_logged(mirror.path());
    let out = updated(cache.path(), &server.url(), &[]);
    assert_eq!(
        npm_download_line(&out),
        "download:   full (the rebuilt export does not match modified_id.csv)"
    );
    assert!(npm_requested(&server).contains(&"/npm/all.zip".to_string()));
    assert_eq!(
        fs::read(cache.path().join("osv/npm/all.zip")).unwrap(),
        fs::read(mirror.path().join("npm/all.zip")).unwrap()
    );
    assert!(temp_files(cache.path()).is_empty());
}

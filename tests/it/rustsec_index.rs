//! The RustSec index (src/advisory/rustsec.rs): built once from the real snapshot, kept
//! in the cache directory, and trusted only while it describes the files as they are.
//! Through the library API, because what it must guarantee is per call: the advisories
//! an audit gets from the index are exactly the ones parsed from the files.

use std::fs;
use std::path::{Path, PathBuf};

use vouch::advisory::rustsec::{self, Error, RustSecDb};

use crate::common::{fixture, rustsec_db, tempdir, vouch};

/// A database of a few real crates' advisories.
fn small_db(crates: &[&str]) -> tempfile::TempDir {
    let dir = tempdir();
    for name in crates {
        let from = rustsec_db().join("crates").join(name);
        let to = dir.path().join("crates").join(name);
        fs::create_dir_all(&to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    dir
}

fn crate_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every advisory of `name`, parsed from its files as the index's builder does.
fn parsed(root: &Path, name: &str) -> String {
    let dir = root.join("crates").join(name);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    let advisories: Vec<_> = files
        .iter()
        .filter_map(|p| rustsec::parse(p, name, &fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    format!("{advisories:?}")
}

fn index_files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// For every crate of the real snapshot, the advisories read through the index (built,
/// then loaded from disk by a second opening, as the next run would) are the ones parsed
/// from its files: every field, and the `rustsec` version ranges matching uses.
#[test]
fn the_index_gives_exactly_the_parsed_advisories_for_every_crate() {
    let db = rustsec_db();
    let cache = tempdir();
    let built = RustSecDb::open(db, Some(cache.path())).unwrap();
    built.prepare().unwrap();
    assert_eq!(index_files(cache.path()).len(), 1, "the index is kept");
    let loaded = RustSecDb::open(db, Some(cache.path())).unwrap();
    let names = crate_names(db);
    assert!(names.len() > 500, "{}", names.len());
    for name in &names {
        let want = parsed(db, name);
        assert_eq!(
            format!("{:?}", built.advisories_for(name).unwrap()),
            want,
            "{name}"
        );
        assert_eq!(
            format!("{:?}", loaded.advisories_for(name).unwrap()),
            want,
            "{name}"
        );
    }
    assert!(
        loaded
            .advisories_for("no-such-crate-here")
            .unwrap()
            .is_empty()
    );
    assert!(loaded.advisories_for("../../etc").unwrap().is_empty());
}

/// A database updated the usual way (a file replaced, a crate added) is indexed again;
/// a file changed in place under an unchanged directory is an error naming it.
#[test]
fn an_updated_database_is_reindexed_and_one_changed_under_its_index_is_an_error() {
    let db = small_db(&["smallvec", "atty"]);
    let cache = tempdir();
    let open = || RustSecDb::open(db.path(), Some(cache.path())).unwrap();
    let ids = |db: &RustSecDb, name: &str| -> Vec<String> {
        db.advisories_for(name)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    assert_eq!(ids(&open(), "atty").len(), 2);

    // Replaced (removed, written anew: git does this): the directory changes.
    let file = db.path().join("crates/atty/RUSTSEC-2021-0145.md");
    let text = fs::read_to_string(&file).unwrap();
    fs::remove_file(&file).unwrap();
    fs::write(
        &file,
        text.replace("Potential unaligned read", "Replaced title"),
    )
    .unwrap();
    let titles: Vec<String> = open()
        .advisories_for("atty")
        .unwrap()
        .into_iter()
        .map(|a| a.title)
        .collect();
    assert!(titles.contains(&"Replaced title".to_string()), "{titles:?}");

    // A crate added.
    let from = rustsec_db().join("crates/time");
    fs::create_dir(db.path().join("crates/time")).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(
            entry.path(),
            db.path().join("crates/time").join(entry.file_name()),
        )
        .unwrap();
    }
    assert!(!ids(&open(), "time").is_empty(), "the new crate is seen");

    // Changed in place: same name, same directory, other bytes.
    let current = open();
    assert_eq!(ids(&current, "smallvec").len(), 5);
    let file = db.path().join("crates/smallvec/RUSTSEC-2021-0003.md");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(
        &file,
        text.replace("patched = [", "patched = [\">= 9.9.9\", "),
    )
    .unwrap();
    let err = open().advisories_for("smallvec").unwrap_err();
    assert!(matches!(err, Error::Changed { .. }), "{err}");
    assert!(err.to_string().contains("RUSTSEC-2021-0003.md"), "{err}");
}

#[test]
fn a_damaged_index_is_an_error_naming_it() {
    let db = small_db(&["atty"]);
    let cache = tempdir();
    RustSecDb::open(db.path(), Some(cache.path()))
        .unwrap()
        .prepare()
        .unwrap();
    let index = index_files(cache.path()).remove(0);
    let bytes = fs::read(&index).unwrap();
    fs::write(&index, &bytes[..bytes.len() - 10]).unwrap();
    let err = RustSecDb::open(db.path(), Some(cache.path()))
        .unwrap()
        .advisories_for("atty")
        .unwrap_err();
    assert!(
        err.to_string().contains(&index.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("damaged"), "{err}");
}

/// The database may be read-only and the cache unwritable: the index is then built per
/// run, with the same answers.
#[cfg(unix)]
#[test]
fn an_unwritable_cache_only_costs_the_kept_index() {
    use std::os::unix::fs::PermissionsExt;
    let db = small_db(&["atty"]);
    let cache = tempdir();
    fs::set_permissions(cache.path(), fs::Permissions::from_mode(0o500)).unwrap();
    let writable = fs::File::create(cache.path().join("probe")).is_ok();
    let found = RustSecDb::open(db.path(), Some(&cache.path().join("index")))
        .unwrap()
        .advisories_for("atty")
        .unwrap();
    fs::set_permissions(cache.path(), fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(found.len(), 2);
    if !writable {
        assert!(index_files(&cache.path().join("index")).is_empty());
    }
}

/// Regression (issue 16 item 15, for RustSec): a database without advisories is an
/// error naming it, never an audit that passes because nothing matched.
#[test]
fn a_database_without_advisories_is_an_error() {
    let db = tempdir();
    fs::create_dir(db.path().join("crates")).unwrap();
    let lock = fixture("cargo/vulnerable/Cargo.lock");
    let run = |db: &Path| {
        let out = vouch()
            .args(["audit", "--db"])
            .arg(db)
            .arg(&lock)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(db.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&db.path().display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("holds no advisories"), "{stderr}");
    // Crate directories without a single advisory file are no better.
    fs::create_dir(db.path().join("crates/empty")).unwrap();
    fs::write(db.path().join("crates/empty/README.txt"), "x").unwrap();
    let (code, stderr) = run(db.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("holds no advisories"), "{stderr}");
}

/// Every path under `root` with its length and modification time.
fn tree(root: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
            }
            out.push((path, meta.len(), meta.modified().unwrap()));
        }
    }
    out.sort();
    out
}

/// A `--db` directory may be read-only (a mounted or shared copy): the index an audit
/// builds goes into the cache directory, and the database is left exactly as it was.
/// Compared file by file rather than with a read-only mount, which root (CI) ignores.
#[test]
fn an_audit_indexes_a_db_directory_into_the_cache_and_never_writes_the_database() {
    let db = small_db(&["smallvec", "time", "atty"]);
    let cache = tempdir();
    let before = tree(db.path());
    for _ in 0..2 {
        vouch()
            .env("VOUCH_CACHE_DIR", cache.path())
            .args(["audit", "--db"])
            .arg(db.path())
            .arg(fixture("cargo/vulnerable/Cargo.lock"))
            .assert()
            .code(1);
    }
    assert_eq!(tree(db.path()), before);
    assert_eq!(index_files(&cache.path().join("rustsec-index")).len(), 1);
}

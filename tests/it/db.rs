//! `vouch db update|status`.

use crate::common::{tempdir, vouch};

#[test]
fn status_without_a_database_is_an_error() {
    let cache = tempdir();
    vouch()
        .args(["db", "status"])
        .env("VOUCH_CACHE_DIR", cache.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "no advisory database in the cache yet",
        ))
        .stderr(predicates::str::contains("run `vouch db update`"));
}

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{fixture, rustsec_db};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A git repository holding the real RustSec snapshot: the update path vouch takes
/// against the real upstream, served from disk.
fn snapshot_repo() -> tempfile::TempDir {
    let repo = tempdir();
    let status = Command::new("cp")
        .arg("-R")
        .arg(format!("{}/.", rustsec_db().display()))
        .arg(repo.path())
        .status()
        .unwrap();
    assert!(status.success());
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "snapshot"]);
    repo
}

fn head(repo: &Path) -> String {
    let out = Command::new("git")
        .current_dir(repo)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn update_fetches_validates_and_audit_then_runs_offline_from_the_cache() {
    let repo = snapshot_repo();
    let cache = tempdir();
    vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["db", "update", "--only", "rustsec", "--rustsec-url"])
        .arg(repo.path())
        .assert()
        .code(0)
        .stdout(predicates::str::contains(head(repo.path())));
    assert!(cache.path().join("rustsec/vouch-db.json").is_file());
    // The update indexed the copy, so no audit has to parse it.
    let indexes = std::fs::read_dir(cache.path().join("rustsec-index")).unwrap();
    assert_eq!(indexes.count(), 1);

    let out = vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["audit", "--format", "json"])
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = crate::common::json(&out);
    assert_eq!(report["database"]["commit"], head(repo.path()));
    assert!(report["database"]["age_seconds"].as_i64().unwrap() < 600);
    assert_eq!(report["summary"]["errors"], 4);

    vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["db", "status"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains(head(repo.path())))
        .stdout(predicates::str::is_match(r"advisories: \d{4}").unwrap());
}

#[test]
fn a_failed_update_leaves_the_previous_database_in_place() {
    let repo = snapshot_repo();
    let cache = tempdir();
    vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["db", "update", "--only", "rustsec", "--rustsec-url"])
        .arg(repo.path())
        .assert()
        .code(0);
    let good = head(repo.path());

    // Upstream publishes a broken advisory: the update must refuse it.
    fs::write(
        repo.path().join("crates/regex/RUSTSEC-2022-0013.md"),
        "```toml\n[advisory]\nid = \"RUSTSEC-2022-0013\"\n```\n",
    )
    .unwrap();
    git(repo.path(), &["commit", "-q", "-am", "break"]);
    vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["db", "update", "--only", "rustsec", "--rustsec-url"])
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not usable"))
        .stderr(predicates::str::contains("previous database is unchanged"));

    // Unreachable upstream: same.
    vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args([
            "db",
            "update",
            "--only",
            "rustsec",
            "--rustsec-url",
            "/nonexistent/advisory-db",
        ])
        .assert()
        .code(2);

    vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args(["db", "status"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains(good));
    let leftovers: Vec<_> = fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-") || n.contains(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn credentials_in_the_database_url_never_reach_the_output() {
    let cache = tempdir();
    let out = vouch()
        .env("VOUCH_CACHE_DIR", cache.path())
        .args([
            "db",
            "update",
            "--only",
            "rustsec",
            "--rustsec-url",
            "http://vouch-user:hunter2-s3cret@127.0.0.1:9/advisory-db.git",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hunter2-s3cret"), "{all}");
    assert!(!all.contains("vouch-user"), "{all}");
    assert!(
        all.contains("127.0.0.1:9"),
        "the error still says where: {all}"
    );
}

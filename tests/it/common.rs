//! Shared test harness: the binary under test, the shared advisory data, scratch dirs,
//! and the rule for tests that need an external tool.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `vouch` binary under test, with a clean environment: no user cache, no colour, no
/// terminal width.
pub fn vouch() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("vouch").expect("vouch binary");
    cmd.env_remove("VOUCH_RUSTSEC_URL")
        .env_remove("VOUCH_OSV_URL")
        .env("VOUCH_CACHE_DIR", scratch_root().join("no-cache-here"))
        .env("NO_COLOR", "1")
        // Human reports fit COLUMNS when it is set; tests that want a width set it.
        .env_remove("COLUMNS");
    cmd
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture path under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// `../shared` beside the checkout (CI puts it there), or `$VOUCH_SHARED_DIR`.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("VOUCH_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    assert!(
        dir.join("advisories").is_dir(),
        "shared advisory data not found at {} (set VOUCH_SHARED_DIR)",
        dir.display()
    );
    dir
}

/// A directory that lives as long as the test process.
fn scratch_root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| tempfile::tempdir().expect("scratch dir"))
        .path()
}

/// A fresh temporary directory for one test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The real RustSec snapshot (../shared/advisories/rustsec-advisory-db.tar.gz), unpacked
/// once per test process.
pub fn rustsec_db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = scratch_root().join("rustsec-db");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let tarball = shared_dir().join("advisories/rustsec-advisory-db.tar.gz");
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&dir)
            .status()
            .expect("run tar");
        assert!(status.success(), "could not unpack {}", tarball.display());
        dir
    })
}

/// Finds an external tool a test needs (a registry, cosign, a validator). Tests that need
/// one are `#[ignore = "needs TOOL: INSTALLER"]`, so a plain `cargo test` lists them as
/// not run; `scripts/test.sh` runs them (`--include-ignored`) when every tool is present,
/// and CI always does. A test that runs without its tool fails: it never passes unrun.
pub fn require_tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{name} is not installed: run the installer named in this test's #[ignore] (scripts/ci/)")
        })
}

/// The date `days` from today (negative: in the past), as a waiver's `expires` writes it.
pub fn date_in(days: i64) -> String {
    jiff::Zoned::now()
        .date()
        .checked_add(jiff::Span::new().days(days))
        .expect("a date in range")
        .to_string()
}

/// Parses stdout as JSON.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A file an external tool's install put in place (a schema from scripts/ci/), with the
/// same rule as [`require_tool`]: a test that runs without it fails.
pub fn require_file(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "{} is missing: run the installer named in this test's #[ignore] (scripts/ci/)",
        path.display()
    );
    path
}

/// The real OSV exports (../shared/advisories/osv: `<Ecosystem>/all.zip`), read in place.
pub fn osv_db() -> PathBuf {
    shared_dir().join("advisories/osv")
}

/// (package name, advisory id) of every advisory finding in a JSON audit report.
pub fn advisory_findings(
    report: &serde_json::Value,
) -> std::collections::BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["advisory"].is_object())
        .map(|f| {
            (
                f["package"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                f["advisory"]["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

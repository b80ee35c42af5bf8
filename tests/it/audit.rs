//! `vouch audit` of Cargo.lock files against the real RustSec snapshot.

use std::fs;

use crate::common::{fixture, json, rustsec_db, tempdir, vouch};

/// The advisory ids (with level) the real snapshot yields for the vulnerable fixture;
/// cargo-audit 0.22 reports the same set (scripts/compare-cargo-audit.sh checks it).
const VULNERABLE_FINDINGS: &[(&str, &str, &str)] = &[
    ("RUSTSEC-2020-0159", "chrono", "error"),
    ("RUSTSEC-2022-0013", "regex", "error"),
    ("RUSTSEC-2021-0003", "smallvec", "error"),
    ("RUSTSEC-2020-0071", "time", "error"),
    ("RUSTSEC-2021-0139", "ansi_term", "warning"),
    ("RUSTSEC-2021-0145", "atty", "warning"),
    ("RUSTSEC-2024-0375", "atty", "warning"),
    ("RUSTSEC-2020-0070", "lock_api", "warning"),
    ("RUSTSEC-2018-0018", "smallvec", "warning"),
];

fn findings(report: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["advisory"].is_object())
        .map(|f| {
            (
                f["advisory"]["id"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap().to_string(),
                f["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn expected(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = list
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    out.sort();
    out
}

#[test]
fn vulnerable_lockfile_reports_exactly_the_known_advisories() {
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["schema"], "vouch.audit/1");
    assert_eq!(report["verdict"], "fail");
    assert_eq!(findings(&report), expected(VULNERABLE_FINDINGS));
    assert_eq!(report["summary"]["packages"], 21);
    assert_eq!(report["summary"]["errors"], 4);
    assert_eq!(report["summary"]["warnings"], 5);

    let regex = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["advisory"]["id"] == "RUSTSEC-2022-0013")
        .unwrap();
    assert_eq!(regex["advisory"]["severity"], "high");
    assert_eq!(regex["advisory"]["cvss_score"], 7.5);
    assert_eq!(regex["advisory"]["aliases"][0], "CVE-2022-24713");
    assert_eq!(regex["advisory"]["fixed_versions"][0], ">=1.5.5");
    assert_eq!(regex["package"]["version"], "1.5.4");
    assert_eq!(regex["package"]["purl"], "pkg:cargo/regex@1.5.4");
    assert!(regex["package"]["line"].as_u64().unwrap() > 1);
    assert!(regex["waived_by"].is_null());
}

#[test]
fn clean_lockfile_passes() {
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg(fixture("cargo/clean"))
        .assert()
        .code(0)
        .stdout(predicates::str::contains("PASS"));
}

#[test]
fn missing_database_is_an_error_not_a_pass() {
    let dir = tempdir();
    vouch()
        .args(["audit", "--db"])
        .arg(dir.path().join("nope"))
        .arg(fixture("cargo/clean/Cargo.lock"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a RustSec advisory database"));
}

#[test]
fn lockfile_with_zero_packages_is_an_error() {
    let dir = tempdir();
    fs::write(dir.path().join("Cargo.lock"), "version = 4\n").unwrap();
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no packages to audit"));
}

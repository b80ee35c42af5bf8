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
    // The fixture crate itself is local: counted apart, never audited.
    assert_eq!(report["summary"]["packages"], 20);
    assert_eq!(report["summary"]["local_packages"], 1);
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

// ---- waivers -------------------------------------------------------------------------

/// A date `days` from today, as waiver files write it.
fn day(days: i64) -> String {
    let today = jiff::Zoned::now().date();
    today
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
        .to_string()
}

fn waiver(id: &str, extra: &str, expires_in_days: i64) -> String {
    format!(
        "[[waiver]]\nid = \"{id}\"\n{extra}reason = \"test\"\nowner = \"sec-team\"\nexpires = {}\n\n",
        day(expires_in_days)
    )
}

/// Runs a JSON audit of the vulnerable fixture with `waivers` as the waiver file.
fn audit_with_waivers(waivers: &str, extra_args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let dir = tempdir();
    let path = dir.path().join("waivers.toml");
    fs::write(&path, waivers).unwrap();
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg("--waivers")
        .arg(&path)
        .args(extra_args)
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .output()
        .unwrap();
    (out.status.code(), json(&out))
}

fn finding_for<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["advisory"]["id"] == id)
        .unwrap_or_else(|| panic!("no finding for {id}"))
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["code"].as_str().unwrap(),
                f["level"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn waivers_by_any_alias_cover_every_vulnerability_and_the_gate_passes() {
    let waivers = [
        waiver("RUSTSEC-2020-0159", "", 90),
        waiver("CVE-2022-24713", "", 90),
        waiver("GHSA-43w2-9j62-hq99", "", 90),
        waiver(
            "cve-2020-26235",
            "package = \"time\"\nversions = \"<0.2\"\n",
            90,
        ),
    ]
    .concat();
    let (code, report) = audit_with_waivers(&waivers, &[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["summary"]["waived"], 4);
    let regex = finding_for(&report, "RUSTSEC-2022-0013");
    assert_eq!(regex["level"], "info");
    assert_eq!(regex["waived_by"]["id"], "CVE-2022-24713");
    assert_eq!(regex["waived_by"]["owner"], "sec-team");
    assert_eq!(
        regex["waived_by"]["line"], 8,
        "the second waiver's `id` line"
    );
}

#[test]
fn an_expired_waiver_no_longer_waives_and_fails_by_itself() {
    let (code, report) = audit_with_waivers(&waiver("RUSTSEC-2022-0013", "", -1), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(finding_for(&report, "RUSTSEC-2022-0013")["level"], "error");
    assert!(finding_for(&report, "RUSTSEC-2022-0013")["waived_by"].is_null());
    assert!(codes(&report).contains(&"waiver-expired:error".to_string()));
    assert!(
        !codes(&report)
            .iter()
            .any(|c| c.starts_with("waiver-unused"))
    );
}

#[test]
fn a_waiver_still_waives_on_its_expiry_day_and_warns_near_expiry() {
    let (_, report) = audit_with_waivers(&waiver("RUSTSEC-2022-0013", "", 0), &[]);
    assert_eq!(finding_for(&report, "RUSTSEC-2022-0013")["level"], "info");
    assert!(codes(&report).contains(&"waiver-expiring-soon:warning".to_string()));

    let (_, report) = audit_with_waivers(&waiver("RUSTSEC-2022-0013", "", 15), &[]);
    assert!(
        !codes(&report)
            .iter()
            .any(|c| c.starts_with("waiver-expiring"))
    );
}

#[test]
fn an_unused_waiver_warns_and_fails_only_when_denied() {
    let unused = waiver("RUSTSEC-2099-0001", "", 30);
    let (code, report) =
        audit_with_waivers(&unused, &["--allow-unscored", "--fail-on", "critical"]);
    assert_eq!(code, Some(1), "smallvec is critical");
    assert!(codes(&report).contains(&"waiver-unused:warning".to_string()));

    let dir = tempdir();
    let path = dir.path().join("w.toml");
    fs::write(&path, &unused).unwrap();
    let clean = fixture("cargo/clean/Cargo.lock");
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg("--waivers")
        .arg(&path)
        .arg(&clean)
        .assert()
        .code(0)
        .stdout(predicates::str::contains("matched no package"));
    vouch()
        .args(["audit", "--deny-unused-waivers", "--db"])
        .arg(rustsec_db())
        .arg("--waivers")
        .arg(&path)
        .arg(&clean)
        .assert()
        .code(1);
}

#[test]
fn waivers_narrowed_to_another_package_or_version_do_not_apply() {
    for extra in [
        "package = \"regex-syntax\"\n",
        "versions = \"<1.5.0\"\n",
        "versions = \">=1.5.5\"\n",
    ] {
        let (_, report) = audit_with_waivers(&waiver("RUSTSEC-2022-0013", extra, 30), &[]);
        assert_eq!(
            finding_for(&report, "RUSTSEC-2022-0013")["level"],
            "error",
            "{extra}"
        );
        assert!(
            codes(&report).contains(&"waiver-unused:warning".to_string()),
            "{extra}"
        );
    }
    let (_, report) = audit_with_waivers(
        &waiver(
            "RUSTSEC-2022-0013",
            "package = \"regex\"\nversions = \"=1.5.4\"\n",
            30,
        ),
        &[],
    );
    assert_eq!(finding_for(&report, "RUSTSEC-2022-0013")["level"], "info");
}

#[test]
fn malformed_waiver_files_are_errors_with_line_and_column() {
    let cases = [
        (
            "[[waiver]]\nid = \"X\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2030-01-01\nexpiry = 1\n",
            ":6:1: unknown field `expiry`",
        ),
        (
            "[[waiver]]\nid = \"X\"\nreason = \"r\"\nexpires = 2030-01-01\n",
            "missing field `owner`",
        ),
        (
            "[[waiver]]\nid = \"X\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"next year\"\n",
            ":5:11: `expires` must be a date",
        ),
        (
            "[[waiver]]\nid = \"X\"\nreason = \"\"\nowner = \"o\"\nexpires = 2030-01-01\n",
            ":3:10: `reason` must not be empty",
        ),
        ("[[waiver]\n", ":1:"),
    ];
    for (text, want) in cases {
        let dir = tempdir();
        let path = dir.path().join("w.toml");
        fs::write(&path, text).unwrap();
        vouch()
            .args(["audit", "--db"])
            .arg(rustsec_db())
            .arg("--waivers")
            .arg(&path)
            .arg(fixture("cargo/clean/Cargo.lock"))
            .assert()
            .code(2)
            .stderr(predicates::str::contains("w.toml"))
            .stderr(predicates::str::contains(want));
    }
}

/// Waivers come from the project directory (the policy's, else the current one), never
/// from the directory scanned: the same file whatever path is audited (tests/it/project.rs
/// holds the whole rule).
#[test]
fn the_waiver_file_in_the_current_directory_is_used_by_default() {
    let dir = tempdir();
    fs::copy(
        fixture("cargo/vulnerable/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    fs::write(
        dir.path().join("vouch-waivers.toml"),
        waiver("RUSTSEC-2022-0013", "", 30),
    )
    .unwrap();
    let out = vouch()
        .current_dir(dir.path())
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg(dir.path())
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(finding_for(&report, "RUSTSEC-2022-0013")["level"], "info");
    assert_eq!(report["waiver_file"], "vouch-waivers.toml");
    // Run from elsewhere, the same scan reads no waivers.
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg(dir.path())
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(finding_for(&report, "RUSTSEC-2022-0013")["level"], "error");
    assert!(report["waiver_file"].is_null());
}

#[test]
fn a_missing_waiver_file_that_was_asked_for_is_an_error() {
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .args(["--waivers", "/nonexistent/waivers.toml"])
        .arg(fixture("cargo/clean/Cargo.lock"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("/nonexistent/waivers.toml"));
}

// ---- thresholds and informational kinds --------------------------------------------

fn error_ids(args: &[&str]) -> (Option<i32>, Vec<String>) {
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .args(args)
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .output()
        .unwrap();
    let report = json(&out);
    let mut ids: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "error")
        .map(|f| f["advisory"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    (out.status.code(), ids)
}

#[test]
fn fail_on_threshold_keeps_unscored_vulnerabilities_failing() {
    // chrono's RUSTSEC-2020-0159 has no CVSS score: it fails unless --allow-unscored.
    let (code, ids) = error_ids(&["--fail-on", "critical"]);
    assert_eq!(code, Some(1));
    assert_eq!(ids, ["RUSTSEC-2020-0159", "RUSTSEC-2021-0003"]);

    let (_, ids) = error_ids(&["--fail-on", "high"]);
    assert_eq!(
        ids,
        [
            "RUSTSEC-2020-0159",
            "RUSTSEC-2021-0003",
            "RUSTSEC-2022-0013"
        ]
    );

    let (_, ids) = error_ids(&["--fail-on", "critical", "--allow-unscored"]);
    assert_eq!(ids, ["RUSTSEC-2021-0003"]);
}

#[test]
fn below_threshold_vulnerabilities_are_warnings_and_can_pass() {
    let dir = tempdir();
    let path = dir.path().join("w.toml");
    fs::write(&path, waiver("RUSTSEC-2021-0003", "", 30)).unwrap();
    vouch()
        .args(["audit", "--fail-on", "critical", "--allow-unscored", "--db"])
        .arg(rustsec_db())
        .arg("--waivers")
        .arg(&path)
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .assert()
        .code(0);
}

#[test]
fn informational_kinds_fail_only_when_denied() {
    let (_, ids) = error_ids(&[
        "--deny",
        "unmaintained,unsound",
        "--fail-on",
        "critical",
        "--allow-unscored",
    ]);
    assert_eq!(
        ids,
        [
            "RUSTSEC-2018-0018",
            "RUSTSEC-2020-0070",
            "RUSTSEC-2021-0003",
            "RUSTSEC-2021-0139",
            "RUSTSEC-2021-0145",
            "RUSTSEC-2024-0375"
        ]
    );
    vouch()
        .args(["audit", "--deny", "abandoned", "--db"])
        .arg(rustsec_db())
        .arg(fixture("cargo/clean"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "unknown `deny` value `abandoned`",
        ));
}

// ---- bad input ---------------------------------------------------------------------

#[test]
fn a_corrupt_lockfile_is_an_error_with_its_location() {
    let dir = tempdir();
    let lock = dir.path().join("Cargo.lock");
    let mut text = fs::read_to_string(fixture("cargo/vulnerable/Cargo.lock")).unwrap();
    text = text.replacen(
        "[[package]]\nname = \"regex\"",
        "[[package]\nname = \"regex\"",
        1,
    );
    fs::write(&lock, text).unwrap();
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg(&lock)
        .assert()
        .code(2)
        .stderr(predicates::str::is_match(r"Cargo\.lock:\d+:\d+: invalid Cargo\.lock").unwrap());
}

#[test]
fn a_directory_without_lockfiles_is_an_error() {
    let dir = tempdir();
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no lockfile found"));
}

#[test]
fn a_file_that_is_not_a_lockfile_is_an_error() {
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg(fixture("cargo/clean/Cargo.toml"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "not a lockfile or SBOM vouch reads",
        ));
}

#[test]
fn a_database_with_a_broken_advisory_for_an_audited_crate_is_an_error() {
    let db = tempdir();
    let dir = db.path().join("crates/regex");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("RUSTSEC-2022-0013.md"),
        "```toml\n[advisory]\nid = 1\n```\n",
    )
    .unwrap();
    vouch()
        .args(["audit", "--db"])
        .arg(db.path())
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid advisory"));
}

// ---- the human report --------------------------------------------------------------

#[test]
fn human_report_of_the_bundled_example() {
    // The example's policy, its made-up database and its waiver (expiring 2030-06-30),
    // which names the advisory by an alias: the report says which.
    let out = vouch()
        .current_dir(crate::common::repo())
        .args(["audit", "--policy", "fixtures/example/vouch.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

fn audit_workspace(extra: &[&str]) -> serde_json::Value {
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .args(extra)
        .arg(fixture("cargo/workspace-dev"))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

/// Regression (issue 16 item 7): `--exclude-dev` on a Cargo.lock was a silent no-op. The
/// workspace made with cargo (fixtures/cargo/workspace-dev/README.md) dev-depends on
/// smallvec 0.6.10, atty and time, all with advisories; its runtime crates have none.
#[test]
fn exclude_dev_skips_the_crates_only_dev_dependencies_reach() {
    let all = audit_workspace(&[]);
    let dev_only = ["smallvec", "atty", "time"];
    let flagged = |report: &serde_json::Value| -> Vec<String> {
        findings(report)
            .into_iter()
            .map(|(_, name, _)| name)
            .collect()
    };
    for name in dev_only {
        assert!(flagged(&all).contains(&name.to_string()), "{name}: {all:#}");
    }
    // The three workspace members are the project's own code: counted as local.
    assert_eq!(all["summary"]["packages"], 12);
    assert_eq!(all["summary"]["local_packages"], 3);

    let runtime = audit_workspace(&["--exclude-dev"]);
    assert_eq!(runtime["summary"]["packages"], 5, "{runtime:#}");
    assert!(flagged(&runtime).is_empty(), "{runtime:#}");
    assert!(
        runtime["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] != "dev-packages-unknown"),
        "{runtime:#}"
    );
}

/// A Cargo.lock without the workspace's manifests cannot tell dev-only crates: with
/// `--exclude-dev` every package is still audited and the report says why.
#[test]
fn exclude_dev_without_manifests_audits_everything_and_says_so() {
    let dir = tempdir();
    fs::copy(
        fixture("cargo/workspace-dev/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    let out = vouch()
        .args(["audit", "--format", "json", "--exclude-dev", "--db"])
        .arg(rustsec_db())
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["summary"]["packages"], 12);
    let notes: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "dev-packages-unknown")
        .collect();
    assert_eq!(notes.len(), 1, "{report:#}");
    assert_eq!(notes[0]["level"], "warning");
    let message = notes[0]["message"].as_str().unwrap();
    assert!(message.contains("Cargo.toml"), "{message}");
    assert!(message.contains("Cargo.lock"), "{message}");
}

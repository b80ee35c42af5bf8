//! One rule set for every command: which policy applies, which waiver file is read, and
//! that `vouch audit`, `vouch check` and `vouch waivers list|check|add` then agree.

use std::fs;
use std::path::Path;

use crate::common::{date_in, fixture, json, rustsec_db, tempdir, vouch};

fn waiver(id: &str, days: i64) -> String {
    format!(
        "[[waiver]]\nid = \"{id}\"\nreason = \"r\"\nowner = \"o\"\nexpires = {}\n\n",
        date_in(days)
    )
}

/// A project: `app/Cargo.lock` (the vulnerable fixture), and `files` written beside it.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempdir();
    fs::create_dir(dir.path().join("app")).unwrap();
    fs::copy(
        fixture("cargo/vulnerable/Cargo.lock"),
        dir.path().join("app/Cargo.lock"),
    )
    .unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    vouch()
        .current_dir(dir)
        .args(args)
        .arg("--db")
        .arg(rustsec_db())
        .output()
        .unwrap()
}

fn level_of(report: &serde_json::Value, id: &str) -> String {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["advisory"]["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report}"))["level"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Regression (issue 16, item 5): `vouch audit app` looked for app/vouch-waivers.toml
/// while `vouch audit app/Cargo.lock` read ./vouch-waivers.toml.
#[test]
fn audit_reads_the_same_waiver_file_whatever_path_is_scanned() {
    let dir = project(&[
        ("vouch-waivers.toml", &waiver("CVE-2022-24713", 30)),
        ("app/vouch-waivers.toml", &waiver("RUSTSEC-2021-0003", 30)),
    ]);
    for path in ["app", "app/Cargo.lock", "."] {
        let out = run(dir.path(), &["audit", "--format", "json", path]);
        let report = json(&out);
        assert_eq!(report["waiver_file"], "vouch-waivers.toml", "{path}");
        assert_eq!(level_of(&report, "RUSTSEC-2022-0013"), "info", "{path}");
        assert_eq!(level_of(&report, "RUSTSEC-2021-0003"), "error", "{path}");
    }
    // The file in the scanned directory is not read, and the audit says so.
    let out = run(dir.path(), &["audit", "--format", "json", "app"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "note: app/vouch-waivers.toml is not read: waivers come from vouch-waivers.toml"
        ),
        "{stderr}"
    );
}

#[test]
fn every_command_takes_the_waiver_file_the_policy_names() {
    let dir = project(&[
        (
            "vouch.toml",
            "[audit]\npaths = [\"app\"]\n\n[waivers]\nfile = \"security/waivers.toml\"\n",
        ),
        ("security/waivers.toml", &waiver("CVE-2022-24713", 30)),
        ("vouch-waivers.toml", &waiver("RUSTSEC-2021-0003", 30)),
    ]);
    let audit = json(&run(dir.path(), &["audit", "--format", "json"]));
    assert_eq!(audit["waiver_file"], "security/waivers.toml");
    assert_eq!(audit["policy"], "vouch.toml");
    assert_eq!(level_of(&audit, "RUSTSEC-2022-0013"), "info");

    let check = json(&run(dir.path(), &["check", "--format", "json"]));
    let summary = check["checks"][0]["summary"].as_str().unwrap();
    assert!(
        summary.ends_with("waivers: security/waivers.toml"),
        "{summary}"
    );

    let list = json(&run(dir.path(), &["waivers", "list", "--format", "json"]));
    assert_eq!(list["file"], "security/waivers.toml");
    assert_eq!(list["waivers"][0]["id"], "CVE-2022-24713");

    vouch()
        .current_dir(dir.path())
        .args(["waivers", "check"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains(
            "security/waivers.toml: 1 waivers, 0 failing",
        ));

    vouch()
        .current_dir(dir.path())
        .args(["waivers", "add", "RUSTSEC-2021-0003", "--reason", "r"])
        .args(["--owner", "o", "--expires", &date_in(10), "--db"])
        .arg(rustsec_db())
        .assert()
        .code(0)
        .stdout(predicates::str::contains("to security/waivers.toml:"));
}

/// Regression (issue 16, item 6): with a vouch.toml present, `vouch audit` ignored its
/// settings, so it passed or failed differently from `vouch check`.
#[test]
fn audit_applies_the_policy_and_agrees_with_check_and_flags_override() {
    let dir = project(&[(
        "vouch.toml",
        "[audit]\npaths = [\"app\"]\nfail-on = \"critical\"\nunscored = \"warn\"\n",
    )]);
    let audit = run(dir.path(), &["audit", "--format", "json"]);
    let check = run(dir.path(), &["check", "--format", "json"]);
    assert_eq!(audit.status.code(), Some(1));
    assert_eq!(audit.status.code(), check.status.code());
    let audit = json(&audit);
    // regex (high) and chrono (unscored) warn under the policy; smallvec (critical) fails.
    assert_eq!(level_of(&audit, "RUSTSEC-2022-0013"), "warning");
    assert_eq!(level_of(&audit, "RUSTSEC-2020-0159"), "warning");
    assert_eq!(level_of(&audit, "RUSTSEC-2021-0003"), "error");
    assert_eq!(
        audit["summary"]["errors"],
        json(&check)["checks"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["level"] == "error")
            .count()
    );
    // A flag overrides the policy's setting.
    let strict = json(&run(
        dir.path(),
        &["audit", "--format", "json", "--fail-on", "high"],
    ));
    assert_eq!(level_of(&strict, "RUSTSEC-2022-0013"), "error");
    // And --policy picks another file; the paths it names are relative to it.
    fs::create_dir(dir.path().join("other")).unwrap();
    fs::write(
        dir.path().join("other/vouch.toml"),
        "[audit]\npaths = [\"../app\"]\nfail-on = \"low\"\n",
    )
    .unwrap();
    let other = json(&run(
        dir.path(),
        &["audit", "--format", "json", "--policy", "other/vouch.toml"],
    ));
    assert_eq!(level_of(&other, "RUSTSEC-2022-0013"), "error");
    assert_eq!(other["policy"], "other/vouch.toml");
}

#[test]
fn waivers_check_applies_the_policy_s_max_days_and_the_flag_overrides_it() {
    let dir = project(&[
        ("vouch.toml", "[audit]\n\n[waivers]\nmax-days = 30\n"),
        ("vouch-waivers.toml", &waiver("CVE-2022-24713", 60)),
    ]);
    vouch()
        .current_dir(dir.path())
        .args(["waivers", "check"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "expires 60 days ahead, more than the 30 allowed",
        ));
    vouch()
        .current_dir(dir.path())
        .args(["waivers", "check", "--max-days", "90"])
        .assert()
        .code(0);
    // `vouch check` fails on the same waiver for the same reason.
    let check = json(&run(dir.path(), &["check", "--format", "json"]));
    assert!(
        check["checks"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "waiver-expiry-too-far"),
        "{check}"
    );
}

#[test]
fn waivers_add_refuses_a_duplicate_and_warns_on_an_id_no_database_knows() {
    let dir = project(&[("vouch-waivers.toml", &waiver("CVE-2022-24713", 30))]);
    let add = |id: &str, extra: &[&str]| {
        vouch()
            .current_dir(dir.path())
            .args(["waivers", "add", id, "--reason", "r", "--owner", "o"])
            .args(["--expires", &date_in(20), "--db"])
            .arg(rustsec_db())
            .args(extra)
            .output()
            .unwrap()
    };
    let before = fs::read_to_string(dir.path().join("vouch-waivers.toml")).unwrap();
    let out = add("cve-2022-24713", &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("vouch-waivers.toml:2 already waives CVE-2022-24713"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("vouch-waivers.toml")).unwrap(),
        before,
        "nothing written on refusal"
    );
    // Narrowed to a package, it is another waiver.
    let out = add("CVE-2022-24713", &["--package", "regex"]);
    assert_eq!(out.status.code(), Some(0));

    // An alias the database knows (GHSA of RUSTSEC-2021-0003): no warning.
    let out = add("GHSA-43w2-9j62-hq99", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A typo: added (it may be newer than the local copy), with a warning.
    let out = add("RUSTSEC-2022-0131", &[]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: no local advisory database knows RUSTSEC-2022-0131"),
        "{stderr}"
    );
    // License waivers name a finding code, not an advisory.
    let out = add("license-denied", &["--package", "smallvec"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_any_database_waivers_add_says_it_could_not_look_the_id_up() {
    let dir = tempdir();
    vouch()
        .current_dir(dir.path())
        .args(["waivers", "add", "RUSTSEC-2022-0013", "--reason", "r"])
        .args(["--owner", "o", "--expires", &date_in(5)])
        .assert()
        .code(0)
        .stderr(predicates::str::contains(
            "no local advisory database to look RUSTSEC-2022-0013 up in",
        ));
}

#[test]
fn deny_warnings_fails_on_every_warning_as_cargo_audit_does() {
    let dir = project(&[]);
    let report = json(&run(
        dir.path(),
        &["audit", "app", "--format", "json", "--deny", "warnings"],
    ));
    assert_eq!(report["summary"]["warnings"], 0);
    // ansi_term is unmaintained: a warning otherwise.
    assert_eq!(level_of(&report, "RUSTSEC-2021-0139"), "error");
    // The same from the policy.
    fs::write(
        dir.path().join("vouch.toml"),
        "[audit]\npaths = [\"app\"]\ndeny = [\"warnings\"]\n",
    )
    .unwrap();
    let report = json(&run(dir.path(), &["audit", "--format", "json"]));
    assert_eq!(level_of(&report, "RUSTSEC-2021-0139"), "error");
    vouch()
        .args(["audit", "--deny", "everything"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "expected warnings, unmaintained, unsound or notice",
        ));
}

/// `waivers list --format json`: the status is a code, the days a number.
#[test]
fn waivers_list_json_has_status_codes_and_days_as_numbers() {
    let dir = project(&[(
        "vouch-waivers.toml",
        &(waiver("CVE-2022-24713", 100)
            + &waiver("RUSTSEC-2099-0001", 50)
            + &waiver("RUSTSEC-2021-0003", 5)
            + &waiver("GHSA-43w2-9j62-hq99", -2)),
    )]);
    let out = run(dir.path(), &["waivers", "list", "app", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let list = json(&out);
    assert_eq!(list["schema"], "vouch.waivers/2");
    let rows: Vec<(String, i64, bool)> = list["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["status"].as_str().unwrap().to_string(),
                w["days_left"].as_i64().unwrap(),
                w["used"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("active".to_string(), 100, true),
            ("unused".to_string(), 50, false),
            ("expiring-soon".to_string(), 5, true),
            ("expired".to_string(), -2, true),
        ]
    );
    // Only the formats it writes.
    vouch()
        .args(["waivers", "list", "--format", "sarif"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("[possible values: human, json]"));
}

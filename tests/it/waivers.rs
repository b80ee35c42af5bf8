//! `vouch waivers list|check|add` and `vouch init`.

use std::fs;

use crate::common::{date_in, fixture, rustsec_db, tempdir, vouch};

#[test]
fn add_appends_a_valid_waiver_that_audit_then_honours() {
    let dir = tempdir();
    fs::copy(
        fixture("cargo/vulnerable/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    for (id, package) in [
        ("CVE-2022-24713", "regex"),
        ("RUSTSEC-2021-0003", "smallvec"),
    ] {
        vouch()
            .current_dir(dir.path())
            .args([
                "waivers",
                "add",
                id,
                "--reason",
                "reviewed: \"not reachable\"",
                "--owner",
                "sec@example.com",
            ])
            .args(["--package", package, "--expires", &date_in(60)])
            .assert()
            .code(0)
            .stdout(predicates::str::contains("added a waiver"));
    }
    let text = fs::read_to_string(dir.path().join("vouch-waivers.toml")).unwrap();
    assert_eq!(text.matches("[[waiver]]").count(), 2);
    let out = vouch()
        .current_dir(dir.path())
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["waived"], 2);
}

#[test]
fn add_refuses_what_would_not_parse_or_is_already_expired() {
    let dir = tempdir();
    let run = |extra: &[&str]| {
        vouch()
            .current_dir(dir.path())
            .args([
                "waivers",
                "add",
                "RUSTSEC-2022-0013",
                "--reason",
                "r",
                "--owner",
                "o",
            ])
            .args(extra)
            .assert()
            .code(2)
    };
    run(&["--expires", "2020-01-01"]).stderr(predicates::str::contains("in the past"));
    run(&["--expires", "next-week"]).stderr(predicates::str::contains("YYYY-MM-DD"));
    run(&["--expires", &date_in(5), "--versions", "~>1"])
        .stderr(predicates::str::contains("version requirement"));
    assert!(
        !dir.path().join("vouch-waivers.toml").exists(),
        "nothing written on refusal"
    );
}

#[test]
fn check_fails_on_expired_and_too_far_waivers_without_a_database() {
    let dir = tempdir();
    let file = dir.path().join("vouch-waivers.toml");
    let entry = |id: &str, days: i64| {
        format!(
            "[[waiver]]\nid = \"{id}\"\nreason = \"r\"\nowner = \"o\"\nexpires = {}\n\n",
            date_in(days)
        )
    };
    fs::write(&file, entry("A-1", 100) + &entry("A-2", 3)).unwrap();
    vouch()
        .current_dir(dir.path())
        .args(["waivers", "check"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("A-2 expires in 3 days"));
    vouch()
        .current_dir(dir.path())
        .args(["waivers", "check", "--max-days", "90"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "vouch-waivers.toml:2: error: waiver for A-1",
        ));
    fs::write(&file, entry("A-3", -1)).unwrap();
    vouch()
        .current_dir(dir.path())
        .args(["waivers", "check"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("expired 1 days ago"));
    fs::write(&file, "[[waiver]]\nid = 3\n").unwrap();
    vouch()
        .current_dir(dir.path())
        .args(["waivers", "check"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("vouch-waivers.toml:2:6"));
}

#[test]
fn list_shows_status_and_which_waivers_match_nothing() {
    let dir = tempdir();
    fs::copy(
        fixture("cargo/vulnerable/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    let entry = |id: &str, days: i64| {
        format!(
            "[[waiver]]\nid = \"{id}\"\nreason = \"r\"\nowner = \"o\"\nexpires = {}\n\n",
            date_in(days)
        )
    };
    fs::write(
        dir.path().join("vouch-waivers.toml"),
        entry("CVE-2022-24713", 100)
            + &entry("RUSTSEC-2099-0001", 5)
            + &entry("GHSA-43w2-9j62-hq99", -2),
    )
    .unwrap();
    let out = vouch()
        .current_dir(dir.path())
        .args(["waivers", "list", "--format", "json", "--db"])
        .arg(rustsec_db())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = list["waivers"].as_array().unwrap();
    assert_eq!(w.len(), 3);
    assert_eq!(
        (w[0]["status"].as_str().unwrap(), w[0]["used"].as_bool()),
        ("active", Some(true))
    );
    assert_eq!(
        (w[1]["status"].as_str().unwrap(), w[1]["used"].as_bool()),
        ("unused", Some(false))
    );
    assert_eq!(w[1]["days_left"], 5);
    assert_eq!(w[2]["status"], "expired");
}

#[test]
fn init_writes_a_starter_setup_that_check_accepts_and_never_overwrites() {
    let dir = tempdir();
    vouch().current_dir(dir.path()).arg("init").assert().code(0);
    for f in [
        "vouch.toml",
        "vouch-waivers.toml",
        ".github/workflows/vouch.yml",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    fs::copy(
        fixture("cargo/clean/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    // The starter policy asks for a fresh database: with the (age-unknown) snapshot, the
    // gate must fail closed on that alone.
    let out = vouch()
        .current_dir(dir.path())
        .args(["check", "--format", "json", "--db"])
        .arg(rustsec_db())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["checks"][0]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["code"], "advisory-db-stale");

    vouch()
        .current_dir(dir.path())
        .arg("init")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("refusing to overwrite"));
}

/// Regression (issue 16, item 2): the starter workflow ran `cargo install --locked vouch`,
/// which installs another project (crates.io's `vouch`).
#[test]
fn init_pins_vouch_s_action_by_commit_and_force_overwrites() {
    let dir = tempdir();
    let out = vouch()
        .current_dir(dir.path())
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("the workflow fails until vouch's action is pinned"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let workflow = dir.path().join(".github/workflows/vouch.yml");
    let unpinned = fs::read_to_string(&workflow).unwrap();
    assert!(!unpinned.contains("cargo install"), "{unpinned}");
    assert!(unpinned.contains("security-events: write"), "{unpinned}");
    insta::assert_snapshot!("init_workflow_not_pinned", unpinned);

    // A tag is refused; a commit is written as given.
    vouch()
        .current_dir(dir.path())
        .args(["init", "--force", "--action", "acme/vouch@v1"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a full commit SHA"));
    fs::write(dir.path().join("vouch.toml"), "# edited\n").unwrap();
    let sha = "4f2c8e0b1d3a5c7e9f0b2d4c6e8a0b1c3d5e7f90";
    vouch()
        .current_dir(dir.path())
        .args(["init", "--action", &format!("acme/vouch@{sha}")])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("(--force overwrites)"));
    vouch()
        .current_dir(dir.path())
        .args(["init", "--force", "--action", &format!("acme/vouch@{sha}")])
        .assert()
        .code(0);
    let pinned = fs::read_to_string(&workflow).unwrap();
    assert!(
        pinned.contains(&format!("uses: acme/vouch@{sha}")),
        "{pinned}"
    );
    assert!(!pinned.contains("cargo install"), "{pinned}");
    insta::assert_snapshot!("init_workflow_pinned", pinned);
    assert_ne!(
        fs::read_to_string(dir.path().join("vouch.toml")).unwrap(),
        "# edited\n",
        "--force overwrote the policy"
    );
}

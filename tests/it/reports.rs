//! What the reports show a person and a code-scanning service: tables that fit the
//! terminal, titles instead of whole advisory texts, upgrade advice, which waiver file
//! and which waiver id were used, which databases were read (with digests), SARIF results
//! that all have a place and a severity, and report files that respect the umask.

use std::fs;
use std::path::Path;

use crate::common::{fixture, json, osv_db, rustsec_db, tempdir, vouch};

/// The vulnerable Cargo fixture with a policy (`vouch.toml`) and a waiver that names
/// regex's advisory by its CVE alias, expiring on a fixed far date (stable snapshots).
fn project(policy: &str) -> tempfile::TempDir {
    let dir = tempdir();
    fs::copy(
        fixture("cargo/vulnerable/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    fs::write(dir.path().join("vouch.toml"), policy).unwrap();
    fs::write(
        dir.path().join("vouch-waivers.toml"),
        "[[waiver]]\nid = \"CVE-2022-24713\"\nreason = \"patterns are constants\"\nowner = \"platform-team\"\nexpires = 2099-12-31\n",
    )
    .unwrap();
    dir
}

fn check(dir: &Path, columns: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = vouch();
    cmd.current_dir(dir)
        .arg("check")
        .arg("--db")
        .arg(rustsec_db())
        .args(args);
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    cmd.output().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn widest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn the_human_table_fits_80_and_120_columns_wrapping_inside_its_columns() {
    let dir = project("[audit]\nfail-on = \"high\"\n");
    let narrow = stdout(&check(dir.path(), Some("80"), &[]));
    let wide = stdout(&check(dir.path(), Some("120"), &[]));
    assert!(widest_line(&narrow) <= 80, "{narrow}");
    assert!(widest_line(&wide) <= 120, "{wide}");
    // Continuation lines start in their column, never at column 0.
    for text in [&narrow, &wide] {
        let table = text.split("\n\n").next().unwrap();
        for line in table.lines().skip(2) {
            assert!(
                ["error", "warning", "waived", " "]
                    .iter()
                    .any(|start| line.starts_with(start)),
                "{line:?}"
            );
        }
    }
    insta::assert_snapshot!("check_human_80_columns", narrow);
    insta::assert_snapshot!("check_human_120_columns", wide);
    // Without a terminal or COLUMNS, one line per finding.
    let piped = stdout(&check(dir.path(), None, &[]));
    assert!(piped.lines().any(|l| l.chars().count() > 120), "{piped}");
}

#[test]
fn reports_say_which_waiver_file_and_which_id_the_waiver_named() {
    let dir = project("[audit]\nfail-on = \"high\"\n");
    let human = stdout(&check(dir.path(), None, &[]));
    assert!(
        human.contains("waived as CVE-2022-24713 by vouch-waivers.toml:2, owner platform-team"),
        "{human}"
    );
    assert!(human.contains("waivers: vouch-waivers.toml"), "{human}");
    let md = stdout(&check(dir.path(), None, &["--format", "markdown"]));
    insta::assert_snapshot!("check_markdown_with_a_waiver", md);
    let junit = stdout(&check(dir.path(), None, &["--format", "junit"]));
    assert!(
        junit.contains("waived as CVE-2022-24713 by vouch-waivers.toml:2"),
        "{junit}"
    );
    // And when there is none.
    fs::remove_file(dir.path().join("vouch-waivers.toml")).unwrap();
    let human = stdout(&check(dir.path(), None, &[]));
    assert!(human.contains("waivers: none"), "{human}");
}

#[test]
fn fixed_versions_read_as_upgrade_advice_not_range_bounds() {
    let dir = project("[audit]\n");
    let human = stdout(&check(dir.path(), None, &[]));
    // smallvec: patched = [">= 0.6.14, < 1.0.0", ">= 1.6.1"] in RUSTSEC-2021-0003.
    assert!(human.contains("(upgrade to ≥0.6.14 or ≥1.6.1)"), "{human}");
    assert!(!human.contains("<1.0.0"), "{human}");
    assert!(human.contains("(no fixed version)"), "{human}");
}

/// PYSEC-2023-212 has no summary and 1,630 characters of details on one line: reports
/// show the start of it as its title, never the whole text.
#[test]
fn an_advisory_without_a_summary_shows_a_short_title_in_every_human_format() {
    let dir = tempdir();
    fs::copy(
        fixture("python/requirements/requirements.txt"),
        dir.path().join("requirements.txt"),
    )
    .unwrap();
    fs::write(dir.path().join("vouch.toml"), "[audit]\n").unwrap();
    let run = |format: &str, columns: Option<&str>| {
        let mut cmd = vouch();
        cmd.current_dir(dir.path())
            .args(["check", "--format", format, "--osv"])
            .arg(osv_db());
        if let Some(columns) = columns {
            cmd.env("COLUMNS", columns);
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let whole_details = "urllib3 previously wouldn't remove the HTTP request body when an HTTP redirect response using status 301";
    for format in ["human", "markdown", "junit"] {
        let text = run(format, None);
        assert!(text.contains("PYSEC-2023-212"), "{format}: {text}");
        assert!(!text.contains(whole_details), "{format}: {text}");
        assert!(
            text.contains(
                "urllib3 is a user-friendly HTTP client library for Python. urllib3 previously"
            ),
            "{format}: {text}"
        );
    }
    let human = run("human", Some("100"));
    assert!(widest_line(&human) <= 100, "{human}");
    insta::assert_snapshot!("python_check_human_100_columns", human);
}

/// `vouch audit ARGS FIXTURE` with both databases given.
fn audit_with_both(args: &[&str], lockfile: &str) -> std::process::Output {
    vouch()
        .arg("audit")
        .args(args)
        .arg("--db")
        .arg(rustsec_db())
        .arg("--osv")
        .arg(osv_db())
        .arg(fixture(lockfile))
        .output()
        .unwrap()
}

/// Regression (issue 16, item 12): an npm-only scan said `against /tmp/rustsec`, and the
/// JSON report did not identify the OSV exports it read.
#[test]
fn the_report_names_the_databases_actually_read_with_the_exports_digests() {
    let report = json(&audit_with_both(&["--format", "json"], "npm/lock-v3"));
    let sources = report["database"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{sources:?}");
    let npm = &sources[0];
    assert_eq!(
        (npm["kind"].as_str(), npm["ecosystem"].as_str()),
        (Some("osv"), Some("npm"))
    );
    let zip = osv_db().join("npm/all.zip");
    let digest = {
        use sha2::Digest;
        vouch::package::hex(&sha2::Sha256::digest(fs::read(&zip).unwrap()))
    };
    assert_eq!(npm["sha256"], digest);
    assert_eq!(npm["source"], zip.display().to_string());
    assert_eq!(report["database"]["source"], zip.display().to_string());

    let human = stdout(&audit_with_both(&[], "npm/lock-v3"));
    assert!(
        human.contains(&format!(
            "against OSV npm ({}, sha256:{})",
            zip.display(),
            &digest[..12]
        )),
        "{human}"
    );
    assert!(
        !human.contains(&rustsec_db().display().to_string()),
        "{human}"
    );

    // A Cargo scan with both: RustSec first, then OSV crates.io.
    let report = json(&audit_with_both(
        &["--format", "json"],
        "cargo/clean/Cargo.lock",
    ));
    let kinds: Vec<_> = report["database"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["kind"], s["ecosystem"]))
        .collect();
    assert_eq!(kinds, ["\"rustsec\" null", "\"osv\" \"crates.io\""]);
}

#[test]
fn every_sarif_result_has_a_location_and_every_rule_a_security_severity() {
    // A stale database finding (no file of its own), a waived advisory, informational
    // advisories, an unscored vulnerability: every kind of rule.
    let dir = project("[audit]\ndb-max-age = \"1d\"\n");
    let out = check(dir.path(), None, &["--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &doc["runs"][0];
    assert!(
        run["tool"]["driver"].get("informationUri").is_none(),
        "Cargo.toml states no repository: no address is made up"
    );
    assert!(!doc.to_string().contains("vouch-dev"));
    let results = run["results"].as_array().unwrap();
    for result in results {
        let uri = &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
        assert!(uri.is_string(), "no location: {result}");
    }
    let stale = results
        .iter()
        .find(|r| r["properties"]["code"] == "advisory-db-stale")
        .unwrap();
    assert_eq!(
        stale["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "vouch.toml"
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let severity = |id: &str| {
        rules.iter().find(|r| r["id"] == id).unwrap()["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for rule in rules {
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap_or_else(|| panic!("no security-severity: {rule}"))
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&score), "{rule}");
    }
    assert_eq!(severity("RUSTSEC-2021-0003"), "9.8", "CVSS");
    assert_eq!(
        severity("RUSTSEC-2020-0159"),
        "9.0",
        "unscored: fail closed"
    );
    assert_eq!(severity("RUSTSEC-2021-0139"), "4.0", "informational");
    assert_eq!(severity("advisory-db-stale"), "9.0", "fails the gate");
    let regex = rules
        .iter()
        .find(|r| r["id"] == "RUSTSEC-2022-0013")
        .unwrap();
    assert_eq!(
        regex["helpUri"], "https://rustsec.org/advisories/RUSTSEC-2022-0013.html",
        "the advisory's own page, not its first reference"
    );
    assert_eq!(regex["help"]["text"], "Upgrade to ≥1.5.5.");
    let waived = results
        .iter()
        .find(|r| r["ruleId"] == "RUSTSEC-2022-0013")
        .unwrap();
    assert!(
        waived["suppressions"][0]["justification"]
            .as_str()
            .unwrap()
            .starts_with("waived as CVE-2022-24713: patterns are constants"),
        "{waived}"
    );
}

#[test]
fn sarif_places_a_not_audited_entry_at_its_lockfile_line_and_osv_rules_link_to_osv() {
    let dir = tempdir();
    fs::write(
        dir.path().join("requirements.txt"),
        "urllib3==1.26.4\nrequests>=2.0\n",
    )
    .unwrap();
    let out = vouch()
        .current_dir(dir.path())
        .args(["audit", "--format", "sarif", "--osv"])
        .arg(osv_db())
        .arg("requirements.txt")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let note = results
        .iter()
        .find(|r| r["properties"]["code"] == "package-not-audited")
        .unwrap();
    let physical = &note["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "requirements.txt");
    assert_eq!(physical["region"]["startLine"], 2);
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let pysec = rules.iter().find(|r| r["id"] == "PYSEC-2023-212").unwrap();
    assert_eq!(
        pysec["helpUri"],
        "https://osv.dev/vulnerability/PYSEC-2023-212"
    );
    assert!(
        rules
            .iter()
            .all(|r| r["properties"]["security-severity"].is_string())
    );
}

/// Regression (issue 16, item 12): report files were written 0600 whatever the umask.
#[cfg(unix)]
#[test]
fn report_files_respect_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project("[audit]\n");
    for (umask, mode) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let vouch_bin = env!("CARGO_BIN_EXE_vouch");
        let status = std::process::Command::new("sh")
            .current_dir(dir.path())
            .env("VOUCH_CACHE_DIR", dir.path().join("no-cache"))
            .arg("-c")
            .arg(format!(
                "umask {umask}; exec \"$0\" check --format json --db \"$1\" --output sarif=report.sarif >/dev/null"
            ))
            .arg(vouch_bin)
            .arg(rustsec_db())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1));
        let actual = fs::metadata(dir.path().join("report.sarif"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(actual, mode, "umask {umask}");
    }
}

/// Regression (issue 16, item 12): `error: x: No such file or directory (os error 2): No
/// such file or directory (os error 2)`.
#[test]
fn an_error_s_cause_is_printed_once() {
    let dir = tempdir();
    let out = vouch()
        .current_dir(dir.path())
        .args(["check", "--policy", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: missing.toml: No such file or directory (os error 2)"
    );
    let out = vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg("/nonexistent/Cargo.lock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

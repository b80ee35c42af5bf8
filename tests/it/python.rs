//! `vouch audit` of Python lockfiles: the real uv, poetry, pip-compile and pipenv fixtures
//! (fixtures/python/README.md), requirements includes, and malformed input.
//!
//! PyPI advisories are not matched yet (RustSec is the only source), so these tests assert
//! what was parsed and scanned, not findings.

use std::fs;
use std::path::Path;

use crate::common::{fixture, json, osv_db, rustsec_db, tempdir, vouch};

/// Runs `vouch audit --format json` and returns the report; the run must not error.
fn audit(args: &[&str], path: &Path) -> serde_json::Value {
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg("--osv")
        .arg(osv_db())
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

fn pypi_count(report: &serde_json::Value) -> u64 {
    report["summary"]["packages_by_ecosystem"]["PyPI"]
        .as_u64()
        .unwrap_or_else(|| panic!("no PyPI count in {report:#}"))
}

/// Findings of one code, as their messages.
fn messages(report: &serde_json::Value, code: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

/// Runs `vouch audit` on `path` expecting exit 2, and returns stderr.
fn audit_error(path: &Path) -> String {
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg("--osv")
        .arg(osv_db())
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "no report on error");
    stderr
}

#[test]
fn real_lockfiles_scan_every_package_and_drop_dev_ones_on_request() {
    // (fixture, lockfile format, packages, packages with --exclude-dev)
    let cases = [
        ("python/poetry", "poetry.lock", 8, 7),
        // The project itself (`virtual = "."`) is local: counted apart, not audited.
        ("python/uv", "uv.lock", 9, 8),
        ("python/pipenv", "Pipfile.lock", 8, 7),
        // Poetry 1.x: `category = "dev"` instead of groups.
        ("python/poetry-1", "poetry.lock", 8, 7),
        // The project as `source = { editable = "." }`: local too.
        ("python/uv-editable", "uv.lock", 3, 2),
        // requirements files record no dev flag: requirements-dev.txt is scanned as is.
        ("python/requirements", "requirements.txt", 8, 8),
    ];
    for (dir, format, all, without_dev) in cases {
        let report = audit(&[], &fixture(dir));
        assert_eq!(pypi_count(&report), all, "{dir}");
        let formats: Vec<_> = report["lockfiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["format"].as_str().unwrap())
            .collect();
        assert!(formats.iter().all(|f| *f == format), "{dir}: {formats:?}");
        assert!(
            messages(&report, "package-not-audited").is_empty(),
            "{dir}: every entry of a real lock is pinned"
        );
        let local = usize::from(dir.starts_with("python/uv"));
        assert_eq!(report["summary"]["local_packages"], local, "{dir}");
        let report = audit(&["--exclude-dev"], &fixture(dir));
        assert_eq!(pypi_count(&report), without_dev, "{dir} --exclude-dev");
    }
}

#[test]
fn requirements_dev_file_is_found_beside_requirements_txt() {
    let report = audit(&[], &fixture("python/requirements"));
    let mut paths: Vec<_> = report["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["packages"].as_u64(),
            )
        })
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].0.ends_with("requirements-dev.txt") && paths[0].1 == Some(1));
    assert!(paths[1].0.ends_with("requirements.txt") && paths[1].1 == Some(7));
}

#[test]
fn unpinned_requirements_are_reported_not_dropped() {
    let dir = tempdir();
    fs::write(
        dir.path().join("requirements.txt"),
        "requests==2.25.0\nflask>=2.0\n-e ./local\nproj @ https://example.invalid/p.tar.gz\n",
    )
    .unwrap();
    let report = audit(&[], dir.path());
    assert_eq!(pypi_count(&report), 1);
    let notes = messages(&report, "package-not-audited");
    assert_eq!(notes.len(), 2, "{notes:?}");
    // `-e ./local` is the project's own code: local, not a warning.
    assert_eq!(report["local_packages"][0]["name"], "./local");
    assert_eq!(report["local_packages"][0]["why"], "local-path");
    assert!(
        notes
            .iter()
            .any(|m| m.contains("requirements.txt:2:") && m.contains("flask>=2.0")),
        "{notes:?}"
    );
    let levels: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "package-not-audited")
        .map(|f| f["level"].as_str().unwrap())
        .collect();
    assert!(
        levels.len() == 2 && levels.iter().all(|l| *l == "warning"),
        "{levels:?}"
    );
}

#[test]
fn includes_inside_the_tree_are_followed() {
    let dir = tempdir();
    fs::create_dir(dir.path().join("base")).unwrap();
    fs::write(
        dir.path().join("base/common.txt"),
        "urllib3==1.26.4\nidna\n",
    )
    .unwrap();
    fs::write(dir.path().join("constraints.txt"), "idna==2.10\n").unwrap();
    fs::write(
        dir.path().join("requirements.txt"),
        "-c constraints.txt\n-r base/common.txt\nrequests==2.25.0\n",
    )
    .unwrap();
    let report = audit(&[], dir.path());
    // urllib3 and idna (pinned by the constraints file) from the include, requests.
    assert_eq!(pypi_count(&report), 3);
    assert!(messages(&report, "package-not-audited").is_empty());
}

#[test]
fn an_include_outside_the_scanned_tree_is_refused() {
    let outer = tempdir();
    fs::write(outer.path().join("secret.txt"), "requests==2.25.0\n").unwrap();
    let tree = outer.path().join("project");
    fs::create_dir(&tree).unwrap();
    fs::write(
        tree.join("requirements.txt"),
        "certifi==2022.9.24\n-r ../secret.txt\n",
    )
    .unwrap();
    let stderr = audit_error(&tree);
    assert!(stderr.contains("requirements.txt:2:"), "{stderr}");
    assert!(stderr.contains("outside the scanned tree"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn an_include_through_a_symlink_out_of_the_tree_is_refused() {
    let outer = tempdir();
    fs::write(outer.path().join("secret.txt"), "requests==2.25.0\n").unwrap();
    let tree = outer.path().join("project");
    fs::create_dir(&tree).unwrap();
    std::os::unix::fs::symlink(outer.path().join("secret.txt"), tree.join("linked.txt")).unwrap();
    fs::write(tree.join("requirements.txt"), "-r linked.txt\n").unwrap();
    let stderr = audit_error(&tree);
    assert!(stderr.contains("requirements.txt:1:"), "{stderr}");
    assert!(stderr.contains("outside the scanned tree"), "{stderr}");
}

#[test]
fn an_include_cycle_is_an_error_naming_the_included_file() {
    let dir = tempdir();
    fs::write(dir.path().join("requirements.txt"), "-r more.txt\n").unwrap();
    fs::write(
        dir.path().join("more.txt"),
        "idna==2.10\n-r requirements.txt\n",
    )
    .unwrap();
    let stderr = audit_error(&dir.path().join("requirements.txt"));
    assert!(stderr.contains("more.txt:2:"), "{stderr}");
    assert!(stderr.contains("include cycle"), "{stderr}");
}

#[test]
fn malformed_lockfiles_exit_2_with_file_and_line() {
    let cases = [
        (
            "requirements.txt",
            "idna==2.10\nrequests =! 2\n",
            "requirements.txt:2:",
        ),
        (
            "poetry.lock",
            "[[package]]\nname = \"a\"\nversion = 1\n",
            "poetry.lock:3:",
        ),
        (
            "uv.lock",
            "version = 1\n\n[[package]]\nname = \"a\"\nversion = \"1.0\"\n",
            "uv.lock:3:",
        ),
        (
            "Pipfile.lock",
            "{\n  \"default\": {\n    \"a\": {\"version\": 1}\n  }\n}\n",
            "Pipfile.lock:3:",
        ),
    ];
    for (name, text, want) in cases {
        let dir = tempdir();
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        let stderr = audit_error(&path);
        assert!(stderr.contains(want), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

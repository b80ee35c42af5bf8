//! `vouch audit` of real npm lockfiles (v1, v2, v3) against the real npm OSV export.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::common::{advisory_findings, fixture, json, osv_db, tempdir, vouch};

fn audit(path: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = vouch()
        .args(["audit", "--format", "json", "--osv"])
        .arg(osv_db())
        .args(extra)
        .arg(path)
        .output()
        .unwrap();
    (out.status.code(), json(&out))
}

/// The README's expected table (computed with npm's own semver, not with vouch).
pub(crate) fn expected(with_workspace: bool, with_dev: bool) -> BTreeSet<(String, String)> {
    let text = fs::read_to_string(fixture("npm/README.md")).unwrap();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[3].starts_with("NSWG-") {
            continue;
        }
        let name = cells[1].split_whitespace().next().unwrap();
        if (!with_workspace && cells[1].contains("workspace"))
            || (!with_dev && cells[1].contains("(dev)"))
        {
            continue;
        }
        for id in cells[3].split(',') {
            out.insert((name.to_string(), id.trim().to_string()));
        }
    }
    out
}

#[test]
fn every_lockfile_version_gives_exactly_the_expected_advisories() {
    for (dir, workspace, packages, without_dev) in [
        // The workspace member is local (counted apart, not audited).
        ("lock-v3", true, 21, 11),
        ("lock-v2", true, 21, 11),
        ("lock-v1", false, 20, 10),
    ] {
        let (code, report) = audit(&fixture(&format!("npm/{dir}")), &[]);
        assert_eq!(code, Some(1), "{dir}");
        assert_eq!(
            advisory_findings(&report),
            expected(workspace, true),
            "{dir}"
        );
        assert_eq!(
            report["summary"]["packages_by_ecosystem"]["npm"], packages,
            "{dir}"
        );

        let (_, report) = audit(&fixture(&format!("npm/{dir}")), &["--exclude-dev"]);
        assert_eq!(
            advisory_findings(&report),
            expected(workspace, false),
            "{dir} --exclude-dev"
        );
        assert_eq!(
            report["summary"]["packages_by_ecosystem"]["npm"], without_dev,
            "{dir}"
        );
    }
}

#[test]
fn an_alias_is_audited_as_the_package_it_installs() {
    let (_, report) = audit(&fixture("npm/lock-v3"), &[]);
    let lodash: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"]["name"] == "lodash" && f["advisory"]["id"] == "NSWG-ECO-493")
        .collect();
    // node_modules/lodash and node_modules/lodash-legacy (npm:lodash@4.17.4).
    assert_eq!(lodash.len(), 2);
    assert_eq!(lodash[0]["package"]["purl"], "pkg:npm/lodash@4.17.4");
}

#[test]
fn the_workspace_member_is_local_and_its_link_no_warning() {
    for dir in ["lock-v3", "lock-v2"] {
        let (_, report) = audit(&fixture(&format!("npm/{dir}")), &[]);
        let notes = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "package-not-audited")
            .count();
        assert_eq!(notes, 0, "{dir}: the link is the member's other name");
        assert_eq!(report["summary"]["local_packages"], 1, "{dir}");
        let member = &report["local_packages"][0];
        assert_eq!(member["name"], "@fixture/util", "{dir}");
        assert_eq!(member["version"], "0.1.0", "{dir}");
        assert_eq!(member["why"], "workspace-member", "{dir}");
    }
}

#[test]
fn a_malformed_lockfile_is_an_error_with_its_location() {
    let dir = tempdir();
    let text = fs::read_to_string(fixture("npm/lock-v3/package-lock.json")).unwrap();
    fs::write(
        dir.path().join("package-lock.json"),
        text.replacen("\"version\": \"4.17.4\"", "\"version\": 4.17.4.", 1),
    )
    .unwrap();
    vouch()
        .args(["audit", "--osv"])
        .arg(osv_db())
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(
            predicates::str::is_match(r"package-lock\.json:\d+:\d+: invalid package-lock\.json")
                .unwrap(),
        );
}

#[test]
fn sboms_of_npm_lockfiles_carry_integrity_licenses_and_dev_edges() {
    let out = vouch()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["sbom", "--format", "spdx-json"])
        .arg(fixture("npm/lock-v3"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = doc["packages"].as_array().unwrap();
    let marked = packages.iter().find(|p| p["name"] == "marked").unwrap();
    assert_eq!(marked["licenseDeclared"], "MIT");
    assert_eq!(marked["checksums"][0]["algorithm"], "SHA512");
    assert_eq!(
        marked["checksums"][0]["checksumValue"]
            .as_str()
            .unwrap()
            .len(),
        128
    );
    let uglify = packages.iter().find(|p| p["name"] == "uglify-js").unwrap();
    let root = packages
        .iter()
        .find(|p| p["name"] == "npm-fixture")
        .unwrap();
    assert!(doc["relationships"].as_array().unwrap().iter().any(|r| {
        r["spdxElementId"] == uglify["SPDXID"]
            && r["relationshipType"] == "DEV_DEPENDENCY_OF"
            && r["relatedSpdxElement"] == root["SPDXID"]
    }));
}

#[test]
fn yarn_and_pnpm_lockfiles_give_the_same_packages_and_advisories() {
    let mut expected = expected(false, true);
    expected.retain(|(name, _)| ["lodash", "marked", "ms", "uglify-js"].contains(&name.as_str()));
    assert_eq!(expected.len(), 6);
    for (dir, without_dev) in [
        ("yarn-v1", 14),
        ("yarn-berry", 14),
        ("pnpm-v6", 4),
        ("pnpm-v9", 4),
    ] {
        let (code, report) = audit(&fixture(&format!("npm/{dir}")), &[]);
        assert_eq!(code, Some(1), "{dir}");
        assert_eq!(advisory_findings(&report), expected, "{dir}");
        assert_eq!(
            report["summary"]["packages_by_ecosystem"]["npm"], 14,
            "{dir}"
        );
        let (_, report) = audit(&fixture(&format!("npm/{dir}")), &["--exclude-dev"]);
        assert_eq!(
            report["summary"]["packages_by_ecosystem"]["npm"], without_dev,
            "{dir}"
        );
    }
}

#[test]
fn malformed_yarn_and_pnpm_files_are_errors_with_their_location() {
    let dir = tempdir();
    fs::write(
        dir.path().join("yarn.lock"),
        "# yarn lockfile v1\n\nlodash@4.17.4:\n  version\n",
    )
    .unwrap();
    vouch()
        .args(["audit", "--osv"])
        .arg(osv_db())
        .arg(dir.path().join("yarn.lock"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("yarn.lock:4:3"));
    fs::write(
        dir.path().join("pnpm-lock.yaml"),
        "lockfileVersion: '9.0'\npackages:\n  a@1: &x {}\n  b@1: *x\n",
    )
    .unwrap();
    vouch()
        .args(["audit", "--osv"])
        .arg(osv_db())
        .arg(dir.path().join("pnpm-lock.yaml"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("pnpm-lock.yaml:4:"))
        .stderr(predicates::str::contains("aliases"));
}

//! OSV matching against the real exports in ../shared/advisories/osv.
//!
//! The expected advisory sets come from the fixtures' READMEs, which were computed by a
//! separate script over the same exports (not by vouch): the tests hold the two to each
//! other.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::common::{advisory_findings, fixture, json, osv_db, rustsec_db, tempdir, vouch};

fn audit(path: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg("--osv")
        .arg(osv_db())
        .args(extra)
        .arg(path)
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, json(&out))
}

/// `| package | version | ID, ID |` rows of a fixture README table.
pub(crate) fn readme_table(readme: &str, prefix: &str) -> Vec<(String, String)> {
    let text = fs::read_to_string(fixture(readme)).unwrap();
    let mut rows = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[3].starts_with(prefix) {
            continue;
        }
        let name = cells[1].split_whitespace().next().unwrap().to_string();
        for id in cells[3].split(',') {
            rows.push((name.clone(), id.trim().to_string()));
        }
    }
    assert!(!rows.is_empty(), "no {prefix} rows in {readme}");
    rows
}

#[test]
fn python_fixtures_match_exactly_the_expected_pypi_advisories() {
    let table = readme_table("python/README.md", "PYSEC-");
    for (fixture_dir, with_sqlparse) in [
        ("uv", true),
        ("poetry", false),
        ("pipenv", false),
        ("requirements", false),
    ] {
        let expected: BTreeSet<_> = table
            .iter()
            .filter(|(name, _)| with_sqlparse || name != "sqlparse")
            .cloned()
            .collect();
        let (code, report) = audit(&fixture(&format!("python/{fixture_dir}")), &[]);
        assert_eq!(code, Some(1));
        assert_eq!(advisory_findings(&report), expected, "{fixture_dir}");
    }
}

#[test]
fn go_fixture_matches_exactly_the_expected_go_advisories() {
    let expected: BTreeSet<_> = readme_table("go/README.md", "GO-").into_iter().collect();
    let (code, report) = audit(&fixture("go/skopeo"), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(advisory_findings(&report).len(), 81);
    assert_eq!(advisory_findings(&report), expected);
}

#[test]
fn rustsec_and_osv_copies_of_one_vulnerability_are_one_finding() {
    let (_, both) = audit(&fixture("cargo/vulnerable/Cargo.lock"), &[]);
    let rustsec_only = {
        let out = vouch()
            .args(["audit", "--format", "json", "--db"])
            .arg(rustsec_db())
            .arg(fixture("cargo/vulnerable/Cargo.lock"))
            .output()
            .unwrap();
        json(&out)
    };
    assert_eq!(advisory_findings(&both), advisory_findings(&rustsec_only));
    assert_eq!(both["findings"].as_array().unwrap().len(), 9);
    let regex = both["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["advisory"]["id"] == "RUSTSEC-2022-0013")
        .unwrap();
    let aliases: Vec<&str> = regex["advisory"]["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        aliases.contains(&"CVE-2022-24713") && aliases.contains(&"GHSA-m5pq-gvj9-9vr8"),
        "{aliases:?}"
    );
}

#[test]
fn osv_alone_covers_crates_io_without_rustsec() {
    let out = vouch()
        .args(["audit", "--format", "json", "--osv"])
        .arg(osv_db())
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let ids: BTreeSet<String> = advisory_findings(&json(&out))
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert!(
        ids.contains("RUSTSEC-2022-0013") && ids.contains("RUSTSEC-2021-0003"),
        "{ids:?}"
    );
}

#[test]
fn a_waiver_on_a_ghsa_alias_covers_a_pypi_finding() {
    let dir = tempdir();
    fs::copy(
        fixture("python/requirements/requirements.txt"),
        dir.path().join("requirements.txt"),
    )
    .unwrap();
    // Find a PYSEC finding's GHSA alias, then waive it by that alias.
    let (_, report) = audit(dir.path(), &[]);
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["advisory"]["aliases"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str().unwrap().starts_with("GHSA-")))
        })
        .expect("a PyPI finding with a GHSA alias");
    let id = finding["advisory"]["id"].as_str().unwrap().to_string();
    let ghsa = finding["advisory"]["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .find(|x| x.starts_with("GHSA-"))
        .unwrap()
        .to_string();
    fs::write(
        dir.path().join("vouch-waivers.toml"),
        format!(
            "[[waiver]]\nid = \"{ghsa}\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2099-01-01\n"
        ),
    )
    .unwrap();
    // Waivers come from the project directory, not the scanned one: name the file.
    let waivers = dir.path().join("vouch-waivers.toml");
    let (_, report) = audit(dir.path(), &["--waivers", waivers.to_str().unwrap()]);
    let waived = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["advisory"]["id"] == id.as_str())
        .unwrap();
    assert_eq!(waived["level"], "info");
    assert_eq!(waived["waived_by"]["id"], ghsa.as_str());
}

#[test]
fn packages_without_an_osv_source_are_an_error_not_a_pass() {
    let empty = tempdir();
    fs::create_dir(empty.path().join("npm")).unwrap();
    for (dir, expect) in [
        (
            fixture("python/poetry"),
            "no advisory database for PyPI packages",
        ),
        (fixture("go/skopeo"), "no advisory database for Go packages"),
    ] {
        vouch()
            .args(["audit", "--db"])
            .arg(rustsec_db())
            .arg(&dir)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(expect));
        // An OSV directory without that ecosystem's data is just as much an error.
        vouch()
            .args(["audit", "--osv"])
            .arg(empty.path())
            .arg(&dir)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("no OSV data for"));
    }
}

#[test]
fn a_corrupt_export_is_an_error() {
    let osv = tempdir();
    fs::create_dir(osv.path().join("PyPI")).unwrap();
    fs::write(
        osv.path().join("PyPI/all.zip"),
        b"PK\x03\x04 definitely not a zip",
    )
    .unwrap();
    vouch()
        .args(["audit", "--osv"])
        .arg(osv.path())
        .arg(fixture("python/poetry"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a readable OSV export"));

    // A directory export with a broken advisory names the file and position.
    let osv = tempdir();
    fs::create_dir(osv.path().join("PyPI")).unwrap();
    fs::write(
        osv.path().join("PyPI/PYSEC-0000-1.json"),
        "{\"id\": \"PYSEC-0000-1\", \"affected\": [}",
    )
    .unwrap();
    vouch()
        .args(["audit", "--osv"])
        .arg(osv.path())
        .arg(fixture("python/poetry"))
        .assert()
        .code(2)
        .stderr(predicates::str::is_match(r"PYSEC-0000-1\.json.*line 1, column \d+").unwrap());
}

#[test]
fn an_export_changed_under_its_cached_index_is_an_error_not_a_different_answer() {
    // The cached index records where each advisory sits in the zip; a warm run reads
    // only those bytes. Damage one advisory's bytes while keeping the file's size and
    // modification time, so the index still looks current: the CRC check must catch it.
    let osv = tempdir();
    let cache = tempdir();
    fs::create_dir(osv.path().join("PyPI")).unwrap();
    let zip_path = osv.path().join("PyPI/all.zip");
    fs::copy(osv_db().join("PyPI/all.zip"), &zip_path).unwrap();
    let run = || {
        vouch()
            .env("VOUCH_CACHE_DIR", cache.path())
            .args(["audit", "--format", "json", "--osv"])
            .arg(osv.path())
            .arg(fixture("python/poetry"))
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report = json(&first);
    let ids: BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["advisory"].is_object())
        .flat_map(|f| {
            let mut ids = vec![f["advisory"]["id"].as_str().unwrap().to_string()];
            ids.extend(
                f["advisory"]["aliases"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(String::from)),
            );
            ids
        })
        .collect();
    assert!(
        cache.path().join("osv-index").read_dir().unwrap().count() > 0,
        "the first run caches the index"
    );

    let mut archive = zip::ZipArchive::new(fs::File::open(&zip_path).unwrap()).unwrap();
    let (start, len) = (0..archive.len())
        .find_map(|i| {
            let file = archive.by_index(i).unwrap();
            let id = file.name().unwrap().trim_end_matches(".json").to_string();
            ids.contains(&id)
                .then(|| (file.data_start().unwrap(), file.compressed_size()))
        })
        .expect("an entry for one of the findings");
    let modified = fs::metadata(&zip_path).unwrap().modified().unwrap();
    let mut bytes = fs::read(&zip_path).unwrap();
    bytes[(start + len / 2) as usize] ^= 0x55;
    fs::write(&zip_path, &bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(&zip_path)
        .unwrap()
        .set_modified(modified)
        .unwrap();

    let second = run();
    assert_eq!(
        second.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("all.zip") && stderr.contains("run `vouch db update`"),
        "{stderr}"
    );
}

/// Regression (issue 16): an OSV export with no advisory at all, a zip without entries or
/// an ecosystem directory without files, audited every package against nothing and
/// passed. It is an error naming the export, as a missing one is.
#[test]
fn an_export_without_a_single_advisory_is_an_error_not_a_pass() {
    let empty_zip = {
        let mut out = std::io::Cursor::new(Vec::new());
        zip::ZipWriter::new(&mut out).finish().unwrap();
        out.into_inner()
    };
    let zip_export = tempdir();
    fs::create_dir(zip_export.path().join("npm")).unwrap();
    fs::write(zip_export.path().join("npm/all.zip"), &empty_zip).unwrap();
    let dir_export = tempdir();
    fs::create_dir(dir_export.path().join("npm")).unwrap();
    fs::write(
        dir_export.path().join("npm/README.txt"),
        "no advisories here",
    )
    .unwrap();
    for (export, named) in [
        (zip_export.path(), "npm/all.zip"),
        (dir_export.path(), "npm"),
    ] {
        let cache = tempdir();
        let out = vouch()
            .env("VOUCH_CACHE_DIR", cache.path())
            .args(["audit", "--osv"])
            .arg(export)
            .arg(fixture("npm/lock-v3"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{named}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{}: the OSV export holds no advisories",
                export.join(named).display()
            )),
            "{named}: {stderr}"
        );
    }
}

//! What gets audited and how severe it is: merged records, `last_affected` fixes,
//! malicious packages, severities without CVSS, the project's own packages.
//!
//! Advisory records written here are hand-made in the shapes of the real ones (osv.dev's
//! GHSA and PYSEC exports, the OpenSSF malicious-packages `MAL-` records): the frozen
//! exports in ../shared hold no GHSA or MAL- record, and these cases need one. Each test
//! says which real record's shape it follows. The lockfiles are the real fixtures.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{advisory_findings, fixture, json, osv_db, tempdir, vouch};

/// An OSV directory store (`<root>/<Ecosystem>/*.json`) holding `records`.
fn osv_dir(root: &Path, ecosystem: &str, records: &[(&str, serde_json::Value)]) -> PathBuf {
    let dir = root.join(ecosystem);
    fs::create_dir_all(&dir).unwrap();
    for (id, record) in records {
        fs::write(dir.join(format!("{id}.json")), record.to_string()).unwrap();
    }
    root.to_path_buf()
}

/// Runs `vouch audit --format json --osv <osv> <extra...>`: (exit code, report, stderr).
fn audit(osv: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = vouch()
        .args(["audit", "--format", "json", "--osv"])
        .arg(osv)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = if out.stdout.is_empty() {
        serde_json::Value::Null
    } else {
        json(&out)
    };
    (out.status.code(), report, stderr)
}

fn finding<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["advisory"]["id"] == id)
        .unwrap_or_else(|| panic!("no finding for {id}: {report:#}"))
}

/// A PyPI record on idna (< 3.7), in the shape of osv.dev's GHSA and PYSEC records.
fn idna_record(id: &str, aliases: &[&str], severity: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "aliases": aliases,
        "summary": format!("{id} on idna"),
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "idna"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.7"}]}],
        }],
        "severity": severity,
    })
}

/// Regression (issue 16, item 3): a GHSA record (5.3, medium) and a PYSEC record (9.8,
/// critical) of the same CVE read as medium, so `--fail-on high` passed. The merged
/// advisory is as severe as its most severe record.
#[test]
fn merged_records_take_the_highest_severity_so_fail_on_high_fails() {
    let dir = tempdir();
    let osv = osv_dir(
        dir.path(),
        "PyPI",
        &[
            (
                "GHSA-aaaa-bbbb-cccc",
                idna_record(
                    "GHSA-aaaa-bbbb-cccc",
                    &["CVE-2099-0001"],
                    serde_json::json!([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}]),
                ),
            ),
            (
                "PYSEC-2099-1",
                idna_record(
                    "PYSEC-2099-1",
                    &["CVE-2099-0001"],
                    serde_json::json!([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]),
                ),
            ),
        ],
    );
    let lock = fixture("python/requirements/requirements.txt");
    let (code, report, stderr) = audit(&osv, &["--fail-on", "high", lock.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}\n{report:#}");
    let merged = finding(&report, "GHSA-aaaa-bbbb-cccc");
    assert_eq!(merged["level"], "error");
    assert_eq!(merged["advisory"]["severity"], "critical");
    assert_eq!(merged["advisory"]["cvss_score"], 9.8);
    let aliases = merged["advisory"]["aliases"].as_array().unwrap();
    assert!(aliases.contains(&"PYSEC-2099-1".into()), "{aliases:?}");
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        1,
        "one vulnerability"
    );
}

/// Regression (issue 16, item 9): `--ignore-unfixed` called a range closed by
/// `last_affected` unfixed, so NSWG-ECO-46 (ms `<=0.7.0`, patched `>0.7.0`) was downgraded
/// to a warning. The real npm export and the real npm v3 fixture.
#[test]
fn ignore_unfixed_keeps_a_range_closed_by_last_affected_failing() {
    let lock = fixture("npm/lock-v3/package-lock.json");
    let (code, report, stderr) = audit(&osv_db(), &["--ignore-unfixed", lock.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    for id in ["NSWG-ECO-46", "NSWG-ECO-101", "NSWG-ECO-118", "NSWG-ECO-39"] {
        let f = finding(&report, id);
        assert_eq!(f["level"], "error", "{id}: {f:#}");
        let fixed = f["advisory"]["fixed_versions"].as_array().unwrap();
        assert!(!fixed.is_empty(), "{id} has a fix: {f:#}");
    }
    assert_eq!(
        finding(&report, "NSWG-ECO-46")["advisory"]["fixed_versions"],
        serde_json::json!([">0.7.0"])
    );
}

/// An OpenSSF malicious-packages record on `ms`, shaped like MAL-2024-11848 (a version
/// list, no severity) or MAL-2022-6 (`introduced: 0`, a GHSA alias).
fn mal_record(id: &str, affected: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "summary": "Malicious code in ms (npm)",
        "details": "\n---\n_-= Per source details. Do not edit below this line.=-_\n",
        "affected": affected,
        "database_specific": {"malicious-packages-origins": [{"source": "ossf-package-analysis"}]},
    })
}

fn ms_mal_store(root: &Path) -> PathBuf {
    let ms = serde_json::json!([{
        "package": {"ecosystem": "npm", "name": "ms"},
        "versions": ["0.7.0"],
    }]);
    let mut records = vec![("MAL-2099-1", mal_record("MAL-2099-1", ms))];
    // The npm export's real records for the fixture, so malware is listed among them.
    let real = crate::common::shared_dir().join("advisories/osv/npm/all.zip");
    let mut zip = zip_entries(&real, &["NSWG-ECO-368.json", "NSWG-ECO-46.json"]);
    for (name, record) in zip.drain(..) {
        records.push((name, record));
    }
    osv_dir(root, "npm", &records)
}

/// Named entries of a real export, parsed (read with `unzip -p`, the test's own reader).
fn zip_entries(zip: &Path, names: &[&'static str]) -> Vec<(&'static str, serde_json::Value)> {
    names
        .iter()
        .map(|name| {
            let out = std::process::Command::new("unzip")
                .arg("-p")
                .arg(zip)
                .arg(name)
                .output()
                .expect("unzip");
            assert!(out.status.success(), "{name} not in {}", zip.display());
            (
                name.trim_end_matches(".json"),
                serde_json::from_slice(&out.stdout).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_malicious_package_always_fails_and_is_listed_first() {
    let dir = tempdir();
    let osv = ms_mal_store(dir.path());
    let lock = fixture("npm/lock-v3/package-lock.json");
    // No setting that downgrades a vulnerability downgrades malware.
    let (code, report, stderr) = audit(
        &osv,
        &[
            "--fail-on",
            "critical",
            "--allow-unscored",
            "--ignore-unfixed",
            lock.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{stderr}\n{report:#}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings[0]["code"], "malicious-package", "{report:#}");
    assert_eq!(findings[0]["level"], "error");
    assert_eq!(findings[0]["advisory"]["id"], "MAL-2099-1");
    assert_eq!(findings[0]["advisory"]["kind"], "malicious");
    // The vulnerabilities beside it are downgraded as asked.
    assert_eq!(finding(&report, "NSWG-ECO-368")["level"], "warning");
    assert_eq!(
        finding(&report, "NSWG-ECO-46")["code"],
        "vulnerable-package"
    );
}

#[test]
fn a_malicious_package_is_waived_only_by_package_and_exact_version() {
    let dir = tempdir();
    let osv = ms_mal_store(&dir.path().join("osv"));
    let lock = fixture("npm/lock-v3/package-lock.json");
    let waivers = dir.path().join("waivers.toml");
    let run = |waiver: &str| {
        fs::write(
            &waivers,
            format!("[[waiver]]\nid = \"MAL-2099-1\"\n{waiver}reason = \"sandboxed\"\nowner = \"sec\"\nexpires = 2099-01-01\n"),
        )
        .unwrap();
        let (code, report, stderr) = audit(
            &osv,
            &[
                "--waivers",
                waivers.to_str().unwrap(),
                "--fail-on",
                "critical",
                lock.to_str().unwrap(),
            ],
        );
        let mal = finding(&report, "MAL-2099-1").clone();
        (code, mal, stderr)
    };
    for loose in [
        "",
        "package = \"ms\"\n",
        "package = \"ms\"\nversions = \"<1.0.0\"\n",
        "package = \"ms\"\nversions = \"^0.7.0\"\n",
        "versions = \"=0.7.0\"\n",
    ] {
        let (code, mal, stderr) = run(loose);
        assert_eq!(code, Some(1), "{loose:?}: {stderr}");
        assert_eq!(mal["level"], "error", "{loose:?} must not waive malware");
        assert!(mal["waived_by"].is_null());
    }
    let (code, mal, stderr) = run("package = \"ms\"\nversions = \"=0.7.0\"\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(mal["level"], "info");
    assert_eq!(mal["waived_by"]["versions"], "=0.7.0");
}

/// A MAL- record that names no package blocks nothing: an error naming it, not a skip.
#[test]
fn a_malicious_package_record_without_affected_is_an_error_naming_it() {
    let dir = tempdir();
    let mut record = mal_record("MAL-2099-2", serde_json::json!([]));
    record.as_object_mut().unwrap().remove("affected");
    let osv = osv_dir(dir.path(), "npm", &[("MAL-2099-2", record)]);
    let lock = fixture("npm/lock-v3/package-lock.json");
    let (code, _, stderr) = audit(&osv, &[lock.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("MAL-2099-2"), "{stderr}");
    assert!(stderr.contains("without `affected`"), "{stderr}");
}

/// GHSA records without a CVSS vector carry `database_specific.severity`; newer ones a
/// CVSS v4 vector. Either sets the severity before "unscored" applies.
#[test]
fn ghsa_ratings_and_cvss_v4_vectors_give_a_severity() {
    let dir = tempdir();
    let mut rated = idna_record(
        "GHSA-dddd-eeee-ffff",
        &["CVE-2099-0002"],
        serde_json::json!([]),
    );
    // The shape of github/advisory-database's `database_specific`.
    rated["database_specific"] = serde_json::json!({
        "severity": "MODERATE", "cwe_ids": ["CWE-400"], "github_reviewed": true
    });
    let v4 = idna_record(
        "GHSA-gggg-hhhh-iiii",
        &["CVE-2099-0003"],
        serde_json::json!([{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]),
    );
    let osv = osv_dir(
        dir.path(),
        "PyPI",
        &[("GHSA-dddd-eeee-ffff", rated), ("GHSA-gggg-hhhh-iiii", v4)],
    );
    let lock = fixture("python/requirements/requirements.txt");
    let (code, report, stderr) = audit(&osv, &["--fail-on", "high", lock.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let rated = finding(&report, "GHSA-dddd-eeee-ffff");
    assert_eq!(rated["advisory"]["severity"], "medium");
    assert_eq!(rated["level"], "warning", "medium is below --fail-on high");
    let v4 = finding(&report, "GHSA-gggg-hhhh-iiii");
    assert_eq!(v4["advisory"]["severity"], "critical");
    assert_eq!(v4["advisory"]["cvss_score"], 9.3);
    assert_eq!(v4["level"], "error");
    assert!(
        report["summary"]["unscored_by_ecosystem"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}

/// The PyPA and Go databases never score: said once per ecosystem, not per finding, and
/// unscored stays failing.
#[test]
fn unscored_sources_are_named_once_in_the_report() {
    let lock = fixture("python/requirements/requirements.txt");
    let out = vouch()
        .args(["audit", "--osv"])
        .arg(osv_db())
        .arg(&lock)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Unscored:"))
        .collect();
    assert_eq!(
        lines,
        [
            "Unscored: 5 PyPI vulnerabilities without a severity (most PyPA advisories carry no score); unscored vulnerabilities fail unless --allow-unscored."
        ],
        "{text}"
    );
    let (code, report, _) = audit(&osv_db(), &[lock.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(report["summary"]["unscored_by_ecosystem"]["PyPI"], 5);
}

/// Issue 12, item 2: a project named like a PyPI package with advisories (the real uv
/// workspace `python/uv-workspace`, whose root is `aiohttp 3.8.0` and whose editable path
/// dependency is `sqlparse 0.4.1`) draws none of their advisories; the report counts them
/// as local.
#[test]
fn the_projects_own_packages_are_counted_as_local_never_audited() {
    let lock = fixture("python/uv-workspace/uv.lock");
    let (code, report, stderr) = audit(&osv_db(), &[lock.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let names: Vec<String> = advisory_findings(&report)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for own in ["aiohttp", "sqlparse", "vouch-member"] {
        assert!(!names.contains(&own.to_string()), "{own}: {names:?}");
    }
    assert!(names.contains(&"jinja2".to_string()), "{names:?}");
    assert_eq!(report["summary"]["local_packages"], 3);
    let local: Vec<(String, String)> = report["local_packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                l["why"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        local,
        [
            ("aiohttp".into(), "workspace-member".into()),
            ("sqlparse".into(), "local-path".into()),
            ("vouch-member".into(), "workspace-member".into()),
        ]
    );
}

/// (advisory findings, audited packages, local packages) of one lockfile.
fn audited(lock: &Path) -> (std::collections::BTreeSet<(String, String)>, u64, u64) {
    let (code, report, stderr) = audit(&osv_db(), &[lock.to_str().unwrap()]);
    assert!(matches!(code, Some(0 | 1)), "{}: {stderr}", lock.display());
    (
        advisory_findings(&report),
        report["summary"]["packages"].as_u64().unwrap(),
        report["summary"]["local_packages"].as_u64().unwrap(),
    )
}

/// Issue 12, item 3: the formats made by the real bun, pnpm 10, yarn 2 to 4, uv export
/// and pip lock give exactly the advisories the fixtures' READMEs list (computed apart
/// from vouch), and their local packages are counted, never matched: bassmaster 1.5.1
/// (a `file:` copy) never draws NSWG-ECO-1.
#[test]
fn new_formats_give_exactly_the_expected_advisories() {
    let npm_all = crate::npm::expected(true, true);
    // Without moment and minimatch, which only the npm and bun fixtures pin.
    let npm_small: std::collections::BTreeSet<_> = npm_all
        .iter()
        .filter(|(name, _)| name != "moment" && name != "minimatch")
        .cloned()
        .collect();
    let pypi = crate::osv::readme_table("python/README.md", "PYSEC-");
    let pypi_for = |names: &[&str]| -> std::collections::BTreeSet<(String, String)> {
        pypi.iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .cloned()
            .collect()
    };
    let runtime = [
        "certifi",
        "chardet",
        "idna",
        "jinja2",
        "markupsafe",
        "requests",
        "urllib3",
    ];
    let mut cases = vec![
        ("npm/bun/bun.lock", npm_all.clone(), 21, 2),
        ("npm/pnpm-v10/pnpm-lock.yaml", npm_small.clone(), 15, 2),
        ("python/pip-lock/pylock.toml", pypi_for(&runtime), 7, 0),
        (
            "python/uv-workspace/pylock.toml",
            pypi_for(&["idna", "jinja2", "py"]),
            4,
            2,
        ),
        (
            "python/uv-workspace/uv.lock",
            pypi_for(&["idna", "jinja2", "py"]),
            4,
            3,
        ),
    ];
    for dir in fs::read_dir(fixture("npm/yarn-berry-versions")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.join("yarn.lock").is_file() {
            let rel = dir.strip_prefix(fixture("")).unwrap().join("yarn.lock");
            cases.push((
                Box::leak(rel.to_string_lossy().into_owned().into_boxed_str()),
                npm_small.clone(),
                15,
                2,
            ));
        }
    }
    assert_eq!(cases.len(), 11);
    for (lock, want, packages, local) in cases {
        let (got, audited_packages, local_packages) = audited(&fixture(lock));
        assert_eq!(got, want, "{lock}");
        assert_eq!(
            (audited_packages, local_packages),
            (packages, local),
            "{lock}"
        );
        assert!(!got.iter().any(|(n, _)| n == "bassmaster"), "{lock}");
    }
}

/// Issue 12, item 1: restic's go.mod says `go 1.15`, so the modules only go.sum names
/// are audited too (fixtures/go/restic/README.md, computed apart from vouch), and the
/// report says which go.mod was read that way.
#[test]
fn a_go_mod_before_1_17_is_audited_with_its_go_sum_modules() {
    let expected: std::collections::BTreeSet<_> =
        crate::osv::readme_table("go/restic/README.md", "GO-")
            .into_iter()
            .collect();
    let lock = fixture("go/restic/go.mod");
    let (code, report, stderr) = audit(&osv_db(), &[lock.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(advisory_findings(&report), expected);
    assert_eq!(expected.len(), 52);
    assert_eq!(report["summary"]["packages"], 81);
    let remarks = report["remarks"].as_array().unwrap();
    assert_eq!(remarks.len(), 1, "{remarks:?}");
    let remark = remarks[0].as_str().unwrap();
    assert!(
        remark.contains("go.mod:49: `go 1.15`") && remark.contains("38 other modules"),
        "{remark}"
    );
    // The human report says it too, once.
    let out = vouch()
        .args(["audit", "--osv"])
        .arg(osv_db())
        .arg(&lock)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("Read: ").count(), 1, "{text}");
}

#[test]
fn go_work_audits_the_union_of_its_modules_and_counts_them_as_local() {
    let lock = fixture("go/go.work");
    let (code, report, stderr) = audit(&osv_db(), &[lock.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let local: Vec<_> = report["local_packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        local,
        [
            "github.com/restic/restic (./restic)",
            "github.com/containers/skopeo (./skopeo)"
        ]
    );
    let found = advisory_findings(&report);
    // From skopeo's requirements and from restic's go.sum-only modules alike.
    for (module, id) in [
        ("github.com/opencontainers/runc", "GO-2023-1627"),
        ("github.com/golang-jwt/jwt/v4", "GO-2024-3250"),
        ("google.golang.org/grpc", "GO-2023-2153"),
    ] {
        assert!(
            found.contains(&(module.into(), id.into())),
            "{module} {id}: {found:?}"
        );
    }
    let version_of = |module: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["package"]["name"] == module)
            .map(|f| f["package"]["version"].clone())
    };
    // The highest either module needs: restic's go.sum grpc v1.48.0 over skopeo's v1.47.0,
    // and skopeo's yaml.v3 v3.0.1 (which fixes GO-2022-0603) over restic's pseudo-version.
    assert_eq!(version_of("google.golang.org/grpc"), Some("v1.48.0".into()));
    assert!(!found.contains(&("gopkg.in/yaml.v3".into(), "GO-2022-0603".into())));
    // go.work replaces x/text with v0.3.8, which fixes GO-2022-1059.
    assert!(!found.contains(&("golang.org/x/text".into(), "GO-2022-1059".into())));
    let text_version = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"]["name"] == "golang.org/x/text")
        .map(|f| f["package"]["version"].clone());
    assert!(
        text_version.as_ref().is_none_or(|v| v == "v0.3.8"),
        "{text_version:?}"
    );
}

/// bun.lockb is binary: an error that says how to get bun.lock, not a silent skip. Beside
/// a bun.lock (a project migrating) it is left for the text one.
#[test]
fn bun_lockb_is_refused_with_the_command_that_writes_bun_lock() {
    let lockb = fixture("npm/bun-binary/bun.lockb");
    let (code, _, stderr) = audit(&osv_db(), &[lockb.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("bun install --save-text-lockfile"),
        "{stderr}"
    );
    assert!(stderr.contains("bun.lockb:1:1"), "{stderr}");
    let dir = tempdir();
    fs::copy(&lockb, dir.path().join("bun.lockb")).unwrap();
    let (code, _, stderr) = audit(&osv_db(), &[dir.path().to_str().unwrap()]);
    assert_eq!(
        code,
        Some(2),
        "alone in a directory it is still refused: {stderr}"
    );
    fs::copy(fixture("npm/bun/bun.lock"), dir.path().join("bun.lock")).unwrap();
    let (code, report, stderr) = audit(&osv_db(), &[dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let formats: Vec<_> = report["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["bun.lock"]);
}

/// Bad input (issue 12): each is an error naming the file, the place and what was expected.
#[test]
fn malformed_new_formats_are_errors_with_line_and_column() {
    let dir = tempdir();
    let bun = fs::read_to_string(fixture("npm/bun/bun.lock")).unwrap();
    let cut = &bun[..bun.rfind("\"marked\"").unwrap() + 20];
    let cases: [(&str, String, &str); 4] = [
        ("bun.lock", cut.to_string(), "bun.lock:"),
        (
            "pylock.toml",
            "lock-version = \"2.0\"\ncreated-by = \"x\"\n".into(),
            "pylock.toml:1:1: pylock.toml lock-version `2.0` is not one vouch reads",
        ),
        (
            "go.sum",
            "golang.org/x/text v0.3.7 h1:nothash\n".into(),
            "go.sum:1:26: invalid h1 hash",
        ),
        (
            "yarn.lock",
            "__metadata:\n  version: 11\n".into(),
            "yarn.lock:1:1: yarn.lock __metadata version 11 is not one vouch reads",
        ),
    ];
    for (name, text, want) in cases {
        let case = dir.path().join(name.replace('.', "-"));
        fs::create_dir_all(&case).unwrap();
        fs::write(case.join(name), &text).unwrap();
        let target = if name == "go.sum" {
            fs::write(
                case.join("go.mod"),
                "module m\ngo 1.21\nrequire golang.org/x/text v0.3.7\n",
            )
            .unwrap();
            case.join("go.mod")
        } else {
            case.join(name)
        };
        let (code, _, stderr) = audit(&osv_db(), &[target.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: {stderr}");
    }
    // The truncated bun.lock names its last line and a column on it.
    let (_, _, stderr) = audit(
        &osv_db(),
        &[dir.path().join("bun-lock/bun.lock").to_str().unwrap()],
    );
    let lines = cut.lines().count();
    assert!(stderr.contains(&format!("bun.lock:{lines}:")), "{stderr}");
    assert!(stderr.contains("EOF while parsing"), "{stderr}");
}

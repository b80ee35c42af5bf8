//! `vouch audit` of SBOMs (SPDX JSON and tag-value, CycloneDX JSON) made by npm,
//! cyclonedx-py, cdxgen, pyspdxtools and vouch itself (fixtures/sbom/README.md says how),
//! against the real advisory snapshots: the findings must be those of the lockfiles the
//! SBOMs were made from. Then the bad inputs: each an error naming the file and where.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{fixture, json, osv_db, repo, rustsec_db, tempdir, vouch};

fn audit(paths: &[PathBuf], extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = vouch()
        .args(["audit", "--format", "json", "--osv"])
        .arg(osv_db())
        .arg("--db")
        .arg(rustsec_db())
        .args(extra)
        .args(paths)
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{paths:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, json(&out))
}

/// Runs an audit that must fail to run (exit 2) and returns its stderr.
fn audit_error(path: &Path) -> String {
    let out = vouch()
        .args(["audit", "--osv"])
        .arg(osv_db())
        .arg(path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// (ecosystem, name, advisory id) of every advisory finding; names as OSV compares them
/// (PyPI's normalised), since a purl and a requirements file may spell one differently.
fn findings(report: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["advisory"].is_object())
        .map(|f| {
            let ecosystem = f["package"]["ecosystem"].as_str().unwrap().to_string();
            let mut name = f["package"]["name"].as_str().unwrap().to_string();
            if ecosystem == "PyPI" {
                name = name.to_lowercase().replace(['_', '.'], "-");
            }
            (
                ecosystem,
                name,
                f["advisory"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn not_audited(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "package-not-audited")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

fn sbom(name: &str) -> PathBuf {
    fixture(&format!("sbom/{name}"))
}

const TREE: &[&str] = &[
    "cargo/vulnerable/Cargo.lock",
    "npm/lock-v3/package-lock.json",
    "go/skopeo/go.mod",
    "python/uv/uv.lock",
];

/// Every committed SBOM finds exactly what its lockfiles find: same packages, same
/// advisories, same verdict; and with `--exclude-dev` where the SBOM records dev-ness.
#[test]
fn sboms_made_by_other_tools_and_by_vouch_find_what_their_lockfiles_find() {
    let cases: &[(&str, &[&str], bool)] = &[
        ("npm.spdx.json", &["npm/lock-v3/package-lock.json"], true),
        ("npm.cdx.json", &["npm/lock-v3/package-lock.json"], true),
        (
            "requirements.cdx.json",
            &["python/requirements/requirements.txt"],
            true,
        ),
        ("poetry.cdx.json", &["python/poetry/poetry.lock"], true),
        ("cdxgen.cdx.json", &TREE[..3], false),
        // vouch's writer records dev-ness only as the project's DEV_DEPENDENCY_OF (so
        // not uv's dev group, here a dependency of the uv project package), and its
        // CycloneDX none at all; the round trip below checks npm's with --exclude-dev.
        ("vouch.spdx.json", TREE, false),
        ("vouch.spdx", TREE, false),
        ("pyspdxtools.spdx", TREE, false),
        ("vouch.cdx.json", TREE, false),
    ];
    for &(name, lockfiles, dev_recorded) in cases {
        let lockfiles: Vec<PathBuf> = lockfiles.iter().map(|l| fixture(l)).collect();
        let flags: &[&[&str]] = if dev_recorded {
            &[&[], &["--exclude-dev"]]
        } else {
            &[&[]]
        };
        for &extra in flags {
            let (code, from_sbom) = audit(&[sbom(name)], extra);
            let (lock_code, from_lockfiles) = audit(&lockfiles, extra);
            let found = findings(&from_sbom);
            assert!(!found.is_empty(), "{name} {extra:?}: no findings");
            assert_eq!(found, findings(&from_lockfiles), "{name} {extra:?}");
            assert_eq!(code, lock_code, "{name} {extra:?}");
            assert_eq!(
                from_sbom["lockfiles"][0]["path"],
                sbom(name).display().to_string()
            );
        }
    }
    // --exclude-dev drops what npm marks dev (uglify-js and its tree), by relationships
    // in SPDX and by the development property in CycloneDX.
    for name in ["npm.spdx.json", "npm.cdx.json"] {
        let (_, all) = audit(&[sbom(name)], &[]);
        let (_, runtime) = audit(&[sbom(name)], &["--exclude-dev"]);
        assert_eq!(all["summary"]["packages"], 22, "{name}");
        assert_eq!(runtime["summary"]["packages"], 12, "{name}");
    }
    let (_, report) = audit(&[sbom("npm.spdx.json")], &[]);
    assert_eq!(report["lockfiles"][0]["format"], "spdx-json");
    let (_, report) = audit(&[sbom("pyspdxtools.spdx")], &[]);
    assert_eq!(report["lockfiles"][0]["format"], "spdx-tv");
    let (_, report) = audit(&[sbom("poetry.cdx.json")], &[]);
    assert_eq!(report["lockfiles"][0]["format"], "cyclonedx-json");
}

/// What `vouch sbom` writes today, `vouch audit` reads back with the same findings, for
/// every format and ecosystem (the committed SBOMs above pin an older writer).
#[test]
fn vouch_sbom_output_round_trips_through_the_audit() {
    let dir = tempdir();
    for project in ["cargo/vulnerable", "npm/lock-v3", "python/uv", "go/skopeo"] {
        let (_, from_lockfile) = audit(&[fixture(project)], &[]);
        for (format, file) in [
            ("spdx-json", "x.spdx.json"),
            ("spdx-tv", "x.spdx"),
            ("cyclonedx-json", "x.cdx.json"),
        ] {
            let out = dir.path().join(file);
            vouch()
                .args(["sbom", "--format", format, "-o"])
                .arg(&out)
                .arg(fixture(project))
                .assert()
                .success();
            let (_, from_sbom) = audit(std::slice::from_ref(&out), &[]);
            assert_eq!(
                findings(&from_sbom),
                findings(&from_lockfile),
                "{project} {format}"
            );
            if project == "npm/lock-v3" && format != "cyclonedx-json" {
                let (_, runtime) = audit(&[out], &["--exclude-dev"]);
                let (_, lock_runtime) = audit(&[fixture(project)], &["--exclude-dev"]);
                assert_eq!(findings(&runtime), findings(&lock_runtime), "{format}");
                assert!(findings(&runtime).len() < findings(&from_sbom).len());
            }
        }
    }
}

/// Regression: the purl spec lowercases golang namespaces; read that way,
/// `github.com/Azure/go-ntlmssp` would never meet its advisory (GO-2026-5543), keyed by
/// the module path's real case.
#[test]
fn go_module_paths_keep_their_case() {
    let dir = tempdir();
    // A go.mod written here: a source file, not a lockfile a tool makes.
    fs::write(
        dir.path().join("go.mod"),
        "module example.test/app\n\ngo 1.21\n\nrequire github.com/Azure/go-ntlmssp v0.0.0-20221128193559-754e69321358\n",
    )
    .unwrap();
    let out = dir.path().join("app.cdx.json");
    vouch()
        .args(["sbom", "--format", "cyclonedx-json", "-o"])
        .arg(&out)
        .arg(dir.path())
        .assert()
        .success();
    assert!(
        fs::read_to_string(&out)
            .unwrap()
            .contains("pkg:golang/github.com/Azure/go-ntlmssp@")
    );
    let (code, report) = audit(&[out], &[]);
    assert_eq!(code, Some(1));
    assert!(
        findings(&report).contains(&(
            "Go".into(),
            "github.com/Azure/go-ntlmssp".into(),
            "GO-2026-5543".into()
        )),
        "{report}"
    );
}

/// Packages of purl types vouch does not audit, without a purl, or without a version
/// are reported, one warning line per kind with a count, never dropped.
#[test]
fn packages_vouch_cannot_audit_are_reported_one_line_per_type() {
    let out = vouch()
        .current_dir(repo())
        .args(["audit", "--osv"])
        .arg(osv_db())
        .arg("--db")
        .arg(rustsec_db())
        .arg("fixtures/sbom/cdxgen.cdx.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("not audited"))
        .map(str::trim_end)
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    insta::assert_snapshot!("sbom_not_audited_human", lines.join("\n"));

    let (_, report) = audit(&[sbom("cdxgen.cdx.json")], &[]);
    let notes = not_audited(&report);
    assert!(
        notes[0].contains("3 packages with purl type `github` not audited"),
        "{notes:?}"
    );
}

/// Bad SBOMs, each an error (exit 2) that names the file, the element and where.
#[test]
fn bad_sboms_are_errors_that_say_where() {
    let dir = tempdir();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    };
    let npm_spdx = fs::read_to_string(sbom("npm.spdx.json")).unwrap();
    let npm_cdx = fs::read_to_string(sbom("npm.cdx.json")).unwrap();
    let tv = fs::read_to_string(sbom("pyspdxtools.spdx")).unwrap();
    let line_of =
        |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;

    // A purl that does not parse: the SBOM, the line and column, and the element.
    let cases = [
        (
            "app.spdx.json",
            npm_spdx.replace("pkg:npm/marked@0.3.5", "pkg:npm/marked@%FF"),
            "SPDXRef-Package-marked-0.3.5",
            line_of(&npm_spdx, "pkg:npm/marked@0.3.5"),
        ),
        (
            "bom.json",
            npm_cdx.replace("\"pkg:npm/marked@0.3.5\"", "\"marked@0.3.5\""),
            "marked@0.3.5",
            line_of(&npm_cdx, "\"pkg:npm/marked@0.3.5\""),
        ),
        (
            "app.spdx",
            tv.replace("pkg:npm/marked@0.3.5", "pkg:cargo/some/marked@0.3.5"),
            "SPDXRef-npm-marked-0.3.5",
            line_of(&tv, "pkg:npm/marked@0.3.5"),
        ),
    ];
    for (name, text, element, line) in cases {
        let path = write(name, &text);
        let stderr = audit_error(&path);
        assert!(
            stderr.contains(&format!("{}:{line}:", path.display())),
            "{name}: line {line}: {stderr}"
        );
        assert!(stderr.contains(element), "{name}: {stderr}");
        assert!(stderr.contains("purl"), "{name}: {stderr}");
    }

    // No purl at all: nothing to audit by.
    let path = write(
        "nopurls.spdx.json",
        r#"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
            "packages": [{"SPDXID": "SPDXRef-a", "name": "a", "versionInfo": "1.0"}]}"#,
    );
    let stderr = audit_error(&path);
    assert!(
        stderr.contains("nopurls.spdx.json:1:1: no package in this SPDX document has a purl"),
        "{stderr}"
    );

    // Only purls of types vouch does not audit: the error says what was left out.
    let path = write(
        "maven.cdx.json",
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"bom-ref": "c1", "purl": "pkg:maven/org.example/lib@1.0"}]}"#,
    );
    let stderr = audit_error(&path);
    assert!(stderr.contains("no packages to audit"), "{stderr}");
    assert!(
        stderr.contains("1 package with purl type `maven` not audited"),
        "{stderr}"
    );

    // Versions vouch does not read, and JSON that is no SBOM (named, so it must be one).
    for (name, text, expected) in [
        (
            "old.cdx.json",
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.3"}"#,
            "specVersion `1.3`",
        ),
        (
            "new.spdx.json",
            r#"{"spdxVersion": "SPDX-3.0", "packages": []}"#,
            "spdxVersion `SPDX-3.0`",
        ),
        (
            "package.json",
            r#"{"name": "x", "version": "1.0.0"}"#,
            "not a lockfile or SBOM vouch reads",
        ),
        (
            "broken.cdx.json",
            "{\"bomFormat\": \"CycloneDX\",\n \"components\": [",
            "broken.cdx.json:2:",
        ),
    ] {
        let stderr = audit_error(&write(name, text));
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
    }

    // Nesting past any stack: an error, quickly.
    let depth = 100_000;
    let nested = format!(
        "{{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": [{}{}]}}",
        "{\"purl\": \"pkg:npm/x@1.0.0\", \"components\": [".repeat(depth),
        "]}".repeat(depth)
    );
    let stderr = audit_error(&write("deep.cdx.json", &nested));
    assert!(stderr.contains("nested more than"), "{stderr}");

    // Over the lockfile size limit: refused before it is read (a sparse file).
    let path = dir.path().join("huge.cdx.json");
    fs::File::create(&path)
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    let stderr = audit_error(&path);
    assert!(stderr.contains("over the 67108864-byte limit"), "{stderr}");
}

/// A directory scan reads lockfiles only: an SBOM in the tree (often made from those
/// same lockfiles) and any stray JSON are neither audited twice nor errors.
#[test]
fn a_directory_scan_never_reads_sboms() {
    let dir = tempdir();
    fs::copy(
        fixture("cargo/vulnerable/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    fs::copy(sbom("npm.spdx.json"), dir.path().join("app.spdx.json")).unwrap();
    fs::write(dir.path().join("bom.json"), "not json at all").unwrap();
    let (_, report) = audit(&[dir.path().to_path_buf()], &[]);
    assert_eq!(report["lockfiles"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        report["summary"]["packages_by_ecosystem"]["npm"],
        serde_json::Value::Null
    );

    let only_sboms = tempdir();
    fs::copy(
        sbom("npm.spdx.json"),
        only_sboms.path().join("app.spdx.json"),
    )
    .unwrap();
    let stderr = audit_error(only_sboms.path());
    assert!(
        stderr.contains("SBOMs are read only when named"),
        "{stderr}"
    );
}

/// `vouch check` audits the SBOMs its policy's `[audit] paths` name, beside lockfiles.
#[test]
fn the_policy_can_name_sboms_to_audit() {
    let dir = tempdir();
    fs::copy(sbom("npm.cdx.json"), dir.path().join("web.cdx.json")).unwrap();
    fs::copy(
        fixture("cargo/clean/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    fs::write(
        dir.path().join("vouch.toml"),
        format!(
            "[audit]\npaths = [\"web.cdx.json\", \"Cargo.lock\"]\nexclude-dev = true\nosv = \"{}\"\n",
            osv_db().display()
        ),
    )
    .unwrap();
    let out = vouch()
        .current_dir(dir.path())
        .args(["check", "--format", "json", "--db"])
        .arg(rustsec_db())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let audit = &report["checks"][0];
    assert_eq!(audit["name"], "audit");
    assert!(
        audit["summary"]
            .as_str()
            .unwrap()
            // The Cargo fixture's own crate is counted as local beside the packages.
            .contains(" packages and 1 local (the project's own, not audited: 1 workspace member) in 2 lockfiles"),
        "{audit}"
    );
    let ids: BTreeSet<&str> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["advisory"]["id"].as_str())
        .collect();
    assert!(
        ids.contains("NSWG-ECO-101") && !ids.contains("NSWG-ECO-39"),
        "{ids:?}"
    );
}

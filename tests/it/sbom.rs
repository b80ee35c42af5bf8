//! `vouch sbom`: SPDX 2.3 (JSON, tag-value) and CycloneDX 1.6, judged by the official
//! SPDX validator, the NTIA minimum-elements checker and the CycloneDX JSON schema.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{fixture, repo, require_file, require_tool, tempdir, vouch};

const CDX_SCHEMA: &str = "/opt/vouch-ci/cyclonedx/bom-1.6.SNAPSHOT.schema.json";

/// A fake `$CARGO_HOME` whose registry cache holds the manifests of a few crates of the
/// vulnerable fixture, as `cargo fetch` would leave them (self-made: only the `license`
/// lines matter). Licenses of everything else stay NOASSERTION.
fn cargo_home() -> tempfile::TempDir {
    let home = tempdir();
    let src = home.path().join("registry/src/index-0000000000000000");
    for (krate, license) in [
        ("regex-1.5.4", "MIT/Apache-2.0"),
        ("smallvec-0.6.10", "MIT OR Apache-2.0"),
        ("time-0.1.43", "Apache-2.0 and custom terms"),
    ] {
        fs::create_dir_all(src.join(krate)).unwrap();
        let (name, version) = krate.rsplit_once('-').unwrap();
        fs::write(
            src.join(krate).join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"{version}\"\nlicense = \"{license}\"\n"
            ),
        )
        .unwrap();
    }
    home
}

fn sbom(project: &Path, format: &str, out: &Path, home: &Path) -> std::process::Output {
    vouch()
        .env("CARGO_HOME", home)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("sbom")
        .arg(project)
        .args(["--format", format, "-o"])
        .arg(out)
        .output()
        .unwrap()
}

fn generate_all(dir: &Path) -> Vec<(String, PathBuf)> {
    let home = cargo_home();
    let mut outputs = Vec::new();
    for project in ["cargo/vulnerable", "cargo/clean"] {
        for (format, ext) in [
            ("spdx-json", "spdx.json"),
            ("spdx-tv", "spdx"),
            ("cyclonedx-json", "cdx.json"),
        ] {
            let out = dir.join(format!("{}.{ext}", project.replace('/', "-")));
            let run = sbom(&fixture(project), format, &out, home.path());
            assert_eq!(
                run.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            outputs.push((format.to_string(), out));
        }
    }
    outputs
}

#[test]
#[ignore = "needs pyspdxtools, sbomcheck, the CycloneDX schema: scripts/ci/install-sbom-tools.sh"]
fn spdx_documents_pass_the_official_validator_and_the_ntia_checker() {
    let (validator, ntia) = (require_tool("pyspdxtools"), require_tool("sbomcheck"));
    let dir = tempdir();
    for (format, path) in generate_all(dir.path()) {
        if !format.starts_with("spdx") {
            continue;
        }
        let out = Command::new(&validator)
            .arg("-i")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stdout)
        );
        let out = Command::new(&ntia)
            .args(["-c", "ntia", "-r", "json"])
            .arg(&path)
            .output()
            .unwrap();
        let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            verdict["isNtiaConformant"],
            true,
            "{}: {verdict:#}",
            path.display()
        );
    }
    // The validator can say no: a document without its namespace is invalid.
    let broken = dir.path().join("broken.spdx.json");
    let text = fs::read_to_string(dir.path().join("cargo-clean.spdx.json")).unwrap();
    fs::write(
        &broken,
        text.replace("\"documentNamespace\"", "\"documentNamespaceX\""),
    )
    .unwrap();
    assert!(
        !Command::new(&validator)
            .arg("-i")
            .arg(&broken)
            .output()
            .unwrap()
            .status
            .success()
    );
}

#[test]
#[ignore = "needs pyspdxtools, sbomcheck, the CycloneDX schema: scripts/ci/install-sbom-tools.sh"]
fn cyclonedx_documents_validate_against_the_1_6_schema() {
    let (schema, validator) = (require_file(CDX_SCHEMA), require_tool("check-jsonschema"));
    let dir = tempdir();
    for (format, path) in generate_all(dir.path()) {
        if format != "cyclonedx-json" {
            continue;
        }
        let out = Command::new(&validator)
            .arg("--schemafile")
            .arg(&schema)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn spdx_content_packages_checksums_licenses_and_relationships() {
    let dir = tempdir();
    let home = cargo_home();
    let out = dir.path().join("x.spdx.json");
    let run = sbom(&fixture("cargo/vulnerable"), "spdx-json", &out, home.path());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("`Apache-2.0 and custom terms` is not a valid SPDX expression"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(
        packages.len(),
        21,
        "the project plus its 20 locked dependencies"
    );
    let by_name = |n: &str| packages.iter().find(|p| p["name"] == n).unwrap();
    let regex = by_name("regex");
    assert_eq!(regex["versionInfo"], "1.5.4");
    assert_eq!(
        regex["licenseDeclared"], "MIT OR Apache-2.0",
        "normalised from MIT/Apache-2.0"
    );
    assert_eq!(regex["checksums"][0]["algorithm"], "SHA256");
    let lock = fs::read_to_string(fixture("cargo/vulnerable/Cargo.lock")).unwrap();
    assert!(
        lock.contains(regex["checksums"][0]["checksumValue"].as_str().unwrap()),
        "checksum from the lockfile"
    );
    assert_eq!(
        regex["externalRefs"][0]["referenceLocator"],
        "pkg:cargo/regex@1.5.4"
    );
    assert_eq!(
        by_name("ansi_term")["licenseDeclared"],
        "NOASSERTION",
        "not in the cache: never a guess"
    );
    let time = by_name("time");
    assert_eq!(
        time["licenseDeclared"],
        "LicenseRef-Apache-2.0-and-custom-terms"
    );
    assert_eq!(
        doc["hasExtractedLicensingInfos"][0]["extractedText"],
        "Apache-2.0 and custom terms"
    );

    let root = by_name("vulnerable-fixture");
    let rels = doc["relationships"].as_array().unwrap();
    let has = |from: &str, kind: &str, to: &str| {
        rels.iter().any(|r| {
            r["spdxElementId"] == from
                && r["relationshipType"] == kind
                && r["relatedSpdxElement"] == to
        })
    };
    assert!(has(
        "SPDXRef-DOCUMENT",
        "DESCRIBES",
        root["SPDXID"].as_str().unwrap()
    ));
    assert!(has(
        root["SPDXID"].as_str().unwrap(),
        "DEPENDS_ON",
        regex["SPDXID"].as_str().unwrap()
    ));
    assert!(has(
        by_name("chrono")["SPDXID"].as_str().unwrap(),
        "DEPENDS_ON",
        by_name("num-integer")["SPDXID"].as_str().unwrap()
    ));
}

#[test]
fn output_is_byte_identical_across_runs_directories_and_times() {
    let home = cargo_home();
    let first_dir = tempdir();
    let second_dir = tempdir();
    let lock_dir = fixture("cargo/vulnerable");
    let run = |cwd: &Path, format: &str| {
        let out = vouch()
            .current_dir(cwd)
            .env("CARGO_HOME", home.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .args(["sbom", "--format", format])
            .arg(&lock_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        out.stdout
    };
    for format in ["spdx-json", "spdx-tv", "cyclonedx-json"] {
        let a = run(first_dir.path(), format);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = run(second_dir.path(), format);
        assert!(a == b, "{format} differs between runs");
    }
}

#[test]
fn refuses_to_write_through_a_symlink() {
    let dir = tempdir();
    let target = dir.path().join("elsewhere.json");
    fs::write(&target, "keep").unwrap();
    let link = dir.path().join("sbom.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    vouch()
        .arg("sbom")
        .arg(fixture("cargo/clean"))
        .arg("-o")
        .arg(&link)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("symlink"));
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
}

#[test]
fn malformed_or_missing_input_is_an_error() {
    let dir = tempdir();
    fs::write(dir.path().join("Cargo.lock"), "[[package]\n").unwrap();
    vouch()
        .arg("sbom")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::is_match(r"Cargo\.lock:1:\d+").unwrap());
    let empty = tempdir();
    vouch()
        .arg("sbom")
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no lockfile"));
    vouch()
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .arg("sbom")
        .arg(fixture("cargo/clean"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("SOURCE_DATE_EPOCH"));
}

#[test]
fn vouchs_own_sbom_names_every_locked_package() {
    let out = vouch().arg("sbom").arg(repo()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lock = fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    assert_eq!(
        doc["packages"].as_array().unwrap().len(),
        lock.matches("[[package]]").count()
    );
}

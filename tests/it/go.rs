//! `vouch audit` of go.mod (+ go.sum): skopeo's real module files (fixtures/go/README.md),
//! replace directives, and malformed input.
//!
//! Go advisories are not matched yet (RustSec is the only source), so these tests assert
//! what was parsed and scanned, not findings.

use std::fs;
use std::path::Path;

use crate::common::{fixture, json, osv_db, rustsec_db, tempdir, vouch};

fn run(path: &Path, extra: &[&str]) -> std::process::Output {
    vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg("--osv")
        .arg(osv_db())
        .args(extra)
        .arg(path)
        .output()
        .unwrap()
}

fn go_count(path: &Path, extra: &[&str]) -> u64 {
    let out = run(path, extra);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    report["summary"]["packages_by_ecosystem"]["Go"]
        .as_u64()
        .unwrap_or_else(|| panic!("no Go count in {report:#}"))
}

#[test]
fn skopeo_go_mod_scans_every_required_module() {
    let dir = fixture("go/skopeo");
    assert_eq!(go_count(&dir, &[]), 99);
    // Go records no dev-only modules: nothing to drop.
    assert_eq!(go_count(&dir, &["--exclude-dev"]), 99);
}

#[test]
fn replaced_modules_are_counted_once_and_a_missing_go_sum_is_fine() {
    let dir = tempdir();
    fs::write(
        dir.path().join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/net v0.0.0-20220624214902-1bab6f366d9e\n\texample.com/local v1.0.0\n)\n\nreplace golang.org/x/net => golang.org/x/net v0.23.0\nreplace example.com/local => ./local\n",
    )
    .unwrap();
    // The module replaced by a local directory is the project's own: local, not audited.
    assert_eq!(go_count(dir.path(), &[]), 1);
}

fn error_of(files: &[(&str, &str)]) -> String {
    let dir = tempdir();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    let out = run(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn malformed_go_mod_exits_2_with_file_and_line() {
    let stderr = error_of(&[(
        "go.mod",
        "module example.com/app\n\nrequire (\n\tgolang.org/x/net\n)\n",
    )]);
    assert!(stderr.contains("go.mod:4:"), "{stderr}");
    let stderr = error_of(&[("go.mod", "module m\n\nrequire (\n\ta v1.0.0\n")]);
    assert!(
        stderr.contains("go.mod:3:") && stderr.contains("never closed"),
        "{stderr}"
    );
}

#[test]
fn malformed_go_sum_exits_2_naming_go_sum() {
    let stderr = error_of(&[
        ("go.mod", "module m\n\nrequire a.example/b v1.0.0\n"),
        ("go.sum", "a.example/b v1.0.0 h1:short=\n"),
    ]);
    assert!(stderr.contains("go.sum:1:"), "{stderr}");
}

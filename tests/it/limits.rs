//! Hostile inputs that aim at resources rather than at the parser's logic: nesting deep
//! enough to overflow a recursive parser's stack, and files too large to read. Each must
//! end in a clean error (exit 2, the file named), never a crash or an endless run.

use std::fs;
use std::time::{Duration, Instant};

use crate::common::{osv_db, rustsec_db, tempdir, vouch};

/// 200,000 levels: far past every parser's recursion limit, well under the size limit.
const DEPTH: usize = 200_000;

fn nested(open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(DEPTH), close.repeat(DEPTH))
}

#[test]
fn deeply_nested_lockfiles_are_errors_not_stack_overflows() {
    let cases = [
        (
            "pnpm-lock.yaml",
            format!("lockfileVersion: '9.0'\nx: {}\n", nested("[", "", "]")),
        ),
        (
            "yarn.lock",
            format!("__metadata:\n  version: 6\nx: {}\n", nested("[", "", "]")),
        ),
        (
            "package-lock.json",
            format!(
                "{{\"lockfileVersion\":3,\"packages\":{}}}",
                nested("[", "", "]")
            ),
        ),
        (
            "Cargo.lock",
            format!("version = 3\nx = {}\n", nested("[", "", "]")),
        ),
        (
            "uv.lock",
            format!("version = 1\nx = {}\n", nested("[", "", "]")),
        ),
        ("poetry.lock", format!("x = {}\n", nested("{a=", "1", "}"))),
        (
            "Pipfile.lock",
            format!("{{\"default\":{}}}", nested("{\"a\":", "1", "}")),
        ),
    ];
    for (name, text) in cases {
        let dir = tempdir();
        fs::write(dir.path().join(name), text).unwrap();
        let started = Instant::now();
        let out = vouch()
            .args(["audit", "--db"])
            .arg(rustsec_db())
            .arg("--osv")
            .arg(osv_db())
            .arg(dir.path())
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(name),
            "{name}: the error names the file: {stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("overflow"),
            "{name}: {stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_lockfile_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempdir();
    let path = dir.path().join("package-lock.json");
    // A sparse file: 200 MiB on paper, nothing on disk, so the test stays cheap.
    fs::File::create(&path)
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    vouch()
        .args(["audit", "--osv"])
        .arg(osv_db())
        .arg(&path)
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("package-lock.json"))
        .stderr(predicates::str::contains("over the 67108864-byte limit"));
}

/// A lockfile in the tree that is a symlink to a file outside it is refused (exit 2, both
/// paths named) instead of being read, or silently skipped while the gate passes; named on
/// the command line, the same file is the user's choice and is read.
#[cfg(unix)]
#[test]
fn a_symlinked_lockfile_pointing_out_of_the_tree_is_refused() {
    let outside = tempdir();
    fs::copy(
        crate::common::fixture("cargo/clean/Cargo.lock"),
        outside.path().join("Cargo.lock"),
    )
    .unwrap();
    let tree = tempdir();
    fs::create_dir(tree.path().join("app")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("Cargo.lock"),
        tree.path().join("app/Cargo.lock"),
    )
    .unwrap();
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg(tree.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("outside the scanned tree"))
        .stderr(predicates::str::contains("app/Cargo.lock"));
    vouch()
        .args(["audit", "--db"])
        .arg(rustsec_db())
        .arg(tree.path().join("app/Cargo.lock"))
        .assert()
        .code(0);
}

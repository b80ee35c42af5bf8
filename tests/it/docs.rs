//! The documents that name tests must name tests that exist: docs/fail-closed.md links
//! each guarantee to the test that proves it, and a renamed or deleted test must not
//! leave a guarantee pointing at nothing.

use std::fs;

use crate::common::repo;

#[test]
fn every_test_named_in_the_fail_closed_guarantees_exists() {
    let doc = fs::read_to_string(repo().join("docs/fail-closed.md")).unwrap();
    let mut checked = 0;
    for cell in doc.split('`') {
        // `file.rs::name` (tests/it) or `src/...rs::name`, or a bare `name` after a
        // `file.rs` in the same cell: only the qualified form is checked here.
        let Some((file, name)) = cell.split_once(".rs::") else {
            continue;
        };
        let path = if file.starts_with("src/") {
            repo().join(format!("{file}.rs"))
        } else {
            repo().join(format!("tests/it/{file}.rs"))
        };
        let source = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (named in docs/fail-closed.md)", path.display()));
        assert!(
            source.contains(&format!("fn {name}(")),
            "docs/fail-closed.md names {file}.rs::{name}, which does not exist"
        );
        checked += 1;
    }
    assert!(checked > 30, "only {checked} tests named");
}

/// The README's `vouch.toml` examples parse as policies (people copy them).
#[test]
fn the_readme_policy_examples_parse() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let mut parsed = 0;
    for block in readme.split("```toml\n").skip(1) {
        let text = block.split("```").next().unwrap();
        if !text.starts_with("# vouch.toml") {
            continue;
        }
        vouch::policy::Policy::parse(std::path::Path::new("vouch.toml"), text)
            .unwrap_or_else(|e| panic!("README example: {e}\n{text}"));
        parsed += 1;
    }
    assert!(parsed >= 1, "no `# vouch.toml` example found");
}

/// The README lists every certificate extension a policy can name, with its OID arc.
#[test]
fn the_readme_lists_every_certificate_extension_name() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let words = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    for ext in vouch::verify::claims::EXTENSIONS {
        let entry = format!("`{}` ({})", ext.name, ext.arc);
        assert!(words.contains(&entry), "README does not list {entry}");
    }
}

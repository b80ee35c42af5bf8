//! What every command's `--help` says (snapshots), and the process-level contract.

use crate::common::vouch;

fn help(args: &[&str]) -> String {
    let out = vouch()
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_texts() {
    let commands: &[&[&str]] = &[
        &[],
        &["audit"],
        &["check"],
        &["db"],
        &["db", "update"],
        &["db", "status"],
        &["waivers"],
        &["waivers", "list"],
        &["waivers", "check"],
        &["waivers", "add"],
        &["init"],
        &["sbom"],
        &["verify"],
        &["verify-blob"],
    ];
    for args in commands {
        let name = if args.is_empty() {
            "vouch".to_string()
        } else {
            format!("vouch {}", args.join(" "))
        };
        insta::assert_snapshot!(name.replace(' ', "_"), help(args), &name);
    }
}

#[test]
fn a_usage_error_exits_2_not_1() {
    vouch().arg("audit").arg("--no-such-flag").assert().code(2);
    vouch().arg("frobnicate").assert().code(2);
}

//! `vouch init`: a starter policy, an empty waiver file and a CI workflow. Never
//! overwrites an existing file unless `--force` says to.
//!
//! The workflow runs vouch through this repository's own action (action.yml), which builds
//! vouch from that commit's source. It never installs a crate by the name `vouch`: on
//! crates.io that name is another project. The action is pinned by a full commit SHA,
//! because a tag can be moved to other code (how the trivy-action compromise of 2026-03
//! spread) and a commit cannot. vouch does not know its own repository's address, so the
//! pin comes from `--action OWNER/REPO@SHA`; without it the workflow is written with a
//! step that fails, saying how to pin it, until someone does: never a gate that silently
//! runs nothing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::report::Verdict;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write into (default: the current directory).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,

    /// vouch's GitHub action for the workflow, pinned by a full commit SHA:
    /// OWNER/REPO@<40 hex digits> (a tag or branch is refused: it can be moved). Without
    /// it, the workflow fails until the action is pinned.
    #[arg(long, value_name = "OWNER/REPO@SHA", value_parser = parse_action)]
    pub action: Option<String>,
}

/// `OWNER/REPO@SHA` (or `OWNER/REPO/PATH@SHA`), the SHA a full 40-digit commit id.
fn parse_action(text: &str) -> Result<String, String> {
    let (name, pin) = text
        .rsplit_once('@')
        .ok_or_else(|| format!("`{text}` is not OWNER/REPO@SHA"))?;
    let parts: Vec<&str> = name.split('/').collect();
    let valid_part = |p: &&str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if parts.len() < 2 || !parts.iter().all(valid_part) {
        return Err(format!("`{name}` is not OWNER/REPO (GitHub names)"));
    }
    if pin.len() != 40 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{pin}` is not a full commit SHA (40 hex digits): a tag or branch can be moved to other code, a commit cannot"
        ));
    }
    Ok(format!("{name}@{}", pin.to_ascii_lowercase()))
}

const POLICY: &str = include_str!("../../policies/default.toml");

const WAIVERS: &str = "# Waivers: advisories this project accepts for now. Each needs a reason, an owner\n\
# and an expiry date; `vouch waivers add ID --reason ... --owner ... --expires YYYY-MM-DD`\n\
# appends one. Expired waivers fail the gate.\n";

/// The starter workflow. Third-party actions are pinned by commit too (the version each
/// commit was tagged with beside it).
fn workflow(action: Option<&str>) -> String {
    let vouch_step = match action {
        Some(action) => format!(
            "      # vouch's action at a reviewed commit: it builds vouch from that commit's source.
      - uses: {action}
        with:
          policy: vouch.toml
          args: --output sarif=vouch.sarif --output junit=vouch.junit.xml --output markdown=vouch.md
"
        ),
        None => "      # vouch's action is not pinned yet. Replace this step with
      #   - uses: OWNER/REPO@COMMIT_SHA   # vouch's repository, at a full commit SHA you reviewed
      #     with:
      #       policy: vouch.toml
      #       args: --output sarif=vouch.sarif --output junit=vouch.junit.xml --output markdown=vouch.md
      # or rerun `vouch init --force --action OWNER/REPO@COMMIT_SHA`. Never a tag: it can be moved.
      - name: vouch (not pinned yet)
        run: |
          echo \"::error file=.github/workflows/vouch.yml::pin vouch's action by commit SHA (see the comment in this file)\"
          exit 1
"
        .to_string(),
    };
    format!(
        "# Runs the vouch gate on every push and pull request and uploads its findings to code
# scanning. Written by `vouch init`.
name: vouch
on: [push, pull_request]
permissions:
  contents: read          # check out the repository
  security-events: write  # upload the SARIF report to code scanning
jobs:
  vouch:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
{vouch_step}      - if: always() && hashFiles('vouch.sarif') != ''
        uses: github/codeql-action/upload-sarif@5d4e8d1aca955e8d8589aabd499c5cae939e33c7 # v4.31.9
        with:
          sarif_file: vouch.sarif
"
    )
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let workflow = workflow(args.action.as_deref());
    let files: [(PathBuf, &str); 3] = [
        (args.dir.join("vouch.toml"), POLICY),
        (args.dir.join("vouch-waivers.toml"), WAIVERS),
        (args.dir.join(".github/workflows/vouch.yml"), &workflow),
    ];
    let existing: Vec<_> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        bail!(
            "refusing to overwrite {} (--force overwrites)",
            existing.join(", ")
        );
    }
    for (path, text) in &files {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
        }
        if args.force {
            super::check::write_atomically(path, |w| w.write_all(text.as_bytes()))
                .with_context(|| format!("could not write {}", path.display()))?;
        } else {
            write_new(path, text)?;
        }
        writeln!(out, "wrote {}", path.display())?;
    }
    if args.action.is_none() {
        writeln!(
            out,
            "the workflow fails until vouch's action is pinned: edit {}, or rerun with --force --action OWNER/REPO@COMMIT_SHA",
            files[2].0.display()
        )?;
    }
    writeln!(out, "next: `vouch db update`, then `vouch check`")?;
    Ok(Verdict::Pass)
}

/// Creates `path`, failing if it appeared meanwhile (never clobbers).
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("{}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("{}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_must_be_pinned_by_a_full_commit() {
        let sha = "0123456789abcdef0123456789ABCDEF01234567";
        assert_eq!(
            parse_action(&format!("acme/vouch@{sha}")).unwrap(),
            format!("acme/vouch@{}", sha.to_ascii_lowercase())
        );
        assert!(parse_action(&format!("acme/vouch/sub@{sha}")).is_ok());
        for bad in [
            "acme/vouch@v1",
            "acme/vouch@main",
            "acme/vouch@0123456",
            "acme/vouch",
            &format!("vouch@{sha}"),
            &format!("acme/vo uch@{sha}"),
            &format!("acme/vouch@{sha}0"),
        ] {
            assert!(parse_action(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_workflow_never_installs_a_crate_named_vouch() {
        for action in [
            None,
            Some("acme/vouch@0123456789abcdef0123456789abcdef01234567"),
        ] {
            let text = workflow(action);
            assert!(!text.contains("cargo install"), "{text}");
            assert!(text.contains("security-events: write"), "{text}");
        }
    }
}

//! `vouch init`: a starter policy, an empty waiver file and a CI workflow. Never
//! overwrites an existing file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::report::Verdict;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write into (default: the current directory).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

const POLICY: &str = include_str!("../../policies/default.toml");

const WAIVERS: &str = "# Waivers: advisories this project accepts for now. Each needs a reason, an owner\n\
# and an expiry date; `vouch waivers add ID --reason ... --owner ... --expires YYYY-MM-DD`\n\
# appends one. Expired waivers fail the gate.\n";

const WORKFLOW: &str = r#"# Runs the vouch gate on every push and pull request.
name: vouch
on: [push, pull_request]
jobs:
  vouch:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: cargo install --locked vouch
      - run: vouch db update
      - run: vouch check --output sarif=vouch.sarif --output junit=vouch.junit.xml --output markdown=vouch.md
      - if: always()
        run: cat vouch.md >> "$GITHUB_STEP_SUMMARY"
      - if: always()
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: vouch.sarif
"#;

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let files: [(PathBuf, &str); 3] = [
        (args.dir.join("vouch.toml"), POLICY),
        (args.dir.join("vouch-waivers.toml"), WAIVERS),
        (args.dir.join(".github/workflows/vouch.yml"), WORKFLOW),
    ];
    let existing: Vec<_> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!("refusing to overwrite {}", existing.join(", "));
    }
    for (path, text) in &files {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        write_new(path, text)?;
        writeln!(out, "wrote {}", path.display())?;
    }
    writeln!(out, "next: `vouch db update`, then `vouch check`")?;
    Ok(Verdict::Pass)
}

/// Creates `path`, failing if it appeared meanwhile (never clobbers).
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

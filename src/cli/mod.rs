//! Command-line interface: clap definitions and one module per command. Each command turns
//! its settings into library calls and writes a report to the writer it is given; it
//! returns a [`Verdict`] or an error, and `main` alone turns that into an exit code.

mod audit;
mod check;
mod db;
mod init;
mod project;
mod sbom;
mod verify;
mod verify_blob;
mod waivers;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::report::Verdict;

/// vouch: a supply-chain gate. Audits lockfiles against advisory databases with waivers
/// that have owners and expiry dates, and gives one pass/fail verdict.
///
/// Exit codes: 0 pass, 1 the policy failed (findings), 2 vouch could not do its job.
#[derive(Debug, Parser)]
#[command(name = "vouch", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit lockfiles against advisory databases, applying waivers.
    Audit(audit::Args),
    /// Run every check the policy (vouch.toml) configures; one report, one verdict.
    Check(check::Args),
    /// Fetch or inspect the local advisory databases.
    #[command(subcommand)]
    Db(db::Command),
    /// Write an SBOM (SPDX 2.3 JSON or tag-value, CycloneDX 1.6 JSON) of the lockfiles.
    Sbom(sbom::Args),
    /// List, check and add waivers.
    #[command(subcommand)]
    Waivers(waivers::Command),
    /// Verify cosign signatures and attestations on an image digest (keyed or keyless).
    Verify(verify::Args),
    /// Verify a Sigstore bundle over a file or a sha256 digest (cosign verify-blob's flags).
    VerifyBlob(verify_blob::Args),
    /// Write a starter vouch.toml, an empty waiver file and a CI workflow.
    Init(init::Args),
}

/// Output formats for reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people (colour on a terminal).
    #[default]
    Human,
    /// The versioned JSON report (see docs/json-report.md).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for a CI's test view.
    Junit,
    /// Markdown, for a job summary or a pull-request comment.
    Markdown,
}

/// Writes a check report in `format`.
fn write_check_report(
    format: OutputFormat,
    report: &crate::report::CheckReport,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use crate::report;
    match format {
        OutputFormat::Human => report::human::write_check(report, terminal_width(), out),
        OutputFormat::Json => report::json::write_check(report, out),
        OutputFormat::Sarif => report::sarif::write(report, out),
        OutputFormat::Junit => report::junit::write(report, out),
        OutputFormat::Markdown => report::markdown::write(report, out),
    }
}

/// Runs the parsed command, writing its report to `out` and warnings to `err`.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Verdict> {
    match cli.command {
        Command::Audit(args) => audit::run(args, out, err),
        Command::Check(args) => check::run(args, out),
        Command::Db(command) => db::run(command, out),
        Command::Waivers(command) => waivers::run(command, out, err),
        Command::Init(args) => init::run(args, out),
        Command::Sbom(args) => sbom::run(args, out, err),
        Command::Verify(args) => verify::run(args, out),
        Command::VerifyBlob(args) => verify_blob::run(args, out),
    }
}

/// The advisory database directory to read: `--db`, else the cache's copy.
fn database_dir(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(dir) => Ok(dir),
        None => Ok(crate::advisory::db::rustsec_dir(
            &crate::advisory::db::cache_dir()?,
        )),
    }
}

/// The width human reports fit: `COLUMNS` when set, else the terminal's when stdout is
/// one, else none (a file or a pipe gets one line per finding).
fn terminal_width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(columns);
    }
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
}

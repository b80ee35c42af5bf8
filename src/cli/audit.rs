//! `vouch audit`: lockfiles → packages → advisories → waivers → report.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use jiff::Timestamp;

use super::OutputFormat;
use crate::advisory::db::DbInfo;
use crate::advisory::rustsec::RustSecDb;
use crate::advisory::{Informational, Severity};
use crate::audit::{self, Settings};
use crate::lockfile;
use crate::report::{self, AuditReport, LockfileSummary, Verdict};
use crate::waiver::{self, WaiverFile};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Lockfiles, or directories to search for them (default: the current directory).
    /// Directories are walked, skipping target/, .git/ and node_modules/.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// RustSec advisory database directory (default: the copy `vouch db update` keeps in
    /// the cache, $VOUCH_CACHE_DIR or the platform cache directory).
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,

    /// Waiver file (default: vouch-waivers.toml in the first directory scanned, or the
    /// current directory, when it exists).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,

    /// Fail only on vulnerabilities of this severity or worse (default: any fails).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Do not fail on vulnerabilities that have no CVSS score (they still warn).
    #[arg(long)]
    pub allow_unscored: bool,

    /// Fail on these informational advisory kinds instead of warning.
    #[arg(long, value_name = "KIND", value_delimiter = ',', value_parser = parse_informational)]
    pub deny: Vec<Informational>,

    /// Fail when a waiver matches nothing.
    #[arg(long)]
    pub deny_unused_waivers: bool,

    /// Skip packages the lockfile marks as development-only.
    #[arg(long)]
    pub exclude_dev: bool,

    /// Report format written to stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn parse_informational(s: &str) -> Result<Informational, String> {
    s.parse()
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };

    let db_dir = super::database_dir(args.db.clone())?;
    let db = RustSecDb::open(&db_dir).context("cannot open the advisory database")?;

    let found = lockfile::discover(&paths)?;
    let mut lockfiles = Vec::with_capacity(found.len());
    for (path, format) in found {
        lockfiles.push(lockfile::load(&path, format)?);
    }

    let waiver_path = match args.waivers {
        Some(path) => Some(path),
        None => {
            let root = paths
                .first()
                .filter(|p| p.is_dir())
                .cloned()
                .unwrap_or_else(|| PathBuf::from("."));
            Some(root.join(waiver::DEFAULT_FILE_NAME)).filter(|p| p.is_file())
        }
    };
    let waivers = waiver_path.as_deref().map(WaiverFile::load).transpose()?;

    let now = Timestamp::now();
    let mut settings = Settings::new(now.to_zoned(jiff::tz::TimeZone::system()).date());
    settings.fail_on = args.fail_on;
    settings.allow_unscored = args.allow_unscored;
    settings.deny = args.deny.into_iter().collect::<BTreeSet<_>>();
    settings.deny_unused_waivers = args.deny_unused_waivers;
    settings.exclude_dev = args.exclude_dev;

    let outcome = audit::run(&lockfiles, &db, waivers.as_ref(), &settings)?;
    if outcome.packages_scanned() == 0 {
        bail!(
            "no packages to audit in {} (a scan of nothing cannot pass)",
            lockfiles
                .iter()
                .map(|l| l.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let database = DbInfo::read(db.root());
    let report = AuditReport {
        database_age: database.age_seconds(now),
        database,
        lockfiles: lockfiles
            .iter()
            .map(|l| LockfileSummary {
                path: l.path.clone(),
                format: l.format,
                packages: l.packages.len(),
            })
            .collect(),
        waiver_file: waivers.as_ref().map(|w| w.path.clone()),
        outcome,
    };
    match args.format {
        OutputFormat::Human => report::human::write(&report, out)?,
        OutputFormat::Json => report::json::write(&report, out)?,
    }
    Ok(report.verdict())
}

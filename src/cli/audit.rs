//! `vouch audit`: lockfiles → packages → advisories → waivers → report.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use jiff::Timestamp;

use super::OutputFormat;
use crate::advisory::db::DbInfo;
use crate::advisory::osv::OsvDb;
use crate::advisory::rustsec::RustSecDb;
use crate::advisory::{Informational, Severity};
use crate::audit::{self, Settings};
use crate::lockfile;
use crate::report::{self, AuditReport, LockfileSummary, Verdict};
use crate::waiver::{self, WaiverFile};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Lockfiles, or directories to search for them (default: the current directory).
    /// Directories are walked, skipping target/, .git/, node_modules/ and Python virtual
    /// environments (.venv/, venv/, .tox/, .nox/). An SBOM (SPDX 2.2/2.3 JSON or
    /// tag-value, CycloneDX 1.4-1.6 JSON, recognised by content) is audited when named.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// RustSec advisory database directory (default: the copy `vouch db update` keeps in
    /// the cache, $VOUCH_CACHE_DIR or the platform cache directory).
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,

    /// OSV database directory: `<Ecosystem>/all.zip` (the public exports' layout) or
    /// `<Ecosystem>/*.json` (default: the copy `vouch db update` keeps in the cache).
    /// Packages of npm, PyPI and Go need it; crates.io packages are matched against both.
    #[arg(long, value_name = "DIR")]
    pub osv: Option<PathBuf>,

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

    /// Vulnerabilities with no fixed version warn instead of failing.
    #[arg(long)]
    pub ignore_unfixed: bool,

    /// Fail when the advisory database is older than this ("24h", "7d"), or of unknown age.
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub db_max_age: Option<i64>,

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

fn parse_age(s: &str) -> Result<i64, String> {
    crate::policy::parse_age(s)
        .ok_or_else(|| format!("`{s}` is not a duration like \"24h\" or \"7d\""))
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let format = args.format;
    let report = build_report(args, Extra::default())?;
    match format {
        OutputFormat::Human => report::human::write(&report, out)?,
        OutputFormat::Json => report::json::write(&report, out)?,
        other => super::write_check_report(
            other,
            &report::CheckReport {
                policy: None,
                checks: vec![report::CheckResult::from_audit(&report)],
            },
            out,
        )?,
    }
    Ok(report.verdict())
}

/// Settings only a policy file can give.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    pub ecosystems: Vec<crate::package::Ecosystem>,
    pub waiver_max_days: Option<i64>,
    pub expiring_soon_days: Option<i64>,
}

/// Runs the audit the arguments describe and returns its report (no output).
pub(crate) fn build_report(args: Args, extra: Extra) -> anyhow::Result<AuditReport> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };

    // RustSec: --db, else the cache's copy when there is one. OSV: --osv, else the cache's.
    // Which ecosystems then lack a source is decided per package, by the audit.
    let cache = crate::advisory::db::cache_dir().ok();
    let rustsec = match &args.db {
        Some(dir) => Some(RustSecDb::open(dir).context("cannot open the advisory database")?),
        None => match &cache {
            Some(cache) if crate::advisory::db::rustsec_dir(cache).exists() => {
                let dir = crate::advisory::db::rustsec_dir(cache);
                crate::advisory::db::check_cached(&dir, true)?;
                Some(RustSecDb::open(&dir).context("cannot open the cached advisory database")?)
            }
            _ => None,
        },
    };
    let index_cache = cache
        .as_ref()
        .map(|c| crate::advisory::db::osv_index_dir(c));
    // Set when the OSV exports are the cache's: their age counts, and a damaged one
    // calls for `vouch db update`.
    let mut osv_info = None;
    let osv = match &args.osv {
        Some(dir) => {
            Some(OsvDb::open(dir, index_cache.as_deref()).context("cannot open the OSV database")?)
        }
        None => match &cache {
            Some(cache) if crate::advisory::db::osv_dir(cache).is_dir() => {
                let dir = crate::advisory::db::osv_dir(cache);
                osv_info = Some(crate::advisory::db::check_cached_osv(&dir)?);
                Some(
                    OsvDb::open(&dir, index_cache.as_deref())
                        .context("cannot open the cached OSV database")?,
                )
            }
            _ => None,
        },
    };
    if rustsec.is_none() && osv.is_none() {
        bail!(
            "no advisory database: run `vouch db update`, or pass --db (RustSec) or --osv (OSV exports)"
        );
    }

    let found = lockfile::discover(&paths)?;
    let lockfiles = lockfile::load_all(&paths, &found)?;

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
    settings.ignore_unfixed = args.ignore_unfixed;
    settings.ecosystems = extra.ecosystems;
    settings.waiver_max_days = extra.waiver_max_days;
    if let Some(days) = extra.expiring_soon_days {
        settings.expiring_soon_days = days;
    }

    let sources = audit::Sources {
        rustsec: rustsec.as_ref(),
        osv: osv.as_ref(),
    };
    let mut outcome = match audit::run(&lockfiles, sources, waivers.as_ref(), &settings) {
        Ok(outcome) => outcome,
        Err(e @ audit::Error::Osv(_)) if osv_info.is_some() => {
            return Err(anyhow::Error::new(e)
                .context("the cached OSV exports cannot be read; run `vouch db update`"));
        }
        Err(e) => return Err(e.into()),
    };
    if outcome.packages_scanned() == 0 {
        // What was left out says why (an SBOM of only other purl types, say).
        let skipped: String = outcome
            .findings
            .iter()
            .filter(|f| f.code == crate::finding::Code::PackageNotAudited)
            .map(|f| format!("; {}", f.message))
            .collect();
        bail!(
            "no packages to audit in {} (a scan of nothing cannot pass){skipped}",
            lockfiles
                .iter()
                .map(|l| l.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let database = DbInfo::read(
        rustsec
            .as_ref()
            .map(RustSecDb::root)
            .or(osv.as_ref().map(OsvDb::root))
            .context("no advisory database")?,
    );
    // The oldest source read sets the age: fresh RustSec data must not hide stale OSV
    // exports from a freshness policy.
    let database_age = match (&osv_info, rustsec.is_some()) {
        (Some(osv), true) => database
            .age_seconds(now)
            .zip(osv.age_seconds(now))
            .map(|(a, b)| a.max(b)),
        _ => database.age_seconds(now),
    };
    if let Some(max) = args.db_max_age {
        let stale = match database_age {
            Some(age) if age <= max => None,
            Some(age) => Some(format!(
                "the advisory database is {} old, older than the allowed {}; run `vouch db update`",
                human_duration(age),
                human_duration(max)
            )),
            None => Some(format!(
                "the advisory database's age is unknown (not fetched by `vouch db update`), and at most {} is allowed",
                human_duration(max)
            )),
        };
        if let Some(message) = stale {
            outcome.findings.insert(
                0,
                crate::finding::Finding {
                    code: crate::finding::Code::AdvisoryDbStale,
                    level: crate::finding::Level::Error,
                    message,
                    advisory: None,
                    package: None,
                    waiver: None,
                    waived_by: None,
                },
            );
        }
    }
    let report = AuditReport {
        database_age,
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
    Ok(report)
}

/// "3 days", "5 hours", "42 minutes".
pub(crate) fn human_duration(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} seconds"),
        s if s < 7200 => format!("{} minutes", s / 60),
        s if s < 172_800 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

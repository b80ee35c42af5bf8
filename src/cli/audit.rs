//! `vouch audit`: lockfiles → packages → advisories → waivers → report.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use jiff::Timestamp;

use super::OutputFormat;
use super::project::WaiverPath;
use crate::advisory::db::DbInfo;
use crate::advisory::osv::OsvDb;
use crate::advisory::rustsec::RustSecDb;
use crate::advisory::{Informational, Severity, SourceKind};
use crate::audit::{self, Settings};
use crate::lockfile;
use crate::package::Ecosystem;
use crate::policy::{Action, Deny, Policy};
use crate::report::{self, AuditReport, LockfileSummary, SourceSummary, Verdict};
use crate::waiver;

#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Lockfiles, or directories to search for them (default: the policy's `[audit]
    /// paths`, else the project directory). Directories are walked, skipping target/,
    /// .git/, node_modules/ and Python virtual environments (.venv/, venv/, .tox/, .nox/).
    /// An SBOM (SPDX 2.2/2.3 JSON or tag-value, CycloneDX 1.4-1.6 JSON, recognised by
    /// content) is audited when named.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Policy whose `[audit]` and `[waivers]` settings apply (default: vouch.toml in the
    /// current directory, when there is one). Flags override its settings.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// RustSec advisory database directory (default: the policy's `db`, else the copy
    /// `vouch db update` keeps in the cache, $VOUCH_CACHE_DIR or the platform cache
    /// directory).
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,

    /// OSV database directory: `<Ecosystem>/all.zip` (the public exports' layout) or
    /// `<Ecosystem>/*.json` (default: the policy's `osv`, else the cache's copy). Packages
    /// of npm, PyPI and Go need it; crates.io packages are matched against both.
    #[arg(long, value_name = "DIR")]
    pub osv: Option<PathBuf>,

    /// Waiver file (default: the policy's `[waivers] file`, else vouch-waivers.toml in the
    /// project directory: the policy's, else the current directory, when it exists).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,

    /// Fail only on vulnerabilities of this severity or worse (default: any fails).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Do not fail on vulnerabilities that have no CVSS score (they still warn).
    #[arg(long)]
    pub allow_unscored: bool,

    /// Fail on these instead of warning: informational advisory kinds (unmaintained,
    /// unsound, notice), or `warnings` for every warning.
    #[arg(long, value_name = "KIND", value_delimiter = ',', value_parser = parse_deny)]
    pub deny: Vec<Deny>,

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

fn parse_deny(s: &str) -> Result<Deny, String> {
    crate::policy::parse_deny(s)
}

fn parse_age(s: &str) -> Result<i64, String> {
    crate::policy::parse_age(s)
        .ok_or_else(|| format!("`{s}` is not a duration like \"24h\" or \"7d\""))
}

pub fn run(args: Args, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Verdict> {
    let format = args.format;
    let policy = super::project::policy(args.policy.as_deref())?;
    let plan = Plan::new(&args, policy.as_ref());
    plan.note_unused_waiver_files(err)?;
    let report = build_report(&plan)?;
    match format {
        OutputFormat::Human => report::human::write(&report, super::terminal_width(), out)?,
        OutputFormat::Json => report::json::write(&report, out)?,
        other => super::write_check_report(
            other,
            &report::CheckReport {
                policy: plan.policy.clone(),
                lockfiles: report.lockfiles.iter().map(|l| l.path.clone()).collect(),
                checks: vec![report::CheckResult::from_audit(&report)],
            },
            out,
        )?,
    }
    Ok(report.verdict())
}

/// What an audit reads and how strictly it judges: the policy's `[audit]` and `[waivers]`
/// settings, each overridden by its flag when the flag is given. `vouch audit`, `vouch
/// check` and `vouch waivers list` all build their audit here, so they agree.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub paths: Vec<PathBuf>,
    pub db: Option<PathBuf>,
    pub osv: Option<PathBuf>,
    pub waivers: WaiverPath,
    /// The policy file the settings came from.
    pub policy: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    pub allow_unscored: bool,
    pub deny: Vec<Informational>,
    pub deny_warnings: bool,
    pub deny_unused_waivers: bool,
    pub exclude_dev: bool,
    pub ignore_unfixed: bool,
    pub db_max_age: Option<i64>,
    pub ecosystems: Vec<crate::package::Ecosystem>,
    pub waiver_max_days: Option<i64>,
    pub expiring_soon_days: i64,
}

impl Plan {
    /// The flags in `args` over the settings of `policy` (when there is one).
    pub fn new(args: &Args, policy: Option<&Policy>) -> Plan {
        let audit = policy.and_then(|p| p.audit.as_ref());
        let waivers = policy.map(|p| p.waivers.clone()).unwrap_or_default();
        let (mut deny_warnings, mut deny) = (false, Vec::new());
        for d in &args.deny {
            match d {
                Deny::Warnings => deny_warnings = true,
                Deny::Kind(kind) => deny.push(kind.clone()),
            }
        }
        if args.deny.is_empty()
            && let Some(audit) = audit
        {
            deny = audit.deny.clone();
            deny_warnings = audit.deny_warnings;
        }
        let paths = if !args.paths.is_empty() {
            args.paths.clone()
        } else if let Some(audit) = audit {
            audit.paths.clone()
        } else {
            let dir = super::project::dir(policy);
            vec![if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            }]
        };
        Plan {
            paths,
            db: args.db.clone().or_else(|| audit.and_then(|a| a.db.clone())),
            osv: args
                .osv
                .clone()
                .or_else(|| audit.and_then(|a| a.osv.clone())),
            waivers: super::project::waiver_path(args.waivers.as_deref(), policy),
            policy: policy.map(|p| p.path.clone()),
            fail_on: args.fail_on.or_else(|| audit.and_then(|a| a.fail_on)),
            allow_unscored: args.allow_unscored
                || audit.is_some_and(|a| a.unscored == Action::Warn),
            deny,
            deny_warnings,
            deny_unused_waivers: args.deny_unused_waivers || waivers.unused == Action::Deny,
            exclude_dev: args.exclude_dev || audit.is_some_and(|a| a.exclude_dev),
            ignore_unfixed: args.ignore_unfixed || audit.is_some_and(|a| a.ignore_unfixed),
            db_max_age: args
                .db_max_age
                .or_else(|| audit.and_then(|a| a.db_max_age_seconds)),
            ecosystems: audit.map(|a| a.ecosystems.clone()).unwrap_or_default(),
            waiver_max_days: waivers.max_days,
            expiring_soon_days: waivers.expiring_soon_days,
        }
    }

    /// Says on `err` when a scanned directory holds a waiver file that this audit does
    /// not read (the rule reads the project directory's only), so nobody is surprised.
    pub fn note_unused_waiver_files(&self, err: &mut dyn Write) -> std::io::Result<()> {
        let used = self
            .waivers
            .to_read()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
        for dir in self.paths.iter().filter(|p| p.is_dir()) {
            let candidate = dir.join(waiver::DEFAULT_FILE_NAME);
            if !candidate.is_file() {
                continue;
            }
            let canonical = std::fs::canonicalize(&candidate).unwrap_or(candidate.clone());
            if used.as_ref() != Some(&canonical) {
                writeln!(
                    err,
                    "note: {} is not read: waivers come from {}{} (pass --waivers to use another file)",
                    candidate.display(),
                    self.waivers.path.display(),
                    if self.waivers.to_read().is_some() {
                        ""
                    } else {
                        ", which does not exist"
                    }
                )?;
            }
        }
        Ok(())
    }
}

/// Runs the audit `plan` describes and returns its report (no output).
pub(crate) fn build_report(plan: &Plan) -> anyhow::Result<AuditReport> {
    audit_report(plan, |paths| {
        let found = lockfile::discover(paths)?;
        Ok(lockfile::load_all(paths, &found)?)
    })
}

/// The audit `plan` describes, of `lockfiles` in place of its paths (the SBOMs of an
/// image's verified attestations): the same databases, settings, waivers and report.
pub(crate) fn build_report_of(
    plan: &Plan,
    lockfiles: Vec<lockfile::Lockfile>,
) -> anyhow::Result<AuditReport> {
    audit_report(plan, |_| Ok(lockfiles))
}

fn audit_report(
    plan: &Plan,
    load: impl FnOnce(&[PathBuf]) -> anyhow::Result<Vec<lockfile::Lockfile>>,
) -> anyhow::Result<AuditReport> {
    let paths = &plan.paths;

    // RustSec: --db, else the cache's copy when there is one. OSV: --osv, else the cache's.
    // Which ecosystems then lack a source is decided per package, by the audit.
    let cache = crate::advisory::db::cache_dir().ok();
    let rustsec_index = cache
        .as_ref()
        .map(|c| crate::advisory::db::rustsec_index_dir(c));
    let rustsec = match &plan.db {
        Some(dir) => Some(
            RustSecDb::open(dir, rustsec_index.as_deref())
                .context("cannot open the advisory database")?,
        ),
        None => match &cache {
            Some(cache) if crate::advisory::db::rustsec_dir(cache).exists() => {
                let dir = crate::advisory::db::rustsec_dir(cache);
                // Its metadata; an emptied crates/ is refused when it is indexed.
                crate::advisory::db::check_cached(&dir, false)?;
                Some(
                    RustSecDb::open(&dir, rustsec_index.as_deref())
                        .context("cannot open the cached advisory database")?,
                )
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
    let osv = match &plan.osv {
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

    let lockfiles = load(paths)?;

    let waivers = plan.waivers.load()?;

    let now = Timestamp::now();
    let mut settings = Settings::new(local_date(now));
    settings.fail_on = plan.fail_on;
    settings.allow_unscored = plan.allow_unscored;
    settings.deny = plan.deny.iter().cloned().collect::<BTreeSet<_>>();
    settings.deny_unused_waivers = plan.deny_unused_waivers;
    settings.exclude_dev = plan.exclude_dev;
    settings.ignore_unfixed = plan.ignore_unfixed;
    settings.ecosystems = plan.ecosystems.clone();
    settings.waiver_max_days = plan.waiver_max_days;
    settings.expiring_soon_days = plan.expiring_soon_days;

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

    // The database that dates the audit: RustSec's when it was read, else the OSV root's.
    let primary = DbInfo::read(
        rustsec
            .as_ref()
            .map(RustSecDb::root)
            .or(osv.as_ref().map(OsvDb::root))
            .context("no advisory database")?,
    );
    // The oldest source read sets the age: fresh RustSec data must not hide stale OSV
    // exports from a freshness policy.
    let database_age = match (&osv_info, rustsec.is_some()) {
        (Some(osv), true) => primary
            .age_seconds(now)
            .zip(osv.age_seconds(now))
            .map(|(a, b)| a.max(b)),
        _ => primary.age_seconds(now),
    };
    let databases = sources_read(rustsec.as_ref(), osv.as_ref(), &outcome)?;
    let database = databases.first().map_or(primary, |s| s.info.clone());
    if let Some(max) = plan.db_max_age {
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
    if plan.deny_warnings {
        // `--deny warnings`: whatever would only warn fails instead.
        for finding in &mut outcome.findings {
            if finding.level == crate::finding::Level::Warning {
                finding.level = crate::finding::Level::Error;
            }
        }
        outcome
            .findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }
    let report = AuditReport {
        database_age,
        database,
        databases,
        lockfiles: lockfiles
            .iter()
            .map(|l| LockfileSummary {
                path: l.path.clone(),
                format: l.format,
                packages: l.packages.len(),
            })
            .collect(),
        waiver_file: waivers.as_ref().map(|w| w.path.clone()),
        policy: plan.policy.clone(),
        outcome,
    };
    Ok(report)
}

/// The advisory sources the audit actually consulted: RustSec when crates.io packages
/// were scanned, and each OSV export of an ecosystem that was scanned, with what
/// identifies the copy (commit, or the export's SHA-256).
fn sources_read(
    rustsec: Option<&RustSecDb>,
    osv: Option<&OsvDb>,
    outcome: &audit::Outcome,
) -> anyhow::Result<Vec<SourceSummary>> {
    let scanned = |e: Ecosystem| outcome.scanned.get(&e).is_some_and(|n| *n > 0);
    let mut sources = Vec::new();
    if let Some(db) = rustsec
        && scanned(Ecosystem::Cargo)
    {
        sources.push(SourceSummary {
            kind: SourceKind::RustSec,
            ecosystem: None,
            info: DbInfo::read(db.root()),
            sha256: None,
        });
    }
    if let Some(db) = osv {
        for ecosystem in crate::advisory::osv::ECOSYSTEMS {
            if !scanned(ecosystem) || !db.has(ecosystem) {
                continue;
            }
            let dir = db.root().join(ecosystem.osv_name());
            let zip = dir.join("all.zip");
            // `vouch db update` records each export's digest; an export given with --osv
            // has it in its index (or is hashed here), so the report still names exactly
            // what was read.
            let mut info = DbInfo::read(&dir);
            let recorded = info
                .commit
                .as_deref()
                .and_then(|c| c.strip_prefix("sha256:"))
                .map(str::to_string);
            let sha256 = match recorded {
                Some(digest) => Some(digest),
                None => db.export_sha256(ecosystem)?,
            };
            if info
                .commit
                .as_deref()
                .is_some_and(|c| c.starts_with("sha256:"))
            {
                info.commit = None;
            }
            if info.source == dir.display().to_string() && zip.is_file() {
                info.source = zip.display().to_string();
            }
            sources.push(SourceSummary {
                kind: SourceKind::Osv,
                ecosystem: Some(ecosystem),
                info,
                sha256,
            });
        }
    }
    Ok(sources)
}

/// The date at `now` in the local time zone, which waivers expire by. jiff's
/// `TimeZone::system()` first indexes every zone name (a walk of /usr/share/zoneinfo: half
/// of a small audit's work) to name the zone; a date needs only its rules, which
/// /etc/localtime holds. With `TZ` set, or without that file, jiff decides.
pub(crate) fn local_date(now: Timestamp) -> jiff::civil::Date {
    #[cfg(unix)]
    if std::env::var_os("TZ").is_none()
        && let Ok(bytes) = std::fs::read("/etc/localtime")
        && let Ok(zone) = jiff::tz::TimeZone::tzif("localtime", &bytes)
    {
        return now.to_zoned(zone).date();
    }
    now.to_zoned(jiff::tz::TimeZone::system()).date()
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

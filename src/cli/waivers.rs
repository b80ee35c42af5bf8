//! `vouch waivers list|check|add`: waiver hygiene for the people who own them.
//!
//! Every subcommand finds the waiver file and the settings by the same rule as `vouch
//! audit` and `vouch check` (see `project.rs`): with a policy, its `[waivers]` settings
//! (`max-days`, `expiring-soon-days`, `file`) and, for `list`, its `[audit]` settings
//! apply, so the three commands never disagree about a waiver. Flags override.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use jiff::civil::Date;

use super::audit::Plan;
use crate::advisory::osv::OsvDb;
use crate::advisory::rustsec::RustSecDb;
use crate::finding::Code;
use crate::report::Verdict;
use crate::waiver::{Status, Waiver, WaiverFile};

/// What `waivers list` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// One line per waiver.
    Human,
    /// `vouch.waivers/2` (docs/json-report.md).
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List every waiver with its status: active, expiring soon, expired, unused. Runs the
    /// audit (with the policy's settings) to know which waivers still match something.
    List {
        /// Lockfiles or directories to audit (default: the policy's `[audit] paths`, else
        /// the project directory).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Policy (default: vouch.toml in the current directory, when there is one).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Waiver file (default: the policy's `[waivers] file`, else vouch-waivers.toml in
        /// the project directory).
        #[arg(long, value_name = "FILE")]
        waivers: Option<PathBuf>,
        /// RustSec database directory (default: the policy's, else the cache).
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
        /// OSV database directory (default: the policy's, else the cache).
        #[arg(long, value_name = "DIR")]
        osv: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Check the waiver file without auditing (fast, for a pre-commit hook): it must parse,
    /// and no waiver may be expired or reach further ahead than the policy's `max-days`.
    Check {
        /// Policy (default: vouch.toml in the current directory, when there is one).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Waiver file (default: the policy's `[waivers] file`, else vouch-waivers.toml in
        /// the project directory).
        #[arg(long, value_name = "FILE")]
        waivers: Option<PathBuf>,
        /// Fail on a waiver expiring more than this many days ahead (default: the
        /// policy's `max-days`, else no limit).
        #[arg(long, value_name = "DAYS")]
        max_days: Option<i64>,
        /// Warn about waivers expiring within this many days (default: the policy's
        /// `expiring-soon-days`, else 14).
        #[arg(long, value_name = "DAYS")]
        expiring_soon_days: Option<i64>,
    },
    /// Append a waiver to the file, validating the result before writing it. Refuses a
    /// waiver the file already has; warns when no local advisory database knows the id.
    Add {
        /// The advisory id (RUSTSEC-, CVE-, GHSA-, ...; any alias works).
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        owner: String,
        /// Last day the waiver applies, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        expires: String,
        /// Only this package.
        #[arg(long)]
        package: Option<String>,
        /// Only these versions (a semver requirement, e.g. "<1.5.5").
        #[arg(long)]
        versions: Option<String>,
        /// Policy (default: vouch.toml in the current directory, when there is one).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Waiver file (default: the policy's `[waivers] file`, else vouch-waivers.toml in
        /// the project directory).
        #[arg(long, value_name = "FILE")]
        waivers: Option<PathBuf>,
        /// RustSec database to look the id up in (default: the policy's, else the cache).
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
        /// OSV database to look the id up in (default: the policy's, else the cache).
        #[arg(long, value_name = "DIR")]
        osv: Option<PathBuf>,
    },
}

fn today() -> Date {
    super::audit::local_date(jiff::Timestamp::now())
}

/// The plan (waiver file and settings) for a subcommand's flags, by the shared rule.
fn plan(
    policy: Option<&Path>,
    waivers: Option<PathBuf>,
    paths: Vec<PathBuf>,
    db: Option<PathBuf>,
    osv: Option<PathBuf>,
) -> anyhow::Result<Plan> {
    let policy = super::project::policy(policy)?;
    let flags = super::audit::Args {
        paths,
        waivers,
        db,
        osv,
        ..super::audit::Args::default()
    };
    Ok(Plan::new(&flags, policy.as_ref()))
}

pub fn run(command: Command, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Verdict> {
    match command {
        Command::List {
            paths,
            policy,
            waivers,
            db,
            osv,
            format,
        } => list(
            &plan(policy.as_deref(), waivers, paths, db, osv)?,
            format,
            out,
        ),
        Command::Check {
            policy,
            waivers,
            max_days,
            expiring_soon_days,
        } => {
            let plan = plan(policy.as_deref(), waivers, Vec::new(), None, None)?;
            check(
                &plan,
                max_days.or(plan.waiver_max_days),
                expiring_soon_days.unwrap_or(plan.expiring_soon_days),
                out,
            )
        }
        Command::Add {
            id,
            reason,
            owner,
            expires,
            package,
            versions,
            policy,
            waivers,
            db,
            osv,
        } => {
            let plan = plan(policy.as_deref(), waivers, Vec::new(), db, osv)?;
            let entry = NewWaiver {
                id: &id,
                reason: &reason,
                owner: &owner,
                expires: &expires,
                package,
                versions,
            };
            add(&plan, &entry, out, err)
        }
    }
}

/// A waiver's status as a stable code: `expired`, `unused`, `expiring-soon` or `active`
/// (the first that applies), with the days left until it expires (negative once past).
fn status_code(waiver: &Waiver, used: bool, today: Date, soon: i64) -> (&'static str, i64) {
    match waiver.status(today, soon) {
        Status::Expired { days_ago } => ("expired", -days_ago),
        Status::ExpiringSoon { days_left } | Status::Active { days_left } if !used => {
            ("unused", days_left)
        }
        Status::ExpiringSoon { days_left } => ("expiring-soon", days_left),
        Status::Active { days_left } => ("active", days_left),
    }
}

fn list(plan: &Plan, format: ListFormat, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let waivers = plan.waivers.load_required()?;
    let file = &waivers.path;
    let report = super::audit::build_report(plan)?;
    let unused: Vec<usize> = report
        .outcome
        .findings
        .iter()
        .filter(|f| f.code == Code::WaiverUnused)
        .filter_map(|f| f.waiver.as_ref().map(|w| w.waiver.line))
        .collect();
    let today = today();
    let soon = plan.expiring_soon_days;
    // License waivers are judged by the license check, not the audit: never "unused" here.
    let used = |w: &Waiver| !unused.contains(&w.line);
    if format == ListFormat::Json {
        let items: Vec<_> = waivers
            .waivers
            .iter()
            .map(|w| {
                let (status, days_left) = status_code(w, used(w), today, soon);
                serde_json::json!({
                    "id": w.id, "package": w.package, "versions": w.versions.as_ref().map(|v| &v.0),
                    "owner": w.owner, "reason": w.reason, "expires": w.expires.to_string(),
                    "line": w.line, "status": status, "days_left": days_left, "used": used(w),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "schema": "vouch.waivers/2",
            "file": file.display().to_string(),
            "expiring_soon_days": soon,
            "waivers": items,
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
        return Ok(Verdict::Pass);
    }
    if waivers.waivers.is_empty() {
        writeln!(out, "{}: no waivers", file.display())?;
    }
    for w in &waivers.waivers {
        let status = match w.status(today, soon) {
            Status::Expired { days_ago } => format!("expired {days_ago} days ago"),
            Status::ExpiringSoon { days_left } => format!("expiring in {days_left} days"),
            Status::Active { days_left } => format!("active ({days_left} days left)"),
        };
        let scope = match (&w.package, &w.versions) {
            (Some(p), Some((v, _))) => format!(" ({p} {v})"),
            (Some(p), None) => format!(" ({p})"),
            (None, Some((v, _))) => format!(" ({v})"),
            (None, None) => String::new(),
        };
        writeln!(
            out,
            "{}:{}  {}{scope}  until {}  {status}{}  owner {}: {}",
            file.display(),
            w.line,
            w.id,
            w.expires,
            if used(w) {
                ""
            } else {
                ", UNUSED (matches nothing)"
            },
            w.owner,
            w.reason
        )?;
    }
    Ok(Verdict::Pass)
}

fn check(
    plan: &Plan,
    max_days: Option<i64>,
    soon: i64,
    out: &mut dyn Write,
) -> anyhow::Result<Verdict> {
    let waivers = plan.waivers.load_required()?;
    let file = &waivers.path;
    let today = today();
    let mut failing = 0;
    for w in &waivers.waivers {
        let at = format!("{}:{}", file.display(), w.line);
        match w.status(today, soon) {
            Status::Expired { days_ago } => {
                failing += 1;
                writeln!(
                    out,
                    "{at}: error: waiver for {} expired {days_ago} days ago (owner {})",
                    w.id, w.owner
                )?;
            }
            status => {
                let days_left = match status {
                    Status::ExpiringSoon { days_left } | Status::Active { days_left } => days_left,
                    Status::Expired { .. } => 0,
                };
                if let Some(max) = max_days.filter(|max| days_left > *max) {
                    failing += 1;
                    writeln!(
                        out,
                        "{at}: error: waiver for {} expires {days_left} days ahead, more than the {max} allowed",
                        w.id,
                    )?;
                } else if let Status::ExpiringSoon { days_left } = status {
                    writeln!(
                        out,
                        "{at}: warning: waiver for {} expires in {days_left} days (owner {})",
                        w.id, w.owner
                    )?;
                }
            }
        }
    }
    writeln!(
        out,
        "{}: {} waivers, {failing} failing",
        file.display(),
        waivers.waivers.len()
    )?;
    Ok(if failing > 0 {
        Verdict::Fail
    } else {
        Verdict::Pass
    })
}

/// The waiver `waivers add` was asked to append.
struct NewWaiver<'a> {
    id: &'a str,
    reason: &'a str,
    owner: &'a str,
    expires: &'a str,
    package: Option<String>,
    versions: Option<String>,
}

fn add(
    plan: &Plan,
    new: &NewWaiver<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Verdict> {
    let file = plan.waivers.path.as_path();
    let existing = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("{}", file.display())),
    };
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut entry = format!("[[waiver]]\nid = {}\n", quote(new.id));
    if let Some(p) = &new.package {
        entry.push_str(&format!("package = {}\n", quote(p)));
    }
    if let Some(v) = &new.versions {
        entry.push_str(&format!("versions = {}\n", quote(v)));
    }
    entry.push_str(&format!(
        "reason = {}\nowner = {}\nexpires = {}\n",
        quote(new.reason),
        quote(new.owner),
        quote(new.expires)
    ));
    let mut text = existing.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&entry);
    // The new file must parse exactly as `audit` will read it, and the new waiver must
    // not already be expired.
    let parsed = WaiverFile::parse(file, &text)?;
    let (added, before) = parsed
        .waivers
        .split_last()
        .context("the new waiver did not parse")?;
    if let Status::Expired { .. } = added.status(today(), 0) {
        bail!(
            "--expires {} is in the past: an expired waiver waives nothing",
            new.expires
        );
    }
    // The same advisory id for the same package and versions is already waived: a second
    // entry would only hide which one is in force.
    if let Some(twin) = before.iter().find(|w| {
        w.id.eq_ignore_ascii_case(&added.id)
            && w.package == added.package
            && w.versions.as_ref().map(|v| &v.0) == added.versions.as_ref().map(|v| &v.0)
    }) {
        bail!(
            "{}:{} already waives {}{} (until {}, owner {}); edit that entry instead",
            file.display(),
            twin.line,
            twin.id,
            match (&twin.package, &twin.versions) {
                (Some(p), Some((v, _))) => format!(" for {p} {v}"),
                (Some(p), None) => format!(" for {p}"),
                (None, Some((v, _))) => format!(" for {v}"),
                (None, None) => String::new(),
            },
            twin.expires,
            twin.owner
        );
    }
    if let Some(note) = unknown_id_note(plan, &added.id) {
        writeln!(err, "warning: {note}")?;
    }
    if let Some(max) = plan.waiver_max_days
        && let Status::Active { days_left } | Status::ExpiringSoon { days_left } =
            added.status(today(), plan.expiring_soon_days)
        && days_left > max
    {
        writeln!(
            err,
            "warning: this waiver expires {days_left} days ahead, more than the policy's max-days of {max}: `vouch check` will fail on it"
        )?;
    }
    super::check::write_atomically(file, |w| w.write_all(text.as_bytes()))?;
    writeln!(
        out,
        "added a waiver for {} to {}:{} (until {})",
        new.id,
        file.display(),
        added.line,
        added.expires
    )?;
    Ok(Verdict::Pass)
}

/// Why `id` may be a typo: no local advisory database knows it (or there is none to
/// ask). `None` when one does, or when the id names a license finding.
fn unknown_id_note(plan: &Plan, id: &str) -> Option<String> {
    if crate::licenses::WAIVER_IDS.contains(&id) {
        return None;
    }
    let cache = crate::advisory::db::cache_dir().ok();
    let rustsec = plan.db.clone().or_else(|| {
        cache
            .as_ref()
            .map(|c| crate::advisory::db::rustsec_dir(c))
            .filter(|d| d.exists())
    });
    let osv = plan.osv.clone().or_else(|| {
        cache
            .as_ref()
            .map(|c| crate::advisory::db::osv_dir(c))
            .filter(|d| d.is_dir())
    });
    let mut asked = Vec::new();
    if let Some(dir) = &rustsec {
        let index = cache
            .as_ref()
            .map(|c| crate::advisory::db::rustsec_index_dir(c));
        match RustSecDb::open(dir, index.as_deref()).and_then(|db| db.knows(id)) {
            Ok(true) => return None,
            Ok(false) => asked.push(dir.display().to_string()),
            Err(e) => return Some(format!("could not look {id} up in {}: {e}", dir.display())),
        }
    }
    if let Some(dir) = &osv {
        match OsvDb::open(dir, None).and_then(|db| db.knows(id)) {
            Ok(true) => return None,
            Ok(false) => asked.push(dir.display().to_string()),
            Err(e) => return Some(format!("could not look {id} up in {}: {e}", dir.display())),
        }
    }
    Some(if asked.is_empty() {
        format!(
            "no local advisory database to look {id} up in (run `vouch db update`); check the id is right"
        )
    } else {
        format!(
            "no local advisory database knows {id} ({}); check the id is right, or run `vouch db update`",
            asked.join(", ")
        )
    })
}

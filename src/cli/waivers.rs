//! `vouch waivers list|check|add`: waiver hygiene for the people who own them.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use jiff::civil::Date;

use super::OutputFormat;
use crate::finding::Code;
use crate::report::Verdict;
use crate::waiver::{self, Status, WaiverFile};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List every waiver with its status: active, expiring soon, expired, unused. Runs the
    /// audit to know which waivers still match something.
    List {
        /// Lockfiles or directories to audit (default: the current directory).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Waiver file (default: vouch-waivers.toml in the current directory).
        #[arg(long, value_name = "FILE")]
        waivers: Option<PathBuf>,
        /// RustSec database directory (default: the cache).
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
        /// OSV database directory (default: the cache).
        #[arg(long, value_name = "DIR")]
        osv: Option<PathBuf>,
        /// Output format: human or json.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Check the waiver file without auditing (fast, for a pre-commit hook): it must parse,
    /// and no waiver may be expired or reach further ahead than --max-days.
    Check {
        #[arg(long, value_name = "FILE")]
        waivers: Option<PathBuf>,
        /// Fail on a waiver expiring more than this many days ahead.
        #[arg(long, value_name = "DAYS")]
        max_days: Option<i64>,
        /// Warn about waivers expiring within this many days.
        #[arg(long, value_name = "DAYS", default_value_t = 14)]
        expiring_soon_days: i64,
    },
    /// Append a waiver to the file, validating the result before writing it.
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
        #[arg(long, value_name = "FILE")]
        waivers: Option<PathBuf>,
    },
}

fn today() -> Date {
    jiff::Zoned::now().date()
}

fn waiver_path(explicit: Option<PathBuf>) -> PathBuf {
    explicit.unwrap_or_else(|| PathBuf::from(waiver::DEFAULT_FILE_NAME))
}

pub fn run(command: Command, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    match command {
        Command::List {
            paths,
            waivers,
            db,
            osv,
            format,
        } => list(paths, waiver_path(waivers), db, osv, format, out),
        Command::Check {
            waivers,
            max_days,
            expiring_soon_days,
        } => check(&waiver_path(waivers), max_days, expiring_soon_days, out),
        Command::Add {
            id,
            reason,
            owner,
            expires,
            package,
            versions,
            waivers,
        } => add(
            &waiver_path(waivers),
            &id,
            &reason,
            &owner,
            &expires,
            package,
            versions,
            out,
        ),
    }
}

fn list(
    paths: Vec<PathBuf>,
    file: PathBuf,
    db: Option<PathBuf>,
    osv: Option<PathBuf>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Verdict> {
    let waivers = WaiverFile::load(&file)?;
    let args = super::audit::Args {
        paths,
        db,
        osv,
        waivers: Some(file.clone()),
        fail_on: None,
        allow_unscored: false,
        deny: Vec::new(),
        deny_unused_waivers: false,
        exclude_dev: false,
        ignore_unfixed: false,
        db_max_age: None,
        format: OutputFormat::Human,
    };
    let report = super::audit::build_report(args, super::audit::Extra::default())?;
    let unused: Vec<usize> = report
        .outcome
        .findings
        .iter()
        .filter(|f| f.code == Code::WaiverUnused)
        .filter_map(|f| f.waiver.as_ref().map(|w| w.waiver.line))
        .collect();
    let today = today();
    let rows: Vec<_> = waivers
        .waivers
        .iter()
        .map(|w| {
            let status = match w.status(today, 14) {
                Status::Expired { days_ago } => format!("expired {days_ago} days ago"),
                Status::ExpiringSoon { days_left } => format!("expiring in {days_left} days"),
                Status::Active { days_left } => format!("active ({days_left} days left)"),
            };
            (w, status, unused.contains(&w.line))
        })
        .collect();
    if format == OutputFormat::Json {
        let items: Vec<_> = rows
            .iter()
            .map(|(w, status, unused)| {
                serde_json::json!({
                    "id": w.id, "package": w.package, "versions": w.versions.as_ref().map(|v| &v.0),
                    "owner": w.owner, "reason": w.reason, "expires": w.expires.to_string(),
                    "line": w.line, "status": status, "used": !unused,
                })
            })
            .collect();
        let doc = serde_json::json!({"schema": "vouch.waivers/1", "file": file.display().to_string(), "waivers": items});
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
        return Ok(Verdict::Pass);
    }
    if rows.is_empty() {
        writeln!(out, "{}: no waivers", file.display())?;
    }
    for (w, status, unused) in rows {
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
            if unused {
                ", UNUSED (matches nothing)"
            } else {
                ""
            },
            w.owner,
            w.reason
        )?;
    }
    Ok(Verdict::Pass)
}

fn check(
    file: &std::path::Path,
    max_days: Option<i64>,
    soon: i64,
    out: &mut dyn Write,
) -> anyhow::Result<Verdict> {
    let waivers = WaiverFile::load(file)?;
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
            Status::ExpiringSoon { days_left } => {
                writeln!(
                    out,
                    "{at}: warning: waiver for {} expires in {days_left} days (owner {})",
                    w.id, w.owner
                )?;
            }
            Status::Active { days_left } if max_days.is_some_and(|max| days_left > max) => {
                failing += 1;
                writeln!(
                    out,
                    "{at}: error: waiver for {} expires {days_left} days ahead, more than {} allowed",
                    w.id,
                    max_days.unwrap_or_default()
                )?;
            }
            Status::Active { .. } => {}
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

#[allow(clippy::too_many_arguments)]
fn add(
    file: &std::path::Path,
    id: &str,
    reason: &str,
    owner: &str,
    expires: &str,
    package: Option<String>,
    versions: Option<String>,
    out: &mut dyn Write,
) -> anyhow::Result<Verdict> {
    let existing = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("{}", file.display())),
    };
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut entry = format!("[[waiver]]\nid = {}\n", quote(id));
    if let Some(p) = &package {
        entry.push_str(&format!("package = {}\n", quote(p)));
    }
    if let Some(v) = &versions {
        entry.push_str(&format!("versions = {}\n", quote(v)));
    }
    entry.push_str(&format!(
        "reason = {}\nowner = {}\nexpires = {}\n",
        quote(reason),
        quote(owner),
        quote(expires)
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
    let added = parsed
        .waivers
        .last()
        .context("the new waiver did not parse")?;
    if let Status::Expired { .. } = added.status(today(), 0) {
        bail!("--expires {expires} is in the past: an expired waiver waives nothing");
    }
    super::check::write_atomically(file, |w| w.write_all(text.as_bytes()))?;
    writeln!(
        out,
        "added a waiver for {id} to {}:{} (until {})",
        file.display(),
        added.line,
        added.expires
    )?;
    Ok(Verdict::Pass)
}

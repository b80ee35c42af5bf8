//! `vouch db update|status`: the only commands that touch the network.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;

use crate::advisory::db::{self, DbInfo};
use crate::advisory::fetch;
use crate::advisory::osv::ECOSYSTEMS;
use crate::advisory::rustsec::RustSecDb;
use crate::report::Verdict;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fetch the advisory databases into the cache: RustSec (git) and the OSV exports of
    /// crates.io, npm, PyPI and Go. Each copy is validated completely and swapped in
    /// atomically under a lock; if anything fails, the previous copy stays in place.
    Update {
        /// Fetch only this source.
        #[arg(long, value_enum, value_name = "SOURCE")]
        only: Option<Source>,
        /// Git URL or local repository path of the RustSec database (a mirror works).
        #[arg(long, value_name = "URL", env = "VOUCH_RUSTSEC_URL", default_value = db::DEFAULT_RUSTSEC_URL)]
        rustsec_url: String,
        /// Base URL of the OSV exports (`<URL>/<Ecosystem>/all.zip`; a mirror works).
        #[arg(long, value_name = "URL", env = "VOUCH_OSV_URL", default_value = db::DEFAULT_OSV_URL)]
        osv_url: String,
        /// Seconds allowed for each download, body included.
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        timeout: u64,
        /// Largest download accepted, in bytes (tests lower it).
        #[arg(long, value_name = "BYTES", default_value_t = 512 * 1024 * 1024, hide = true)]
        max_download_bytes: u64,
    },
    /// Show the cached databases: source, commit or digest, advisory count and age.
    Status {
        /// RustSec database directory to describe instead of the cache's copies.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
    },
}

/// An advisory source `db update` can fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    Rustsec,
    Osv,
}

pub fn run(command: Command, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    match command {
        Command::Update {
            only,
            rustsec_url,
            osv_url,
            timeout,
            max_download_bytes,
        } => {
            let cache = db::cache_dir()?;
            if only != Some(Source::Osv) {
                update_rustsec(&cache, &rustsec_url, out)?;
            }
            if only != Some(Source::Rustsec) {
                let limits = fetch::Limits {
                    max_bytes: max_download_bytes,
                    timeout: Duration::from_secs(timeout),
                    ..fetch::Limits::default()
                };
                update_osv(&cache, &osv_url, &limits, out)?;
            }
            Ok(Verdict::Pass)
        }
        Command::Status { db: dir } => {
            let explicit = dir.is_some();
            let dir = super::database_dir(dir)?;
            let osv_root = if explicit {
                None
            } else {
                Some(db::osv_dir(&db::cache_dir()?)).filter(|root| root.exists())
            };
            // A cache may hold only the OSV exports (`db update --only osv`).
            let show_rustsec = explicit || dir.exists() || osv_root.is_none();
            if show_rustsec {
                let rustsec = RustSecDb::open(&dir).context("no usable advisory database")?;
                let mut info = if explicit {
                    DbInfo::read(&dir)
                } else {
                    db::check_cached(&dir, true)?
                };
                if info.advisories.is_none() {
                    info.advisories = Some(rustsec.load_all()?);
                }
                writeln!(out, "path:       {}", dir.display())?;
                describe(&info, out)?;
            }
            if let Some(root) = osv_root {
                db::check_cached_osv(&root)?;
                describe_osv(&root, out, show_rustsec)?;
            }
            describe_trusted_root(out)?;
            Ok(Verdict::Pass)
        }
    }
}

fn update_rustsec(cache: &Path, url: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let spinner = ProgressBar::new_spinner().with_message(format!(
        "fetching RustSec advisory database from {}",
        db::redact_url(url)
    ));
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    let result = db::update_rustsec(cache, url);
    spinner.finish_and_clear();
    let info = result.context("vouch db update failed; the previous database is unchanged")?;
    writeln!(out, "updated {}", db::rustsec_dir(cache).display())?;
    describe(&info, out)?;
    Ok(())
}

fn update_osv(
    cache: &Path,
    base_url: &str,
    limits: &fetch::Limits,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    // indicatif draws only when stderr is a terminal.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut current = None;
    let result = db::update_osv(cache, base_url, &ECOSYSTEMS, limits, &mut |eco, len, n| {
        if current != Some(eco) {
            current = Some(eco);
            bar.reset();
            bar.set_length(len.unwrap_or(0));
            bar.set_message(format!("OSV {}", eco.osv_name()));
        }
        bar.inc(n);
    });
    bar.finish_and_clear();
    let updated =
        result.context("vouch db update failed; OSV exports not yet replaced are unchanged")?;
    for (ecosystem, info) in updated {
        writeln!(
            out,
            "updated {}/{}/all.zip",
            db::osv_dir(cache).display(),
            ecosystem.osv_name()
        )?;
        describe(&info, out)?;
    }
    Ok(())
}

/// The Sigstore trusted root built into vouch: what `verify` and `verify-blob` trust
/// without `--trusted-root`. It is part of the binary, never fetched.
fn describe_trusted_root(out: &mut dyn Write) -> anyhow::Result<()> {
    let root = crate::verify::sigstore::TrustRoot::embedded()?;
    writeln!(out)?;
    writeln!(
        out,
        "sigstore:   embedded public-good trusted root (verify and verify-blob without --trusted-root; built in, never fetched)"
    )?;
    writeln!(out, "digest:     {}", root.digest)?;
    match root.newest_start {
        Some(t) => writeln!(out, "valid from: {t} (newest validFor.start)")?,
        None => writeln!(out, "valid from: unknown")?,
    }
    Ok(())
}

/// Describes each cached OSV export, when there are any.
fn describe_osv(root: &Path, out: &mut dyn Write, after_rustsec: bool) -> anyhow::Result<()> {
    let mut first = !after_rustsec;
    for ecosystem in ECOSYSTEMS {
        let dir = root.join(ecosystem.osv_name());
        if !dir.join("all.zip").is_file() {
            continue;
        }
        let info = db::check_cached(&dir, false)?;
        let size = std::fs::metadata(dir.join("all.zip"))
            .map(|m| m.len())
            .unwrap_or(0);
        if !first {
            writeln!(out)?;
        }
        first = false;
        writeln!(out, "path:       {}", dir.join("all.zip").display())?;
        writeln!(out, "size:       {size} bytes")?;
        describe(&info, out)?;
    }
    Ok(())
}

fn describe(info: &DbInfo, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "source:     {}", info.source)?;
    match info.commit.as_deref() {
        Some(digest) if digest.starts_with("sha256:") => writeln!(out, "digest:     {digest}")?,
        commit => writeln!(out, "commit:     {}", commit.unwrap_or("unknown"))?,
    }
    if let Some(count) = info.advisories {
        writeln!(out, "advisories: {count}")?;
    }
    match info.fetched_at {
        Some(t) => writeln!(out, "fetched:    {t}")?,
        None => writeln!(out, "fetched:    unknown (not fetched by vouch db update)")?,
    }
    match info.age_seconds(Timestamp::now()) {
        Some(age) => writeln!(out, "age:        {}", super::audit::human_duration(age)),
        None => writeln!(out, "age:        unknown"),
    }
}

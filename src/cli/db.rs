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
        /// Seconds allowed for each download (the RustSec clone, each OSV export), retries
        /// included (a server that sends nothing for 30 seconds is a failed try; there are
        /// three tries).
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        timeout: u64,
        /// Download whole OSV exports, even where the cached copy could be brought up to
        /// date from the mirror's `modified_id.csv` (only the records that changed).
        #[arg(long)]
        full: bool,
        /// Largest download accepted, in bytes (tests lower it).
        #[arg(long, value_name = "BYTES", default_value_t = 512 * 1024 * 1024, hide = true)]
        max_download_bytes: u64,
        /// Longest wait for a server to answer or send more, in seconds (tests lower it).
        #[arg(long, value_name = "SECONDS", default_value_t = 30, hide = true)]
        stall_timeout: u64,
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
            full,
            max_download_bytes,
            stall_timeout,
        } => {
            let cache = db::cache_dir()?;
            let limits = fetch::Limits {
                max_bytes: max_download_bytes,
                timeout: Duration::from_secs(timeout),
                stall: Duration::from_secs(stall_timeout),
                ..fetch::Limits::default()
            };
            if only != Some(Source::Osv) {
                update_rustsec(&cache, &rustsec_url, &limits, out)?;
            }
            if only != Some(Source::Rustsec) {
                update_osv(&cache, &osv_url, &limits, full, out)?;
            }
            Ok(Verdict::Pass)
        }
        Command::Status { db: dir } => {
            // The trusted root is described whether or not an advisory database is usable
            // (it is built in); a missing or damaged database is still an error after it.
            let advisories = describe_databases(dir, out);
            describe_trusted_root(out)?;
            advisories?;
            Ok(Verdict::Pass)
        }
    }
}

/// `db status`'s description of the advisory databases: RustSec and the OSV exports.
fn describe_databases(dir: Option<PathBuf>, out: &mut dyn Write) -> anyhow::Result<()> {
    let explicit = dir.is_some();
    let dir = super::database_dir(dir)?;
    let osv_root = if explicit {
        None
    } else {
        // A first `db update` that failed leaves empty ecosystem directories:
        // that is no copy yet, not a damaged one.
        Some(db::osv_dir(&db::cache_dir()?)).filter(|root| {
            root.join(db::METADATA_FILE).exists()
                || ECOSYSTEMS
                    .iter()
                    .any(|e| root.join(e.osv_name()).join("all.zip").exists())
        })
    };
    if !explicit && !dir.exists() && osv_root.is_none() {
        anyhow::bail!(
            "no advisory database in the cache yet ({}): run `vouch db update` to fetch RustSec and the OSV exports",
            db::cache_dir()?.display()
        );
    }
    // A cache may hold only the OSV exports (`db update --only osv`).
    let show_rustsec = explicit || dir.exists();
    if show_rustsec {
        let index = db::cache_dir().ok().map(|c| db::rustsec_index_dir(&c));
        let rustsec =
            RustSecDb::open(&dir, index.as_deref()).context("no usable advisory database")?;
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
    Ok(())
}

fn update_rustsec(
    cache: &Path,
    url: &str,
    limits: &fetch::Limits,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    // indicatif draws only when stderr is a terminal.
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    let shown = db::redact_url(url);
    let result = db::update_rustsec(cache, url, limits, &mut |event| {
        match event {
        fetch::Progress::Waiting { attempt, attempts } => spinner.set_message(format!(
            "RustSec: waiting for {shown} to send the advisory database (git clone, try {attempt} of {attempts})"
        )),
        fetch::Progress::Retrying {
            attempt,
            attempts,
            reason,
            pause,
        } => spinner.set_message(format!(
            "RustSec: try {attempt} of {attempts} failed ({reason}); trying again in {:.1}s",
            pause.as_secs_f64()
        )),
        fetch::Progress::Receiving { .. } | fetch::Progress::Bytes(_) => {}
    }
    });
    spinner.finish_and_clear();
    let info = result.map_err(|e| {
        let mut context = "vouch db update failed; the previous database is unchanged".to_string();
        if e.is_timeout() {
            context.push_str(&timeout_hint("the clone", limits));
        }
        anyhow::Error::new(e).context(context)
    })?;
    writeln!(out, "updated {}", db::rustsec_dir(cache).display())?;
    describe(&info, out)?;
    // stdout is buffered: show this before the OSV downloads start.
    out.flush()?;
    Ok(())
}

/// What an error for a download that ran out of time adds: the time it had and the flag.
fn timeout_hint(what: &str, limits: &fetch::Limits) -> String {
    format!(
        " ({what} may take {} seconds, retries included; --timeout SECONDS changes it)",
        limits.timeout.as_secs()
    )
}

fn update_osv(
    cache: &Path,
    base_url: &str,
    limits: &fetch::Limits,
    full: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    // indicatif draws only when stderr is a terminal; the steady tick keeps the elapsed
    // time moving while a try waits for a silent server.
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(200));
    let waiting = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let receiving =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    let counting = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let host = reqwest::Url::parse(base_url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(u.port().map_or(host.clone(), |p| format!("{host}:{p}")))
        })
        .unwrap_or_else(|| db::redact_url(base_url));
    let result = db::update_osv(
        cache,
        base_url,
        &ECOSYSTEMS,
        limits,
        full,
        &mut |eco, event| {
            let name = eco.osv_name();
            match event {
                db::OsvProgress::Download { what, event } => match event {
                    fetch::Progress::Waiting { attempt, attempts } => {
                        bar.set_style(waiting.clone());
                        bar.set_message(format!(
                        "OSV {name}: waiting for {host} to send {what} (try {attempt} of {attempts})"
                    ));
                    }
                    fetch::Progress::Receiving { expected } => {
                        bar.set_style(receiving.clone());
                        bar.set_length(expected.unwrap_or(0));
                        bar.set_position(0);
                        bar.set_message(format!("OSV {name} {what}"));
                    }
                    fetch::Progress::Bytes(n) => bar.inc(n),
                    fetch::Progress::Retrying {
                        attempt,
                        attempts,
                        reason,
                        pause,
                    } => {
                        bar.set_style(waiting.clone());
                        bar.set_message(format!(
                        "OSV {name}: try {attempt} of {attempts} failed ({reason}); trying again in {:.1}s",
                        pause.as_secs_f64()
                    ));
                    }
                },
                db::OsvProgress::Records { done, total } => {
                    bar.set_style(counting.clone());
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                    bar.set_message(format!("OSV {name}: fetching changed records"));
                }
                db::OsvProgress::Checking => {
                    bar.set_style(waiting.clone());
                    bar.set_message(format!("OSV {name}: validating and indexing"));
                }
            }
        },
    );
    bar.finish_and_clear();
    let updated = result.map_err(|e| {
        let mut context =
            "vouch db update failed; OSV exports not yet replaced are unchanged".to_string();
        if e.is_timeout() {
            context.push_str(&timeout_hint("each download", limits));
        }
        anyhow::Error::new(e).context(context)
    })?;
    for (ecosystem, info, how) in updated {
        writeln!(
            out,
            "updated {}/{}/all.zip",
            db::osv_dir(cache).display(),
            ecosystem.osv_name()
        )?;
        match how {
            db::OsvUpdate::Full { why: None } => {}
            db::OsvUpdate::Full { why: Some(why) } => {
                writeln!(out, "download:   full ({why})")?;
            }
            db::OsvUpdate::Incremental {
                fetched,
                dropped,
                kept,
            } => writeln!(
                out,
                "download:   incremental ({fetched} fetched, {dropped} dropped, {kept} kept)"
            )?,
        }
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

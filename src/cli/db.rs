//! `vouch db update|status`: the only commands that touch the network.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;

use crate::advisory::db::{self, DbInfo};
use crate::advisory::rustsec::RustSecDb;
use crate::report::Verdict;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fetch the RustSec advisory database into the cache (atomically; the old copy stays
    /// in place if anything fails).
    Update {
        /// Git URL or local repository path of the RustSec database (a mirror works).
        #[arg(long, value_name = "URL", env = "VOUCH_RUSTSEC_URL", default_value = db::DEFAULT_RUSTSEC_URL)]
        rustsec_url: String,
    },
    /// Show the cached database: source, commit, advisory count and age.
    Status {
        /// Database directory to describe instead of the cache's copy.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
    },
}

pub fn run(command: Command, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    match command {
        Command::Update { rustsec_url } => {
            let cache = db::cache_dir()?;
            let spinner = ProgressBar::new_spinner().with_message(format!(
                "fetching RustSec advisory database from {}",
                db::redact_url(&rustsec_url)
            ));
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.enable_steady_tick(Duration::from_millis(100));
            let result = db::update_rustsec(&cache, &rustsec_url);
            spinner.finish_and_clear();
            let info =
                result.context("vouch db update failed; the previous database is unchanged")?;
            writeln!(out, "updated {}", db::rustsec_dir(&cache).display())?;
            describe(&info, out)?;
            Ok(Verdict::Pass)
        }
        Command::Status { db: dir } => {
            let dir = super::database_dir(dir)?;
            let rustsec = RustSecDb::open(&dir).context("no usable advisory database")?;
            let mut info = DbInfo::read(&dir);
            if info.advisories.is_none() {
                info.advisories = Some(rustsec.load_all()?);
            }
            writeln!(out, "path:       {}", dir.display())?;
            describe(&info, out)?;
            Ok(Verdict::Pass)
        }
    }
}

fn describe(info: &DbInfo, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "source:     {}", info.source)?;
    writeln!(
        out,
        "commit:     {}",
        info.commit.as_deref().unwrap_or("unknown")
    )?;
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

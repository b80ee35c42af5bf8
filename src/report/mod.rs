//! Reports: the verdict model and one writer per output format.
//!
//! Writers take a finished [`AuditReport`] and a `Write`; they never decide anything.
//! The verdict is computed once, here, from the findings' levels.

pub mod human;
pub mod json;

use std::path::PathBuf;

use crate::advisory::db::DbInfo;
use crate::audit::Outcome;
use crate::finding::{Finding, Level};
use crate::lockfile::Format;

/// The overall result. `main` maps it to the exit code; errors never get this far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    pub fn from_findings(findings: &[Finding]) -> Verdict {
        if findings.iter().any(|f| f.level == Level::Error) {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// One lockfile as the report lists it.
#[derive(Clone, Debug)]
pub struct LockfileSummary {
    pub path: PathBuf,
    pub format: Format,
    pub packages: usize,
}

/// Everything an audit report shows.
#[derive(Clone, Debug)]
pub struct AuditReport {
    pub outcome: Outcome,
    pub lockfiles: Vec<LockfileSummary>,
    pub database: DbInfo,
    /// Database age in seconds when the audit ran, when known.
    pub database_age: Option<i64>,
    pub waiver_file: Option<PathBuf>,
}

impl AuditReport {
    pub fn verdict(&self) -> Verdict {
        Verdict::from_findings(&self.outcome.findings)
    }

    pub fn count(&self, level: Level) -> usize {
        self.outcome
            .findings
            .iter()
            .filter(|f| f.level == level)
            .count()
    }
}

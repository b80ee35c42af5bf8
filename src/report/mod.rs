//! Reports: the verdict model and one writer per output format.
//!
//! Writers take a finished [`AuditReport`] and a `Write`; they never decide anything.
//! The verdict is computed once, here, from the findings' levels.

pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod verify;

use std::path::PathBuf;

use crate::advisory::db::DbInfo;
use crate::audit::Outcome;
use crate::finding::{Finding, Level};
use crate::lockfile::Format;

/// The overall result; `main` maps it to the exit code (0, 1, 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// A check could not run: the gate cannot say pass (exit 2, with the report written).
    Error,
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
            Verdict::Error => "error",
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

/// One line per ecosystem whose vulnerabilities came without any severity, saying so once
/// (Go's and PyPA's databases never score) instead of once per finding.
pub fn unscored_lines(outcome: &Outcome) -> Vec<String> {
    outcome
        .unscored
        .iter()
        .map(|(ecosystem, n)| {
            let why = match ecosystem {
                crate::package::Ecosystem::Go => "the Go vulnerability database scores none",
                crate::package::Ecosystem::PyPI => "most PyPA advisories carry no score",
                _ => "their advisories carry no score",
            };
            format!(
                "Unscored: {n} {ecosystem} vulnerabilit{} without a severity ({why}); unscored vulnerabilities fail unless --allow-unscored.",
                if *n == 1 { "y" } else { "ies" }
            )
        })
        .collect()
}

/// How one check of `vouch check` ended.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckStatus {
    Pass,
    Fail,
    /// The check could not run; the message says why.
    Error(String),
    /// Not run, and why (e.g. not configured in the policy). Never hides a failure.
    Skipped(String),
}

impl CheckStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::Error(_) => "error",
            CheckStatus::Skipped(_) => "skipped",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            CheckStatus::Error(why) | CheckStatus::Skipped(why) => Some(why),
            _ => None,
        }
    }
}

/// One check's result: its status, a one-line summary and its findings.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// `audit`, `licenses`, `sbom`, `verify <image>`.
    pub name: String,
    pub status: CheckStatus,
    pub summary: String,
    pub findings: Vec<Finding>,
}

impl CheckResult {
    /// A check that could not run.
    pub fn error(name: impl Into<String>, error: &anyhow::Error) -> CheckResult {
        CheckResult {
            name: name.into(),
            status: CheckStatus::Error(format!("{error:#}")),
            summary: "could not run".into(),
            findings: Vec::new(),
        }
    }

    /// The audit as one check.
    pub fn from_audit(report: &AuditReport) -> CheckResult {
        let status = match report.verdict() {
            Verdict::Pass => CheckStatus::Pass,
            _ => CheckStatus::Fail,
        };
        CheckResult {
            name: "audit".into(),
            status,
            summary: format!(
                "{} packages{} in {} lockfile{}: {} failing, {} warning{}, {} waived",
                report.outcome.packages_scanned(),
                report
                    .outcome
                    .local_summary()
                    .map(|s| format!(" and {s}"))
                    .unwrap_or_default(),
                report.lockfiles.len(),
                if report.lockfiles.len() == 1 { "" } else { "s" },
                report.count(Level::Error),
                report.count(Level::Warning),
                if report.count(Level::Warning) == 1 {
                    ""
                } else {
                    "s"
                },
                report.count(Level::Info),
            ),
            findings: report.outcome.findings.clone(),
        }
    }
}

impl CheckResult {
    /// One image verification as a check of `vouch check` (named `verify <image>`).
    pub fn from_verify(outcome: &crate::verify::VerifyOutcome) -> CheckResult {
        let status = match Verdict::from_findings(&outcome.findings) {
            Verdict::Pass => CheckStatus::Pass,
            _ => CheckStatus::Fail,
        };
        let mut summary = format!(
            "{}: signed by {} of {} key{} (threshold {})",
            outcome.digest,
            outcome.signing_keys().len(),
            outcome.keys.len(),
            if outcome.keys.len() == 1 { "" } else { "s" },
            outcome.threshold
        );
        for att in &outcome.attestations {
            summary.push_str(&format!("; {} {}", att.predicate_type, att.status.as_str()));
        }
        CheckResult {
            name: format!("verify {}", outcome.requested),
            status,
            summary,
            findings: outcome.findings.clone(),
        }
    }
}

/// Everything `vouch check` found: every configured check and the overall verdict.
#[derive(Clone, Debug)]
pub struct CheckReport {
    pub policy: Option<PathBuf>,
    pub checks: Vec<CheckResult>,
}

impl CheckReport {
    /// Error if any check could not run, else fail if any failed, else pass.
    pub fn verdict(&self) -> Verdict {
        if self
            .checks
            .iter()
            .any(|c| matches!(c.status, CheckStatus::Error(_)))
        {
            Verdict::Error
        } else if self.checks.iter().any(|c| c.status == CheckStatus::Fail) {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }
}

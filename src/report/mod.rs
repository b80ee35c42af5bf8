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
use crate::advisory::version::Version;
use crate::advisory::{Advisory, SourceKind};
use crate::audit::Outcome;
use crate::finding::{Finding, Level};
use crate::lockfile::Format;
use crate::package::Ecosystem;

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

/// One advisory source an audit consulted.
#[derive(Clone, Debug)]
pub struct SourceSummary {
    pub kind: SourceKind,
    /// The OSV export's ecosystem (`None` for RustSec).
    pub ecosystem: Option<Ecosystem>,
    /// Where it came from, its commit and fetch time.
    pub info: DbInfo,
    /// SHA-256 of the OSV export read (`all.zip`), when it is one file.
    pub sha256: Option<String>,
}

impl SourceSummary {
    /// "RustSec" or "OSV npm".
    pub fn name(&self) -> String {
        match (self.kind, self.ecosystem) {
            (SourceKind::RustSec, _) => "RustSec".into(),
            (SourceKind::Osv, Some(e)) => format!("OSV {}", e.osv_name()),
            (SourceKind::Osv, None) => "OSV".into(),
        }
    }
}

/// Everything an audit report shows.
#[derive(Clone, Debug)]
pub struct AuditReport {
    pub outcome: Outcome,
    pub lockfiles: Vec<LockfileSummary>,
    /// The first source in `databases` (the JSON report's `database`).
    pub database: DbInfo,
    /// Every source the audit consulted, RustSec first.
    pub databases: Vec<SourceSummary>,
    /// Database age in seconds when the audit ran, when known.
    pub database_age: Option<i64>,
    /// The waiver file read, if any.
    pub waiver_file: Option<PathBuf>,
    /// The policy file whose settings applied, if any.
    pub policy: Option<PathBuf>,
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
    /// A keyless `verify` or `verify-blob` check: every certificate claim checked,
    /// distinct over the signatures (matched or not).
    pub claims: Vec<crate::verify::claims::ClaimCheck>,
}

impl CheckResult {
    /// A check that could not run.
    pub fn error(name: impl Into<String>, error: &anyhow::Error) -> CheckResult {
        CheckResult {
            name: name.into(),
            status: CheckStatus::Error(error_chain(error)),
            summary: "could not run".into(),
            findings: Vec::new(),
            claims: Vec::new(),
        }
    }

    /// The audit as one check; its summary names the waiver file read (or none).
    pub fn from_audit(report: &AuditReport) -> CheckResult {
        let status = match report.verdict() {
            Verdict::Pass => CheckStatus::Pass,
            _ => CheckStatus::Fail,
        };
        CheckResult {
            name: "audit".into(),
            status,
            summary: format!(
                "{} packages{} in {} lockfile{}: {} failing, {} warning{}, {} waived; waivers: {}",
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
                report
                    .waiver_file
                    .as_ref()
                    .map_or("none".to_string(), |p| p.display().to_string()),
            ),
            findings: report.outcome.findings.clone(),
            claims: Vec::new(),
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
        if let Some(p) = &outcome.provenance {
            summary.push_str(&format!("; provenance {}", p.status()));
        }
        CheckResult {
            name: format!("verify {}", outcome.requested),
            status,
            summary,
            findings: outcome.findings.clone(),
            claims: outcome.claims(),
        }
    }
}

impl CheckResult {
    pub fn from_blob(outcome: &crate::verify::blob::BlobOutcome) -> CheckResult {
        let status = match Verdict::from_findings(&outcome.findings) {
            Verdict::Pass => CheckStatus::Pass,
            _ => CheckStatus::Fail,
        };
        let signers = &outcome.signature.verified_by;
        let summary = match signers.is_empty() {
            true => format!(
                "{}: not verified by {}",
                outcome.digest,
                outcome.bundle.display()
            ),
            false => format!(
                "{}: verified by {} ({})",
                outcome.digest,
                outcome.bundle.display(),
                signers.join(", ")
            ),
        };
        CheckResult {
            name: format!("verify-blob {}", outcome.requested),
            status,
            summary,
            findings: outcome.findings.clone(),
            claims: outcome.signature.claims.clone(),
        }
    }
}

/// Everything `vouch check` found: every configured check and the overall verdict.
#[derive(Clone, Debug)]
pub struct CheckReport {
    pub policy: Option<PathBuf>,
    /// The lockfiles the checks read (SARIF places findings that have no file of their
    /// own at the policy, else at the first of these).
    pub lockfiles: Vec<PathBuf>,
    pub checks: Vec<CheckResult>,
}

impl CheckReport {
    /// Error if any check could not run or none ran at all, else fail if any failed,
    /// else pass.
    pub fn verdict(&self) -> Verdict {
        if self
            .checks
            .iter()
            .any(|c| matches!(c.status, CheckStatus::Error(_)))
            || self.nothing_ran()
        {
            Verdict::Error
        } else if self.checks.iter().any(|c| c.status == CheckStatus::Fail) {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    /// No check ran: none configured, or every one skipped. Never a pass.
    pub fn nothing_ran(&self) -> bool {
        self.checks
            .iter()
            .all(|c| matches!(c.status, CheckStatus::Skipped(_)))
    }
}

/// An error and its causes, `: `-separated like anyhow's `{:#}`, without a cause whose
/// text its parent already carries (`path: No such file or directory (os error 2)` then
/// the same io error again).
pub fn error_chain(error: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut parent = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if parent.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        parent = text;
    }
    out
}

/// The advisory's own page: rustsec.org for RUSTSEC ids, GitHub's advisory database for
/// GHSA ids, osv.dev for every other id (PYSEC, GO, CVE, NSWG...). Never one of its
/// references, which may be a bug tracker or a mailing list.
pub fn advisory_page(id: &str) -> String {
    let safe: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if safe.starts_with("RUSTSEC-") {
        format!("https://rustsec.org/advisories/{safe}.html")
    } else if safe.starts_with("GHSA-") {
        format!("https://github.com/advisories/{safe}")
    } else {
        format!("https://osv.dev/vulnerability/{safe}")
    }
}

/// What to upgrade to, for people: "upgrade to ≥0.8.6, ≥0.9.3 or ≥0.10.1", lowest first,
/// each fixed series once (its upper bound is the next series); "no fixed version" when
/// the advisory names none.
pub fn upgrade_advice(advisory: &Advisory) -> String {
    let mut targets: Vec<(Option<Version>, String)> = advisory
        .fixed
        .iter()
        .map(|requirement| lowest_fixed(requirement, advisory.ecosystem))
        .collect();
    if targets.is_empty() {
        return "no fixed version".into();
    }
    targets.sort_by(|a, b| match (&a.0, &b.0) {
        (Some(x), Some(y)) => x.compare(y).unwrap_or_else(|| a.1.cmp(&b.1)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.cmp(&b.1),
    });
    let mut texts: Vec<String> = targets.into_iter().map(|(_, t)| t).collect();
    texts.dedup();
    let last = texts.pop().unwrap_or_default();
    if texts.is_empty() {
        format!("upgrade to {last}")
    } else {
        format!("upgrade to {} or {last}", texts.join(", "))
    }
}

/// The lowest version a fixed requirement admits, as "≥1.2.3" (">1.2.3" when strict),
/// or the requirement as written when it has no lower bound.
fn lowest_fixed(requirement: &str, ecosystem: Ecosystem) -> (Option<Version>, String) {
    let lower = requirement.split(',').map(str::trim).find_map(|part| {
        let (strict, version) = if let Some(v) = part.strip_prefix(">=") {
            (false, v)
        } else if let Some(v) = part.strip_prefix('>') {
            (true, v)
        } else if let Some(v) = part.strip_prefix(['^', '~', '=']) {
            (false, v)
        } else {
            return None;
        };
        Some((strict, version.trim()))
    });
    match lower {
        Some((strict, version)) => (
            Version::parse(ecosystem, version),
            format!("{}{version}", if strict { ">" } else { "≥" }),
        ),
        None => (None, requirement.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advisory(fixed: &[&str]) -> Advisory {
        Advisory {
            id: "RUSTSEC-2099-0001".into(),
            aliases: Vec::new(),
            ecosystem: Ecosystem::Cargo,
            package: "p".into(),
            kind: crate::advisory::Kind::Vulnerability,
            severity: None,
            cvss_score: None,
            cvss_vector: None,
            title: "t".into(),
            url: None,
            fixed: fixed.iter().map(|f| f.to_string()).collect(),
            affected: crate::advisory::Affected::Osv(crate::advisory::osv::OsvAffectedVersions {
                ecosystem: Ecosystem::Cargo,
                ranges: Vec::new(),
                versions: Vec::new(),
            }),
            default_registry_only: false,
        }
    }

    #[test]
    fn fixed_ranges_read_as_the_versions_to_upgrade_to_lowest_first() {
        // The range bounds RustSec and OSV give, in the order they give them.
        assert_eq!(
            upgrade_advice(&advisory(&[
                ">=0.10.1",
                ">=0.9.3, <0.10.0",
                ">=0.8.6, <0.9.0"
            ])),
            "upgrade to ≥0.8.6, ≥0.9.3 or ≥0.10.1"
        );
        assert_eq!(
            upgrade_advice(&advisory(&[">=0.6.14, <1.0.0", ">=1.6.1"])),
            "upgrade to ≥0.6.14 or ≥1.6.1"
        );
        assert_eq!(upgrade_advice(&advisory(&["^1.2.3"])), "upgrade to ≥1.2.3");
        assert_eq!(upgrade_advice(&advisory(&[">1.0.0"])), "upgrade to >1.0.0");
        assert_eq!(
            upgrade_advice(&advisory(&[">=1.0", ">=1.0"])),
            "upgrade to ≥1.0"
        );
        assert_eq!(upgrade_advice(&advisory(&[])), "no fixed version");
        let mut pypi = advisory(&[">=10.0", ">=9.1"]);
        pypi.ecosystem = Ecosystem::PyPI;
        assert_eq!(
            upgrade_advice(&pypi),
            "upgrade to ≥9.1 or ≥10.0",
            "PEP 440 order"
        );
    }

    #[test]
    fn advisory_pages_are_the_databases_own() {
        assert_eq!(
            advisory_page("RUSTSEC-2022-0013"),
            "https://rustsec.org/advisories/RUSTSEC-2022-0013.html"
        );
        assert_eq!(
            advisory_page("GHSA-m5pq-gvj9-9vr8"),
            "https://github.com/advisories/GHSA-m5pq-gvj9-9vr8"
        );
        assert_eq!(
            advisory_page("PYSEC-2023-212"),
            "https://osv.dev/vulnerability/PYSEC-2023-212"
        );
        assert_eq!(
            advisory_page("GO-2024-1/../x?"),
            "https://osv.dev/vulnerability/GO-2024-1..x"
        );
    }

    #[test]
    fn an_error_chain_names_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone (os error 2)");
        let policy = crate::policy::Error::Io {
            path: PathBuf::from("vouch.toml"),
            source: io,
        };
        let error = anyhow::Error::new(policy).context("cannot load the policy");
        assert_eq!(format!("{error:#}").matches("gone").count(), 2);
        assert_eq!(
            error_chain(&error),
            "cannot load the policy: vouch.toml: gone (os error 2)"
        );
    }

    /// Regression (issue 16, item 1): a check report where nothing ran passed.
    #[test]
    fn a_report_where_no_check_ran_is_an_error_never_a_pass() {
        let skipped = |name: &str| CheckResult {
            name: name.into(),
            status: CheckStatus::Skipped("not configured".into()),
            summary: "not run".into(),
            findings: Vec::new(),
            claims: Vec::new(),
        };
        let passed = CheckResult {
            status: CheckStatus::Pass,
            ..skipped("licenses")
        };
        let report = |checks| CheckReport {
            policy: None,
            lockfiles: Vec::new(),
            checks,
        };
        assert_eq!(report(Vec::new()).verdict(), Verdict::Error);
        assert_eq!(
            report(vec![skipped("audit"), skipped("sbom")]).verdict(),
            Verdict::Error
        );
        assert_eq!(
            report(vec![skipped("audit"), passed]).verdict(),
            Verdict::Pass
        );
    }
}

//! The JSON report: a versioned contract (`"schema": "vouch.audit/1"`), documented in
//! `docs/json-report.md`. These wire types are separate from the domain types so the
//! contract changes only on purpose; fields are only ever added within a schema version.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::AuditReport;
use crate::finding::{Finding, WaiverLocation};

pub const AUDIT_SCHEMA: &str = "vouch.audit/1";

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    verdict: &'static str,
    summary: Summary,
    database: Database<'a>,
    lockfiles: Vec<Lockfile>,
    /// The project's own packages: counted, not audited.
    local_packages: Vec<LocalPackage<'a>>,
    /// How lockfiles were read where it matters (e.g. go.mod completed from go.sum).
    remarks: &'a [String],
    waiver_file: Option<String>,
    policy: Option<String>,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct LocalPackage<'a> {
    ecosystem: String,
    name: &'a str,
    version: Option<&'a str>,
    lockfile: String,
    line: Option<usize>,
    why: &'static str,
}

#[derive(Serialize)]
struct Summary {
    packages: usize,
    packages_by_ecosystem: BTreeMap<String, usize>,
    local_packages: usize,
    unscored_by_ecosystem: BTreeMap<String, usize>,
    errors: usize,
    warnings: usize,
    waived: usize,
}

#[derive(Serialize)]
struct Database<'a> {
    source: &'a str,
    commit: Option<&'a str>,
    fetched_at: Option<String>,
    age_seconds: Option<i64>,
    sources: Vec<Source<'a>>,
}

/// One advisory source the audit consulted.
#[derive(Serialize)]
struct Source<'a> {
    kind: &'static str,
    ecosystem: Option<&'static str>,
    source: &'a str,
    commit: Option<&'a str>,
    sha256: Option<&'a str>,
    fetched_at: Option<String>,
}

#[derive(Serialize)]
struct Lockfile {
    path: String,
    format: &'static str,
    packages: usize,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'static str,
    level: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    advisory: Option<Advisory<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<Package<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<Waiver>,
    waived_by: Option<Waiver>,
}

#[derive(Serialize)]
struct Advisory<'a> {
    id: &'a str,
    aliases: &'a [String],
    kind: &'a str,
    severity: Option<&'static str>,
    cvss_score: Option<f64>,
    cvss_vector: Option<&'a str>,
    title: &'a str,
    url: Option<&'a str>,
    fixed_versions: &'a [String],
}

#[derive(Serialize)]
struct Package<'a> {
    ecosystem: String,
    name: &'a str,
    version: &'a str,
    purl: &'a str,
    lockfile: String,
    line: Option<u32>,
}

#[derive(Serialize)]
struct Waiver {
    id: String,
    file: String,
    line: usize,
    package: Option<String>,
    versions: Option<String>,
    reason: String,
    owner: String,
    expires: String,
}

impl Waiver {
    fn from(location: &WaiverLocation) -> Waiver {
        let w = &location.waiver;
        Waiver {
            id: w.id.clone(),
            file: location.file.display().to_string(),
            line: w.line,
            package: w.package.clone(),
            versions: w.versions.as_ref().map(|(text, _)| text.clone()),
            reason: w.reason.clone(),
            owner: w.owner.clone(),
            expires: w.expires.to_string(),
        }
    }
}

fn finding(f: &Finding) -> JsonFinding<'_> {
    JsonFinding {
        code: f.code.as_str(),
        level: f.level.as_str(),
        message: &f.message,
        advisory: f.advisory.as_deref().map(|a| Advisory {
            id: &a.id,
            aliases: &a.aliases,
            kind: a.kind.as_str(),
            severity: a.severity.map(|s| s.as_str()),
            cvss_score: a.cvss_score,
            cvss_vector: a.cvss_vector.as_deref(),
            title: &a.title,
            url: a.url.as_deref(),
            fixed_versions: &a.fixed,
        }),
        package: f.package.as_ref().map(|p| Package {
            ecosystem: p.ecosystem.to_string(),
            name: &p.name,
            version: &p.version,
            purl: &p.purl,
            lockfile: p.lockfile.display().to_string(),
            line: p.line,
        }),
        waiver: f.waiver.as_ref().map(Waiver::from),
        waived_by: f.waived_by.as_ref().map(Waiver::from),
    }
}

/// Writes the report as pretty JSON followed by a newline.
pub fn write(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    use crate::finding::Level;
    let wire = Report {
        schema: AUDIT_SCHEMA,
        verdict: report.verdict().as_str(),
        summary: Summary {
            packages: report.outcome.packages_scanned(),
            packages_by_ecosystem: report
                .outcome
                .scanned
                .iter()
                .map(|(e, n)| (e.to_string(), *n))
                .collect(),
            local_packages: report.outcome.local.len(),
            unscored_by_ecosystem: report
                .outcome
                .unscored
                .iter()
                .map(|(e, n)| (e.to_string(), *n))
                .collect(),
            errors: report.count(Level::Error),
            warnings: report.count(Level::Warning),
            waived: report.count(Level::Info),
        },
        database: Database {
            source: &report.database.source,
            commit: report.database.commit.as_deref(),
            fetched_at: report.database.fetched_at.map(|t| t.to_string()),
            age_seconds: report.database_age,
            sources: report
                .databases
                .iter()
                .map(|s| Source {
                    kind: match s.kind {
                        crate::advisory::SourceKind::RustSec => "rustsec",
                        crate::advisory::SourceKind::Osv => "osv",
                    },
                    ecosystem: s.ecosystem.map(|e| e.osv_name()),
                    source: &s.info.source,
                    commit: s.info.commit.as_deref(),
                    sha256: s.sha256.as_deref(),
                    fetched_at: s.info.fetched_at.map(|t| t.to_string()),
                })
                .collect(),
        },
        lockfiles: report
            .lockfiles
            .iter()
            .map(|l| Lockfile {
                path: l.path.display().to_string(),
                format: l.format.name(),
                packages: l.packages,
            })
            .collect(),
        local_packages: report
            .outcome
            .local
            .iter()
            .map(|l| LocalPackage {
                ecosystem: l.ecosystem.to_string(),
                name: &l.name,
                version: l.version.as_deref(),
                lockfile: l.lockfile.display().to_string(),
                line: l.line,
                why: l.kind.as_str(),
            })
            .collect(),
        remarks: &report.outcome.remarks,
        waiver_file: report.waiver_file.as_ref().map(|p| p.display().to_string()),
        policy: report.policy.as_ref().map(|p| p.display().to_string()),
        findings: report.outcome.findings.iter().map(finding).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &wire)?;
    writeln!(out)
}

pub const CHECK_SCHEMA: &str = "vouch.check/1";

#[derive(Serialize)]
struct CheckReportWire<'a> {
    schema: &'static str,
    verdict: &'static str,
    policy: Option<String>,
    checks: Vec<CheckWire<'a>>,
}

#[derive(Serialize)]
struct CheckWire<'a> {
    name: &'a str,
    status: &'static str,
    /// Why a check errored or was skipped.
    reason: Option<&'a str>,
    summary: &'a str,
    findings: Vec<JsonFinding<'a>>,
    /// A keyless verify/verify-blob check: every certificate claim checked (as in
    /// `vouch.verify/1`'s `signatures[].claims`); [] for every other check.
    claims: Vec<super::verify::Claim<'a>>,
}

/// Writes the `vouch check` report (`"schema": "vouch.check/1"`, docs/json-report.md).
pub fn write_check(report: &super::CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let wire = CheckReportWire {
        schema: CHECK_SCHEMA,
        verdict: report.verdict().as_str(),
        policy: report.policy.as_ref().map(|p| p.display().to_string()),
        checks: report
            .checks
            .iter()
            .map(|c| CheckWire {
                name: &c.name,
                status: c.status.as_str(),
                reason: c.status.reason(),
                summary: &c.summary,
                findings: c.findings.iter().map(finding).collect(),
                claims: c.claims.iter().map(super::verify::Claim::from).collect(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &wire)?;
    writeln!(out)
}

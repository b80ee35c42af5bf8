//! SARIF 2.1.0 for code scanning. Advisory findings are results of a rule named after the
//! advisory (so an alert reads as the advisory), located at the package's entry in the
//! lockfile; waiver findings are located at the waiver; findings without a file of their
//! own (a stale database, an image) at the policy, else the lockfile: code scanning drops
//! a result without a location. Waived findings carry a suppression with the waiver's
//! reason, so the waiver is visible where the alert is. Every rule has a
//! `security-severity` (see [`security_severity`]), which code scanning ranks alerts by.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::{CheckReport, CheckStatus, advisory_page, upgrade_advice};
use crate::advisory::{Kind, Severity};
use crate::finding::{Code, Finding, Level};

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for check in &report.checks {
        for finding in &check.findings {
            let rule_id = rule_id(finding);
            rules
                .entry(rule_id.clone())
                .or_insert_with(|| rule(&rule_id, finding));
            results.push(result(&rule_id, finding, &check.name, report));
        }
    }
    let notifications: Vec<Value> = report
        .checks
        .iter()
        .filter_map(|c| match &c.status {
            CheckStatus::Error(why) => Some(json!({
                "level": "error",
                "message": {"text": format!("{}: {why}", c.name)},
            })),
            _ => None,
        })
        .collect();
    let mut driver = json!({
        "name": "vouch",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules.into_values().collect::<Vec<_>>(),
    });
    // The project's own address when Cargo.toml states one; never a guess (the crates.io
    // crate named `vouch` is another project).
    if !env!("CARGO_PKG_REPOSITORY").is_empty() {
        driver["informationUri"] = json!(env!("CARGO_PKG_REPOSITORY"));
    }
    let doc = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn rule_id(finding: &Finding) -> String {
    match &finding.advisory {
        Some(a) => a.id.clone(),
        None => finding.code.as_str().to_string(),
    }
}

fn rule(id: &str, finding: &Finding) -> Value {
    let mut rule = json!({
        "id": id,
        "shortDescription": {"text": finding.code.as_str()},
        "defaultConfiguration": {"level": level(finding.level)},
        "properties": {
            "tags": ["security", "supply-chain", finding.code.as_str()],
            "security-severity": security_severity(finding),
        },
    });
    if let Some(a) = &finding.advisory {
        rule["shortDescription"] = json!({"text": a.title});
        rule["fullDescription"] = json!({"text": format!("{} ({})", a.title, a.kind.as_str())});
        rule["helpUri"] = json!(advisory_page(&a.id));
        rule["help"] = json!({"text": match upgrade_advice(a).strip_prefix("upgrade to ") {
            Some(versions) => format!("Upgrade to {versions}."),
            None => "No fixed version is known.".to_string(),
        }});
        if !a.aliases.is_empty() {
            rule["properties"]["aliases"] = json!(a.aliases);
        }
    }
    rule
}

/// The score code scanning ranks the rule's alerts by (0.0–10.0, as text): the advisory's
/// CVSS score; else its stated severity (GitHub's `database_specific.severity` for a GHSA)
/// as the lowest score of that band (critical 9.0, high 7.0, medium 4.0, low 0.1, none
/// 0.0); else, failing closed, 9.0 for a vulnerability without a score, 4.0 for an
/// informational advisory; 10.0 for a malicious package. Findings that are not advisories rank by what they do to the
/// gate: 9.0 when they fail it, 4.0 when they warn, 0.0 for a record.
fn security_severity(finding: &Finding) -> String {
    let score = match &finding.advisory {
        Some(a) => match (a.cvss_score, a.severity, &a.kind) {
            // Malicious code is the worst there is, whatever a record's score says.
            (_, _, Kind::Malicious) => 10.0,
            (Some(score), _, _) => score,
            (None, Some(severity), _) => match severity {
                Severity::Critical => 9.0,
                Severity::High => 7.0,
                Severity::Medium => 4.0,
                Severity::Low => 0.1,
                Severity::None => 0.0,
            },
            (None, None, Kind::Vulnerability) => 9.0,
            (None, None, Kind::Informational(_)) => 4.0,
        },
        None => match finding.level {
            Level::Error => 9.0,
            Level::Warning => 4.0,
            Level::Info => 0.0,
        },
    };
    format!("{score:.1}")
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

fn result(rule_id: &str, finding: &Finding, check: &str, report: &CheckReport) -> Value {
    let mut result = json!({
        "ruleId": rule_id,
        "level": level(finding.level),
        "message": {"text": finding.message},
        "properties": {"code": finding.code.as_str(), "check": check},
    });
    if let Some((path, line)) = location(finding, report) {
        let mut physical = json!({"artifactLocation": {"uri": uri(path)}});
        if let Some(line) = line {
            physical["region"] = json!({"startLine": line});
        }
        result["locations"] = json!([{"physicalLocation": physical}]);
    }
    if let Some(p) = &finding.package {
        result["partialFingerprints"] = json!({
            "vouch/v1": format!("{}:{}:{}", rule_id, p.purl, finding.code.as_str()),
        });
    }
    if let Some(w) = &finding.waived_by {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!(
                "waived as {}: {} (owner {}, until {}, {}:{})",
                w.waiver.id, w.waiver.reason, w.waiver.owner, w.waiver.expires, w.file.display(), w.waiver.line
            ),
        }]);
    }
    result
}

/// Where a finding is: the package's lockfile entry, the waiver, the lockfile line a
/// `package-not-audited` message starts with, else the policy, else the first lockfile.
fn location<'a>(
    finding: &'a Finding,
    report: &'a CheckReport,
) -> Option<(&'a Path, Option<usize>)> {
    if let Some(p) = &finding.package {
        return Some((p.lockfile.as_path(), p.line.map(|l| l as usize)));
    }
    if let Some(w) = &finding.waiver {
        return Some((w.file.as_path(), Some(w.waiver.line)));
    }
    if finding.code == Code::PackageNotAudited {
        // The message is `LOCKFILE:LINE: ...` (or `LOCKFILE: ...`) for one of the lockfiles.
        for lockfile in &report.lockfiles {
            let Some(rest) = finding
                .message
                .strip_prefix(lockfile.display().to_string().as_str())
                .and_then(|r| r.strip_prefix(':'))
            else {
                continue;
            };
            let line = rest.split(':').next().and_then(|l| l.parse().ok());
            return Some((lockfile.as_path(), line));
        }
    }
    report
        .policy
        .as_deref()
        .or(report.lockfiles.first().map(|p| p.as_path()))
        .map(|p| (p, None))
}

/// A relative URI reference for `path`: forward slashes, `./` dropped, reserved bytes
/// percent-encoded.
fn uri(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = text.strip_prefix("./").unwrap_or(&text);
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_references() {
        assert_eq!(uri(Path::new("./a b/Cargo.lock")), "a%20b/Cargo.lock");
        assert_eq!(uri(Path::new("x/package-lock.json")), "x/package-lock.json");
    }
}

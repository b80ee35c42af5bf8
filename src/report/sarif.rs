//! SARIF 2.1.0 for code scanning. Advisory findings are results of a rule named after the
//! advisory (so an alert reads as the advisory), located at the package's entry in the
//! lockfile; waiver findings are located at the waiver; waived findings carry a
//! suppression with the waiver's reason, so the waiver is visible where the alert is.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::{CheckReport, CheckStatus};
use crate::finding::{Finding, Level};

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
            results.push(result(&rule_id, finding, &check.name));
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
    let doc = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "vouch",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/vouch-dev/vouch",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
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
        "properties": {"tags": ["security", "supply-chain", finding.code.as_str()]},
    });
    if let Some(a) = &finding.advisory {
        rule["shortDescription"] = json!({"text": a.title});
        rule["fullDescription"] = json!({"text": format!("{} ({})", a.title, a.kind.as_str())});
        if let Some(url) = &a.url {
            rule["helpUri"] = json!(url);
        }
        rule["help"] = json!({"text": if a.fixed.is_empty() {
            "No fixed version is known.".to_string()
        } else {
            format!("Upgrade to a fixed version: {}.", a.fixed.join(", "))
        }});
        // GitHub code scanning ranks security alerts by this property.
        if let Some(score) = a.cvss_score {
            rule["properties"]["security-severity"] = json!(format!("{score:.1}"));
        }
        if !a.aliases.is_empty() {
            rule["properties"]["aliases"] = json!(a.aliases);
        }
    }
    rule
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

fn result(rule_id: &str, finding: &Finding, check: &str) -> Value {
    let mut result = json!({
        "ruleId": rule_id,
        "level": level(finding.level),
        "message": {"text": finding.message},
        "properties": {"code": finding.code.as_str(), "check": check},
    });
    let location = match (&finding.package, &finding.waiver) {
        (Some(p), _) => Some((p.lockfile.as_path(), p.line.map(|l| l as usize))),
        (None, Some(w)) => Some((w.file.as_path(), Some(w.waiver.line))),
        _ => None,
    };
    if let Some((path, line)) = location {
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
                "{} (owner {}, until {}, {}:{})",
                w.waiver.reason, w.waiver.owner, w.waiver.expires, w.file.display(), w.waiver.line
            ),
        }]);
    }
    result
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

//! JUnit XML for a CI's test view: a test suite per check, a test case for the check
//! itself and one per finding. Failing findings are `<failure>`s, a check that could not
//! run is an `<error>`, waived findings and skipped checks are `<skipped>`, warnings pass
//! with their message in `<system-out>`.

use std::io::{self, Write};

use super::{CheckReport, CheckResult, CheckStatus, upgrade_advice};
use crate::finding::{Finding, Level};

pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let suites: Vec<Suite> = report.checks.iter().map(suite).collect();
    let total = |f: fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="vouch" tests="{}" failures="{}" errors="{}">"#,
        total(|s| s.cases.len()),
        total(|s| s.count(Outcome::Failure)),
        total(|s| s.count(Outcome::Error)),
    )?;
    for suite in &suites {
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="{}">"#,
            escape(&suite.name),
            suite.cases.len(),
            suite.count(Outcome::Failure),
            suite.count(Outcome::Error),
            suite.count(Outcome::Skipped),
        )?;
        for case in &suite.cases {
            let open = format!(
                r#"    <testcase classname="vouch.{}" name="{}""#,
                escape(&suite.name),
                escape(&case.name)
            );
            match (&case.outcome, &case.detail) {
                (Outcome::Pass, None) => writeln!(out, "{open}/>")?,
                (Outcome::Pass, Some(text)) => writeln!(
                    out,
                    "{open}>\n      <system-out>{}</system-out>\n    </testcase>",
                    escape(text)
                )?,
                (outcome, detail) => {
                    let tag = match outcome {
                        Outcome::Failure => "failure",
                        Outcome::Error => "error",
                        _ => "skipped",
                    };
                    let message = escape(detail.as_deref().unwrap_or(""));
                    match &case.kind {
                        Some(kind) => writeln!(
                            out,
                            "{open}>\n      <{tag} message=\"{message}\" type=\"{kind}\">{message}</{tag}>\n    </testcase>"
                        )?,
                        None => writeln!(
                            out,
                            "{open}>\n      <{tag} message=\"{message}\"/>\n    </testcase>"
                        )?,
                    }
                }
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pass,
    Failure,
    Error,
    Skipped,
}

struct Case {
    name: String,
    outcome: Outcome,
    detail: Option<String>,
    kind: Option<&'static str>,
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, outcome: Outcome) -> usize {
        self.cases.iter().filter(|c| c.outcome == outcome).count()
    }
}

fn suite(check: &CheckResult) -> Suite {
    let (outcome, detail) = match &check.status {
        CheckStatus::Pass => (Outcome::Pass, Some(check.summary.clone())),
        CheckStatus::Fail => (Outcome::Failure, Some(check.summary.clone())),
        CheckStatus::Error(why) => (Outcome::Error, Some(why.clone())),
        CheckStatus::Skipped(why) => (Outcome::Skipped, Some(why.clone())),
    };
    let mut cases = vec![Case {
        name: check.name.clone(),
        outcome,
        detail,
        kind: None,
    }];
    cases.extend(check.findings.iter().map(case));
    Suite {
        name: check.name.clone(),
        cases,
    }
}

fn case(finding: &Finding) -> Case {
    let mut name = finding.code.as_str().to_string();
    if let Some(a) = &finding.advisory {
        name = format!("{name} {}", a.id);
    }
    if let Some(p) = &finding.package {
        name = format!("{name} {} {} ({})", p.name, p.version, p.lockfile.display());
    }
    if let Some(w) = &finding.waiver {
        name = format!(
            "{name} {} ({}:{})",
            w.waiver.id,
            w.file.display(),
            w.waiver.line
        );
    }
    // The message names the advisory by its title; what to upgrade to follows it.
    let message = match &finding.advisory {
        Some(a) => format!("{} ({})", finding.message, upgrade_advice(a)),
        None => finding.message.clone(),
    };
    let (outcome, detail) = match (finding.level, &finding.waived_by) {
        (Level::Error, _) => (Outcome::Failure, message),
        (Level::Warning, _) => (Outcome::Pass, format!("warning: {message}")),
        (Level::Info, Some(w)) => (
            Outcome::Skipped,
            format!(
                "waived as {} by {}:{} ({}, owner {}, until {})",
                w.waiver.id,
                w.file.display(),
                w.waiver.line,
                w.waiver.reason,
                w.waiver.owner,
                w.waiver.expires
            ),
        ),
        (Level::Info, None) => (Outcome::Pass, message),
    };
    Case {
        name,
        outcome,
        detail: Some(detail),
        kind: Some(finding.code.as_str()),
    }
}

/// Escapes XML text and attribute values; drops characters XML 1.0 cannot carry.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_well_formed() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}

//! Markdown for a CI job summary or a pull-request comment: the verdict, a table of
//! checks, and each check's findings in a collapsible section.

use std::io::{self, Write};

use super::human::row;
use super::{CheckReport, CheckStatus, Verdict, advisory_page};

pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let verdict = match report.verdict() {
        Verdict::Pass => "✅ pass",
        Verdict::Fail => "❌ fail",
        Verdict::Error if report.nothing_ran() => "⚠️ error: no check ran",
        Verdict::Error => "⚠️ error: a check could not run",
    };
    writeln!(out, "## vouch: {verdict}\n")?;
    writeln!(out, "| check | status | summary |")?;
    writeln!(out, "|---|---|---|")?;
    for check in &report.checks {
        let status = match &check.status {
            CheckStatus::Pass => "✅ pass".to_string(),
            CheckStatus::Fail => "❌ fail".to_string(),
            CheckStatus::Error(why) => format!("⚠️ error: {why}"),
            CheckStatus::Skipped(why) => format!("⏭️ skipped: {why}"),
        };
        writeln!(
            out,
            "| {} | {} | {} |",
            cell(&check.name),
            cell(&status),
            cell(&check.summary)
        )?;
    }
    for check in &report.checks {
        if check.claims.is_empty() {
            continue;
        }
        writeln!(
            out,
            "\n<details><summary>{}: {} certificate claim{} checked</summary>\n",
            html(&check.name),
            check.claims.len(),
            if check.claims.len() == 1 { "" } else { "s" }
        )?;
        writeln!(out, "| claim | OID | policy | found | |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for claim in &check.claims {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(claim.claim),
                cell(&claim.oid),
                cell(&claim.wanted()),
                cell(claim.found.as_deref().unwrap_or("(absent)")),
                if claim.matched { "✅" } else { "❌" }
            )?;
        }
        writeln!(out, "\n</details>")?;
    }
    for check in &report.checks {
        if check.findings.is_empty() {
            continue;
        }
        writeln!(
            out,
            "\n<details{}><summary>{}: {} finding{}</summary>\n",
            if check.status == CheckStatus::Fail {
                " open"
            } else {
                ""
            },
            html(&check.name),
            check.findings.len(),
            if check.findings.len() == 1 { "" } else { "s" }
        )?;
        writeln!(out, "| level | id | package | severity | detail |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for finding in &check.findings {
            let [level, id, package, severity, detail] = row(finding, true);
            let id = match &finding.advisory {
                Some(a) => format!("[{}]({})", cell(&id), advisory_page(&a.id)),
                None => cell(&id),
            };
            writeln!(
                out,
                "| {} | {id} | {} | {} | {} |",
                cell(&level),
                cell(&package),
                cell(&severity),
                cell(&detail)
            )?;
        }
        writeln!(out, "\n</details>")?;
    }
    if let Some(policy) = &report.policy {
        writeln!(
            out,
            "\nPolicy: `{}`.",
            policy.display().to_string().replace('`', "'")
        )?;
    }
    Ok(())
}

/// Escapes text for a table cell: pipes, newlines, and Markdown/HTML specials.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

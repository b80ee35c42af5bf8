//! The human report: a table per finding level and a one-line summary. Colour only when
//! the writer is a terminal (the caller wraps stdout in `anstream`, which strips styles
//! otherwise and honours `NO_COLOR`); the text reads the same without it.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{AuditReport, CheckReport, CheckStatus, Verdict};
use crate::finding::{Finding, Level};

const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();
const DIM: Style = Style::new().dimmed();

pub fn write(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    // With several lockfiles the same package can appear in more than one: say where.
    write_findings(&report.outcome.findings, report.lockfiles.len() > 1, out)?;
    write_audit_summary(report, out)?;
    verdict_line(report.verdict(), out)?;
    let (errors, warnings, waived) = (
        report.count(Level::Error),
        report.count(Level::Warning),
        report.count(Level::Info),
    );
    writeln!(
        out,
        ": {errors} failing, {warnings} warning{}, {waived} waived",
        if warnings == 1 { "" } else { "s" }
    )
}

/// The `vouch check` report: one line per check, then each check's findings.
pub fn write_check(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    for check in &report.checks {
        if check.findings.is_empty() {
            continue;
        }
        writeln!(out, "{DIM}── {} ──{DIM:#}", check.name)?;
        let lockfiles: std::collections::BTreeSet<_> = check
            .findings
            .iter()
            .filter_map(|f| f.package.as_ref().map(|p| &p.lockfile))
            .collect();
        write_findings(&check.findings, lockfiles.len() > 1, out)?;
    }
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for check in &report.checks {
        let (style, mark) = match &check.status {
            CheckStatus::Pass => (GREEN, "pass   "),
            CheckStatus::Fail => (RED, "fail   "),
            CheckStatus::Error(_) => (RED, "error  "),
            CheckStatus::Skipped(_) => (DIM, "skipped"),
        };
        write!(
            out,
            "{style}{mark}{style:#}  {:<width$}  {}",
            check.name, check.summary
        )?;
        match check.status.reason() {
            Some(why) => writeln!(out, ": {why}")?,
            None => writeln!(out)?,
        }
    }
    verdict_line(report.verdict(), out)?;
    writeln!(out)
}

fn verdict_line(verdict: Verdict, out: &mut dyn Write) -> io::Result<()> {
    match verdict {
        Verdict::Pass => write!(out, "{GREEN}PASS{GREEN:#}"),
        Verdict::Fail => write!(out, "{RED}FAIL{RED:#}"),
        Verdict::Error => write!(out, "{RED}ERROR{RED:#} (a check could not run)"),
    }
}

/// The findings table.
pub fn write_findings(
    findings: &[Finding],
    show_lockfile: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if !findings.is_empty() {
        let rows: Vec<[String; 5]> = findings.iter().map(|f| row(f, show_lockfile)).collect();
        let headers = ["LEVEL", "ID", "PACKAGE", "SEVERITY", "DETAIL"];
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row.iter()).take(4) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header = headers
            .iter()
            .zip(widths)
            .map(|(h, w)| format!("{h:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        writeln!(out, "{DIM}{}{DIM:#}", header.trim_end())?;
        for (finding, row) in findings.iter().zip(&rows) {
            let style = match finding.level {
                Level::Error => RED,
                Level::Warning => YELLOW,
                Level::Info => DIM,
            };
            let level = format!("{:<w$}", row[0], w = widths[0]);
            write!(out, "{style}{level}{style:#}")?;
            for (cell, w) in row[1..4].iter().zip(&widths[1..4]) {
                write!(out, "  {cell:<w$}")?;
            }
            writeln!(out, "  {}", row[4])?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn write_audit_summary(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let packages = report.outcome.packages_scanned();
    let ecosystems = report
        .outcome
        .scanned
        .iter()
        .map(|(e, n)| format!("{n} {e}"))
        .collect::<Vec<_>>()
        .join(", ");
    writeln!(
        out,
        "Scanned {packages} package{} ({ecosystems}) in {} lockfile{} against {}{}{}.",
        if packages == 1 { "" } else { "s" },
        report.lockfiles.len(),
        if report.lockfiles.len() == 1 { "" } else { "s" },
        report.database.source,
        report
            .database
            .commit
            .as_deref()
            .map(|c| format!(" @ {}", &c[..c.len().min(12)]))
            .unwrap_or_default(),
        report
            .outcome
            .local_summary()
            .map(|s| format!("; {s}"))
            .unwrap_or_default(),
    )?;
    for line in super::unscored_lines(&report.outcome) {
        writeln!(out, "{line}")?;
    }
    for remark in &report.outcome.remarks {
        writeln!(out, "Read: {remark}")?;
    }
    Ok(())
}

pub(crate) fn row(finding: &Finding, show_lockfile: bool) -> [String; 5] {
    let level = match (finding.level, &finding.waived_by) {
        (Level::Info, Some(_)) => "waived".to_string(),
        (level, _) => level.as_str().to_string(),
    };
    let id = finding
        .advisory
        .as_ref()
        .map(|a| a.id.clone())
        .or_else(|| finding.waiver.as_ref().map(|w| w.waiver.id.clone()))
        .unwrap_or_else(|| finding.code.as_str().to_string());
    let package = finding
        .package
        .as_ref()
        .map(|p| match (show_lockfile, p.line) {
            (true, Some(line)) => {
                format!("{} {} ({}:{line})", p.name, p.version, p.lockfile.display())
            }
            (true, None) => format!("{} {} ({})", p.name, p.version, p.lockfile.display()),
            (false, _) => format!("{} {}", p.name, p.version),
        })
        .unwrap_or_default();
    let severity = finding
        .advisory
        .as_ref()
        .map(|a| match (a.severity, a.cvss_score) {
            (Some(s), Some(score)) => format!("{s} ({score:.1})"),
            (Some(s), None) => s.to_string(),
            (None, _) => a.kind.as_str().replace("vulnerability", "unscored"),
        })
        .unwrap_or_default();
    let detail = match (&finding.advisory, &finding.waived_by, &finding.waiver) {
        (Some(a), Some(w), _) => format!(
            "{} [waived by {}:{}, owner {}, until {}]",
            a.title,
            w.file.display(),
            w.waiver.line,
            w.waiver.owner,
            w.waiver.expires
        ),
        (Some(a), None, _) => {
            let fixed = if a.fixed.is_empty() {
                "no fixed version".to_string()
            } else {
                format!("fixed: {}", a.fixed.join(", "))
            };
            format!("{} ({fixed})", a.title)
        }
        (None, _, Some(w)) => format!(
            "{} ({}:{})",
            finding.message,
            w.file.display(),
            w.waiver.line
        ),
        _ => finding.message.clone(),
    };
    [level, id, package, severity, detail]
}

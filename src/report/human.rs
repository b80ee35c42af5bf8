//! The human report: a table per finding level and a one-line summary. Colour only when
//! the writer is a terminal (the caller wraps stdout in `anstream`, which strips styles
//! otherwise and honours `NO_COLOR`); the text reads the same without it.
//!
//! Given a width (the terminal's, or `COLUMNS`), the table fits it: long cells wrap
//! inside their column, and when the detail column would be too narrow to read, each
//! finding's detail goes on the lines below it, indented, never back to column 0.
//! Without a width (output to a file or a pipe), each finding is one line.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use textwrap::core::display_width;

use super::{AuditReport, CheckReport, CheckStatus, Verdict, upgrade_advice};
use crate::finding::{Finding, Level};

const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();
const DIM: Style = Style::new().dimmed();

/// The detail column is never narrower than this; below it, details go under the row.
const MIN_DETAIL: usize = 30;
/// A package column wider than this wraps, to leave the detail room.
const WRAPPED_PACKAGE: usize = 24;

pub fn write(report: &AuditReport, width: Option<usize>, out: &mut dyn Write) -> io::Result<()> {
    // With several lockfiles the same package can appear in more than one: say where.
    write_findings(
        &report.outcome.findings,
        report.lockfiles.len() > 1,
        width,
        out,
    )?;
    write_audit_summary(report, width, out)?;
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
pub fn write_check(
    report: &CheckReport,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
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
        write_findings(&check.findings, lockfiles.len() > 1, width, out)?;
    }
    let name_width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    // "skipped  NAME  ": the summary wraps under itself.
    let indent = 7 + 2 + name_width + 2;
    for check in &report.checks {
        let (style, mark) = match &check.status {
            CheckStatus::Pass => (GREEN, "pass   "),
            CheckStatus::Fail => (RED, "fail   "),
            CheckStatus::Error(_) => (RED, "error  "),
            CheckStatus::Skipped(_) => (DIM, "skipped"),
        };
        let text = match check.status.reason() {
            Some(why) => format!("{}: {why}", check.summary),
            None => check.summary.clone(),
        };
        let lines = wrap(&text, width.map(|w| w.saturating_sub(indent)));
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                writeln!(
                    out,
                    "{style}{mark}{style:#}  {:<name_width$}  {line}",
                    check.name
                )?;
            } else {
                writeln!(out, "{:indent$}{line}", "")?;
            }
        }
        for claim in &check.claims {
            let style = if claim.matched { DIM } else { YELLOW };
            let line = format!("claim {claim}");
            for line in wrap(&line, width.map(|w| w.saturating_sub(indent))) {
                writeln!(out, "{:indent$}{style}{line}{style:#}", "")?;
            }
        }
    }
    if let Some(policy) = &report.policy {
        writeln!(out, "Policy: {}.", policy.display())?;
    }
    match report.verdict() {
        Verdict::Error if report.nothing_ran() => write!(
            out,
            "{RED}ERROR{RED:#} (no check ran: nothing to vouch for)"
        )?,
        verdict => verdict_line(verdict, out)?,
    }
    writeln!(out)
}

fn verdict_line(verdict: Verdict, out: &mut dyn Write) -> io::Result<()> {
    match verdict {
        Verdict::Pass => write!(out, "{GREEN}PASS{GREEN:#}"),
        Verdict::Fail => write!(out, "{RED}FAIL{RED:#}"),
        Verdict::Error => write!(out, "{RED}ERROR{RED:#} (a check could not run)"),
    }
}

/// `text` in lines of at most `width` columns (one line when there is no width), broken
/// at spaces only: ids, dates and versions keep their hyphens (a word longer than the
/// line is still cut).
fn wrap(text: &str, width: Option<usize>) -> Vec<String> {
    match width {
        Some(width) if width > 0 => textwrap::wrap(
            text,
            textwrap::Options::new(width).word_splitter(textwrap::WordSplitter::NoHyphenation),
        )
        .into_iter()
        .map(|line| line.into_owned())
        .collect(),
        _ => vec![text.to_string()],
    }
}

/// `text` padded with spaces to `width` display columns.
fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(display_width(text));
    format!("{text}{:fill$}", "")
}

/// How the table is laid out at a given width.
enum Layout {
    /// One row per finding, the package and detail cells wrapped to these widths.
    Table {
        package: usize,
        detail: Option<usize>,
    },
    /// The first four columns on the row, the detail on the lines below it, indented
    /// by the level column, wrapped to this width.
    Stacked { detail: usize },
}

fn layout(widths: &[usize; 5], width: Option<usize>) -> Layout {
    let Some(width) = width else {
        return Layout::Table {
            package: widths[2],
            detail: None,
        };
    };
    // Five columns, four gaps of two.
    let fixed = widths[0] + widths[1] + widths[3] + 4 * 2;
    let room = width.saturating_sub(fixed);
    if widths[2] + widths[4] <= room {
        return Layout::Table {
            package: widths[2],
            detail: None,
        };
    }
    for package in [widths[2], widths[2].min(WRAPPED_PACKAGE)] {
        if room.saturating_sub(package) >= MIN_DETAIL {
            return Layout::Table {
                package,
                detail: Some(room - package),
            };
        }
    }
    Layout::Stacked {
        detail: width.saturating_sub(widths[0] + 2).max(MIN_DETAIL),
    }
}

/// The findings table, fitted to `width` when there is one.
pub fn write_findings(
    findings: &[Finding],
    show_lockfile: bool,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if findings.is_empty() {
        return Ok(());
    }
    let rows: Vec<[String; 5]> = findings.iter().map(|f| row(f, show_lockfile)).collect();
    let headers = ["LEVEL", "ID", "PACKAGE", "SEVERITY", "DETAIL"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(display_width(cell));
        }
    }
    let layout = layout(&widths, width);
    let (package_width, header_cells) = match layout {
        Layout::Table { package, .. } => (package, 5),
        Layout::Stacked { .. } => (widths[2], 4),
    };
    let column_widths = [widths[0], widths[1], package_width, widths[3]];
    let header: Vec<String> = headers[..header_cells]
        .iter()
        .enumerate()
        .map(|(i, h)| match column_widths.get(i) {
            Some(w) => pad(h, *w),
            None => h.to_string(),
        })
        .collect();
    writeln!(out, "{DIM}{}{DIM:#}", header.join("  ").trim_end())?;
    for (finding, row) in findings.iter().zip(&rows) {
        let style = match finding.level {
            Level::Error => RED,
            Level::Warning => YELLOW,
            Level::Info => DIM,
        };
        let package = wrap(&row[2], Some(package_width));
        let detail = match layout {
            Layout::Table { detail, .. } => wrap(&row[4], detail),
            Layout::Stacked { .. } => Vec::new(),
        };
        let height = package.len().max(detail.len()).max(1);
        for i in 0..height {
            let level = if i == 0 { row[0].as_str() } else { "" };
            let cells = [
                if i == 0 { row[1].as_str() } else { "" },
                package.get(i).map_or("", String::as_str),
                if i == 0 { row[3].as_str() } else { "" },
            ];
            let mut line = format!("{style}{}{style:#}", pad(level, widths[0]));
            for (cell, w) in cells.iter().zip(&column_widths[1..]) {
                line.push_str("  ");
                line.push_str(&pad(cell, *w));
            }
            if let Some(text) = detail.get(i) {
                line.push_str("  ");
                line.push_str(text);
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        if let Layout::Stacked { detail } = layout {
            for text in wrap(&row[4], Some(detail)) {
                writeln!(out, "{:indent$}{text}", "", indent = widths[0] + 2)?;
            }
        }
    }
    writeln!(out)
}

fn write_audit_summary(
    report: &AuditReport,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let packages = report.outcome.packages_scanned();
    let ecosystems = report
        .outcome
        .scanned
        .iter()
        .map(|(e, n)| format!("{n} {e}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sources = report
        .databases
        .iter()
        .map(|s| {
            let id = match (&s.info.commit, &s.sha256) {
                (_, Some(digest)) => format!(", sha256:{}", &digest[..digest.len().min(12)]),
                (Some(commit), None) => format!(" @ {}", &commit[..commit.len().min(12)]),
                (None, None) => String::new(),
            };
            format!("{} ({}{id})", s.name(), s.info.source)
        })
        .collect::<Vec<_>>();
    let sources = match sources.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => report.database.source.clone(),
    };
    let text = format!(
        "Scanned {packages} package{} ({ecosystems}) in {} lockfile{} against {sources}{}.",
        if packages == 1 { "" } else { "s" },
        report.lockfiles.len(),
        if report.lockfiles.len() == 1 { "" } else { "s" },
        report
            .outcome
            .local_summary()
            .map(|s| format!("; {s}"))
            .unwrap_or_default(),
    );
    for line in wrap(&text, width) {
        writeln!(out, "{line}")?;
    }
    let mut settings = match &report.waiver_file {
        Some(path) => format!("Waivers: {}", path.display()),
        None => "Waivers: none".to_string(),
    };
    if let Some(policy) = &report.policy {
        settings.push_str(&format!("; policy: {}", policy.display()));
    }
    for line in wrap(&format!("{settings}."), width) {
        writeln!(out, "{line}")?;
    }
    for line in super::unscored_lines(&report.outcome) {
        for line in wrap(&line, width) {
            writeln!(out, "{line}")?;
        }
    }
    for remark in &report.outcome.remarks {
        for line in wrap(&format!("Read: {remark}"), width) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// One finding's cells: level, id, package, severity, detail. The detail is the
/// advisory's title (never its whole text) with what to upgrade to, or for a waived
/// finding the waiver: which of the advisory's ids it named, where, whose, until when.
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
            "{} [waived as {} by {}:{}, owner {}, until {}]",
            a.title,
            w.waiver.id,
            w.file.display(),
            w.waiver.line,
            w.waiver.owner,
            w.waiver.expires
        ),
        (Some(a), None, _) => format!("{} ({})", a.title, upgrade_advice(a)),
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

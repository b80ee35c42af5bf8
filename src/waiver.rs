//! The waiver file: the exceptions a team has agreed to, each with a reason, an owner and
//! an expiry date.
//!
//! Parsed strictly (unknown keys, missing fields, empty reasons and bad dates are errors
//! that point at the line and column) because a waiver that silently fails to parse is a
//! waiver nobody can trust. Matching is by any of an advisory's ids, optionally narrowed to
//! a package and a version requirement. This module never decides pass or fail.

use std::fs;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::Deserialize;
use toml::Spanned;

use crate::advisory::{Advisory, Kind};
use crate::lockfile::offset_to_line_column;
use crate::package::Package;

/// The file name looked for at the scanned root when `--waivers` is not given.
pub const DEFAULT_FILE_NAME: &str = "vouch-waivers.toml";

/// Waiver files over this size are refused.
const MAX_WAIVER_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// One validated waiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// The advisory id it names: any alias of the advisory (RUSTSEC-, CVE-, GHSA-, ...).
    pub id: String,
    pub package: Option<String>,
    /// The requirement as written, and parsed.
    pub versions: Option<(String, semver::VersionReq)>,
    pub reason: String,
    pub owner: String,
    pub expires: Date,
    /// 1-based line of the waiver's `id` key, for reports.
    pub line: usize,
}

/// Where a waiver stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active { days_left: i64 },
    ExpiringSoon { days_left: i64 },
    Expired { days_ago: i64 },
}

impl Waiver {
    /// Does this waiver name `advisory` and, where it narrows, `package`? A malicious
    /// package is covered only by a waiver that names the package and its exact version
    /// (`versions = "=1.2.3"`): "every version of this malware" is never waived by id alone.
    pub fn covers(&self, advisory: &Advisory, package: &Package) -> bool {
        if advisory.kind == Kind::Malicious {
            return advisory.is_known_as(&self.id) && self.names_exactly(package);
        }
        advisory.is_known_as(&self.id) && self.matches_package(package)
    }

    /// Does the waiver name this package and exactly this version?
    fn names_exactly(&self, package: &Package) -> bool {
        self.package.as_deref() == Some(package.name.as_str())
            && self.versions.as_ref().is_some_and(|(text, _)| {
                text.trim().strip_prefix('=').map(str::trim) == Some(package.version.as_str())
            })
    }

    /// Does the waiver's package/version narrowing (if any) admit `package`?
    pub fn matches_package(&self, package: &Package) -> bool {
        if let Some(name) = &self.package
            && *name != package.name
        {
            return false;
        }
        match &self.versions {
            None => true,
            // A version that does not parse is not covered: the finding stays (fail closed).
            Some((_, req)) => semver::Version::parse(package.version.trim_start_matches('v'))
                .is_ok_and(|v| req.matches(&v)),
        }
    }

    /// The waiver's status on `today`; it still waives on its expiry day.
    pub fn status(&self, today: Date, soon_days: i64) -> Status {
        let days_left = days_between(today, self.expires);
        if days_left < 0 {
            Status::Expired {
                days_ago: -days_left,
            }
        } else if days_left <= soon_days {
            Status::ExpiringSoon { days_left }
        } else {
            Status::Active { days_left }
        }
    }
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    let days = |d: Date| {
        d.to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_second() / 86_400)
            .unwrap_or(0)
    };
    days(to) - days(from)
}

/// A parsed waiver file.
#[derive(Debug, Clone)]
pub struct WaiverFile {
    pub path: PathBuf,
    pub waivers: Vec<Waiver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    waiver: Vec<RawWaiver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    id: Spanned<String>,
    package: Option<Spanned<String>>,
    versions: Option<Spanned<String>>,
    reason: Spanned<String>,
    owner: Spanned<String>,
    expires: Spanned<RawDate>,
}

/// `expires = 2026-12-31` (a TOML date) or `expires = "2026-12-31"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDate {
    Toml(toml::value::Datetime),
    Text(String),
}

impl WaiverFile {
    pub fn load(path: &Path) -> Result<WaiverFile, Error> {
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = fs::metadata(path).map_err(io_err)?.len();
        if size > MAX_WAIVER_FILE_BYTES {
            return Err(Error::Invalid {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!(
                    "file is {size} bytes, over the {MAX_WAIVER_FILE_BYTES}-byte limit"
                ),
            });
        }
        let text = fs::read_to_string(path).map_err(io_err)?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<WaiverFile, Error> {
        let at = |offset: usize, message: String| {
            let (line, column) = offset_to_line_column(text, offset);
            Error::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, e.message().trim().to_string())
        })?;

        let mut waivers = Vec::with_capacity(raw.waiver.len());
        for w in raw.waiver {
            let non_empty = |field: &Spanned<String>, name: &str| {
                let value = field.get_ref().trim();
                if value.is_empty() {
                    Err(at(
                        field.span().start,
                        format!("`{name}` must not be empty"),
                    ))
                } else {
                    Ok(value.to_string())
                }
            };
            let id = non_empty(&w.id, "id")?;
            if id.contains(char::is_whitespace) {
                return Err(at(
                    w.id.span().start,
                    format!("`id` `{id}` contains whitespace"),
                ));
            }
            let reason = non_empty(&w.reason, "reason")?;
            let owner = non_empty(&w.owner, "owner")?;
            let package = w
                .package
                .as_ref()
                .map(|p| non_empty(p, "package"))
                .transpose()?;
            let versions = match &w.versions {
                None => None,
                Some(v) => {
                    let text = non_empty(v, "versions")?;
                    let req = semver::VersionReq::parse(&text).map_err(|e| {
                        at(
                            v.span().start,
                            format!("`versions` is not a version requirement: {e}"),
                        )
                    })?;
                    Some((text, req))
                }
            };
            let expires = parse_date(w.expires.get_ref()).ok_or_else(|| {
                at(
                    w.expires.span().start,
                    "`expires` must be a date written YYYY-MM-DD".to_string(),
                )
            })?;
            let (line, _) = offset_to_line_column(text, w.id.span().start);
            waivers.push(Waiver {
                id,
                package,
                versions,
                reason,
                owner,
                expires,
                line,
            });
        }
        Ok(WaiverFile {
            path: path.to_path_buf(),
            waivers,
        })
    }
}

fn parse_date(raw: &RawDate) -> Option<Date> {
    match raw {
        RawDate::Toml(dt) => {
            let date = dt.date.as_ref()?;
            if dt.time.is_some() || dt.offset.is_some() {
                return None;
            }
            Date::new(date.year as i16, date.month as i8, date.day as i8).ok()
        }
        RawDate::Text(text) => {
            let text = text.trim();
            // Exactly YYYY-MM-DD: no times, no other layouts that could be misread.
            if text.len() != 10 || text.as_bytes()[4] != b'-' || text.as_bytes()[7] != b'-' {
                return None;
            }
            text.parse::<Date>().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WaiverFile, Error> {
        WaiverFile::parse(Path::new("w.toml"), text)
    }

    fn err_at(text: &str) -> (usize, usize, String) {
        match parse(text).unwrap_err() {
            Error::Invalid {
                line,
                column,
                message,
                ..
            } => (line, column, message),
            e => panic!("{e}"),
        }
    }

    const VALID: &str = r#"
[[waiver]]
id = "CVE-2020-26235"
package = "time"
versions = "<0.2.23"
reason = "not reachable: we never call localtime"
owner = "platform-team"
expires = 2026-12-31

[[waiver]]
id = "RUSTSEC-2019-0009"
reason = "r"
owner = "o"
expires = "2027-01-02"
"#;

    #[test]
    fn parses_both_date_spellings_and_records_lines() {
        let file = parse(VALID).unwrap();
        assert_eq!(file.waivers.len(), 2);
        assert_eq!(file.waivers[0].expires, jiff::civil::date(2026, 12, 31));
        assert_eq!(file.waivers[0].line, 3);
        assert_eq!(file.waivers[1].expires, jiff::civil::date(2027, 1, 2));
        assert_eq!(file.waivers[0].versions.as_ref().unwrap().0, "<0.2.23");
    }

    #[test]
    fn an_empty_file_has_no_waivers() {
        assert!(parse("").unwrap().waivers.is_empty());
    }

    #[test]
    fn unknown_keys_are_located() {
        let (line, _, msg) = err_at(
            "[[waiver]]\nid = \"X\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-01-01\nowners = \"x\"\n",
        );
        assert!(msg.contains("unknown field `owners`"), "{msg}");
        assert_eq!(line, 6);
    }

    #[test]
    fn missing_fields_are_errors() {
        let (_, _, msg) = err_at("[[waiver]]\nid = \"X\"\nreason = \"r\"\nexpires = 2026-01-01\n");
        assert!(msg.contains("missing field `owner`"), "{msg}");
    }

    #[test]
    fn bad_dates_are_located() {
        for bad in [
            "\"2026-13-01\"",
            "\"31/12/2026\"",
            "2026-01-01T10:00:00Z",
            "\"2026-1-1\"",
        ] {
            let text =
                format!("[[waiver]]\nid = \"X\"\nreason = \"r\"\nowner = \"o\"\nexpires = {bad}\n");
            let (line, column, msg) = err_at(&text);
            assert_eq!((line, column), (5, 11), "{bad}: {msg}");
            assert!(msg.contains("YYYY-MM-DD"), "{msg}");
        }
    }

    #[test]
    fn empty_reason_and_bad_requirement_are_errors() {
        let (line, _, msg) = err_at(
            "[[waiver]]\nid = \"X\"\nreason = \"  \"\nowner = \"o\"\nexpires = 2026-01-01\n",
        );
        assert_eq!(line, 3);
        assert!(msg.contains("`reason` must not be empty"), "{msg}");
        let (line, _, msg) = err_at(
            "[[waiver]]\nid = \"X\"\nversions = \"~>1\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-01-01\n",
        );
        assert_eq!(line, 3);
        assert!(msg.contains("version requirement"), "{msg}");
    }

    #[test]
    fn status_counts_whole_days_and_waives_on_the_expiry_day() {
        let file = parse(VALID).unwrap();
        let w = &file.waivers[0];
        let day = jiff::civil::date;
        assert_eq!(
            w.status(day(2026, 12, 31), 14),
            Status::ExpiringSoon { days_left: 0 }
        );
        assert_eq!(
            w.status(day(2027, 1, 1), 14),
            Status::Expired { days_ago: 1 }
        );
        assert_eq!(
            w.status(day(2026, 12, 17), 14),
            Status::ExpiringSoon { days_left: 14 }
        );
        assert_eq!(
            w.status(day(2026, 12, 16), 14),
            Status::Active { days_left: 15 }
        );
    }
}

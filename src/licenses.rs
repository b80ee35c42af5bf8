//! The license policy: each package's declared license against the allow and deny lists.
//!
//! An expression passes when it can be satisfied using only licenses that are allowed
//! (any license, when the allow list is empty) and not denied: `MIT OR GPL-3.0-only`
//! passes a policy that denies GPL-3.0-only, `MIT AND GPL-3.0-only` does not. A package
//! whose license is unknown or not valid SPDX is reported per the policy's `unknown`.
//! Waivers name a finding code (`license-denied`, `license-not-allowed`,
//! `license-unknown`) narrowed to a package, and may narrow versions too.

use std::collections::BTreeSet;

use jiff::civil::Date;

use crate::finding::{Finding, Level, PackageLocation, WaiverLocation};
use crate::lockfile::Lockfile;
use crate::policy::{Action, LicensePolicy};
use crate::sbom::{License, Resolver};
use crate::waiver::{Status, WaiverFile};

use crate::finding::Code;

/// Waiver ids that address license findings rather than advisories.
pub const WAIVER_IDS: &[&str] = &["license-denied", "license-not-allowed", "license-unknown"];

fn ids(list: &[String]) -> BTreeSet<String> {
    list.iter()
        .filter_map(|e| spdx::Expression::parse(e).ok())
        .flat_map(|e| {
            e.requirements()
                .map(|r| r.req.license.to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The license findings for every package of `lockfiles`.
pub fn check(
    lockfiles: &[Lockfile],
    resolver: &Resolver,
    policy: &LicensePolicy,
    waivers: Option<&WaiverFile>,
    today: Date,
) -> Vec<Finding> {
    let allow = ids(&policy.allow);
    let deny = ids(&policy.deny);
    let mut findings = Vec::new();
    for lockfile in lockfiles {
        for package in &lockfile.packages {
            if matches!(package.source, crate::package::Source::Path(_)) {
                continue; // the project's own crates are not third-party licenses
            }
            let license = resolver.license(package);
            let (code, level, message) = match &license {
                License::Spdx(text) => {
                    let Ok(expr) = spdx::Expression::parse(text) else {
                        continue;
                    };
                    let ok = expr.evaluate(|req| {
                        let id = req.license.to_string();
                        !deny.contains(&id) && (allow.is_empty() || allow.contains(&id))
                    });
                    if ok {
                        continue;
                    }
                    let denied = expr
                        .requirements()
                        .any(|r| deny.contains(&r.req.license.to_string()));
                    if denied {
                        (
                            Code::LicenseDenied,
                            Level::Error,
                            format!(
                                "{} {} is licensed `{text}`, which the policy denies",
                                package.name, package.version
                            ),
                        )
                    } else {
                        (
                            Code::LicenseNotAllowed,
                            Level::Error,
                            format!(
                                "{} {} is licensed `{text}`, which is not in the policy's allow list",
                                package.name, package.version
                            ),
                        )
                    }
                }
                License::Other { text, .. } => (
                    Code::LicenseUnknown,
                    unknown_level(policy.unknown),
                    format!(
                        "{} {} declares `{text}`, which is not an SPDX license expression",
                        package.name, package.version
                    ),
                ),
                License::Unknown => (
                    Code::LicenseUnknown,
                    unknown_level(policy.unknown),
                    format!(
                        "{} {}: no declared license found",
                        package.name, package.version
                    ),
                ),
            };
            let waived_by = waivers.and_then(|file| {
                file.waivers
                    .iter()
                    .find(|w| {
                        w.id == code.as_str()
                            && w.matches_package(package)
                            && !matches!(w.status(today, 0), Status::Expired { .. })
                    })
                    .map(|w| WaiverLocation {
                        file: file.path.clone(),
                        waiver: w.clone(),
                    })
            });
            findings.push(Finding {
                code,
                level: if waived_by.is_some() {
                    Level::Info
                } else {
                    level
                },
                message,
                advisory: None,
                package: Some(PackageLocation {
                    lockfile: lockfile.path.clone(),
                    line: package.line,
                    ecosystem: package.ecosystem,
                    name: package.name.clone(),
                    version: package.version.clone(),
                    purl: package.purl(),
                }),
                waiver: None,
                waived_by,
            });
        }
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings
}

fn unknown_level(action: Action) -> Level {
    match action {
        Action::Deny => Level::Error,
        Action::Warn => Level::Warning,
    }
}

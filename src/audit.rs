//! The audit: packages × advisories × waivers → findings.
//!
//! Pure logic over already-loaded inputs (lockfiles, an advisory source, a waiver file,
//! settings, today's date): no I/O beyond asking the advisory source for a package's
//! advisories, no printing, no exit codes. The verdict follows from the findings' levels.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::civil::Date;

use crate::advisory::rustsec::{self, RustSecDb};
use crate::advisory::{Advisory, Informational, Kind, Severity};
use crate::finding::{Code, Finding, Level, PackageLocation, WaiverLocation};
use crate::lockfile::Lockfile;
use crate::package::{Ecosystem, Package};
use crate::waiver::{Status, WaiverFile};

/// What fails the audit.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Vulnerabilities below this severity are warnings; `None`: every vulnerability fails.
    pub fail_on: Option<Severity>,
    /// Vulnerabilities without a CVSS score are warnings instead of failures.
    pub allow_unscored: bool,
    /// Informational kinds that fail instead of warning.
    pub deny: BTreeSet<Informational>,
    /// A waiver that matched nothing fails instead of warning.
    pub deny_unused_waivers: bool,
    /// A waiver expiring within this many days is a warning.
    pub expiring_soon_days: i64,
    /// Skip packages the lockfile marks as development-only.
    pub exclude_dev: bool,
    /// Only audit these ecosystems (all when empty).
    pub ecosystems: Vec<Ecosystem>,
    /// Vulnerabilities with no fixed version warn instead of failing.
    pub ignore_unfixed: bool,
    /// A waiver expiring further ahead than this many days fails the gate.
    pub waiver_max_days: Option<i64>,
    /// The date waivers are judged on.
    pub today: Date,
}

impl Settings {
    pub fn new(today: Date) -> Self {
        Settings {
            fail_on: None,
            allow_unscored: false,
            deny: BTreeSet::new(),
            deny_unused_waivers: false,
            expiring_soon_days: 14,
            exclude_dev: false,
            ecosystems: Vec::new(),
            ignore_unfixed: false,
            waiver_max_days: None,
            today,
        }
    }
}

/// The result of an audit.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Packages scanned, per ecosystem.
    pub scanned: BTreeMap<Ecosystem, usize>,
}

impl Outcome {
    pub fn packages_scanned(&self) -> usize {
        self.scanned.values().sum()
    }
}

/// Advisories for one package, fetched once per name from the sources.
struct AdvisoryIndex<'a> {
    rustsec: &'a RustSecDb,
    by_name: HashMap<(Ecosystem, String), Vec<Arc<Advisory>>>,
}

impl AdvisoryIndex<'_> {
    fn for_package(&mut self, package: &Package) -> Result<&[Arc<Advisory>], rustsec::Error> {
        let key = (package.ecosystem, package.name.clone());
        if !self.by_name.contains_key(&key) {
            let advisories = match package.ecosystem {
                Ecosystem::Cargo => self.rustsec.advisories_for(&package.name)?,
                _ => Vec::new(),
            };
            self.by_name
                .insert(key.clone(), advisories.into_iter().map(Arc::new).collect());
        }
        Ok(self.by_name.get(&key).map(Vec::as_slice).unwrap_or(&[]))
    }
}

/// Runs the audit.
pub fn run(
    lockfiles: &[Lockfile],
    rustsec: &RustSecDb,
    waivers: Option<&WaiverFile>,
    settings: &Settings,
) -> Result<Outcome, rustsec::Error> {
    let mut index = AdvisoryIndex {
        rustsec,
        by_name: HashMap::new(),
    };
    let all_waivers = waivers.map(|f| f.waivers.as_slice()).unwrap_or(&[]);
    let mut used = vec![false; all_waivers.len()];
    let mut findings = Vec::new();
    let mut scanned: BTreeMap<Ecosystem, usize> = BTreeMap::new();

    for lockfile in lockfiles {
        let ecosystem_wanted = settings.ecosystems.is_empty()
            || settings.ecosystems.contains(&lockfile.format.ecosystem());
        if ecosystem_wanted {
            // What the parser could not pin is reported, never silently dropped.
            findings.extend(lockfile.notes.iter().map(|note| Finding {
                code: Code::PackageNotAudited,
                level: Level::Warning,
                message: match note.line {
                    Some(line) => format!("{}:{line}: {}", lockfile.path.display(), note.message),
                    None => format!("{}: {}", lockfile.path.display(), note.message),
                },
                advisory: None,
                package: None,
                waiver: None,
                waived_by: None,
            }));
        }
        for package in &lockfile.packages {
            if settings.exclude_dev && package.dev {
                continue;
            }
            if !settings.ecosystems.is_empty() && !settings.ecosystems.contains(&package.ecosystem)
            {
                continue;
            }
            *scanned.entry(package.ecosystem).or_default() += 1;
            for advisory in index.for_package(package)? {
                if !advisory.affects(package) {
                    continue;
                }
                let (code, failing) = classify(advisory, settings);
                let mut level = if failing {
                    Level::Error
                } else {
                    Level::Warning
                };
                let mut waived_by = None;
                for (i, waiver) in all_waivers.iter().enumerate() {
                    if !waiver.covers(advisory, package) {
                        continue;
                    }
                    used[i] = true;
                    let expired = matches!(
                        waiver.status(settings.today, settings.expiring_soon_days),
                        Status::Expired { .. }
                    );
                    if !expired && waived_by.is_none() {
                        level = Level::Info;
                        waived_by = Some(WaiverLocation {
                            file: waivers.map(|f| f.path.clone()).unwrap_or_default(),
                            waiver: waiver.clone(),
                        });
                    }
                }
                findings.push(Finding {
                    code,
                    level,
                    message: advisory_message(advisory, package),
                    advisory: Some(Arc::clone(advisory)),
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
    }

    if let Some(file) = waivers {
        for (waiver, used) in file.waivers.iter().zip(used) {
            let location = || {
                Some(WaiverLocation {
                    file: file.path.clone(),
                    waiver: waiver.clone(),
                })
            };
            let id = &waiver.id;
            match waiver.status(settings.today, settings.expiring_soon_days) {
                Status::Expired { days_ago } => findings.push(Finding {
                    code: Code::WaiverExpired,
                    level: Level::Error,
                    message: format!(
                        "waiver for {id} expired on {} ({days_ago} day{} ago); owner: {}",
                        waiver.expires,
                        plural(days_ago),
                        waiver.owner
                    ),
                    advisory: None,
                    package: None,
                    waiver: location(),
                    waived_by: None,
                }),
                status => {
                    if let Some(max) = settings.waiver_max_days
                        && let Status::Active { days_left } | Status::ExpiringSoon { days_left } =
                            status
                        && days_left > max
                    {
                        findings.push(Finding {
                            code: Code::WaiverExpiryTooFar,
                            level: Level::Error,
                            message: format!(
                                "waiver for {id} expires on {} ({days_left} days ahead), past the policy's limit of {max} days; owner: {}",
                                waiver.expires, waiver.owner
                            ),
                            advisory: None,
                            package: None,
                            waiver: location(),
                            waived_by: None,
                        });
                    }
                    if let Status::ExpiringSoon { days_left } = status {
                        findings.push(Finding {
                            code: Code::WaiverExpiringSoon,
                            level: Level::Warning,
                            message: format!(
                                "waiver for {id} expires on {} (in {days_left} day{}); owner: {}",
                                waiver.expires,
                                plural(days_left),
                                waiver.owner
                            ),
                            advisory: None,
                            package: None,
                            waiver: location(),
                            waived_by: None,
                        });
                    }
                    if !used {
                        findings.push(Finding {
                            code: Code::WaiverUnused,
                            level: if settings.deny_unused_waivers {
                                Level::Error
                            } else {
                                Level::Warning
                            },
                            message: format!("waiver for {id} matched no package"),
                            advisory: None,
                            package: None,
                            waiver: location(),
                            waived_by: None,
                        });
                    }
                }
            }
        }
    }

    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(Outcome { findings, scanned })
}

/// The finding code for an advisory, and whether it fails under `settings`.
fn classify(advisory: &Advisory, settings: &Settings) -> (Code, bool) {
    match &advisory.kind {
        Kind::Vulnerability => {
            let failing = match (advisory.severity, settings.fail_on) {
                (None, _) => !settings.allow_unscored,
                (Some(_), None) => true,
                (Some(severity), Some(threshold)) => severity >= threshold,
            } && !(settings.ignore_unfixed && advisory.fixed.is_empty());
            (Code::VulnerablePackage, failing)
        }
        Kind::Informational(kind) => {
            let code = match kind {
                Informational::Unmaintained => Code::UnmaintainedPackage,
                Informational::Unsound => Code::UnsoundPackage,
                Informational::Notice => Code::AdvisoryNotice,
                Informational::Other(_) => Code::InformationalAdvisory,
            };
            (code, settings.deny.contains(kind))
        }
    }
}

fn advisory_message(advisory: &Advisory, package: &Package) -> String {
    format!(
        "{} {} is affected by {}: {}",
        package.name, package.version, advisory.id, advisory.title
    )
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

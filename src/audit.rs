//! The audit: packages × advisories × waivers → findings.
//!
//! Pure logic over already-loaded inputs (lockfiles, an advisory source, a waiver file,
//! settings, today's date): no I/O beyond asking the advisory source for a package's
//! advisories, no printing, no exit codes. The verdict follows from the findings' levels.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use jiff::civil::Date;

use crate::advisory::osv::{self, OsvDb};
use crate::advisory::rustsec::{self, RustSecDb};
use crate::advisory::{Advisory, Informational, Kind, Severity, names_malicious};
use crate::finding::{Code, Finding, Level, PackageLocation, WaiverLocation};
use crate::lockfile::Lockfile;
use crate::package::{Ecosystem, LocalKind, Package};
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
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Packages scanned, per ecosystem.
    pub scanned: BTreeMap<Ecosystem, usize>,
    /// The project's own packages: counted, never audited as registry packages.
    pub local: Vec<LocalPackage>,
    /// Vulnerabilities found without any severity, per ecosystem: some databases (Go's,
    /// PyPA's) never score, which the report says once instead of once per finding.
    pub unscored: BTreeMap<Ecosystem, usize>,
    /// How lockfiles were read where a parser did more than read the file (e.g. a go.mod
    /// older than Go 1.17 completed from go.sum), as `path[:line]: message`.
    pub remarks: Vec<String>,
}

impl Outcome {
    pub fn packages_scanned(&self) -> usize {
        self.scanned.values().sum()
    }

    /// "3 local (not audited: 2 workspace members, 1 local path)", or `None` without any.
    pub fn local_summary(&self) -> Option<String> {
        if self.local.is_empty() {
            return None;
        }
        let mut by_kind: BTreeMap<LocalKind, usize> = BTreeMap::new();
        for local in &self.local {
            *by_kind.entry(local.kind).or_default() += 1;
        }
        let kinds = by_kind
            .iter()
            .map(|(kind, n)| format!("{n} {}{}", kind.describe(), plural(*n as i64)))
            .collect::<Vec<_>>()
            .join(", ");
        Some(format!(
            "{} local (the project's own, not audited: {kinds})",
            self.local.len()
        ))
    }
}

/// A package of the project's own, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalPackage {
    pub lockfile: PathBuf,
    pub line: Option<usize>,
    pub ecosystem: Ecosystem,
    /// The name, or for an entry the lockfile gives no name, what it says instead.
    pub name: String,
    /// `None` where the lockfile records no version (a pnpm importer, a link).
    pub version: Option<String>,
    pub kind: LocalKind,
}

/// The advisory databases an audit reads.
#[derive(Clone, Copy, Default)]
pub struct Sources<'a> {
    pub rustsec: Option<&'a RustSecDb>,
    pub osv: Option<&'a OsvDb>,
}

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    RustSec(#[from] rustsec::Error),
    #[error(transparent)]
    Osv(#[from] osv::Error),
    #[error(
        "no advisory database for {0} packages: run `vouch db update`, or pass --db (RustSec) or --osv"
    )]
    NoSource(Ecosystem),
}

/// Advisories for one package name, fetched once from every source that covers its
/// ecosystem. A source that should cover it but cannot be read is an error.
struct AdvisoryIndex<'a> {
    sources: Sources<'a>,
    by_name: HashMap<(Ecosystem, String), Vec<Arc<Advisory>>>,
    /// Whether the OSV database has each ecosystem, once asked.
    osv_has: Vec<(Ecosystem, bool)>,
}

impl AdvisoryIndex<'_> {
    fn for_package(&mut self, package: &Package) -> Result<&[Arc<Advisory>], Error> {
        let AdvisoryIndex {
            sources,
            by_name,
            osv_has,
        } = self;
        let slot = match by_name.entry((package.ecosystem, package.name.clone())) {
            std::collections::hash_map::Entry::Occupied(found) => found.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let mut advisories = Vec::new();
                let mut covered = false;
                if package.ecosystem == Ecosystem::Cargo
                    && let Some(db) = sources.rustsec
                {
                    advisories.extend(db.advisories_for(&package.name)?);
                    covered = true;
                }
                if let Some(db) = sources.osv {
                    // Asked once per ecosystem, not per package (it looks at the disk).
                    let has = match osv_has.iter().find(|(e, _)| *e == package.ecosystem) {
                        Some(&(_, has)) => has,
                        None => {
                            let has = db.has(package.ecosystem);
                            osv_has.push((package.ecosystem, has));
                            has
                        }
                    };
                    // crates.io: OSV adds to RustSec when present; elsewhere OSV is required.
                    if has || !covered {
                        advisories.extend(db.advisories_for(package.ecosystem, &package.name)?);
                        covered = true;
                    }
                }
                if !covered {
                    return Err(Error::NoSource(package.ecosystem));
                }
                slot.insert(advisories.into_iter().map(Arc::new).collect())
            }
        };
        Ok(slot.as_slice())
    }
}

/// Groups advisories that share an id or alias (one vulnerability, several databases)
/// and merges each group into one advisory: the first source (RustSec before OSV) gives
/// the id and title, every id of the group becomes an alias, and the group is as severe as
/// its most severe record (the highest rating and score, the most severe kind: one
/// database's "medium" must not hide another's "critical"). An advisory that any id of
/// the group calls malicious (`MAL-`) is a malicious-package report.
fn merge(matched: Vec<Arc<Advisory>>) -> Vec<Arc<Advisory>> {
    let mut groups: Vec<Vec<Arc<Advisory>>> = Vec::new();
    for advisory in matched {
        let ids: Vec<String> = std::iter::once(&advisory.id)
            .chain(&advisory.aliases)
            .map(|i| i.to_ascii_uppercase())
            .collect();
        let mut joined: Option<usize> = None;
        let mut g = 0;
        while g < groups.len() {
            let shares = groups[g]
                .iter()
                .any(|a| ids.iter().any(|id| a.is_known_as(id)));
            if shares {
                match joined {
                    None => joined = Some(g),
                    Some(first) => {
                        let moved = groups.remove(g);
                        groups[first].extend(moved);
                        continue;
                    }
                }
            }
            g += 1;
        }
        match joined {
            Some(g) => groups[g].push(advisory),
            None => groups.push(vec![advisory]),
        }
    }
    groups.into_iter().map(merge_group).collect()
}

/// One group of records about the same problem → one advisory (see [`merge`]).
fn merge_group(mut group: Vec<Arc<Advisory>>) -> Arc<Advisory> {
    group.sort_by(|a, b| (a.source(), &a.id).cmp(&(b.source(), &b.id)));
    let malicious = group
        .iter()
        .any(|a| names_malicious(std::iter::once(&a.id).chain(&a.aliases)));
    if group.len() == 1 && (!malicious || group[0].kind == Kind::Malicious) {
        return group.remove(0);
    }
    let mut merged = (*group[0]).clone();
    let mut aliases: Vec<String> = group
        .iter()
        .flat_map(|a| std::iter::once(&a.id).chain(&a.aliases))
        .filter(|id| !id.eq_ignore_ascii_case(&merged.id))
        .cloned()
        .collect();
    aliases.sort();
    aliases.dedup();
    merged.aliases = aliases;
    // The most severe rating, then the highest score; on a tie the first source's.
    let rating = |a: &Advisory| (a.severity, a.cvss_score.unwrap_or(f64::NEG_INFINITY));
    let mut worst = &group[0];
    for candidate in &group[1..] {
        let (cs, cn) = rating(candidate);
        let (ws, wn) = rating(worst);
        if cs.cmp(&ws).then(cn.total_cmp(&wn)).is_gt() {
            worst = candidate;
        }
    }
    merged.severity = worst.severity;
    merged.cvss_score = worst.cvss_score;
    merged.cvss_vector = worst.cvss_vector.clone();
    if let Some(kind) = group.iter().map(|a| &a.kind).max_by_key(|k| k.rank())
        && kind.rank() > merged.kind.rank()
    {
        merged.kind = kind.clone();
    }
    if malicious {
        merged.kind = Kind::Malicious;
    }
    if merged.fixed.is_empty()
        && let Some(fixed) = group.iter().find(|a| !a.fixed.is_empty())
    {
        merged.fixed = fixed.fixed.clone();
    }
    Arc::new(merged)
}

/// Runs the audit.
pub fn run(
    lockfiles: &[Lockfile],
    sources: Sources<'_>,
    waivers: Option<&WaiverFile>,
    settings: &Settings,
) -> Result<Outcome, Error> {
    let mut index = AdvisoryIndex {
        sources,
        by_name: HashMap::with_capacity(lockfiles.iter().map(|l| l.packages.len()).sum()),
        osv_has: Vec::new(),
    };
    let all_waivers = waivers.map(|f| f.waivers.as_slice()).unwrap_or(&[]);
    let mut used = vec![false; all_waivers.len()];
    let mut findings = Vec::new();
    let mut outcome = Outcome::default();

    for lockfile in lockfiles {
        // An SBOM's notes are about packages of no single ecosystem: always shown.
        let ecosystem_wanted = settings.ecosystems.is_empty()
            || lockfile
                .format
                .ecosystem()
                .is_none_or(|e| settings.ecosystems.contains(&e));
        if ecosystem_wanted {
            for note in &lockfile.notes {
                let located = match note.line {
                    Some(line) => format!("{}:{line}: {}", lockfile.path.display(), note.message),
                    None => format!("{}: {}", lockfile.path.display(), note.message),
                };
                if note.remark {
                    outcome.remarks.push(located);
                } else if let (Some(kind), Some(ecosystem)) =
                    (note.local, lockfile.format.ecosystem())
                {
                    outcome.local.push(LocalPackage {
                        lockfile: lockfile.path.clone(),
                        line: note.line,
                        ecosystem,
                        name: note.message.clone(),
                        version: None,
                        kind,
                    });
                } else {
                    // What the parser could not pin is reported, never silently dropped.
                    findings.push(Finding {
                        code: Code::PackageNotAudited,
                        level: Level::Warning,
                        message: located,
                        advisory: None,
                        package: None,
                        waiver: None,
                        waived_by: None,
                    });
                }
            }
            if settings.exclude_dev
                && let Some(why) = &lockfile.dev_unknown
            {
                findings.push(Finding {
                    code: Code::DevPackagesUnknown,
                    level: Level::Warning,
                    message: format!(
                        "{}: --exclude-dev excludes nothing here: {why}",
                        lockfile.path.display()
                    ),
                    advisory: None,
                    package: None,
                    waiver: None,
                    waived_by: None,
                });
            }
        }
        for package in &lockfile.packages {
            if settings.exclude_dev && package.dev {
                continue;
            }
            if !settings.ecosystems.is_empty() && !settings.ecosystems.contains(&package.ecosystem)
            {
                continue;
            }
            // The project's own code is never matched against the registry package that
            // happens to share its name (a project called `aiohttp` is not aiohttp).
            if let Some(kind) = package.local_kind() {
                outcome.local.push(LocalPackage {
                    lockfile: lockfile.path.clone(),
                    line: package.line.map(|l| l as usize),
                    ecosystem: package.ecosystem,
                    name: package.name.clone(),
                    version: Some(package.version.clone()),
                    kind,
                });
                continue;
            }
            *outcome.scanned.entry(package.ecosystem).or_default() += 1;
            let matched: Vec<Arc<Advisory>> = index
                .for_package(package)?
                .iter()
                .filter(|a| a.affects(package))
                .cloned()
                .collect();
            for advisory in &merge(matched) {
                let (code, failing) = classify(advisory, settings);
                if advisory.kind == Kind::Vulnerability && advisory.severity.is_none() {
                    *outcome.unscored.entry(package.ecosystem).or_default() += 1;
                }
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
                    // License waivers belong to the license check, which reports its own.
                    if !used && !crate::licenses::WAIVER_IDS.contains(&waiver.id.as_str()) {
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
    outcome.findings = findings;
    Ok(outcome)
}

/// The finding code for an advisory, and whether it fails under `settings`.
fn classify(advisory: &Advisory, settings: &Settings) -> (Code, bool) {
    match &advisory.kind {
        // Malware has no safe version and no severity to weigh: always failing.
        Kind::Malicious => (Code::MaliciousPackage, true),
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

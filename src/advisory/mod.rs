//! Advisory data: the domain type every source is turned into, and the sources.
//!
//! Sources (`rustsec`, later OSV) read their native formats and produce [`Advisory`]
//! values; matching a package is [`Advisory::affects`], which applies the source's own
//! version semantics so answers agree with that source's reference tool. Nothing here
//! decides pass or fail: that is the audit's and the policy's job.

pub mod db;
pub mod fetch;
pub mod index_file;
pub mod osv;
pub mod rustsec;
pub mod version;

use std::fmt;
use std::str::FromStr;

use crate::package::{Ecosystem, Package, Source};

/// CVSS qualitative severity (CVSS v3.1 §5), ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Severity::None),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected none, low, medium, high or critical)"
            )),
        }
    }
}

/// Informational advisory kinds (RustSec's `informational = "..."`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Informational {
    Unmaintained,
    Unsound,
    Notice,
    Other(String),
}

impl Informational {
    pub fn as_str(&self) -> &str {
        match self {
            Informational::Unmaintained => "unmaintained",
            Informational::Unsound => "unsound",
            Informational::Notice => "notice",
            Informational::Other(s) => s,
        }
    }
}

impl FromStr for Informational {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unmaintained" => Ok(Informational::Unmaintained),
            "unsound" => Ok(Informational::Unsound),
            "notice" => Ok(Informational::Notice),
            other => Err(format!(
                "unknown advisory kind `{other}` (expected unmaintained, unsound or notice)"
            )),
        }
    }
}

/// What an advisory is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The package is malware (an OpenSSF `MAL-` report, or an advisory that names one):
    /// there is no safe version of it to upgrade to, only removal.
    Malicious,
    Vulnerability,
    Informational(Informational),
}

impl Kind {
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Malicious => "malicious",
            Kind::Vulnerability => "vulnerability",
            Kind::Informational(i) => i.as_str(),
        }
    }

    /// How much a kind matters when several records describe one problem: malicious code
    /// over a vulnerability over an informational notice.
    pub fn rank(&self) -> u8 {
        match self {
            Kind::Malicious => 2,
            Kind::Vulnerability => 1,
            Kind::Informational(_) => 0,
        }
    }
}

/// Do these ids name a malicious-package report? The OpenSSF malicious-packages data
/// (osv.dev's `MAL-` records) gives each report a `MAL-` id, and other databases that
/// describe the same malware (GHSA, RustSec) carry it as an alias.
pub fn names_malicious<'a>(ids: impl IntoIterator<Item = &'a String>) -> bool {
    ids.into_iter()
        .any(|id| id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("MAL-")))
}

/// Which versions an advisory affects, in the semantics of the source it came from.
#[derive(Clone, Debug)]
pub enum Affected {
    /// RustSec `[versions]`: matched with the `rustsec` crate, exactly as cargo-audit does.
    RustSec(::rustsec::advisory::Versions),
    /// OSV ranges and version lists, in the package ecosystem's version order.
    Osv(osv::OsvAffectedVersions),
}

/// Where an advisory came from; when several sources describe one vulnerability, the
/// first in this order speaks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceKind {
    RustSec,
    Osv,
}

/// One advisory about one package.
#[derive(Clone, Debug)]
pub struct Advisory {
    pub id: String,
    /// Other ids of the same vulnerability (CVE, GHSA, ...), without `id` itself.
    pub aliases: Vec<String>,
    pub ecosystem: Ecosystem,
    pub package: String,
    pub kind: Kind,
    pub severity: Option<Severity>,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    pub title: String,
    pub url: Option<String>,
    /// Human-readable fixed versions or requirements (`>= 1.2.3`).
    pub fixed: Vec<String>,
    pub affected: Affected,
    /// Only packages from the ecosystem's default registry are matched when set.
    pub default_registry_only: bool,
}

impl Advisory {
    /// Does this advisory apply to `package`? Name, source and version must all match.
    pub fn affects(&self, package: &Package) -> bool {
        if package.ecosystem != self.ecosystem || !osv::same_package(package, &self.package) {
            return false;
        }
        if self.default_registry_only && package.source != Source::Registry {
            return false;
        }
        match &self.affected {
            Affected::RustSec(versions) => match ::rustsec::Version::parse(&package.version) {
                Ok(version) => versions.is_vulnerable(&version),
                // Cargo.lock versions are semver; cargo-lock has already rejected others.
                Err(_) => false,
            },
            Affected::Osv(versions) => versions.affects(&package.version),
        }
    }

    /// Which database this advisory came from.
    pub fn source(&self) -> SourceKind {
        match self.affected {
            Affected::RustSec(_) => SourceKind::RustSec,
            Affected::Osv(_) => SourceKind::Osv,
        }
    }

    /// Is `id` this advisory's id or one of its aliases?
    pub fn is_known_as(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(id))
    }
}

//! Findings: what an audit (and later every check) reports, as data.
//!
//! A finding is never an error: a vulnerable package, an expired waiver, a bad signature
//! are all findings with a stable kebab-case [`Code`] and a [`Level`]. Only findings at
//! [`Level::Error`] fail the gate. "Could not check" is not a finding; it is an `Err`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::advisory::Advisory;
use crate::package::Ecosystem;
use crate::waiver::Waiver;

/// Stable identifiers for kinds of finding; machine outputs carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// The package is malware (an OpenSSF `MAL-` report): always failing, whatever the
    /// severity, score or fix settings; only a waiver naming the package and its exact
    /// version covers it.
    MaliciousPackage,
    VulnerablePackage,
    UnmaintainedPackage,
    UnsoundPackage,
    AdvisoryNotice,
    InformationalAdvisory,
    WaiverExpired,
    WaiverExpiringSoon,
    WaiverUnused,
    WaiverExpiryTooFar,
    AdvisoryDbStale,
    LicenseDenied,
    LicenseNotAllowed,
    LicenseUnknown,
    /// A lockfile entry that names no exact released version (an unpinned requirement,
    /// an editable or VCS dependency): it cannot be matched against advisories.
    PackageNotAudited,
    /// `--exclude-dev` asked for, but a lockfile cannot tell which of its packages are only
    /// for development: none of them is excluded.
    DevPackagesUnknown,
    /// The image has no signature at all.
    ImageNotSigned,
    /// Signatures exist, but none (or too few) verify under the policy for this digest.
    SignatureInvalid,
    /// A keyless signature verified, but its certificate names another identity/issuer.
    IdentityMismatch,
    /// No attestation of a required predicate type.
    AttestationMissing,
    /// Attestations of the type exist, but none (or too few) verify for this digest.
    AttestationInvalid,
    /// An `[[image]]` entry of the policy that `vouch check --image` did not verify (no
    /// `--image` names its repository): a warning, an error when the entry is `required`.
    ImageNotVerified,
    /// A verified SLSA provenance attestation of the image says another builder, build
    /// type, source repository or source ref than the `[[image]]` entry's `provenance`
    /// (or does not say it at all).
    ProvenanceMismatch,
    /// A check ran with a safeguard turned off on request (`--insecure-ignore-tlog`,
    /// `ignore-tlog = true`): a warning, so that every report shows it.
    VerificationWeakened,
}

impl Code {
    pub const ALL: &'static [Code] = &[
        Code::MaliciousPackage,
        Code::VulnerablePackage,
        Code::UnmaintainedPackage,
        Code::UnsoundPackage,
        Code::AdvisoryNotice,
        Code::InformationalAdvisory,
        Code::WaiverExpired,
        Code::WaiverExpiringSoon,
        Code::WaiverUnused,
        Code::WaiverExpiryTooFar,
        Code::AdvisoryDbStale,
        Code::LicenseDenied,
        Code::LicenseNotAllowed,
        Code::LicenseUnknown,
        Code::PackageNotAudited,
        Code::DevPackagesUnknown,
        Code::ImageNotSigned,
        Code::SignatureInvalid,
        Code::IdentityMismatch,
        Code::AttestationMissing,
        Code::AttestationInvalid,
        Code::ImageNotVerified,
        Code::ProvenanceMismatch,
        Code::VerificationWeakened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::MaliciousPackage => "malicious-package",
            Code::VulnerablePackage => "vulnerable-package",
            Code::UnmaintainedPackage => "unmaintained-package",
            Code::UnsoundPackage => "unsound-package",
            Code::AdvisoryNotice => "advisory-notice",
            Code::InformationalAdvisory => "informational-advisory",
            Code::WaiverExpired => "waiver-expired",
            Code::WaiverExpiringSoon => "waiver-expiring-soon",
            Code::WaiverUnused => "waiver-unused",
            Code::WaiverExpiryTooFar => "waiver-expiry-too-far",
            Code::AdvisoryDbStale => "advisory-db-stale",
            Code::LicenseDenied => "license-denied",
            Code::LicenseNotAllowed => "license-not-allowed",
            Code::LicenseUnknown => "license-unknown",
            Code::PackageNotAudited => "package-not-audited",
            Code::DevPackagesUnknown => "dev-packages-unknown",
            Code::ImageNotSigned => "image-not-signed",
            Code::SignatureInvalid => "signature-invalid",
            Code::IdentityMismatch => "identity-mismatch",
            Code::AttestationMissing => "attestation-missing",
            Code::AttestationInvalid => "attestation-invalid",
            Code::ImageNotVerified => "image-not-verified",
            Code::ProvenanceMismatch => "provenance-mismatch",
            Code::VerificationWeakened => "verification-weakened",
        }
    }
}

/// How much a finding matters. Only `Error` fails the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Fails the policy.
    Error,
    /// Reported, does not fail.
    Warning,
    /// Reported for the record (a waived advisory).
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

/// A locked package where a finding applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackageLocation {
    pub lockfile: PathBuf,
    pub line: Option<u32>,
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    pub purl: String,
}

/// A waiver, with the file it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaiverLocation {
    pub file: PathBuf,
    pub waiver: Waiver,
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub code: Code,
    pub level: Level,
    pub message: String,
    pub advisory: Option<Arc<Advisory>>,
    pub package: Option<PackageLocation>,
    /// For waiver findings: the waiver concerned.
    pub waiver: Option<WaiverLocation>,
    /// For advisory findings: the waiver that waived it.
    pub waived_by: Option<WaiverLocation>,
}

impl Finding {
    /// The order reports list findings in: failing malicious packages first, then failing
    /// findings, then by where and what.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            !(self.code == Code::MaliciousPackage && self.level == Level::Error),
            self.level,
            self.package.as_ref(),
            self.advisory.as_ref().map(|a| a.id.as_str()),
            self.code,
            self.waiver
                .as_ref()
                .map(|w| (w.file.clone(), w.waiver.line)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{s}"
            );
        }
    }
}

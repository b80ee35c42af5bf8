//! `vouch verify`: cosign signatures and in-toto attestations on an image digest.
//!
//! The flow: parse the reference → validate the policy (keys or identity, and the trusted
//! root: `--trusted-root`, else the embedded public-good one) ([`trust`]) → connect to
//! the registry ([`registry`]) → resolve a tag to its digest once (everything after uses
//! the digest) → gather the signature material (`material`):
//! cosign's `sha256-<hex>.sig` and `sha256-<hex>.att` tags, and the image's OCI 1.1
//! referrers (the referrers API, else its `sha256-<hex>` fallback tag): Sigstore bundles
//! and cosign signature/attestation manifests → judge each piece with [`trust::Trust`]
//! and check what was signed against the digest (`evidence`) → findings (`findings`).
//!
//! The rooms: finding material in registries ([`registry`], [`oci`], `material`); what
//! the material says ([`simple_signing`], [`dsse`]); the glue to sigstore-verify, which
//! verifies every Sigstore bundle and every keyless signature ([`sigstore`], with
//! [`sigstore::legacy`] turning cosign's legacy layers into bundles); vouch's own policy
//! ([`trust`]: keys or identity and the root, [`identity`]: exact or anchored-regex
//! matching, `findings`: `--threshold` and predicate types); and [`blob`] for
//! `vouch verify-blob`.
//!
//! Findings versus errors: an image that is not signed, a signature or attestation that
//! does not verify, an identity that does not match, a payload that names another image
//! are findings (exit 1). A registry that cannot be reached, refuses our credentials or
//! serves bytes that do not match their digest, a bad key file, a bad trusted root or a
//! bad reference are errors (exit 2): nothing could be checked.
//!
//! What counts as a signature of the image: a simple-signing payload (legacy `.sig`
//! layer or a cosign signature referrer) naming the digest; a bundle whose message
//! signature is over the digest; a bundle whose DSSE statement has cosign's signing
//! predicate (`https://sigstore.dev/cosign/sign/v1`) and names the digest. Any other
//! signed in-toto statement is an attestation, counted only for its predicate type.

pub mod blob;
pub mod claims;
pub mod dsse;
mod evidence;
mod findings;
pub mod identity;
pub mod keys;
mod material;
pub mod oci;
pub mod provenance;
pub mod registry;
pub mod sbom;
pub mod sigstore;
pub mod simple_signing;
pub mod trust;

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::finding::{Code, Finding, Level};
pub use keys::{KeyError, PublicKey};
use material::Material;
use registry::{Client, Digest, Reference, RegistryError, RegistryOptions};
use trust::Trust;

/// The media type of a cosign simple-signing layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The media type of a cosign attestation layer.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
pub use material::{
    ATTESTATION_ARTIFACT_TYPE, BUNDLE_ARTIFACT_PREFIX, EMPTY_MEDIA_TYPE, MAX_REFERRERS,
    SIGNATURE_ARTIFACT_TYPE,
};
pub use trust::SIGNATURE_ANNOTATION;
/// The predicate type of cosign's bundle-format image signature.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum Policy {
    /// Any of these keys (`--key`), at least `threshold` distinct ones.
    Keys(Vec<PublicKey>),
    /// Fulcio certificate + identity (`--certificate-identity` ...) under a trusted root.
    Keyless(Box<KeylessPolicy>),
}

/// What a keyless verification matches, as given (validated by [`trust::Trust`], see
/// [`identity::IdentityPolicy::from_keyless`]).
#[derive(Debug, Clone, Default)]
pub struct KeylessPolicy {
    pub identity: Option<String>,
    pub identity_regexp: Option<String>,
    pub oidc_issuer: Option<String>,
    pub oidc_issuer_regexp: Option<String>,
    /// `OWNER/REPO/.github/workflows/FILE.yml[@REF]`: derives the identity
    /// (`https://github.com/OWNER/REPO/.github/workflows/FILE.yml@REF`) and the issuer
    /// (GitHub Actions').
    pub github_workflow: Option<String>,
    /// A glob the source ref (`source-repository-ref`, else `github-workflow-ref`) must
    /// match, and the identity's `@REF` when `github_workflow` names none.
    pub source_ref: Option<String>,
    /// `OWNER/REPO`: `source-repository-uri` (`https://github.com/OWNER/REPO`) and
    /// `github-workflow-repository`.
    pub repository: Option<String>,
    /// cosign's `--certificate-github-workflow-sha`, `-trigger`, `-name`.
    pub workflow_sha: Option<String>,
    pub workflow_trigger: Option<String>,
    pub workflow_name: Option<String>,
    /// Fulcio extensions by name ([`claims::EXTENSIONS`]), exact values.
    pub extensions: Vec<(String, String)>,
}

impl KeylessPolicy {
    /// Whether anything keyless was asked for (the identity, issuer or a claim).
    pub fn is_empty(&self) -> bool {
        self.identity.is_none()
            && self.identity_regexp.is_none()
            && self.oidc_issuer.is_none()
            && self.oidc_issuer_regexp.is_none()
            && self.github_workflow.is_none()
            && self.source_ref.is_none()
            && self.repository.is_none()
            && self.workflow_sha.is_none()
            && self.workflow_trigger.is_none()
            && self.workflow_name.is_none()
            && self.extensions.is_empty()
    }
}

/// A predicate type to require, by cosign's short name or as a URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateType(String);

impl PredicateType {
    /// cosign's `--type` short names, and any URI.
    pub fn parse(text: &str) -> Result<PredicateType, Error> {
        let uri = match text {
            "slsaprovenance" => "https://slsa.dev/provenance/v0.2",
            "slsaprovenance02" => "https://slsa.dev/provenance/v0.2",
            "slsaprovenance1" => "https://slsa.dev/provenance/v1",
            "spdxjson" | "spdx" => "https://spdx.dev/Document",
            "cyclonedx" => "https://cyclonedx.org/bom",
            "link" => "https://in-toto.io/Link/v1",
            "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
            "openvex" => "https://openvex.dev/ns",
            other if other.contains("://") || other.starts_with("urn:") => other,
            other => {
                return Err(Error::AttestationType(other.to_string()));
            }
        };
        Ok(PredicateType(uri.to_string()))
    }

    pub fn uri(&self) -> &str {
        &self.0
    }
}

/// Everything a verification needs.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// `registry/repo@sha256:...` or `registry/repo:tag`.
    pub image: String,
    pub policy: Policy,
    pub attestations: Vec<PredicateType>,
    /// Distinct keys that must have produced a valid signature (and, per type, a valid
    /// attestation). At least 1.
    pub threshold: usize,
    /// Refuse a tag.
    pub require_digest: bool,
    /// Sigstore's `trusted_root.json` for keyless signatures and keyed bundles; `None` is
    /// the embedded public-good root.
    pub trusted_root: Option<PathBuf>,
    /// `--insecure-ignore-tlog`: keyed signatures count without a verified log entry.
    pub ignore_tlog: bool,
    /// What a verified SLSA provenance attestation of the image must say (`provenance =
    /// { ... }` of an `[[image]]` entry); `None` checks no provenance.
    pub provenance: Option<provenance::Requirements>,
    /// Collect the SBOM of every verified SBOM attestation of the digest (`audit-sbom =
    /// true`); none is a failing finding.
    pub sbom: bool,
    pub registry: RegistryOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{image} names a tag, and --require-digest asks for a digest (@sha256:...)")]
    TagRefused { image: String },
    #[error("{0}")]
    Keyless(String),
    #[error(transparent)]
    TrustedRoot(sigstore::RootError),
    #[error("no key to verify with (give --key)")]
    NoKeys,
    #[error("--threshold {threshold} can never be met by {keys} distinct key(s)")]
    Threshold { threshold: usize, keys: usize },
    #[error(
        "unknown attestation type {0:?} (slsaprovenance, slsaprovenance1, spdxjson, cyclonedx, or a predicate type URI)"
    )]
    AttestationType(String),
    #[error("the image {image} was not found in the registry")]
    ImageNotFound { image: String },
    #[error("the {what} manifest {url} is not an OCI image manifest: {why}")]
    BadManifest {
        what: &'static str,
        url: String,
        why: String,
    },
}

/// What one signature layer turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The digest of the layer (or bundle) checked.
    pub layer: String,
    /// Where it came from: `sig-tag`, `referrer` or `bundle`.
    pub source: &'static str,
    /// The principals it verified under (with a payload for this image): key fingerprints,
    /// or `identity (issuer)` for keyless.
    pub verified_by: Vec<String>,
    /// Why it did not count, when it did not.
    pub problem: Option<String>,
    /// It verified, but under another identity than the policy's.
    pub identity_mismatch: bool,
    /// Keyless: every certificate claim the policy checked (the identity, the issuer,
    /// then the extensions), of a signature that verified or that failed only on them.
    pub claims: Vec<claims::ClaimCheck>,
}

/// How one requested attestation type ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationStatus {
    Verified,
    Missing,
    Invalid,
}

impl AttestationStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttestationStatus::Verified => "verified",
            AttestationStatus::Missing => "missing",
            AttestationStatus::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationCheck {
    pub predicate_type: String,
    pub status: AttestationStatus,
    /// Distinct keys that signed a valid statement of this type for this image.
    pub verified_by: Vec<String>,
    pub problems: Vec<String>,
    /// Keyless: the distinct certificate claims checked on the statements of this type
    /// that verified.
    pub claims: Vec<claims::ClaimCheck>,
}

/// The result of a verification that could be carried out.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    /// The reference as given.
    pub requested: String,
    /// `registry/repository@sha256:...`: what was verified.
    pub image: String,
    pub digest: Digest,
    /// The tag that was resolved to [`VerifyOutcome::digest`], if a tag was given.
    pub resolved_tag: Option<String>,
    /// The keys of a keyed policy: (fingerprint, kind).
    pub keys: Vec<(String, String)>,
    /// The identity and issuer of a keyless policy, as given (exact or `/regex/`).
    pub identity: Option<(String, String)>,
    /// Which trusted root bundles and keyless signatures were verified against.
    pub trusted_root: String,
    /// Whether keyed signatures needed a verified log entry.
    pub tlog: sigstore::Tlog,
    pub threshold: usize,
    pub signatures: Vec<SignatureCheck>,
    pub attestations: Vec<AttestationCheck>,
    /// How the provenance check ended, when the request had one.
    pub provenance: Option<ProvenanceCheck>,
    /// The verified SBOM attestations, when the request asked for them.
    pub sbom: Option<sbom::SbomCheck>,
    /// Keyless: the distinct certificate claims checked on every attestation statement
    /// that verified, whichever check read it (attestations, provenance, SBOM).
    pub statement_claims: Vec<claims::ClaimCheck>,
    pub findings: Vec<Finding>,
}

/// The provenance check of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceCheck {
    /// The requirements, as [`provenance::Requirements::describe`] shows them.
    pub required: String,
    /// Verified provenance statements for this digest that were checked.
    pub statements: usize,
    /// Fields that did not match, over all of them.
    pub mismatches: usize,
}

impl ProvenanceCheck {
    /// `matched`, `mismatch` or `missing` (no verified provenance statement).
    pub fn status(&self) -> &'static str {
        match (self.statements, self.mismatches) {
            (0, _) => "missing",
            (_, 0) => "matched",
            _ => "mismatch",
        }
    }
}

/// The distinct claims over `signatures`, in order of first appearance: what the reports
/// list under the signer.
pub fn distinct_claims<'a>(
    signatures: impl IntoIterator<Item = &'a SignatureCheck>,
) -> Vec<&'a claims::ClaimCheck> {
    let mut out: Vec<&claims::ClaimCheck> = Vec::new();
    for claim in signatures.into_iter().flat_map(|s| &s.claims) {
        if !out.contains(&claim) {
            out.push(claim);
        }
    }
    out
}

impl VerifyOutcome {
    /// Every distinct certificate claim checked, on the signatures and then on the
    /// attestation statements: what the check report lists.
    pub fn claims(&self) -> Vec<claims::ClaimCheck> {
        let mut out = Vec::new();
        claims::extend_distinct(&mut out, distinct_claims(&self.signatures));
        claims::extend_distinct(&mut out, &self.statement_claims);
        out
    }

    /// Distinct principals (keys or identities) with a valid signature.
    pub fn signing_keys(&self) -> BTreeSet<&str> {
        self.signatures
            .iter()
            .flat_map(|s| s.verified_by.iter().map(String::as_str))
            .collect()
    }
}

/// The 32 bytes of a digest. Parsing guarantees 64 lowercase hex digits; were that ever
/// broken, the zeros would name no real artifact, so nothing would verify (closed).
pub(crate) fn sha256_bytes(digest: &Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    let hex = digest.hex().as_bytes();
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = hex.get(2 * i..2 * i + 2).unwrap_or(b"00");
        *byte = std::str::from_utf8(pair)
            .ok()
            .and_then(|p| u8::from_str_radix(p, 16).ok())
            .unwrap_or(0);
    }
    out
}

fn finding(code: Code, message: String) -> Finding {
    Finding {
        code,
        level: Level::Error,
        message,
        advisory: None,
        package: None,
        waiver: None,
        waived_by: None,
    }
}

/// Verifies `req.image` against `req.policy`: the library entry point (`vouch verify`,
/// and `vouch check` for images).
pub fn verify(req: &VerifyRequest) -> Result<VerifyOutcome, Error> {
    let trust = Trust::from_policy(&req.policy, req.threshold, req.trusted_root.as_deref())?
        .ignoring_tlog(req.ignore_tlog)?;
    let reference = Reference::parse(&req.image)?;
    if reference.digest.is_none() && req.require_digest {
        return Err(Error::TagRefused {
            image: req.image.clone(),
        });
    }

    let client = Client::connect(&reference, &req.registry)?;
    let (digest, resolved_tag) = match (&reference.digest, &reference.tag) {
        (Some(digest), _) => {
            // The image must exist, and its manifest hash to the digest.
            if client.manifest(&digest.to_string())?.is_none() {
                return Err(Error::ImageNotFound {
                    image: reference.with_digest(digest),
                });
            }
            (digest.clone(), None)
        }
        (None, Some(tag)) => match client.manifest(tag)? {
            Some(manifest) => (manifest.digest, Some(tag.clone())),
            None => {
                return Err(Error::ImageNotFound {
                    image: reference.to_string(),
                });
            }
        },
        (None, None) => unreachable_reference(&req.image)?,
    };
    let image = reference.with_digest(&digest);

    let mut outcome = VerifyOutcome {
        requested: req.image.clone(),
        image: image.clone(),
        digest: digest.clone(),
        resolved_tag,
        keys: trust.keys(),
        identity: trust.identity(),
        trusted_root: trust.root.describe(),
        tlog: trust.tlog,
        threshold: req.threshold,
        signatures: Vec::new(),
        attestations: Vec::new(),
        provenance: None,
        sbom: None,
        statement_claims: Vec::new(),
        findings: Vec::new(),
    };

    let wants_attestations = !req.attestations.is_empty() || req.provenance.is_some() || req.sbom;
    let material = Material::fetch(&client, &digest, wants_attestations)?;
    let evidence = evidence::judge(&client, &digest, &trust, &material)?;
    outcome.statement_claims = findings::statement_claims(&evidence.attestations, &digest);
    findings::signature_findings(&material, evidence.signatures, &mut outcome);
    if !req.attestations.is_empty() {
        findings::attestation_findings(
            &material,
            &evidence.attestations,
            &req.attestations,
            &mut outcome,
        );
    }
    if let Some(want) = &req.provenance {
        findings::provenance_findings(&material, &evidence.attestations, want, &mut outcome);
    }
    if req.sbom {
        findings::sbom_findings(&material, &evidence.attestations, &mut outcome);
    }
    if trust.tlog == sigstore::Tlog::Ignored {
        outcome.findings.push(tlog_ignored_finding());
    }
    Ok(outcome)
}

/// The warning every report carries when keyed signatures were accepted without a log
/// entry on request: the check was weakened, and the reader must see it.
pub(crate) fn tlog_ignored_finding() -> Finding {
    Finding {
        level: Level::Warning,
        ..finding(
            Code::VerificationWeakened,
            "weakened check: the transparency log was not checked (--insecure-ignore-tlog / ignore-tlog = true), so a signature made in secret with a stolen key would pass".into(),
        )
    }
}

/// Parsing guarantees a tag or a digest; this keeps that promise explicit without a panic.
fn unreachable_reference(image: &str) -> Result<(Digest, Option<String>), Error> {
    Err(Error::Registry(RegistryError::Reference {
        reference: image.into(),
        why: "name a digest (@sha256:...) or a tag (:tag)".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicate_type_short_names_are_cosigns() {
        let uri = |s| PredicateType::parse(s).unwrap().uri().to_string();
        assert_eq!(uri("slsaprovenance"), "https://slsa.dev/provenance/v0.2");
        assert_eq!(uri("slsaprovenance1"), "https://slsa.dev/provenance/v1");
        assert_eq!(uri("spdxjson"), "https://spdx.dev/Document");
        assert_eq!(uri("cyclonedx"), "https://cyclonedx.org/bom");
        assert_eq!(uri("https://example.com/p/v1"), "https://example.com/p/v1");
        assert!(PredicateType::parse("slsa").is_err());
    }

    /// A keyless policy that is incomplete is refused before any network access (port 1
    /// on loopback would answer "connection refused", a registry error, if it were tried).
    #[test]
    fn an_incomplete_keyless_policy_fails_before_any_network() {
        let req = |policy: KeylessPolicy, threshold, root: Option<&str>| VerifyRequest {
            image: "127.0.0.1:1/x@sha256:".to_string() + &"0".repeat(64),
            policy: Policy::Keyless(Box::new(policy)),
            attestations: vec![],
            threshold,
            require_digest: false,
            trusted_root: root.map(PathBuf::from),
            ignore_tlog: false,
            provenance: None,
            sbom: false,
            registry: RegistryOptions::default(),
        };
        let full = KeylessPolicy {
            identity: Some("me".into()),
            oidc_issuer: Some("https://issuer".into()),
            ..KeylessPolicy::default()
        };
        let message = |p, t| match verify(&req(p, t, None)) {
            Err(Error::Keyless(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(message(KeylessPolicy::default(), 1).contains("--certificate-identity"));
        let no_issuer = KeylessPolicy {
            oidc_issuer: None,
            ..full.clone()
        };
        assert!(message(no_issuer, 1).contains("--certificate-oidc-issuer"));
        let both = KeylessPolicy {
            identity_regexp: Some(".*".into()),
            ..full.clone()
        };
        assert!(message(both, 1).contains("not both"));
        let bad_regex = KeylessPolicy {
            identity: None,
            identity_regexp: Some("(".into()),
            ..full.clone()
        };
        assert!(message(bad_regex, 1).contains("not a valid regex"));
        // One exact identity can never make two distinct signers.
        assert!(message(full.clone(), 2).contains("--threshold 2"));
        // A trusted root that cannot be read is an error too, before the registry.
        match verify(&req(full, 1, Some("/nonexistent/trusted_root.json"))) {
            Err(Error::TrustedRoot(e)) => {
                assert!(
                    e.to_string().contains("cannot read the trusted root"),
                    "{e}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sha256_bytes_decodes_the_digest() {
        let d = Digest::of(b"x");
        let bytes = sha256_bytes(&d);
        assert_eq!(crate::package::hex(&bytes), d.hex());
    }
}

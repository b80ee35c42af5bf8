//! The glue to sigstore-verify: every Sigstore bundle vouch accepts (a file given to
//! `vouch verify-blob`, a bundle referrer of an image, or a cosign legacy `.sig`/`.att`
//! layer turned into a bundle by [`legacy`]) is verified here by the library, against a
//! [`TrustRoot`].
//!
//! The library checks the Sigstore cryptography and rules: bundle versions (an inclusion
//! proof from v0.2 on, no certificate chain in v0.3), the certificate chain to a Fulcio CA
//! of the root valid at every verified signing time, the embedded SCT, Rekor v1 entries
//! (SET, inclusion proof, signed checkpoint) and Rekor v2 entries (checkpoint-only, C2SP
//! signed notes), RFC 3161 timestamps against the root's TSAs, and that the log entry
//! describes this signature, key and artifact. vouch adds, before the library runs, one
//! rule the library does not enforce (no self-issued root certificate inside
//! `x509CertificateChain`), and after it, the identity policy ([`IdentityPolicy`], matched
//! against the identity the library verified, and the other certificate claims it asks
//! for, read from the library's parse of the certificate it verified: [`super::claims`]).
//!
//! This module must never accept a bundle the library refused, and never relax the
//! library's policy (no `skip_*`): a keyless result counts only when the library reports
//! that it verified the certificate, its SCT and the transparency log. The one exception is
//! asked for by name: [`Tlog::Ignored`] (`--insecure-ignore-tlog`, keyed only), which the
//! reports show as a weakened check.

pub mod legacy;
pub mod root;

use base64::Engine as _;
use der::Decode as _;
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash, SignatureContent};
use sigstore_verify::{
    CertificateError, Error as LibError, Policy, PublicKeyVerificationPolicy, TimestampError,
    VerificationPolicy, VerificationResult,
};

pub use root::{EMBEDDED_ROOT, RootError, RootSource, TrustRoot};

use super::claims::{self, ClaimCheck};
use super::identity::IdentityPolicy;

/// The bundle media types vouch reads (protobuf-specs `Bundle` v0.1 to v0.3).
pub const BUNDLE_MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
];

/// A bundle that cannot be read as one (exit 2 for `verify-blob`; a problem with the
/// material for a registry referrer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("unknown bundle mediaType {found:?} (expected one of: {})", BUNDLE_MEDIA_TYPES.join(", "))]
    MediaType { found: String },
    #[error("not a Sigstore bundle: {0}")]
    Shape(String),
    #[error(
        "verificationMaterial.timestampVerificationData.rfc3161Timestamps[{index}] is not a DER RFC 3161 timestamp: {why}"
    )]
    Timestamp { index: usize, why: String },
}

/// Reads a Sigstore bundle: JSON, a known media type, the protobuf-specs shape, and RFC
/// 3161 timestamps that are at least DER. Nothing is verified here.
pub fn parse_bundle(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let text = std::str::from_utf8(bytes).map_err(|e| BundleError::Json(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| BundleError::Json(e.to_string()))?;
    match value.get("mediaType").and_then(|m| m.as_str()) {
        Some(m) if BUNDLE_MEDIA_TYPES.contains(&m) => {}
        Some(m) => {
            return Err(BundleError::MediaType {
                found: m.to_string(),
            });
        }
        None => {
            return Err(BundleError::Shape(
                "no mediaType string at the top level".into(),
            ));
        }
    }
    let bundle = Bundle::from_json(text).map_err(|e| BundleError::Shape(e.to_string()))?;
    let timestamps = &bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps;
    for (index, ts) in timestamps.iter().enumerate() {
        der::asn1::Any::from_der(ts.signed_timestamp.as_bytes()).map_err(|e| {
            BundleError::Timestamp {
                index,
                why: e.to_string(),
            }
        })?;
    }
    Ok(bundle)
}

/// What a bundle is verified against: the artifact itself, its sha256, or a reader of it.
pub enum Subject<'a> {
    Bytes(&'a [u8]),
    Sha256([u8; 32]),
    Reader(&'a mut dyn std::io::Read),
}

/// Who signed, as the library verified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    /// The certificate's SAN (URI or email).
    pub identity: String,
    /// The OIDC issuer Fulcio recorded.
    pub issuer: String,
    /// Every claim the policy matched, the identity and issuer first.
    pub claims: Vec<ClaimCheck>,
}

impl Signer {
    /// `identity (issuer)`: the principal `--threshold` counts.
    pub fn principal(&self) -> String {
        format!("{} ({})", self.identity, self.issuer)
    }
}

/// Why a bundle does not count. Each has a stable code ([`Failure::code`]); reports show
/// `code: message`, the message being the library's own words where it decided.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    SignatureInvalid(String),
    #[error(
        "signed by {found_identity:?} (issuer {found_issuer:?}), policy wants {expected_identity} from {expected_issuer}"
    )]
    IdentityMismatch {
        found_identity: String,
        found_issuer: String,
        expected_identity: String,
        expected_issuer: String,
        /// Every claim checked (the identity and issuer first).
        claims: Vec<ClaimCheck>,
    },
    /// The identity and issuer match, another claim the policy asks for does not (or
    /// the certificate does not carry it).
    #[error(
        "signed by {identity:?} (issuer {issuer:?}), but the certificate's {}",
        claims.iter().filter(|c| !c.matched).map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    ClaimMismatch {
        identity: String,
        issuer: String,
        /// Every claim checked (the identity and issuer first).
        claims: Vec<ClaimCheck>,
    },
    #[error("{0}")]
    CertificateUntrusted(String),
    #[error("{0}")]
    CertificateNotValidAtSigningTime(String),
    #[error("{0}")]
    TlogEntryInvalid(String),
    #[error("{0}")]
    TimestampInvalid(String),
    #[error("{0}")]
    SctInvalid(String),
    #[error("{0}")]
    ArtifactMismatch(String),
    #[error("{0}")]
    Malformed(String),
}

impl Failure {
    /// Stable kebab-case code, the prefix of the problem reports show.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::SignatureInvalid(_) => "signature-invalid",
            Failure::IdentityMismatch { .. } => "signature-identity-mismatch",
            Failure::ClaimMismatch { .. } => "signature-claim-mismatch",
            Failure::CertificateUntrusted(_) => "certificate-untrusted",
            Failure::CertificateNotValidAtSigningTime(_) => "certificate-not-valid-at-signing-time",
            Failure::TlogEntryInvalid(_) => "tlog-entry-invalid",
            Failure::TimestampInvalid(_) => "timestamp-invalid",
            Failure::SctInvalid(_) => "sct-invalid",
            Failure::ArtifactMismatch(_) => "artifact-mismatch",
            Failure::Malformed(_) => "signature-malformed",
        }
    }

    /// The claims checked, for a signature that verified but does not match the policy.
    pub fn claims(&self) -> &[ClaimCheck] {
        match self {
            Failure::IdentityMismatch { claims, .. } | Failure::ClaimMismatch { claims, .. } => {
                claims
            }
            _ => &[],
        }
    }

    pub const CODES: &'static [&'static str] = &[
        "signature-invalid",
        "signature-identity-mismatch",
        "signature-claim-mismatch",
        "certificate-untrusted",
        "certificate-not-valid-at-signing-time",
        "tlog-entry-invalid",
        "timestamp-invalid",
        "sct-invalid",
        "artifact-mismatch",
        "signature-malformed",
    ];
}

impl From<LibError> for Failure {
    fn from(e: LibError) -> Failure {
        let text = e.to_string();
        match e {
            LibError::IdentityMismatch { .. } | LibError::IssuerMismatch { .. } => {
                Failure::CertificateUntrusted(text)
            }
            LibError::SignatureInvalid(_) => Failure::SignatureInvalid(text),
            LibError::ArtifactMismatch(_) => Failure::ArtifactMismatch(text),
            LibError::Certificate(CertificateError::NotYetValid { .. })
            | LibError::Certificate(CertificateError::Expired { .. }) => {
                Failure::CertificateNotValidAtSigningTime(text)
            }
            LibError::Certificate(CertificateError::Sct(_)) => Failure::SctInvalid(text),
            // webpki checks the leaf's validity at each signing time while it builds the
            // chain, so an expired leaf arrives as a chain error naming the cause.
            LibError::Certificate(CertificateError::ChainInvalid(ref why))
                if why.contains("CertExpired") || why.contains("CertNotValidYet") =>
            {
                Failure::CertificateNotValidAtSigningTime(text)
            }
            LibError::Certificate(_) => Failure::CertificateUntrusted(text),
            LibError::TransparencyLog(_) => Failure::TlogEntryInvalid(text),
            LibError::Timestamp(TimestampError::NoVerifiedTimestamp(_)) => {
                Failure::TlogEntryInvalid(text)
            }
            LibError::Timestamp(_) => Failure::TimestampInvalid(text),
            LibError::Bundle(
                sigstore_verify::bundle::Error::MissingInclusionProof(_)
                | sigstore_verify::bundle::Error::MissingInclusionPromise(_)
                | sigstore_verify::bundle::Error::MissingSigningTimeEvidence
                | sigstore_verify::bundle::Error::MissingCheckpoint
                | sigstore_verify::bundle::Error::CheckpointRootMismatch
                | sigstore_verify::bundle::Error::LogIndexOutOfRange { .. },
            ) => Failure::TlogEntryInvalid(text),
            _ => Failure::Malformed(text),
        }
    }
}

/// A bundle with log entries or signed timestamps: something beyond the key vouches for
/// when it was signed. The library refuses a bundle with neither.
pub fn has_signing_time_evidence(bundle: &Bundle) -> bool {
    let material = &bundle.verification_material;
    !material.tlog_entries.is_empty()
        || !material
            .timestamp_verification_data
            .rfc3161_timestamps
            .is_empty()
}

/// True for a bundle signed with a public key (`verificationMaterial.publicKey`).
pub fn is_keyed(bundle: &Bundle) -> bool {
    matches!(
        bundle.verification_material.content,
        VerificationMaterialContent::PublicKey(_)
    )
}

/// Refuses a self-issued (root) certificate after the leaf of `x509CertificateChain`:
/// the bundle specification leaves the root to the trusted root, and sigstore-verify would
/// otherwise accept the bundle.
fn refuse_root_in_chain(bundle: &Bundle) -> Result<(), Failure> {
    let VerificationMaterialContent::X509CertificateChain { certificates } =
        &bundle.verification_material.content
    else {
        return Ok(());
    };
    for (i, c) in certificates.iter().enumerate().skip(1) {
        let cert = x509_cert::Certificate::from_der(c.raw_bytes.as_bytes()).map_err(|e| {
            Failure::Malformed(format!("x509CertificateChain.certificates[{i}]: {e}"))
        })?;
        if cert.tbs_certificate.subject == cert.tbs_certificate.issuer {
            return Err(Failure::CertificateUntrusted(format!(
                "x509CertificateChain.certificates[{i}] is a root certificate ({}); a bundle must not carry its root, the trusted root supplies it",
                cert.tbs_certificate.subject
            )));
        }
    }
    Ok(())
}

fn run(
    root: &TrustRoot,
    subject: Subject<'_>,
    bundle: &Bundle,
    policy: &dyn Policy,
) -> Result<VerificationResult, LibError> {
    let verifier = &root.verifier;
    match subject {
        Subject::Bytes(bytes) => verifier.verify(bytes, bundle, policy),
        Subject::Sha256(digest) => verifier.verify(Sha256Hash::new(digest), bundle, policy),
        Subject::Reader(reader) => verifier.verify_reader(reader, bundle, policy),
    }
}

/// Verifies a keyless bundle over `subject` and checks the verified signer against
/// `policy`.
pub fn verify_keyless(
    root: &TrustRoot,
    bundle: &Bundle,
    subject: Subject<'_>,
    policy: &IdentityPolicy,
) -> Result<Signer, Failure> {
    if is_keyed(bundle) {
        return Err(Failure::CertificateUntrusted(
            "the bundle is signed with a public key, not a Fulcio certificate (verify it with --key)".into(),
        ));
    }
    refuse_root_in_chain(bundle)?;
    // Any identity here: the library verifies everything else first, and the policy is
    // matched below against what it verified (so a regex can be anchored, and a mismatch
    // is reported only for a signature that holds).
    let result = run(root, subject, bundle, &VerificationPolicy::any_identity())?;
    if !(result.certificate_verified() && result.sct_verified() && result.tlog_verified()) {
        return Err(Failure::CertificateUntrusted(
            "the library did not verify the certificate, its SCT and the log entry".into(),
        ));
    }
    let identity = result
        .identity()
        .map(|i| i.as_str().to_string())
        .unwrap_or_default();
    let issuer = result.issuer().unwrap_or_default().to_string();
    let claims = match_claims(bundle, &result, policy, &identity, &issuer)?;
    if !policy.matches(&identity, &issuer) {
        return Err(Failure::IdentityMismatch {
            found_identity: identity,
            found_issuer: issuer,
            expected_identity: policy.identity.to_string(),
            expected_issuer: policy.issuer.to_string(),
            claims,
        });
    }
    if claims.iter().any(|c| !c.matched) {
        return Err(Failure::ClaimMismatch {
            identity,
            issuer,
            claims,
        });
    }
    Ok(Signer {
        identity,
        issuer,
        claims,
    })
}

/// Every claim of the verified signing certificate the policy asks about: the identity,
/// the issuer, then each requirement's extensions. Called only after the library
/// verified the certificate; the claims are the library's reading of it, the leaf's
/// extension list tells an absent claim from one the library could not decode.
fn match_claims(
    bundle: &Bundle,
    result: &VerificationResult,
    policy: &IdentityPolicy,
    identity: &str,
    issuer: &str,
) -> Result<Vec<ClaimCheck>, Failure> {
    let (Some(info), Some(der)) = (result.certificate(), bundle.signing_certificate()) else {
        return Err(Failure::CertificateUntrusted(
            "the library verified no signing certificate".into(),
        ));
    };
    let cert = claims::Certificate::new(&info.ci_claims, der.as_bytes())
        .map_err(|e| Failure::Malformed(format!("the signing certificate: {e}")))?;
    let mut checks = vec![
        ClaimCheck::new(
            "identity",
            claims::SAN_OID.into(),
            &policy.identity,
            Some(identity),
        ),
        ClaimCheck::new("issuer", cert.issuer_oid(), &policy.issuer, Some(issuer)),
    ];
    checks.extend(
        cert.check(&policy.claims)
            .map_err(|e| Failure::Malformed(e.to_string()))?,
    );
    Ok(checks)
}

/// What a keyed verification asks of the transparency log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tlog {
    /// A verified log entry is required, as `cosign verify --key` requires one: without
    /// it a key stolen and used in secret would pass.
    Required,
    /// `--insecure-ignore-tlog`: the library's explicit unsafe skip (log entries present
    /// are still checked for consistency with the signature).
    Ignored,
}

impl Tlog {
    pub fn as_str(self) -> &'static str {
        match self {
            Tlog::Required => "required",
            Tlog::Ignored => "ignored",
        }
    }
}

/// Verifies a bundle signed with the public key `spki_der`, its timestamps included and,
/// unless `tlog` is [`Tlog::Ignored`], a verified log entry required.
pub fn verify_with_key(
    root: &TrustRoot,
    bundle: &Bundle,
    subject: Subject<'_>,
    spki_der: &[u8],
    tlog: Tlog,
) -> Result<(), Failure> {
    if !is_keyed(bundle) {
        return Err(Failure::SignatureInvalid(
            "the bundle is signed with a certificate (keyless), not with a public key".into(),
        ));
    }
    let policy = PublicKeyVerificationPolicy::new(DerPublicKey::new(spki_der.to_vec()));
    let policy = match tlog {
        Tlog::Required => {
            // The library verifies every entry present and refuses a bundle with none; an
            // empty list is refused here as well, so no library change can make it pass.
            if bundle.verification_material.tlog_entries.is_empty() {
                return Err(Failure::TlogEntryInvalid(TLOG_MISSING.into()));
            }
            policy
        }
        Tlog::Ignored => policy.skip_tlog_unsafe(),
    };
    let result = run(root, subject, bundle, &policy)?;
    if tlog == Tlog::Required && !result.tlog_verified() {
        return Err(Failure::TlogEntryInvalid(
            "the library did not verify the log entries".into(),
        ));
    }
    Ok(())
}

/// Why a keyed signature without a log entry does not count.
pub const TLOG_MISSING: &str = "no transparency-log entry: a keyed signature needs a verified log entry, as `cosign verify --key` does (--insecure-ignore-tlog, or ignore-tlog = true in the policy, skips this check)";

/// The signed content of a bundle, read without verifying anything (for reports: which
/// digest a message signature names, which predicate a statement claims).
pub enum Content<'a> {
    /// A message signature and the sha256 it states, if any.
    MessageDigest(Option<Vec<u8>>),
    /// A DSSE envelope's payload type and payload.
    Dsse {
        payload_type: &'a str,
        payload: &'a [u8],
    },
}

pub fn content(bundle: &Bundle) -> Option<Content<'_>> {
    match &bundle.content {
        SignatureContent::MessageSignature(m) => Some(Content::MessageDigest(
            m.message_digest
                .as_ref()
                .map(|d| d.digest.as_bytes().to_vec()),
        )),
        SignatureContent::DsseEnvelope(e) => Some(Content::Dsse {
            payload_type: &e.payload_type,
            payload: e.payload.as_bytes(),
        }),
        _ => None,
    }
}

/// The sha256 a bundle says it signs (unverified): its message digest, or its in-toto
/// statement's first sha256 subject.
pub fn claimed_sha256(bundle: &Bundle) -> Option<[u8; 32]> {
    match content(bundle)? {
        Content::MessageDigest(digest) => digest?.try_into().ok(),
        Content::Dsse { payload, .. } => {
            let statement = super::dsse::Statement::parse(payload).ok()?;
            let (_, hex) = statement.subjects.first()?;
            let mut out = [0u8; 32];
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            (hex.len() == 64).then_some(out)
        }
    }
}

/// The DSSE envelope of a bundle: (payload type, payload, signature).
pub fn envelope(bundle: &Bundle) -> Option<(&str, &[u8], &[u8])> {
    match &bundle.content {
        SignatureContent::DsseEnvelope(e) => Some((
            &e.payload_type,
            e.payload.as_bytes(),
            e.signature.sig.as_bytes(),
        )),
        _ => None,
    }
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
#[path = "../../../tests/support/sigstore_signer.rs"]
pub(crate) mod testsupport;

#[cfg(test)]
mod tests;

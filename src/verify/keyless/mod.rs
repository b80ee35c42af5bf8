//! Keyless (Fulcio + Rekor) Sigstore verification, offline, against a `trusted_root.json`.
//!
//! Two entry points, both pure functions of their inputs (no network, no clock: the signing
//! time is the one the transparency log proves):
//! - [`verify_legacy_signature`]: a cosign "legacy" `.sig` layer (payload + annotations
//!   `dev.cosignproject.cosign/signature`, `dev.sigstore.cosign/certificate`,
//!   `dev.sigstore.cosign/chain`, `dev.sigstore.cosign/bundle`).
//! - [`verify_bundle`]: a Sigstore bundle (v0.1, v0.2, v0.3) with a message signature or a
//!   DSSE envelope. The caller checks the returned digest / in-toto subject against the
//!   image digest.
//!
//! What is checked, in order: the signature over the content with the leaf's key; every
//! transparency log entry (SET signed by a trusted log key valid at `integratedTime`,
//! inclusion proof + signed checkpoint when present, and a body that binds this signature,
//! certificate and content); the leaf's validity at that time, its key usage
//! (digitalSignature) and EKU (codeSigning); its chain to a trusted CA valid at that time;
//! its embedded SCT when the trusted root lists CT logs; and finally the identity policy.
//!
//! Fails closed: no transparency log entry, or one without a SET, means no trusted signing
//! time, so the signature is refused (RFC 3161 timestamps in
//! `timestampVerificationData` are **not** verified, so they cannot stand in; nor can
//! Rekor v2 entries, which carry no SET). Every problem with untrusted input is a
//! [`Failure`] value; nothing here panics on input.
//!
//! Decisions (each fails closed):
//! - SCTs: when the trusted root lists CT logs, the leaf must embed an SCT that verifies
//!   against one of them (cosign's default); a root without CT logs skips the check.
//! - Every transparency log entry present must verify, and the leaf must be valid at each
//!   entry's time; `Signer::signed_at` is the first entry's.
//! - Supported entry kinds: `hashedrekord` 0.0.1 for message signatures (and cosign legacy
//!   signatures), `dsse` 0.0.1 and `intoto` 0.0.2 for DSSE envelopes. A DSSE bundle logged
//!   as `hashedrekord` is refused. The envelope hash in `dsse`/`intoto` bodies is not
//!   recomputed (payload hash, signature and certificate are).
//! - A DSSE envelope must carry exactly one signature.
//! - Message-signature bundles are verified over the stated digest (SHA2_256 only) with
//!   ECDSA P-256/P-384 leaves; RSA/Ed25519 leaves cannot be checked that way and fail.
//! - Identity: any SAN (URI, email, Fulcio otherName username) may match; the issuer is
//!   the …57264.1.8 extension, else the legacy …1.1 one, else empty. Regexes are anchored
//!   ([`AnchoredRegex`]).
//! - No revocation checking, no RFC 3161 timestamps, no Rekor v2 (tile) entries.
//!
//! Not the `sigstore` crate: it pulls an async HTTP/TUF stack, OpenSSL-style features and
//! the `rsa` crate (RUSTSEC-2023-0071) into the tree, and we need none of that for an offline
//! check. Parsing is RustCrypto (`x509-cert`/`der`/`spki`, der 0.7 generation); signatures
//! are `ring`, except ECDSA over a precomputed digest (bundle message signatures), which
//! `ring` cannot do and `p256`/`p384` `verify_prehash` does.

mod bundle;
mod cert;
pub mod key;
mod tlog;
mod trusted_root;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

pub use bundle::{BundleContent, KeyedEnvelope, keyed_bundle_envelope, verify_bundle};
pub use trusted_root::{CertificateAuthority, LogKey, TrustedRoot, Validity};

use cert::Leaf;
use tlog::{Expected, TlogEntry};

/// Could not do the job (the trusted root itself is unusable). Bad signatures are
/// [`Failure`]s, not errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("trusted root: {0}")]
    TrustedRoot(String),
}

/// A regex that must match the whole string: `^(?:pattern)$`. Unlike cosign's
/// `--certificate-identity-regexp`, an unanchored pattern cannot match a substring.
#[derive(Clone, Debug)]
pub struct AnchoredRegex {
    pattern: String,
    re: regex::Regex,
}

impl AnchoredRegex {
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        Ok(AnchoredRegex {
            pattern: pattern.to_string(),
            re: regex::Regex::new(&format!("^(?:{pattern})$"))?,
        })
    }

    /// The pattern as written (without the added anchors).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

#[derive(Clone, Debug)]
pub enum Matcher {
    Exact(String),
    Regex(AnchoredRegex),
}

impl Matcher {
    pub fn regex(pattern: &str) -> Result<Self, regex::Error> {
        AnchoredRegex::new(pattern).map(Matcher::Regex)
    }

    pub fn matches(&self, s: &str) -> bool {
        match self {
            Matcher::Exact(e) => e == s,
            Matcher::Regex(r) => r.is_match(s),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(e) => write!(f, "{e:?}"),
            Matcher::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// Who must have signed: the certificate's SAN identity and the OIDC issuer.
#[derive(Clone, Debug)]
pub struct IdentityPolicy {
    pub identity: Matcher,
    pub issuer: Matcher,
}

/// Who did sign, once everything verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    /// The SAN value (URI, email or Fulcio username) that matched the policy.
    pub identity: String,
    pub issuer: String,
    /// The transparency log's integrated time.
    pub signed_at: Timestamp,
    /// `sha256:<hex>` of the leaf certificate DER.
    pub cert_fingerprint: String,
}

/// Why a signature is not accepted. Each maps to a finding code ([`Failure::code`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("signature does not verify: {0}")]
    SignatureInvalid(String),
    #[error(
        "signed by {found_identity:?} (issuer {found_issuer:?}), policy wants {expected_identity} from {expected_issuer}"
    )]
    IdentityMismatch {
        found_identity: String,
        found_issuer: String,
        expected_identity: String,
        expected_issuer: String,
    },
    #[error("certificate not trusted: {0}")]
    CertificateUntrusted(String),
    #[error("certificate not valid at signing time: {0}")]
    CertificateNotValidAtSigningTime(String),
    #[error("transparency log entry invalid: {0}")]
    TlogEntryInvalid(String),
    #[error("certificate transparency (SCT) invalid: {0}")]
    SctInvalid(String),
    #[error("malformed signature material: {0}")]
    Malformed(String),
}

impl Failure {
    /// Stable kebab-case code for the finding this failure becomes.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::SignatureInvalid(_) => "signature-invalid",
            Failure::IdentityMismatch { .. } => "signature-identity-mismatch",
            Failure::CertificateUntrusted(_) => "certificate-untrusted",
            Failure::CertificateNotValidAtSigningTime(_) => "certificate-not-valid-at-signing-time",
            Failure::TlogEntryInvalid(_) => "tlog-entry-invalid",
            Failure::SctInvalid(_) => "sct-invalid",
            Failure::Malformed(_) => "signature-malformed",
        }
    }
}

pub(crate) fn b64(what: &str, s: &str) -> Result<Vec<u8>, Failure> {
    STANDARD
        .decode(s.trim())
        .map_err(|e| Failure::Malformed(format!("{what}: invalid base64: {e}")))
}

/// The cosign `dev.sigstore.cosign/bundle` annotation (Rekor's LogEntry "verification").
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RekorBundle {
    signed_entry_timestamp: String,
    payload: RekorPayload,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

fn unhex(what: &str, s: &str) -> Result<Vec<u8>, Failure> {
    let bad = || Failure::Malformed(format!("{what}: not hex"));
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

fn parse_rekor_bundle(json: &str) -> Result<TlogEntry, Failure> {
    let b: RekorBundle = serde_json::from_str(json)
        .map_err(|e| Failure::Malformed(format!("cosign bundle annotation: {e}")))?;
    Ok(TlogEntry {
        log_index: b.payload.log_index,
        log_id: unhex("cosign bundle logID", &b.payload.log_id)?,
        integrated_time: b.payload.integrated_time,
        body: b64("cosign bundle body", &b.payload.body)?,
        set: Some(b64(
            "cosign bundle SignedEntryTimestamp",
            &b.signed_entry_timestamp,
        )?),
        proof: None,
    })
}

/// Verifies a cosign legacy keyless signature (see the module docs for what is checked).
pub fn verify_legacy_signature(
    payload: &[u8],
    signature_b64: &str,
    cert_pem: &str,
    chain_pem: Option<&str>,
    rekor_bundle_json: Option<&str>,
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<Signer, Failure> {
    let signature = b64("signature annotation", signature_b64)?;
    let (leaf, chain) = leaf_and_chain(cert_pem, chain_pem)?;
    let entry = rekor_bundle_json.map(parse_rekor_bundle).transpose()?;
    leaf.key
        .verify(payload, &signature)
        .map_err(|e| Failure::SignatureInvalid(format!("payload signature: {e}")))?;
    let digest = Sha256::digest(payload);
    let expected = Expected::Hashed {
        sha256: &digest,
        signature: &signature,
    };
    verify_keyless(&leaf, &chain, entry.as_slice(), &expected, root, policy)
}

/// Verifies a cosign legacy keyless attestation: a DSSE envelope (the `.att` layer) whose
/// one signature is by the certificate of the layer's `dev.sigstore.cosign/certificate`
/// annotation, logged as a `dsse` or `intoto` entry (the `dev.sigstore.cosign/bundle`
/// annotation). The caller reads the statement only after this returns `Ok`.
#[allow(clippy::too_many_arguments)]
pub fn verify_legacy_envelope(
    payload_type: &str,
    payload: &[u8],
    signature: &[u8],
    cert_pem: &str,
    chain_pem: Option<&str>,
    rekor_bundle_json: Option<&str>,
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<Signer, Failure> {
    let (leaf, chain) = leaf_and_chain(cert_pem, chain_pem)?;
    let entry = rekor_bundle_json.map(parse_rekor_bundle).transpose()?;
    leaf.key
        .verify(&bundle::pae(payload_type, payload), signature)
        .map_err(|e| Failure::SignatureInvalid(format!("DSSE envelope: {e}")))?;
    let expected = Expected::Envelope { payload, signature };
    verify_keyless(&leaf, &chain, entry.as_slice(), &expected, root, policy)
}

/// The leaf of a certificate annotation and the untrusted intermediates after it and in
/// the chain annotation.
fn leaf_and_chain(
    cert_pem: &str,
    chain_pem: Option<&str>,
) -> Result<(Leaf, Vec<Certificate>), Failure> {
    let mut certs = cert::parse_pem_chain(cert_pem)?.into_iter();
    let (leaf_der, _) = certs
        .next()
        .ok_or_else(|| Failure::Malformed("certificate annotation is empty".into()))?;
    let leaf = Leaf::from_der(leaf_der)?;
    // Certificates after the leaf, and the chain annotation, are untrusted intermediates:
    // they only help to find a path to a CA of the trusted root.
    let mut chain: Vec<Certificate> = certs.map(|(_, c)| c).collect();
    if let Some(pem) = chain_pem {
        chain.extend(cert::parse_pem_chain(pem)?.into_iter().map(|(_, c)| c));
    }
    Ok((leaf, chain))
}

/// Everything after the content signature: tlog, time, chain, SCT, identity.
fn verify_keyless(
    leaf: &Leaf,
    chain: &[Certificate],
    entries: &[TlogEntry],
    expected: &Expected<'_>,
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<Signer, Failure> {
    if entries.is_empty() {
        return Err(Failure::TlogEntryInvalid(
            "no transparency log entry: the signing time cannot be established, refusing".into(),
        ));
    }
    let mut times = Vec::new();
    for entry in entries {
        times.push(tlog::verify_entry(entry, root, &leaf.der, expected)?);
    }
    let mut issuer = None;
    for &t in &times {
        cert::check_leaf(leaf, t)?;
        issuer = Some(cert::verify_chain(leaf, chain, root, t)?);
    }
    let issuer_cert = issuer.ok_or_else(|| Failure::TlogEntryInvalid("no signing time".into()))?;
    cert::verify_scts(leaf, &issuer_cert, root)?;

    let identities = cert::identities(&leaf.cert)?;
    let oidc_issuer = cert::oidc_issuer(&leaf.cert)?.unwrap_or_default();
    let matched = identities.iter().find(|i| policy.identity.matches(i));
    match matched {
        Some(identity) if policy.issuer.matches(&oidc_issuer) => Ok(Signer {
            identity: identity.clone(),
            issuer: oidc_issuer,
            signed_at: times[0],
            cert_fingerprint: leaf.fingerprint(),
        }),
        _ => Err(Failure::IdentityMismatch {
            found_identity: identities.join(", "),
            found_issuer: oidc_issuer,
            expected_identity: policy.identity.to_string(),
            expected_issuer: policy.issuer.to_string(),
        }),
    }
}

#[cfg(test)]
#[path = "../../../tests/support/sigstore_signer.rs"]
pub(crate) mod testsupport;

#[cfg(test)]
mod tests;

//! Who may have signed: the `--key`s, or a keyless identity, and the trusted root that
//! Sigstore bundles are verified against (the embedded public-good root by default).
//!
//! One place turns a piece of signature material (a `.sig` layer, an `.att` envelope, a
//! Sigstore bundle) into "signed by these principals" or the reason it does not count, so
//! that every source is judged by the same rules. A principal is a key's fingerprint
//! (keyed) or `identity (issuer)` (keyless); `--threshold` counts distinct principals.
//!
//! Keyless material and keyed bundles are verified by sigstore-verify ([`super::sigstore`]);
//! legacy keyless layers are first turned into bundles ([`super::sigstore::legacy`]).
//! Keyed signatures need a verified transparency-log entry, as `cosign verify --key`
//! does by default (a key stolen and used in secret leaves no entry): cosign's keyed
//! legacy layers (`.sig` with a simple-signing payload, `.att` DSSE) are turned into
//! bundles with their Rekor annotation (`dev.sigstore.cosign/bundle`) as the log entry and
//! verified by the library under each key; a keyed bundle is verified by the library with
//! its log entries. No entry, no signature. Only [`Tlog::Ignored`]
//! (`--insecure-ignore-tlog`, `ignore-tlog = true`) checks them under the keys alone:
//! legacy layers and entry-less DSSE bundles with vouch's key code ([`super::keys`]), a
//! bundle with log entries or timestamps by the library with its unsafe log skip.
//!
//! Never decides what was signed on its own: bundles are verified over the image digest
//! (the library binds a message digest or an in-toto subject to it), and the caller checks
//! simple-signing payloads and keyed statements against the image digest.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;

use super::claims::ClaimCheck;
use super::dsse::{Envelope, pae};
use super::identity::IdentityPolicy;
use super::sigstore::{self, Content, Failure, Subject, Tlog, TrustRoot, legacy};
use super::{Error, KeylessPolicy, Policy, PublicKey};

/// cosign's annotation with a layer's base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// cosign's annotation with the Fulcio certificate (PEM) of a keyless signature.
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// cosign's annotation with the certificate chain (PEM).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// cosign's annotation with the Rekor entry (SET, body, time).
pub const REKOR_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// Why a piece of signature material does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A keyless signature that verified but names another identity or issuer, or does
    /// not carry the other claims the policy asks for.
    pub identity_mismatch: bool,
    /// It holds for another artifact (a message digest or statement subject).
    pub artifact_mismatch: bool,
    pub message: String,
    /// For an identity mismatch: every claim checked.
    pub claims: Vec<ClaimCheck>,
}

impl Problem {
    fn new(message: impl Into<String>) -> Problem {
        Problem {
            identity_mismatch: false,
            artifact_mismatch: false,
            message: message.into(),
            claims: Vec::new(),
        }
    }
}

impl From<Failure> for Problem {
    fn from(f: Failure) -> Problem {
        Problem {
            identity_mismatch: matches!(
                f,
                Failure::IdentityMismatch { .. } | Failure::ClaimMismatch { .. }
            ),
            artifact_mismatch: matches!(f, Failure::ArtifactMismatch(_)),
            message: format!("{}: {f}", f.code()),
            claims: f.claims().to_vec(),
        }
    }
}

/// Who signed a piece of material: the principals, and for keyless the claims matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signed {
    pub principals: Vec<String>,
    pub claims: Vec<ClaimCheck>,
}

impl Signed {
    fn keys(principals: Vec<String>) -> Signed {
        Signed {
            principals,
            claims: Vec::new(),
        }
    }

    fn keyless(signer: sigstore::Signer) -> Signed {
        Signed {
            principals: vec![signer.principal()],
            claims: signer.claims,
        }
    }
}

/// Who must have signed.
#[derive(Debug)]
pub enum Who {
    /// Distinct keys (by fingerprint).
    Keys(Vec<PublicKey>),
    Identity(IdentityPolicy),
}

/// What the policy trusts, ready to check material with.
#[derive(Debug)]
pub struct Trust {
    pub who: Who,
    pub root: TrustRoot,
    /// Keyed signatures need a verified log entry unless this is [`Tlog::Ignored`].
    pub tlog: Tlog,
}

/// A verified bundle: who signed, and what (its DSSE payload when it has one).
pub struct SignedBundle {
    pub signed: Signed,
    pub dsse: Option<(String, Vec<u8>)>,
}

impl Trust {
    /// Validates the policy: keys de-duplicated, regexes compiled, the trusted root read
    /// (`trusted_root`, else the embedded one). Everything wrong here is an error (exit 2)
    /// before any network access.
    pub fn from_policy(
        policy: &Policy,
        threshold: usize,
        trusted_root: Option<&Path>,
    ) -> Result<Trust, Error> {
        let who = match policy {
            Policy::Keys(keys) => {
                let mut distinct: Vec<PublicKey> = Vec::new();
                for key in keys {
                    if !distinct
                        .iter()
                        .any(|k| k.fingerprint() == key.fingerprint())
                    {
                        distinct.push(key.clone());
                    }
                }
                if distinct.is_empty() {
                    return Err(Error::NoKeys);
                }
                if threshold == 0 || threshold > distinct.len() {
                    return Err(Error::Threshold {
                        threshold,
                        keys: distinct.len(),
                    });
                }
                Who::Keys(distinct)
            }
            Policy::Keyless(k) => {
                let identity = identity_policy(k)?;
                if threshold == 0 || (identity.is_exact() && threshold > 1) {
                    return Err(Error::Keyless(format!(
                        "--threshold {threshold} can never be met by one exact identity and issuer (use the -regexp options to accept several signers)"
                    )));
                }
                Who::Identity(identity)
            }
        };
        let root = TrustRoot::load(trusted_root).map_err(Error::TrustedRoot)?;
        Ok(Trust {
            who,
            root,
            tlog: Tlog::Required,
        })
    }

    /// `--insecure-ignore-tlog`: keyed signatures count without a log entry. Refused for a
    /// keyless policy, whose log entry is what binds the short-lived certificate to the
    /// signing time (vouch never relaxes the library's keyless checks).
    pub fn ignoring_tlog(mut self, ignore: bool) -> Result<Trust, Error> {
        if ignore {
            if let Who::Identity(_) = self.who {
                return Err(Error::Keyless(
                    "--insecure-ignore-tlog (ignore-tlog) applies to --key only: a keyless signature is always checked against the transparency log".into(),
                ));
            }
            self.tlog = Tlog::Ignored;
        }
        Ok(self)
    }

    /// The keys of a keyed policy: (fingerprint, kind).
    pub fn keys(&self) -> Vec<(String, String)> {
        match &self.who {
            Who::Keys(keys) => keys
                .iter()
                .map(|k| (k.fingerprint(), k.kind().to_string()))
                .collect(),
            Who::Identity(_) => Vec::new(),
        }
    }

    /// The identity and issuer a keyless policy asks for, as written.
    pub fn identity(&self) -> Option<(String, String)> {
        match &self.who {
            Who::Keys(_) => None,
            Who::Identity(policy) => Some((policy.identity.to_string(), policy.issuer.to_string())),
        }
    }

    /// A simple-signing payload with its layer annotations (`.sig`).
    pub fn signs_payload(
        &self,
        payload: &[u8],
        annotations: &BTreeMap<String, String>,
    ) -> Result<Signed, Problem> {
        let Some(signature_b64) = annotations.get(SIGNATURE_ANNOTATION) else {
            return Err(Problem::new(format!(
                "no {SIGNATURE_ANNOTATION} annotation"
            )));
        };
        match &self.who {
            Who::Keys(keys) if self.tlog == Tlog::Ignored => {
                let Ok(signature) =
                    base64::engine::general_purpose::STANDARD.decode(signature_b64.trim())
                else {
                    return Err(Problem::new("the signature annotation is not base64"));
                };
                signed_by(keys, "signature", |k| k.verify(payload, &signature).is_ok())
                    .map(Signed::keys)
            }
            Who::Keys(keys) => {
                let bundle = legacy::signature_bundle(
                    payload,
                    signature_b64,
                    &keyed_annotations(annotations)?,
                )?;
                keyed_by_library(
                    &self.root,
                    keys,
                    &bundle,
                    || Subject::Bytes(payload),
                    Tlog::Required,
                )
                .map(Signed::keys)
            }
            Who::Identity(policy) => {
                let bundle = legacy::signature_bundle(
                    payload,
                    signature_b64,
                    &legacy_annotations(annotations)?,
                )?;
                let signer =
                    sigstore::verify_keyless(&self.root, &bundle, Subject::Bytes(payload), policy)?;
                Ok(Signed::keyless(signer))
            }
        }
    }

    /// A DSSE envelope with its layer annotations (`.att`); a keyless one must be about
    /// `digest` (its statement's subject), which the library checks.
    pub fn signs_envelope(
        &self,
        envelope: &Envelope,
        annotations: &BTreeMap<String, String>,
        digest: [u8; 32],
    ) -> Result<Signed, Problem> {
        match &self.who {
            Who::Keys(keys) if self.tlog == Tlog::Ignored => {
                let pae = envelope.pae();
                signed_by(keys, "envelope's signature", |k| {
                    envelope
                        .signatures
                        .iter()
                        .any(|s| k.verify(&pae, s).is_ok())
                })
                .map(Signed::keys)
            }
            Who::Keys(keys) => {
                // One log entry per layer: it records one of the envelope's signatures,
                // and the library checks which.
                let keyed = keyed_annotations(annotations)?;
                let mut failure = None;
                for signature in &envelope.signatures {
                    let bundle = legacy::attestation_bundle(
                        &envelope.payload_type,
                        &envelope.payload,
                        signature,
                        &keyed,
                    )?;
                    match keyed_by_library(
                        &self.root,
                        keys,
                        &bundle,
                        || Subject::Sha256(digest),
                        Tlog::Required,
                    ) {
                        Ok(signed) => return Ok(Signed::keys(signed)),
                        Err(p) => {
                            failure.get_or_insert(p);
                        }
                    }
                }
                Err(failure.unwrap_or_else(|| Problem::new("the envelope has no signature")))
            }
            Who::Identity(policy) => {
                let [signature] = envelope.signatures.as_slice() else {
                    return Err(Problem::new(format!(
                        "a keyless envelope must carry exactly one signature, this one has {}",
                        envelope.signatures.len() + envelope.undecodable_signatures
                    )));
                };
                let bundle = legacy::attestation_bundle(
                    &envelope.payload_type,
                    &envelope.payload,
                    signature,
                    &legacy_annotations(annotations)?,
                )?;
                let signer =
                    sigstore::verify_keyless(&self.root, &bundle, Subject::Sha256(digest), policy)?;
                Ok(Signed::keyless(signer))
            }
        }
    }

    /// A Sigstore bundle (a referrer of the image `digest`). Returns who signed and, for a
    /// DSSE bundle, the signed payload.
    pub fn signs_bundle(&self, bytes: &[u8], digest: [u8; 32]) -> Result<SignedBundle, Problem> {
        let bundle = sigstore::parse_bundle(bytes)
            .map_err(|e| Problem::new(format!("signature-malformed: {e}")))?;
        let dsse = sigstore::envelope(&bundle).map(|(t, p, _)| (t.to_string(), p.to_vec()));
        let signed = match &self.who {
            Who::Identity(policy) => Signed::keyless(sigstore::verify_keyless(
                &self.root,
                &bundle,
                Subject::Sha256(digest),
                policy,
            )?),
            Who::Keys(keys)
                if self.tlog == Tlog::Required || sigstore::has_signing_time_evidence(&bundle) =>
            {
                Signed::keys(keyed_by_library(
                    &self.root,
                    keys,
                    &bundle,
                    || Subject::Sha256(digest),
                    self.tlog,
                )?)
            }
            Who::Keys(keys) => {
                // No log entry and no timestamp: nothing but the key vouches for it.
                if !sigstore::is_keyed(&bundle) {
                    return Err(Problem::new(
                        "the bundle is signed with a certificate (keyless), not with a public key",
                    ));
                }
                let Some((payload_type, payload, signature)) = sigstore::envelope(&bundle) else {
                    return Err(Problem::new(
                        "a keyed bundle without a DSSE envelope, a log entry or a timestamp (a bare message signature over a digest) is not supported",
                    ));
                };
                let pae = pae(payload_type, payload);
                Signed::keys(signed_by(keys, "bundle's signature", |k| {
                    k.verify(&pae, signature).is_ok()
                })?)
            }
        };
        Ok(SignedBundle { signed, dsse })
    }
}

/// Says what a bundle that failed with an artifact mismatch signs instead, in the terms of
/// the image `digest` (`sha256:<hex>`), when its (unverified) content shows it.
pub fn artifact_problem(bytes: &[u8], digest: &str) -> Option<String> {
    let bundle = sigstore::parse_bundle(bytes).ok()?;
    match sigstore::content(&bundle)? {
        Content::MessageDigest(Some(signed)) => {
            let signed = format!("sha256:{}", crate::package::hex(&signed));
            (signed != digest)
                .then(|| format!("the bundle's message signature is over {signed}, not {digest}"))
        }
        Content::Dsse { payload, .. } => {
            let statement = super::dsse::Statement::parse(payload).ok()?;
            let hex = digest.trim_start_matches("sha256:");
            (!statement.names_digest(hex))
                .then(|| format!("the bundle's signed statement does not name {digest}"))
        }
        Content::MessageDigest(None) => None,
    }
}

/// The fingerprints of the keys for which `verifies`; none is a [`Problem`] about `what`.
pub(super) fn signed_by(
    keys: &[PublicKey],
    what: &str,
    verifies: impl Fn(&PublicKey) -> bool,
) -> Result<Vec<String>, Problem> {
    let signed: Vec<String> = keys
        .iter()
        .filter(|k| verifies(k))
        .map(PublicKey::fingerprint)
        .collect();
    if signed.is_empty() {
        return Err(Problem::new(format!(
            "the {what} does not verify under any given key"
        )));
    }
    Ok(signed)
}

fn legacy_annotations(
    annotations: &BTreeMap<String, String>,
) -> Result<legacy::Annotations<'_>, Problem> {
    let certificate_pem = annotations
        .get(CERTIFICATE_ANNOTATION)
        .map(String::as_str)
        .ok_or_else(|| {
            Problem::new(format!(
                "no {CERTIFICATE_ANNOTATION} annotation: not a keyless signature"
            ))
        })?;
    Ok(legacy::Annotations {
        signer: legacy::Signer::Certificate(certificate_pem),
        chain_pem: annotations.get(CHAIN_ANNOTATION).map(String::as_str),
        rekor_bundle: annotations.get(REKOR_BUNDLE_ANNOTATION).map(String::as_str),
    })
}

/// The annotations of a keyed legacy layer: its Rekor entry is required (the caller has
/// already decided that the log is not ignored).
fn keyed_annotations(
    annotations: &BTreeMap<String, String>,
) -> Result<legacy::Annotations<'_>, Problem> {
    let Some(rekor_bundle) = annotations.get(REKOR_BUNDLE_ANNOTATION) else {
        return Err(Problem::new(format!(
            "tlog-entry-invalid: {} (the layer has no {REKOR_BUNDLE_ANNOTATION} annotation)",
            sigstore::TLOG_MISSING
        )));
    };
    Ok(legacy::Annotations {
        signer: legacy::Signer::Key,
        chain_pem: None,
        rekor_bundle: Some(rekor_bundle),
    })
}

/// The fingerprints of the keys under which the library verifies `bundle` over `subject`
/// (log entry required); none is the first key's failure.
fn keyed_by_library<'s>(
    root: &TrustRoot,
    keys: &[PublicKey],
    bundle: &sigstore_verify::types::Bundle,
    subject: impl Fn() -> Subject<'s>,
    tlog: Tlog,
) -> Result<Vec<String>, Problem> {
    let mut signed = Vec::new();
    let mut failure = None;
    for key in keys {
        match sigstore::verify_with_key(root, bundle, subject(), key.spki_der(), tlog) {
            Ok(()) => signed.push(key.fingerprint()),
            Err(f) => {
                failure.get_or_insert(f);
            }
        }
    }
    match failure {
        Some(f) if signed.is_empty() => Err(f.into()),
        _ => Ok(signed),
    }
}

fn identity_policy(k: &KeylessPolicy) -> Result<IdentityPolicy, Error> {
    IdentityPolicy::from_keyless(k).map_err(|e| Error::Keyless(e.to_string()))
}

//! Who may have signed: the `--key`s, or a keyless identity under a trusted root.
//!
//! One place turns a piece of signature material (a `.sig` layer, an `.att` envelope, a
//! Sigstore bundle) into "signed by these principals" or the reason it does not count, so
//! that every source is judged by the same rules. A principal is a key's fingerprint
//! (keyed) or `identity (issuer)` (keyless); `--threshold` counts distinct principals.
//!
//! Never decides what was signed: the caller checks the payload or statement against the
//! image digest, and only after this module said the signature holds.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::dsse::Envelope;
use super::keyless::{self, BundleContent, Failure, IdentityPolicy, Matcher, Signer, TrustedRoot};
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
    /// A keyless signature that verified but names another identity or issuer.
    pub identity_mismatch: bool,
    pub message: String,
}

impl Problem {
    fn new(message: impl Into<String>) -> Problem {
        Problem {
            identity_mismatch: false,
            message: message.into(),
        }
    }
}

impl From<Failure> for Problem {
    fn from(f: Failure) -> Problem {
        Problem {
            identity_mismatch: matches!(f, Failure::IdentityMismatch { .. }),
            message: format!("{}: {f}", f.code()),
        }
    }
}

/// What the policy trusts, ready to check material with.
#[derive(Debug)]
pub enum Trust {
    /// Distinct keys (by fingerprint).
    Keys(Vec<PublicKey>),
    Keyless {
        root: Box<TrustedRoot>,
        policy: IdentityPolicy,
    },
}

impl Trust {
    /// Validates the policy: keys de-duplicated, regexes compiled, the trusted root read.
    /// Everything wrong here is an error (exit 2) before any network access.
    pub fn from_policy(policy: &Policy, threshold: usize) -> Result<Trust, Error> {
        let trust = match policy {
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
                Trust::Keys(distinct)
            }
            Policy::Keyless(k) => {
                let trust = keyless_trust(k)?;
                if let Trust::Keyless { policy, .. } = &trust {
                    let exact = matches!(policy.identity, Matcher::Exact(_))
                        && matches!(policy.issuer, Matcher::Exact(_));
                    if threshold == 0 || (exact && threshold > 1) {
                        return Err(Error::Keyless(format!(
                            "--threshold {threshold} can never be met by one exact identity and issuer (use the -regexp options to accept several signers)"
                        )));
                    }
                }
                trust
            }
        };
        Ok(trust)
    }

    /// The keys of a keyed policy: (fingerprint, kind).
    pub fn keys(&self) -> Vec<(String, String)> {
        match self {
            Trust::Keys(keys) => keys
                .iter()
                .map(|k| (k.fingerprint(), k.kind().to_string()))
                .collect(),
            Trust::Keyless { .. } => Vec::new(),
        }
    }

    /// The identity and issuer a keyless policy asks for, as written.
    pub fn identity(&self) -> Option<(String, String)> {
        match self {
            Trust::Keys(_) => None,
            Trust::Keyless { policy, .. } => {
                Some((policy.identity.to_string(), policy.issuer.to_string()))
            }
        }
    }

    /// A simple-signing payload with its layer annotations (`.sig`).
    pub fn signs_payload(
        &self,
        payload: &[u8],
        annotations: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, Problem> {
        let Some(signature_b64) = annotations.get(SIGNATURE_ANNOTATION) else {
            return Err(Problem::new(format!(
                "no {SIGNATURE_ANNOTATION} annotation"
            )));
        };
        match self {
            Trust::Keys(keys) => {
                let Ok(signature) =
                    base64::engine::general_purpose::STANDARD.decode(signature_b64.trim())
                else {
                    return Err(Problem::new("the signature annotation is not base64"));
                };
                signed_by(keys, "signature", |k| k.verify(payload, &signature).is_ok())
            }
            Trust::Keyless { root, policy } => {
                let cert = certificate(annotations)?;
                let signer = keyless::verify_legacy_signature(
                    payload,
                    signature_b64,
                    cert,
                    annotations.get(CHAIN_ANNOTATION).map(String::as_str),
                    annotations.get(REKOR_BUNDLE_ANNOTATION).map(String::as_str),
                    root,
                    policy,
                )?;
                Ok(vec![principal(&signer)])
            }
        }
    }

    /// A DSSE envelope with its layer annotations (`.att`).
    pub fn signs_envelope(
        &self,
        envelope: &Envelope,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, Problem> {
        let pae = envelope.pae();
        match self {
            Trust::Keys(keys) => signed_by(keys, "envelope's signature", |k| {
                envelope
                    .signatures
                    .iter()
                    .any(|s| k.verify(&pae, s).is_ok())
            }),
            Trust::Keyless { root, policy } => {
                let cert = certificate(annotations)?;
                let [signature] = envelope.signatures.as_slice() else {
                    return Err(Problem::new(format!(
                        "a keyless envelope must carry exactly one signature, this one has {}",
                        envelope.signatures.len() + envelope.undecodable_signatures
                    )));
                };
                let signer = keyless::verify_legacy_envelope(
                    &envelope.payload_type,
                    &envelope.payload,
                    signature,
                    cert,
                    annotations.get(CHAIN_ANNOTATION).map(String::as_str),
                    annotations.get(REKOR_BUNDLE_ANNOTATION).map(String::as_str),
                    root,
                    policy,
                )?;
                Ok(vec![principal(&signer)])
            }
        }
    }

    /// A Sigstore bundle (a referrer of the image). Returns who signed and what.
    pub fn signs_bundle(&self, bundle: &[u8]) -> Result<(Vec<String>, BundleContent), Problem> {
        match self {
            Trust::Keys(keys) => {
                let envelope = keyless::keyed_bundle_envelope(bundle)?;
                let pae = envelope.pae();
                let signed = signed_by(keys, "bundle's signature", |k| {
                    k.verify(&pae, &envelope.signature).is_ok()
                })?;
                Ok((
                    signed,
                    BundleContent::Dsse {
                        payload_type: envelope.payload_type,
                        payload: envelope.payload,
                    },
                ))
            }
            Trust::Keyless { root, policy } => {
                let (signer, content) = keyless::verify_bundle(bundle, root, policy)?;
                Ok((vec![principal(&signer)], content))
            }
        }
    }
}

/// The fingerprints of the keys for which `verifies`; none is a [`Problem`] about `what`.
fn signed_by(
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

fn principal(signer: &Signer) -> String {
    format!("{} ({})", signer.identity, signer.issuer)
}

fn certificate(annotations: &BTreeMap<String, String>) -> Result<&str, Problem> {
    annotations
        .get(CERTIFICATE_ANNOTATION)
        .map(String::as_str)
        .ok_or_else(|| {
            Problem::new(format!(
                "no {CERTIFICATE_ANNOTATION} annotation: not a keyless signature"
            ))
        })
}

fn keyless_trust(k: &KeylessPolicy) -> Result<Trust, Error> {
    let bad = |m: String| Error::Keyless(m);
    let matcher =
        |exact: &Option<String>, regexp: &Option<String>, what: &str| match (exact, regexp) {
            (Some(_), Some(_)) => Err(bad(format!(
                "give --certificate-{what} or --certificate-{what}-regexp, not both"
            ))),
            (Some(e), None) => Ok(Matcher::Exact(e.clone())),
            (None, Some(r)) => Matcher::regex(r).map_err(|e| {
                bad(format!(
                    "--certificate-{what}-regexp {r:?} is not a valid regex: {e}"
                ))
            }),
            (None, None) => Err(bad(format!(
                "keyless verification needs --certificate-{what} or --certificate-{what}-regexp"
            ))),
        };
    let identity = matcher(&k.identity, &k.identity_regexp, "identity")?;
    let issuer = matcher(&k.oidc_issuer, &k.oidc_issuer_regexp, "oidc-issuer")?;
    let Some(path) = &k.trusted_root else {
        return Err(bad(
            "keyless verification needs --trusted-root FILE (Sigstore's trusted_root.json); vouch verifies offline and fetches no trust material".into(),
        ));
    };
    let bytes = std::fs::read(path).map_err(|e| {
        bad(format!(
            "cannot read the trusted root {}: {e}",
            path.display()
        ))
    })?;
    let root = TrustedRoot::from_json(&bytes)
        .map_err(|e| bad(format!("bad trusted root {}: {e}", path.display())))?;
    Ok(Trust::Keyless {
        root: Box::new(root),
        policy: IdentityPolicy { identity, issuer },
    })
}

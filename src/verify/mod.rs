//! `vouch verify`: cosign signatures and in-toto attestations on an image digest.
//!
//! The flow: parse the reference → connect to the registry → resolve a tag to its digest
//! once (everything after uses the digest) → fetch `sha256-<hex>.sig` and check every
//! simple-signing layer against the policy → fetch `sha256-<hex>.att` and check every DSSE
//! layer of each requested predicate type → findings.
//!
//! Findings versus errors: an image that is not signed, a signature or attestation that
//! does not verify, a payload that names another image are findings (exit 1). A registry
//! that cannot be reached, refuses our credentials or serves bytes that do not match their
//! digest, a bad key file or a bad reference are errors (exit 2): nothing could be checked.
//!
//! The seam for keyless verification is [`Policy::Keyless`]: until it is built, asking for
//! it is an error before any network access (the gate fails closed).

pub mod dsse;
pub mod keyless;
pub mod keys;
pub mod oci;
pub mod registry;
pub mod simple_signing;

use std::collections::BTreeSet;
use std::path::PathBuf;

use base64::Engine as _;

use crate::finding::{Code, Finding, Level};
pub use keys::{KeyError, PublicKey};
use oci::{Descriptor, ImageManifest};
use registry::{Client, Digest, Reference, RegistryError, RegistryOptions};

/// The media type of a cosign simple-signing layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The media type of a cosign attestation layer.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The annotation holding a simple-signing layer's base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum Policy {
    /// Any of these keys (`--key`), at least `threshold` distinct ones.
    Keys(Vec<PublicKey>),
    /// Fulcio certificate + identity (`--certificate-identity` ...). Not built yet:
    /// [`verify`] returns [`Error::KeylessNotBuilt`].
    Keyless(KeylessPolicy),
}

/// What a keyless verification will match (filled by the CLI, checked by the keyless
/// module once it is wired in).
#[derive(Debug, Clone, Default)]
pub struct KeylessPolicy {
    pub identity: Option<String>,
    pub identity_regexp: Option<String>,
    pub oidc_issuer: Option<String>,
    pub oidc_issuer_regexp: Option<String>,
    pub trusted_root: Option<PathBuf>,
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
    pub registry: RegistryOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{image} names a tag, and --require-digest asks for a digest (@sha256:...)")]
    TagRefused { image: String },
    #[error(
        "keyless verification (--certificate-identity, --certificate-oidc-issuer, --trusted-root) is not built yet; use --key"
    )]
    KeylessNotBuilt,
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
    pub layer: String,
    /// The fingerprints of the keys it verified under (with a payload for this image).
    pub verified_by: Vec<String>,
    /// Why it did not count, when it did not.
    pub problem: Option<String>,
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
    /// The keys of the policy: (fingerprint, kind).
    pub keys: Vec<(String, String)>,
    pub threshold: usize,
    pub signatures: Vec<SignatureCheck>,
    pub attestations: Vec<AttestationCheck>,
    pub findings: Vec<Finding>,
}

impl VerifyOutcome {
    /// Distinct keys with a valid signature.
    pub fn signing_keys(&self) -> BTreeSet<&str> {
        self.signatures
            .iter()
            .flat_map(|s| s.verified_by.iter().map(String::as_str))
            .collect()
    }
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
    let keys = match &req.policy {
        Policy::Keys(keys) => keys,
        Policy::Keyless(_) => return Err(Error::KeylessNotBuilt),
    };
    if keys.is_empty() {
        return Err(Error::NoKeys);
    }
    let mut distinct: Vec<&PublicKey> = Vec::new();
    for key in keys {
        if !distinct
            .iter()
            .any(|k| k.fingerprint() == key.fingerprint())
        {
            distinct.push(key);
        }
    }
    if req.threshold == 0 || req.threshold > distinct.len() {
        return Err(Error::Threshold {
            threshold: req.threshold,
            keys: distinct.len(),
        });
    }
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
        keys: distinct
            .iter()
            .map(|k| (k.fingerprint(), k.kind().to_string()))
            .collect(),
        threshold: req.threshold,
        signatures: Vec::new(),
        attestations: Vec::new(),
        findings: Vec::new(),
    };

    check_signatures(&client, &digest, &distinct, &mut outcome)?;
    if !req.attestations.is_empty() {
        check_attestations(&client, &digest, &distinct, &req.attestations, &mut outcome)?;
    }
    Ok(outcome)
}

/// Parsing guarantees a tag or a digest; this keeps that promise explicit without a panic.
fn unreachable_reference(image: &str) -> Result<(Digest, Option<String>), Error> {
    Err(Error::Registry(RegistryError::Reference {
        reference: image.into(),
        why: "name a digest (@sha256:...) or a tag (:tag)".into(),
    }))
}

/// Fetches `sha256-<hex>.<suffix>`; `None` if the registry has no such tag.
fn fetch_attached(
    client: &Client,
    digest: &Digest,
    suffix: &str,
    what: &'static str,
) -> Result<Option<ImageManifest>, Error> {
    let tag = format!("sha256-{}.{suffix}", digest.hex());
    let Some(manifest) = client.manifest(&tag)? else {
        return Ok(None);
    };
    ImageManifest::parse(&manifest.bytes)
        .map(Some)
        .map_err(|e| Error::BadManifest {
            what,
            url: format!("{}/…/manifests/{tag}", client.base()),
            why: e.to_string(),
        })
}

fn short(fingerprint: &str) -> &str {
    fingerprint.get(..16).unwrap_or(fingerprint)
}

fn check_signatures(
    client: &Client,
    digest: &Digest,
    keys: &[&PublicKey],
    outcome: &mut VerifyOutcome,
) -> Result<(), Error> {
    let Some(manifest) = fetch_attached(client, digest, "sig", "signature")? else {
        outcome.findings.push(finding(
            Code::ImageNotSigned,
            format!(
                "{} has no cosign signature (no sha256-{}.sig in the registry)",
                outcome.image,
                digest.hex()
            ),
        ));
        return Ok(());
    };
    let expected = digest.to_string();
    for layer in &manifest.layers {
        let mut check = SignatureCheck {
            layer: layer.digest.clone(),
            verified_by: Vec::new(),
            problem: None,
        };
        check.problem =
            check_signature_layer(client, layer, keys, &expected, &mut check.verified_by)?;
        outcome.signatures.push(check);
    }
    let signing = outcome.signing_keys().len();
    if signing >= outcome.threshold {
        return Ok(());
    }
    let problems: Vec<String> = outcome
        .signatures
        .iter()
        .filter_map(|s| {
            s.problem
                .as_ref()
                .map(|p| format!("{}: {p}", short_layer(&s.layer)))
        })
        .collect();
    let message = if outcome.signatures.is_empty() {
        format!("{}: the signature manifest has no layers", outcome.image)
    } else if signing == 0 {
        format!(
            "no valid signature on {} by the given key{} ({})",
            outcome.image,
            if keys.len() == 1 { "" } else { "s" },
            problems.join("; ")
        )
    } else {
        format!(
            "{} is signed by {signing} of the given keys, --threshold asks for {}",
            outcome.image, outcome.threshold
        )
    };
    outcome
        .findings
        .push(finding(Code::SignatureInvalid, message));
    Ok(())
}

fn short_layer(layer: &str) -> &str {
    layer.get(..("sha256:".len() + 12)).unwrap_or(layer)
}

/// Checks one `.sig` layer; returns why it does not count (or `None`), and records the
/// keys it verified under.
///
/// Keyless seam: a keyless policy checks the same layers, with the signature verified
/// under the Fulcio certificate of the layer's `dev.sigstore.cosign/certificate`
/// annotation (chain: `dev.sigstore.cosign/chain`, Rekor: `dev.sigstore.cosign/bundle`)
/// instead of a `--key`, and the same `simple_signing::check` afterwards; an identity
/// that does not match becomes `Code::IdentityMismatch`.
fn check_signature_layer(
    client: &Client,
    layer: &Descriptor,
    keys: &[&PublicKey],
    expected: &str,
    verified_by: &mut Vec<String>,
) -> Result<Option<String>, Error> {
    if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
        return Ok(Some(format!(
            "layer media type {:?} is not simple signing",
            layer.media_type
        )));
    }
    let Some(signature_b64) = layer.annotations.get(SIGNATURE_ANNOTATION) else {
        return Ok(Some(format!("no {SIGNATURE_ANNOTATION} annotation")));
    };
    let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim())
    else {
        return Ok(Some("the signature annotation is not base64".into()));
    };
    let Some(layer_digest) = Digest::parse(&layer.digest) else {
        return Ok(Some(format!(
            "layer digest {:?} is not sha256",
            layer.digest
        )));
    };
    let payload = client.blob(&layer_digest)?;
    let mut problem = Some("the signature does not verify under any given key".to_string());
    for key in keys {
        if key.verify(&payload, &signature).is_err() {
            continue;
        }
        match simple_signing::check(&payload, expected) {
            Ok(_) => {
                verified_by.push(key.fingerprint());
                problem = None;
            }
            Err(e) => {
                return Ok(Some(format!(
                    "signed by key {} but {e}",
                    short(&key.fingerprint())
                )));
            }
        }
    }
    Ok(problem)
}

fn check_attestations(
    client: &Client,
    digest: &Digest,
    keys: &[&PublicKey],
    wanted: &[PredicateType],
    outcome: &mut VerifyOutcome,
) -> Result<(), Error> {
    /// One DSSE layer, read.
    struct Layer {
        digest: String,
        /// The predicate type it claims (annotation or unverified statement).
        claims: BTreeSet<String>,
        /// Keys whose signature over the PAE verified.
        signed_by: Vec<String>,
        /// The statement, when some signature verified.
        statement: Option<Result<dsse::Statement, String>>,
        problem: Option<String>,
    }
    let manifest = fetch_attached(client, digest, "att", "attestation")?;
    let mut layers = Vec::new();
    for desc in manifest.iter().flat_map(|m| &m.layers) {
        if desc.media_type != DSSE_MEDIA_TYPE {
            continue;
        }
        let mut layer = Layer {
            digest: desc.digest.clone(),
            claims: desc
                .annotations
                .get("predicateType")
                .cloned()
                .into_iter()
                .collect(),
            signed_by: Vec::new(),
            statement: None,
            problem: None,
        };
        let Some(blob_digest) = Digest::parse(&desc.digest) else {
            layer.problem = Some(format!("layer digest {:?} is not sha256", desc.digest));
            layers.push(layer);
            continue;
        };
        let blob = client.blob(&blob_digest)?;
        let envelope = match dsse::Envelope::parse(&blob) {
            Ok(envelope) => envelope,
            Err(e) => {
                layer.problem = Some(e.to_string());
                layers.push(layer);
                continue;
            }
        };
        if let Ok(unverified) = dsse::Statement::parse(&envelope.payload) {
            layer.claims.insert(unverified.predicate_type);
        }
        let pae = envelope.pae();
        for key in keys {
            if envelope
                .signatures
                .iter()
                .any(|sig| key.verify(&pae, sig).is_ok())
            {
                layer.signed_by.push(key.fingerprint());
            }
        }
        if layer.signed_by.is_empty() {
            layer.problem =
                Some("the envelope's signature does not verify under any given key".into());
        } else {
            layer.statement = Some(envelope.statement().map_err(|e| e.to_string()));
        }
        layers.push(layer);
    }

    for want in wanted {
        let uri = want.uri();
        let mut verified_by = BTreeSet::new();
        let mut problems = Vec::new();
        let mut claimed = false;
        for layer in &layers {
            let statement_type = match &layer.statement {
                Some(Ok(st)) => Some(st.predicate_type.as_str()),
                _ => None,
            };
            if !layer.claims.contains(uri) && statement_type != Some(uri) {
                continue;
            }
            claimed = true;
            let at = short_layer(&layer.digest);
            match (&layer.statement, &layer.problem) {
                (_, Some(problem)) => problems.push(format!("{at}: {problem}")),
                (Some(Err(e)), _) => problems.push(format!("{at}: {e}")),
                (Some(Ok(st)), _) if st.predicate_type != uri => problems.push(format!(
                    "{at}: the signed statement's predicateType is {:?}",
                    st.predicate_type
                )),
                (Some(Ok(st)), _) if !st.names_digest(digest.hex()) => problems.push(format!(
                    "{at}: the statement's subject is {}, not {digest}",
                    st.subjects
                        .iter()
                        .map(|(_, d)| format!("sha256:{d}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                        .chars()
                        .take(200)
                        .collect::<String>()
                )),
                (Some(Ok(_)), _) => verified_by.extend(layer.signed_by.iter().cloned()),
                (None, None) => problems.push(format!("{at}: not verified")),
            }
        }
        let status = if verified_by.len() >= outcome.threshold {
            AttestationStatus::Verified
        } else if !claimed {
            outcome.findings.push(finding(
                Code::AttestationMissing,
                format!(
                    "{} has no {uri} attestation{}",
                    outcome.image,
                    if manifest.is_none() {
                        format!(" (no sha256-{}.att in the registry)", digest.hex())
                    } else {
                        String::new()
                    }
                ),
            ));
            AttestationStatus::Missing
        } else {
            let message = if verified_by.is_empty() {
                format!(
                    "no valid {uri} attestation on {}: {}",
                    outcome.image,
                    problems.join("; ")
                )
            } else {
                format!(
                    "the {uri} attestation on {} is signed by {} of the given keys, --threshold asks for {}",
                    outcome.image,
                    verified_by.len(),
                    outcome.threshold
                )
            };
            outcome
                .findings
                .push(finding(Code::AttestationInvalid, message));
            AttestationStatus::Invalid
        };
        outcome.attestations.push(AttestationCheck {
            predicate_type: uri.to_string(),
            status,
            verified_by: verified_by.into_iter().collect(),
            problems,
        });
    }
    Ok(())
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

    #[test]
    fn keyless_fails_closed_before_any_network() {
        let req = VerifyRequest {
            image: "127.0.0.1:1/x@sha256:".to_string() + &"0".repeat(64),
            policy: Policy::Keyless(KeylessPolicy::default()),
            attestations: vec![],
            threshold: 1,
            require_digest: false,
            registry: RegistryOptions::default(),
        };
        assert!(matches!(verify(&req), Err(Error::KeylessNotBuilt)));
    }
}

//! `vouch verify`: cosign signatures and in-toto attestations on an image digest.
//!
//! The flow: parse the reference → validate the policy (keys, or identity + trusted root)
//! → connect to the registry → resolve a tag to its digest once (everything after uses
//! the digest) → gather the signature material: cosign's `sha256-<hex>.sig` and
//! `sha256-<hex>.att` tags, and the image's OCI 1.1 referrers (the referrers API, else
//! its `sha256-<hex>` fallback tag): Sigstore bundles and cosign signature/attestation
//! manifests → judge each piece with [`trust::Trust`] → check what was signed against the
//! digest → findings.
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

pub mod dsse;
pub mod keyless;
pub mod keys;
pub mod oci;
pub mod registry;
pub mod simple_signing;
pub mod trust;

use std::collections::BTreeSet;
use std::path::PathBuf;

use base64::Engine as _;

use crate::finding::{Code, Finding, Level};
use keyless::BundleContent;
pub use keys::{KeyError, PublicKey};
use oci::{Descriptor, ImageIndex, ImageManifest};
use registry::{Client, Digest, Reference, RegistryError, RegistryOptions};
use trust::Trust;

/// The media type of a cosign simple-signing layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The media type of a cosign attestation layer.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
pub use trust::SIGNATURE_ANNOTATION;
/// The artifact types of Sigstore bundles attached as referrers start with this.
pub const BUNDLE_ARTIFACT_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// The artifact type of a cosign signature manifest attached as a referrer.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// The artifact type of a cosign attestation manifest attached as a referrer.
pub const ATTESTATION_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.att.v1+json";
/// The predicate type of cosign's bundle-format image signature.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The OCI empty descriptor's media type.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// At most this many referrers are read (each costs two requests).
pub const MAX_REFERRERS: usize = 32;

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum Policy {
    /// Any of these keys (`--key`), at least `threshold` distinct ones.
    Keys(Vec<PublicKey>),
    /// Fulcio certificate + identity (`--certificate-identity` ...) under a trusted root.
    Keyless(KeylessPolicy),
}

/// What a keyless verification matches, as given (validated by [`trust::Trust`]).
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
    #[error("{0}")]
    Keyless(String),
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
    /// The keys of a keyed policy: (fingerprint, kind).
    pub keys: Vec<(String, String)>,
    /// The identity and issuer of a keyless policy, as given (exact or `/regex/`).
    pub identity: Option<(String, String)>,
    pub threshold: usize,
    pub signatures: Vec<SignatureCheck>,
    pub attestations: Vec<AttestationCheck>,
    pub findings: Vec<Finding>,
}

impl VerifyOutcome {
    /// Distinct principals (keys or identities) with a valid signature.
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
    let trust = Trust::from_policy(&req.policy, req.threshold)?;
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
        threshold: req.threshold,
        signatures: Vec::new(),
        attestations: Vec::new(),
        findings: Vec::new(),
    };

    let material = Material::fetch(&client, &digest)?;
    let evidence = judge(&client, &digest, &trust, &material)?;
    signature_findings(&material, evidence.signatures, &mut outcome);
    if !req.attestations.is_empty() {
        attestation_findings(
            &material,
            &evidence.attestations,
            &req.attestations,
            &mut outcome,
        );
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

/// Everything attached to the image, as found (nothing judged yet).
struct Material {
    /// `sha256-<hex>.sig`, if the registry has it.
    sig_tag: Option<ImageManifest>,
    /// `sha256-<hex>.att`, if the registry has it.
    att_tag: Option<ImageManifest>,
    /// Referrers that are cosign signature manifests.
    sig_referrers: Vec<ImageManifest>,
    /// Referrers that are cosign attestation manifests.
    att_referrers: Vec<ImageManifest>,
    /// Referrers that are Sigstore bundles: (bundle layer digest, manifest).
    bundles: Vec<(String, ImageManifest)>,
    /// Referrers that could not be used, and why (reported with the signatures).
    unusable: Vec<(String, String)>,
}

impl Material {
    fn fetch(client: &Client, digest: &Digest) -> Result<Material, Error> {
        let mut material = Material {
            sig_tag: fetch_attached(client, digest, "sig", "signature")?,
            att_tag: fetch_attached(client, digest, "att", "attestation")?,
            sig_referrers: Vec::new(),
            att_referrers: Vec::new(),
            bundles: Vec::new(),
            unusable: Vec::new(),
        };
        let Some(index) = referrers(client, digest)? else {
            return Ok(material);
        };
        // Referrers that declare a signature type first, then those that declare none or
        // the empty type (cosign 2.5 writes its config's `application/vnd.oci.empty.v1+json`
        // into the fallback index), whose manifests say what they are. Others (SBOMs,
        // scans...) are not read.
        let declared = |d: &Descriptor| d.artifact_type.clone().unwrap_or_default();
        let is_wanted = |t: &str| {
            t.starts_with(BUNDLE_ARTIFACT_PREFIX)
                || t == SIGNATURE_ARTIFACT_TYPE
                || t == ATTESTATION_ARTIFACT_TYPE
        };
        let (mut candidates, unknown): (Vec<Descriptor>, Vec<Descriptor>) = index
            .manifests
            .into_iter()
            .filter(|d| {
                let t = declared(d);
                is_wanted(&t) || t.is_empty() || t == EMPTY_MEDIA_TYPE
            })
            .partition(|d| is_wanted(&declared(d)));
        candidates.extend(unknown);
        if candidates.len() > MAX_REFERRERS {
            material.unusable.push((
                format!("{} referrers", candidates.len()),
                format!("more than {MAX_REFERRERS}; the rest are not read"),
            ));
            candidates.truncate(MAX_REFERRERS);
        }
        for desc in candidates {
            let Some(manifest) = client.manifest(&desc.digest)? else {
                material.unusable.push((
                    desc.digest.clone(),
                    "listed, but not in the registry".into(),
                ));
                continue;
            };
            let parsed = match ImageManifest::parse(&manifest.bytes) {
                Ok(m) => m,
                Err(e) => {
                    material
                        .unusable
                        .push((desc.digest.clone(), format!("not an image manifest: {e}")));
                    continue;
                }
            };
            // A referrer listed for this image must say so itself.
            if parsed.subject.as_ref().map(|s| s.digest.as_str()) != Some(&digest.to_string()) {
                material
                    .unusable
                    .push((desc.digest.clone(), format!("its subject is not {digest}")));
                continue;
            }
            let manifest_type = parsed.declared_artifact_type().unwrap_or_default();
            if manifest_type.starts_with(BUNDLE_ARTIFACT_PREFIX) {
                material.bundles.push((desc.digest.clone(), parsed));
            } else if manifest_type == SIGNATURE_ARTIFACT_TYPE {
                material.sig_referrers.push(parsed);
            } else if manifest_type == ATTESTATION_ARTIFACT_TYPE {
                material.att_referrers.push(parsed);
            } else if is_wanted(&declared(&desc)) {
                material.unusable.push((
                    desc.digest.clone(),
                    format!(
                        "the index says {:?}, the manifest {manifest_type:?}",
                        declared(&desc)
                    ),
                ));
            }
        }
        Ok(material)
    }

    /// Anything that claims to sign the image (a referrer that turned out unusable, such
    /// as one replayed from another image, counts: it is reported as invalid).
    fn any_signature_material(&self) -> bool {
        self.sig_tag.is_some()
            || !self.sig_referrers.is_empty()
            || !self.bundles.is_empty()
            || !self.unusable.is_empty()
    }

    fn any_attestation_material(&self) -> bool {
        self.att_tag.is_some() || !self.att_referrers.is_empty() || !self.bundles.is_empty()
    }
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

/// The image's referrers: the OCI 1.1 API, else the `sha256-<hex>` fallback tag.
fn referrers(client: &Client, digest: &Digest) -> Result<Option<ImageIndex>, Error> {
    let (bytes, url) = match client.referrers(digest)? {
        Some(bytes) => (bytes, format!("{}/…/referrers/{digest}", client.base())),
        None => {
            let tag = format!("sha256-{}", digest.hex());
            match client.manifest(&tag)? {
                Some(m) => (m.bytes, format!("{}/…/manifests/{tag}", client.base())),
                None => return Ok(None),
            }
        }
    };
    ImageIndex::parse(&bytes)
        .map(Some)
        .map_err(|e| Error::BadManifest {
            what: "referrers",
            url,
            why: e.to_string(),
        })
}

fn short(fingerprint: &str) -> &str {
    fingerprint.get(..16).unwrap_or(fingerprint)
}

fn short_layer(layer: &str) -> &str {
    layer.get(..("sha256:".len() + 12)).unwrap_or(layer)
}

/// One signed in-toto statement (or why there is none), from an `.att` layer or a bundle.
struct AttestationEvidence {
    source: String,
    /// The predicate type it claims (annotation or unverified statement).
    claims: BTreeSet<String>,
    /// Principals whose signature verified.
    signed_by: Vec<String>,
    /// The statement, when a signature verified.
    statement: Option<Result<dsse::Statement, String>>,
    problem: Option<String>,
}

struct Evidence {
    signatures: Vec<SignatureCheck>,
    attestations: Vec<AttestationEvidence>,
}

/// Judges every piece of material: who signed it, and what it says.
fn judge(
    client: &Client,
    digest: &Digest,
    trust: &Trust,
    material: &Material,
) -> Result<Evidence, Error> {
    let mut evidence = Evidence {
        signatures: Vec::new(),
        attestations: Vec::new(),
    };
    let expected = digest.to_string();
    let sig_layers = (material.sig_tag.iter().map(|m| ("sig-tag", m)))
        .chain(material.sig_referrers.iter().map(|m| ("referrer", m)));
    for (source, manifest) in sig_layers {
        for layer in &manifest.layers {
            let check = signature_layer(client, layer, trust, &expected)?;
            evidence.signatures.push(SignatureCheck { source, ..check });
        }
    }
    let att_layers = (material.att_tag.iter())
        .chain(&material.att_referrers)
        .flat_map(|m| &m.layers);
    for layer in att_layers {
        if layer.media_type != DSSE_MEDIA_TYPE {
            continue;
        }
        evidence
            .attestations
            .push(attestation_layer(client, layer, trust)?);
    }
    for (referrer, manifest) in &material.bundles {
        bundle(client, referrer, manifest, trust, digest, &mut evidence)?;
    }
    for (referrer, why) in &material.unusable {
        evidence.signatures.push(SignatureCheck {
            layer: referrer.clone(),
            source: "referrer",
            verified_by: Vec::new(),
            problem: Some(format!("referrer not used: {why}")),
            identity_mismatch: false,
        });
    }
    Ok(evidence)
}

/// Checks one simple-signing layer (`.sig` tag or a signature referrer).
fn signature_layer(
    client: &Client,
    layer: &Descriptor,
    trust: &Trust,
    expected: &str,
) -> Result<SignatureCheck, Error> {
    let mut check = SignatureCheck {
        layer: layer.digest.clone(),
        source: "sig-tag",
        verified_by: Vec::new(),
        problem: None,
        identity_mismatch: false,
    };
    if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
        check.problem = Some(format!(
            "layer media type {:?} is not simple signing",
            layer.media_type
        ));
        return Ok(check);
    }
    let Some(layer_digest) = Digest::parse(&layer.digest) else {
        check.problem = Some(format!("layer digest {:?} is not sha256", layer.digest));
        return Ok(check);
    };
    let payload = client.blob(&layer_digest)?;
    match trust.signs_payload(&payload, &layer.annotations) {
        Err(problem) => {
            check.identity_mismatch = problem.identity_mismatch;
            check.problem = Some(problem.message);
        }
        Ok(principals) => match simple_signing::check(&payload, expected) {
            Ok(_) => check.verified_by = principals,
            Err(e) => {
                check.problem = Some(format!(
                    "signed by {} but {e}",
                    principals.first().map(|p| short(p)).unwrap_or_default()
                ))
            }
        },
    }
    Ok(check)
}

/// Reads one DSSE layer (`.att` tag or an attestation referrer).
fn attestation_layer(
    client: &Client,
    desc: &Descriptor,
    trust: &Trust,
) -> Result<AttestationEvidence, Error> {
    let mut layer = AttestationEvidence {
        source: desc.digest.clone(),
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
        return Ok(layer);
    };
    let blob = client.blob(&blob_digest)?;
    let envelope = match dsse::Envelope::parse(&blob) {
        Ok(envelope) => envelope,
        Err(e) => {
            layer.problem = Some(e.to_string());
            return Ok(layer);
        }
    };
    if let Ok(unverified) = dsse::Statement::parse(&envelope.payload) {
        layer.claims.insert(unverified.predicate_type);
    }
    match trust.signs_envelope(&envelope, &desc.annotations) {
        Ok(principals) => {
            layer.signed_by = principals;
            layer.statement = Some(envelope.statement().map_err(|e| e.to_string()));
        }
        Err(problem) => layer.problem = Some(problem.message),
    }
    Ok(layer)
}

/// Reads one bundle referrer: a signature of the image, or an attestation.
fn bundle(
    client: &Client,
    referrer: &str,
    manifest: &ImageManifest,
    trust: &Trust,
    digest: &Digest,
    evidence: &mut Evidence,
) -> Result<(), Error> {
    let unusable = |problem: String| SignatureCheck {
        layer: referrer.to_string(),
        source: "bundle",
        verified_by: Vec::new(),
        problem: Some(problem),
        identity_mismatch: false,
    };
    let Some(layer) = manifest
        .layers
        .iter()
        .find(|l| l.media_type.starts_with(BUNDLE_ARTIFACT_PREFIX))
    else {
        evidence
            .signatures
            .push(unusable("the bundle referrer has no bundle layer".into()));
        return Ok(());
    };
    let Some(blob_digest) = Digest::parse(&layer.digest) else {
        evidence.signatures.push(unusable(format!(
            "layer digest {:?} is not sha256",
            layer.digest
        )));
        return Ok(());
    };
    let bytes = client.blob(&blob_digest)?;
    let (principals, content) = match trust.signs_bundle(&bytes) {
        Ok(signed) => signed,
        Err(problem) => {
            // Unverified, it may be either; it is reported with the signatures and, when
            // it claims a predicate type, with that attestation too.
            let claims: BTreeSet<String> = claimed_predicate(&bytes).into_iter().collect();
            if claims.iter().any(|c| c != COSIGN_SIGN_PREDICATE) {
                evidence.attestations.push(AttestationEvidence {
                    source: layer.digest.clone(),
                    claims,
                    signed_by: Vec::new(),
                    statement: None,
                    problem: Some(problem.message),
                });
            } else {
                evidence.signatures.push(SignatureCheck {
                    layer: layer.digest.clone(),
                    source: "bundle",
                    verified_by: Vec::new(),
                    identity_mismatch: problem.identity_mismatch,
                    problem: Some(problem.message),
                });
            }
            return Ok(());
        }
    };
    let mut check = SignatureCheck {
        layer: layer.digest.clone(),
        source: "bundle",
        verified_by: Vec::new(),
        problem: None,
        identity_mismatch: false,
    };
    match content {
        BundleContent::MessageDigest { digest: signed, .. } => {
            if signed.as_slice() == unhex(digest.hex()).as_slice() {
                check.verified_by = principals;
            } else {
                check.problem = Some(format!(
                    "the bundle's message signature is over sha256:{}, not {digest}",
                    crate::package::hex(&signed)
                ));
            }
            evidence.signatures.push(check);
        }
        BundleContent::Dsse {
            payload_type,
            payload,
        } => {
            let statement = if payload_type == dsse::IN_TOTO_PAYLOAD_TYPE {
                dsse::Statement::parse(&payload).map_err(|e| e.to_string())
            } else {
                Err(dsse::DsseError::PayloadType(payload_type).to_string())
            };
            match statement {
                Ok(st) if st.predicate_type == COSIGN_SIGN_PREDICATE => {
                    if st.names_digest(digest.hex()) {
                        check.verified_by = principals;
                    } else {
                        check.problem = Some(format!(
                            "the bundle's signing statement does not name {digest}"
                        ));
                    }
                    evidence.signatures.push(check);
                }
                statement => evidence.attestations.push(AttestationEvidence {
                    source: layer.digest.clone(),
                    claims: statement
                        .as_ref()
                        .map(|st| st.predicate_type.clone())
                        .into_iter()
                        .collect(),
                    signed_by: principals,
                    statement: Some(statement),
                    problem: None,
                }),
            }
        }
    }
    Ok(())
}

/// The predicate type an unverified bundle's DSSE statement claims, if any.
fn claimed_predicate(bundle: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bundle).ok()?;
    let payload = v.get("dsseEnvelope")?.get("payload")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    dsse::Statement::parse(&bytes)
        .ok()
        .map(|s| s.predicate_type)
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| hex.get(2 * i..2 * i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

fn signature_findings(
    material: &Material,
    signatures: Vec<SignatureCheck>,
    outcome: &mut VerifyOutcome,
) {
    outcome.signatures = signatures;
    if !material.any_signature_material() {
        outcome.findings.push(finding(
            Code::ImageNotSigned,
            format!(
                "{} has no cosign signature (no sha256-{}.sig and no signature referrer in the registry)",
                outcome.image,
                outcome.digest.hex()
            ),
        ));
        return;
    }
    let signing = outcome.signing_keys().len();
    if signing >= outcome.threshold {
        return;
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
    let (by, counted) = match &outcome.identity {
        Some((identity, issuer)) => (
            format!("by {identity} from {issuer}"),
            format!(
                "{signing} distinct identit{} matching {identity} from {issuer}",
                if signing == 1 { "y" } else { "ies" }
            ),
        ),
        None if outcome.keys.len() == 1 => ("by the given key".into(), String::new()),
        None => (
            "by the given keys".into(),
            format!("{signing} of the given keys"),
        ),
    };
    let mismatch = signing == 0 && outcome.signatures.iter().any(|s| s.identity_mismatch);
    let message = if outcome.signatures.is_empty() {
        format!("{}: the signature manifest has no layers", outcome.image)
    } else if signing == 0 {
        format!(
            "no valid signature on {} {by} ({})",
            outcome.image,
            problems.join("; ")
        )
    } else {
        format!(
            "{} is signed by {counted}, --threshold asks for {}",
            outcome.image, outcome.threshold
        )
    };
    let code = if mismatch {
        Code::IdentityMismatch
    } else {
        Code::SignatureInvalid
    };
    outcome.findings.push(finding(code, message));
}

fn attestation_findings(
    material: &Material,
    layers: &[AttestationEvidence],
    wanted: &[PredicateType],
    outcome: &mut VerifyOutcome,
) {
    let digest = outcome.digest.clone();
    for want in wanted {
        let uri = want.uri();
        let mut verified_by = BTreeSet::new();
        let mut problems = Vec::new();
        let mut claimed = false;
        for layer in layers {
            let statement_type = match &layer.statement {
                Some(Ok(st)) => Some(st.predicate_type.as_str()),
                _ => None,
            };
            if !layer.claims.contains(uri) && statement_type != Some(uri) {
                continue;
            }
            claimed = true;
            let at = short_layer(&layer.source);
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
                    if material.any_attestation_material() {
                        String::new()
                    } else {
                        format!(
                            " (no sha256-{}.att and no attestation referrer in the registry)",
                            digest.hex()
                        )
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
                    "the {uri} attestation on {} is signed by {} distinct signer{}, --threshold asks for {}",
                    outcome.image,
                    verified_by.len(),
                    if verified_by.len() == 1 { "" } else { "s" },
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
        let req = |policy: KeylessPolicy, threshold| VerifyRequest {
            image: "127.0.0.1:1/x@sha256:".to_string() + &"0".repeat(64),
            policy: Policy::Keyless(policy),
            attestations: vec![],
            threshold,
            require_digest: false,
            registry: RegistryOptions::default(),
        };
        let full = KeylessPolicy {
            identity: Some("me".into()),
            oidc_issuer: Some("https://issuer".into()),
            trusted_root: Some("/nonexistent/trusted_root.json".into()),
            ..KeylessPolicy::default()
        };
        let message = |p, t| match verify(&req(p, t)) {
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
        let no_root = KeylessPolicy {
            trusted_root: None,
            ..full.clone()
        };
        assert!(message(no_root, 1).contains("--trusted-root"));
        assert!(message(full.clone(), 1).contains("cannot read the trusted root"));
        // One exact identity can never make two distinct signers.
        let root = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            root.path(),
            include_str!("../../fixtures/sigstore/trusted-root-public-good.json"),
        )
        .unwrap();
        let readable = KeylessPolicy {
            trusted_root: Some(root.path().to_path_buf()),
            ..full
        };
        assert!(message(readable, 2).contains("--threshold 2"));
    }
}

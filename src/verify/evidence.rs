//! Judging the material: who signed each piece (through [`Trust`]) and what it says, as
//! signature checks and signed in-toto statements. Nothing here decides the verdict.

use std::collections::BTreeSet;

use base64::Engine as _;

use super::claims::ClaimCheck;
use super::material::{BUNDLE_ARTIFACT_PREFIX, Material};
use super::oci::{Descriptor, ImageManifest};
use super::registry::{Client, Digest};
use super::trust::{self, Trust};
use super::{
    COSIGN_SIGN_PREDICATE, DSSE_MEDIA_TYPE, Error, SIMPLE_SIGNING_MEDIA_TYPE, SignatureCheck, dsse,
    sha256_bytes, simple_signing,
};

/// A key fingerprint cut to 16 hex digits; a keyless `identity (issuer)` stays whole.
pub(super) fn short(principal: &str) -> &str {
    if principal.contains(' ') {
        return principal;
    }
    principal.get(..16).unwrap_or(principal)
}

pub(super) fn short_layer(layer: &str) -> &str {
    layer.get(..("sha256:".len() + 12)).unwrap_or(layer)
}

/// One signed in-toto statement (or why there is none), from an `.att` layer or a bundle.
pub(super) struct AttestationEvidence {
    pub(super) source: String,
    /// The predicate type it claims (annotation or unverified statement).
    pub(super) claims: BTreeSet<String>,
    /// Principals whose signature verified.
    pub(super) signed_by: Vec<String>,
    /// Keyless: the certificate claims the policy checked (as for signatures).
    pub(super) certificate_claims: Vec<ClaimCheck>,
    /// The statement, when a signature verified.
    pub(super) statement: Option<Result<dsse::Statement, String>>,
    pub(super) problem: Option<String>,
}

pub(super) struct Evidence {
    pub(super) signatures: Vec<SignatureCheck>,
    pub(super) attestations: Vec<AttestationEvidence>,
}

/// Judges every piece of material: who signed it, and what it says.
pub(super) fn judge(
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
            .push(attestation_layer(client, layer, trust, digest)?);
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
            claims: Vec::new(),
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
        claims: Vec::new(),
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
            check.claims = problem.claims;
        }
        Ok(signed) => match simple_signing::check(&payload, expected) {
            Ok(_) => {
                check.verified_by = signed.principals;
                check.claims = signed.claims;
            }
            Err(e) => {
                check.problem = Some(format!(
                    "signed by {} but {e}",
                    signed
                        .principals
                        .first()
                        .map(|p| short(p))
                        .unwrap_or_default()
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
    digest: &Digest,
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
        certificate_claims: Vec::new(),
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
    match trust.signs_envelope(&envelope, &desc.annotations, sha256_bytes(digest)) {
        Ok(signed) => {
            layer.signed_by = signed.principals;
            layer.certificate_claims = signed.claims;
            layer.statement = Some(envelope.statement().map_err(|e| e.to_string()));
        }
        Err(problem) => {
            layer.certificate_claims = problem.claims;
            layer.problem = Some(problem.message);
        }
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
        claims: Vec::new(),
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
    let signed = match trust.signs_bundle(&bytes, sha256_bytes(digest)) {
        Ok(signed) => signed,
        Err(problem) => {
            let message = match problem.artifact_mismatch {
                true => trust::artifact_problem(&bytes, &digest.to_string())
                    .map(|why| format!("artifact-mismatch: {why}"))
                    .unwrap_or(problem.message),
                false => problem.message,
            };
            // Unverified, it may be either; it is reported with the signatures and, when
            // it claims a predicate type, with that attestation too.
            let claims: BTreeSet<String> = claimed_predicate(&bytes).into_iter().collect();
            if claims.iter().any(|c| c != COSIGN_SIGN_PREDICATE) {
                evidence.attestations.push(AttestationEvidence {
                    source: layer.digest.clone(),
                    claims,
                    signed_by: Vec::new(),
                    certificate_claims: problem.claims,
                    statement: None,
                    problem: Some(message),
                });
            } else {
                evidence.signatures.push(SignatureCheck {
                    layer: layer.digest.clone(),
                    source: "bundle",
                    verified_by: Vec::new(),
                    identity_mismatch: problem.identity_mismatch,
                    problem: Some(message),
                    claims: problem.claims,
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
        claims: Vec::new(),
    };
    let Some((payload_type, payload)) = signed.dsse else {
        // A message signature: sigstore-verify checked that it is over the image digest.
        check.verified_by = signed.signed.principals;
        check.claims = signed.signed.claims;
        evidence.signatures.push(check);
        return Ok(());
    };
    let statement = if payload_type == dsse::IN_TOTO_PAYLOAD_TYPE {
        // sigstore-verify verified the bundle's signature over this payload.
        dsse::Statement::parse_verified(&payload).map_err(|e| e.to_string())
    } else {
        Err(dsse::DsseError::PayloadType(payload_type).to_string())
    };
    match statement {
        Ok(st) if st.predicate_type == COSIGN_SIGN_PREDICATE => {
            if st.names_digest(digest.hex()) {
                check.verified_by = signed.signed.principals;
                check.claims = signed.signed.claims;
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
            signed_by: signed.signed.principals,
            certificate_claims: signed.signed.claims,
            statement: Some(statement),
            problem: None,
        }),
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

//! cosign's legacy keyless signature material, turned into a Sigstore bundle the library
//! verifies, as cosign and sigstore-go do for signatures made before bundles existed.
//!
//! A legacy `.sig` layer is a payload (simple signing JSON) with annotations: the base64
//! signature, the Fulcio certificate (PEM), the chain (PEM: intermediates, then the root),
//! and the Rekor entry (`dev.sigstore.cosign/bundle`: the SET, the canonicalized body, the
//! integrated time, the log index and id). A legacy `.att` layer is a DSSE envelope with
//! the same annotations. Either becomes a v0.1 bundle: `x509CertificateChain` (the leaf
//! and the chain's intermediates; the chain's own root is left out, the trusted root
//! supplies roots), one `tlogEntries` entry with its `inclusionPromise`, and a
//! `messageSignature` over the payload or the `dsseEnvelope`.
//!
//! A keyed legacy layer (`cosign sign --key`) has the same shape without the certificate
//! and chain: it becomes a bundle whose verification material is a public key (the
//! caller's), so that its log entry is verified by the library as `cosign verify --key`
//! verifies it.
//!
//! Nothing here verifies or trusts anything, and nothing is dropped that the library would
//! check: a missing Rekor annotation gives a bundle without a log entry, which the library
//! refuses (v0.1 requires the SET). The log entry's kind and version are read from the
//! body; the library then checks that body against the signature and certificate.

use base64::Engine as _;
use der::Decode as _;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use sigstore_verify::types::Bundle;

use super::{Failure, b64};

/// Who signed a legacy layer: a Fulcio certificate (keyless), or a key the verifier
/// supplies (`cosign sign --key`: the layer has no certificate annotation).
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    /// `dev.sigstore.cosign/certificate`
    Certificate(&'a str),
    Key,
}

/// The annotations of a legacy layer.
#[derive(Clone, Copy, Debug)]
pub struct Annotations<'a> {
    pub signer: Signer<'a>,
    /// `dev.sigstore.cosign/chain`
    pub chain_pem: Option<&'a str>,
    /// `dev.sigstore.cosign/bundle`
    pub rekor_bundle: Option<&'a str>,
}

/// The `dev.sigstore.cosign/bundle` annotation (Rekor's LogEntry "verification").
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RekorBundle {
    signed_entry_timestamp: String,
    payload: RekorPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BodyHeader {
    kind: String,
    api_version: String,
}

fn malformed(what: impl std::fmt::Display) -> Failure {
    Failure::Malformed(what.to_string())
}

/// The DER of every `CERTIFICATE` block in `pem` (text between blocks is ignored, as Go's
/// `pem.Decode` does).
fn pem_certificates(what: &str, pem: &str) -> Result<Vec<Vec<u8>>, Failure> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let end = body
            .find(END)
            .ok_or_else(|| malformed(format!("{what}: a PEM certificate has no END line")))?;
        let text: String = body[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| malformed(format!("{what}: PEM certificate: invalid base64: {e}")))?;
        out.push(der);
        rest = &body[end + END.len()..];
    }
    if out.is_empty() {
        return Err(malformed(format!("{what}: no PEM certificate found")));
    }
    Ok(out)
}

/// The leaf, then the chain annotation's certificates that are not self-issued roots.
fn chain(a: &Annotations<'_>) -> Result<Vec<serde_json::Value>, Failure> {
    let Signer::Certificate(certificate_pem) = a.signer else {
        return Ok(Vec::new());
    };
    let mut ders = pem_certificates("certificate annotation", certificate_pem)?;
    if let Some(pem) = a.chain_pem {
        for der in pem_certificates("chain annotation", pem)? {
            let cert = x509_cert::Certificate::from_der(&der)
                .map_err(|e| malformed(format!("chain annotation: {e}")))?;
            if cert.tbs_certificate.subject != cert.tbs_certificate.issuer {
                ders.push(der);
            }
        }
    }
    Ok(ders
        .iter()
        .map(|der| json!({"rawBytes": b64(der)}))
        .collect())
}

fn unhex(what: &str, s: &str) -> Result<Vec<u8>, Failure> {
    let bad = || malformed(format!("{what}: not hex"));
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

/// The bundle's `tlogEntries`: none without the Rekor annotation.
fn tlog_entries(a: &Annotations<'_>) -> Result<Vec<serde_json::Value>, Failure> {
    let Some(json) = a.rekor_bundle else {
        return Ok(Vec::new());
    };
    let b: RekorBundle = serde_json::from_str(json)
        .map_err(|e| malformed(format!("cosign bundle annotation: {e}")))?;
    let body = base64::engine::general_purpose::STANDARD
        .decode(b.payload.body.trim())
        .map_err(|e| {
            malformed(format!(
                "cosign bundle annotation body: invalid base64: {e}"
            ))
        })?;
    let header: BodyHeader = serde_json::from_slice(&body)
        .map_err(|e| malformed(format!("cosign bundle annotation body: {e}")))?;
    let log_id = unhex("cosign bundle annotation logID", &b.payload.log_id)?;
    Ok(vec![json!({
        "logIndex": b.payload.log_index.to_string(),
        "logId": {"keyId": b64(&log_id)},
        "kindVersion": {"kind": header.kind, "version": header.api_version},
        "integratedTime": b.payload.integrated_time.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": b.signed_entry_timestamp},
        "canonicalizedBody": b.payload.body.trim(),
    })])
}

fn bundle(
    a: &Annotations<'_>,
    content_key: &str,
    content: serde_json::Value,
) -> Result<Bundle, Failure> {
    let key_material = match a.signer {
        Signer::Certificate(_) => json!({"x509CertificateChain": {"certificates": chain(a)?}}),
        // The key is the caller's; the hint names none (cosign leaves it empty too).
        Signer::Key => json!({"publicKey": {"hint": ""}}),
    };
    let mut material = key_material;
    material["tlogEntries"] = json!(tlog_entries(a)?);
    let json = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": material,
        content_key: content,
    });
    Bundle::from_json(&json.to_string())
        .map_err(|e| malformed(format!("legacy signature material: {e}")))
}

/// The bundle of a legacy `.sig` signature over `payload` (verify it over the payload).
pub fn signature_bundle(
    payload: &[u8],
    signature_b64: &str,
    annotations: &Annotations<'_>,
) -> Result<Bundle, Failure> {
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|e| malformed(format!("signature annotation: invalid base64: {e}")))?;
    bundle(
        annotations,
        "messageSignature",
        json!({
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64(&Sha256::digest(payload))},
            "signature": b64(&signature),
        }),
    )
}

/// The bundle of a legacy `.att` DSSE envelope with one signature (verify it over the
/// digest its statement's subject must name).
pub fn attestation_bundle(
    payload_type: &str,
    payload: &[u8],
    signature: &[u8],
    annotations: &Annotations<'_>,
) -> Result<Bundle, Failure> {
    bundle(
        annotations,
        "dsseEnvelope",
        json!({
            "payloadType": payload_type,
            "payload": b64(payload),
            "signatures": [{"sig": b64(signature), "keyid": ""}],
        }),
    )
}

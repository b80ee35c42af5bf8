//! Sigstore bundles (protobuf-specs `Bundle`, protobuf JSON: camelCase, base64 bytes,
//! int64 as strings) v0.1 to v0.3: keyless ones verified completely ([`verify_bundle`]);
//! for a bundle signed with a public key, [`keyed_bundle_envelope`] only reads out the DSSE
//! envelope, whose signature the caller checks under its `--key`s.

use der::Decode;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use x509_cert::Certificate;

use super::cert::Leaf;
use super::key::KeyKind;
use super::tlog::{Expected, InclusionProof, TlogEntry};
use super::{Failure, IdentityPolicy, Signer, TrustedRoot, b64, verify_keyless};

const MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
];

/// What the bundle signed; the caller matches it against the artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleContent {
    /// `messageSignature`: the artifact's digest (`algorithm` as in the bundle, e.g.
    /// `SHA2_256`) that the signature covers.
    MessageDigest { algorithm: String, digest: Vec<u8> },
    /// `dsseEnvelope`: the verified payload (usually an in-toto statement).
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: RawMaterial,
    message_signature: Option<RawMessageSignature>,
    dsse_envelope: Option<RawEnvelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    certificate: Option<RawBytes>,
    x509_certificate_chain: Option<RawChain>,
    public_key: Option<serde_json::Value>,
    #[serde(default)]
    tlog_entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(deserialize_with = "int64")]
    log_index: i64,
    log_id: RawLogId,
    #[serde(default, deserialize_with = "opt_int64")]
    integrated_time: Option<i64>,
    inclusion_promise: Option<RawPromise>,
    inclusion_proof: Option<RawProof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    #[serde(deserialize_with = "int64")]
    log_index: i64,
    root_hash: String,
    #[serde(deserialize_with = "int64")]
    tree_size: i64,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: RawCheckpoint,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    message_digest: RawDigest,
    signature: String,
}

#[derive(Deserialize)]
struct RawDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope {
    payload: String,
    payload_type: String,
    signatures: Vec<RawSig>,
}

#[derive(Deserialize)]
struct RawSig {
    sig: String,
}

impl RawBundle {
    /// The bundle's JSON, of a media type this module knows.
    fn parse(bundle_json: &[u8]) -> Result<RawBundle, Failure> {
        let raw: RawBundle = serde_json::from_slice(bundle_json)
            .map_err(|e| Failure::Malformed(format!("not a Sigstore bundle: {e}")))?;
        if !MEDIA_TYPES.contains(&raw.media_type.as_str()) {
            return Err(Failure::Malformed(format!(
                "unsupported bundle mediaType {:?}",
                raw.media_type
            )));
        }
        Ok(raw)
    }
}

/// protobuf JSON writes int64 as a string; accept a number too.
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        S(String),
        I(i64),
    }
    match N::deserialize(d)? {
        N::I(i) => Ok(i),
        N::S(s) => s.parse().map_err(de::Error::custom),
    }
}

fn opt_int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    int64(d).map(Some)
}

fn entry(raw: RawEntry) -> Result<TlogEntry, Failure> {
    let proof = raw
        .inclusion_proof
        .map(|p| -> Result<InclusionProof, Failure> {
            Ok(InclusionProof {
                log_index: u64::try_from(p.log_index)
                    .map_err(|_| Failure::Malformed("negative inclusionProof.logIndex".into()))?,
                tree_size: u64::try_from(p.tree_size)
                    .map_err(|_| Failure::Malformed("negative inclusionProof.treeSize".into()))?,
                root_hash: b64("inclusionProof.rootHash", &p.root_hash)?,
                hashes: (p.hashes.iter())
                    .map(|h| b64("inclusionProof.hashes", h))
                    .collect::<Result<_, _>>()?,
                checkpoint: p.checkpoint.envelope,
            })
        })
        .transpose()?;
    Ok(TlogEntry {
        log_index: raw.log_index,
        log_id: b64("tlogEntries.logId.keyId", &raw.log_id.key_id)?,
        integrated_time: raw.integrated_time.ok_or_else(|| {
            Failure::TlogEntryInvalid(
                "entry has no integratedTime (Rekor v2 entries need an RFC 3161 timestamp, which is not supported)".into(),
            )
        })?,
        body: b64("tlogEntries.canonicalizedBody", &raw.canonicalized_body)?,
        set: raw
            .inclusion_promise
            .map(|p| b64("inclusionPromise.signedEntryTimestamp", &p.signed_entry_timestamp))
            .transpose()?,
        proof,
    })
}

pub(super) use crate::verify::dsse::pae;

/// ECDSA over a digest the bundle states (ring only verifies over whole messages).
fn verify_prehash(leaf: &Leaf, digest: &[u8], sig: &[u8]) -> Result<(), Failure> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let bad = |e: String| Failure::SignatureInvalid(format!("message signature: {e}"));
    match leaf.key.kind() {
        KeyKind::EcdsaP256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(leaf.key.raw())
                .map_err(|e| bad(e.to_string()))?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(|e| bad(e.to_string()))?;
            key.verify_prehash(digest, &sig)
                .map_err(|e| bad(e.to_string()))
        }
        KeyKind::EcdsaP384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(leaf.key.raw())
                .map_err(|e| bad(e.to_string()))?;
            let sig = p384::ecdsa::Signature::from_der(sig).map_err(|e| bad(e.to_string()))?;
            key.verify_prehash(digest, &sig)
                .map_err(|e| bad(e.to_string()))
        }
        other => Err(bad(format!(
            "verifying a digest-only signature with a {other:?} key is not supported"
        ))),
    }
}

/// Verifies a keyless Sigstore bundle (see the module docs for what is checked).
pub fn verify_bundle(
    bundle_json: &[u8],
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<(Signer, BundleContent), Failure> {
    let raw = RawBundle::parse(bundle_json)?;
    let material = raw.verification_material;
    let mut ders = if let Some(c) = material.certificate {
        vec![b64("verificationMaterial.certificate", &c.raw_bytes)?]
    } else if let Some(chain) = material.x509_certificate_chain {
        (chain.certificates.iter())
            .map(|c| b64("verificationMaterial.x509CertificateChain", &c.raw_bytes))
            .collect::<Result<Vec<_>, _>>()?
    } else if material.public_key.is_some() {
        return Err(Failure::CertificateUntrusted(
            "bundle is signed with a public key, not a Fulcio certificate (keyed verification needed)".into(),
        ));
    } else {
        return Err(Failure::Malformed("bundle has no verification material".into()));
    }
    .into_iter();
    let leaf = Leaf::from_der(
        ders.next()
            .ok_or_else(|| Failure::Malformed("empty certificate chain".into()))?,
    )?;
    let chain = ders
        .map(|d| {
            Certificate::from_der(&d)
                .map_err(|e| Failure::Malformed(format!("chain certificate: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let entries = (material.tlog_entries.into_iter())
        .map(entry)
        .collect::<Result<Vec<_>, _>>()?;

    match (raw.message_signature, raw.dsse_envelope) {
        (Some(ms), None) => {
            let digest = b64(
                "messageSignature.messageDigest.digest",
                &ms.message_digest.digest,
            )?;
            let sig = b64("messageSignature.signature", &ms.signature)?;
            if ms.message_digest.algorithm != "SHA2_256" || digest.len() != 32 {
                return Err(Failure::Malformed(format!(
                    "message digest {} of {} bytes is not supported (SHA2_256 only)",
                    ms.message_digest.algorithm,
                    digest.len()
                )));
            }
            verify_prehash(&leaf, &digest, &sig)?;
            let expected = Expected::Hashed {
                sha256: &digest,
                signature: &sig,
            };
            let signer = verify_keyless(&leaf, &chain, &entries, &expected, root, policy)?;
            Ok((
                signer,
                BundleContent::MessageDigest {
                    algorithm: ms.message_digest.algorithm,
                    digest,
                },
            ))
        }
        (None, Some(env)) => {
            let payload = b64("dsseEnvelope.payload", &env.payload)?;
            let [only] = env.signatures.as_slice() else {
                return Err(Failure::Malformed(format!(
                    "DSSE envelope must carry exactly one signature, has {}",
                    env.signatures.len()
                )));
            };
            let sig = b64("dsseEnvelope.signatures[0].sig", &only.sig)?;
            leaf.key
                .verify(&pae(&env.payload_type, &payload), &sig)
                .map_err(|e| Failure::SignatureInvalid(format!("DSSE envelope: {e}")))?;
            let expected = Expected::Envelope {
                payload: &payload,
                signature: &sig,
            };
            let signer = verify_keyless(&leaf, &chain, &entries, &expected, root, policy)?;
            Ok((
                signer,
                BundleContent::Dsse {
                    payload_type: env.payload_type,
                    payload,
                },
            ))
        }
        _ => Err(Failure::Malformed(
            "bundle must hold exactly one of messageSignature and dsseEnvelope".into(),
        )),
    }
}

/// The DSSE envelope of a bundle signed with a public key (`verificationMaterial.publicKey`,
/// as `cosign attest --new-bundle-format --key` writes). Nothing here is verified: the
/// caller checks [`KeyedEnvelope::signature`] over the PAE under its own keys. Transparency
/// log entries are not read: a keyed policy trusts the key, not the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyedEnvelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

impl KeyedEnvelope {
    /// The bytes the signature covers.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }
}

pub fn keyed_bundle_envelope(bundle_json: &[u8]) -> Result<KeyedEnvelope, Failure> {
    let raw = RawBundle::parse(bundle_json)?;
    if raw.verification_material.public_key.is_none() {
        return Err(Failure::SignatureInvalid(
            "bundle is signed with a certificate (keyless), not with a public key".into(),
        ));
    }
    let Some(env) = raw.dsse_envelope else {
        return Err(Failure::Malformed(
            "a keyed bundle without a DSSE envelope (a message signature over a digest) is not supported".into(),
        ));
    };
    let [only] = env.signatures.as_slice() else {
        return Err(Failure::Malformed(format!(
            "DSSE envelope must carry exactly one signature, has {}",
            env.signatures.len()
        )));
    };
    Ok(KeyedEnvelope {
        payload: b64("dsseEnvelope.payload", &env.payload)?,
        signature: b64("dsseEnvelope.signatures[0].sig", &only.sig)?,
        payload_type: env.payload_type,
    })
}

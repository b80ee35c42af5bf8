//! cosign's legacy signature payload ("simple signing"): the JSON document a
//! `sha256-<hex>.sig` layer holds and its signature covers.
//!
//! Only the fields that bind the signature to an image are read, and they are read
//! strictly: `critical.type` must be cosign's, and `critical.image.docker-manifest-digest`
//! must be the digest being verified. Everything else (`optional`, the docker-reference)
//! is informational and never trusted.

use serde::Deserialize;

/// The `critical.type` cosign writes.
pub const COSIGN_SIGNATURE_TYPE: &str = "cosign container image signature";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("the payload is not a simple-signing JSON document: {0}")]
    Malformed(String),
    #[error("the payload's critical.type is {0:?}, not {COSIGN_SIGNATURE_TYPE:?}")]
    WrongType(String),
    #[error("the payload signs {signed}, not {expected}")]
    OtherImage { signed: String, expected: String },
}

#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    #[serde(rename = "type")]
    kind: String,
    image: Image,
    identity: Option<Identity>,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: Option<String>,
}

/// What a valid payload says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedImage {
    /// The repository the signer named (informational).
    pub docker_reference: Option<String>,
}

/// Checks a (signature-verified) payload binds `expected_digest` (`sha256:<hex>`).
pub fn check(payload: &[u8], expected_digest: &str) -> Result<SignedImage, PayloadError> {
    let payload: Payload =
        serde_json::from_slice(payload).map_err(|e| PayloadError::Malformed(e.to_string()))?;
    if payload.critical.kind != COSIGN_SIGNATURE_TYPE {
        return Err(PayloadError::WrongType(payload.critical.kind));
    }
    if payload.critical.image.docker_manifest_digest != expected_digest {
        return Err(PayloadError::OtherImage {
            signed: payload.critical.image.docker_manifest_digest,
            expected: expected_digest.into(),
        });
    }
    Ok(SignedImage {
        docker_reference: payload.critical.identity.and_then(|i| i.docker_reference),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // As cosign 2.5 writes it (from `cosign sign --key`).
    const PAYLOAD: &str = r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5055/repo"},"image":{"docker-manifest-digest":"sha256:9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725"},"type":"cosign container image signature"},"optional":null}"#;
    const DIGEST: &str = "sha256:9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725";

    #[test]
    fn binds_the_digest() {
        let signed = check(PAYLOAD.as_bytes(), DIGEST).unwrap();
        assert_eq!(
            signed.docker_reference.as_deref(),
            Some("127.0.0.1:5055/repo")
        );
        let other = format!("sha256:{}", "0".repeat(64));
        assert!(matches!(
            check(PAYLOAD.as_bytes(), &other),
            Err(PayloadError::OtherImage { .. })
        ));
    }

    #[test]
    fn rejects_other_types_and_garbage() {
        let other_type = PAYLOAD.replace(
            "cosign container image signature",
            "atomic container signature",
        );
        assert!(matches!(
            check(other_type.as_bytes(), DIGEST),
            Err(PayloadError::WrongType(_))
        ));
        assert!(matches!(
            check(b"{}", DIGEST),
            Err(PayloadError::Malformed(_))
        ));
        assert!(matches!(
            check(b"\xff", DIGEST),
            Err(PayloadError::Malformed(_))
        ));
    }
}

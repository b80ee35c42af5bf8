//! The OCI documents `vouch verify` reads from a registry: image manifests (cosign's
//! `.sig`/`.att` tags, a Sigstore bundle's referrer manifest) and image indexes (the OCI
//! 1.1 referrers API answer and its `sha256-<hex>` tag fallback).
//!
//! Only the fields verification needs are read; unknown fields are ignored (registries and
//! signers add their own), but the fields read must have the right types. Parsing never
//! panics and is bounded by the caller's size cap ([`super::registry`] streams manifests
//! under one).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The media type of an OCI image index (the referrers API answer).
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// An image manifest: its layers and, for a referrer, its artifact type and subject.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    #[serde(rename = "artifactType", default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
}

/// An image index: the manifests it lists (for referrers, each with its artifact type).
#[derive(Debug, Clone, Deserialize)]
pub struct ImageIndex {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// A content descriptor.
#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(rename = "artifactType", default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl ImageManifest {
    pub fn parse(bytes: &[u8]) -> Result<ImageManifest, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The artifact type a referrer declares: `artifactType`, else the config's media type
    /// (the OCI 1.1 rule for manifests made before `artifactType` existed).
    pub fn declared_artifact_type(&self) -> Option<&str> {
        self.artifact_type
            .as_deref()
            .or(self.config.as_ref().map(|c| c.media_type.as_str()))
    }
}

impl ImageIndex {
    pub fn parse(bytes: &[u8]) -> Result<ImageIndex, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_manifest_and_index() {
        let m = ImageManifest::parse(
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
            "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44","size":2},
            "layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"sha256:aa","size":10}],
            "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":3}}"#,
        )
        .unwrap();
        assert_eq!(
            m.declared_artifact_type(),
            Some("application/vnd.dev.sigstore.bundle.v0.3+json")
        );
        assert_eq!(m.subject.unwrap().digest, "sha256:bb");
        let old = ImageManifest::parse(
            br#"{"config":{"mediaType":"application/x-old","digest":"sha256:1"},"layers":[]}"#,
        )
        .unwrap();
        assert_eq!(old.declared_artifact_type(), Some("application/x-old"));

        let i = ImageIndex::parse(
            br#"{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"sha256:cc","artifactType":"t","annotations":{"a":"b"}}]}"#,
        )
        .unwrap();
        assert_eq!(i.manifests[0].artifact_type.as_deref(), Some("t"));
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(ImageManifest::parse(br#"{"layers":{}}"#).is_err());
        assert!(ImageManifest::parse(br#"{"layers":[{"digest":1}]}"#).is_err());
        assert!(
            ImageIndex::parse(br#"{"manifests":[{"annotations":{"a":1},"digest":"x"}]}"#).is_err()
        );
        assert!(ImageIndex::parse(b"").is_err());
    }
}

//! The Sigstore trusted root: the embedded public-good root (assets/sigstore/, see
//! assets/README.md) unless a `trusted_root.json` is given, parsed and prepared by
//! sigstore-trust-root and sigstore-verify.
//!
//! Loading is all-or-nothing: a file that is not JSON, is not a trusted root, lists neither
//! a certificate authority nor a transparency log, or holds a key or certificate the
//! library cannot use is an [`RootError`] (exit 2), never a root with the unusable parts
//! left out. Trust material is never fetched: there is no TUF client in this build.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};
use sigstore_verify::Verifier;
use sigstore_verify::trust_root::TrustedRoot;

use crate::package::hex;

/// The public-good production root built into the binary.
pub const EMBEDDED_ROOT: &str =
    include_str!("../../../assets/sigstore/public-good-trusted_root.json");

/// The trusted root media type prefix (protobuf-specs `TrustedRoot`, any 0.x).
const MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.trustedroot";

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("cannot read the trusted root {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "bad trusted root {what}: {why} (expected Sigstore's trusted_root.json, mediaType {MEDIA_TYPE_PREFIX}+json;version=0.1)"
    )]
    Invalid { what: String, why: String },
}

/// Where the root came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootSource {
    Embedded,
    File(PathBuf),
}

/// A trusted root, ready to verify with.
pub struct TrustRoot {
    pub source: RootSource,
    /// `sha256:<hex>` of the file's bytes.
    pub digest: String,
    /// The latest `validFor.start` of anything it lists: how recent it is.
    pub newest_start: Option<Timestamp>,
    pub(super) verifier: Verifier,
}

impl std::fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRoot")
            .field("source", &self.source)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl TrustRoot {
    /// The file at `path`, or the embedded root when `None`.
    pub fn load(path: Option<&Path>) -> Result<TrustRoot, RootError> {
        match path {
            None => TrustRoot::embedded(),
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|source| RootError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                TrustRoot::from_bytes(RootSource::File(path.to_path_buf()), &bytes)
            }
        }
    }

    pub fn embedded() -> Result<TrustRoot, RootError> {
        TrustRoot::from_bytes(RootSource::Embedded, EMBEDDED_ROOT.as_bytes())
    }

    pub fn from_bytes(source: RootSource, bytes: &[u8]) -> Result<TrustRoot, RootError> {
        let invalid = |why: String| RootError::Invalid {
            what: source.to_string(),
            why,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8: {e}")))?;
        let root = TrustedRoot::from_json(text).map_err(|e| invalid(e.to_string()))?;
        if !root.media_type.starts_with(MEDIA_TYPE_PREFIX) {
            return Err(invalid(format!("mediaType is {:?}", root.media_type)));
        }
        if root.certificate_authorities.is_empty() && root.tlogs.is_empty() {
            return Err(invalid(
                "it lists no certificate authority and no transparency log, so nothing can verify against it".into(),
            ));
        }
        let verifier = Verifier::new(&root).map_err(|e| invalid(e.to_string()))?;
        let starts = (root.tlogs.iter().map(|t| t.public_key.valid_for))
            .chain(root.ctlogs.iter().map(|t| t.public_key.valid_for))
            .chain(root.certificate_authorities.iter().map(|c| c.valid_for))
            .chain(root.timestamp_authorities.iter().map(|t| t.valid_for));
        let newest_start = starts.flatten().map(|range| range.start).max();
        Ok(TrustRoot {
            source,
            digest: format!("sha256:{}", hex(&Sha256::digest(bytes))),
            newest_start,
            verifier,
        })
    }

    /// One line: where it came from and its digest.
    pub fn describe(&self) -> String {
        format!("{} {}", self.source, self.digest)
    }
}

impl std::fmt::Display for RootSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootSource::Embedded => f.write_str("embedded public-good root"),
            RootSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_root_loads_with_its_rekor_v1_and_v2_logs_and_tsa() {
        let root = TrustRoot::embedded().unwrap();
        assert_eq!(
            root.digest,
            "sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
        );
        assert_eq!(
            root.newest_start.unwrap().to_string(),
            "2025-09-23T00:00:00Z"
        );
        assert_eq!(root.source, RootSource::Embedded);
        let parsed = TrustedRoot::from_json(EMBEDDED_ROOT).unwrap();
        assert_eq!(parsed.tlogs.len(), 2);
        assert_eq!(parsed.timestamp_authorities.len(), 1);
    }

    fn error(json: &str) -> String {
        TrustRoot::from_bytes(RootSource::File("r.json".into()), json.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn garbage_and_empty_roots_are_errors_naming_the_file() {
        assert!(error("not json").contains("bad trusted root r.json"));
        let empty = r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#;
        assert!(
            error(empty).contains("lists no certificate authority"),
            "{}",
            error(empty)
        );
        let other = r#"{"mediaType":"application/json","tlogs":[]}"#;
        assert!(error(other).contains("mediaType"));
        assert!(error(r#"{"mediaType":"x","tlogs":7}"#).contains("r.json"));
    }

    /// Nothing in a root is trusted in part: a key the library cannot use, or a log listed
    /// twice, makes the whole root an error.
    #[test]
    fn a_root_with_an_unusable_key_or_a_duplicate_log_is_refused_whole() {
        let mut root: serde_json::Value = serde_json::from_str(EMBEDDED_ROOT).unwrap();
        root["tlogs"][1]["publicKey"]["rawBytes"] = "AAAA".into();
        assert!(error(&root.to_string()).contains("bad trusted root r.json"));
        let mut root: serde_json::Value = serde_json::from_str(EMBEDDED_ROOT).unwrap();
        let first = root["tlogs"][0].clone();
        root["tlogs"].as_array_mut().unwrap().push(first);
        let e = error(&root.to_string());
        assert!(e.contains("duplicate"), "{e}");
    }

    /// Regression: a Rekor v1 log key without `validFor.start` was read as valid forever.
    #[test]
    fn a_log_key_without_a_validity_start_is_refused() {
        let mut root: serde_json::Value = serde_json::from_str(EMBEDDED_ROOT).unwrap();
        root["tlogs"][0]["publicKey"]["validFor"] = serde_json::json!({});
        let e = error(&root.to_string());
        assert!(e.contains("start"), "{e}");
    }
}

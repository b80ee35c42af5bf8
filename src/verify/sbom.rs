//! SBOM attestations: which predicate types carry an SBOM, and the SBOM text of a
//! verified one, for `audit-sbom = true` (the audit itself is the CLI's, under the
//! policy's `[audit]` settings).
//!
//! Only a statement whose signature verified and whose subject is the image's digest
//! ever yields an [`AttestedSbom`]: what is audited is what was attested for that digest.
//! This module never reads an SBOM from anywhere else, and never parses the SBOM itself
//! (that is `lockfile::sbom`'s job, shared with `vouch audit FILE`).

/// cosign `--type spdxjson` (and `spdx`).
pub const SPDX_DOCUMENT: &str = "https://spdx.dev/Document";
/// cosign `--type cyclonedx`.
pub const CYCLONEDX_BOM: &str = "https://cyclonedx.org/bom";

/// True for the predicate types of an SBOM attestation.
pub fn is_sbom(predicate_type: &str) -> bool {
    predicate_type == SPDX_DOCUMENT || predicate_type == CYCLONEDX_BOM
}

/// The SBOM of one verified attestation of the image's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedSbom {
    pub predicate_type: String,
    /// Where it came from (the layer or referrer), for messages.
    pub source: String,
    /// The SBOM document as text: the predicate object as JSON, or the predicate itself
    /// when it is a string (a document that is not JSON, e.g. SPDX tag-value).
    pub text: String,
}

impl AttestedSbom {
    pub(super) fn new(predicate_type: &str, source: &str, predicate: &serde_json::Value) -> Self {
        let text = match predicate {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        AttestedSbom {
            predicate_type: predicate_type.to_string(),
            source: source.to_string(),
            text,
        }
    }
}

/// How the SBOM attestation lookup ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomCheck {
    /// Verified SBOM attestations of this digest, to audit.
    pub sboms: Vec<AttestedSbom>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predicate_object_or_string_is_the_sbom_text() {
        let object = serde_json::json!({"spdxVersion": "SPDX-2.3"});
        assert_eq!(
            AttestedSbom::new(SPDX_DOCUMENT, "l", &object).text,
            r#"{"spdxVersion":"SPDX-2.3"}"#
        );
        let text = serde_json::Value::String("SPDXVersion: SPDX-2.3\n".into());
        assert_eq!(
            AttestedSbom::new(SPDX_DOCUMENT, "l", &text).text,
            "SPDXVersion: SPDX-2.3\n"
        );
        assert!(is_sbom(CYCLONEDX_BOM) && is_sbom(SPDX_DOCUMENT));
        assert!(!is_sbom("https://slsa.dev/provenance/v1"));
    }
}

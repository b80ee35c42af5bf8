//! DSSE envelopes (Dead Simple Signing Envelope, v1) carrying in-toto statements, as
//! cosign stores attestations in `sha256-<hex>.att` layers.
//!
//! A signature covers the pre-authentication encoding (PAE) of the payload type and the
//! payload, never the JSON envelope: `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
//! The statement is read only from a payload whose signature verified.

use base64::Engine as _;
use serde::Deserialize;

/// The payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DsseError {
    #[error("not a DSSE envelope: {0}")]
    Malformed(String),
    #[error("the envelope's payloadType is {0:?}, not {IN_TOTO_PAYLOAD_TYPE:?}")]
    PayloadType(String),
    #[error("the payload is not an in-toto statement: {0}")]
    Statement(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEnvelope {
    payload_type: String,
    payload: String,
    #[serde(default)]
    signatures: Vec<WireSignature>,
}

#[derive(Debug, Deserialize)]
struct WireSignature {
    sig: String,
}

/// A decoded envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    /// Decoded signatures (ones that are not valid base64 are kept out, and counted).
    pub signatures: Vec<Vec<u8>>,
    pub undecodable_signatures: usize,
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

impl Envelope {
    pub fn parse(bytes: &[u8]) -> Result<Envelope, DsseError> {
        let wire: WireEnvelope =
            serde_json::from_slice(bytes).map_err(|e| DsseError::Malformed(e.to_string()))?;
        let payload = b64_decode(&wire.payload)
            .ok_or_else(|| DsseError::Malformed("the payload is not base64".into()))?;
        let mut signatures = Vec::new();
        let mut undecodable = 0;
        for s in &wire.signatures {
            match b64_decode(&s.sig) {
                Some(sig) => signatures.push(sig),
                None => undecodable += 1,
            }
        }
        Ok(Envelope {
            payload_type: wire.payload_type,
            payload,
            signatures,
            undecodable_signatures: undecodable,
        })
    }

    /// The bytes a signature covers.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// The statement, once a signature over [`Envelope::pae`] has verified.
    pub fn statement(&self) -> Result<Statement, DsseError> {
        if self.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(DsseError::PayloadType(self.payload_type.clone()));
        }
        Statement::parse_verified(&self.payload)
    }
}

/// DSSE v1 pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(
        format!(
            "DSSEv1 {} {payload_type} {} ",
            payload_type.len(),
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStatement {
    #[serde(rename = "_type")]
    kind: String,
    #[serde(default)]
    subject: Vec<WireSubject>,
    predicate_type: String,
    /// Kept only by [`Statement::parse_verified`].
    #[serde(default)]
    predicate: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct WireSubject {
    #[serde(default)]
    name: String,
    #[serde(default)]
    digest: std::collections::BTreeMap<String, String>,
}

/// An in-toto statement's header, and for a verified statement its predicate (which is
/// interpreted elsewhere, e.g. [`super::provenance`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub statement_type: String,
    pub predicate_type: String,
    /// `(name, sha256 hex)` of every subject that names a sha256 digest.
    pub subjects: Vec<(String, String)>,
    /// The predicate, only when the statement was read from a payload whose signature
    /// verified ([`Statement::parse_verified`]); `None` from [`Statement::parse`], so an
    /// unverified predicate can never be mistaken for a verified one. `Some(Null)` when
    /// a verified statement has no predicate.
    pub predicate: Option<serde_json::Value>,
}

impl Statement {
    /// The header of a statement, verified or not; the predicate is dropped.
    pub fn parse(bytes: &[u8]) -> Result<Statement, DsseError> {
        let mut statement = Statement::parse_verified(bytes)?;
        statement.predicate = None;
        Ok(statement)
    }

    /// A statement read from a payload whose signature verified: the header and the
    /// predicate. Call it only after the signature check.
    pub fn parse_verified(bytes: &[u8]) -> Result<Statement, DsseError> {
        let wire: WireStatement =
            serde_json::from_slice(bytes).map_err(|e| DsseError::Statement(e.to_string()))?;
        if !wire.kind.starts_with("https://in-toto.io/Statement/") {
            return Err(DsseError::Statement(format!("_type is {:?}", wire.kind)));
        }
        Ok(Statement {
            statement_type: wire.kind,
            predicate_type: wire.predicate_type,
            predicate: Some(wire.predicate.unwrap_or(serde_json::Value::Null)),
            subjects: wire
                .subject
                .into_iter()
                .filter_map(|s| {
                    s.digest
                        .get("sha256")
                        .map(|d| (s.name, d.to_ascii_lowercase()))
                })
                .collect(),
        })
    }

    /// True if a subject is the image `digest_hex`.
    pub fn names_digest(&self, digest_hex: &str) -> bool {
        self.subjects.iter().any(|(_, d)| d == digest_hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE v1 protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn envelope_and_statement() {
        let statement = r#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[{"name":"127.0.0.1:5055/repo","digest":{"sha256":"ABCD"}}],"predicate":{}}"#;
        let b64 = base64::engine::general_purpose::STANDARD;
        let envelope = format!(
            r#"{{"payloadType":"application/vnd.in-toto+json","payload":"{}","signatures":[{{"keyid":"","sig":"{}"}},{{"sig":"%%%"}}]}}"#,
            b64.encode(statement),
            b64.encode(b"sig")
        );
        let env = Envelope::parse(envelope.as_bytes()).unwrap();
        assert_eq!(env.signatures, vec![b"sig".to_vec()]);
        assert_eq!(env.undecodable_signatures, 1);
        let st = env.statement().unwrap();
        assert_eq!(st.predicate_type, "https://slsa.dev/provenance/v0.2");
        assert!(st.names_digest("abcd"));
        assert!(!st.names_digest("abce"));
        // The verified path keeps the predicate; the header-only parse never does.
        assert_eq!(st.predicate, Some(serde_json::json!({})));
        assert_eq!(
            Statement::parse(statement.as_bytes()).unwrap().predicate,
            None
        );
    }

    #[test]
    fn rejects_non_statements() {
        assert!(Envelope::parse(b"[]").is_err());
        assert!(Statement::parse(br#"{"_type":"x","predicateType":"p"}"#).is_err());
        let env = Envelope {
            payload_type: "text/plain".into(),
            payload: b"{}".to_vec(),
            signatures: vec![],
            undecodable_signatures: 0,
        };
        assert!(matches!(env.statement(), Err(DsseError::PayloadType(_))));
    }
}

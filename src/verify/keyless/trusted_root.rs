//! Sigstore `trusted_root.json` (protobuf-specs `TrustedRoot`, protobuf JSON: camelCase
//! names, base64 bytes, RFC 3339 times).
//!
//! Parsed once into checked values: every key is a [`PublicKey`] whose log id we
//! recompute (sha256 of the SPKI DER) and compare with the one the file states, every CA
//! certificate is parsed. A file that does not parse completely is an [`Error`]: a gate
//! must not run with half a trust root. Timestamp authorities are read but unused (RFC 3161
//! timestamps are not verified; see `mod.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use super::Error;
use super::key::PublicKey;

pub const MEDIA_TYPE_0_1: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// `validFor`: `start` is required by the spec; a missing `end` means "still valid".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

impl Validity {
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t <= e)
    }
}

/// A transparency log or CT log key.
#[derive(Clone, Debug)]
pub struct LogKey {
    pub base_url: String,
    /// sha256 of the SPKI DER (Rekor's log id; RFC 6962 log id for CT logs).
    pub log_id: [u8; 32],
    pub spki_der: Vec<u8>,
    pub key: PublicKey,
    pub valid_for: Validity,
}

/// A Fulcio-like certificate authority: its certificates, as DER, in file order.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    pub uri: String,
    pub certs_der: Vec<Vec<u8>>,
    pub certs: Vec<Certificate>,
    pub valid_for: Validity,
}

/// The trust anchors for keyless verification.
#[derive(Clone, Debug)]
pub struct TrustedRoot {
    pub tlogs: Vec<LogKey>,
    pub certificate_authorities: Vec<CertificateAuthority>,
    pub ctlogs: Vec<LogKey>,
    /// Timestamp authorities' certificate chains, read for completeness, not used.
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawCa>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawCa>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    hash_algorithm: Option<String>,
    public_key: RawKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: String,
    #[serde(default)]
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCa {
    #[serde(default)]
    uri: String,
    cert_chain: RawChain,
    #[serde(default)]
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawValidity {
    start: Option<String>,
    end: Option<String>,
}

fn err(msg: impl Into<String>) -> Error {
    Error::TrustedRoot(msg.into())
}

fn b64(what: &str, s: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(s)
        .map_err(|e| err(format!("{what}: invalid base64: {e}")))
}

fn validity(what: &str, raw: Option<RawValidity>) -> Result<Validity, Error> {
    let Some(raw) = raw else {
        return Ok(Validity {
            start: None,
            end: None,
        });
    };
    let parse = |s: Option<String>| -> Result<Option<Timestamp>, Error> {
        s.map(|s| {
            s.parse::<Timestamp>()
                .map_err(|e| err(format!("{what}: invalid time {s:?}: {e}")))
        })
        .transpose()
    };
    Ok(Validity {
        start: parse(raw.start)?,
        end: parse(raw.end)?,
    })
}

fn log(what: &str, i: usize, raw: RawLog) -> Result<LogKey, Error> {
    let what = format!("{what}[{i}]");
    if let Some(h) = &raw.hash_algorithm
        && h != "SHA2_256"
    {
        return Err(err(format!("{what}: unsupported hashAlgorithm {h}")));
    }
    let spki_der = b64(
        &format!("{what}.publicKey.rawBytes"),
        &raw.public_key.raw_bytes,
    )?;
    let key = PublicKey::from_spki_der(&spki_der).map_err(|e| err(format!("{what}: {e}")))?;
    let log_id: [u8; 32] = Sha256::digest(&spki_der).into();
    let stated = b64(&format!("{what}.logId.keyId"), &raw.log_id.key_id)?;
    if stated != log_id {
        return Err(err(format!(
            "{what}: logId.keyId is not the sha256 of its public key"
        )));
    }
    Ok(LogKey {
        base_url: raw.base_url,
        log_id,
        spki_der,
        key,
        valid_for: validity(&what, raw.public_key.valid_for)?,
    })
}

fn ca(what: &str, i: usize, raw: RawCa) -> Result<CertificateAuthority, Error> {
    let what = format!("{what}[{i}]");
    if raw.cert_chain.certificates.is_empty() {
        return Err(err(format!("{what}: empty certChain")));
    }
    let mut certs_der = Vec::new();
    let mut certs = Vec::new();
    for (j, c) in raw.cert_chain.certificates.iter().enumerate() {
        let der = b64(&format!("{what}.certChain.certificates[{j}]"), &c.raw_bytes)?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| err(format!("{what}.certChain.certificates[{j}]: {e}")))?;
        certs_der.push(der);
        certs.push(cert);
    }
    Ok(CertificateAuthority {
        uri: raw.uri,
        certs_der,
        certs,
        valid_for: validity(&what, raw.valid_for)?,
    })
}

impl TrustedRoot {
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let raw: RawRoot = serde_json::from_slice(bytes)
            .map_err(|e| err(format!("not a Sigstore trusted root: {e}")))?;
        if raw.media_type != MEDIA_TYPE_0_1 {
            return Err(err(format!(
                "unsupported mediaType {:?} (expected {MEDIA_TYPE_0_1:?})",
                raw.media_type
            )));
        }
        let tlogs = (raw.tlogs.into_iter().enumerate())
            .map(|(i, l)| log("tlogs", i, l))
            .collect::<Result<Vec<_>, _>>()?;
        let ctlogs = (raw.ctlogs.into_iter().enumerate())
            .map(|(i, l)| log("ctlogs", i, l))
            .collect::<Result<Vec<_>, _>>()?;
        let certificate_authorities = (raw.certificate_authorities.into_iter().enumerate())
            .map(|(i, c)| ca("certificateAuthorities", i, c))
            .collect::<Result<Vec<_>, _>>()?;
        let timestamp_authorities = (raw.timestamp_authorities.into_iter().enumerate())
            .map(|(i, c)| ca("timestampAuthorities", i, c))
            .collect::<Result<Vec<_>, _>>()?;
        if tlogs.is_empty() {
            return Err(err(
                "no tlogs: keyless verification needs a transparency log key",
            ));
        }
        if certificate_authorities.is_empty() {
            return Err(err("no certificateAuthorities"));
        }
        Ok(TrustedRoot {
            tlogs,
            certificate_authorities,
            ctlogs,
            timestamp_authorities,
        })
    }

    pub(crate) fn tlog(&self, log_id: &[u8]) -> Option<&LogKey> {
        self.tlogs.iter().find(|l| l.log_id.as_slice() == log_id)
    }

    pub(crate) fn ctlog(&self, log_id: &[u8]) -> Option<&LogKey> {
        self.ctlogs.iter().find(|l| l.log_id.as_slice() == log_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC_GOOD: &str =
        include_str!("../../../fixtures/sigstore/trusted-root-public-good.json");

    #[test]
    fn reads_the_real_public_good_trusted_root() {
        let root = TrustedRoot::from_json(PUBLIC_GOOD.as_bytes()).unwrap();
        assert_eq!(root.tlogs.len(), 1);
        assert_eq!(root.ctlogs.len(), 2);
        assert_eq!(root.certificate_authorities.len(), 2);
        assert_eq!(root.certificate_authorities[1].certs.len(), 2);
        let start: Timestamp = "2021-10-07T13:56:59Z".parse().unwrap();
        assert_eq!(root.certificate_authorities[1].valid_for.start, Some(start));
        assert_eq!(root.certificate_authorities[1].valid_for.end, None);
        assert!(root.tlog(&root.tlogs[0].log_id).is_some());
        assert!(root.tlog(&[0; 32]).is_none());
    }

    #[test]
    fn a_log_id_that_is_not_the_key_hash_is_refused() {
        let bad = PUBLIC_GOOD.replace(
            "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=",
            "AAI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=",
        );
        let e = TrustedRoot::from_json(bad.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("tlogs[0]"), "{e}");
    }

    #[test]
    fn malformed_roots_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            b"{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"}",
            b"{\"mediaType\":\"text/plain\",\"tlogs\":[]}",
        ] {
            assert!(TrustedRoot::from_json(bad).is_err());
        }
        let bad_b64 = PUBLIC_GOOD.replacen("MIIB+DCC", "MIIB+DC!", 1);
        let e = TrustedRoot::from_json(bad_b64.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("certificateAuthorities[0]"), "{e}");
        let bad_cert = PUBLIC_GOOD.replacen("MIIB+DCC", "MIIB+DDD", 1);
        assert!(TrustedRoot::from_json(bad_cert.as_bytes()).is_err());
        let bad_time = PUBLIC_GOOD.replacen("2021-03-07T03:20:29.000Z", "yesterday", 1);
        assert!(TrustedRoot::from_json(bad_time.as_bytes()).is_err());
    }
}

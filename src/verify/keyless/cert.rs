//! The Fulcio leaf certificate: its chain to a CA of the trusted root, its validity at the
//! signing time, its usage, its identity (SAN + OIDC issuer) and its embedded SCTs.
//!
//! Path building is deliberately small: from the leaf, repeatedly find an issuer (subject
//! name equal to the current issuer name *and* a signature that verifies) among the
//! certificates of one trusted CA plus the intermediates the signature carried, until a
//! certificate of that trusted CA is reached. Every certificate on the path must be valid
//! at the signing time, every issuer a CA. No revocation (Fulcio certificates live 10
//! minutes; the transparency log is the revocation story).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::asn1::{ObjectIdentifier, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use super::Failure;
use super::key::{KeyKind, PublicKey};
use super::trusted_root::{CertificateAuthority, TrustedRoot};

const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio: OIDC issuer, raw string (deprecated, still emitted).
pub const OID_FULCIO_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio: OIDC issuer, DER UTF8String.
pub const OID_FULCIO_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Fulcio: otherName SAN type for username identities.
pub const OID_FULCIO_OTHERNAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// RFC 6962 embedded SCT list.
pub const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

const MAX_PATH: usize = 8;

/// A parsed leaf certificate and its key.
pub struct Leaf {
    pub der: Vec<u8>,
    pub cert: Certificate,
    pub key: PublicKey,
}

impl Leaf {
    pub fn from_der(der: Vec<u8>) -> Result<Leaf, Failure> {
        let cert = Certificate::from_der(&der)
            .map_err(|e| Failure::Malformed(format!("certificate: {e}")))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| Failure::Malformed(format!("certificate key: {e}")))?;
        let key = PublicKey::from_spki_der(&spki)
            .map_err(|e| Failure::Malformed(format!("certificate key: {e}")))?;
        Ok(Leaf { der, cert, key })
    }

    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", hex(&Sha256::digest(&self.der)))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses one or more PEM certificates (a leaf or a chain annotation). Text between the
/// blocks is ignored, as Go's `pem.Decode` does. (Not `Certificate::load_pem_chain`: in
/// x509-cert 0.2.5 it underflows on empty input.)
pub fn parse_pem_chain(pem: &str) -> Result<Vec<(Vec<u8>, Certificate)>, Failure> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let end = body
            .find(END)
            .ok_or_else(|| Failure::Malformed("PEM certificate has no END line".into()))?;
        let b64: String = body[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|e| Failure::Malformed(format!("PEM certificate: invalid base64: {e}")))?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| Failure::Malformed(format!("PEM certificate: {e}")))?;
        out.push((der, cert));
        rest = &body[end + END.len()..];
    }
    if out.is_empty() {
        return Err(Failure::Malformed("no PEM certificate found".into()));
    }
    Ok(out)
}

fn ext(cert: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn secs(t: x509_cert::time::Time) -> Result<Timestamp, Failure> {
    let s = i64::try_from(t.to_unix_duration().as_secs())
        .map_err(|_| Failure::Malformed("certificate time out of range".into()))?;
    Timestamp::from_second(s).map_err(|e| Failure::Malformed(format!("certificate time: {e}")))
}

pub fn not_before_after(cert: &Certificate) -> Result<(Timestamp, Timestamp), Failure> {
    let v = &cert.tbs_certificate.validity;
    Ok((secs(v.not_before)?, secs(v.not_after)?))
}

/// The leaf's validity window contains the signing time, and it may sign code.
pub fn check_leaf(leaf: &Leaf, signed_at: Timestamp) -> Result<(), Failure> {
    let (nb, na) = not_before_after(&leaf.cert)?;
    if signed_at < nb || signed_at > na {
        return Err(Failure::CertificateNotValidAtSigningTime(format!(
            "signed at {signed_at}, certificate valid {nb} to {na}"
        )));
    }
    let ku = ext(&leaf.cert, OID_KEY_USAGE)
        .ok_or_else(|| Failure::CertificateUntrusted("leaf has no key usage".into()))?;
    let ku =
        KeyUsage::from_der(ku).map_err(|e| Failure::Malformed(format!("leaf key usage: {e}")))?;
    if !ku.digital_signature() {
        return Err(Failure::CertificateUntrusted(
            "leaf key usage lacks digitalSignature".into(),
        ));
    }
    let eku = ext(&leaf.cert, OID_EKU)
        .ok_or_else(|| Failure::CertificateUntrusted("leaf has no extended key usage".into()))?;
    let eku = ExtendedKeyUsage::from_der(eku)
        .map_err(|e| Failure::Malformed(format!("leaf extended key usage: {e}")))?;
    if !eku.0.contains(&OID_CODE_SIGNING) {
        return Err(Failure::CertificateUntrusted(
            "leaf extended key usage lacks codeSigning".into(),
        ));
    }
    Ok(())
}

/// Verifies `child`'s signature with `issuer`'s key, using the algorithm `child` names.
fn signed_by(child: &Certificate, issuer: &Certificate) -> bool {
    use ring::signature as s;
    let Ok(spki) = issuer.tbs_certificate.subject_public_key_info.to_der() else {
        return false;
    };
    let Ok(key) = PublicKey::from_spki_der(&spki) else {
        return false;
    };
    let alg: &'static dyn s::VerificationAlgorithm =
        match (child.signature_algorithm.oid, key.kind()) {
            (o, KeyKind::EcdsaP256) if o == OID_ECDSA_SHA256 => &s::ECDSA_P256_SHA256_ASN1,
            (o, KeyKind::EcdsaP256) if o == OID_ECDSA_SHA384 => &s::ECDSA_P256_SHA384_ASN1,
            (o, KeyKind::EcdsaP384) if o == OID_ECDSA_SHA256 => &s::ECDSA_P384_SHA256_ASN1,
            (o, KeyKind::EcdsaP384) if o == OID_ECDSA_SHA384 => &s::ECDSA_P384_SHA384_ASN1,
            (o, KeyKind::RsaPkcs1) if o == OID_RSA_SHA256 => &s::RSA_PKCS1_2048_8192_SHA256,
            (o, KeyKind::RsaPkcs1) if o == OID_RSA_SHA384 => &s::RSA_PKCS1_2048_8192_SHA384,
            (o, KeyKind::Ed25519) if o == OID_ED25519 => &s::ED25519,
            _ => return false,
        };
    let Ok(tbs) = child.tbs_certificate.to_der() else {
        return false;
    };
    let Some(sig) = child.signature.as_bytes() else {
        return false;
    };
    key.verify_with(alg, &tbs, sig).is_ok()
}

fn is_ca(cert: &Certificate) -> bool {
    ext(cert, OID_BASIC_CONSTRAINTS)
        .and_then(|b| BasicConstraints::from_der(b).ok())
        .is_some_and(|b| b.ca)
}

/// The chain from `leaf` to a CA of `root` valid at `signed_at`. Returns the leaf's
/// direct issuer (needed for the SCT's issuer key hash).
pub fn verify_chain(
    leaf: &Leaf,
    supplied: &[Certificate],
    root: &TrustedRoot,
    signed_at: Timestamp,
) -> Result<Certificate, Failure> {
    let mut last_problem = String::from("no certificate authority in the trusted root");
    for ca in &root.certificate_authorities {
        if !ca.valid_for.contains(signed_at) {
            last_problem = format!("CA {} is not valid at {signed_at}", ca.uri);
            continue;
        }
        match path_to(ca, leaf, supplied, signed_at) {
            Ok(issuer) => return Ok(issuer),
            Err(p) => last_problem = p,
        }
    }
    Err(Failure::CertificateUntrusted(format!(
        "certificate does not chain to the trusted root: {last_problem}"
    )))
}

fn path_to(
    ca: &CertificateAuthority,
    leaf: &Leaf,
    supplied: &[Certificate],
    signed_at: Timestamp,
) -> Result<Certificate, String> {
    let trusted = |c: &Certificate| ca.certs.iter().any(|t| t == c);
    let pool: Vec<&Certificate> = ca.certs.iter().chain(supplied.iter()).collect();
    let mut current = &leaf.cert;
    let mut direct_issuer = None;
    for _ in 0..MAX_PATH {
        let issuer = pool
            .iter()
            .copied()
            .filter(|c| c.tbs_certificate.subject == current.tbs_certificate.issuer)
            .find(|c| signed_by(current, c))
            .ok_or_else(|| format!("no issuer found for {}", current.tbs_certificate.subject))?;
        if !is_ca(issuer) {
            return Err(format!("{} is not a CA", issuer.tbs_certificate.subject));
        }
        let (nb, na) = not_before_after(issuer).map_err(|e| e.to_string())?;
        if signed_at < nb || signed_at > na {
            return Err(format!(
                "{} is not valid at {signed_at}",
                issuer.tbs_certificate.subject
            ));
        }
        direct_issuer.get_or_insert_with(|| issuer.clone());
        if trusted(issuer) {
            return direct_issuer.ok_or_else(|| "empty path".to_string());
        }
        current = issuer;
    }
    Err("certificate path too long".into())
}

/// The identities in the SAN: URIs, emails, and Fulcio otherName usernames.
pub fn identities(cert: &Certificate) -> Result<Vec<String>, Failure> {
    let Some(san) = ext(cert, OID_SAN) else {
        return Ok(Vec::new());
    };
    let san = SubjectAltName::from_der(san)
        .map_err(|e| Failure::Malformed(format!("subject alternative name: {e}")))?;
    let mut out = Vec::new();
    for name in san.0 {
        match name {
            GeneralName::UniformResourceIdentifier(u) => out.push(u.to_string()),
            GeneralName::Rfc822Name(e) => out.push(e.to_string()),
            GeneralName::OtherName(o) if o.type_id == OID_FULCIO_OTHERNAME => {
                if let Ok(s) = o.value.decode_as::<Utf8StringRef<'_>>() {
                    out.push(s.as_str().to_string());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The OIDC issuer Fulcio recorded: the DER UTF8String extension, else the legacy raw one.
pub fn oidc_issuer(cert: &Certificate) -> Result<Option<String>, Failure> {
    if let Some(v) = ext(cert, OID_FULCIO_ISSUER_V2) {
        let s = Utf8StringRef::from_der(v)
            .map_err(|e| Failure::Malformed(format!("Fulcio issuer extension: {e}")))?;
        return Ok(Some(s.as_str().to_string()));
    }
    if let Some(v) = ext(cert, OID_FULCIO_ISSUER_V1) {
        let s = std::str::from_utf8(v)
            .map_err(|e| Failure::Malformed(format!("Fulcio issuer extension: {e}")))?;
        return Ok(Some(s.to_string()));
    }
    Ok(None)
}

/// One SCT from the embedded list (RFC 6962 §3.2, v1 only).
struct Sct<'a> {
    log_id: &'a [u8],
    timestamp: u64,
    extensions: &'a [u8],
    hash_alg: u8,
    sig_alg: u8,
    signature: &'a [u8],
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Failure> {
        if self.0.len() < n {
            return Err(Failure::SctInvalid("truncated SCT list".into()));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn uint(&mut self, n: usize) -> Result<u64, Failure> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
    fn vec(&mut self, len_bytes: usize) -> Result<&'a [u8], Failure> {
        let n = usize::try_from(self.uint(len_bytes)?)
            .map_err(|_| Failure::SctInvalid("SCT length".into()))?;
        self.take(n)
    }
}

fn parse_scts(list: &[u8]) -> Result<Vec<Sct<'_>>, Failure> {
    let mut outer = Reader(list);
    let mut body = Reader(outer.vec(2)?);
    if !outer.0.is_empty() {
        return Err(Failure::SctInvalid("trailing bytes after SCT list".into()));
    }
    let mut out = Vec::new();
    while !body.0.is_empty() {
        let mut r = Reader(body.vec(2)?);
        let version = r.uint(1)?;
        if version != 0 {
            return Err(Failure::SctInvalid(format!(
                "unsupported SCT version {version}"
            )));
        }
        let log_id = r.take(32)?;
        let timestamp = r.uint(8)?;
        let extensions = r.vec(2)?;
        let hash_alg = u8::try_from(r.uint(1)?).unwrap_or(0);
        let sig_alg = u8::try_from(r.uint(1)?).unwrap_or(0);
        let signature = r.vec(2)?;
        out.push(Sct {
            log_id,
            timestamp,
            extensions,
            hash_alg,
            sig_alg,
            signature,
        });
    }
    Ok(out)
}

/// RFC 6962 `digitally-signed` input for a precertificate entry.
pub fn precert_signed_data(
    timestamp_ms: u64,
    issuer_spki_der: &[u8],
    tbs_without_sct: &[u8],
    extensions: &[u8],
) -> Vec<u8> {
    let mut m = vec![0u8, 0u8]; // v1, certificate_timestamp
    m.extend_from_slice(&timestamp_ms.to_be_bytes());
    m.extend_from_slice(&[0, 1]); // precert_entry
    m.extend_from_slice(&Sha256::digest(issuer_spki_der));
    let n = tbs_without_sct.len();
    m.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    m.extend_from_slice(tbs_without_sct);
    m.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    m.extend_from_slice(extensions);
    m
}

/// Verifies the leaf's embedded SCTs against the trusted root's CT logs.
///
/// Policy (as cosign's default): when the trusted root lists CT logs, at least one embedded
/// SCT must verify against one of them, and a leaf without SCTs fails. When it lists none,
/// SCTs are not checked (a private deployment without CT). SCTs from unknown logs are
/// skipped; an SCT from a known log that does not verify fails the whole check.
pub fn verify_scts(leaf: &Leaf, issuer: &Certificate, root: &TrustedRoot) -> Result<(), Failure> {
    if root.ctlogs.is_empty() {
        return Ok(());
    }
    let Some(raw) = ext(&leaf.cert, OID_SCT_LIST) else {
        return Err(Failure::SctInvalid(
            "certificate has no embedded SCT and the trusted root lists CT logs".into(),
        ));
    };
    let list = OctetString::from_der(raw)
        .map_err(|e| Failure::SctInvalid(format!("SCT list extension: {e}")))?;
    let scts = parse_scts(list.as_bytes())?;
    let mut tbs = leaf.cert.tbs_certificate.clone();
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.retain(|e| e.extn_id != OID_SCT_LIST);
    }
    let tbs = tbs
        .to_der()
        .map_err(|e| Failure::SctInvalid(format!("re-encoding the precertificate: {e}")))?;
    let issuer_spki = issuer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| Failure::SctInvalid(format!("issuer key: {e}")))?;
    let mut verified = 0;
    for sct in &scts {
        let Some(log) = root.ctlog(sct.log_id) else {
            continue;
        };
        // sha256 + ECDSA/RSA/Ed25519 are what CT logs use; anything else is refused.
        if sct.hash_alg != 4 || !matches!(sct.sig_alg, 1 | 3 | 7) {
            return Err(Failure::SctInvalid(format!(
                "SCT from {} uses unsupported algorithm {}/{}",
                log.base_url, sct.hash_alg, sct.sig_alg
            )));
        }
        let msg = precert_signed_data(sct.timestamp, &issuer_spki, &tbs, sct.extensions);
        log.key.verify(&msg, sct.signature).map_err(|_| {
            Failure::SctInvalid(format!(
                "SCT signature from {} does not verify",
                log.base_url
            ))
        })?;
        let at = i64::try_from(sct.timestamp / 1000)
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok());
        if let Some(at) = at
            && !log.valid_for.contains(at)
        {
            return Err(Failure::SctInvalid(format!(
                "CT log {} key not valid at the SCT time {at}",
                log.base_url
            )));
        }
        verified += 1;
    }
    if verified == 0 {
        return Err(Failure::SctInvalid(
            "no embedded SCT is from a CT log of the trusted root".into(),
        ));
    }
    Ok(())
}

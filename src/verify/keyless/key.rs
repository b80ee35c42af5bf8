//! Public keys from SubjectPublicKeyInfo DER, verified with `ring`.
//!
//! Same API as `src/verify/keys.rs` on the keyed side (`PublicKey::from_spki_der`,
//! `PublicKey::verify`) so one can replace the other at merge. The hash is implied by the
//! key, as Sigstore does: P-256 → SHA-256, P-384 → SHA-384, RSA (PKCS#1 v1.5 for
//! `rsaEncryption`, PSS for `id-RSASSA-PSS`) → SHA-256, Ed25519 → none.
//! ECDSA signatures are ASN.1 DER (what cosign, Rekor and CT logs produce).
//!
//! Beyond that shared API, `kind()`, and the crate-internal `verify_with()` (X.509
//! signatures name their own hash) and `raw()` (the EC point for digest-only ECDSA) are
//! used by `cert.rs` and `bundle.rs`: keep them if the keyed side's type replaces this one.

use der::Decode;
use der::asn1::ObjectIdentifier;
use ring::signature::{self, UnparsedPublicKey};
use spki::SubjectPublicKeyInfoRef;

pub(crate) const OID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("malformed public key: {0}")]
    Malformed(String),
    #[error("unsupported public key algorithm: {0}")]
    Unsupported(String),
    #[error("signature does not verify")]
    BadSignature,
}

/// The kinds of key Sigstore uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    RsaPkcs1,
    RsaPss,
    Ed25519,
}

/// A verification key. `Debug` shows the kind only.
#[derive(Clone)]
pub struct PublicKey {
    kind: KeyKind,
    /// The subjectPublicKey BIT STRING contents (EC point, RSAPublicKey DER, Ed25519 bytes).
    raw: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Malformed("public key bit string is not whole bytes".into()))?
            .to_vec();
        let alg = spki.algorithm.oid;
        let kind = if alg == OID_EC_PUBLIC_KEY {
            let curve: ObjectIdentifier = spki
                .algorithm
                .parameters
                .ok_or_else(|| KeyError::Malformed("EC key without curve".into()))?
                .decode_as()
                .map_err(|e| KeyError::Malformed(e.to_string()))?;
            if curve == OID_P256 {
                KeyKind::EcdsaP256
            } else if curve == OID_P384 {
                KeyKind::EcdsaP384
            } else {
                return Err(KeyError::Unsupported(format!("EC curve {curve}")));
            }
        } else if alg == OID_RSA {
            KeyKind::RsaPkcs1
        } else if alg == OID_RSA_PSS {
            KeyKind::RsaPss
        } else if alg == OID_ED25519 {
            KeyKind::Ed25519
        } else {
            return Err(KeyError::Unsupported(alg.to_string()));
        };
        Ok(PublicKey { kind, raw })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Verifies `sig` over `msg` with the hash the key implies (see the module docs).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        let alg: &dyn signature::VerificationAlgorithm = match self.kind {
            KeyKind::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
            KeyKind::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1,
            KeyKind::RsaPkcs1 => &signature::RSA_PKCS1_2048_8192_SHA256,
            KeyKind::RsaPss => &signature::RSA_PSS_2048_8192_SHA256,
            KeyKind::Ed25519 => &signature::ED25519,
        };
        self.verify_with(alg, msg, sig)
    }

    /// Verifies with an explicit algorithm (X.509 signatures name theirs).
    pub(crate) fn verify_with(
        &self,
        alg: &'static dyn signature::VerificationAlgorithm,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), KeyError> {
        UnparsedPublicKey::new(alg, &self.raw)
            .verify(msg, sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The raw subjectPublicKey bytes (the EC point for ECDSA keys).
    pub(crate) fn raw(&self) -> &[u8] {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

    fn p256_spki(public: &[u8]) -> Vec<u8> {
        // SEQUENCE { SEQUENCE { ecPublicKey, prime256v1 }, BIT STRING point }
        let mut out = vec![0x30, 0x59, 0x30, 0x13, 0x06, 0x07];
        out.extend_from_slice(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08]);
        out.extend_from_slice(&[
            0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ]);
        out.extend_from_slice(public);
        out
    }

    #[test]
    fn p256_signature_verifies_and_tampering_is_caught() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let key = PublicKey::from_spki_der(&p256_spki(pair.public_key().as_ref())).unwrap();
        assert_eq!(key.kind(), KeyKind::EcdsaP256);
        let sig = pair.sign(&rng, b"hello").unwrap();
        key.verify(b"hello", sig.as_ref()).unwrap();
        assert_eq!(
            key.verify(b"hellO", sig.as_ref()),
            Err(KeyError::BadSignature)
        );
    }

    #[test]
    fn ed25519_spki_is_understood() {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(pair.public_key().as_ref());
        let key = PublicKey::from_spki_der(&spki).unwrap();
        key.verify(b"m", pair.sign(b"m").as_ref()).unwrap();
        assert!(key.verify(b"n", pair.sign(b"m").as_ref()).is_err());
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        assert!(matches!(
            PublicKey::from_spki_der(b"\x30\x03\x02\x01"),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            PublicKey::from_spki_der(b""),
            Err(KeyError::Malformed(_))
        ));
    }
}

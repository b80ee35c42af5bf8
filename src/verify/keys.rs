//! Public keys that signatures are verified against: PEM or DER SubjectPublicKeyInfo of
//! ECDSA P-256/P-384, Ed25519 or RSA (2048 to 8192 bits), verified with `ring`.
//!
//! The hash per key type is the one cosign uses when it verifies with `--key` (sigstore's
//! `signature.LoadVerifier(pub, crypto.SHA256)`, the default of cosign's
//! `--signature-digest-algorithm`): SHA-256 for ECDSA on either curve (P-384 too),
//! PKCS#1 v1.5 or PSS with SHA-256 for RSA, and pure Ed25519 (no pre-hash). ECDSA
//! signatures are ASN.1 DER, as cosign writes them.
//!
//! This module never accepts a key it cannot check exactly: an unknown algorithm, curve
//! or a short RSA modulus is a [`KeyError`] when the key is loaded, not a failed
//! verification later.

use std::fmt;

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, UintRef};
use der::{Decode, Encode, Reader, SliceReader};
use ring::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use sha2::{Digest as _, Sha256};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM public key: {0}")]
    Pem(String),
    #[error(
        "PEM block is {0:?}, expected \"PUBLIC KEY\" (a SubjectPublicKeyInfo){hint}",
        hint = pem_label_hint(.0)
    )]
    PemLabel(String),
    #[error("malformed SubjectPublicKeyInfo: {0}")]
    Spki(String),
    #[error("unsupported key algorithm {0} (supported: ECDSA P-256/P-384, Ed25519, RSA)")]
    UnsupportedAlgorithm(String),
    #[error("unsupported elliptic curve {0} (supported: P-256, P-384)")]
    UnsupportedCurve(String),
    #[error("RSA key of {0} bits is outside 2048..=8192")]
    RsaSize(usize),
    #[error("signature does not verify")]
    BadSignature,
}

/// What to do with a PEM block that is not a `PUBLIC KEY`, for the ones people give by
/// mistake; each command is one that turns that file into what `--key` takes.
fn pem_label_hint(label: &str) -> &'static str {
    if label.ends_with("SIGSTORE PRIVATE KEY") || label.ends_with("COSIGN PRIVATE KEY") {
        ": this is a cosign private key; give its public key, which `cosign public-key --key FILE` prints"
    } else if label.ends_with("PRIVATE KEY") {
        ": this is a private key; give its public key, which `openssl pkey -in FILE -pubout` prints"
    } else if label == "RSA PUBLIC KEY" {
        ": this is a PKCS#1 RSA public key; `openssl pkey -pubin -in FILE -pubout` converts it"
    } else if label == "CERTIFICATE" {
        ": this is a certificate; `openssl x509 -in FILE -pubkey -noout` prints its public key"
    } else {
        ""
    }
}

/// The kind of a key, as reports name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa { bits: usize },
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::EcdsaP256 => f.write_str("ECDSA P-256"),
            KeyKind::EcdsaP384 => f.write_str("ECDSA P-384"),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::Rsa { bits } => write!(f, "RSA {bits}"),
        }
    }
}

/// A public key, ready to verify signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: KeyKind,
    /// What `ring` takes: the EC point, the Ed25519 key, or the PKCS#1 RSAPublicKey DER.
    raw: Vec<u8>,
    /// The key written one way, whatever the file wrote: a SubjectPublicKeyInfo with the
    /// algorithm's parameters as RFC 3279/5480/8410 and openssl write them (RSA: NULL; EC:
    /// the named curve; Ed25519: none) around `raw`. What the fingerprint hashes.
    canonical_spki: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kind", &self.kind)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

impl PublicKey {
    /// Parses a PEM `PUBLIC KEY` block (text before the block, such as a comment, is
    /// skipped; only the first block is read).
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        let start = text
            .find("-----BEGIN ")
            .ok_or_else(|| KeyError::Pem("no -----BEGIN line".into()))?;
        let block = &text[start..];
        let end_marker = block
            .find("-----END ")
            .and_then(|end| block[end..].find("\n").map(|nl| end + nl + 1))
            .unwrap_or(block.len());
        let (label, der) = der::pem::decode_vec(&block.as_bytes()[..end_marker])
            .map_err(|e| KeyError::Pem(e.to_string()))?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::PemLabel(label.to_string()));
        }
        PublicKey::from_spki_der(&der)
    }

    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki =
            SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError::Spki(e.to_string()))?;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Spki("public key bit string has unused bits".into()))?;
        let oid = spki.algorithm.oid;
        let mut raw = key_bytes.to_vec();
        let mut parameters = None;
        let kind = if oid == ID_EC_PUBLIC_KEY {
            let curve_param = spki
                .algorithm
                .parameters
                .ok_or_else(|| KeyError::Spki("EC key without a named curve".into()))?;
            let curve: ObjectIdentifier = curve_param
                .decode_as()
                .map_err(|e| KeyError::Spki(format!("EC curve: {e}")))?;
            parameters = Some(curve_param);
            let (kind, len) = match curve {
                c if c == SECP256R1 => (KeyKind::EcdsaP256, 65),
                c if c == SECP384R1 => (KeyKind::EcdsaP384, 97),
                other => return Err(KeyError::UnsupportedCurve(other.to_string())),
            };
            if key_bytes.len() != len || key_bytes.first() != Some(&4) {
                return Err(KeyError::Spki(
                    "EC public key is not an uncompressed point of its curve".into(),
                ));
            }
            kind
        } else if oid == ID_ED25519 {
            if key_bytes.len() != 32 {
                return Err(KeyError::Spki("Ed25519 key is not 32 bytes".into()));
            }
            KeyKind::Ed25519
        } else if oid == RSA_ENCRYPTION {
            let (bits, pkcs1) = rsa_public_key(key_bytes)?;
            if !(2048..=8192).contains(&bits) {
                return Err(KeyError::RsaSize(bits));
            }
            raw = pkcs1;
            parameters = Some(AnyRef::NULL);
            KeyKind::Rsa { bits }
        } else {
            return Err(KeyError::UnsupportedAlgorithm(oid.to_string()));
        };
        let canonical_spki = canonical_spki(oid, parameters, &raw)?;
        Ok(PublicKey {
            kind,
            raw,
            canonical_spki,
        })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key's canonical SubjectPublicKeyInfo DER (what sigstore-verify takes for keyed
    /// bundles; the form openssl and Go write).
    pub fn spki_der(&self) -> &[u8] {
        &self.canonical_spki
    }

    /// The lowercase hex SHA-256 of the key's canonical SubjectPublicKeyInfo DER (64
    /// characters): one value for one key however its file is written (PEM formatting,
    /// RSA parameters NULL or absent), what `--threshold` counts distinct keys by, and for
    /// a key written as openssl and Go write it the same value as a Rekor/CT log ID of it.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(&self.canonical_spki);
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    }

    /// Verifies `signature` over `message` with the hash cosign uses for this key type
    /// (see the module docs).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let algorithms: &[&'static dyn VerificationAlgorithm] = match self.kind {
            KeyKind::EcdsaP256 => &[&sig::ECDSA_P256_SHA256_ASN1],
            KeyKind::EcdsaP384 => &[&sig::ECDSA_P384_SHA256_ASN1],
            KeyKind::Ed25519 => &[&sig::ED25519],
            KeyKind::Rsa { .. } => &[
                &sig::RSA_PKCS1_2048_8192_SHA256,
                &sig::RSA_PSS_2048_8192_SHA256,
            ],
        };
        for algorithm in algorithms {
            if UnparsedPublicKey::new(*algorithm, &self.raw)
                .verify(message, signature)
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(KeyError::BadSignature)
    }
}

/// A PKCS#1 RSAPublicKey's modulus bit length, and the key re-encoded from its modulus
/// and exponent (the key itself, not the bytes as written).
fn rsa_public_key(pkcs1: &[u8]) -> Result<(usize, Vec<u8>), KeyError> {
    let bad = |e: der::Error| KeyError::Spki(format!("RSA public key: {e}"));
    let mut reader = SliceReader::new(pkcs1).map_err(bad)?;
    let (n, e) = reader
        .sequence(|r| Ok((UintRef::decode(r)?, UintRef::decode(r)?)))
        .map_err(bad)?;
    reader.finish(()).map_err(bad)?;
    let modulus = n.as_bytes();
    let leading = modulus.first().map_or(8, |b| b.leading_zeros() as usize);
    let reencoded = [n, e].to_der().map_err(bad)?;
    Ok((modulus.len() * 8 - leading, reencoded))
}

/// A SubjectPublicKeyInfo of `algorithm` with `parameters` around `key`, in DER.
fn canonical_spki(
    algorithm: ObjectIdentifier,
    parameters: Option<AnyRef<'_>>,
    key: &[u8],
) -> Result<Vec<u8>, KeyError> {
    let bad = |e: der::Error| KeyError::Spki(format!("re-encoding the key: {e}"));
    SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: algorithm,
            parameters,
        },
        subject_public_key: BitStringRef::from_bytes(key).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

#[cfg(test)]
mod tests {
    //! Keys and signatures here were made with the openssl CLI (not our code):
    //! `openssl genpkey`, `openssl pkey -pubout`, `openssl dgst -sha256 -sign`.
    use super::*;
    use base64::Engine as _;

    const MESSAGE: &[u8] = b"vouch key test message\n";

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(s.split_whitespace().collect::<String>())
            .unwrap()
    }

    include!("keys_test_vectors.rs");

    #[test]
    fn openssl_signatures_verify_and_others_do_not() {
        for (name, pem, signature) in VECTORS {
            let key = PublicKey::from_pem(pem).unwrap_or_else(|e| panic!("{name}: {e}"));
            let signature = b64(signature);
            key.verify(MESSAGE, &signature)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                key.verify(b"another message", &signature).is_err(),
                "{name}"
            );
            let mut flipped = signature.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 1;
            assert!(key.verify(MESSAGE, &flipped).is_err(), "{name}");
        }
    }

    #[test]
    fn a_signature_verifies_only_under_its_own_key() {
        for (name, _, signature) in VECTORS {
            for (other, pem, _) in VECTORS {
                if other == name {
                    continue;
                }
                let key = PublicKey::from_pem(pem).unwrap();
                assert!(
                    key.verify(MESSAGE, &b64(signature)).is_err(),
                    "{name} under {other}"
                );
            }
        }
    }

    #[test]
    fn kinds_and_fingerprints() {
        let kinds: Vec<String> = VECTORS
            .iter()
            .map(|(_, pem, _)| PublicKey::from_pem(pem).unwrap().kind().to_string())
            .collect();
        assert_eq!(
            kinds,
            [
                "ECDSA P-256",
                "ECDSA P-384",
                "Ed25519",
                "RSA 2048",
                "RSA 3072"
            ]
        );
        let key = PublicKey::from_pem(VECTORS[0].1).unwrap();
        let fp = key.fingerprint();
        assert!(
            fp.len() == 64 && fp.bytes().all(|b| b.is_ascii_hexdigit()),
            "{fp}"
        );
        assert_eq!(
            fp,
            PublicKey::from_spki_der(&key.canonical_spki)
                .unwrap()
                .fingerprint()
        );
        assert!(!format!("{key:?}").is_empty());
    }

    fn pem_der(pem: &str) -> Vec<u8> {
        der::pem::decode_vec(pem.as_bytes()).unwrap().1
    }

    /// The same SubjectPublicKeyInfo with the algorithm's parameters replaced (the spki
    /// crate writes it: openssl writes RSA keys with NULL parameters only).
    fn with_parameters(der: &[u8], parameters: Option<AnyRef<'_>>) -> Vec<u8> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).unwrap();
        SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: spki.algorithm.oid,
                parameters,
            },
            subject_public_key: spki.subject_public_key,
        }
        .to_der()
        .unwrap()
    }

    /// Keys as openssl writes them keep the fingerprint they always had: the SHA-256 of
    /// the file's DER (and so a log ID of the key).
    #[test]
    fn openssl_written_keys_are_already_canonical() {
        for (name, pem, _) in VECTORS {
            let der = pem_der(pem);
            let key = PublicKey::from_spki_der(&der).unwrap();
            assert_eq!(key.canonical_spki, der, "{name}");
            let hex: String = Sha256::digest(&der)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(key.fingerprint(), hex, "{name}");
        }
    }

    /// Regression (issue 15): one RSA key written with AlgorithmIdentifier parameters NULL
    /// (openssl) and absent counted as two principals towards `--threshold`.
    #[test]
    fn one_key_written_two_ways_is_one_fingerprint() {
        for (name, pem, signature) in VECTORS {
            let written = pem_der(pem);
            let as_written = PublicKey::from_spki_der(&written).unwrap();
            let other_way = match as_written.kind() {
                KeyKind::Rsa { .. } => with_parameters(&written, None),
                KeyKind::Ed25519 => with_parameters(&written, Some(AnyRef::NULL)),
                KeyKind::EcdsaP256 | KeyKind::EcdsaP384 => continue,
            };
            assert_ne!(other_way, written, "{name}");
            let key = PublicKey::from_spki_der(&other_way).unwrap();
            assert_eq!(key.fingerprint(), as_written.fingerprint(), "{name}");
            assert_eq!(key, as_written, "{name}");
            key.verify(MESSAGE, &b64(signature))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // Another key is still another fingerprint.
        let fingerprints: std::collections::BTreeSet<String> = VECTORS
            .iter()
            .map(|(_, pem, _)| PublicKey::from_pem(pem).unwrap().fingerprint())
            .collect();
        assert_eq!(fingerprints.len(), VECTORS.len());
    }

    #[test]
    fn rejects_what_it_cannot_check() {
        assert!(matches!(
            PublicKey::from_pem("hello"),
            Err(KeyError::Pem(_))
        ));
        assert!(matches!(
            PublicKey::from_pem(PRIVATE_KEY_PEM),
            Err(KeyError::PemLabel(_))
        ));
        assert!(matches!(
            PublicKey::from_pem(SECP256K1_PEM),
            Err(KeyError::UnsupportedCurve(_))
        ));
        assert!(matches!(
            PublicKey::from_pem(RSA_1024_PEM),
            Err(KeyError::RsaSize(1024))
        ));
        assert!(PublicKey::from_spki_der(b"\x30\x03\x02\x01\x00").is_err());
    }
}

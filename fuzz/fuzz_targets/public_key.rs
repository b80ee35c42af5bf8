#![no_main]
//! Public keys: a `--key` file (PEM, keyed verification) and a SubjectPublicKeyInfo DER.
//! A parsed key verifies a fixed message, so the key's own encoding (RSA modulus, EC
//! point) is parsed by the signature code too. (Trusted-root and certificate keys are
//! sigstore-verify's, fuzzed through the `trusted_root` and `sigstore_bundle` targets.)

use libfuzzer_sys::fuzz_target;
use vouch::verify::PublicKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = PublicKey::from_pem(&String::from_utf8_lossy(data)) {
        let _ = key.fingerprint();
        let _ = key.verify(b"message", data);
    }
    if let Ok(key) = PublicKey::from_spki_der(data) {
        let _ = key.verify(b"message", data);
    }
});

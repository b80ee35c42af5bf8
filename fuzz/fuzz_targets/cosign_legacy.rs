#![no_main]
//! A cosign legacy keyless signature: the `.sig` layer's payload and its annotations,
//! turned into a bundle by vouch (`sigstore::legacy`) and verified by sigstore-verify.
//!
//! The input is the parts separated by NUL bytes: payload, signature (base64), certificate
//! PEM, chain PEM, Rekor bundle JSON. An empty (or missing) chain or bundle part is "no
//! annotation". Text parts that are not UTF-8 are read lossily, so mutations keep reaching
//! the PEM, X.509 and bundle parsers.
//!
//! Verified against a self-made trusted root (fuzz/fixtures/, made with
//! tests/support/sigstore_signer.rs together with the `seed-valid` input), because no real
//! legacy signature with its payload is committed: with it, a seed verifies completely
//! and mutations reach the log entry, chain, SCT and identity checks.

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vouch::verify::identity::{IdentityPolicy, Matcher};
use vouch::verify::sigstore::{self, RootSource, Subject, TrustRoot, legacy};

const SELFMADE_ROOT: &[u8] = include_bytes!("../fixtures/selfmade-trusted-root.json");

fn setup() -> &'static (TrustRoot, IdentityPolicy) {
    static SETUP: OnceLock<(TrustRoot, IdentityPolicy)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let root = TrustRoot::from_bytes(RootSource::Embedded, SELFMADE_ROOT)
            .expect("the committed trusted root");
        let policy = IdentityPolicy::new(
            Matcher::regex(".*").expect("regex"),
            Matcher::regex(".*").expect("regex"),
        );
        (root, policy)
    })
}

fuzz_target!(|data: &[u8]| {
    let (root, policy) = setup();
    let mut parts = data.splitn(5, |&b| b == 0);
    let payload = parts.next().unwrap_or_default();
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (signature, cert, chain, rekor) = (text(), text(), text(), text());
    let annotations = legacy::Annotations {
        signer: legacy::Signer::Certificate(&cert),
        chain_pem: (!chain.is_empty()).then_some(chain.as_str()),
        rekor_bundle: (!rekor.is_empty()).then_some(rekor.as_str()),
    };
    if let Ok(bundle) = legacy::signature_bundle(payload, &signature, &annotations) {
        let _ = sigstore::verify_keyless(root, &bundle, Subject::Bytes(payload), policy);
    }
    if let Ok(bundle) = legacy::attestation_bundle(
        "application/vnd.in-toto+json",
        payload,
        signature.as_bytes(),
        &annotations,
    ) {
        let _ = sigstore::verify_keyless(root, &bundle, Subject::Sha256([0; 32]), policy);
    }
});

#![no_main]
//! A cosign legacy keyless signature: the `.sig` layer's payload and its annotations.
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
use vouch::verify::keyless::{IdentityPolicy, Matcher, TrustedRoot, verify_legacy_signature};

const SELFMADE_ROOT: &[u8] = include_bytes!("../fixtures/selfmade-trusted-root.json");

fn setup() -> &'static (TrustedRoot, IdentityPolicy) {
    static SETUP: OnceLock<(TrustedRoot, IdentityPolicy)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let root = TrustedRoot::from_json(SELFMADE_ROOT).expect("the committed trusted root");
        let policy = IdentityPolicy {
            identity: Matcher::regex(".*").expect("regex"),
            issuer: Matcher::regex(".*").expect("regex"),
        };
        (root, policy)
    })
}

fuzz_target!(|data: &[u8]| {
    let (root, policy) = setup();
    let mut parts = data.splitn(5, |&b| b == 0);
    let payload = parts.next().unwrap_or_default();
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (signature, cert, chain, bundle) = (text(), text(), text(), text());
    let _ = verify_legacy_signature(
        payload,
        &signature,
        &cert,
        (!chain.is_empty()).then_some(chain.as_str()),
        (!bundle.is_empty()).then_some(bundle.as_str()),
        root,
        policy,
    );
});

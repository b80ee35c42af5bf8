#![no_main]
//! A Sigstore bundle (v0.1 to v0.3: certificates, tlog entries, inclusion proofs,
//! checkpoints, message signature or DSSE envelope) verified against the real public-good
//! trusted root, so the real bundles among the seeds verify completely and mutations of
//! them reach every step.

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vouch::verify::keyless::{IdentityPolicy, Matcher, TrustedRoot, verify_bundle};

const PUBLIC_GOOD: &[u8] = include_bytes!("../../fixtures/sigstore/trusted-root-public-good.json");

fn setup() -> &'static (TrustedRoot, IdentityPolicy) {
    static SETUP: OnceLock<(TrustedRoot, IdentityPolicy)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let root = TrustedRoot::from_json(PUBLIC_GOOD).expect("the committed trusted root");
        // Any identity from any issuer: the matching runs on whatever the SAN holds.
        let policy = IdentityPolicy {
            identity: Matcher::regex(".*").expect("regex"),
            issuer: Matcher::regex(".*").expect("regex"),
        };
        (root, policy)
    })
}

fuzz_target!(|data: &[u8]| {
    let (root, policy) = setup();
    let _ = verify_bundle(data, root, policy);
});

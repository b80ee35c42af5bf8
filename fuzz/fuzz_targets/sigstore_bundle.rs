#![no_main]
//! A Sigstore bundle (v0.1 to v0.3: certificates, tlog entries, inclusion proofs,
//! checkpoints, RFC 3161 timestamps, message signature or DSSE envelope): read by vouch's
//! `parse_bundle`, then verified by sigstore-verify through vouch's glue against the
//! embedded public-good root, over the digest the bundle itself names, so the real bundles
//! among the seeds verify completely and mutations of them reach every step.

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vouch::verify::identity::{IdentityPolicy, Matcher};
use vouch::verify::sigstore::{self, Subject, TrustRoot};

fn setup() -> &'static (TrustRoot, IdentityPolicy) {
    static SETUP: OnceLock<(TrustRoot, IdentityPolicy)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let root = TrustRoot::embedded().expect("the embedded trusted root");
        // Any identity from any issuer: the matching runs on whatever the SAN holds.
        let policy = IdentityPolicy::new(
            Matcher::regex(".*").expect("regex"),
            Matcher::regex(".*").expect("regex"),
        );
        (root, policy)
    })
}

fuzz_target!(|data: &[u8]| {
    let (root, policy) = setup();
    let Ok(bundle) = sigstore::parse_bundle(data) else {
        return;
    };
    let subject = sigstore::claimed_sha256(&bundle).unwrap_or([0; 32]);
    let _ = sigstore::verify_keyless(root, &bundle, Subject::Sha256(subject), policy);
    let _ = sigstore::verify_keyless(root, &bundle, Subject::Bytes(data), policy);
});

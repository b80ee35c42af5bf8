#![no_main]
//! A Sigstore `trusted_root.json` (`--trusted-root`): parsed by sigstore-trust-root and
//! prepared by sigstore-verify (keys, certificates, validity windows) through vouch's
//! `TrustRoot`, which also reads its digest and newest validity start.

use libfuzzer_sys::fuzz_target;
use vouch::verify::sigstore::{RootSource, TrustRoot};

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = TrustRoot::from_bytes(RootSource::Embedded, data) {
        let _ = root.describe();
    }
});

#![no_main]
//! A Sigstore `trusted_root.json` (`--trusted-root`): keys, certificates, validity times.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vouch::verify::keyless::TrustedRoot::from_json(data);
});

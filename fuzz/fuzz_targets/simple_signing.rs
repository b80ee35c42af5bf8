#![no_main]
//! A cosign simple-signing payload (a `.sig` layer) checked against a fixed image digest
//! (the one the seeds sign, so a mutation can reach every branch).

use libfuzzer_sys::fuzz_target;

const DIGEST: &str = "sha256:9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725";

fuzz_target!(|data: &[u8]| {
    let _ = vouch::verify::simple_signing::check(data, DIGEST);
});

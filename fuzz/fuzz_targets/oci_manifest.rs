#![no_main]
//! An OCI document from a registry, read both ways `vouch verify` reads one: as an image
//! manifest (cosign's `.sig`/`.att` manifests, a referrer) and as an image index (the
//! referrers answer).

use libfuzzer_sys::fuzz_target;
use vouch::verify::oci::{ImageIndex, ImageManifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = ImageManifest::parse(data) {
        let _ = manifest.declared_artifact_type();
    }
    let _ = ImageIndex::parse(data);
});

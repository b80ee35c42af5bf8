#![no_main]
//! What the registry client parses from text: a registry's `WWW-Authenticate` challenge
//! (untrusted: any registry answers it), the image reference and digest the user gives,
//! and the Docker config.json (read without running any credential helper). An error is
//! fine; a panic, hang or OOM is not.

use libfuzzer_sys::fuzz_target;
use vouch::verify::registry::docker_config::Entry;
use vouch::verify::registry::{Challenge, Digest, Reference};

fuzz_target!(|text: &str| {
    let _ = Challenge::parse(text);
    if let Ok(reference) = Reference::parse(text) {
        let _ = reference.api_host();
        if let Some(digest) = &reference.digest {
            let _ = reference.with_digest(digest);
        }
    }
    let _ = Digest::parse(text);
    if let Ok(entry) = Entry::parse(text, "registry.example", "config.json") {
        let _ = entry.inline_credentials();
    }
});

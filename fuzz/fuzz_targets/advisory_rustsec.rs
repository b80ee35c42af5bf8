#![no_main]
//! One RustSec advisory file (Markdown with a TOML front block) on arbitrary text.

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = vouch::advisory::rustsec::parse(Path::new("RUSTSEC-0000-0000.md"), "fuzzed", text);
});

#![no_main]
//! The waiver file on arbitrary text.

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = vouch::waiver::WaiverFile::parse(Path::new("vouch-waivers.toml"), text);
});

#![no_main]
//! The policy file (vouch.toml) on arbitrary text.

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = vouch::policy::Policy::parse(Path::new("vouch.toml"), text);
});

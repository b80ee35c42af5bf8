#![no_main]
//! The PipfileLock parser on arbitrary text: an error is fine, a panic, hang or OOM is not.

use libfuzzer_sys::fuzz_target;
use vouch::lockfile::{Format, Parser, parse_detached};

fuzz_target!(|text: &str| {
    let _ = parse_detached(Parser::Lockfile(Format::PipfileLock), text);
});

#![no_main]
//! The go.sum parser on arbitrary text.

use libfuzzer_sys::fuzz_target;
use vouch::lockfile::{Parser, parse_detached};

fuzz_target!(|text: &str| {
    let _ = parse_detached(Parser::GoSum, text);
});

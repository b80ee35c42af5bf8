#![no_main]
//! The SBOM parsers (SPDX JSON, SPDX tag-value, CycloneDX JSON, and detection by
//! content) on arbitrary text: an error is fine, a panic, hang or OOM is not.

use libfuzzer_sys::fuzz_target;
use vouch::lockfile::{Format, Parser, parse_detached};

fuzz_target!(|text: &str| {
    let _ = parse_detached(Parser::Sbom, text);
    for format in [Format::SpdxJson, Format::SpdxTagValue, Format::CycloneDxJson] {
        let _ = parse_detached(Parser::Lockfile(format), text);
    }
});

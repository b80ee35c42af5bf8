#![no_main]
//! One OSV record on arbitrary bytes, converted for each ecosystem and matched against a
//! few versions (the range logic runs on whatever events the record holds).

use libfuzzer_sys::fuzz_target;
use vouch::package::Ecosystem;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, record)) = data.split_first() else {
        return;
    };
    let ecosystem = match selector % 4 {
        0 => Ecosystem::Cargo,
        1 => Ecosystem::Npm,
        2 => Ecosystem::PyPI,
        _ => Ecosystem::Go,
    };
    for version in ["0", "1.2.3", "1.0.0-rc.1", "2.0.post1.dev3", "v0.0.0-20200101000000-abcdef123456"] {
        let _ = vouch::advisory::osv::parse_record(record, ecosystem, version);
    }
});

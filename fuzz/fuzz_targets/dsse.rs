#![no_main]
//! A DSSE envelope (a `.att` layer): parsed, its PAE built, its in-toto statement read;
//! and the same bytes read directly as a statement (a decoded payload).

use libfuzzer_sys::fuzz_target;
use vouch::verify::dsse::{Envelope, Statement};

/// The subject digest the seeds name.
const DIGEST_HEX: &str = "9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725";

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::parse(data) {
        let _ = envelope.pae();
        if let Ok(statement) = envelope.statement() {
            let _ = statement.names_digest(DIGEST_HEX);
        }
    }
    if let Ok(statement) = Statement::parse(data) {
        let _ = statement.names_digest(DIGEST_HEX);
    }
});

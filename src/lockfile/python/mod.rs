//! Python lockfiles: pip's requirements files, poetry.lock, uv.lock and Pipfile.lock.
//!
//! Every one of them yields `Ecosystem::PyPI` packages with PEP 503-normalised names.
//! Index-served packages are `Source::Registry` whatever index URL the file records: vouch
//! does not guess which index is the public one. Hashes become checksums.

pub(crate) mod pipfile;
pub(crate) mod poetry;
pub(crate) mod requirements;
pub(crate) mod uv;

use super::{ParseError, offset_to_line_column};
use crate::package::{Checksum, HashAlgorithm};

/// Reads `<algorithm>:<hex>` as lockfiles write hashes; `None` for algorithms vouch does
/// not record or text that is not a hash.
pub(crate) fn parse_hash(text: &str) -> Option<Checksum> {
    let (algorithm, hex) = text.split_once(':')?;
    let algorithm = match algorithm.to_ascii_lowercase().as_str() {
        "sha1" => HashAlgorithm::Sha1,
        "sha256" => HashAlgorithm::Sha256,
        "sha384" => HashAlgorithm::Sha384,
        "sha512" => HashAlgorithm::Sha512,
        _ => return None,
    };
    let want = match algorithm {
        HashAlgorithm::Sha1 => 40,
        HashAlgorithm::Sha256 => 64,
        HashAlgorithm::Sha384 => 96,
        HashAlgorithm::Sha512 => 128,
    };
    (hex.len() == want && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Checksum {
        algorithm,
        hex: hex.to_ascii_lowercase(),
    })
}

/// Adds a checksum unless the package already has it.
pub(crate) fn push_unique(checksums: &mut Vec<Checksum>, checksum: Checksum) {
    if !checksums.contains(&checksum) {
        checksums.push(checksum);
    }
}

/// A TOML syntax or shape error, located from toml's span.
pub(crate) fn toml_error(text: &str, err: &toml::de::Error, what: &str) -> ParseError {
    let (line, column) = err
        .span()
        .map_or((1, 1), |span| offset_to_line_column(text, span.start));
    ParseError::new(
        line,
        column,
        format!("invalid {what}: {}", err.message().trim()),
    )
}

/// 1-based line of byte offset `offset`.
pub(crate) fn line_of(text: &str, offset: usize) -> u32 {
    offset_to_line_column(text, offset).0 as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_need_a_known_algorithm_and_the_right_length() {
        let hex = "a".repeat(64);
        let checksum = parse_hash(&format!("sha256:{hex}")).unwrap();
        assert_eq!(checksum.algorithm, HashAlgorithm::Sha256);
        assert!(parse_hash(&format!("md5:{hex}")).is_none());
        assert!(parse_hash("sha256:abc").is_none());
        assert!(parse_hash(&format!("sha256:{}", "g".repeat(64))).is_none());
    }
}

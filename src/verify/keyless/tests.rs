//! Verification tests. The real public-good material is in `fixtures/sigstore/`; everything
//! else comes from the self-made test signer (`tests/support/sigstore_signer.rs`).

use super::*;

const PUBLIC_GOOD_ROOT: &[u8] = include_bytes!("../../../fixtures/sigstore/trusted-root-public-good.json");
const NPM_BUNDLE: &[u8] = include_bytes!("../../../fixtures/sigstore/npm-sigstore-3.1.0.sigstore.json");
const NPM_IDENTITY: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn exact(identity: &str, issuer: &str) -> IdentityPolicy {
    IdentityPolicy {
        identity: Matcher::Exact(identity.into()),
        issuer: Matcher::Exact(issuer.into()),
    }
}

#[test]
fn real_npm_provenance_bundle_verifies_against_the_real_public_good_root() {
    let root = TrustedRoot::from_json(PUBLIC_GOOD_ROOT).unwrap();
    let (signer, content) =
        verify_bundle(NPM_BUNDLE, &root, &exact(NPM_IDENTITY, GITHUB_ISSUER)).unwrap();
    assert_eq!(signer.identity, NPM_IDENTITY);
    assert_eq!(signer.issuer, GITHUB_ISSUER);
    assert_eq!(signer.signed_at, Timestamp::from_second(1738701347).unwrap());
    let BundleContent::Dsse { payload_type, payload } = content else {
        panic!("expected DSSE content");
    };
    assert_eq!(payload_type, "application/vnd.in-toto+json");
    assert!(String::from_utf8(payload).unwrap().contains("pkg:npm/sigstore@3.1.0"));
}

#[test]
fn real_bundle_with_another_identity_is_an_identity_mismatch() {
    let root = TrustedRoot::from_json(PUBLIC_GOOD_ROOT).unwrap();
    let policy = IdentityPolicy {
        identity: Matcher::regex("https://github.com/sigstore/.*").unwrap(),
        issuer: Matcher::Exact("https://accounts.google.com".into()),
    };
    let e = verify_bundle(NPM_BUNDLE, &root, &policy).unwrap_err();
    assert!(matches!(e, Failure::IdentityMismatch { ref found_issuer, .. } if found_issuer == GITHUB_ISSUER), "{e}");
}

#[test]
fn real_bundle_fails_with_a_tampered_inclusion_proof_hash() {
    let root = TrustedRoot::from_json(PUBLIC_GOOD_ROOT).unwrap();
    let s = std::str::from_utf8(NPM_BUNDLE).unwrap().replace(
        "RCyIgoZlQd/LleULpHJ6ihu9tEckMxiYu0ogdRSyyNQ=",
        "RCyIgoZlQd/LleULpHJ6ihu9tEckMxiYu0ogdRSyyNA=",
    );
    let e = verify_bundle(s.as_bytes(), &root, &exact(NPM_IDENTITY, GITHUB_ISSUER)).unwrap_err();
    assert!(matches!(e, Failure::TlogEntryInvalid(_)), "{e}");
}

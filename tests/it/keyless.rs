//! Keyless Sigstore verification through the library API, with artefacts from the shared
//! self-made signer (`tests/support/sigstore_signer.rs`) written to and read back from
//! files. The same checks through the `vouch verify` command against a real registry are
//! in `verify_keyless.rs`; these stay at the library level to pin its API (also used by
//! the fuzz targets).

use crate::common;
use crate::sigstore_signer::{self as signer, Pki, SignOpts};
use vouch::verify::keyless::{
    BundleContent, Failure, IdentityPolicy, Matcher, TrustedRoot, verify_bundle,
    verify_legacy_signature,
};

fn policy() -> IdentityPolicy {
    IdentityPolicy {
        identity: Matcher::regex(r"https://github\.com/acme/app/\.github/workflows/.*").unwrap(),
        issuer: Matcher::Exact(signer::GITHUB_ISSUER.into()),
    }
}

#[test]
fn legacy_annotations_and_v03_bundle_round_trip_through_files() {
    let pki = Pki::new();
    let dir = common::tempdir();
    std::fs::write(
        dir.path().join("trusted_root.json"),
        pki.trusted_root_json(),
    )
    .unwrap();
    let payload = br#"{"critical":{"type":"cosign container image signature"}}"#;
    let a = pki.legacy_signature(payload, &SignOpts::default());
    std::fs::write(
        dir.path().join("bundle.json"),
        pki.bundle_v03_message(payload, &SignOpts::default()),
    )
    .unwrap();

    let root =
        TrustedRoot::from_json(&std::fs::read(dir.path().join("trusted_root.json")).unwrap())
            .unwrap();
    let s = verify_legacy_signature(
        payload,
        &a.signature_b64,
        &a.certificate_pem,
        Some(&a.chain_pem),
        Some(&a.bundle_json),
        &root,
        &policy(),
    )
    .unwrap();
    assert_eq!(s.identity, signer::DEFAULT_IDENTITY);

    let bundle = std::fs::read(dir.path().join("bundle.json")).unwrap();
    let (_, content) = verify_bundle(&bundle, &root, &policy()).unwrap();
    assert!(
        matches!(content, BundleContent::MessageDigest { ref algorithm, .. } if algorithm == "SHA2_256")
    );
}

#[test]
fn another_signers_trusted_root_refuses_the_signature() {
    let pki = Pki::new();
    let stranger = TrustedRoot::from_json(Pki::new().trusted_root_json().as_bytes()).unwrap();
    let bundle = pki.bundle_v03_dsse(
        "application/vnd.in-toto+json",
        &signer::in_toto_statement("app", &"00".repeat(32)),
        &SignOpts::default(),
    );
    let e = verify_bundle(bundle.as_bytes(), &stranger, &policy()).unwrap_err();
    assert!(matches!(e, Failure::TlogEntryInvalid(_)), "{e:?}");
    assert_eq!(e.code(), "tlog-entry-invalid");
}

#[test]
fn the_real_public_good_trusted_root_parses() {
    let root = TrustedRoot::from_json(
        &std::fs::read(common::fixture("sigstore/trusted-root-public-good.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(root.ctlogs.len(), 2);
    let garbage = TrustedRoot::from_json(b"{\"mediaType\": 1}");
    assert!(garbage.is_err());
}

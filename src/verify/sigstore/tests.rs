//! The glue to sigstore-verify: real public-good bundles (fixtures/sigstore/) against the
//! embedded root, and the self-made Sigstore (tests/support/sigstore_signer.rs) for
//! everything that needs a signature made to order. The library's own checks are proven
//! by the conformance suite (tests/it/conformance.rs); these pin what vouch adds and
//! hands over: the legacy conversion, the identity policy, the refusals vouch adds, the
//! failure codes.

use super::testsupport::{
    self as ts, BundleVersion, ChainMode, Identity, Pki, RootOpts, SctMode, SetKey, SignOpts,
};
use super::*;
use crate::verify::claims::ClaimCheck;
use crate::verify::identity::{IdentityPolicy, Matcher};
use serde_json::Value;

const CONDA_BUNDLE: &[u8] =
    include_bytes!("../../../fixtures/sigstore/conda-signed-package-v03-dsse.sigstore.json");
const WHEEL_BUNDLE: &[u8] =
    include_bytes!("../../../fixtures/sigstore/rfc8785-py-0.1.2-whl.sigstore.json");
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const PAYLOAD: &[u8] = br#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/app"},"image":{"docker-manifest-digest":"sha256:aaaa"},"type":"cosign container image signature"},"optional":null}"#;

fn exact(identity: &str, issuer: &str) -> IdentityPolicy {
    IdentityPolicy::new(
        Matcher::Exact(identity.into()),
        Matcher::Exact(issuer.into()),
    )
}

fn default_policy() -> IdentityPolicy {
    exact(ts::DEFAULT_IDENTITY, ts::GITHUB_ISSUER)
}

fn root_of(pki: &Pki) -> TrustRoot {
    TrustRoot::from_bytes(RootSource::Embedded, pki.trusted_root_json().as_bytes()).unwrap()
}

fn subject_of(statement: &[u8]) -> [u8; 32] {
    let v: Value = serde_json::from_slice(statement).unwrap();
    let hex = v["subject"][0]["digest"]["sha256"].as_str().unwrap();
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn legacy(
    pki: &Pki,
    root: &TrustRoot,
    opts: &SignOpts,
    edit: impl FnOnce(&mut ts::LegacyAnnotations),
) -> Result<Signer, Failure> {
    let mut a = pki.legacy_signature(PAYLOAD, opts);
    edit(&mut a);
    let annotations = legacy::Annotations {
        signer: legacy::Signer::Certificate(&a.certificate_pem),
        chain_pem: (!a.chain_pem.is_empty()).then_some(a.chain_pem.as_str()),
        rekor_bundle: (!a.bundle_json.is_empty()).then_some(a.bundle_json.as_str()),
    };
    let bundle = legacy::signature_bundle(PAYLOAD, &a.signature_b64, &annotations)?;
    verify_keyless(root, &bundle, Subject::Bytes(PAYLOAD), &default_policy())
}

fn message(
    pki: &Pki,
    root: &TrustRoot,
    opts: &SignOpts,
    policy: &IdentityPolicy,
) -> Result<Signer, Failure> {
    let bundle = parse_bundle(pki.bundle_v03_message(b"artifact", opts).as_bytes()).unwrap();
    verify_keyless(root, &bundle, Subject::Bytes(b"artifact"), policy)
}

fn edit_bundle(json: &str, f: impl FnOnce(&mut Value)) -> Bundle {
    let mut v: Value = serde_json::from_str(json).unwrap();
    f(&mut v);
    parse_bundle(v.to_string().as_bytes()).unwrap()
}

/// Real public-good bundles (a DSSE provenance with a sha256 subject, a message signature
/// over a wheel) verify against the embedded root; the signer is what the certificate says.
#[test]
fn real_public_good_bundles_verify_against_the_embedded_root() {
    let root = TrustRoot::embedded().unwrap();
    let any = IdentityPolicy::new(
        Matcher::regex(".+").unwrap(),
        Matcher::Exact(GITHUB_ISSUER.into()),
    );
    for bytes in [CONDA_BUNDLE, WHEEL_BUNDLE] {
        let bundle = parse_bundle(bytes).unwrap();
        let subject = match content(&bundle).unwrap() {
            Content::Dsse { payload, .. } => subject_of(payload),
            Content::MessageDigest(digest) => digest.unwrap().try_into().unwrap(),
        };
        let signer = verify_keyless(&root, &bundle, Subject::Sha256(subject), &any).unwrap();
        assert!(
            signer.identity.starts_with("https://github.com/"),
            "{signer:?}"
        );
        // Its own identity, exactly, verifies; another subject or issuer does not.
        verify_keyless(
            &root,
            &bundle,
            Subject::Sha256(subject),
            &exact(&signer.identity, GITHUB_ISSUER),
        )
        .unwrap();
        let e = verify_keyless(&root, &bundle, Subject::Sha256([7; 32]), &any).unwrap_err();
        assert_eq!(e.code(), "artifact-mismatch", "{e}");
        let google = exact(&signer.identity, "https://accounts.google.com");
        let e = verify_keyless(&root, &bundle, Subject::Sha256(subject), &google).unwrap_err();
        assert!(
            matches!(e, Failure::IdentityMismatch { ref found_issuer, .. } if found_issuer == GITHUB_ISSUER),
            "{e}"
        );
    }
}

#[test]
fn legacy_keyless_signatures_become_bundles_the_library_verifies() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let signer = legacy(&pki, &root, &SignOpts::default(), |_| {}).unwrap();
    assert_eq!(signer.identity, ts::DEFAULT_IDENTITY);
    assert_eq!(signer.issuer, ts::GITHUB_ISSUER);
    // The chain annotation's root is left out; the intermediate is needed when the
    // trusted root lists only the root CA, and suffices then.
    let root_only = TrustRoot::from_bytes(
        RootSource::Embedded,
        pki.trusted_root_with(false, true).as_bytes(),
    )
    .unwrap();
    legacy(&pki, &root_only, &SignOpts::default(), |_| {}).unwrap();
    let e = legacy(&pki, &root_only, &SignOpts::default(), |a| {
        a.chain_pem.clear()
    })
    .unwrap_err();
    assert_eq!(e.code(), "certificate-untrusted", "{e}");
    // Without the chain annotation the trusted intermediate is found in the root.
    legacy(&pki, &root, &SignOpts::default(), |a| a.chain_pem.clear()).unwrap();
}

/// No Rekor annotation: no log entry, no signing time; v0.1 requires the SET.
#[test]
fn a_legacy_signature_without_its_rekor_annotation_fails_closed() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let e = legacy(&pki, &root, &SignOpts::default(), |a| a.bundle_json.clear()).unwrap_err();
    assert_eq!(e.code(), "tlog-entry-invalid", "{e}");
}

#[test]
fn legacy_signatures_that_do_not_hold_are_refused_with_their_code() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let cases: Vec<(SignOpts, &str)> = vec![
        (
            SignOpts {
                integrated_time: ts::T0 + 660,
                ..SignOpts::default()
            },
            "certificate-not-valid-at-signing-time",
        ),
        (
            SignOpts {
                set_key: SetKey::Other,
                ..SignOpts::default()
            },
            "tlog-entry-invalid",
        ),
        (
            SignOpts {
                body_with_other_signature: true,
                ..SignOpts::default()
            },
            "tlog-entry-invalid",
        ),
        (
            SignOpts {
                sct: SctMode::BadSignature,
                ..SignOpts::default()
            },
            "sct-invalid",
        ),
        (
            SignOpts {
                sct: SctMode::Missing,
                ..SignOpts::default()
            },
            "sct-invalid",
        ),
        (
            SignOpts {
                rogue_issuer: true,
                ..SignOpts::default()
            },
            "certificate-untrusted",
        ),
    ];
    for (opts, code) in cases {
        let e = legacy(&pki, &root, &opts, |_| {}).unwrap_err();
        assert_eq!(e.code(), code, "{opts:?}: {e}");
    }
    // A payload changed after signing.
    let mut a = pki.legacy_signature(PAYLOAD, &SignOpts::default());
    a.signature_b64 = pki
        .legacy_signature(b"other", &SignOpts::default())
        .signature_b64;
    let annotations = legacy::Annotations {
        signer: legacy::Signer::Certificate(&a.certificate_pem),
        chain_pem: Some(&a.chain_pem),
        rekor_bundle: Some(&a.bundle_json),
    };
    let bundle = legacy::signature_bundle(PAYLOAD, &a.signature_b64, &annotations).unwrap();
    let e = verify_keyless(&root, &bundle, Subject::Bytes(PAYLOAD), &default_policy()).unwrap_err();
    assert!(
        matches!(
            e,
            Failure::SignatureInvalid(_) | Failure::TlogEntryInvalid(_)
        ),
        "{e}"
    );
}

#[test]
fn another_trusted_root_does_not_trust_our_signatures() {
    let pki = Pki::new();
    let stranger = root_of(&Pki::new());
    assert!(legacy(&pki, &stranger, &SignOpts::default(), |_| {}).is_err());
    assert!(message(&pki, &stranger, &SignOpts::default(), &default_policy()).is_err());
    let public_good = TrustRoot::embedded().unwrap();
    assert!(message(&pki, &public_good, &SignOpts::default(), &default_policy()).is_err());
}

#[test]
fn identities_are_matched_exactly_or_by_anchored_regex_after_verification() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let opts = SignOpts::default();
    message(&pki, &root, &opts, &default_policy()).unwrap();
    let regex = |identity: &str, issuer: &str| {
        IdentityPolicy::new(
            Matcher::regex(identity).unwrap(),
            Matcher::regex(issuer).unwrap(),
        )
    };
    message(
        &pki,
        &root,
        &opts,
        &regex(r"https://github\.com/acme/.*", r"https://token\..*"),
    )
    .unwrap();
    for (identity, issuer) in [
        ("acme/app", ".*"),
        (r"https://github\.com/acme/", ".*"),
        (".*", "token.actions"),
    ] {
        let e = message(&pki, &root, &opts, &regex(identity, issuer)).unwrap_err();
        assert_eq!(
            e.code(),
            "signature-identity-mismatch",
            "{identity} {issuer}: {e}"
        );
    }
    let e = message(
        &pki,
        &root,
        &opts,
        &exact(ts::DEFAULT_IDENTITY, "https://accounts.google.com"),
    )
    .unwrap_err();
    assert!(
        matches!(e, Failure::IdentityMismatch { ref found_identity, .. } if found_identity == ts::DEFAULT_IDENTITY),
        "{e}"
    );
    // Email SANs and the legacy (…57264.1.1) issuer extension are read by the library.
    let email = SignOpts {
        identity: Identity::Email("dev@acme.example".into()),
        legacy_issuer_extension: true,
        ..SignOpts::default()
    };
    message(
        &pki,
        &root,
        &email,
        &exact("dev@acme.example", ts::GITHUB_ISSUER),
    )
    .unwrap();
}

/// sigstore-verify reads URI and email SANs only: a Fulcio username (otherName) identity
/// has no identity to match, so no policy accepts it.
#[test]
fn a_username_identity_matches_no_policy() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let opts = SignOpts {
        identity: Identity::Username("dev".into()),
        ..SignOpts::default()
    };
    let e = message(&pki, &root, &opts, &exact("dev", ts::GITHUB_ISSUER)).unwrap_err();
    assert!(
        matches!(e, Failure::IdentityMismatch { ref found_identity, .. } if found_identity.is_empty()),
        "{e}"
    );
    let any = IdentityPolicy::new(Matcher::regex(".+").unwrap(), Matcher::regex(".*").unwrap());
    assert!(message(&pki, &root, &opts, &any).is_err());
}

/// Regressions: shapes the hand-written verifier accepted.
#[test]
fn bundle_shapes_the_specification_forbids_are_refused() {
    let pki = Pki::new();
    let root = root_of(&pki);
    // From v0.2 on an inclusion proof is required; a SET is only a promise.
    for version in [BundleVersion::V02, BundleVersion::V03] {
        let opts = SignOpts {
            version,
            inclusion_proof: false,
            ..SignOpts::default()
        };
        let e = message(&pki, &root, &opts, &default_policy()).unwrap_err();
        assert_eq!(e.code(), "tlog-entry-invalid", "{version:?}: {e}");
    }
    // v0.1 may rely on the SET alone (cosign's legacy signatures do).
    let v01 = SignOpts {
        version: BundleVersion::V01,
        inclusion_proof: false,
        ..SignOpts::default()
    };
    message(&pki, &root, &v01, &default_policy()).unwrap();
    // A root certificate appended to x509CertificateChain (sigstore-verify accepts it; vouch
    // refuses it before the library runs).
    let with_root = SignOpts {
        version: BundleVersion::V02,
        chain: ChainMode::WithRoot,
        ..SignOpts::default()
    };
    let e = message(&pki, &root, &with_root, &default_policy()).unwrap_err();
    assert!(e.to_string().contains("is a root certificate"), "{e}");
    let with_intermediate = SignOpts {
        chain: ChainMode::WithIntermediate,
        ..with_root
    };
    message(&pki, &root, &with_intermediate, &default_policy()).unwrap();
    // x509CertificateChain in a v0.3 bundle.
    let chain_v03 = SignOpts {
        version: BundleVersion::V03,
        chain: ChainMode::WithIntermediate,
        ..SignOpts::default()
    };
    let e = message(&pki, &root, &chain_v03, &default_policy()).unwrap_err();
    assert_eq!(e.code(), "signature-malformed", "{e}");
    // No log entry at all.
    let none = SignOpts {
        tlog_entry: false,
        ..SignOpts::default()
    };
    assert!(message(&pki, &root, &none, &default_policy()).is_err());
}

#[test]
fn a_tampered_inclusion_proof_or_checkpoint_is_refused() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let json = pki.bundle_v03_message(b"artifact", &SignOpts::default());
    let flip = |v: &mut Value| {
        let h = v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0]
            .as_str()
            .unwrap()
            .to_string();
        let first = if h.starts_with('A') { "B" } else { "A" };
        let flipped = format!("{first}{}", &h[1..]);
        v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] = flipped.into();
    };
    let bundle = edit_bundle(&json, flip);
    let e = verify_keyless(
        &root,
        &bundle,
        Subject::Bytes(b"artifact"),
        &default_policy(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "tlog-entry-invalid", "{e}");
    let bundle = edit_bundle(&json, |v| {
        let cp = &mut v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"];
        *cp = cp.as_str().unwrap().replace("\n7\n", "\n8\n").into();
    });
    let e = verify_keyless(
        &root,
        &bundle,
        Subject::Bytes(b"artifact"),
        &default_policy(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "tlog-entry-invalid", "{e}");
}

#[test]
fn bundles_that_cannot_be_read_say_what_was_expected() {
    let cases: [(&[u8], &str); 5] = [
        (b"{\"mediaType\": ", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=9"}"#,
            "unknown bundle mediaType",
        ),
        (br#"{"mediaType":7}"#, "no mediaType"),
        (
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
            "not a Sigstore bundle",
        ),
    ];
    for (bytes, want) in cases {
        let e = parse_bundle(bytes).unwrap_err().to_string();
        assert!(e.contains(want), "{}: {e}", String::from_utf8_lossy(bytes));
    }
    // An RFC 3161 timestamp that is not even DER.
    let pki = Pki::new();
    let mut v: Value =
        serde_json::from_str(&pki.bundle_v03_message(b"a", &SignOpts::default())).unwrap();
    v["verificationMaterial"]["timestampVerificationData"] =
        serde_json::json!({"rfc3161Timestamps": [{"signedTimestamp": b64(b"\x30\x05ab")}]});
    let e = parse_bundle(v.to_string().as_bytes()).unwrap_err();
    assert!(matches!(e, BundleError::Timestamp { index: 0, .. }), "{e}");
}

#[test]
fn keyed_and_keyless_bundles_are_not_mistaken_for_each_other() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let bundle = parse_bundle(
        pki.bundle_v03_message(b"a", &SignOpts::default())
            .as_bytes(),
    )
    .unwrap();
    assert!(!is_keyed(&bundle) && has_signing_time_evidence(&bundle));
    let e = verify_with_key(
        &root,
        &bundle,
        Subject::Bytes(b"a"),
        &pki.other.spki_der(),
        Tlog::Required,
    )
    .unwrap_err();
    assert!(e.to_string().contains("keyless"), "{e}");
}

/// Issue 14 item 5: a keyed legacy `.sig` layer is verified with its Rekor entry by the
/// library, and without an entry it does not count unless the log is ignored.
#[test]
fn a_keyed_legacy_signature_needs_its_log_entry() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let key = testsupport::TestKey::generate();
    let payload = b"simple signing payload";
    let a = pki.legacy_keyed_signature(payload, &key, &SignOpts::default());
    let with_entry = legacy::Annotations {
        signer: legacy::Signer::Key,
        chain_pem: None,
        rekor_bundle: Some(&a.bundle_json),
    };
    let bundle = legacy::signature_bundle(payload, &a.signature_b64, &with_entry).unwrap();
    let spki = key.spki_der();
    verify_with_key(
        &root,
        &bundle,
        Subject::Bytes(payload),
        &spki,
        Tlog::Required,
    )
    .unwrap();
    // Another key: the signature does not verify, log or not.
    let other = pki.other.spki_der();
    for tlog in [Tlog::Required, Tlog::Ignored] {
        verify_with_key(&root, &bundle, Subject::Bytes(payload), &other, tlog).unwrap_err();
    }
    // Another payload: the entry and signature are over this one.
    verify_with_key(&root, &bundle, Subject::Bytes(b"x"), &spki, Tlog::Required).unwrap_err();

    let without = legacy::Annotations {
        rekor_bundle: None,
        ..with_entry
    };
    let bundle = legacy::signature_bundle(payload, &a.signature_b64, &without).unwrap();
    let e = verify_with_key(
        &root,
        &bundle,
        Subject::Bytes(payload),
        &spki,
        Tlog::Required,
    )
    .unwrap_err();
    assert_eq!(e.code(), "tlog-entry-invalid");
    assert!(e.to_string().contains("no transparency-log entry"), "{e}");
}

#[test]
fn a_root_without_the_rekor_v1_start_is_refused() {
    let pki = Pki::new();
    let json = pki.trusted_root_opts(RootOpts {
        tlog_start: false,
        ..RootOpts::default()
    });
    let e = TrustRoot::from_bytes(RootSource::File("r.json".into()), json.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("start"), "{e}");
}

#[test]
fn failure_codes_are_unique_kebab_case() {
    let mut seen = std::collections::BTreeSet::new();
    for code in Failure::CODES {
        assert!(seen.insert(*code), "{code} twice");
        assert!(
            code.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{code}"
        );
    }
    let all = [
        Failure::SignatureInvalid(String::new()),
        Failure::IdentityMismatch {
            found_identity: String::new(),
            found_issuer: String::new(),
            expected_identity: String::new(),
            expected_issuer: String::new(),
            claims: Vec::new(),
        },
        Failure::ClaimMismatch {
            identity: String::new(),
            issuer: String::new(),
            claims: Vec::new(),
        },
        Failure::CertificateUntrusted(String::new()),
        Failure::CertificateNotValidAtSigningTime(String::new()),
        Failure::TlogEntryInvalid(String::new()),
        Failure::TimestampInvalid(String::new()),
        Failure::SctInvalid(String::new()),
        Failure::ArtifactMismatch(String::new()),
        Failure::Malformed(String::new()),
    ];
    let codes: Vec<&str> = all.iter().map(Failure::code).collect();
    assert_eq!(codes, Failure::CODES);
}

fn github_policy(edit: impl FnOnce(&mut crate::verify::KeylessPolicy)) -> IdentityPolicy {
    let mut k = crate::verify::KeylessPolicy {
        github_workflow: Some("acme/app/.github/workflows/release.yml".into()),
        source_ref: Some("refs/tags/v*".into()),
        ..Default::default()
    };
    edit(&mut k);
    IdentityPolicy::from_keyless(&k).unwrap()
}

fn claim<'a>(claims: &'a [ClaimCheck], name: &str) -> &'a ClaimCheck {
    claims
        .iter()
        .find(|c| c.claim == name)
        .unwrap_or_else(|| panic!("no {name} in {claims:?}"))
}

/// A certificate as Fulcio issues it to a GitHub Actions run on a tag verifies with only
/// the workflow and a ref glob; every claim checked is returned with where it was read.
#[test]
fn a_github_certificate_verifies_by_workflow_and_ref_glob_and_lists_its_claims() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let run = ts::GitHubRun::release();
    let signer = message(&pki, &root, &run.sign_opts(), &github_policy(|_| {})).unwrap();
    assert_eq!(signer.identity, run.identity());
    let names: Vec<_> = signer
        .claims
        .iter()
        .map(|c| (c.claim, c.oid.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("identity", "2.5.29.17"),
            ("issuer", "1.3.6.1.4.1.57264.1.8"),
            ("source-repository-ref", "1.3.6.1.4.1.57264.1.14"),
            ("github-workflow-ref", "1.3.6.1.4.1.57264.1.6"),
        ]
    );
    assert!(
        signer.claims.iter().all(|c| c.matched),
        "{:?}",
        signer.claims
    );
    let r = claim(&signer.claims, "source-repository-ref");
    assert_eq!((r.kind, r.expected.as_str()), ("glob", "refs/tags/v*"));
    assert_eq!(r.found.as_deref(), Some("refs/tags/v1.2.3"));

    // Every other claim by name, and the repository in both spellings.
    let policy = github_policy(|k| {
        k.repository = Some("acme/app".into());
        k.workflow_sha = Some(run.sha.clone());
        k.workflow_trigger = Some("push".into());
        k.workflow_name = Some("Release".into());
        k.extensions = vec![
            ("runner-environment".into(), "github-hosted".into()),
            ("build-signer-uri".into(), run.identity()),
            (
                "source-repository-owner-uri".into(),
                "https://github.com/acme".into(),
            ),
        ];
    });
    let signer = message(&pki, &root, &run.sign_opts(), &policy).unwrap();
    for (name, found) in [
        ("source-repository-uri", "https://github.com/acme/app"),
        ("github-workflow-repository", "acme/app"),
        ("source-repository-digest", run.sha.as_str()),
        ("github-workflow-sha", run.sha.as_str()),
        ("build-trigger", "push"),
        ("github-workflow-trigger", "push"),
        ("github-workflow-name", "Release"),
        ("runner-environment", "github-hosted"),
        ("source-repository-owner-uri", "https://github.com/acme"),
    ] {
        let c = claim(&signer.claims, name);
        assert!(c.matched && c.found.as_deref() == Some(found), "{c:?}");
    }
}

#[test]
fn another_ref_repository_or_extension_value_is_a_mismatch_naming_the_claim() {
    let pki = Pki::new();
    let root = root_of(&pki);
    // Run on a branch: the SAN's @ref already is not a tag.
    let branch = ts::GitHubRun {
        workflow: "acme/app/.github/workflows/release.yml@refs/heads/main".into(),
        git_ref: "refs/heads/main".into(),
        ..ts::GitHubRun::release()
    };
    let e = message(&pki, &root, &branch.sign_opts(), &github_policy(|_| {})).unwrap_err();
    assert_eq!(e.code(), "signature-identity-mismatch", "{e}");
    assert!(!claim(e.claims(), "identity").matched);
    assert!(!claim(e.claims(), "source-repository-ref").matched);

    let run = ts::GitHubRun::release();
    let wrong = [
        github_policy(|k| k.repository = Some("acme/other".into())),
        github_policy(|k| k.source_ref = Some("refs/tags/v2*".into())),
        github_policy(|k| k.extensions = vec![("runner-environment".into(), "self-hosted".into())]),
    ];
    let e = message(&pki, &root, &run.sign_opts(), &wrong[0]).unwrap_err();
    assert_eq!(e.code(), "signature-claim-mismatch", "{e}");
    assert!(
        e.to_string().contains(
            "source-repository-uri (1.3.6.1.4.1.57264.1.12) is \"https://github.com/acme/app\", policy wants \"https://github.com/acme/other\""
        ),
        "{e}"
    );
    assert!(e.to_string().contains("github-workflow-repository"), "{e}");
    // The SAN's @ref fails too here (the ref derives it).
    let e = message(&pki, &root, &run.sign_opts(), &wrong[1]).unwrap_err();
    assert_eq!(e.code(), "signature-identity-mismatch", "{e}");
    let e = message(&pki, &root, &run.sign_opts(), &wrong[2]).unwrap_err();
    assert_eq!(e.code(), "signature-claim-mismatch", "{e}");
    assert!(e.to_string().contains("runner-environment"), "{e}");
    // Problems carry the claims to the reports.
    let problem = crate::verify::trust::Problem::from(e);
    assert!(
        problem.identity_mismatch && problem.claims.len() == 5,
        "{problem:?}"
    );
}

/// A reusable workflow: the SAN names the shared workflow at its own ref, the source
/// extensions the caller's repository and tag.
#[test]
fn a_reusable_workflow_is_pinned_by_its_own_ref_and_the_callers_repository() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let run = ts::GitHubRun {
        workflow: "acme/shared/.github/workflows/build.yml@refs/heads/main".into(),
        ..ts::GitHubRun::release()
    };
    let policy = |workflow: &str, repository: &str| {
        github_policy(|k| {
            k.github_workflow = Some(workflow.into());
            k.repository = Some(repository.into());
        })
    };
    let shared = "acme/shared/.github/workflows/build.yml@refs/heads/main";
    message(&pki, &root, &run.sign_opts(), &policy(shared, "acme/app")).unwrap();
    // Another caller, or the shared workflow's repository as the source: refused.
    let e = message(
        &pki,
        &root,
        &run.sign_opts(),
        &policy(shared, "acme/shared"),
    )
    .unwrap_err();
    assert_eq!(e.code(), "signature-claim-mismatch", "{e}");
    // Without its @REF, the workflow's ref is the caller's tag glob: the SAN says main.
    let e = message(
        &pki,
        &root,
        &run.sign_opts(),
        &policy("acme/shared/.github/workflows/build.yml", "acme/app"),
    )
    .unwrap_err();
    assert_eq!(e.code(), "signature-identity-mismatch", "{e}");
}

#[test]
fn an_absent_claim_is_a_mismatch_and_a_malformed_or_doubled_one_a_failure() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let run = ts::GitHubRun::release();
    // Only the deprecated extensions (older certificates): they are read instead.
    let old = SignOpts {
        extensions: run
            .sign_opts()
            .extensions
            .into_iter()
            .filter(|(n, _)| *n <= 6)
            .collect(),
        ..run.sign_opts()
    };
    let signer = message(
        &pki,
        &root,
        &old,
        &github_policy(|k| k.repository = Some("acme/app".into())),
    )
    .unwrap();
    assert_eq!(
        signer.claims.iter().map(|c| c.claim).collect::<Vec<_>>(),
        [
            "identity",
            "issuer",
            "github-workflow-ref",
            "github-workflow-repository"
        ]
    );
    // A claim the certificate does not carry at all.
    let e = message(
        &pki,
        &root,
        &old,
        &github_policy(|k| {
            k.extensions = vec![("runner-environment".into(), "github-hosted".into())]
        }),
    )
    .unwrap_err();
    assert_eq!(e.code(), "signature-claim-mismatch", "{e}");
    assert!(
        e.to_string()
            .contains("runner-environment (1.3.6.1.4.1.57264.1.11) is absent"),
        "{e}"
    );
    // No ref extension at all: the ref cannot be checked, so it does not match.
    let bare = SignOpts {
        extensions: Vec::new(),
        ..run.sign_opts()
    };
    let e = message(&pki, &root, &bare, &github_policy(|_| {})).unwrap_err();
    assert_eq!(e.code(), "signature-claim-mismatch", "{e}");

    // `.14` as a bare string, not DER: the library cannot read it, vouch says so.
    let mut malformed = run.sign_opts();
    for (n, content) in &mut malformed.extensions {
        if *n == 14 {
            *content = b"refs/tags/v1.2.3".to_vec();
        }
    }
    let e = message(&pki, &root, &malformed, &github_policy(|_| {})).unwrap_err();
    assert_eq!(e.code(), "signature-malformed", "{e}");
    assert!(
        e.to_string().contains(
            "source-repository-ref extension (1.3.6.1.4.1.57264.1.14) is not a DER UTF8String"
        ),
        "{e}"
    );
    // A claim the policy does not ask for may be malformed: it is not read.
    let mut other = run.sign_opts();
    other.extensions.push((22, vec![0xff]));
    message(&pki, &root, &other, &github_policy(|_| {})).unwrap();
    // Twice, with two values: which one counts is not vouch's to guess.
    let mut doubled = run.sign_opts();
    doubled.extensions.push((11, ts::der_utf8("self-hosted")));
    let e = message(
        &pki,
        &root,
        &doubled,
        &github_policy(|k| {
            k.extensions = vec![("runner-environment".into(), "github-hosted".into())]
        }),
    );
    // The library takes the last one without complaint; vouch refuses the certificate.
    let e = e.unwrap_err();
    assert_eq!(e.code(), "signature-malformed", "{e}");
    assert!(
        e.to_string()
            .contains("(1.3.6.1.4.1.57264.1.11) appears 2 times"),
        "{e}"
    );
}

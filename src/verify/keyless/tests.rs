//! Verification tests. The real public-good material is in `fixtures/sigstore/`; everything
//! else comes from the self-made test signer (`tests/support/sigstore_signer.rs`).

use super::*;

const PUBLIC_GOOD_ROOT: &[u8] =
    include_bytes!("../../../fixtures/sigstore/trusted-root-public-good.json");
const NPM_BUNDLE: &[u8] =
    include_bytes!("../../../fixtures/sigstore/npm-sigstore-3.1.0.sigstore.json");
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
    assert_eq!(
        signer.signed_at,
        Timestamp::from_second(1738701347).unwrap()
    );
    let BundleContent::Dsse {
        payload_type,
        payload,
    } = content
    else {
        panic!("expected DSSE content");
    };
    assert_eq!(payload_type, "application/vnd.in-toto+json");
    assert!(
        String::from_utf8(payload)
            .unwrap()
            .contains("pkg:npm/sigstore@3.1.0")
    );
}

#[test]
fn real_bundle_with_another_identity_is_an_identity_mismatch() {
    let root = TrustedRoot::from_json(PUBLIC_GOOD_ROOT).unwrap();
    let policy = IdentityPolicy {
        identity: Matcher::regex("https://github.com/sigstore/.*").unwrap(),
        issuer: Matcher::Exact("https://accounts.google.com".into()),
    };
    let e = verify_bundle(NPM_BUNDLE, &root, &policy).unwrap_err();
    assert!(
        matches!(e, Failure::IdentityMismatch { ref found_issuer, .. } if found_issuer == GITHUB_ISSUER),
        "{e}"
    );
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

// ---- self-made Sigstore (tests/support/sigstore_signer.rs) ----

use super::testsupport::{self as ts, Identity, Pki, SctMode, SetKey, SignOpts};
use serde_json::Value;

const PAYLOAD: &[u8] = br#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/app"},"image":{"docker-manifest-digest":"sha256:aaaa"},"type":"cosign container image signature"},"optional":null}"#;

fn default_policy() -> IdentityPolicy {
    exact(ts::DEFAULT_IDENTITY, ts::GITHUB_ISSUER)
}

fn root_of(pki: &Pki) -> TrustedRoot {
    TrustedRoot::from_json(pki.trusted_root_json().as_bytes()).unwrap()
}

fn legacy(
    pki: &Pki,
    opts: &SignOpts,
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<Signer, Failure> {
    let a = pki.legacy_signature(PAYLOAD, opts);
    verify_legacy_signature(
        PAYLOAD,
        &a.signature_b64,
        &a.certificate_pem,
        Some(&a.chain_pem),
        Some(&a.bundle_json),
        root,
        policy,
    )
}

fn message_bundle(pki: &Pki, opts: &SignOpts) -> String {
    pki.bundle_v03_message(b"an artifact", opts)
}

fn edit(json: &str, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(json).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn legacy_keyless_signature_verifies() {
    let pki = Pki::new();
    let s = legacy(
        &pki,
        &SignOpts::default(),
        &root_of(&pki),
        &default_policy(),
    )
    .unwrap();
    assert_eq!(s.identity, ts::DEFAULT_IDENTITY);
    assert_eq!(s.issuer, ts::GITHUB_ISSUER);
    assert_eq!(s.signed_at, Timestamp::from_second(ts::T0 + 60).unwrap());
    assert!(s.cert_fingerprint.starts_with("sha256:") && s.cert_fingerprint.len() == 71);
}

#[test]
fn legacy_signature_without_chain_annotation_uses_the_trusted_intermediate() {
    let pki = Pki::new();
    let a = pki.legacy_signature(PAYLOAD, &SignOpts::default());
    let s = verify_legacy_signature(
        PAYLOAD,
        &a.signature_b64,
        &a.certificate_pem,
        None,
        Some(&a.bundle_json),
        &root_of(&pki),
        &default_policy(),
    );
    assert!(s.is_ok(), "{s:?}");
}

#[test]
fn v03_message_signature_bundle_verifies_and_returns_the_digest() {
    let pki = Pki::new();
    let bundle = message_bundle(&pki, &SignOpts::default());
    let (s, content) = verify_bundle(bundle.as_bytes(), &root_of(&pki), &default_policy()).unwrap();
    assert_eq!(s.identity, ts::DEFAULT_IDENTITY);
    let expected = <sha2::Sha256 as sha2::Digest>::digest(b"an artifact").to_vec();
    assert_eq!(
        content,
        BundleContent::MessageDigest {
            algorithm: "SHA2_256".into(),
            digest: expected
        }
    );
}

#[test]
fn v03_dsse_bundle_verifies_and_returns_the_statement() {
    let pki = Pki::new();
    let stmt = ts::in_toto_statement("127.0.0.1:5000/app", &"ab".repeat(32));
    let bundle = pki.bundle_v03_dsse("application/vnd.in-toto+json", &stmt, &SignOpts::default());
    let (_, content) = verify_bundle(bundle.as_bytes(), &root_of(&pki), &default_policy()).unwrap();
    assert_eq!(
        content,
        BundleContent::Dsse {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: stmt
        }
    );
}

#[test]
fn bundle_without_inclusion_proof_still_needs_and_accepts_the_set() {
    let pki = Pki::new();
    let opts = SignOpts {
        inclusion_proof: false,
        ..SignOpts::default()
    };
    assert!(
        verify_bundle(
            message_bundle(&pki, &opts).as_bytes(),
            &root_of(&pki),
            &default_policy()
        )
        .is_ok()
    );
}

#[test]
fn identity_mismatch_exact_and_regex() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let other = exact(
        "https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main",
        ts::GITHUB_ISSUER,
    );
    let e = legacy(&pki, &SignOpts::default(), &root, &other).unwrap_err();
    let Failure::IdentityMismatch {
        found_identity,
        found_issuer,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(found_identity, ts::DEFAULT_IDENTITY);
    assert_eq!(found_issuer, ts::GITHUB_ISSUER);
    assert_eq!(e.code(), "signature-identity-mismatch");
    let re = IdentityPolicy {
        identity: Matcher::regex("https://github.com/other-org/.*").unwrap(),
        issuer: Matcher::Exact(ts::GITHUB_ISSUER.into()),
    };
    assert!(matches!(
        legacy(&pki, &SignOpts::default(), &root, &re),
        Err(Failure::IdentityMismatch { .. })
    ));
    let ok = IdentityPolicy {
        identity: Matcher::regex("https://github.com/acme/.*@refs/heads/main").unwrap(),
        issuer: Matcher::regex(r"https://token\.actions\.githubusercontent\.com").unwrap(),
    };
    assert!(legacy(&pki, &SignOpts::default(), &root, &ok).is_ok());
}

#[test]
fn a_regex_that_matches_only_unanchored_is_refused() {
    // cosign's regexp would accept both: a substring match is enough there.
    let pki = Pki::new();
    let root = root_of(&pki);
    for (pattern, issuer) in [
        (
            "github.com/acme/app",
            r"https://token\.actions\.githubusercontent\.com",
        ),
        ("https://github.com/acme/.*", "token.actions"),
    ] {
        let p = IdentityPolicy {
            identity: Matcher::regex(pattern).unwrap(),
            issuer: Matcher::regex(issuer).unwrap(),
        };
        let e = legacy(&pki, &SignOpts::default(), &root, &p).unwrap_err();
        assert!(
            matches!(e, Failure::IdentityMismatch { .. }),
            "{pattern}: {e:?}"
        );
    }
    // An alternation cannot escape the anchors either.
    let alt = IdentityPolicy {
        identity: Matcher::regex("nobody|.*acme.*x").unwrap(),
        issuer: Matcher::Exact(ts::GITHUB_ISSUER.into()),
    };
    assert!(legacy(&pki, &SignOpts::default(), &root, &alt).is_err());
}

#[test]
fn issuer_mismatch() {
    let pki = Pki::new();
    let p = exact(ts::DEFAULT_IDENTITY, "https://accounts.google.com");
    assert!(matches!(
        legacy(&pki, &SignOpts::default(), &root_of(&pki), &p),
        Err(Failure::IdentityMismatch { .. })
    ));
}

#[test]
fn email_and_username_identities_and_the_legacy_issuer_extension() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let email = SignOpts {
        identity: Identity::Email("dev@example.com".into()),
        oidc_issuer: "https://accounts.google.com".into(),
        legacy_issuer_extension: true,
        ..SignOpts::default()
    };
    let s = legacy(
        &pki,
        &email,
        &root,
        &exact("dev@example.com", "https://accounts.google.com"),
    )
    .unwrap();
    assert_eq!(s.issuer, "https://accounts.google.com");
    let user = SignOpts {
        identity: Identity::Username("octocat".into()),
        ..SignOpts::default()
    };
    assert_eq!(
        legacy(&pki, &user, &root, &exact("octocat", ts::GITHUB_ISSUER))
            .unwrap()
            .identity,
        "octocat"
    );
}

#[test]
fn signing_time_outside_the_leaf_validity_is_refused() {
    let pki = Pki::new();
    let root = root_of(&pki);
    for t in [ts::T0 + 601, ts::T0 - 1] {
        let opts = SignOpts {
            integrated_time: t,
            ..SignOpts::default()
        };
        let e = legacy(&pki, &opts, &root, &default_policy()).unwrap_err();
        assert!(
            matches!(e, Failure::CertificateNotValidAtSigningTime(_)),
            "{e:?}"
        );
        let e = verify_bundle(
            message_bundle(&pki, &opts).as_bytes(),
            &root,
            &default_policy(),
        )
        .unwrap_err();
        assert!(
            matches!(e, Failure::CertificateNotValidAtSigningTime(_)),
            "{e:?}"
        );
    }
}

#[test]
fn another_trusted_root_does_not_trust_our_signatures() {
    let pki = Pki::new();
    let stranger = Pki::new();
    // Entirely another root: the log is unknown.
    let e = legacy(
        &pki,
        &SignOpts::default(),
        &root_of(&stranger),
        &default_policy(),
    )
    .unwrap_err();
    assert!(matches!(e, Failure::TlogEntryInvalid(_)), "{e:?}");
    // Same logs, another CA: the certificate is untrusted.
    let mut mixed: Value = serde_json::from_str(&stranger.trusted_root_json()).unwrap();
    let ours: Value = serde_json::from_str(&pki.trusted_root_json()).unwrap();
    mixed["tlogs"] = ours["tlogs"].clone();
    mixed["ctlogs"] = ours["ctlogs"].clone();
    let mixed = TrustedRoot::from_json(&serde_json::to_vec(&mixed).unwrap()).unwrap();
    let e = legacy(&pki, &SignOpts::default(), &mixed, &default_policy()).unwrap_err();
    assert!(matches!(e, Failure::CertificateUntrusted(_)), "{e:?}");
    assert_eq!(e.code(), "certificate-untrusted");
}

#[test]
fn chain_broken_or_completed_by_the_chain_annotation() {
    let pki = Pki::new();
    let root_only = TrustedRoot::from_json(pki.trusted_root_with(false, true).as_bytes()).unwrap();
    let a = pki.legacy_signature(PAYLOAD, &SignOpts::default());
    let run = |chain: Option<&str>, root: &TrustedRoot| {
        verify_legacy_signature(
            PAYLOAD,
            &a.signature_b64,
            &a.certificate_pem,
            chain,
            Some(&a.bundle_json),
            root,
            &default_policy(),
        )
    };
    assert!(run(Some(&a.chain_pem), &root_only).is_ok());
    assert!(matches!(
        run(None, &root_only),
        Err(Failure::CertificateUntrusted(_))
    ));
    // A leaf from an intermediate of the same name but another key, chain supplied.
    let rogue = SignOpts {
        rogue_issuer: true,
        ..SignOpts::default()
    };
    let r = pki.legacy_signature(PAYLOAD, &rogue);
    let e = verify_legacy_signature(
        PAYLOAD,
        &r.signature_b64,
        &r.certificate_pem,
        Some(&r.chain_pem),
        Some(&r.bundle_json),
        &root_of(&pki),
        &default_policy(),
    )
    .unwrap_err();
    assert!(matches!(e, Failure::CertificateUntrusted(_)), "{e:?}");
}

#[test]
fn tampered_payload_is_signature_invalid() {
    let pki = Pki::new();
    let a = pki.legacy_signature(PAYLOAD, &SignOpts::default());
    let mut tampered = PAYLOAD.to_vec();
    tampered[10] ^= 1;
    let e = verify_legacy_signature(
        &tampered,
        &a.signature_b64,
        &a.certificate_pem,
        Some(&a.chain_pem),
        Some(&a.bundle_json),
        &root_of(&pki),
        &default_policy(),
    )
    .unwrap_err();
    assert!(matches!(e, Failure::SignatureInvalid(_)), "{e:?}");
    // Bundle: a digest the signature does not cover.
    let b = message_bundle(&pki, &SignOpts::default());
    let b = edit(&b, |v| {
        v["messageSignature"]["messageDigest"]["digest"] = Value::String(ts_b64(&[7u8; 32]))
    });
    assert!(matches!(
        verify_bundle(&b, &root_of(&pki), &default_policy()),
        Err(Failure::SignatureInvalid(_))
    ));
    // DSSE: a payload the signature does not cover.
    let d = pki.bundle_v03_dsse("application/vnd.in-toto+json", b"{}", &SignOpts::default());
    let d = edit(&d, |v| {
        v["dsseEnvelope"]["payload"] = Value::String(ts_b64(b"{ }"))
    });
    assert!(matches!(
        verify_bundle(&d, &root_of(&pki), &default_policy()),
        Err(Failure::SignatureInvalid(_))
    ));
}

fn ts_b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

#[test]
fn set_signed_by_another_key_is_refused() {
    let pki = Pki::new();
    let opts = SignOpts {
        set_key: SetKey::Other,
        ..SignOpts::default()
    };
    let e = legacy(&pki, &opts, &root_of(&pki), &default_policy()).unwrap_err();
    assert!(matches!(e, Failure::TlogEntryInvalid(_)), "{e:?}");
    assert!(matches!(
        verify_bundle(
            message_bundle(&pki, &opts).as_bytes(),
            &root_of(&pki),
            &default_policy()
        ),
        Err(Failure::TlogEntryInvalid(_))
    ));
}

#[test]
fn a_log_entry_for_another_signature_is_refused() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let opts = SignOpts {
        body_with_other_signature: true,
        ..SignOpts::default()
    };
    let e = legacy(&pki, &opts, &root, &default_policy()).unwrap_err();
    assert!(
        matches!(e, Failure::TlogEntryInvalid(ref m) if m.contains("different signature")),
        "{e:?}"
    );
    assert!(matches!(
        verify_bundle(
            message_bundle(&pki, &opts).as_bytes(),
            &root,
            &default_policy()
        ),
        Err(Failure::TlogEntryInvalid(_))
    ));
    let d = pki.bundle_v03_dsse("text/plain", b"x", &opts);
    assert!(matches!(
        verify_bundle(d.as_bytes(), &root, &default_policy()),
        Err(Failure::TlogEntryInvalid(_))
    ));
    // The log entry of one signature, replayed for another signature by the same leaf key
    // is caught too: the SET signs the body, the body names the signature.
}

#[test]
fn wrong_inclusion_proof_or_checkpoint_is_refused() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let b = message_bundle(&pki, &SignOpts::default());
    let proof =
        |v: &mut Value| v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"].clone();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<Edit> = vec![
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] =
                Value::String(ts_b64(&[1u8; 32]))
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["logIndex"] =
                Value::String("2".into())
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["treeSize"] =
                Value::String("8".into())
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"]
                .as_array_mut()
                .unwrap()
                .pop();
        }),
        Box::new(|v| {
            let env = v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"].as_str().unwrap().replacen("\n7\n", "\n8\n", 1);
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
                Value::String(env);
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
                Value::String("garbage".into())
        }),
    ];
    for (i, case) in cases.iter().enumerate() {
        let tampered = edit(&b, |v| case(v));
        let e = verify_bundle(&tampered, &root, &default_policy()).unwrap_err();
        assert!(matches!(e, Failure::TlogEntryInvalid(_)), "case {i}: {e:?}");
    }
    // Checkpoint with our key hint but a signature that does not verify.
    let tampered = edit(&b, |v| {
        let cp = &mut v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"];
        let env = cp.as_str().unwrap().to_string();
        let (text, line) = env.split_once("\n\n").unwrap();
        let (name, sig) = line.trim_end().rsplit_once(' ').unwrap();
        let mut sig = STANDARD.decode(sig).unwrap();
        let last = sig.len() - 1;
        sig[last] ^= 1;
        *cp = Value::String(format!("{text}\n\n{name} {}\n", STANDARD.encode(&sig)));
    });
    let e = verify_bundle(&tampered, &root, &default_policy()).unwrap_err();
    assert!(
        matches!(e, Failure::TlogEntryInvalid(ref m) if m.contains("checkpoint signature")),
        "{e:?}"
    );
    // Checkpoint signed by another key (right root hash, wrong signature).
    let other_pki = Pki::new();
    let tampered = edit(&b, |v| {
        let mut p = proof(v);
        let body = STANDARD
            .decode(
                v["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        p["checkpoint"] = other_pki.inclusion_proof(&body)["checkpoint"].clone();
        v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"] = p;
    });
    assert!(matches!(
        verify_bundle(&tampered, &root, &default_policy()),
        Err(Failure::TlogEntryInvalid(_))
    ));
}

#[test]
fn sct_invalid_or_missing() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let bad = SignOpts {
        sct: SctMode::BadSignature,
        ..SignOpts::default()
    };
    let e = legacy(&pki, &bad, &root, &default_policy()).unwrap_err();
    assert!(matches!(e, Failure::SctInvalid(_)), "{e:?}");
    assert_eq!(e.code(), "sct-invalid");
    let missing = SignOpts {
        sct: SctMode::Missing,
        ..SignOpts::default()
    };
    assert!(matches!(
        legacy(&pki, &missing, &root, &default_policy()),
        Err(Failure::SctInvalid(_))
    ));
    // Without CT logs in the trusted root, SCTs are not required (documented policy).
    let no_ct = TrustedRoot::from_json(pki.trusted_root_with(true, false).as_bytes()).unwrap();
    assert!(legacy(&pki, &missing, &no_ct, &default_policy()).is_ok());
}

#[test]
fn no_tlog_entry_fails_closed() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let a = pki.legacy_signature(PAYLOAD, &SignOpts::default());
    let e = verify_legacy_signature(
        PAYLOAD,
        &a.signature_b64,
        &a.certificate_pem,
        Some(&a.chain_pem),
        None,
        &root,
        &default_policy(),
    )
    .unwrap_err();
    assert!(matches!(e, Failure::TlogEntryInvalid(_)), "{e:?}");
    let none = SignOpts {
        tlog_entry: false,
        ..SignOpts::default()
    };
    assert!(matches!(
        verify_bundle(
            message_bundle(&pki, &none).as_bytes(),
            &root,
            &default_policy()
        ),
        Err(Failure::TlogEntryInvalid(_))
    ));
    // An entry with a proof but no SET: integratedTime is unproven.
    let b = edit(&message_bundle(&pki, &SignOpts::default()), |v| {
        v["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .unwrap()
            .remove("inclusionPromise");
    });
    assert!(matches!(
        verify_bundle(&b, &root, &default_policy()),
        Err(Failure::TlogEntryInvalid(_))
    ));
}

#[test]
fn malformed_material_is_malformed_never_a_panic() {
    let pki = Pki::new();
    let root = root_of(&pki);
    let a = pki.legacy_signature(PAYLOAD, &SignOpts::default());
    let p = default_policy();
    let run = |sig: &str, cert: &str, chain: Option<&str>, bundle: Option<&str>| {
        verify_legacy_signature(PAYLOAD, sig, cert, chain, bundle, &root, &p)
    };
    for e in [
        run(
            "not base64!",
            &a.certificate_pem,
            None,
            Some(&a.bundle_json),
        ),
        run(&a.signature_b64, "not a pem", None, Some(&a.bundle_json)),
        run(
            &a.signature_b64,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            None,
            Some(&a.bundle_json),
        ),
        run(
            &a.signature_b64,
            &a.certificate_pem,
            Some("junk"),
            Some(&a.bundle_json),
        ),
        run(&a.signature_b64, &a.certificate_pem, None, Some("{")),
        run(
            &a.signature_b64,
            &a.certificate_pem,
            None,
            Some(
                r#"{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"zz"}}"#,
            ),
        ),
    ] {
        assert!(matches!(e, Err(Failure::Malformed(_))), "{e:?}");
    }
    let b = message_bundle(&pki, &SignOpts::default());
    for bad in [
        b"".to_vec(),
        b"{}".to_vec(),
        b"[1]".to_vec(),
        edit(&b, |v| {
            v["mediaType"] = Value::String("application/json".into())
        }),
        edit(&b, |v| {
            v["verificationMaterial"]["certificate"]["rawBytes"] = Value::String("%%%".into())
        }),
        edit(&b, |v| {
            v["verificationMaterial"]["certificate"]["rawBytes"] = Value::String("AAAA".into())
        }),
        edit(&b, |v| {
            v["verificationMaterial"]["tlogEntries"][0]["logIndex"] = Value::String("x".into())
        }),
        edit(
            &b,
            |v| {
                v["dsseEnvelope"] =
                    serde_json::json!({"payload": "", "payloadType": "", "signatures": []})
            },
        ),
        edit(&b, |v| {
            v.as_object_mut().unwrap().remove("messageSignature");
        }),
    ] {
        let e = verify_bundle(&bad, &root, &p);
        assert!(matches!(e, Err(Failure::Malformed(_))), "{e:?}");
    }
    // Every truncation of a valid bundle and annotation set is refused without panicking.
    for n in (0..b.len()).step_by(7) {
        assert!(verify_bundle(&b.as_bytes()[..n], &root, &p).is_err());
    }
    for n in (0..a.certificate_pem.len()).step_by(11) {
        assert!(
            run(
                &a.signature_b64,
                &a.certificate_pem[..n],
                None,
                Some(&a.bundle_json)
            )
            .is_err()
        );
    }
}

#[test]
fn failure_codes_are_unique_kebab_case() {
    let all = [
        Failure::SignatureInvalid(String::new()),
        Failure::IdentityMismatch {
            found_identity: String::new(),
            found_issuer: String::new(),
            expected_identity: String::new(),
            expected_issuer: String::new(),
        },
        Failure::CertificateUntrusted(String::new()),
        Failure::CertificateNotValidAtSigningTime(String::new()),
        Failure::TlogEntryInvalid(String::new()),
        Failure::SctInvalid(String::new()),
        Failure::Malformed(String::new()),
    ];
    let codes: std::collections::BTreeSet<_> = all.iter().map(Failure::code).collect();
    assert_eq!(codes.len(), all.len());
    assert!(
        codes
            .iter()
            .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'))
    );
}

#[test]
fn real_hashedrekord_message_signature_bundle_verifies_against_the_real_root() {
    // Production: rfc8785.py v0.1.2 wheel, signed in GitHub Actions on 2024-03-19.
    const WHL_BUNDLE: &[u8] =
        include_bytes!("../../../fixtures/sigstore/rfc8785-py-0.1.2-whl.sigstore.json");
    let root = TrustedRoot::from_json(PUBLIC_GOOD_ROOT).unwrap();
    let identity =
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2";
    let (signer, content) =
        verify_bundle(WHL_BUNDLE, &root, &exact(identity, GITHUB_ISSUER)).unwrap();
    assert_eq!(
        signer.signed_at,
        Timestamp::from_second(1710888076).unwrap()
    );
    let BundleContent::MessageDigest { algorithm, digest } = content else {
        panic!("expected a digest")
    };
    assert_eq!(algorithm, "SHA2_256");
    assert_eq!(
        cert::hex(&digest),
        "c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201"
    );
    // The same bundle claiming another digest: the signature no longer covers it.
    let other = std::str::from_utf8(WHL_BUNDLE).unwrap().replace(
        "xOkunsyCi+8qp9uh3orJg1EfdTKg3xHHcNOQmaJc8gE=",
        "yOkunsyCi+8qp9uh3orJg1EfdTKg3xHHcNOQmaJc8gE=",
    );
    let e = verify_bundle(other.as_bytes(), &root, &exact(identity, GITHUB_ISSUER)).unwrap_err();
    assert!(matches!(e, Failure::SignatureInvalid(_)), "{e:?}");
}

#[test]
fn real_v03_dsse_bundle_verifies_against_the_real_root() {
    // Production: a v0.3 bundle (single `certificate`, Rekor `dsse` 0.0.1 entry with SET,
    // inclusion proof and checkpoint) made in GitHub Actions on 2025-01-28.
    const V03: &[u8] =
        include_bytes!("../../../fixtures/sigstore/conda-signed-package-v03-dsse.sigstore.json");
    let root = TrustedRoot::from_json(PUBLIC_GOOD_ROOT).unwrap();
    let identity =
        "https://github.com/wolfv/sigstore-test/.github/workflows/action.yaml@refs/heads/main";
    let (signer, content) = verify_bundle(V03, &root, &exact(identity, GITHUB_ISSUER)).unwrap();
    assert_eq!(
        signer.signed_at,
        Timestamp::from_second(1738060096).unwrap()
    );
    let BundleContent::Dsse { payload, .. } = content else {
        panic!("expected DSSE")
    };
    assert!(
        String::from_utf8(payload)
            .unwrap()
            .contains("59ed81ee7a2485c47588ebdbad14764bf722c93438b43fe953a651747bc62ad7")
    );
    // Anchoring: a pattern that only matches a prefix of the identity is refused.
    let prefix = IdentityPolicy {
        identity: Matcher::regex("https://github.com/wolfv/").unwrap(),
        issuer: Matcher::Exact(GITHUB_ISSUER.into()),
    };
    assert!(matches!(
        verify_bundle(V03, &root, &prefix),
        Err(Failure::IdentityMismatch { .. })
    ));
}

#[test]
fn ca_and_log_keys_outside_their_valid_for_are_not_used() {
    let pki = Pki::new();
    let ended = "2023-01-01T00:00:00Z"; // before the default signing time (2023-11-14)
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_str(&pki.trusted_root_json()).unwrap();
        f(&mut v);
        TrustedRoot::from_json(&serde_json::to_vec(&v).unwrap()).unwrap()
    };
    let ca_ended =
        with(&|v| v["certificateAuthorities"][0]["validFor"]["end"] = Value::String(ended.into()));
    let e = legacy(&pki, &SignOpts::default(), &ca_ended, &default_policy()).unwrap_err();
    assert!(matches!(e, Failure::CertificateUntrusted(_)), "{e:?}");
    let log_ended =
        with(&|v| v["tlogs"][0]["publicKey"]["validFor"]["end"] = Value::String(ended.into()));
    let e = legacy(&pki, &SignOpts::default(), &log_ended, &default_policy()).unwrap_err();
    assert!(matches!(e, Failure::TlogEntryInvalid(_)), "{e:?}");
    let ct_ended =
        with(&|v| v["ctlogs"][0]["publicKey"]["validFor"]["end"] = Value::String(ended.into()));
    let e = legacy(&pki, &SignOpts::default(), &ct_ended, &default_policy()).unwrap_err();
    assert!(matches!(e, Failure::SctInvalid(_)), "{e:?}");
}

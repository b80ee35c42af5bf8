//! `vouch verify` keyless (`--certificate-identity`... `--trusted-root`), and signature
//! material attached as OCI 1.1 referrers (Sigstore bundles, cosign referrer manifests),
//! against a real registry (docker-registry on 127.0.0.1).
//!
//! Self-made, and only these: the Fulcio-like CA and leaf certificates, the Rekor v1 and
//! v2 log keys with their SETs, inclusion proofs and checkpoints, the CT log key, the TSA's
//! certificates and the `trusted_root.json` come from the test signer in
//! tests/support/sigstore_signer.rs (no Fulcio, Rekor or TSA runs on this machine, and the
//! public-good ones cannot be reached); the RFC 3161 timestamps themselves are made by the
//! real `openssl ts -reply`. The manifests those signatures
//! travel in are pushed over the registry's own API by tests/it/registry.rs. Real: the
//! registry, and for the keyed referrer cases the signer (cosign 2.5 writes the bundle
//! and the referrers fallback index itself).

use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::common::{self, vouch};
use crate::registry::{self, Key, Registry, Shim, ShimAnswer};
use crate::sigstore_signer::{
    self as signer, BundleVersion, ChainMode, DEFAULT_IDENTITY, GITHUB_ISSUER, Identity, Log, Pki,
    RootOpts, SignOpts, T0,
};
use crate::verify::{assert_exit, codes, text};
use crate::verify_harness;

const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const DSSE: &str = "application/vnd.dsse.envelope.v1+json";
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";
const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
const SLSA1: &str = "https://slsa.dev/provenance/v1";

/// A registry with one pushed image, a self-made Sigstore and its trusted root on disk.
struct Scene {
    reg: Registry,
    pki: Pki,
    dir: tempfile::TempDir,
    repo: String,
    digest: String,
    image: String,
}

impl Scene {
    /// `vouch check --format json` in the scene's directory (its vouch.toml).
    fn check(&self) -> std::process::Output {
        vouch()
            .current_dir(self.dir.path())
            .args(["check", "--format", "json"])
            .output()
            .unwrap()
    }

    fn new(repo: &str) -> Scene {
        let reg = Registry::start();
        let digest = reg.push_image(repo, "v1");
        let image = format!("{}@{digest}", reg.repo(repo));
        let pki = Pki::new();
        let dir = common::tempdir();
        std::fs::write(
            dir.path().join("trusted_root.json"),
            pki.trusted_root_json(),
        )
        .unwrap();
        Scene {
            reg,
            pki,
            dir,
            repo: repo.to_string(),
            digest,
            image,
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("trusted_root.json")
    }

    fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }

    /// cosign's simple-signing payload for this image.
    fn payload(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "critical": {
                "identity": {"docker-reference": self.reg.repo(&self.repo)},
                "image": {"docker-manifest-digest": self.digest},
                "type": "cosign container image signature"
            },
            "optional": null
        }))
        .unwrap()
    }

    /// A legacy keyless `.sig` (one layer) as cosign writes it.
    fn sign_legacy(&self, opts: &SignOpts) {
        let payload = self.payload();
        let a = self.pki.legacy_signature(&payload, opts);
        self.reg.put_artifact(
            &self.repo,
            &format!("sha256-{}.sig", self.hex()),
            SIMPLE_SIGNING,
            &payload,
            Some(json!({
                "dev.cosignproject.cosign/signature": a.signature_b64,
                "dev.sigstore.cosign/certificate": a.certificate_pem,
                "dev.sigstore.cosign/chain": a.chain_pem,
                "dev.sigstore.cosign/bundle": a.bundle_json,
            })),
            None,
            None,
        );
    }

    /// A legacy keyless `.att` (one DSSE layer) about `subject_hex`.
    fn attest_legacy(&self, subject_hex: &str, opts: &SignOpts) {
        let statement = signer::in_toto_statement_of(SLSA1, "app", subject_hex);
        let (envelope, a) = self.pki.legacy_attestation(IN_TOTO, &statement, opts);
        self.reg.put_artifact(
            &self.repo,
            &format!("sha256-{}.att", self.hex()),
            DSSE,
            envelope.as_bytes(),
            Some(json!({
                "predicateType": SLSA1,
                "dev.cosignproject.cosign/signature": "",
                "dev.sigstore.cosign/certificate": a.certificate_pem,
                "dev.sigstore.cosign/chain": a.chain_pem,
                "dev.sigstore.cosign/bundle": a.bundle_json,
            })),
            None,
            None,
        );
    }

    /// Pushes `bundle` as a referrer whose subject is `subject` (a digest in this repo);
    /// returns the referrer manifest's digest (for the fallback index).
    fn push_bundle(&self, bundle: &str, subject: &str) -> String {
        self.reg.put_artifact(
            &self.repo,
            &format!("bundle-{}", unique_tag(bundle)),
            BUNDLE,
            bundle.as_bytes(),
            None,
            Some(BUNDLE),
            Some(subject),
        )
    }

    /// A DSSE bundle of an in-toto statement of `predicate` naming `subject_hex`.
    fn dsse_bundle(&self, predicate: &str, subject_hex: &str, opts: &SignOpts) -> String {
        let statement = signer::in_toto_statement_of(predicate, "app", subject_hex);
        self.pki.bundle_v03_dsse(IN_TOTO, &statement, opts)
    }

    /// `vouch verify --trusted-root <the test root> EXTRA --format json IMAGE`, through
    /// the shared harness.
    fn verify(&self, extra: &[&str]) -> Output {
        verify_harness::verify()
            .arg("--trusted-root")
            .arg(self.root())
            .args(extra)
            .json()
            .run(&self.image)
            .0
    }

    /// The exact default identity and issuer, plus `extra`.
    fn verify_exact(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            GITHUB_ISSUER,
        ];
        args.extend_from_slice(extra);
        self.verify(&args)
    }
}

fn unique_tag(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn problems(out: &Output) -> String {
    let json = common::json(out);
    json["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["problem"].as_str().map(str::to_string))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_legacy_keyless_signature_verifies_by_exact_identity_and_anchored_regex() {
    registry::tools();
    let s = Scene::new("keyless");
    s.sign_legacy(&SignOpts::default());
    let out = s.verify_exact(&[]);
    assert_exit(&out, 0);
    let json = common::json(&out);
    assert_eq!(json["policy"]["kind"], "keyless");
    assert_eq!(json["policy"]["identity"], format!("{DEFAULT_IDENTITY:?}"));
    assert_eq!(
        json["policy"]["signers"][0],
        format!("{DEFAULT_IDENTITY} ({GITHUB_ISSUER})")
    );
    assert_eq!(json["signatures"][0]["source"], "sig-tag");

    let out = s.verify(&[
        "--certificate-identity-regexp",
        r"https://github\.com/acme/app/\.github/workflows/.*@refs/heads/main",
        "--certificate-oidc-issuer-regexp",
        r"https://token\.actions\.githubusercontent\.com",
    ]);
    assert_exit(&out, 0);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn another_identity_or_issuer_is_an_identity_mismatch() {
    registry::tools();
    let s = Scene::new("mismatch");
    s.sign_legacy(&SignOpts {
        identity: Identity::Email("mallory@example.com".into()),
        ..SignOpts::default()
    });
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["identity-mismatch"]);
    assert!(
        problems(&out).contains("mallory@example.com"),
        "{}",
        text(&out)
    );

    let s = Scene::new("issuer");
    s.sign_legacy(&SignOpts {
        oidc_issuer: "https://accounts.example.com".into(),
        ..SignOpts::default()
    });
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["identity-mismatch"]);
}

/// cosign's `--certificate-identity-regexp acme/app` matches any identity containing
/// that text; vouch anchors the pattern, so it must match the whole identity.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_regex_that_matches_only_unanchored_is_an_identity_mismatch() {
    registry::tools();
    let s = Scene::new("unanchored");
    s.sign_legacy(&SignOpts::default());
    for (identity, issuer) in [
        ("acme/app", GITHUB_ISSUER),
        (r".*acme/app.*", "token.actions"),
        (r"https://github\.com/acme/app/", GITHUB_ISSUER),
    ] {
        let out = s.verify(&[
            "--certificate-identity-regexp",
            identity,
            "--certificate-oidc-issuer-regexp",
            issuer,
        ]);
        assert_exit(&out, 1);
        assert_eq!(codes(&out), ["identity-mismatch"], "{identity} {issuer}");
    }
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_certificate_expired_at_signing_time_is_signature_invalid() {
    registry::tools();
    let s = Scene::new("expired");
    // The log says it was signed a minute after the ten-minute certificate expired.
    s.sign_legacy(&SignOpts {
        integrated_time: T0 + 660,
        ..SignOpts::default()
    });
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    assert!(
        problems(&out).contains("certificate-not-valid-at-signing-time"),
        "{}",
        text(&out)
    );
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn another_trusted_root_refuses_the_signature() {
    registry::tools();
    let s = Scene::new("stranger");
    s.sign_legacy(&SignOpts::default());
    std::fs::write(s.root(), Pki::new().trusted_root_json()).unwrap();
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    // The public-good root does not trust the test CA either.
    std::fs::copy(
        common::fixture("sigstore/trusted-root-public-good.json"),
        s.root(),
    )
    .unwrap();
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_bad_or_missing_trusted_root_is_an_error() {
    registry::tools();
    let s = Scene::new("badroot");
    s.sign_legacy(&SignOpts::default());
    std::fs::write(s.root(), br#"{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs": 7}"#).unwrap();
    let out = s.verify_exact(&[]);
    assert_exit(&out, 2);
    assert!(text(&out).contains("bad trusted root"), "{}", text(&out));
    std::fs::remove_file(s.root()).unwrap();
    let out = s.verify_exact(&[]);
    assert_exit(&out, 2);
    assert!(
        text(&out).contains("cannot read the trusted root"),
        "{}",
        text(&out)
    );
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn an_unsigned_image_is_not_signed_under_keyless_too() {
    registry::tools();
    let s = Scene::new("unsigned");
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["image-not-signed"]);
    // cosign's spelling of the report format: `-o json`, `--output json`.
    for flag in ["-o", "--output"] {
        verify_harness::verify()
            .arg("--trusted-root")
            .arg(s.root())
            .args(["--certificate-identity", DEFAULT_IDENTITY])
            .args(["--certificate-oidc-issuer", GITHUB_ISSUER])
            .args([flag, "json"])
            .run(&s.image)
            .exit(1)
            .codes_are(&["image-not-signed"]);
    }
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn keyless_bundles_attached_as_referrers_sign_and_attest() {
    registry::tools();
    let s = Scene::new("bundles");
    let opts = SignOpts::default();
    let sign = s.push_bundle(&s.dsse_bundle(COSIGN_SIGN, s.hex(), &opts), &s.digest);
    let attest = s.push_bundle(&s.dsse_bundle(SLSA1, s.hex(), &opts), &s.digest);
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(sign, BUNDLE), (attest, BUNDLE)]);
    let out = s.verify_exact(&["--attestation-type", "slsaprovenance1"]);
    assert_exit(&out, 0);
    let json = common::json(&out);
    assert_eq!(json["signatures"][0]["source"], "bundle");
    assert_eq!(json["attestations"][0]["status"], "verified");

    // Without the signing statement, the provenance alone is no signature.
    let s2 = Scene::new("attest-only");
    let attest = s2.push_bundle(&s2.dsse_bundle(SLSA1, s2.hex(), &opts), &s2.digest);
    s2.reg
        .put_referrers_index(&s2.repo, &s2.digest, &[(attest, BUNDLE)]);
    let out = s2.verify_exact(&["--attestation-type", "slsaprovenance1"]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
}

/// A message-signature bundle counts when the digest it signs is the image's manifest.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_message_signature_bundle_over_the_manifest_verifies() {
    registry::tools();
    let s = Scene::new("message");
    let manifest = s.reg.manifest_bytes(&s.repo, &s.digest);
    let bundle = s.pki.bundle_v03_message(&manifest, &SignOpts::default());
    let r = s.push_bundle(&bundle, &s.digest);
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(r, BUNDLE)]);
    assert_exit(&s.verify_exact(&[]), 0);

    // Over any other bytes it does not.
    let s = Scene::new("message-other");
    let bundle = s
        .pki
        .bundle_v03_message(b"another artifact", &SignOpts::default());
    let r = s.push_bundle(&bundle, &s.digest);
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(r, BUNDLE)]);
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert!(
        problems(&out).contains("message signature is over"),
        "{}",
        text(&out)
    );
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_bundle_replayed_onto_another_image_is_signature_invalid() {
    registry::tools();
    let s = Scene::new("replayed");
    let other = s.reg.push_image(&s.repo, "v2");
    let other_hex = other.trim_start_matches("sha256:");
    let opts = SignOpts::default();
    // 1. A's referrer (subject A) listed in B's fallback index.
    let for_a = s.push_bundle(&s.dsse_bundle(COSIGN_SIGN, other_hex, &opts), &other);
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(for_a, BUNDLE)]);
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    assert!(
        problems(&out).contains("its subject is not"),
        "{}",
        text(&out)
    );
    // 2. A's signed statement re-attached with subject B.
    let moved = s.push_bundle(&s.dsse_bundle(COSIGN_SIGN, other_hex, &opts), &s.digest);
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(moved, BUNDLE)]);
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    assert!(problems(&out).contains("does not name"), "{}", text(&out));
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_tampered_bundle_is_signature_invalid() {
    registry::tools();
    let s = Scene::new("tampered-bundle");
    let mut bundle: serde_json::Value =
        serde_json::from_str(&s.dsse_bundle(COSIGN_SIGN, s.hex(), &SignOpts::default())).unwrap();
    // Same signature, statement about the same image, one byte different.
    let statement = signer::in_toto_statement_of(COSIGN_SIGN, "app2", s.hex());
    use base64::Engine as _;
    bundle["dsseEnvelope"]["payload"] = base64::engine::general_purpose::STANDARD
        .encode(statement)
        .into();
    let r = s.push_bundle(&bundle.to_string(), &s.digest);
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(r, BUNDLE)]);
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    assert!(
        problems(&out).contains("signature-invalid"),
        "{}",
        text(&out)
    );
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_legacy_keyless_attestation_verifies_and_checks_its_subject() {
    registry::tools();
    let s = Scene::new("keyless-att");
    s.sign_legacy(&SignOpts::default());
    s.attest_legacy(s.hex(), &SignOpts::default());
    let out = s.verify_exact(&["--attestation-type", "slsaprovenance1"]);
    assert_exit(&out, 0);
    assert_eq!(common::json(&out)["attestations"][0]["status"], "verified");

    s.attest_legacy(&"ab".repeat(32), &SignOpts::default());
    let out = s.verify_exact(&["--attestation-type", "slsaprovenance1"]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["attestation-invalid"]);

    // Attested by someone else: not this policy's attestation.
    s.attest_legacy(
        s.hex(),
        &SignOpts {
            identity: Identity::Email("mallory@example.com".into()),
            ..SignOpts::default()
        },
    );
    let out = s.verify_exact(&["--attestation-type", "slsaprovenance1"]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["attestation-invalid"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn threshold_counts_distinct_identities_across_tags_and_bundles() {
    registry::tools();
    let s = Scene::new("threshold");
    s.sign_legacy(&SignOpts::default());
    let release = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1";
    let second = s.push_bundle(
        &s.dsse_bundle(
            COSIGN_SIGN,
            s.hex(),
            &SignOpts {
                identity: Identity::Uri(release.into()),
                ..SignOpts::default()
            },
        ),
        &s.digest,
    );
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(second, BUNDLE)]);
    let regex = [
        "--certificate-identity-regexp",
        r"https://github\.com/acme/app/\.github/workflows/release\.yml@refs/.*",
        "--certificate-oidc-issuer",
        GITHUB_ISSUER,
    ];
    let mut two = regex.to_vec();
    two.extend(["--threshold", "2"]);
    let out = s.verify(&two);
    assert_exit(&out, 0);
    assert_eq!(
        common::json(&out)["policy"]["signers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let mut three = regex.to_vec();
    three.extend(["--threshold", "3"]);
    let out = s.verify(&three);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    // One exact identity can never be two signers: refused before any check.
    let out = s.verify_exact(&["--threshold", "2"]);
    assert_exit(&out, 2);
}

/// The real cosign 2.5 writes a keyed Sigstore bundle (`attest --new-bundle-format`) and
/// a cosign signature referrer (`sign --registry-referrers-mode=oci-1-1`), both through
/// the referrers fallback tag of this registry, which has no referrers API.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn cosign_referrers_and_keyed_bundles_verify_under_the_key() {
    registry::tools();
    let reg = Registry::start();
    let key = Key::generate();
    let digest = reg.push_image("referred", "v1");
    let image = format!("{}@{digest}", reg.repo("referred"));
    let dir = common::tempdir();
    let predicate = dir.path().join("predicate.json");
    std::fs::write(
        &predicate,
        r#"{"builder":{"id":"https://vouch.test/builder"},"buildType":"https://vouch.test/build"}"#,
    )
    .unwrap();
    let private = key.private.to_str().unwrap();
    reg.cosign_env(
        &[
            "attest",
            "--key",
            private,
            "--type",
            "slsaprovenance",
            "--predicate",
            predicate.to_str().unwrap(),
            "--tlog-upload=false",
            "--new-bundle-format",
            "-y",
            &image,
        ],
        &[],
    );
    reg.cosign_env(
        &[
            "sign",
            "--key",
            private,
            "--tlog-upload=false",
            "--registry-referrers-mode=oci-1-1",
            "-y",
            &image,
        ],
        &[("COSIGN_EXPERIMENTAL", "1")],
    );
    let run = |key: &Key| {
        vouch()
            .args(["verify", "--key", key.public.to_str().unwrap()])
            // cosign signed with --tlog-upload=false: no log entry (verify_tlog.rs).
            .arg("--insecure-ignore-tlog")
            .args([
                "--attestation-type",
                "slsaprovenance",
                "--format",
                "json",
                &image,
            ])
            .output()
            .unwrap()
    };
    let out = run(&key);
    assert_exit(&out, 0);
    let json = common::json(&out);
    assert_eq!(json["signatures"][0]["source"], "referrer");
    assert_eq!(json["attestations"][0]["status"], "verified");

    let out = run(&Key::generate());
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid", "attestation-invalid"]);

    // cosign v3 signs an image with a bundle whose DSSE statement has the predicate
    // https://sigstore.dev/cosign/sign/v1 and names the digest; cosign 2.5 writes the same
    // bundle (keyed) with `attest --type` that URI. It alone signs the image.
    let v3 = reg.push_image("referred", "v3");
    let v3_image = format!("{}@{v3}", reg.repo("referred"));
    std::fs::write(&predicate, "{}").unwrap();
    reg.cosign_env(
        &[
            "attest",
            "--key",
            private,
            "--type",
            COSIGN_SIGN,
            "--predicate",
            predicate.to_str().unwrap(),
            "--tlog-upload=false",
            "--new-bundle-format",
            "-y",
            &v3_image,
        ],
        &[],
    );
    let out = vouch()
        .args([
            "verify",
            "--key",
            key.public.to_str().unwrap(),
            "--insecure-ignore-tlog",
            "--format",
            "json",
            &v3_image,
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(common::json(&out)["signatures"][0]["source"], "bundle");
}

/// The real cosign 2.5 and vouch agree on the self-made keyless signature: cosign verifies
/// it offline against the same trusted root (so the test signer writes what cosign
/// reads), and refuses it for another identity, as vouch does.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn cosign_agrees_on_the_self_made_keyless_signature() {
    registry::tools();
    let s = Scene::new("cosign-keyless");
    s.sign_legacy(&SignOpts::default());
    // cosign's legacy path reads its Rekor, CT log and Fulcio trust from these variables;
    // without them it would go to the public TUF repository (no network here).
    let rekor = s.dir.path().join("rekor.pub");
    let ctlog = s.dir.path().join("ctlog.pub");
    let fulcio = s.dir.path().join("fulcio.pem");
    std::fs::write(
        &rekor,
        signer::pem_labelled("PUBLIC KEY", &s.pki.rekor.spki_der()),
    )
    .unwrap();
    std::fs::write(
        &ctlog,
        signer::pem_labelled("PUBLIC KEY", &s.pki.ctlog.spki_der()),
    )
    .unwrap();
    std::fs::write(&fulcio, s.pki.chain_pem()).unwrap();
    let tuf = s.dir.path().join("tuf");
    let cosign = |identity: &str| {
        std::process::Command::new("cosign")
            .args(["verify", "--offline"])
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", GITHUB_ISSUER])
            .args([
                "--allow-insecure-registry",
                "--allow-http-registry",
                &s.image,
            ])
            .env("HOME", s.dir.path())
            .env("TUF_ROOT", &tuf)
            .env("SIGSTORE_REKOR_PUBLIC_KEY", &rekor)
            .env("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", &ctlog)
            .env("SIGSTORE_ROOT_FILE", &fulcio)
            .output()
            .unwrap()
    };
    let out = cosign(DEFAULT_IDENTITY);
    assert_exit(&out, 0);
    assert_exit(&s.verify_exact(&[]), 0);
    let out = cosign("https://github.com/acme/other");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
}

/// `vouch check` verifies a keyless `[[image]]` of the policy the same way (the trusted
/// root's path is relative to the policy).
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn vouch_check_verifies_a_keyless_image_entry() {
    registry::tools();
    let s = Scene::new("check-keyless");
    s.sign_legacy(&SignOpts::default());
    s.attest_legacy(s.hex(), &SignOpts::default());
    let policy = |identity: &str| {
        format!(
            "[[image]]\nreference = \"{}\"\ncertificate-identity = \"{identity}\"\ncertificate-oidc-issuer = \"{GITHUB_ISSUER}\"\ntrusted-root = \"trusted_root.json\"\nattestations = [\"slsaprovenance1\"]\n",
            s.image
        )
    };
    let check = || s.check();
    std::fs::write(s.dir.path().join("vouch.toml"), policy(DEFAULT_IDENTITY)).unwrap();
    let out = check();
    assert_exit(&out, 0);
    std::fs::write(
        s.dir.path().join("vouch.toml"),
        policy("mallory@example.com"),
    )
    .unwrap();
    let out = check();
    assert_exit(&out, 1);
    assert!(text(&out).contains("identity-mismatch"), "{}", text(&out));
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn the_keyless_human_report() {
    registry::tools();
    let s = Scene::new("human-keyless");
    s.sign_legacy(&SignOpts {
        identity: Identity::Email("mallory@example.com".into()),
        ..SignOpts::default()
    });
    let out = vouch()
        .arg("verify")
        .arg("--trusted-root")
        .arg(s.root())
        .args(["--certificate-identity-regexp", r".*@acme\.example"])
        .args(["--certificate-oidc-issuer", GITHUB_ISSUER])
        .args(["--attestation-type", "slsaprovenance1", &s.image])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let root_digest = {
        use sha2::Digest as _;
        let bytes = std::fs::read(s.root()).unwrap();
        vouch::package::hex(&sha2::Sha256::digest(bytes))
    };
    let report = String::from_utf8(out.stdout)
        .unwrap()
        .replace(s.hex(), "<DIGEST>")
        .replace(&s.reg.host(), "<REGISTRY>")
        .replace(&s.root().display().to_string(), "<ROOT>")
        .replace(&root_digest, "<ROOT-DIGEST>");
    // The layer digest changes with every signature.
    let report = redact_short_layers(&report);
    insta::assert_snapshot!(report);
}

/// Replaces every `sha256:` + 12 hex (a short layer digest) with `sha256:<LAYER>`.
fn redact_short_layers(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        let (head, tail) = rest.split_at(at + "sha256:".len());
        out.push_str(head);
        let hex = tail.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 12 {
            out.push_str("<LAYER>");
            rest = &tail[hex..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// A registry with the OCI 1.1 referrers API: the real registry behind a [`Shim`] that
/// answers `GET /v2/<repo>/referrers/<digest>` with the index the real registry holds at
/// the fallback tag (or with `garbage`, a hostile registry), and hides that tag itself
/// (404). Hand-written because no registry with the referrers API is packaged here
/// (distribution 2.8 has none).
fn referrers_api(upstream: String, garbage: Option<&'static [u8]>) -> (Shim, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let shim = Shim::start(upstream, move |_, path, upstream| {
        let index = (
            "Content-Type",
            "application/vnd.oci.image.index.v1+json".to_string(),
        );
        if let Some((repo, digest)) = path
            .strip_prefix("/v2/")
            .and_then(|p| p.split_once("/referrers/"))
        {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = match garbage {
                Some(bytes) => bytes.to_vec(),
                None => {
                    let up = reqwest::blocking::Client::new()
                        .get(format!(
                            "http://{upstream}/v2/{repo}/manifests/{}",
                            digest.replace(':', "-")
                        ))
                        .header("accept", "application/vnd.oci.image.index.v1+json")
                        .send()
                        .unwrap();
                    if up.status().is_success() {
                        up.bytes().unwrap().to_vec()
                    } else {
                        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec()
                    }
                }
            };
            return Some(ShimAnswer {
                status: 200,
                headers: vec![index],
                body,
            });
        }
        let last = path.rsplit('/').next().unwrap_or("");
        (path.contains("/manifests/") && last.starts_with("sha256-") && last.len() == 71).then(
            || ShimAnswer {
                status: 404,
                headers: vec![],
                body: vec![],
            },
        )
    });
    (shim, served)
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn the_referrers_api_is_used_when_the_registry_has_it() {
    registry::tools();
    let s = Scene::new("api");
    let opts = SignOpts::default();
    let sign = s.push_bundle(&s.dsse_bundle(COSIGN_SIGN, s.hex(), &opts), &s.digest);
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(sign, BUNDLE)]);
    let (shim, served) = referrers_api(s.reg.host(), None);
    let image = format!("{}/{}@{}", shim.host(), s.repo, s.digest);
    let run = |image: &str| {
        vouch()
            .arg("verify")
            .arg("--trusted-root")
            .arg(s.root())
            .args(["--certificate-identity", DEFAULT_IDENTITY])
            .args(["--certificate-oidc-issuer", GITHUB_ISSUER])
            .args(["--format", "json", image])
            .output()
            .unwrap()
    };
    let out = run(&image);
    assert_exit(&out, 0);
    assert_eq!(common::json(&out)["signatures"][0]["source"], "bundle");
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // A registry whose referrers answer is not an index: nothing can be checked.
    let (hostile, _) = referrers_api(s.reg.host(), Some(b"{\"manifests\": 7}"));
    let out = run(&format!("{}/{}@{}", hostile.host(), s.repo, s.digest));
    assert_exit(&out, 2);
    assert!(text(&out).contains("referrers"), "{}", text(&out));
}

impl Scene {
    /// Pushes `bundle` as the image's only referrer (through the fallback index).
    fn refer(&self, bundle: &str) {
        let r = self.push_bundle(bundle, &self.digest);
        self.reg
            .put_referrers_index(&self.repo, &self.digest, &[(r, BUNDLE)]);
    }

    /// A message-signature bundle over the image manifest, as `opts` shapes it.
    fn message_bundle(&self, opts: &SignOpts) -> String {
        let manifest = self.reg.manifest_bytes(&self.repo, &self.digest);
        self.pki.bundle_v03_message(&manifest, opts)
    }
}

/// A bundle referrer with both a Rekor v1 entry (SET, inclusion proof) and an RFC 3161
/// timestamp made by `openssl ts -reply` with the test TSA of the trusted root: both
/// signed times must fall inside the certificate's validity.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_bundle_referrer_with_a_set_and_a_signed_timestamp_verifies() {
    registry::tools();
    let s = Scene::new("set-and-tsa");
    let now = SignOpts {
        timestamp: true,
        ..SignOpts::now()
    };
    let bundle = s.message_bundle(&now);
    let json: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let material = &json["verificationMaterial"];
    assert!(material["tlogEntries"][0]["inclusionPromise"].is_object());
    assert!(material["timestampVerificationData"]["rfc3161Timestamps"][0].is_object());
    s.refer(&bundle);
    let out = s.verify_exact(&[]);
    assert_exit(&out, 0);
    assert_eq!(common::json(&out)["signatures"][0]["source"], "bundle");

    // Regression: the log entry's time is inside the certificate (2023), the timestamp's
    // (now) is not. The RFC 3161 timestamp was ignored; now every signed time counts.
    let s = Scene::new("tsa-outside");
    s.refer(&s.message_bundle(&SignOpts {
        timestamp: true,
        ..SignOpts::default()
    }));
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    assert!(
        problems(&out).contains("certificate-not-valid-at-signing-time"),
        "{}",
        text(&out)
    );
}

/// A Rekor-v2-shaped bundle, as cosign v3 signs an image: a DSSE statement with cosign's
/// signing predicate, logged as `hashedrekord` 0.0.2 over its PAE in the test Rekor v2 log
/// (inclusion proof, C2SP checkpoint, no SET, no integrated time), timestamped by the TSA.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_rekor_v2_bundle_referrer_signs_the_image() {
    registry::tools();
    let s = Scene::new("rekor-v2");
    let v2 = SignOpts {
        log: Log::RekorV2,
        timestamp: true,
        ..SignOpts::now()
    };
    s.refer(&s.dsse_bundle(COSIGN_SIGN, s.hex(), &v2));
    let out = s.verify_exact(&[]);
    assert_exit(&out, 0);
    assert_eq!(
        common::json(&out)["policy"]["signers"][0],
        format!("{DEFAULT_IDENTITY} ({GITHUB_ISSUER})")
    );
    // Without its timestamp a Rekor v2 entry proves no signing time.
    let s = Scene::new("rekor-v2-untimed");
    s.refer(&s.dsse_bundle(
        COSIGN_SIGN,
        s.hex(),
        &SignOpts {
            timestamp: false,
            ..v2
        },
    ));
    let out = s.verify_exact(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    assert!(
        problems(&out).contains("tlog-entry-invalid"),
        "{}",
        text(&out)
    );
}

/// Regressions: shapes the hand-written verifier accepted, as bundle referrers.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn bundle_referrers_of_forbidden_shapes_are_signature_invalid() {
    registry::tools();
    let s = Scene::new("shapes");
    let shapes = [
        // From v0.2 on an inclusion proof is required: a SET is only a promise.
        (
            SignOpts {
                version: BundleVersion::V02,
                inclusion_proof: false,
                ..SignOpts::default()
            },
            "inclusion proof",
        ),
        // A root certificate appended to x509CertificateChain.
        (
            SignOpts {
                version: BundleVersion::V02,
                chain: ChainMode::WithRoot,
                ..SignOpts::default()
            },
            "is a root certificate",
        ),
        // x509CertificateChain in a v0.3 bundle.
        (
            SignOpts {
                chain: ChainMode::WithIntermediate,
                ..SignOpts::default()
            },
            "single certificate",
        ),
    ];
    for (opts, why) in shapes {
        s.refer(&s.message_bundle(&opts));
        let out = s.verify_exact(&[]);
        assert_exit(&out, 1);
        assert_eq!(codes(&out), ["signature-invalid"], "{opts:?}");
        assert!(problems(&out).contains(why), "{opts:?}: {}", text(&out));
    }
    // The same signature as a v0.2 bundle with its proof verifies: it is the shape.
    s.refer(&s.message_bundle(&SignOpts {
        version: BundleVersion::V02,
        chain: ChainMode::WithIntermediate,
        ..SignOpts::default()
    }));
    assert_exit(&s.verify_exact(&[]), 0);

    // A Rekor v1 log key without validFor.start is not "valid forever": the root is bad.
    std::fs::write(
        s.root(),
        s.pki.trusted_root_opts(RootOpts {
            tlog_start: false,
            ..RootOpts::default()
        }),
    )
    .unwrap();
    let out = s.verify_exact(&[]);
    assert_exit(&out, 2);
    assert!(text(&out).contains("bad trusted root"), "{}", text(&out));
}

/// Without --trusted-root the embedded public-good root is used: it knows neither the test
/// Rekor log nor the test CA, so the self-made signature is refused (nothing is fetched).
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn without_a_trusted_root_the_embedded_root_is_used() {
    registry::tools();
    let s = Scene::new("embedded");
    s.sign_legacy(&SignOpts::default());
    let run = verify_harness::verify()
        .args(["--certificate-identity", DEFAULT_IDENTITY])
        .args(["--certificate-oidc-issuer", GITHUB_ISSUER])
        .json()
        .run(&s.image)
        .exit(1);
    run.codes_are(&["signature-invalid"]);
    assert!(
        problems(&run.0).contains("tlog-entry-invalid"),
        "{}",
        run.text()
    );
}

const RELEASE_WORKFLOW: &str = "acme/app/.github/workflows/release.yml";

/// An image signed (legacy `.sig`, a bundle referrer) and attested by a GitHub Actions
/// run on a tag verifies with `--github-workflow` and a ref glob alone; the JSON report
/// (read through its documented model) lists every claim of every signature.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_github_signed_image_verifies_by_workflow_and_ref_and_lists_the_claims() {
    registry::tools();
    let s = Scene::new("structured");
    let run = signer::GitHubRun::release();
    let opts = run.sign_opts();
    s.sign_legacy(&opts);
    s.attest_legacy(s.hex(), &opts);
    let sign = s.push_bundle(&s.dsse_bundle(COSIGN_SIGN, s.hex(), &opts), &s.digest);
    s.reg
        .put_referrers_index(&s.repo, &s.digest, &[(sign, BUNDLE)]);
    let structured = |git_ref: &str, extra: &[&str]| {
        let mut args = vec![
            "--github-workflow",
            RELEASE_WORKFLOW,
            "--certificate-github-workflow-ref",
            git_ref,
            "--attestation-type",
            "slsaprovenance1",
        ];
        args.extend_from_slice(extra);
        s.verify(&args)
    };
    let out = structured(
        "refs/tags/v*",
        &["--certificate-github-workflow-repository", "acme/app"],
    );
    assert_exit(&out, 0);
    let report: crate::verify::contract::Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.signatures.len(), 2);
    for signature in &report.signatures {
        let claims = crate::verify::contract::found(&signature.claims);
        assert_eq!(
            claims,
            [
                ("identity", &*run.identity(), true),
                ("issuer", GITHUB_ISSUER, true),
                ("source-repository-ref", "refs/tags/v1.2.3", true),
                ("github-workflow-ref", "refs/tags/v1.2.3", true),
                ("source-repository-uri", "https://github.com/acme/app", true),
                ("github-workflow-repository", "acme/app", true),
            ],
            "{}",
            signature.layer
        );
    }
    // The attestation's signer is listed with the claims checked on it, as a signature's.
    assert_eq!(report.attestations[0].status, "verified");
    assert_eq!(
        report.attestations[0].claims, report.signatures[0].claims,
        "the attestation lists its claims"
    );
    let human = verify_harness::verify()
        .arg("--trusted-root")
        .arg(s.root())
        .args(["--github-workflow", RELEASE_WORKFLOW])
        .args(["--certificate-github-workflow-ref", "refs/tags/v*"])
        .run(&s.image)
        .exit(0);
    assert!(
        text(&human.0).contains("claim    source-repository-ref (1.3.6.1.4.1.57264.1.14) \"refs/tags/v1.2.3\" matches glob \"refs/tags/v*\""),
        "{}",
        text(&human.0)
    );

    // A branch ref, another repository, another runner: not verified, the claim named.
    let out = structured("refs/heads/*", &[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["identity-mismatch", "attestation-invalid"]);
    let out = structured(
        "refs/tags/v*",
        &["--certificate-github-workflow-repository", "acme/fork"],
    );
    assert_exit(&out, 1);
    assert!(
        problems(&out).contains("signature-claim-mismatch: ")
            && problems(&out).contains("policy wants \"https://github.com/acme/fork\""),
        "{}",
        problems(&out)
    );
    let out = structured(
        "refs/tags/v*",
        &["--certificate-extension", "runner-environment=self-hosted"],
    );
    assert_exit(&out, 1);
    let report: crate::verify::contract::Report = serde_json::from_slice(&out.stdout).unwrap();
    let runner = report.signatures[0]
        .claims
        .iter()
        .find(|c| c.claim == "runner-environment")
        .unwrap();
    assert_eq!(
        (runner.found.as_deref(), runner.matched),
        (Some("github-hosted"), false)
    );
}

/// `vouch check` with an `[[image]]` in the structured form, through the registry.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn vouch_check_verifies_a_structured_image_entry() {
    registry::tools();
    let s = Scene::new("check-structured");
    let run = signer::GitHubRun::release();
    s.sign_legacy(&run.sign_opts());
    let policy = |repository: &str| {
        format!(
            "[[image]]\nreference = \"{}\"\ngithub-workflow = \"{RELEASE_WORKFLOW}\"\nref = \"refs/tags/v*\"\nrepository = \"{repository}\"\ncertificate-extensions = {{ runner-environment = \"github-hosted\", build-trigger = \"push\" }}\ntrusted-root = \"trusted_root.json\"\n",
            s.image
        )
    };
    let check = || s.check();
    std::fs::write(s.dir.path().join("vouch.toml"), policy("acme/app")).unwrap();
    let out = check();
    assert_exit(&out, 0);
    let image = image_check(&out);
    assert_eq!(image.status, "pass");
    let names: Vec<_> = image.claims.iter().map(|c| c.claim.as_str()).collect();
    assert_eq!(
        names,
        [
            "identity",
            "issuer",
            "source-repository-ref",
            "github-workflow-ref",
            "source-repository-uri",
            "github-workflow-repository",
            "build-trigger",
            "runner-environment"
        ]
    );
    assert!(image.claims.iter().all(|c| c.matched));

    // An attestation signed by the run of the next tag: its certificate's claims are
    // listed beside the signature's.
    let next = signer::GitHubRun {
        workflow: "acme/app/.github/workflows/release.yml@refs/tags/v1.2.4".into(),
        git_ref: "refs/tags/v1.2.4".into(),
        ..signer::GitHubRun::release()
    };
    s.attest_legacy(s.hex(), &next.sign_opts());
    std::fs::write(
        s.dir.path().join("vouch.toml"),
        policy("acme/app") + "attestations = [\"slsaprovenance1\"]\n",
    )
    .unwrap();
    let out = check();
    assert_exit(&out, 0);
    let image = image_check(&out);
    let found = |claim: &str| -> Vec<&str> {
        image
            .claims
            .iter()
            .filter(|c| c.claim == claim)
            .filter_map(|c| c.found.as_deref())
            .collect()
    };
    assert_eq!(found("identity"), [run.identity(), next.identity()]);
    assert_eq!(
        found("source-repository-ref"),
        ["refs/tags/v1.2.3", "refs/tags/v1.2.4"]
    );
    assert_eq!(
        found("source-repository-uri"),
        ["https://github.com/acme/app"]
    );
    assert!(image.claims.iter().all(|c| c.matched));

    std::fs::write(s.dir.path().join("vouch.toml"), policy("acme/fork")).unwrap();
    let out = check();
    assert_exit(&out, 1);
    assert!(
        text(&out).contains("signature-claim-mismatch"),
        "{}",
        text(&out)
    );
}

/// The image's check of a `vouch check --format json` report, read through its documented
/// model.
fn image_check(out: &std::process::Output) -> crate::json_contract::Check {
    let report: crate::json_contract::CheckReport = serde_json::from_slice(&out.stdout).unwrap();
    report
        .checks
        .into_iter()
        .find(|c| c.name.starts_with("verify "))
        .unwrap()
}

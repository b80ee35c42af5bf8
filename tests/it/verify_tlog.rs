//! Keyed signatures and the transparency log (issue 14, item 5): like `cosign verify
//! --key`, `vouch verify --key` requires a verified log entry by default, and only
//! `--insecure-ignore-tlog` (`ignore-tlog = true` in a policy) skips it, with a
//! `verification-weakened` warning in every report.
//!
//! Real: the registry (docker-registry on 127.0.0.1) and, for the signature without a log
//! entry, cosign 2.5 itself (`cosign sign --key --tlog-upload=false`). Self-made, because
//! no Rekor runs here and the public-good one cannot be reached: the signature with its
//! log entry, made by the test signer (tests/support/sigstore_signer.rs) with the test
//! Rekor key of its `trusted_root.json`, in the layer annotations cosign writes for a
//! keyed signature uploaded to the log (`dev.cosignproject.cosign/signature` and the
//! `dev.sigstore.cosign/bundle` entry; no certificate).

use std::path::PathBuf;

use serde_json::json;

use crate::common::{self, vouch};
use crate::registry::{self, Registry};
use crate::sigstore_signer::{Pki, SetKey, SignOpts, TestKey, pem_labelled};
use crate::verify::{assert_exit, codes, text};
use crate::verify_harness::{Image, verify};

const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

fn weakened(json: &serde_json::Value) -> Vec<&serde_json::Value> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "verification-weakened")
        .collect()
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_keyed_signature_without_a_log_entry_fails_unless_the_log_is_ignored() {
    registry::tools();
    // cosign sign --key --tlog-upload=false: no log entry.
    let img = Image::signed("nolog");

    let run = img.verify().require_tlog().json().run(&img.image).exit(1);
    run.codes_are(&["signature-invalid"])
        .says("no transparency-log entry")
        .says("--insecure-ignore-tlog");
    let json = run.json();
    assert_eq!(json["policy"]["tlog"], "required");
    assert!(weakened(&json).is_empty(), "{json}");
    // The human report says why too.
    img.verify()
        .require_tlog()
        .run(&img.image)
        .exit(1)
        .prints("no transparency-log entry");

    // The opt-out: verified, and the report says the check was weakened.
    let run = img.verify().json().run(&img.image).exit(0);
    let json = run.json();
    assert_eq!(json["policy"]["tlog"], "ignored");
    let warning = weakened(&json);
    assert_eq!(warning.len(), 1, "{json}");
    assert_eq!(warning[0]["level"], "warning");
    img.verify().run(&img.image).exit(0).prints(
        "warning verification-weakened: weakened check: the transparency log was not checked",
    );

    // The opt-out never makes another key's signature count.
    verify()
        .key(&crate::registry::Key::generate())
        .run(&img.image)
        .exit(1);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn the_log_opt_out_is_refused_for_keyless_and_shown_in_the_check_report() {
    registry::tools();
    let out = vouch()
        .args([
            "verify",
            "--certificate-identity",
            "me@example.com",
            "--certificate-oidc-issuer",
            "https://issuer.example",
            "--insecure-ignore-tlog",
            "127.0.0.1:1/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        text(&out).contains("applies to --key only"),
        "{}",
        text(&out)
    );

    // vouch check: the policy entry without ignore-tlog fails on cosign's entry-less
    // signature; with it, passes with the warning in the report.
    let img = Image::signed("checklog");
    let dir = common::tempdir();
    std::fs::copy(&img.key.public, dir.path().join("cosign.pub")).unwrap();
    for (ignore, exit) in [(false, 1), (true, 0)] {
        std::fs::write(
            dir.path().join("vouch.toml"),
            format!(
                "[[image]]\nreference = \"{}\"\nkey = [\"cosign.pub\"]\nignore-tlog = {ignore}\n",
                img.image
            ),
        )
        .unwrap();
        let out = vouch()
            .current_dir(dir.path())
            .args(["check", "--format", "json"])
            .output()
            .unwrap();
        assert_exit(&out, exit);
        let report = common::json(&out);
        let findings = report["checks"][1]["findings"].to_string();
        assert_eq!(
            findings.contains("verification-weakened"),
            ignore,
            "{report}"
        );
        assert_eq!(
            findings.contains("no transparency-log entry"),
            !ignore,
            "{report}"
        );
    }
}

/// An image on a fresh registry, a test signer's Sigstore, its trusted root and one key.
struct Scene {
    reg: Registry,
    pki: Pki,
    key: TestKey,
    dir: tempfile::TempDir,
    repo: String,
    digest: String,
    image: String,
}

impl Scene {
    fn new(repo: &str) -> Scene {
        let reg = Registry::start();
        let digest = reg.push_image(repo, "v1");
        let image = format!("{}@{digest}", reg.repo(repo));
        let pki = Pki::new();
        let key = TestKey::generate();
        let dir = common::tempdir();
        std::fs::write(dir.path().join("root.json"), pki.trusted_root_json()).unwrap();
        std::fs::write(
            dir.path().join("k.pub"),
            pem_labelled("PUBLIC KEY", &key.spki_der()),
        )
        .unwrap();
        Scene {
            reg,
            pki,
            key,
            dir,
            repo: repo.to_string(),
            digest,
            image,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A keyed `.sig` layer with its Rekor entry, as `cosign sign --key` uploads it.
    fn sign_with_log(&self, opts: &SignOpts) {
        let payload = serde_json::to_vec(&json!({
            "critical": {
                "identity": {"docker-reference": self.reg.repo(&self.repo)},
                "image": {"docker-manifest-digest": self.digest},
                "type": "cosign container image signature"
            },
            "optional": null
        }))
        .unwrap();
        let a = self.pki.legacy_keyed_signature(&payload, &self.key, opts);
        self.reg.put_artifact(
            &self.repo,
            &format!("sha256-{}.sig", self.digest.trim_start_matches("sha256:")),
            SIMPLE_SIGNING,
            &payload,
            Some(json!({
                "dev.cosignproject.cosign/signature": a.signature_b64,
                "dev.sigstore.cosign/bundle": a.bundle_json,
            })),
            None,
            None,
        );
    }

    /// A keyed `.att` layer (an SLSA v1 statement about this image) with its Rekor entry,
    /// as `cosign attest --key` uploads it.
    fn attest_with_log(&self, opts: &SignOpts) {
        let statement = crate::sigstore_signer::in_toto_statement_of(
            "https://slsa.dev/provenance/v1",
            &self.repo,
            self.digest.trim_start_matches("sha256:"),
        );
        let (envelope, a) = self.pki.legacy_keyed_attestation(
            "application/vnd.in-toto+json",
            &statement,
            &self.key,
            opts,
        );
        self.reg.put_artifact(
            &self.repo,
            &format!("sha256-{}.att", self.digest.trim_start_matches("sha256:")),
            "application/vnd.dsse.envelope.v1+json",
            envelope.as_bytes(),
            Some(json!({
                "predicateType": "https://slsa.dev/provenance/v1",
                "dev.cosignproject.cosign/signature": "",
                "dev.sigstore.cosign/bundle": a.bundle_json,
            })),
            None,
            None,
        );
    }

    fn verify(&self, extra: &[&str]) -> std::process::Output {
        vouch()
            .arg("verify")
            .arg("--key")
            .arg(self.path("k.pub"))
            .args(["--format", "json"])
            .args(extra)
            .arg(&self.image)
            .output()
            .unwrap()
    }
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_keyed_signature_with_its_log_entry_verifies_against_the_trusted_root() {
    registry::tools();
    let s = Scene::new("withlog");
    s.sign_with_log(&SignOpts::default());
    let root = s.path("root.json");
    let root = root.to_str().unwrap();

    let out = s.verify(&["--trusted-root", root]);
    assert_exit(&out, 0);
    let json = common::json(&out);
    assert_eq!(json["policy"]["tlog"], "required");
    assert!(weakened(&json).is_empty(), "{json}");
    assert_eq!(json["signatures"][0]["source"], "sig-tag");

    // With the opt-out it verifies too, and says the log was not checked.
    let out = s.verify(&["--trusted-root", root, "--insecure-ignore-tlog"]);
    assert_exit(&out, 0);
    assert_eq!(weakened(&common::json(&out)).len(), 1);

    // The entry is verified against the root: the embedded public-good root does not
    // know the test log, so there it does not count.
    let out = s.verify(&[]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_log_entry_that_does_not_hold_is_no_log_entry() {
    registry::tools();
    for (name, opts) in [
        // The SET is signed by a key the trusted root does not list.
        (
            "setkey",
            SignOpts {
                set_key: SetKey::Other,
                ..SignOpts::default()
            },
        ),
        // The entry records another signature than the layer's (CVE-2022-36056 class).
        (
            "othersig",
            SignOpts {
                body_with_other_signature: true,
                ..SignOpts::default()
            },
        ),
    ] {
        let s = Scene::new(name);
        s.sign_with_log(&opts);
        let root = s.path("root.json");
        let out = s.verify(&["--trusted-root", root.to_str().unwrap()]);
        assert_exit(&out, 1);
        assert_eq!(codes(&out), ["signature-invalid"], "{name}");
        let problem = common::json(&out)["signatures"][0]["problem"].to_string();
        assert!(problem.contains("tlog-entry-invalid"), "{name}: {problem}");
    }
}

/// A keyed attestation (`.att`) with its log entry counts against the trusted root that
/// lists the log; with no log the root knows, or an entry recording another signature, the
/// attestation does not count (and `--insecure-ignore-tlog` is the only way past that).
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_keyed_attestation_with_its_log_entry_verifies_against_the_trusted_root() {
    registry::tools();
    let s = Scene::new("attlog");
    s.sign_with_log(&SignOpts::default());
    s.attest_with_log(&SignOpts::default());
    let root = s.path("root.json");
    let root = root.to_str().unwrap();
    let slsa = ["--attestation-type", "slsaprovenance1"];

    let out = s.verify(&[&["--trusted-root", root][..], &slsa].concat());
    assert_exit(&out, 0);
    let json = common::json(&out);
    assert!(weakened(&json).is_empty(), "{json}");
    assert_eq!(
        json["attestations"][0]["verified_by"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{json}"
    );

    // Under the embedded public-good root the test log is unknown: the attestation (and
    // the signature) are not verified.
    let out = s.verify(&slsa);
    assert_exit(&out, 1);

    // An entry that records another envelope signature is no log entry for this one.
    let bad = Scene::new("attothersig");
    bad.sign_with_log(&SignOpts::default());
    bad.attest_with_log(&SignOpts {
        body_with_other_signature: true,
        ..SignOpts::default()
    });
    let root = bad.path("root.json");
    let out = bad.verify(&[&["--trusted-root", root.to_str().unwrap()][..], &slsa].concat());
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["attestation-invalid"], "{}", text(&out));
    let out = bad.verify(
        &[
            &[
                "--trusted-root",
                root.to_str().unwrap(),
                "--insecure-ignore-tlog",
            ][..],
            &slsa,
        ]
        .concat(),
    );
    assert_exit(&out, 0);
}

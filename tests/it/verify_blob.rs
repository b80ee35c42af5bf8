//! `vouch verify-blob ARTIFACT --bundle FILE`: bundles from the self-made Sigstore
//! (tests/support/sigstore_signer.rs, with RFC 3161 timestamps made by the real `openssl
//! ts -reply`) over files and digests; the real cosign 2.5 verifies the same bundles
//! against the same root; and every way the inputs can be unreadable ends in exit 2 naming
//! the file. The conformance suite's real bundles are in conformance.rs.

use std::path::PathBuf;
use std::process::Output;

use crate::common::{self, vouch};
use crate::sigstore_signer::{
    BundleVersion, DEFAULT_IDENTITY, GITHUB_ISSUER, GitHubRun, Identity, Log, Pki, RootOpts,
    SignOpts,
};
use crate::verify::{assert_exit, text};

const ARTIFACT: &[u8] = b"vouch-1.0.0-x86_64-linux.tar.gz, or so\n";

/// A self-made Sigstore, its trusted root and an artifact on disk.
struct Scene {
    pki: Pki,
    dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let scene = Scene {
            pki: Pki::new(),
            dir: common::tempdir(),
        };
        std::fs::write(scene.path("artifact.tar.gz"), ARTIFACT).unwrap();
        std::fs::write(scene.root(), scene.pki.trusted_root_json()).unwrap();
        scene
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn root(&self) -> PathBuf {
        self.path("trusted_root.json")
    }

    fn artifact(&self) -> PathBuf {
        self.path("artifact.tar.gz")
    }

    fn digest(&self) -> String {
        use sha2::Digest as _;
        format!(
            "sha256:{}",
            vouch::package::hex(&sha2::Sha256::digest(ARTIFACT))
        )
    }

    /// Writes a message-signature bundle over the artifact; returns its path.
    fn sign(&self, name: &str, opts: &SignOpts) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, self.pki.bundle_v03_message(ARTIFACT, opts)).unwrap();
        path
    }

    fn verify(&self, bundle: &PathBuf, artifact: &str, extra: &[&str]) -> Output {
        vouch()
            .arg("verify-blob")
            .arg("--bundle")
            .arg(bundle)
            .arg("--trusted-root")
            .arg(self.root())
            .args(extra)
            .arg(artifact)
            .output()
            .unwrap()
    }

    /// Exact default identity and issuer, JSON report, path and digest mode.
    fn verify_both(&self, bundle: &PathBuf) -> [Output; 2] {
        let exact = [
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            GITHUB_ISSUER,
            "--format",
            "json",
        ];
        [
            self.verify(bundle, self.artifact().to_str().unwrap(), &exact),
            self.verify(bundle, &self.digest(), &exact),
        ]
    }
}

/// The finding codes of a verify-blob JSON report.
fn codes(out: &Output) -> Vec<String> {
    let json = common::json(out);
    assert_eq!(json["schema"], "vouch.verify-blob/1");
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn problem(out: &Output) -> String {
    common::json(out)["signatures"][0]["problem"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_keyless_bundle_verifies_over_the_file_and_over_its_digest() {
    let s = Scene::new();
    let bundle = s.sign("a.sigstore.json", &SignOpts::default());
    for out in s.verify_both(&bundle) {
        assert_exit(&out, 0);
        let json = common::json(&out);
        assert_eq!(json["schema"], "vouch.verify-blob/1");
        assert_eq!(json["artifact"]["digest"], s.digest());
        assert_eq!(
            json["policy"]["signers"][0],
            format!("{DEFAULT_IDENTITY} ({GITHUB_ISSUER})")
        );
    }
    // Anchored regexes; `-o json` and `--output json` as cosign spells them.
    let artifact = s.artifact();
    for flag in ["-o", "--output"] {
        let out = s.verify(
            &bundle,
            artifact.to_str().unwrap(),
            &[
                "--certificate-identity-regexp",
                r"https://github\.com/acme/app/.*",
                "--certificate-oidc-issuer-regexp",
                r"https://token\.actions\.githubusercontent\.com",
                flag,
                "json",
            ],
        );
        assert_exit(&out, 0);
        assert_eq!(common::json(&out)["verdict"], "pass");
    }
}

#[test]
fn another_artifact_or_signer_is_not_verified() {
    let s = Scene::new();
    let bundle = s.sign("a.sigstore.json", &SignOpts::default());
    std::fs::write(s.path("other"), b"another artifact").unwrap();
    let exact = [
        "--certificate-identity",
        DEFAULT_IDENTITY,
        "--certificate-oidc-issuer",
        GITHUB_ISSUER,
        "--format",
        "json",
    ];
    let out = s.verify(&bundle, s.path("other").to_str().unwrap(), &exact);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["signature-invalid"]);
    assert!(
        problem(&out).starts_with("artifact-mismatch"),
        "{}",
        text(&out)
    );
    let out = s.verify(&bundle, &format!("sha256:{}", "0".repeat(64)), &exact);
    assert_exit(&out, 1);

    for (identity, issuer) in [
        ("https://github.com/acme/other", GITHUB_ISSUER),
        (DEFAULT_IDENTITY, "https://accounts.google.com"),
    ] {
        let out = s.verify(
            &bundle,
            &s.digest(),
            &[
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                issuer,
                "--format",
                "json",
            ],
        );
        assert_exit(&out, 1);
        assert_eq!(codes(&out), ["identity-mismatch"]);
    }
    // Unanchored only; and an unbalanced pattern that would escape the anchors is refused.
    let out = s.verify(
        &bundle,
        &s.digest(),
        &[
            "--certificate-identity-regexp",
            "acme/app",
            "--certificate-oidc-issuer",
            GITHUB_ISSUER,
            "--format",
            "json",
        ],
    );
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["identity-mismatch"]);
    let out = s.verify(
        &bundle,
        &s.digest(),
        &[
            "--certificate-identity-regexp",
            r"https://github\.com/nobody/.*)|(.*",
            "--certificate-oidc-issuer",
            GITHUB_ISSUER,
        ],
    );
    assert_exit(&out, 2);
    assert!(text(&out).contains("not a valid regex"), "{}", text(&out));
}

/// The embedded public-good root is used without --trusted-root: it does not trust the
/// self-made CA.
#[test]
fn without_a_trusted_root_the_embedded_public_good_root_is_used() {
    let s = Scene::new();
    let bundle = s.sign("a.sigstore.json", &SignOpts::default());
    let out = vouch()
        .arg("verify-blob")
        .arg("--bundle")
        .arg(&bundle)
        .args(["--certificate-identity", DEFAULT_IDENTITY])
        .args(["--certificate-oidc-issuer", GITHUB_ISSUER])
        .args(["--format", "json", &s.digest()])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let json = common::json(&out);
    assert!(
        json["policy"]["trusted_root"]
            .as_str()
            .unwrap()
            .starts_with("embedded public-good root sha256:6494e21e"),
        "{json}"
    );
}

/// A v0.3 bundle with a Rekor v1 entry (SET and inclusion proof) and an RFC 3161 timestamp
/// from the test TSA: both signed times must fall in the certificate's validity.
#[test]
#[ignore = "needs openssl: scripts/ci/install-verify-tools.sh"]
fn a_bundle_with_a_set_and_a_signed_timestamp_verifies_and_both_times_count() {
    common::require_tool("openssl");
    let s = Scene::new();
    let now = SignOpts {
        timestamp: true,
        ..SignOpts::now()
    };
    let bundle = s.sign("tsa.sigstore.json", &now);
    for out in s.verify_both(&bundle) {
        assert_exit(&out, 0);
    }
    // Regression: the log says 2023, within the certificate; the TSA says now, long after
    // it expired. Every signed time counts, so it is refused.
    let stale = SignOpts {
        timestamp: true,
        ..SignOpts::default()
    };
    let bundle = s.sign("stale.sigstore.json", &stale);
    for out in s.verify_both(&bundle) {
        assert_exit(&out, 1);
        assert!(
            problem(&out).starts_with("certificate-not-valid-at-signing-time"),
            "{}",
            text(&out)
        );
    }
    // A TSA the trusted root does not list.
    std::fs::write(
        s.root(),
        s.pki.trusted_root_opts(RootOpts {
            tsa: false,
            ..RootOpts::default()
        }),
    )
    .unwrap();
    let bundle = s.sign("tsa2.sigstore.json", &now);
    let [out, _] = s.verify_both(&bundle);
    assert_exit(&out, 1);
    assert!(
        problem(&out).starts_with("timestamp-invalid"),
        "{}",
        text(&out)
    );
}

/// Rekor v2: a `hashedrekord` 0.0.2 entry with an inclusion proof and a C2SP checkpoint,
/// no SET and no integrated time; the signing time is the TSA's.
#[test]
#[ignore = "needs openssl: scripts/ci/install-verify-tools.sh"]
fn a_rekor_v2_bundle_verifies_with_its_timestamp_and_not_without() {
    common::require_tool("openssl");
    let s = Scene::new();
    let v2 = SignOpts {
        log: Log::RekorV2,
        timestamp: true,
        ..SignOpts::now()
    };
    let bundle = s.sign("v2.sigstore.json", &v2);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let entry = &json["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    assert!(entry.get("inclusionPromise").is_none() && entry.get("integratedTime").is_none());
    for out in s.verify_both(&bundle) {
        assert_exit(&out, 0);
    }
    // A DSSE envelope logged as hashedrekord 0.0.2 over its PAE.
    let statement =
        crate::sigstore_signer::in_toto_statement("app", s.digest().trim_start_matches("sha256:"));
    let dsse = s.path("v2-dsse.sigstore.json");
    std::fs::write(
        &dsse,
        s.pki
            .bundle_v03_dsse("application/vnd.in-toto+json", &statement, &v2),
    )
    .unwrap();
    for out in s.verify_both(&dsse) {
        assert_exit(&out, 0);
    }
    // No timestamp: no signed time at all.
    let bundle = s.sign(
        "v2-no-ts.sigstore.json",
        &SignOpts {
            timestamp: false,
            ..v2.clone()
        },
    );
    let [out, _] = s.verify_both(&bundle);
    assert_exit(&out, 1);
    assert!(
        problem(&out).starts_with("tlog-entry-invalid"),
        "{}",
        text(&out)
    );
    // No inclusion proof: nothing shows the entry is in the log.
    let bundle = s.sign(
        "v2-no-proof.sigstore.json",
        &SignOpts {
            inclusion_proof: false,
            ..v2.clone()
        },
    );
    let [out, _] = s.verify_both(&bundle);
    assert_exit(&out, 1);
    // A root without the v2 log.
    std::fs::write(
        s.root(),
        s.pki.trusted_root_opts(RootOpts {
            rekor_v2: false,
            ..RootOpts::default()
        }),
    )
    .unwrap();
    let bundle = s.sign("v2-b.sigstore.json", &v2);
    let [out, _] = s.verify_both(&bundle);
    assert_exit(&out, 1);
    assert!(
        problem(&out).starts_with("tlog-entry-invalid"),
        "{}",
        text(&out)
    );
}

/// The real cosign 2.5 verifies the self-made bundles against the same trusted root, so
/// the test signer writes what a Sigstore client reads (SET, inclusion proof, checkpoint,
/// SCT, the openssl-made timestamp), and refuses them for another identity.
#[test]
#[ignore = "needs cosign, openssl: scripts/ci/install-verify-tools.sh"]
fn cosign_verifies_the_self_made_bundles_too() {
    common::require_tool("cosign");
    common::require_tool("openssl");
    let s = Scene::new();
    let cosign = |bundle: &PathBuf, identity: &str| {
        std::process::Command::new("cosign")
            .args(["verify-blob", "--new-bundle-format", "--offline"])
            .arg("--bundle")
            .arg(bundle)
            .arg("--trusted-root")
            .arg(s.root())
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", GITHUB_ISSUER])
            .arg(s.artifact())
            .env("HOME", s.dir.path())
            .env("TUF_ROOT", s.path("tuf"))
            .output()
            .unwrap()
    };
    let plain = s.sign("plain.sigstore.json", &SignOpts::default());
    let tsa = s.sign(
        "tsa.sigstore.json",
        &SignOpts {
            timestamp: true,
            ..SignOpts::now()
        },
    );
    for bundle in [&plain, &tsa] {
        assert_exit(&cosign(bundle, DEFAULT_IDENTITY), 0);
        assert_ne!(
            cosign(bundle, "https://github.com/acme/other")
                .status
                .code(),
            Some(0)
        );
        for out in s.verify_both(bundle) {
            assert_exit(&out, 0);
        }
    }
}

#[test]
fn unreadable_inputs_are_errors_naming_the_file() {
    let s = Scene::new();
    let good = s.pki.bundle_v03_message(ARTIFACT, &SignOpts::default());
    let mut with_bad_timestamp: serde_json::Value = serde_json::from_str(&good).unwrap();
    with_bad_timestamp["verificationMaterial"]["timestampVerificationData"] =
        serde_json::json!({"rfc3161Timestamps": [{"signedTimestamp": "MAUCAQ=="}]});
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "truncated.json",
            good[..good.len() / 2].to_string(),
            "not JSON",
        ),
        (
            "garbled.json",
            good.replace("\"rawBytes\"", "\"rawBytez\""),
            "not a Sigstore bundle",
        ),
        (
            "media.json",
            good.replace(
                "application/vnd.dev.sigstore.bundle.v0.3+json",
                "application/vnd.dev.sigstore.bundle.v0.9+json",
            ),
            "unknown bundle mediaType",
        ),
        (
            "ts.json",
            with_bad_timestamp.to_string(),
            "not a DER RFC 3161 timestamp",
        ),
        ("empty.json", String::new(), "not JSON"),
    ];
    let exact = [
        "--certificate-identity",
        DEFAULT_IDENTITY,
        "--certificate-oidc-issuer",
        GITHUB_ISSUER,
        "--format",
        "json",
    ];
    for (name, bytes, want) in cases {
        std::fs::write(s.path(name), bytes).unwrap();
        let out = s.verify(&s.path(name), &s.digest(), &exact);
        assert_exit(&out, 2);
        assert!(out.stdout.is_empty());
        let err = text(&out);
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
    // A missing bundle, a missing artifact (path mode), a bad digest.
    let out = s.verify(&s.path("nope.json"), &s.digest(), &exact);
    assert_exit(&out, 2);
    assert!(
        text(&out).contains("cannot read the bundle"),
        "{}",
        text(&out)
    );
    let bundle = s.sign("a.sigstore.json", &SignOpts::default());
    let out = s.verify(&bundle, s.path("missing.tar.gz").to_str().unwrap(), &exact);
    assert_exit(&out, 2);
    assert!(
        text(&out).contains("cannot read the artifact"),
        "{}",
        text(&out)
    );
    let out = s.verify(&bundle, "sha256:abc", &exact);
    assert_exit(&out, 2);
    assert!(
        text(&out).contains("expected sha256:<64 hex digits>"),
        "{}",
        text(&out)
    );

    // Trusted roots that are not JSON, list nothing usable, or lack a required start.
    let roots: [(&str, String, &str); 3] = [
        ("root-text.json", "not a root".into(), "bad trusted root"),
        (
            "root-empty.json",
            r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#.into(),
            "lists no certificate authority",
        ),
        (
            "root-nostart.json",
            s.pki.trusted_root_opts(RootOpts {
                tlog_start: false,
                ..RootOpts::default()
            }),
            "start",
        ),
    ];
    for (name, json, want) in roots {
        std::fs::write(s.path(name), json).unwrap();
        let out = vouch()
            .arg("verify-blob")
            .arg("--bundle")
            .arg(&bundle)
            .arg("--trusted-root")
            .arg(s.path(name))
            .args(exact)
            .arg(s.digest())
            .output()
            .unwrap();
        assert_exit(&out, 2);
        assert!(
            text(&out).contains(name) && text(&out).contains(want),
            "{name}: {}",
            text(&out)
        );
    }
    // Neither a key nor an identity; both.
    let out = vouch()
        .args(["verify-blob", "--bundle"])
        .arg(&bundle)
        .arg(s.digest())
        .output()
        .unwrap();
    assert_exit(&out, 2);
    std::fs::write(
        s.path("k.pub"),
        crate::sigstore_signer::pem_labelled("PUBLIC KEY", &s.pki.other.spki_der()),
    )
    .unwrap();
    let out = s.verify(
        &bundle,
        &s.digest(),
        &[
            &["--key", s.path("k.pub").to_str().unwrap()][..],
            &exact[..4],
        ]
        .concat(),
    );
    assert_exit(&out, 2);
    assert!(text(&out).contains("not both"), "{}", text(&out));
}

/// Regressions: bundle shapes the hand-written verifier accepted.
#[test]
fn bundle_shapes_the_specification_forbids_are_not_verified() {
    let s = Scene::new();
    let shapes = [
        (
            "v02-no-proof",
            SignOpts {
                version: BundleVersion::V02,
                inclusion_proof: false,
                ..SignOpts::default()
            },
            "tlog-entry-invalid",
        ),
        (
            "with-root",
            SignOpts {
                version: BundleVersion::V02,
                chain: crate::sigstore_signer::ChainMode::WithRoot,
                ..SignOpts::default()
            },
            "certificate-untrusted",
        ),
        (
            "v03-chain",
            SignOpts {
                chain: crate::sigstore_signer::ChainMode::WithIntermediate,
                ..SignOpts::default()
            },
            "signature-malformed",
        ),
    ];
    for (name, opts, code) in shapes {
        let bundle = s.sign(&format!("{name}.json"), &opts);
        for out in s.verify_both(&bundle) {
            assert_exit(&out, 1);
            assert!(problem(&out).starts_with(code), "{name}: {}", text(&out));
        }
    }
    // The SET alone is enough in v0.1 (cosign's legacy signatures are such bundles).
    let v01 = s.sign(
        "v01.json",
        &SignOpts {
            version: BundleVersion::V01,
            inclusion_proof: false,
            ..SignOpts::default()
        },
    );
    for out in s.verify_both(&v01) {
        assert_exit(&out, 0);
    }
}

#[test]
fn the_human_report() {
    let s = Scene::new();
    let mallory = s.sign(
        "a.sigstore.json",
        &SignOpts {
            identity: Identity::Email("mallory@example.com".into()),
            ..SignOpts::default()
        },
    );
    let out = s.verify(
        &mallory,
        s.artifact().to_str().unwrap(),
        &[
            "--certificate-identity-regexp",
            r".*@acme\.example",
            "--certificate-oidc-issuer",
            GITHUB_ISSUER,
        ],
    );
    assert_exit(&out, 1);
    let root_digest = {
        use sha2::Digest as _;
        vouch::package::hex(&sha2::Sha256::digest(std::fs::read(s.root()).unwrap()))
    };
    let dir = s.dir.path().display().to_string();
    let report = String::from_utf8(out.stdout)
        .unwrap()
        .replace(&root_digest, "<ROOT-DIGEST>")
        .replace(&dir, "<DIR>");
    insta::assert_snapshot!(report);
}

/// `vouch check` verifies `[[blob]]` entries the same way (paths beside the policy).
#[test]
fn vouch_check_verifies_blob_entries() {
    let s = Scene::new();
    s.sign("artifact.tar.gz.sigstore.json", &SignOpts::default());
    let policy = |identity: &str| {
        format!(
            "[[blob]]\npath = \"artifact.tar.gz\"\nbundle = \"artifact.tar.gz.sigstore.json\"\ncertificate-identity = \"{identity}\"\ncertificate-oidc-issuer = \"{GITHUB_ISSUER}\"\ntrusted-root = \"trusted_root.json\"\n"
        )
    };
    let check = || {
        vouch()
            .current_dir(s.dir.path())
            .args(["check", "--format", "json"])
            .output()
            .unwrap()
    };
    std::fs::write(s.path("vouch.toml"), policy(DEFAULT_IDENTITY)).unwrap();
    let out = check();
    let json = common::json(&out);
    let blob = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "verify-blob artifact.tar.gz")
        .unwrap()
        .clone();
    assert_eq!(blob["status"], "pass", "{json}");
    std::fs::write(s.path("vouch.toml"), policy("mallory@example.com")).unwrap();
    let out = check();
    assert_exit(&out, 1);
    assert!(text(&out).contains("identity-mismatch"), "{}", text(&out));
    // A bundle that is not there: the check could not run.
    std::fs::remove_file(s.path("artifact.tar.gz.sigstore.json")).unwrap();
    let out = check();
    assert_exit(&out, 2);
}

/// `vouch db status` says which trusted root is built in: its digest and how recent it is.
#[test]
fn db_status_shows_the_embedded_trusted_root() {
    let out = vouch()
        .args(["db", "status", "--db"])
        .arg(common::rustsec_db())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("sigstore:   embedded public-good trusted root")
            && stdout.contains(
                "digest:     sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
            )
            && stdout.contains("valid from: 2025-09-23T00:00:00Z (newest validFor.start)"),
        "{stdout}"
    );
}

/// Regression: with `--policy sub/vouch.toml`, the paths of `[[image]]` keys were resolved
/// against `sub/` twice (`sub/sub/k.pub`). Those of `[[blob]]` entries are resolved once.
#[test]
fn policy_paths_are_resolved_once_beside_the_policy() {
    let s = Scene::new();
    let sub = s.path("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("artifact.tar.gz"), ARTIFACT).unwrap();
    std::fs::copy(s.root(), sub.join("trusted_root.json")).unwrap();
    std::fs::write(
        sub.join("a.sigstore.json"),
        s.pki.bundle_v03_message(ARTIFACT, &SignOpts::default()),
    )
    .unwrap();
    std::fs::write(
        sub.join("k.pub"),
        crate::sigstore_signer::pem_labelled("PUBLIC KEY", &s.pki.other.spki_der()),
    )
    .unwrap();
    std::fs::write(
        sub.join("vouch.toml"),
        format!(
            "[[blob]]\npath = \"artifact.tar.gz\"\nbundle = \"a.sigstore.json\"\ncertificate-identity = \"{DEFAULT_IDENTITY}\"\ncertificate-oidc-issuer = \"{GITHUB_ISSUER}\"\ntrusted-root = \"trusted_root.json\"\n\n[[image]]\nreference = \"127.0.0.1:1/app@sha256:{}\"\nkey = [\"k.pub\"]\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let out = vouch()
        .current_dir(s.dir.path())
        .args(["check", "--policy", "sub/vouch.toml", "--format", "json"])
        .output()
        .unwrap();
    let json = common::json(&out);
    let checks = json["checks"].as_array().unwrap();
    let blob = checks
        .iter()
        .find(|c| c["name"] == "verify-blob sub/artifact.tar.gz")
        .unwrap();
    assert_eq!(blob["status"], "pass", "{json}");
    // The image's key is read (its registry, port 1 on loopback, is what fails).
    let image = checks
        .iter()
        .find(|c| {
            c["name"]
                .as_str()
                .unwrap()
                .starts_with("verify 127.0.0.1:1")
        })
        .unwrap();
    assert_eq!(image["status"], "error");
    let reason = image["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot reach") && !reason.contains("key file"),
        "{reason}"
    );
}

/// Bundles the real cosign 2.5 makes with a key and no log upload (`sign-blob` and
/// `attest-blob --key --tlog-upload=false --new-bundle-format`): no log entry and no
/// timestamp. As with `cosign verify-blob --key`, they fail without the opt-out and verify
/// with `--insecure-ignore-tlog` (shown as a weakened check), for the signed file only.
#[test]
#[ignore = "needs cosign: scripts/ci/install-verify-tools.sh"]
fn keyed_cosign_bundles_without_a_log_entry_verify_only_with_the_opt_out() {
    common::require_tool("cosign");
    let dir = common::tempdir();
    let path = |name: &str| dir.path().join(name);
    let cosign = |args: &[&str]| {
        let out = std::process::Command::new("cosign")
            .args(args)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("COSIGN_PASSWORD", "")
            .output()
            .unwrap();
        assert_exit(&out, 0);
    };
    cosign(&["generate-key-pair"]);
    std::fs::write(path("artifact.tar.gz"), ARTIFACT).unwrap();
    std::fs::write(path("other.tar.gz"), b"another artifact\n").unwrap();
    std::fs::write(
        path("predicate.json"),
        br#"{"builder":{"id":"b"},"buildType":"t"}"#,
    )
    .unwrap();
    let no_log = [
        "--key",
        "cosign.key",
        "--tlog-upload=false",
        "--new-bundle-format",
        "-y",
    ];
    cosign(
        &[
            &["sign-blob"][..],
            &no_log,
            &["--bundle", "message.json", "artifact.tar.gz"],
        ]
        .concat(),
    );
    cosign(
        &[
            &["attest-blob"][..],
            &no_log,
            &["--type", "slsaprovenance", "--predicate", "predicate.json"],
            &["--bundle", "dsse.json", "artifact.tar.gz"],
        ]
        .concat(),
    );
    let verify_with = |key: &std::path::Path, bundle: &str, artifact: &str, extra: &[&str]| {
        vouch()
            .current_dir(dir.path())
            .args(["verify-blob", "--format", "json", "--key"])
            .arg(key)
            .args(["--bundle", bundle])
            .args(extra)
            .arg(artifact)
            .output()
            .unwrap()
    };
    let key = path("cosign.pub");
    let verify =
        |bundle: &str, artifact: &str, extra: &[&str]| verify_with(&key, bundle, artifact, extra);
    let digest = {
        use sha2::Digest as _;
        format!(
            "sha256:{}",
            vouch::package::hex(&sha2::Sha256::digest(ARTIFACT))
        )
    };
    let ignore = ["--insecure-ignore-tlog"];
    for bundle in ["message.json", "dsse.json"] {
        // Without the opt-out: no log entry, not verified.
        let out = verify(bundle, "artifact.tar.gz", &[]);
        assert_exit(&out, 1);
        assert_eq!(codes(&out), ["signature-invalid"], "{bundle}");
        assert!(
            problem(&out).contains("no transparency-log entry"),
            "{}",
            problem(&out)
        );
        // With it: verified, and the report says the check was weakened.
        let out = verify(bundle, "artifact.tar.gz", &ignore);
        assert_exit(&out, 0);
        assert_eq!(codes(&out), ["verification-weakened"], "{bundle}");
        assert_eq!(common::json(&out)["artifact"]["digest"], digest.as_str());
        // Another file: never verified.
        let out = verify(bundle, "other.tar.gz", &ignore);
        assert_exit(&out, 1);
        assert!(
            problem(&out).starts_with("artifact-mismatch"),
            "{}",
            problem(&out)
        );
        // Another key: never verified.
        let other = common::tempdir();
        std::process::Command::new("cosign")
            .arg("generate-key-pair")
            .current_dir(other.path())
            .env("COSIGN_PASSWORD", "")
            .output()
            .unwrap();
        let out = verify_with(
            &other.path().join("cosign.pub"),
            bundle,
            "artifact.tar.gz",
            &ignore,
        );
        assert_exit(&out, 1);
        assert!(
            problem(&out).contains("does not verify under any given key"),
            "{}",
            problem(&out)
        );
    }
    // A statement names its subject's digest, so digest mode works for the DSSE bundle; a
    // message signature signs the file's bytes, so it needs the file.
    assert_exit(&verify("dsse.json", &digest, &ignore), 0);
    let out = verify("message.json", &digest, &ignore);
    assert_exit(&out, 1);
    assert!(problem(&out).contains("give the file"), "{}", problem(&out));
}

/// An independent model of `vouch.verify-blob/1` (docs/json-report.md) that rejects
/// unknown fields; signatures, keys and findings as in `vouch.verify/1`.
mod contract {
    use serde::Deserialize;

    pub use crate::verify::contract::{Claim, Finding, Key, Signature};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Report {
        pub schema: String,
        pub verdict: String,
        pub artifact: Artifact,
        pub bundle: String,
        pub policy: Policy,
        pub signatures: Vec<Signature>,
        pub findings: Vec<Finding>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Artifact {
        pub requested: String,
        pub path: Option<String>,
        pub digest: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Policy {
        pub kind: String,
        pub keys: Vec<Key>,
        pub identity: Option<String>,
        pub issuer: Option<String>,
        pub trusted_root: String,
        pub signers: Vec<String>,
        pub tlog: String,
    }
}

const RELEASE_WORKFLOW: &str = "acme/app/.github/workflows/release.yml";

fn report(out: &Output) -> contract::Report {
    let report: contract::Report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)));
    assert_eq!(report.schema, "vouch.verify-blob/1");
    report
}

fn claim<'a>(report: &'a contract::Report, name: &str) -> &'a contract::Claim {
    report.signatures[0]
        .claims
        .iter()
        .find(|c| c.claim == name)
        .unwrap_or_else(|| panic!("no claim {name}: {:?}", report.signatures[0].claims))
}

/// The common case: a certificate from GitHub Actions (SAN with `@refs/tags/v1.2.3`, the
/// `.8` issuer, `.9`–`.14` and the deprecated `.2`–`.6`), verified with only the workflow
/// and a tag glob; the report lists every claim matched and its value.
#[test]
fn a_github_workflow_and_a_ref_glob_are_the_whole_keyless_policy() {
    let s = Scene::new();
    let run = GitHubRun::release();
    let bundle = s.sign("gh.sigstore.json", &run.sign_opts());
    let artifact = s.artifact();
    let structured = [
        "--github-workflow",
        RELEASE_WORKFLOW,
        "--certificate-github-workflow-ref",
        "refs/tags/v*",
        "--format",
        "json",
    ];
    let out = s.verify(&bundle, artifact.to_str().unwrap(), &structured);
    assert_exit(&out, 0);
    let r = report(&out);
    assert_eq!(r.verdict, "pass");
    assert!(r.findings.is_empty());
    assert_eq!(r.artifact.requested, artifact.display().to_string());
    assert_eq!(
        r.artifact.path.as_deref(),
        Some(r.artifact.requested.as_str())
    );
    assert_eq!(r.artifact.digest, s.digest());
    assert_eq!(r.bundle, bundle.display().to_string());
    assert_eq!(
        (r.policy.kind.as_str(), r.policy.tlog.as_str()),
        ("keyless", "required")
    );
    assert!(r.policy.keys.is_empty() && r.policy.trusted_root.contains("trusted_root.json"));
    assert_eq!(
        r.policy.identity.as_deref(),
        Some("glob \"https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v*\"")
    );
    assert_eq!(
        r.policy.issuer.as_deref(),
        Some(&*format!("{GITHUB_ISSUER:?}"))
    );
    assert_eq!(
        r.signatures[0].claims,
        [
            contract::Claim {
                claim: "identity".into(),
                oid: "2.5.29.17".into(),
                kind: "glob".into(),
                expected: format!("https://github.com/{RELEASE_WORKFLOW}@refs/tags/v*"),
                found: Some(run.identity()),
                matched: true,
            },
            contract::Claim {
                claim: "issuer".into(),
                oid: "1.3.6.1.4.1.57264.1.8".into(),
                kind: "exact".into(),
                expected: GITHUB_ISSUER.into(),
                found: Some(GITHUB_ISSUER.into()),
                matched: true,
            },
            contract::Claim {
                claim: "source-repository-ref".into(),
                oid: "1.3.6.1.4.1.57264.1.14".into(),
                kind: "glob".into(),
                expected: "refs/tags/v*".into(),
                found: Some("refs/tags/v1.2.3".into()),
                matched: true,
            },
            contract::Claim {
                claim: "github-workflow-ref".into(),
                oid: "1.3.6.1.4.1.57264.1.6".into(),
                kind: "glob".into(),
                expected: "refs/tags/v*".into(),
                found: Some("refs/tags/v1.2.3".into()),
                matched: true,
            },
        ]
    );
    // The same in digest mode; and every cosign-named flag and extension by name.
    assert_exit(&s.verify(&bundle, &s.digest(), &structured), 0);
    let out = s.verify(
        &bundle,
        artifact.to_str().unwrap(),
        &[
            "--github-workflow",
            RELEASE_WORKFLOW,
            "--certificate-github-workflow-ref",
            "refs/tags/v1.2.3",
            "--certificate-github-workflow-repository",
            "acme/app",
            "--certificate-github-workflow-name",
            "Release",
            "--certificate-github-workflow-sha",
            &run.sha,
            "--certificate-github-workflow-trigger",
            "push",
            "--certificate-extension",
            "runner-environment=github-hosted",
            "--certificate-extension",
            &format!("build-signer-uri={}", run.identity()),
            "--format",
            "json",
        ],
    );
    assert_exit(&out, 0);
    let r = report(&out);
    for (name, kind, found) in [
        (
            "source-repository-uri",
            "exact",
            "https://github.com/acme/app",
        ),
        ("github-workflow-repository", "exact", "acme/app"),
        ("github-workflow-name", "exact", "Release"),
        ("source-repository-digest", "exact", run.sha.as_str()),
        ("build-trigger", "exact", "push"),
        ("runner-environment", "exact", "github-hosted"),
        ("build-signer-uri", "exact", run.identity().as_str()),
    ] {
        let c = claim(&r, name);
        assert_eq!(
            (c.kind.as_str(), c.found.as_deref(), c.matched),
            (kind, Some(found), true)
        );
    }
    // A fixed ref makes the identity exact.
    assert_eq!(r.policy.identity, Some(format!("{:?}", run.identity())));
}

/// Each claim that does not hold fails the verification (exit 1) with a finding that names
/// the claim, what the policy wanted and what the certificate says.
#[test]
fn a_wrong_ref_repository_or_missing_extension_is_a_finding_naming_the_claim() {
    let s = Scene::new();
    let run = GitHubRun::release();
    let bundle = s.sign("gh.sigstore.json", &run.sign_opts());
    let artifact = s.artifact();
    let verify = |extra: &[&str]| {
        let mut args = vec!["--github-workflow", RELEASE_WORKFLOW, "--format", "json"];
        args.extend_from_slice(extra);
        s.verify(&bundle, artifact.to_str().unwrap(), &args)
    };
    // Another ref: the derived identity does not match, and the report shows why.
    let out = verify(&["--certificate-github-workflow-ref", "refs/heads/main"]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["identity-mismatch"]);
    assert!(
        problem(&out).starts_with("signature-identity-mismatch: "),
        "{}",
        problem(&out)
    );
    let r = report(&out);
    assert!(!claim(&r, "identity").matched && !claim(&r, "source-repository-ref").matched);
    assert_eq!(
        claim(&r, "source-repository-ref").found.as_deref(),
        Some("refs/tags/v1.2.3")
    );
    assert!(r.signatures[0].verified_by.is_empty() && r.policy.signers.is_empty());

    // Another repository.
    let out = verify(&[
        "--certificate-github-workflow-ref",
        "refs/tags/v*",
        "--certificate-github-workflow-repository",
        "acme/fork",
    ]);
    assert_exit(&out, 1);
    assert_eq!(codes(&out), ["identity-mismatch"]);
    let p = problem(&out);
    assert!(
        p.starts_with("signature-claim-mismatch: ")
            && p.contains("source-repository-uri (1.3.6.1.4.1.57264.1.12) is \"https://github.com/acme/app\", policy wants \"https://github.com/acme/fork\"")
            && p.contains("github-workflow-repository (1.3.6.1.4.1.57264.1.5) is \"acme/app\", policy wants \"acme/fork\""),
        "{p}"
    );
    let message = &common::json(&out)["findings"][0]["message"];
    assert!(
        message.as_str().unwrap().contains("source-repository-uri"),
        "{message}"
    );

    // An extension the certificate does not carry.
    let out = verify(&[
        "--certificate-extension",
        "deployment-environment=production",
    ]);
    assert_exit(&out, 1);
    assert!(
        problem(&out).contains(
            "deployment-environment (1.3.6.1.4.1.57264.1.23) is absent, policy wants \"production\""
        ),
        "{}",
        problem(&out)
    );
    let r = report(&out);
    let c = claim(&r, "deployment-environment");
    assert_eq!((c.found.as_deref(), c.matched), (None, false));

    // A certificate without any ref claim cannot satisfy a ref.
    let bare = s.sign(
        "bare.sigstore.json",
        &SignOpts {
            extensions: Vec::new(),
            ..run.sign_opts()
        },
    );
    let out = s.verify(
        &bare,
        artifact.to_str().unwrap(),
        &[
            "--github-workflow",
            RELEASE_WORKFLOW,
            "--certificate-github-workflow-ref",
            "refs/tags/v*",
        ],
    );
    assert_exit(&out, 1);
    assert!(
        text(&out).contains("source-repository-ref (1.3.6.1.4.1.57264.1.14) is absent"),
        "{}",
        text(&out)
    );
}

/// A reusable workflow: the SAN names the shared workflow at its ref, the source
/// extensions the calling repository and its tag.
#[test]
fn a_reusable_workflow_is_matched_by_its_own_ref_and_the_callers_repository() {
    let s = Scene::new();
    let run = GitHubRun {
        workflow: "acme/shared/.github/workflows/build.yml@refs/heads/main".into(),
        ..GitHubRun::release()
    };
    let bundle = s.sign("reusable.sigstore.json", &run.sign_opts());
    let artifact = s.artifact();
    let verify = |workflow: &str, repository: &str| {
        s.verify(
            &bundle,
            artifact.to_str().unwrap(),
            &[
                "--github-workflow",
                workflow,
                "--certificate-github-workflow-ref",
                "refs/tags/v*",
                "--certificate-github-workflow-repository",
                repository,
                "--format",
                "json",
            ],
        )
    };
    let shared = "acme/shared/.github/workflows/build.yml@refs/heads/main";
    let out = verify(shared, "acme/app");
    assert_exit(&out, 0);
    let r = report(&out);
    assert_eq!(
        claim(&r, "source-repository-uri").found.as_deref(),
        Some("https://github.com/acme/app")
    );
    assert_eq!(claim(&r, "identity").found, Some(run.identity()));
    // The shared workflow's repository is not the source; the caller's workflow did not sign.
    assert_exit(&verify(shared, "acme/shared"), 1);
    assert_exit(&verify(RELEASE_WORKFLOW, "acme/app"), 1);
    // Without its @REF the workflow's ref is the tag glob, and the SAN says main.
    assert_exit(
        &verify("acme/shared/.github/workflows/build.yml", "acme/app"),
        1,
    );
}

/// Settings that cannot make a policy are errors before anything is read (exit 2).
#[test]
fn structured_keyless_flags_that_make_no_policy_are_errors() {
    let s = Scene::new();
    let bundle = s.sign("gh.sigstore.json", &GitHubRun::release().sign_opts());
    let artifact = s.artifact();
    let cases: [(&[&str], &str); 7] = [
        (
            &[
                "--github-workflow",
                RELEASE_WORKFLOW,
                "--certificate-identity",
                DEFAULT_IDENTITY,
            ],
            "give --github-workflow or --certificate-identity(-regexp), not both",
        ),
        (
            &[
                "--github-workflow",
                RELEASE_WORKFLOW,
                "--certificate-oidc-issuer",
                GITHUB_ISSUER,
            ],
            "--github-workflow derives the issuer",
        ),
        (
            &["--github-workflow", "acme/app"],
            "expected OWNER/REPO/.github/workflows/FILE.yml",
        ),
        (
            &["--certificate-github-workflow-ref", "refs/tags/v*"],
            "needs --certificate-identity or --certificate-identity-regexp (or --github-workflow)",
        ),
        (
            &[
                "--github-workflow",
                RELEASE_WORKFLOW,
                "--certificate-extension",
                "runner=x",
            ],
            "unknown certificate extension `runner`; known: github-workflow-trigger",
        ),
        (
            &[
                "--github-workflow",
                RELEASE_WORKFLOW,
                "--certificate-extension",
                "runner-environment",
            ],
            "expected NAME=VALUE",
        ),
        (
            &[
                "--github-workflow",
                RELEASE_WORKFLOW,
                "--certificate-extension",
                "runner-environment=a",
                "--certificate-extension",
                "runner-environment=b",
            ],
            "given twice",
        ),
    ];
    for (args, want) in cases {
        let out = s.verify(&bundle, artifact.to_str().unwrap(), args);
        assert_exit(&out, 2);
        assert!(out.stdout.is_empty());
        assert!(text(&out).contains(want), "{args:?}: {}", text(&out));
    }
}

/// The human report lists the claims under the signer.
#[test]
fn the_human_report_lists_the_claims() {
    let s = Scene::new();
    let bundle = s.sign("gh.sigstore.json", &GitHubRun::release().sign_opts());
    let out = s.verify(
        &bundle,
        s.artifact().to_str().unwrap(),
        &[
            "--github-workflow",
            RELEASE_WORKFLOW,
            "--certificate-github-workflow-ref",
            "refs/tags/v*",
            "--certificate-extension",
            "runner-environment=self-hosted",
        ],
    );
    assert_exit(&out, 1);
    let root_digest = {
        use sha2::Digest as _;
        vouch::package::hex(&sha2::Sha256::digest(std::fs::read(s.root()).unwrap()))
    };
    let dir = s.dir.path().display().to_string();
    let report = String::from_utf8(out.stdout)
        .unwrap()
        .replace(&root_digest, "<ROOT-DIGEST>")
        .replace(&dir, "<DIR>");
    insta::assert_snapshot!(report);
}

fn blob_check(report: &crate::json_contract::CheckReport) -> &crate::json_contract::Check {
    let found = report
        .checks
        .iter()
        .find(|c| c.name == "verify-blob artifact.tar.gz");
    found.unwrap()
}

/// `vouch check` with a `[[blob]]` in the structured form: it passes for the release
/// workflow's tag, fails for another ref, and its JSON and human reports list the claims.
#[test]
fn vouch_check_verifies_a_structured_blob_entry_and_reports_its_claims() {
    let s = Scene::new();
    s.sign(
        "artifact.tar.gz.sigstore.json",
        &GitHubRun::release().sign_opts(),
    );
    let policy = |git_ref: &str| {
        format!(
            "[[blob]]\npath = \"artifact.tar.gz\"\nbundle = \"artifact.tar.gz.sigstore.json\"\ngithub-workflow = \"{RELEASE_WORKFLOW}\"\nref = \"{git_ref}\"\nrepository = \"acme/app\"\ncertificate-extensions = {{ runner-environment = \"github-hosted\" }}\ntrusted-root = \"trusted_root.json\"\n"
        )
    };
    let check = |format: &str| {
        vouch()
            .current_dir(s.dir.path())
            .args(["check", "--format", format])
            .output()
            .unwrap()
    };
    std::fs::write(s.path("vouch.toml"), policy("refs/tags/v*")).unwrap();
    let out = check("json");
    assert_exit(&out, 0);
    let report: crate::json_contract::CheckReport =
        serde_json::from_slice(&out.stdout).expect("documented schema");
    let blob = blob_check(&report);
    assert_eq!(blob.status, "pass");
    let claims = crate::verify::contract::found(&blob.claims);
    assert_eq!(
        claims,
        [
            ("identity", &*GitHubRun::release().identity(), true),
            ("issuer", GITHUB_ISSUER, true),
            ("source-repository-ref", "refs/tags/v1.2.3", true),
            ("github-workflow-ref", "refs/tags/v1.2.3", true),
            ("source-repository-uri", "https://github.com/acme/app", true),
            ("github-workflow-repository", "acme/app", true),
            ("runner-environment", "github-hosted", true),
        ]
    );
    assert_eq!(blob.claims[4].oid, "1.3.6.1.4.1.57264.1.12");
    let r = &blob.claims[2];
    assert_eq!(
        (r.kind.as_str(), r.expected.as_str()),
        ("glob", "refs/tags/v*")
    );
    let redact = |out: Output| {
        let root_digest = {
            use sha2::Digest as _;
            vouch::package::hex(&sha2::Sha256::digest(std::fs::read(s.root()).unwrap()))
        };
        String::from_utf8(out.stdout)
            .unwrap()
            .replace(&root_digest, "<ROOT-DIGEST>")
            .replace(&s.dir.path().display().to_string(), "<DIR>")
    };
    insta::assert_snapshot!("structured_blob_check_human", redact(check("human")));
    insta::assert_snapshot!("structured_blob_check_markdown", redact(check("markdown")));
    let human = text(&check("human"));
    assert!(
        human.contains("claim source-repository-ref (1.3.6.1.4.1.57264.1.14) \"refs/tags/v1.2.3\" matches glob \"refs/tags/v*\""),
        "{human}"
    );
    let markdown = String::from_utf8(check("markdown").stdout).unwrap();
    assert!(
        markdown.contains("| source-repository-ref | 1.3.6.1.4.1.57264.1.14 | glob \"refs/tags/v\\*\" | refs/tags/v1.2.3 | ✅ |"),
        "{markdown}"
    );
    // Another ref: the gate fails, naming the claim.
    std::fs::write(s.path("vouch.toml"), policy("refs/heads/main")).unwrap();
    let out = check("json");
    assert_exit(&out, 1);
    let report: crate::json_contract::CheckReport = serde_json::from_slice(&out.stdout).unwrap();
    let blob = blob_check(&report);
    assert_eq!(blob.status, "fail");
    assert!(
        blob.claims
            .iter()
            .any(|c| c.claim == "source-repository-ref" && !c.matched)
    );
    assert!(text(&out).contains("identity-mismatch"), "{}", text(&out));
}

/// cosign 2.5 reads the test signer's deprecated GitHub extensions (`.2`–`.6`) as vouch
/// does: the same `--certificate-github-workflow-*` flags pass on both and a wrong value
/// fails on both.
#[test]
#[ignore = "needs cosign: scripts/ci/install-verify-tools.sh"]
fn cosign_and_vouch_agree_on_the_github_workflow_flags() {
    common::require_tool("cosign");
    let s = Scene::new();
    let run = GitHubRun::release();
    let bundle = s.sign("gh.sigstore.json", &run.sign_opts());
    let flags = |repository: &str| -> Vec<String> {
        [
            ("--certificate-identity", run.identity().as_str()),
            ("--certificate-oidc-issuer", GITHUB_ISSUER),
            ("--certificate-github-workflow-ref", "refs/tags/v1.2.3"),
            ("--certificate-github-workflow-repository", repository),
            ("--certificate-github-workflow-name", "Release"),
            ("--certificate-github-workflow-sha", run.sha.as_str()),
            ("--certificate-github-workflow-trigger", "push"),
        ]
        .iter()
        .flat_map(|(f, v)| [f.to_string(), v.to_string()])
        .collect()
    };
    let cosign = |flags: &[String]| {
        std::process::Command::new("cosign")
            .args(["verify-blob", "--new-bundle-format", "--offline"])
            .arg("--bundle")
            .arg(&bundle)
            .arg("--trusted-root")
            .arg(s.root())
            .args(flags)
            .arg(s.artifact())
            .env("HOME", s.dir.path())
            .env("TUF_ROOT", s.path("tuf"))
            .output()
            .unwrap()
    };
    let vouch_with = |flags: &[String]| {
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        s.verify(&bundle, s.artifact().to_str().unwrap(), &flags)
    };
    let right = flags("acme/app");
    assert_exit(&cosign(&right), 0);
    assert_exit(&vouch_with(&right), 0);
    let wrong = flags("acme/fork");
    let out = cosign(&wrong);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert_exit(&vouch_with(&wrong), 1);
}

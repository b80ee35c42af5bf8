//! The sigstore-conformance bundle-verify suite (`../shared/sigstore-conformance`, README
//! there) through the real `vouch verify-blob`, the way the suite's runner drives a
//! client: every case, once with the artifact as a file and once as `sha256:<hex>` (the
//! file then never read), 140 results, each asserted. None is skipped: the cases are
//! whatever folders the suite holds, and their number is checked.
//!
//! A `_fail` case must end in exit 1 (the bundle reads fine and does not verify: a
//! finding) or, where the bundle, key or trusted root itself cannot be read as one, exit 2
//! with the file named; which of the two is pinned per case below. Every other case must
//! verify (exit 0) with the signer the case names.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{self, vouch};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// `_fail` cases whose bundle, key or trusted root does not read as one: exit 2, naming
/// the file. (Every other `_fail` case is a bundle that reads and does not verify: exit 1.)
const COULD_NOT_VERIFY: &[(&str, &str)] = &[
    // base64 with a `!` in the signature
    (
        "bundle-invalid-base64-signature_fail",
        "bundle.sigstore.json",
    ),
    ("bundle-malformed-json_fail", "bundle.sigstore.json"),
    ("bundle-negative-log-index_fail", "bundle.sigstore.json"),
    ("bundle-unknown-version_fail", "bundle.sigstore.json"),
    // the PEM key's base64 ends in `wrongkey==`
    ("managed-key-wrong-key_fail", "key.pub"),
    // checkpoints that are not signed notes
    (
        "rekor2-checkpoint-missing-log-signature_fail",
        "bundle.sigstore.json",
    ),
    (
        "rekor2-checkpoint-missing-origin_fail",
        "bundle.sigstore.json",
    ),
    (
        "rekor2-checkpoint-missing-root-hash_fail",
        "bundle.sigstore.json",
    ),
    (
        "rekor2-checkpoint-missing-size_fail",
        "bundle.sigstore.json",
    ),
    // the timestamp's base64 is wrapped at 76 columns (see `timestamp_outside_...` below)
    (
        "rekor2-timestamp-with-incorrect-time_fail",
        "bundle.sigstore.json",
    ),
    // a Rekor key whose validFor has no start
    (
        "trust-root-tlog-missing-validity-start_fail",
        "trusted_root.json",
    ),
];

struct Case {
    name: String,
    dir: PathBuf,
    artifact: PathBuf,
    identity: String,
    issuer: String,
    key: Option<PathBuf>,
    root: Option<PathBuf>,
}

impl Case {
    fn must_fail(&self) -> bool {
        self.name.ends_with("fail")
    }
}

fn suite() -> PathBuf {
    common::shared_dir().join("sigstore-conformance/bundle-verify")
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn cases() -> Vec<Case> {
    let suite = suite();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let file = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                artifact: file("artifact").unwrap_or_else(|| suite.join("a.txt")),
                identity: read_trimmed(&dir.join("identity"))
                    .unwrap_or_else(|| DEFAULT_IDENTITY.into()),
                issuer: read_trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()),
                key: file("key.pub"),
                root: file("trusted_root.json"),
                dir,
            }
        })
        .collect()
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest as _;
    vouch::package::hex(&sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// `vouch verify-blob` as the suite's runner calls a client: the bundle, the identity and
/// issuer or the key, the case's trusted root if it has one (else the embedded
/// production root), and the artifact as a path or as its digest.
fn verify_blob(case: &Case, bundle: &Path, digest_mode: bool) -> Output {
    let mut cmd = vouch();
    cmd.arg("verify-blob").arg("--bundle").arg(bundle);
    match &case.key {
        Some(key) => cmd.arg("--key").arg(key),
        None => cmd
            .args(["--certificate-identity", &case.identity])
            .args(["--certificate-oidc-issuer", &case.issuer]),
    };
    if let Some(root) = &case.root {
        cmd.arg("--trusted-root").arg(root);
    }
    cmd.args(["--format", "json"]);
    if digest_mode {
        cmd.arg(format!("sha256:{}", sha256_hex(&case.artifact)));
    } else {
        cmd.arg(&case.artifact);
    }
    cmd.output().unwrap()
}

/// What is wrong with one result, if anything.
fn judge(case: &Case, digest_mode: bool, out: &Output) -> Option<String> {
    let mode = if digest_mode { "digest" } else { "path" };
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let wrong = |why: String| Some(format!("{} ({mode}): {why}", case.name));
    let could_not = COULD_NOT_VERIFY.iter().find(|(name, _)| *name == case.name);
    match (case.must_fail(), could_not) {
        (false, _) => {
            if code != Some(0) {
                return wrong(format!("exit {code:?}, expected 0: {stderr}"));
            }
            let json = common::json(out);
            let signers = json["policy"]["signers"].as_array().unwrap();
            let want = match &case.key {
                Some(_) => json["policy"]["keys"][0]["fingerprint"].clone(),
                None => format!("{} ({})", case.identity, case.issuer).into(),
            };
            if json["verdict"] != "pass" || signers != &[want] {
                return wrong(format!("verified, but the report says {json}"));
            }
            if digest_mode != json["artifact"]["path"].is_null() {
                return wrong(format!("artifact.path is {}", json["artifact"]["path"]));
            }
        }
        (true, Some((_, file))) => {
            if code != Some(2) {
                return wrong(format!("exit {code:?}, expected 2: {stderr}"));
            }
            if !stderr.contains(file) || !out.stdout.is_empty() {
                return wrong(format!("the error does not name {file}: {stderr}"));
            }
        }
        (true, None) => {
            if code != Some(1) {
                return wrong(format!("exit {code:?}, expected 1: {stderr}"));
            }
            let json = common::json(out);
            let problem = json["signatures"][0]["problem"].as_str().unwrap_or("");
            if json["verdict"] != "fail"
                || problem.is_empty()
                || !json["policy"]["signers"].as_array().unwrap().is_empty()
                || json["findings"][0]["code"].as_str().is_none()
            {
                return wrong(format!("refused, but the report says {json}"));
            }
        }
    }
    None
}

#[test]
fn every_conformance_case_in_path_and_digest_mode() {
    let cases = cases();
    assert_eq!(cases.len(), 70, "the suite's bundle-verify cases");
    for (name, _) in COULD_NOT_VERIFY {
        assert!(
            cases.iter().any(|c| &c.name == name),
            "{name} is not in the suite"
        );
    }
    let mut results = 0;
    let mut wrong = Vec::new();
    for case in &cases {
        for digest_mode in [false, true] {
            let out = verify_blob(case, &case.dir.join("bundle.sigstore.json"), digest_mode);
            results += 1;
            wrong.extend(judge(case, digest_mode, &out));
        }
    }
    assert_eq!(results, 140);
    assert!(
        wrong.is_empty(),
        "{} of 140 judged wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn case(name: &str) -> Case {
    cases().into_iter().find(|c| c.name == name).unwrap()
}

/// The suite wraps this case's timestamp base64 at 76 columns, which the library refuses
/// as malformed (exit 2 above), so the check the case is about never runs on it. With the
/// line breaks removed the timestamp reads, verifies, and its time is outside the signing
/// certificate's validity: refused for that reason.
#[test]
fn a_timestamp_outside_the_certificate_validity_is_refused_when_it_reads() {
    let case = case("rekor2-timestamp-with-incorrect-time_fail");
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.dir.join("bundle.sigstore.json")).unwrap())
            .unwrap();
    let ts = &mut bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        [0]["signedTimestamp"];
    assert!(ts.as_str().unwrap().contains('\n'));
    *ts = ts.as_str().unwrap().replace('\n', "").into();
    let dir = common::tempdir();
    let path = dir.path().join("bundle.sigstore.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    for digest_mode in [false, true] {
        let out = verify_blob(&case, &path, digest_mode);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let problem = common::json(&out)["signatures"][0]["problem"].to_string();
        assert!(
            problem.contains("certificate-not-valid-at-signing-time")
                && problem.contains("CertExpired"),
            "{problem}"
        );
    }
}

/// Regression: a root certificate appended to `x509CertificateChain` was accepted. vouch
/// refuses it itself (sigstore-verify would accept it), before anything else about the
/// bundle is looked at.
#[test]
fn a_bundle_carrying_its_root_certificate_is_refused_for_that() {
    let case = case("bundle-with-root-cert_fail");
    let out = verify_blob(&case, &case.dir.join("bundle.sigstore.json"), false);
    assert_eq!(out.status.code(), Some(1));
    let problem = common::json(&out)["signatures"][0]["problem"].to_string();
    assert!(problem.contains("is a root certificate"), "{problem}");
}

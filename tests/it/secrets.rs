//! No secret reaches any output. Runs are made with known credentials — a password in the
//! Docker config, right and wrong, and the bearer tokens the token service issued for it
//! — against the real registry validating real tokens, and every output is captured:
//! stdout and stderr of `vouch verify` (human, json) and of `vouch check` (human, json)
//! and every report file `vouch check` writes (sarif, junit, markdown, json). None may
//! hold the passwords, their base64 `user:password` forms, a token, or an
//! `Authorization`/`Bearer`/`Basic` header.

use std::path::Path;
use std::process::Output;

use base64::Engine as _;

use crate::common::vouch;
use crate::registry::{self, Key, PASSWORD, Registry, USER};

const WRONG_PASSWORD: &str = "wr0ng-Pa55word-0c4e";

fn all_output(out: &Output, files: &[&Path]) -> String {
    let mut all = crate::verify::text(out);
    for f in files {
        all.push_str(&std::fs::read_to_string(f).unwrap_or_default());
    }
    all
}

#[track_caller]
fn assert_no_secret(all: &str, reg: &Registry) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut secrets = vec![
        PASSWORD.to_string(),
        WRONG_PASSWORD.to_string(),
        b64.encode(format!("{USER}:{PASSWORD}")),
        b64.encode(format!("{USER}:{WRONG_PASSWORD}")),
    ];
    secrets.extend(reg.tokens());
    for secret in &secrets {
        assert!(!all.contains(secret.as_str()), "secret leaked: {all}");
    }
    for header in ["Authorization", "authorization:", "Bearer ", "Basic "] {
        assert!(!all.contains(header), "{header:?} in output: {all}");
    }
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn no_password_or_token_in_any_output_of_verify_or_check() {
    registry::tools();
    let reg = Registry::start_token_auth();
    let key = Key::generate();
    let digest = reg.push_image("secret", "v1");
    let image = format!("{}@{digest}", reg.repo("secret"));
    reg.sign(&key, &image);

    let dir = crate::common::tempdir();
    std::fs::copy(&key.public, dir.path().join("cosign.pub")).unwrap();
    std::fs::write(
        dir.path().join("vouch.toml"),
        format!(
            "[[image]]\nreference = \"{image}\"\nkey = [\"cosign.pub\"]\nignore-tlog = true\nattestations = [\"slsaprovenance\"]\n"
        ),
    )
    .unwrap();
    let reports =
        ["vouch.sarif", "junit.xml", "summary.md", "report.json"].map(|f| dir.path().join(f));
    let report_refs: Vec<&Path> = reports.iter().map(|p| p.as_path()).collect();

    let mut runs = 0;
    for (password, verify_exit, check_exit) in [(PASSWORD, 0, 1), (WRONG_PASSWORD, 2, 2)] {
        let config = reg.docker_config(password);
        for format in ["human", "json"] {
            let out = vouch()
                .args([
                    "verify",
                    "--key",
                    key.public.to_str().unwrap(),
                    "--insecure-ignore-tlog",
                    "--format",
                    format,
                    &image,
                ])
                .env("DOCKER_CONFIG", config.path())
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(verify_exit),
                "{}",
                all_output(&out, &[])
            );
            assert_no_secret(&all_output(&out, &[]), &reg);
            runs += 1;

            for r in &reports {
                let _ = std::fs::remove_file(r);
            }
            // The attestation is missing, so a good login still fails the gate (exit 1)
            // and every report has something to say about the image.
            let out = vouch()
                .current_dir(dir.path())
                .args(["check", "--format", format])
                .args([
                    "--output",
                    "sarif=vouch.sarif",
                    "--output",
                    "junit=junit.xml",
                ])
                .args([
                    "--output",
                    "markdown=summary.md",
                    "--output",
                    "json=report.json",
                ])
                .env("DOCKER_CONFIG", config.path())
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(check_exit),
                "{}",
                all_output(&out, &[])
            );
            let all = all_output(&out, &report_refs);
            assert!(
                all.contains("secret@sha256"),
                "the reports name the image: {all}"
            );
            assert_no_secret(&all, &reg);
            runs += 1;
        }
    }
    assert_eq!(runs, 8);
    assert!(
        reg.tokens_issued() >= 2,
        "the good runs were made with real tokens"
    );
}

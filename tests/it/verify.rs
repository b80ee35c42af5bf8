//! `vouch verify` against a real registry (docker-registry on 127.0.0.1), images pushed
//! by skopeo and signed/attested by the real cosign 2.5 (see tests/it/registry.rs), on
//! the shared harness in tests/it/verify_harness.rs.
//!
//! Decision recorded here: a registry that serves bytes which do not hash to the digest
//! they were asked for is broken or hostile; nothing it says can be checked, so that is an
//! error (exit 2), for manifests and blobs alike — never a pass, and not a finding about
//! the image.

use std::io::Write as _;

use base64::Engine as _;

use crate::common;
use crate::registry::{self, Key, PASSWORD, Registry, USER, read_request};
use crate::verify_harness::{
    Image, attach_openssl_signature, ed25519_key_file, image_on, openssl, openssl_genpkey, verify,
};
pub(crate) use crate::verify_harness::{assert_exit, codes, text};

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_valid_keyed_signature_verifies_and_prints_the_digest() {
    registry::tools();
    let img = Image::signed("app");
    let run = img.verify().run(&img.image).exit(0);
    run.prints(&img.digest).prints("verified");

    let run = img.verify().json().run(&img.image).exit(0);
    let json = run.json();
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["image"]["digest"], img.digest);
    assert_eq!(json["policy"]["keys"][0]["signed"], true);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_tag_is_resolved_to_its_digest_and_reported() {
    registry::tools();
    let img = Image::signed("tagged");
    let json = img.verify().json().run(&img.tag("v1")).exit(0).json();
    assert_eq!(json["image"]["digest"], img.digest);
    assert_eq!(json["image"]["resolved_from_tag"], "v1");
    assert_eq!(json["image"]["reference"], img.image);
    img.verify()
        .run(&img.tag("v1"))
        .prints(&format!("digest      {}", img.digest));
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn require_digest_refuses_a_tag() {
    registry::tools();
    let img = Image::signed("strict");
    img.verify()
        .arg("--require-digest")
        .run(&img.tag("v1"))
        .exit(2)
        .says("--require-digest");
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn threshold_counts_distinct_keys() {
    registry::tools();
    let img = Image::signed("multi");
    let (k1, k2, k3) = (&img.key, Key::generate(), Key::generate());
    img.reg.sign(&k2, &img.image);
    let two = ["--threshold", "2"];
    verify().key(k1).key(&k2).args(two).run(&img.image).exit(0);
    // k3 never signed: two of {k1, k3} cannot be met.
    verify()
        .key(k1)
        .key(&k3)
        .args(two)
        .json()
        .run(&img.image)
        .exit(1)
        .codes_are(&["signature-invalid"]);
    // The same key twice is one key.
    verify().key(k1).key(k1).args(two).run(&img.image).exit(2);
    // cosign's rule (any one key) is the default.
    verify().key(&k3).key(k1).run(&img.image).exit(0);
}

/// Regression (issue 15): one RSA key in two files counted as two principals, so one
/// signature met `--threshold 2`. The files differ only in the AlgorithmIdentifier's
/// parameters: NULL, as `openssl pkey -pubout` writes it, and absent, which openssl has
/// no option to write; that file is openssl's re-encoded with the spki crate, and openssl
/// reads it back as the same key.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn one_rsa_key_written_two_ways_is_one_principal() {
    use der::{Decode as _, Encode as _};
    registry::tools();
    let img = Image::unsigned("rsa-twice");
    let dir = common::tempdir();
    let d = dir.path();
    openssl_genpkey(d, "RSA:2048", "rsa.key");
    openssl(
        d,
        &["pkey", "-in", "rsa.key", "-pubout", "-out", "null.pub"],
    );
    let null_pem = std::fs::read_to_string(d.join("null.pub")).unwrap();
    let (_, null_der) = der::pem::decode_vec(null_pem.as_bytes()).unwrap();
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&null_der).unwrap();
    assert_eq!(spki.algorithm.parameters, Some(der::asn1::AnyRef::NULL));
    let absent = spki::SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: spki.algorithm.oid,
            parameters: None,
        },
        subject_public_key: spki.subject_public_key,
    }
    .to_der()
    .unwrap();
    assert_ne!(absent, null_der);
    let absent_pem =
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &absent).unwrap();
    std::fs::write(d.join("absent.pub"), &absent_pem).unwrap();
    let reread = openssl(d, &["pkey", "-pubin", "-in", "absent.pub", "-pubout"]).stdout;
    assert_eq!(
        String::from_utf8(reread).unwrap(),
        null_pem,
        "openssl: one key"
    );

    attach_openssl_signature(&img.reg, &img.image, d, "rsa.key", "-sha256");
    let both = || {
        verify()
            .key_file(d.join("null.pub"))
            .key_file(d.join("absent.pub"))
    };
    both()
        .args(["--threshold", "2"])
        .run(&img.image)
        .exit(2)
        .says("--threshold 2 can never be met by 1 distinct key(s)");
    let json = both().json().run(&img.image).exit(0).json();
    assert_eq!(json["policy"]["keys"].as_array().unwrap().len(), 1);
    // Each file alone verifies, under the one fingerprint.
    let fingerprint = |file: &str| {
        let json = verify()
            .key_file(d.join(file))
            .json()
            .run(&img.image)
            .exit(0)
            .json();
        json["policy"]["keys"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(fingerprint("absent.pub"), fingerprint("null.pub"));
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn another_key_is_signature_invalid() {
    registry::tools();
    let img = Image::signed("otherkey");
    verify()
        .key(&Key::generate())
        .json()
        .run(&img.image)
        .exit(1)
        .codes_are(&["signature-invalid"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_tampered_payload_is_signature_invalid() {
    registry::tools();
    let img = Image::signed("tampered");
    // Fetch the real .sig manifest, flip one byte of the payload, re-upload it.
    let layout = img.reg.pull_layout(&img.sig_tag());
    let mut manifest = registry::layout_manifest(layout.path());
    let layer_digest = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut payload = registry::layout_blob(layout.path(), &layer_digest);
    let at = payload.len() / 2;
    payload[at] ^= 0x01;
    let new_digest = registry::layout_put_blob(layout.path(), &payload);
    let new_digest_text = new_digest.clone();
    manifest["layers"][0]["digest"] = new_digest.into();
    manifest["layers"][0]["size"] = payload.len().into();
    registry::set_manifest(layout.path(), "t", manifest.to_string().as_bytes());
    img.reg.push_layout(layout.path(), "t", &img.sig_tag());

    let run = img.verify().json().run(&img.image).exit(1);
    run.codes_are(&["signature-invalid"]);
    let json = run.json();
    assert_eq!(json["signatures"][0]["layer"], new_digest_text);
    let problem = json["signatures"][0]["problem"].as_str().unwrap();
    assert!(problem.contains("does not verify"), "{problem}");
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_signature_replayed_onto_another_digest_is_invalid() {
    registry::tools();
    let img = Image::signed("replay");
    let image_b = img.push_another("v2");
    let hex_b = image_b.rsplit(':').next().unwrap();
    img.reg
        .copy(&img.sig_tag(), &format!("replay:sha256-{hex_b}.sig"));
    let run = img.verify().json().run(&image_b).exit(1);
    run.codes_are(&["signature-invalid"]);
    let json = run.json();
    let message = json["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(img.hex()),
        "names the image it really signs: {message}"
    );
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_blob_that_does_not_match_its_digest_is_an_error() {
    registry::tools();
    let img = Image::signed("bitflip");
    let layout = img.reg.pull_layout(&img.sig_tag());
    let manifest = registry::layout_manifest(layout.path());
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap();
    // The registry checks digests on upload, so flip a bit in its storage instead.
    let file = img.reg.blob_file(layer_digest);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[10] ^= 0x04;
    std::fs::write(&file, bytes).unwrap();
    img.verify()
        .run(&img.image)
        .exit(2)
        .says("not the requested");
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn an_unsigned_image_is_not_signed() {
    registry::tools();
    let img = Image::unsigned("plain");
    img.verify()
        .json()
        .run(&img.image)
        .exit(1)
        .codes_are(&["image-not-signed"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_valid_attestation_verifies() {
    registry::tools();
    let img = Image::signed("attested");
    img.reg.attest(&img.key, &img.image, "slsaprovenance");
    let provenance = ["--attestation-type", "slsaprovenance"];
    let json = img
        .verify()
        .args(provenance)
        .json()
        .run(&img.image)
        .exit(0)
        .json();
    assert_eq!(
        json["attestations"][0]["predicate_type"],
        "https://slsa.dev/provenance/v0.2"
    );
    assert_eq!(json["attestations"][0]["status"], "verified");
    // The same attestation under another key does not count.
    let other = Key::generate();
    img.reg.sign(&other, &img.image);
    verify()
        .key(&other)
        .args(provenance)
        .json()
        .run(&img.image)
        .exit(1)
        .codes_are(&["attestation-invalid"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn an_attestation_of_another_type_is_missing() {
    registry::tools();
    let img = Image::signed("sbomless");
    img.verify()
        .args(["--attestation-type", "spdxjson"])
        .json()
        .run(&img.image)
        .exit(1)
        .codes_are(&["attestation-missing"]);
    img.reg.attest(&img.key, &img.image, "slsaprovenance");
    img.verify()
        .args(["--attestation-type", "cyclonedx"])
        .json()
        .run(&img.image)
        .exit(1)
        .codes_are(&["attestation-missing"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn an_attestation_about_another_subject_is_invalid() {
    registry::tools();
    let img = Image::signed("subject");
    img.reg.attest(&img.key, &img.image, "slsaprovenance");
    let image_b = img.push_another("v2");
    img.reg.sign(&img.key, &image_b);
    let hex_b = image_b.rsplit(':').next().unwrap();
    img.reg
        .copy(&img.att_tag(), &format!("subject:sha256-{hex_b}.att"));
    img.verify()
        .args(["--attestation-type", "slsaprovenance"])
        .json()
        .run(&image_b)
        .exit(1)
        .codes_are(&["attestation-invalid"]);
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_registry_that_is_down_is_an_error() {
    registry::tools();
    let key = Key::generate();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    verify()
        .key(&key)
        .args(["--connect-timeout", "2"])
        .run(&image_on(port, "gone", 'a'))
        .exit(2)
        .says("cannot reach");
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn tls_and_basic_auth_with_the_docker_config() {
    registry::tools();
    let img = Image::signed_on(Registry::start_tls_auth(), "private");
    let reg = &img.reg;
    let good = reg.docker_config(PASSWORD);

    // Right password from $DOCKER_CONFIG/config.json, CA from --ca-file.
    img.verify()
        .ca_of(reg)
        .docker_config(good.path())
        .run(&img.image)
        .exit(0);

    // Without the CA the server's certificate is not trusted (and no plain-HTTP answer
    // from a TLS server passes either).
    img.verify()
        .docker_config(good.path())
        .run(&img.image)
        .exit(2)
        .says("certificate");

    // A wrong password: an authentication error, and no secret in any output.
    let wrong_password = "wr0ng-Pa55word-77ab";
    let bad = reg.docker_config(wrong_password);
    for format in ["human", "json"] {
        let run = img
            .verify()
            .ca_of(reg)
            .args(["--format", format])
            .docker_config(bad.path())
            .run(&img.image)
            .exit(2);
        run.says("authentication");
        let b64 = base64::engine::general_purpose::STANDARD;
        for secret in [
            wrong_password.to_string(),
            PASSWORD.to_string(),
            b64.encode(format!("{USER}:{wrong_password}")),
        ] {
            run.never_says(&secret);
        }
    }

    // No credentials at all: an authentication error too.
    let empty = tempfile::tempdir().unwrap();
    img.verify()
        .ca_of(reg)
        .docker_config(empty.path())
        .run(&img.image)
        .exit(2)
        .says("requires credentials");
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn an_oversized_blob_is_refused_while_streaming() {
    registry::tools();
    let img = Image::unsigned("huge");
    // A "signature" whose payload layer is 17 MiB, over the 16 MiB blob cap.
    let layout = tempfile::tempdir().unwrap();
    let payload = vec![b' '; 17 * 1024 * 1024];
    registry::write_layout(
        layout.path(),
        "t",
        "application/vnd.dev.cosign.simplesigning.v1+json",
        &payload,
        Some(r#"{"dev.cosignproject.cosign/signature":"AAAA"}"#),
    );
    img.reg.push_layout(layout.path(), "t", &img.sig_tag());
    img.verify()
        .run(&img.image)
        .exit(2)
        .says("larger than the 16777216-byte cap");
}

/// A hand-written fake registry, because the real one refuses to store or serve a
/// manifest over 4 MiB: it answers `/v2/` with 200 and every manifest with an 8 MiB body
/// streamed without a Content-Length (so only a cap while reading can stop it). It serves
/// at most `connections` connections, then its thread ends.
fn serve_endless_manifests(connections: usize) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(mut stream: std::net::TcpStream) {
    // A TLS handshake never sends a line: give up on it.
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
    let Some((request_line, _)) = read_request(&stream) else {
        return;
    };
    if request_line.starts_with("GET /v2/ ") {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        return;
    }
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n",
    );
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..128 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
}

#[test]
fn an_oversized_manifest_is_refused_while_streaming() {
    let (_dir, key) = ed25519_key_file();
    let port = serve_endless_manifests(8);
    verify()
        .key_file(&key)
        .run(&format!("127.0.0.1:{port}/big:v1"))
        .exit(2)
        .says("manifest from")
        .says("larger than the 4194304-byte cap");
}

#[test]
fn a_bad_key_file_is_an_error() {
    let dir = common::tempdir();
    let key = dir.path().join("bad.pub");
    std::fs::write(
        &key,
        "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let image = image_on(1, "x", 'a');
    verify()
        .key_file(&key)
        .run(&image)
        .exit(2)
        .says("bad key file");
    verify()
        .key_file(dir.path().join("missing.pub"))
        .run(&image)
        .exit(2);
}

/// Regression (issue 16): a private key given as `--key` got the hint
/// `openssl pkey -pubin -pubout`, which fails on a private key. Each file a user gives by
/// mistake, made by the real tool, gets a hint naming the command that turns it into a
/// public key, and that command, run on the file, gives a key vouch takes.
#[test]
#[ignore = "needs cosign, openssl: scripts/ci/install-verify-tools.sh"]
fn a_private_key_or_certificate_as_key_gets_a_hint_that_works() {
    common::require_tool("cosign");
    common::require_tool("openssl");
    let dir = common::tempdir();
    let d = dir.path();
    openssl_genpkey(d, "EC:P-256", "pkcs8.key");
    openssl(d, &["ec", "-in", "pkcs8.key", "-out", "ec.key"]);
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "pkcs8.key",
            "-passout",
            "pass:pw",
            "-out",
            "encrypted.key",
        ],
    );
    openssl_genpkey(d, "RSA:2048", "rsa8.key");
    openssl(
        d,
        &["rsa", "-in", "rsa8.key", "-traditional", "-out", "rsa.key"],
    );
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "rsa8.key",
            "-RSAPublicKey_out",
            "-out",
            "rsa-pkcs1.pub",
        ],
    );
    let cert = "req -x509 -key pkcs8.key -subj /CN=vouch-test -out cert.pem";
    openssl(d, &cert.split(' ').collect::<Vec<_>>());
    let cosign = Key::generate();
    std::fs::copy(&cosign.private, d.join("cosign.key")).unwrap();

    // (file, the command its hint must name, that command as run here)
    let openssl_pubout = "`openssl pkey -in FILE -pubout`";
    let cases: [(&str, &str, Vec<&str>); 7] = [
        (
            "pkcs8.key",
            openssl_pubout,
            vec!["openssl", "pkey", "-in", "pkcs8.key", "-pubout"],
        ),
        (
            "ec.key",
            openssl_pubout,
            vec!["openssl", "pkey", "-in", "ec.key", "-pubout"],
        ),
        (
            "encrypted.key",
            openssl_pubout,
            vec![
                "openssl",
                "pkey",
                "-in",
                "encrypted.key",
                "-pubout",
                "-passin",
                "pass:pw",
            ],
        ),
        (
            "rsa.key",
            openssl_pubout,
            vec!["openssl", "pkey", "-in", "rsa.key", "-pubout"],
        ),
        (
            "rsa-pkcs1.pub",
            "`openssl pkey -pubin -in FILE -pubout`",
            vec![
                "openssl",
                "pkey",
                "-pubin",
                "-in",
                "rsa-pkcs1.pub",
                "-pubout",
            ],
        ),
        (
            "cert.pem",
            "`openssl x509 -in FILE -pubkey -noout`",
            vec!["openssl", "x509", "-in", "cert.pem", "-pubkey", "-noout"],
        ),
        (
            "cosign.key",
            "`cosign public-key --key FILE`",
            vec!["cosign", "public-key", "--key", "cosign.key"],
        ),
    ];
    let image = image_on(1, "x", 'a');
    let mut seen = String::new();
    for (file, hint, command) in &cases {
        let run = verify().key_file(d.join(file)).run(&image).exit(2);
        run.says("bad key file").says(hint);
        let stderr =
            String::from_utf8_lossy(&run.0.stderr).replace(&d.display().to_string(), "<DIR>");
        seen.push_str(&stderr);

        let converted = std::process::Command::new(command[0])
            .args(&command[1..])
            .current_dir(d)
            .env("COSIGN_PASSWORD", "")
            .output()
            .unwrap();
        assert!(
            converted.status.success(),
            "{command:?}: {}",
            text(&converted)
        );
        let public = d.join(format!("{file}.converted.pub"));
        std::fs::write(&public, &converted.stdout).unwrap();
        // The key loads: what fails now is the registry on port 1, not the key.
        verify()
            .key_file(&public)
            .args(["--connect-timeout", "1"])
            .run(&image)
            .exit(2)
            .says("cannot reach");
    }
    insta::assert_snapshot!(seen);
}

#[test]
fn bad_references_and_incomplete_keyless_policies_are_errors() {
    let (_dir, key) = ed25519_key_file();
    for bad in [
        "127.0.0.1:1/x@sha256:abc",
        "127.0.0.1:1/X:v1",
        "127.0.0.1:1/x",
    ] {
        verify()
            .key_file(&key)
            .run(bad)
            .exit(2)
            .says("invalid image reference");
    }
    // No --trusted-root: the embedded public-good root is used (nothing is fetched), so
    // the policy is complete and the unreachable registry is what fails.
    verify()
        .args(["--certificate-identity", "me@example.com"])
        .args(["--certificate-oidc-issuer", "https://issuer.example"])
        .run(&image_on(1, "x", 'a'))
        .exit(2)
        .says("cannot reach");
}

/// cosign cannot import P-384 or RSA keys here (`cosign import-key-pair` of 2.5 says
/// "unsupported public key type"), so these signatures are made the way cosign's own
/// EXAMPLES.md shows ([`attach_openssl_signature`]). Then the real `cosign verify --key`
/// and vouch must agree: both take ECDSA P-384 with SHA-256 (cosign's default digest for
/// `--key`) and RSA PKCS#1 v1.5, and both refuse P-384 with SHA-384.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn cosign_and_vouch_agree_on_openssl_p384_and_rsa_signatures() {
    registry::tools();
    let reg = Registry::start();
    let dir = common::tempdir();
    let d = dir.path();
    openssl_genpkey(d, "EC:P-384", "p384.key");
    openssl(
        d,
        &["pkey", "-in", "p384.key", "-pubout", "-out", "p384.pub"],
    );
    openssl_genpkey(d, "RSA:3072", "rsa.key");
    openssl(d, &["pkey", "-in", "rsa.key", "-pubout", "-out", "rsa.pub"]);

    for (name, key, hash, expected) in [
        ("p384-sha256", "p384", "-sha256", 0),
        ("p384-sha384", "p384", "-sha384", 1),
        ("rsa-sha256", "rsa", "-sha256", 0),
    ] {
        let digest = reg.push_image(name, "v1");
        let image = format!("{}@{digest}", reg.repo(name));
        attach_openssl_signature(&reg, &image, d, &format!("{key}.key"), hash);
        let public = d.join(format!("{key}.pub"));
        let cosign = std::process::Command::new("cosign")
            .args([
                "verify",
                "--key",
                public.to_str().unwrap(),
                "--insecure-ignore-tlog=true",
                &image,
            ])
            .env("HOME", d)
            .output()
            .unwrap();
        assert_eq!(
            cosign.status.success(),
            expected == 0,
            "cosign on {name}: {}",
            text(&cosign)
        );
        verify().key_file(&public).run(&image).exit(expected);
    }
}

/// An Ed25519 key made by openssl and imported with `cosign import-key-pair`, signing
/// with `cosign sign` itself.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_cosign_ed25519_signature_verifies() {
    registry::tools();
    let reg = Registry::start();
    let dir = common::tempdir();
    let d = dir.path();
    openssl_genpkey(d, "ed25519", "ed.pem");
    let out = std::process::Command::new("cosign")
        .args([
            "import-key-pair",
            "--key",
            "ed.pem",
            "--output-key-prefix",
            "ed",
        ])
        .env("COSIGN_PASSWORD", "")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let digest = reg.push_image("ed", "v1");
    let image = format!("{}@{digest}", reg.repo("ed"));
    let private = d.join("ed.key");
    reg.cosign(&[
        "sign",
        "--key",
        private.to_str().unwrap(),
        "--tlog-upload=false",
        "-y",
        &image,
    ]);
    let json = verify()
        .key_file(d.join("ed.pub"))
        .json()
        .run(&image)
        .exit(0)
        .json();
    assert_eq!(json["policy"]["keys"][0]["kind"], "Ed25519");
}

/// An independent model of `vouch.verify/1` (docs/json-report.md) that rejects unknown
/// fields: the wire format cannot drift without this test and the doc changing with it.
pub(crate) mod contract {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Report {
        pub schema: String,
        pub verdict: String,
        pub image: Image,
        pub policy: Policy,
        pub signatures: Vec<Signature>,
        pub attestations: Vec<Attestation>,
        pub findings: Vec<Finding>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Image {
        pub requested: String,
        pub reference: String,
        pub digest: String,
        pub resolved_from_tag: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Policy {
        pub kind: String,
        pub threshold: usize,
        pub keys: Vec<Key>,
        /// Keyless only.
        pub identity: Option<String>,
        pub issuer: Option<String>,
        pub signers: Vec<String>,
        /// `required`, or `ignored` (`--insecure-ignore-tlog`).
        pub tlog: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Key {
        pub fingerprint: String,
        pub kind: String,
        pub signed: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Signature {
        pub layer: String,
        pub source: String,
        pub verified_by: Vec<String>,
        pub problem: Option<String>,
        /// Keyless: every certificate claim checked.
        pub claims: Vec<Claim>,
    }

    #[derive(Deserialize, Debug, PartialEq, Eq)]
    #[serde(deny_unknown_fields)]
    pub struct Claim {
        /// `identity`, `issuer` or a Fulcio extension's name.
        pub claim: String,
        pub oid: String,
        /// `exact`, `regex` or `glob`.
        #[serde(rename = "match")]
        pub kind: String,
        pub expected: String,
        pub found: Option<String>,
        pub matched: bool,
    }

    /// `(claim, found or "", matched)` of each claim: what the tests compare.
    pub fn found(claims: &[Claim]) -> Vec<(&str, &str, bool)> {
        claims
            .iter()
            .map(|c| {
                (
                    c.claim.as_str(),
                    c.found.as_deref().unwrap_or_default(),
                    c.matched,
                )
            })
            .collect()
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Attestation {
        pub predicate_type: String,
        pub status: String,
        pub verified_by: Vec<String>,
        pub problems: Vec<String>,
        pub claims: Vec<Claim>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Finding {
        pub code: String,
        pub level: String,
        pub message: String,
    }
}

#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn the_json_report_matches_its_documented_model() {
    registry::tools();
    let img = Image::signed("contract");
    let (k1, image) = (&img.key, &img.image);
    img.reg.attest(k1, image, "slsaprovenance");
    let k2 = Key::generate();
    let run = verify()
        .key(k1)
        .key(&k2)
        .args(["--attestation-type", "slsaprovenance"])
        .args(["--attestation-type", "spdxjson"])
        .json()
        .run(&img.tag("v1"))
        .exit(1);
    let report: contract::Report = serde_json::from_slice(&run.0.stdout).unwrap();
    assert_eq!(report.schema, "vouch.verify/1");
    assert_eq!(report.verdict, "fail");
    assert_eq!(&report.image.reference, image);
    assert_eq!(report.image.requested, img.tag("v1"));
    assert_eq!(report.image.resolved_from_tag.as_deref(), Some("v1"));
    assert!(report.image.digest.starts_with("sha256:"));
    assert_eq!(
        (report.policy.kind.as_str(), report.policy.threshold),
        ("keys", 1)
    );
    let signed: Vec<bool> = report.policy.keys.iter().map(|k| k.signed).collect();
    assert_eq!(signed, [true, false]);
    assert_eq!(
        report.policy.signers,
        [report.policy.keys[0].fingerprint.clone()]
    );
    assert!(report.policy.identity.is_none() && report.policy.issuer.is_none());
    // The harness passes --insecure-ignore-tlog (cosign signed without the log).
    assert_eq!(report.policy.tlog, "ignored");
    assert_eq!(report.signatures[0].source, "sig-tag");
    assert!(
        report
            .policy
            .keys
            .iter()
            .all(|k| k.fingerprint.len() == 64 && k.kind == "ECDSA P-256")
    );
    assert_eq!(report.signatures.len(), 1);
    assert_eq!(
        report.signatures[0].verified_by,
        [report.policy.keys[0].fingerprint.clone()]
    );
    assert!(
        report.signatures[0].problem.is_none() && report.signatures[0].layer.starts_with("sha256:")
    );
    let statuses: Vec<(&str, &str)> = report
        .attestations
        .iter()
        .map(|a| (a.predicate_type.as_str(), a.status.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("https://slsa.dev/provenance/v0.2", "verified"),
            ("https://spdx.dev/Document", "missing")
        ]
    );
    assert!(report.attestations.iter().all(|a| a.problems.is_empty()));
    assert_eq!(report.attestations[0].verified_by.len(), 1);
    let findings: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.level.as_str()))
        .collect();
    // Sorted by level: the error, then the weakened-check warning of --insecure-ignore-tlog.
    assert_eq!(
        findings,
        [
            ("attestation-missing", "error"),
            ("verification-weakened", "warning")
        ]
    );
    assert!(
        report.findings[0]
            .message
            .contains("https://spdx.dev/Document")
    );
}

/// The bearer-token flow (WWW-Authenticate: Bearer realm=...): credentials from the
/// Docker config go to the token service, the real registry validates the token.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn the_bearer_token_flow_with_a_real_registry() {
    registry::tools();
    let img = Image::signed_on(Registry::start_token_auth(), "tokened");
    let reg = &img.reg;
    reg.attest(&img.key, &img.image, "slsaprovenance");

    let good = reg.docker_config(PASSWORD);
    let before = reg.tokens_issued();
    img.verify()
        .args(["--attestation-type", "slsaprovenance"])
        .docker_config(good.path())
        .run(&img.image)
        .exit(0);
    assert_eq!(
        reg.tokens_issued(),
        before + 1,
        "one token for the whole verification"
    );

    let wrong_password = "t0ken-Wr0ng-5e3d";
    let bad = reg.docker_config(wrong_password);
    img.verify()
        .docker_config(bad.path())
        .run(&img.image)
        .exit(2)
        .says("token service refused")
        .never_says(wrong_password)
        .never_says(PASSWORD);

    // Anonymous: the token service refuses, and so must vouch.
    let empty = tempfile::tempdir().unwrap();
    img.verify()
        .docker_config(empty.path())
        .run(&img.image)
        .exit(2);
}

/// Regression (issue 15): a registry that may be reached over plain HTTP (loopback, and
/// named with `--allow-insecure-registry`) whose token realm is plain HTTP on *another*
/// host sent that host the Basic credentials. The real registry's realm here is
/// `http://[::ffff:127.0.0.1]:PORT/token`: the token server on this machine, under an
/// address vouch's rule counts as another host (an IPv4-mapped IPv6 address is neither
/// loopback for `is_loopback` nor the registry's 127.0.0.1). It stands for a realm on
/// another machine, which a test may not reach. The same realm is used once the registry
/// is reached under that address too: then it is the registry's own host, and works.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn a_plain_http_token_realm_on_another_host_gets_no_credentials() {
    registry::tools();
    let mapped = "[::ffff:127.0.0.1]";
    let img = Image::signed_on(Registry::start_token_auth_realm_host(mapped), "realm");
    let reg = &img.reg;
    let config = reg.docker_config(PASSWORD);

    let before = reg.token_requests().len();
    assert!(
        before > 0,
        "skopeo and cosign used the realm: it is reachable"
    );
    img.verify()
        .args(["--allow-insecure-registry", &reg.host()])
        .docker_config(config.path())
        .run(&img.image)
        .exit(2)
        .says("plain HTTP on [::ffff:7f00:1], which is neither the registry's host nor loopback")
        .never_says(PASSWORD);
    assert_eq!(
        reg.token_requests()[before..],
        [],
        "nothing, and so no credentials, reached the other host's realm"
    );

    // The registry under the realm's own address: the realm is on its host now.
    let mapped_registry = format!("{mapped}:{}", reg.port);
    let mapped_config = reg.docker_config_for(&mapped_registry, PASSWORD);
    img.verify()
        .args(["--allow-insecure-registry", &mapped_registry])
        .docker_config(mapped_config.path())
        .run(&format!("{mapped_registry}/realm@{}", img.digest))
        .exit(0);
    let sent = reg.token_requests()[before..].to_vec();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1.as_deref(), Some(basic.as_str()));
}

/// Credentials from a credential helper named in `credHelpers`: vouch runs
/// `docker-credential-<name> get` with the registry on stdin. The helper here is a
/// hand-written script (Debian's helpers need a desktop keyring or gpg/pass set up); it
/// answers only for the registry it was asked about.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn credentials_from_a_docker_credential_helper() {
    registry::tools();
    let img = Image::signed_on(Registry::start_tls_auth(), "helped");
    let reg = &img.reg;

    let bin = common::tempdir();
    let helper = bin.path().join("docker-credential-vouchtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n",
            reg.host()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = common::tempdir();
    let helper_config = |name: &str| {
        std::fs::write(
            config.path().join("config.json"),
            format!(r#"{{"credHelpers":{{"{}":"{name}"}}}}"#, reg.host()),
        )
        .unwrap();
    };
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = || {
        img.verify()
            .ca_of(reg)
            .docker_config(config.path())
            .env("PATH", &path)
            .run(&img.image)
    };
    helper_config("vouchtest");
    run().exit(0).never_says(PASSWORD);

    // A helper that is named but missing is an error, not anonymous access.
    helper_config("nosuchhelper");
    run().exit(2).says("docker-credential-nosuchhelper");
}

/// A hand-written server (a real registry cannot be made to fail on cue) that answers the
/// first `failures` requests with 503 and then `/v2/` with 200 and everything else with
/// 404; it returns its port and a request counter.
fn serve_flaky(failures: usize) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
            let Some((request_line, _)) = read_request(&stream) else {
                continue; // a TLS handshake
            };
            if !request_line.starts_with("GET ") {
                continue;
            }
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let status = if n < failures {
                "503 Service Unavailable"
            } else if request_line.starts_with("GET /v2/ ") {
                "200 OK"
            } else {
                "404 Not Found"
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")
                    .as_bytes(),
            );
        }
    });
    (port, count)
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    use std::sync::atomic::Ordering;
    let (_dir, key) = ed25519_key_file();
    let image = |port: u16| image_on(port, "flaky", 'c');

    // Two 503s, then the registry answers: the third try gets through (and the image is
    // not there: an error, after the retries worked).
    let (port, count) = serve_flaky(2);
    verify()
        .key_file(&key)
        .run(&image(port))
        .exit(2)
        .says("was not found");
    assert_eq!(
        count.load(Ordering::SeqCst),
        4,
        "3 pings (2 failed) + 1 manifest"
    );

    // Always 503: three tries, then an error that says so.
    let (port, count) = serve_flaky(usize::MAX);
    verify()
        .key_file(&key)
        .run(&image(port))
        .exit(2)
        .says("answered 503");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

/// What a person sees: the human report of a verification with a signature and an
/// attestation finding (registry port, digests and fingerprints replaced by names).
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn the_human_report() {
    registry::tools();
    let img = Image::signed("human");
    let k2 = Key::generate();
    let run = img
        .verify()
        .key(&k2)
        .args(["--threshold", "2", "--attestation-type", "spdxjson"])
        .run(&img.tag("v1"))
        .exit(1);
    let json = img.verify().key(&k2).json().run(&img.image).json();
    let mut report = run.stdout();
    report = report
        .replace(img.hex(), "<DIGEST>")
        .replace(&img.reg.host(), "<REGISTRY>");
    for (i, key) in json["policy"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        report = report.replace(
            key["fingerprint"].as_str().unwrap(),
            &format!("<KEY{}>", i + 1),
        );
    }
    insta::assert_snapshot!(report);
}

/// Manifests the registry serves with bytes that do not hash to their digest (edited in
/// its storage): by digest (the image) and by tag (the .sig manifest, checked against the
/// registry's own Docker-Content-Digest). Both are errors, like a bad blob.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn manifests_that_do_not_match_their_digest_are_errors() {
    registry::tools();
    let img = Image::signed("badmanifest");

    // The .sig manifest: change one base64 character of the signature (still valid JSON).
    let layout = img.reg.pull_layout(&img.sig_tag());
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.path().join("index.json")).unwrap()).unwrap();
    let sig_manifest = img
        .reg
        .blob_file(index["manifests"][0]["digest"].as_str().unwrap());
    let original = std::fs::read(&sig_manifest).unwrap();
    let manifest_text = String::from_utf8(original.clone()).unwrap();
    let at =
        manifest_text.find("cosign/signature\":\"").unwrap() + "cosign/signature\":\"".len() + 5;
    let mut edited = original.clone();
    edited[at] = if edited[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&sig_manifest, &edited).unwrap();
    img.verify()
        .run(&img.image)
        .exit(2)
        .says("not the requested");
    std::fs::write(&sig_manifest, &original).unwrap();
    img.verify().run(&img.image).exit(0);

    // The image manifest, fetched by its digest: add a space.
    let image_manifest = img.reg.blob_file(&img.digest);
    let mut bytes = std::fs::read(&image_manifest).unwrap();
    bytes.push(b' ');
    std::fs::write(&image_manifest, bytes).unwrap();
    img.verify()
        .run(&img.image)
        .exit(2)
        .says("not the requested");
}

/// Blob storage redirects: the real registry behind a [`registry::Shim`] that answers
/// every blob GET with a 307. To the real registry (loopback, plain HTTP from plain HTTP)
/// it is followed and verifies; a redirect loop stops after five hops (exit 2). Where a
/// redirect may go otherwise (never HTTPS → HTTP, plain HTTP only to loopback or
/// `--allow-insecure-registry`) is `src/verify/registry/transport.rs::redirects_are_bounded_and_never_downgrade`,
/// since a test here may not reach any other host.
#[test]
#[ignore = "needs docker-registry, skopeo, cosign, htpasswd, openssl: scripts/ci/install-verify-tools.sh"]
fn blob_redirects_are_followed_on_loopback_and_a_loop_is_bounded() {
    registry::tools();
    let img = Image::signed("redirected");
    let redirect = |to_upstream: bool| {
        registry::Shim::start(img.reg.host(), move |method, path, upstream| {
            (method == "GET" && path.contains("/blobs/")).then(|| {
                let location = if to_upstream {
                    format!("http://{upstream}{path}")
                } else {
                    path.to_string() // itself, forever
                };
                registry::ShimAnswer {
                    status: 307,
                    headers: vec![("Location", location)],
                    body: vec![],
                }
            })
        })
    };
    let shim = redirect(true);
    img.verify()
        .run(&format!("{}/redirected@{}", shim.host(), img.digest))
        .exit(0);

    let looping = redirect(false);
    img.verify()
        .run(&format!("{}/redirected@{}", looping.host(), img.digest))
        .exit(2)
        .says("redirect");
    let requests = looping.requests.load(std::sync::atomic::Ordering::SeqCst);
    assert!(requests < 40, "bounded: {requests} requests");
}

/// A registry that accepts connections and never answers: `--timeout` bounds every
/// request, retries are bounded, and the end is an error (exit 2), not a hang.
#[test]
fn a_registry_that_never_answers_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream); // read nothing, write nothing, close nothing
        }
    });
    let (_dir, key) = ed25519_key_file();
    let started = std::time::Instant::now();
    let run = verify()
        .key_file(&key)
        .args(["--timeout", "1"])
        .run(&image_on(port, "silent", 'a'));
    let took = started.elapsed();
    run.exit(2).says("timed out");
    assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
}

//! One harness for the `vouch verify` tests instead of the same setup in every test: a
//! real registry with an image pushed and signed by the real cosign in one call
//! ([`Image`]), a `vouch verify` run built up flag by flag ([`verify`]), and the checks
//! every test makes of a run ([`Run`]: exit code, text, JSON finding codes).
//!
//! It hides no assertion and decides nothing: each test still says which registry it
//! needs (`#[ignore = "needs docker-registry, ..."]` and `registry::tools()`), what it
//! runs and what it expects. Usable by any test module (verify_keyless.rs, secrets.rs,
//! check.rs could move onto it).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

use crate::common::{self, vouch};
use crate::registry::{Key, Registry};

/// stdout, then stderr.
pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
pub(crate) fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
}

/// The finding codes of a JSON report, less the `verification-weakened` warning that every
/// `--insecure-ignore-tlog` run carries (see [`Verify::key_file`]; verify_tlog.rs asserts
/// it, and its absence without the flag).
pub(crate) fn codes(out: &Output) -> Vec<String> {
    let json = common::json(out);
    assert_eq!(json["schema"], "vouch.verify/1");
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] != "verification-weakened")
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// An image in a registry the test started: `repo:v1`, pushed by skopeo, signed (or not)
/// by cosign with `key`.
pub struct Image {
    pub reg: Registry,
    pub key: Key,
    pub repo: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// `127.0.0.1:PORT/repo@sha256:<hex>`.
    pub image: String,
}

impl Image {
    /// A fresh anonymous registry with `repo:v1` signed by a fresh key.
    pub fn signed(repo: &str) -> Image {
        Image::signed_on(Registry::start(), repo)
    }

    /// `repo:v1` on `reg` (TLS, token auth...), signed by a fresh key.
    pub fn signed_on(reg: Registry, repo: &str) -> Image {
        let image = Image::unsigned_on(reg, repo);
        image.reg.sign(&image.key, &image.image);
        image
    }

    /// A fresh anonymous registry with `repo:v1` and no signature; `key` signed nothing.
    pub fn unsigned(repo: &str) -> Image {
        Image::unsigned_on(Registry::start(), repo)
    }

    fn unsigned_on(reg: Registry, repo: &str) -> Image {
        let key = Key::generate();
        let digest = reg.push_image(repo, "v1");
        let image = format!("{}@{digest}", reg.repo(repo));
        Image {
            reg,
            key,
            repo: repo.to_string(),
            digest,
            image,
        }
    }

    /// The digest's hex digits.
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }

    /// `127.0.0.1:PORT/repo:TAG`.
    pub fn tag(&self, tag: &str) -> String {
        format!("{}:{tag}", self.reg.repo(&self.repo))
    }

    /// `repo:sha256-<hex>.sig`, the tag cosign stores the signature under (for
    /// [`Registry::pull_layout`] and [`Registry::copy`]).
    pub fn sig_tag(&self) -> String {
        format!("{}:sha256-{}.sig", self.repo, self.hex())
    }

    /// `repo:sha256-<hex>.att`, cosign's attestation tag.
    pub fn att_tag(&self) -> String {
        format!("{}:sha256-{}.att", self.repo, self.hex())
    }

    /// Pushes another image `repo:tag` to the same registry; its `repo@digest`.
    pub fn push_another(&self, tag: &str) -> String {
        let digest = self.reg.push_image(&self.repo, tag);
        format!("{}@{digest}", self.reg.repo(&self.repo))
    }

    /// `vouch verify --key <this image's key>`.
    pub fn verify(&self) -> Verify {
        verify().key(&self.key)
    }
}

/// A `vouch verify` invocation being built.
pub struct Verify {
    cmd: assert_cmd::Command,
    ignore_tlog: bool,
}

/// `vouch verify`, no flags yet.
pub fn verify() -> Verify {
    let mut cmd = vouch();
    cmd.arg("verify");
    Verify {
        cmd,
        ignore_tlog: false,
    }
}

impl Verify {
    /// `--key` with the public half of a cosign key pair.
    pub fn key(self, key: &Key) -> Verify {
        self.key_file(&key.public)
    }

    /// `--key FILE`, and `--insecure-ignore-tlog`: the real cosign signs these tests'
    /// images with `--tlog-upload=false` (no Rekor runs here), so their keyed signatures
    /// have no log entry. The log itself is tested in verify_tlog.rs ([`Verify::require_tlog`]).
    pub fn key_file(mut self, path: impl AsRef<Path>) -> Verify {
        self.cmd.arg("--key").arg(path.as_ref());
        self.ignore_tlog = true;
        self
    }

    /// Without `--insecure-ignore-tlog`: the default, a keyed signature needs its log entry.
    pub fn require_tlog(mut self) -> Verify {
        self.ignore_tlog = false;
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Verify {
        self.cmd.arg(arg);
        self
    }

    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Verify {
        self.cmd.args(args);
        self
    }

    /// `--format json`.
    pub fn json(self) -> Verify {
        self.args(["--format", "json"])
    }

    /// `--ca-file` with the test CA of a TLS registry.
    pub fn ca_of(self, reg: &Registry) -> Verify {
        let ca = reg.ca.clone().expect("a TLS registry");
        self.arg("--ca-file").arg(ca)
    }

    /// `$DOCKER_CONFIG` (a directory holding config.json).
    pub fn docker_config(self, dir: &Path) -> Verify {
        self.env("DOCKER_CONFIG", dir)
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Verify {
        self.cmd.env(key, value);
        self
    }

    /// Runs it on `image` (the last argument).
    pub fn run(mut self, image: &str) -> Run {
        if self.ignore_tlog {
            self.cmd.arg("--insecure-ignore-tlog");
        }
        Run(self.cmd.arg(image).output().unwrap())
    }
}

/// A finished run, and the checks tests make of it.
pub struct Run(pub Output);

impl Run {
    /// Asserts the exit code (the output is the message when it is not).
    #[track_caller]
    pub fn exit(self, code: i32) -> Run {
        assert_exit(&self.0, code);
        self
    }

    /// stdout then stderr.
    pub fn text(&self) -> String {
        text(&self.0)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    /// Asserts that stdout or stderr contains `needle`.
    #[track_caller]
    pub fn says(&self, needle: &str) -> &Run {
        let all = self.text();
        assert!(all.contains(needle), "expected {needle:?} in:\n{all}");
        self
    }

    /// Asserts that stdout (the report) contains `needle`.
    #[track_caller]
    pub fn prints(&self, needle: &str) -> &Run {
        let stdout = self.stdout();
        assert!(
            stdout.contains(needle),
            "expected {needle:?} on stdout:\n{stdout}"
        );
        self
    }

    /// Asserts that neither stdout nor stderr contains `secret`.
    #[track_caller]
    pub fn never_says(&self, secret: &str) -> &Run {
        let all = self.text();
        assert!(!all.contains(secret), "{secret:?} leaked:\n{all}");
        self
    }

    /// The JSON report on stdout.
    pub fn json(&self) -> serde_json::Value {
        common::json(&self.0)
    }

    /// Asserts the finding codes of the JSON report, in order.
    #[track_caller]
    pub fn codes_are(&self, expected: &[&str]) -> &Run {
        assert_eq!(codes(&self.0), expected, "{}", self.text());
        self
    }
}

/// An Ed25519 public key made by openssl, for runs that fail before any registry.
pub const ED25519_PUB: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAZnITBX8U7pg1G96owJhC6iULZcQUkg7sezUg0+Uo4AM=\n-----END PUBLIC KEY-----\n";

/// [`ED25519_PUB`] in a file: (its directory, the file).
pub fn ed25519_key_file() -> (tempfile::TempDir, PathBuf) {
    let dir = common::tempdir();
    let key = dir.path().join("k.pub");
    std::fs::write(&key, ED25519_PUB).unwrap();
    (dir, key)
}

/// `127.0.0.1:PORT/NAME@sha256:<64 × c>`: an image reference on a port the test serves.
pub fn image_on(port: u16, name: &str, c: char) -> String {
    format!(
        "127.0.0.1:{port}/{name}@sha256:{}",
        c.to_string().repeat(64)
    )
}

/// Runs openssl in `dir`; its output.
#[track_caller]
pub fn openssl(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
    out
}

/// A private key made by `openssl genpkey` in `dir`, as `out`: `spec` is `RSA:BITS`,
/// `EC:CURVE` or `ed25519`.
#[track_caller]
pub fn openssl_genpkey(dir: &Path, spec: &str, out: &str) {
    let option = match spec.split_once(':') {
        Some(("RSA", bits)) => format!("rsa_keygen_bits:{bits}"),
        Some(("EC", curve)) => format!("ec_paramgen_curve:{curve}"),
        _ => String::new(),
    };
    let algorithm = spec.split(':').next().unwrap_or(spec);
    let mut args = vec!["genpkey", "-algorithm", algorithm];
    if !option.is_empty() {
        args.extend(["-pkeyopt", &option]);
    }
    args.extend(["-out", out]);
    openssl(dir, &args);
}

/// A signature cosign cannot make itself (`cosign import-key-pair` of 2.5 takes no P-384
/// or RSA key), made the way cosign's EXAMPLES.md shows: `cosign generate` the payload
/// for `image`, sign it with `openssl dgst HASH -sign PRIVATE` (in `dir`), and
/// `cosign attach signature`.
pub fn attach_openssl_signature(
    reg: &Registry,
    image: &str,
    dir: &Path,
    private: &str,
    hash: &str,
) {
    let payload = reg.cosign(&["generate", image]).stdout;
    std::fs::write(dir.join("payload.json"), &payload).unwrap();
    openssl(
        dir,
        &[
            "dgst",
            hash,
            "-sign",
            private,
            "-out",
            "sig.bin",
            "payload.json",
        ],
    );
    let sig = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(dir.join("sig.bin")).unwrap());
    std::fs::write(dir.join("sig.b64"), sig).unwrap();
    let payload_path = dir.join("payload.json");
    let sig_path = dir.join("sig.b64");
    reg.cosign(&[
        "attach",
        "signature",
        "--payload",
        payload_path.to_str().unwrap(),
        "--signature",
        sig_path.to_str().unwrap(),
        image,
    ]);
}

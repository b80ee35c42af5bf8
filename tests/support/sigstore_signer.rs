//! A self-made Sigstore for tests: a test root CA and Fulcio-like intermediate, Fulcio-like
//! leaf certificates (SAN, OIDC issuer extension, optional embedded SCT from a test CT
//! log), a test Rekor v1 log key that signs SETs and checkpoints over a small Merkle tree,
//! a test Rekor v2 log (Ed25519, checkpoint-only: C2SP signed notes, `hashedrekord` 0.0.2
//! entries without SET or integrated time), a test timestamp authority whose RFC 3161
//! timestamps are made by the real `openssl ts -reply`, the matching `trusted_root.json`,
//! cosign legacy annotation sets and v0.1 to v0.3 bundles.
//!
//! None of these keys or certificates belong to the public-good Sigstore; they are
//! generated per run. This file depends only on dev-dependencies and the crate's own
//! third-party dependencies (never on `vouch` itself), so that the library's unit tests
//! (`#[path]` module in `src/verify/keyless/mod.rs`) and the integration tests in `tests/it`
//! (and later the registry tests, which push these artefacts to a real registry) can all
//! include it.
//!
//! It writes the Merkle path from RFC 6962's recursive PATH definition and the SCT input
//! from RFC 6962 §3.2 independently of the verifier's code, so the two cross-check.

#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixture builder: a failure here is a bug in the test

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode, Encode};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, OtherNameValue, PublicKeyData,
    SanType, SerialNumber,
};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const DEFAULT_IDENTITY: &str =
    "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
/// 2023-11-14T22:13:20Z: the default certificate start.
pub const T0: i64 = 1_700_000_000;

/// An ECDSA P-256 key usable both by rcgen (certificates) and ring (signatures).
pub struct TestKey {
    pub rcgen: KeyPair,
    ring: EcdsaKeyPair,
}

impl TestKey {
    pub fn generate() -> TestKey {
        let rcgen = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let ring = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &rcgen.serialize_der(),
            &SystemRandom::new(),
        )
        .unwrap();
        TestKey { rcgen, ring }
    }

    /// ASN.1 DER ECDSA P-256 / SHA-256 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.ring
            .sign(&SystemRandom::new(), msg)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    pub fn spki_der(&self) -> Vec<u8> {
        self.rcgen.subject_public_key_info()
    }

    /// sha256 of the SPKI DER: Rekor's log id and RFC 6962's CT log id.
    pub fn log_id(&self) -> [u8; 32] {
        Sha256::digest(self.spki_der()).into()
    }
}

/// How the SAN names the signer.
#[derive(Clone, Debug)]
pub enum Identity {
    Uri(String),
    Email(String),
    /// Fulcio's otherName (OID 1.3.6.1.4.1.57264.1.7) username.
    Username(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SctMode {
    Valid,
    Missing,
    /// An SCT from the test CT log whose signature covers other bytes.
    BadSignature,
}

/// The bundle's media type version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleVersion {
    V01,
    V02,
    V03,
}

/// What the bundle's verification material carries: the leaf alone (`certificate` in
/// v0.3, a one-certificate `x509CertificateChain` before), or a chain with the
/// intermediate, or with the intermediate and the root (which no bundle may carry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainMode {
    Leaf,
    WithIntermediate,
    WithRoot,
}

/// Which transparency log takes the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Log {
    /// Rekor v1: SET (inclusion promise), integrated time, inclusion proof.
    RekorV1,
    /// Rekor v2: `hashedrekord` 0.0.2, inclusion proof and checkpoint only.
    RekorV2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKey {
    Rekor,
    /// A key the trusted root does not know signs the SET (log id still Rekor's).
    Other,
}

/// Knobs for one signature. `Default` gives a valid signature.
#[derive(Clone, Debug)]
pub struct SignOpts {
    pub identity: Identity,
    pub oidc_issuer: String,
    /// Put the issuer only in the legacy raw-string extension (…57264.1.1), not also in …1.8.
    pub legacy_issuer_extension: bool,
    pub not_before: i64,
    pub not_after: i64,
    pub integrated_time: i64,
    pub sct: SctMode,
    pub set_key: SetKey,
    /// The tlog body records a signature over other bytes (still correctly SET-signed).
    pub body_with_other_signature: bool,
    /// Bundles: include an inclusion proof + checkpoint (legacy annotations never have one).
    pub inclusion_proof: bool,
    /// Bundles: include the tlog entry at all.
    pub tlog_entry: bool,
    /// Issue the leaf from `Pki::rogue` (an intermediate no trusted root knows).
    pub rogue_issuer: bool,
    /// Bundles: the media type version.
    pub version: BundleVersion,
    /// Bundles: which certificates the verification material carries.
    pub chain: ChainMode,
    /// Bundles: the log the entry is in.
    pub log: Log,
    /// Bundles (Rekor v1): include the SET.
    pub inclusion_promise: bool,
    /// Bundles: add an RFC 3161 timestamp of the signature from the test TSA (runs
    /// `openssl ts`; the timestamp's time is now).
    pub timestamp: bool,
    /// More Fulcio extensions, `(N, content)` for `1.3.6.1.4.1.57264.1.N`, written as
    /// given (after the issuer's): [`github_extensions`] makes Fulcio's GitHub set.
    pub extensions: Vec<(u64, Vec<u8>)>,
}

/// A GitHub Actions run, as Fulcio records it in a certificate.
#[derive(Clone, Debug)]
pub struct GitHubRun {
    /// `job_workflow_ref`: `OWNER/REPO/.github/workflows/FILE.yml@REF`, the workflow that
    /// asked for the certificate (a reusable one names its own repository and ref).
    pub workflow: String,
    /// `repository`: the repository the run is for (a reusable workflow's caller).
    pub repository: String,
    /// `ref`: the ref the run is for.
    pub git_ref: String,
    pub sha: String,
    pub trigger: String,
    pub workflow_name: String,
    pub runner_environment: String,
}

impl GitHubRun {
    /// `acme/app`'s release workflow run on the tag `v1.2.3`, on a GitHub-hosted runner.
    pub fn release() -> GitHubRun {
        GitHubRun {
            workflow: "acme/app/.github/workflows/release.yml@refs/tags/v1.2.3".into(),
            repository: "acme/app".into(),
            git_ref: "refs/tags/v1.2.3".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            trigger: "push".into(),
            workflow_name: "Release".into(),
            runner_environment: "github-hosted".into(),
        }
    }

    /// The certificate's SAN: `https://github.com/` + `job_workflow_ref`.
    pub fn identity(&self) -> String {
        format!("https://github.com/{}", self.workflow)
    }

    /// Signing options for a certificate Fulcio would issue to this run: the SAN, the
    /// issuer, the deprecated raw `.2`–`.6` and the DER `.9`–`.14`, `.18`–`.21`.
    pub fn sign_opts(&self) -> SignOpts {
        SignOpts {
            identity: Identity::Uri(self.identity()),
            oidc_issuer: GITHUB_ISSUER.into(),
            extensions: github_extensions(self),
            ..SignOpts::default()
        }
    }
}

/// A DER UTF8String, as Fulcio encodes `.8` onwards.
pub fn der_utf8(value: &str) -> Vec<u8> {
    der::asn1::Utf8StringRef::new(value)
        .unwrap()
        .to_der()
        .unwrap()
}

/// Fulcio's extensions for a GitHub Actions run (docs/oid-info.md of Fulcio): `.9` is the
/// workflow that signed (the SAN), `.12`–`.18` the repository and ref the run is for.
pub fn github_extensions(run: &GitHubRun) -> Vec<(u64, Vec<u8>)> {
    let raw = |v: &str| v.as_bytes().to_vec();
    let source = format!("https://github.com/{}", run.repository);
    let owner = run.repository.split('/').next().unwrap();
    let workflow_file = run
        .workflow
        .split('@')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    vec![
        (2, raw(&run.trigger)),
        (3, raw(&run.sha)),
        (4, raw(&run.workflow_name)),
        (5, raw(&run.repository)),
        (6, raw(&run.git_ref)),
        (9, der_utf8(&run.identity())),
        (10, der_utf8(&run.sha)),
        (11, der_utf8(&run.runner_environment)),
        (12, der_utf8(&source)),
        (13, der_utf8(&run.sha)),
        (14, der_utf8(&run.git_ref)),
        (16, der_utf8(&format!("https://github.com/{owner}"))),
        (
            18,
            der_utf8(&format!(
                "{source}/.github/workflows/{workflow_file}@{}",
                run.git_ref
            )),
        ),
        (19, der_utf8(&run.sha)),
        (20, der_utf8(&run.trigger)),
        (21, der_utf8(&format!("{source}/actions/runs/1/attempts/1"))),
    ]
}

impl Default for SignOpts {
    fn default() -> Self {
        SignOpts {
            identity: Identity::Uri(DEFAULT_IDENTITY.into()),
            oidc_issuer: GITHUB_ISSUER.into(),
            legacy_issuer_extension: false,
            not_before: T0,
            not_after: T0 + 600,
            integrated_time: T0 + 60,
            sct: SctMode::Valid,
            set_key: SetKey::Rekor,
            body_with_other_signature: false,
            inclusion_proof: true,
            tlog_entry: true,
            rogue_issuer: false,
            version: BundleVersion::V03,
            chain: ChainMode::Leaf,
            log: Log::RekorV1,
            inclusion_promise: true,
            timestamp: false,
            extensions: Vec::new(),
        }
    }
}

impl SignOpts {
    /// A certificate valid around now (signed a minute ago, valid for ten minutes), for
    /// signatures timestamped by the test TSA, whose timestamps are always now.
    pub fn now() -> SignOpts {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        SignOpts {
            not_before: now - 120,
            not_after: now + 480,
            integrated_time: now - 60,
            ..SignOpts::default()
        }
    }
}

/// Knobs for the trusted root. `Default` lists everything.
#[derive(Clone, Copy, Debug)]
pub struct RootOpts {
    /// List the intermediate as well as the root CA.
    pub intermediate: bool,
    pub ctlogs: bool,
    /// Give the Rekor v1 log key a `validFor.start` (the spec requires one).
    pub tlog_start: bool,
    pub rekor_v2: bool,
    pub tsa: bool,
}

impl Default for RootOpts {
    fn default() -> Self {
        RootOpts {
            intermediate: true,
            ctlogs: true,
            tlog_start: true,
            rekor_v2: true,
            tsa: true,
        }
    }
}

/// A test RFC 3161 timestamp authority: a root and a leaf with the (critical)
/// timeStamping EKU, its key on disk for `openssl ts -reply`.
pub struct Tsa {
    pub root: CertifiedIssuer<'static, KeyPair>,
    pub leaf_der: Vec<u8>,
    dir: tempfile::TempDir,
}

impl Tsa {
    fn new() -> Tsa {
        let root = CertifiedIssuer::self_signed(
            ca_params("vouch test tsa root", None),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "vouch-test");
        dn.push(DnType::CommonName, "vouch test tsa");
        p.distinguished_name = dn;
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2040, 1, 1);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // RFC 3161 §2.3: the one EKU, timeStamping, critical (openssl insists).
        let mut eku = CustomExtension::from_oid_content(
            &[2, 5, 29, 37],
            vec![
                0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
            ],
        );
        eku.set_criticality(true);
        p.custom_extensions = vec![eku];
        let leaf = p.signed_by(&key, &root).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("tsa.pem"), leaf.pem()).unwrap();
        std::fs::write(path("tsa.key"), key.serialize_pem()).unwrap();
        std::fs::write(path("root.pem"), root.pem()).unwrap();
        std::fs::write(path("serial"), "01\n").unwrap();
        std::fs::write(
            path("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\nserial = {}\ncrypto_device = builtin\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.57264.2\ndigests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\ntsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                path("serial").display()
            ),
        )
        .unwrap();
        Tsa {
            root,
            leaf_der: leaf.der().to_vec(),
            dir,
        }
    }

    /// A DER `TimeStampResp` over sha256(`signature`), made by `openssl ts -reply`.
    pub fn timestamp(&self, signature: &[u8]) -> Vec<u8> {
        let path = |name: &str| self.dir.path().join(name);
        std::fs::write(path("sig.bin"), signature).unwrap();
        let run = |args: &[&std::ffi::OsStr]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .output()
                .expect("run openssl (install it: scripts/ci/install-verify-tools.sh)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let (sig, req, resp) = (path("sig.bin"), path("req.tsq"), path("resp.tsr"));
        let (cnf, signer, key, chain) = (
            path("tsa.cnf"),
            path("tsa.pem"),
            path("tsa.key"),
            path("root.pem"),
        );
        run(&[
            "ts".as_ref(),
            "-query".as_ref(),
            "-data".as_ref(),
            sig.as_os_str(),
            "-sha256".as_ref(),
            "-cert".as_ref(),
            "-out".as_ref(),
            req.as_os_str(),
        ]);
        run(&[
            "ts".as_ref(),
            "-reply".as_ref(),
            "-config".as_ref(),
            cnf.as_os_str(),
            "-queryfile".as_ref(),
            req.as_os_str(),
            "-signer".as_ref(),
            signer.as_os_str(),
            "-inkey".as_ref(),
            key.as_os_str(),
            "-chain".as_ref(),
            chain.as_os_str(),
            "-out".as_ref(),
            resp.as_os_str(),
        ]);
        std::fs::read(resp).unwrap()
    }
}

/// The test Rekor v2 log's Ed25519 key.
pub struct V2Log {
    pair: Ed25519KeyPair,
}

impl V2Log {
    fn new() -> V2Log {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        V2Log {
            pair: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
        }
    }

    pub fn spki_der(&self) -> Vec<u8> {
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(self.pair.public_key().as_ref());
        spki
    }

    /// The checkpoint key id, as a C2SP signed-note verifier key is named: SHA-256 of the
    /// key name, a newline, the signature type (0x01, Ed25519) and the public key. Not
    /// the SHA-256 of the SPKI, as a Rekor v1 log id is.
    pub fn log_id(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(V2_NAME.as_bytes());
        h.update([0x0a, 0x01]);
        h.update(self.pair.public_key().as_ref());
        h.finalize().into()
    }

    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair.sign(msg).as_ref().to_vec()
    }
}

/// A leaf certificate and its key.
pub struct TestLeaf {
    pub der: Vec<u8>,
    pub pem: String,
    pub key: TestKey,
}

/// The cosign legacy `.sig` layer annotations for one payload.
#[derive(Clone, Debug)]
pub struct LegacyAnnotations {
    /// `dev.cosignproject.cosign/signature`
    pub signature_b64: String,
    /// `dev.sigstore.cosign/certificate`
    pub certificate_pem: String,
    /// `dev.sigstore.cosign/chain` (intermediate then root)
    pub chain_pem: String,
    /// `dev.sigstore.cosign/bundle`
    pub bundle_json: String,
}

/// The test CA hierarchy and log keys.
pub struct Pki {
    pub root: CertifiedIssuer<'static, KeyPair>,
    pub intermediate: CertifiedIssuer<'static, KeyPair>,
    /// Chains to a root that is in no trusted root: for "chain broken" cases.
    pub rogue: CertifiedIssuer<'static, KeyPair>,
    pub rekor: TestKey,
    pub rekor_v2: V2Log,
    pub ctlog: TestKey,
    pub other: TestKey,
    pub tsa: Tsa,
    serial: std::cell::Cell<u64>,
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pem(der: &[u8]) -> String {
    pem_labelled("CERTIFICATE", der)
}

/// `-----BEGIN {label}-----` PEM of `der` (`PUBLIC KEY` for an SPKI).
pub fn pem_labelled(label: &str, der: &[u8]) -> String {
    let body = b64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "vouch-test");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = match path_len {
        Some(n) => IsCa::Ca(BasicConstraints::Constrained(n)),
        None => IsCa::Ca(BasicConstraints::Unconstrained),
    };
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = rcgen::date_time_ymd(2040, 1, 1);
    p
}

/// Fulcio's intermediate restricts itself to code signing, as the real one does (a chain
/// verifier that needs the codeSigning EKU checks it on every intermediate).
fn intermediate_params() -> CertificateParams {
    let mut p = ca_params("vouch test intermediate", Some(0));
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    p
}

fn time(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

fn node(l: &[u8], r: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().to_vec()
}

fn largest_power_of_two_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 §2.1 MTH.
pub fn merkle_root(leaves: &[Vec<u8>]) -> Vec<u8> {
    if leaves.len() == 1 {
        return leaves[0].clone();
    }
    let k = largest_power_of_two_below(leaves.len());
    node(&merkle_root(&leaves[..k]), &merkle_root(&leaves[k..]))
}

/// RFC 6962 §2.1.1 PATH(m, D[n]).
pub fn merkle_path(leaves: &[Vec<u8>], m: usize) -> Vec<Vec<u8>> {
    if leaves.len() == 1 {
        return Vec::new();
    }
    let k = largest_power_of_two_below(leaves.len());
    if m < k {
        let mut p = merkle_path(&leaves[..k], m);
        p.push(merkle_root(&leaves[k..]));
        p
    } else {
        let mut p = merkle_path(&leaves[k..], m - k);
        p.push(merkle_root(&leaves[..k]));
        p
    }
}

/// PAE per the DSSE spec.
/// A DSSE envelope with one signature, as cosign writes an `.att` layer.
fn envelope_json(payload_type: &str, payload: &[u8], sig: &[u8]) -> String {
    json!({
        "payloadType": payload_type,
        "payload": b64(payload),
        "signatures": [{"keyid": "", "sig": b64(sig)}]
    })
    .to_string()
}

pub fn dsse_pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    m.extend_from_slice(payload);
    m
}

const LOG_INDEX: i64 = 3;
const TREE_SIZE: usize = 7;
const ORIGIN: &str = "rekor.test.invalid - 42";
/// The Rekor v2 log's origin and note key name (one string, as Rekor v2 logs have).
const V2_NAME: &str = "rekor-v2.test.invalid";

impl Pki {
    pub fn new() -> Pki {
        let root = CertifiedIssuer::self_signed(
            ca_params("vouch test root", None),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        let intermediate =
            CertifiedIssuer::signed_by(intermediate_params(), KeyPair::generate().unwrap(), &root)
                .unwrap();
        let rogue_root = CertifiedIssuer::self_signed(
            ca_params("rogue root", None),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        // Same name as the real intermediate, different key: only the signature tells.
        let rogue = CertifiedIssuer::signed_by(
            intermediate_params(),
            KeyPair::generate().unwrap(),
            &rogue_root,
        )
        .unwrap();
        Pki {
            root,
            intermediate,
            rogue,
            rekor: TestKey::generate(),
            rekor_v2: V2Log::new(),
            ctlog: TestKey::generate(),
            other: TestKey::generate(),
            tsa: Tsa::new(),
            serial: std::cell::Cell::new(1000),
        }
    }

    /// `trusted_root.json` naming the root and intermediate, the Rekor v1 and v2 logs, the
    /// CT log and the TSA.
    pub fn trusted_root_json(&self) -> String {
        self.trusted_root_opts(RootOpts::default())
    }

    /// `include_intermediate: false` lists the root CA only (signatures must then carry the
    /// intermediate); `ctlogs: false` lists no CT log.
    pub fn trusted_root_with(&self, include_intermediate: bool, ctlogs: bool) -> String {
        self.trusted_root_opts(RootOpts {
            intermediate: include_intermediate,
            ctlogs,
            ..RootOpts::default()
        })
    }

    pub fn trusted_root_opts(&self, o: RootOpts) -> String {
        let mut certs = vec![json!({"rawBytes": b64(self.root.der())})];
        if o.intermediate {
            certs.insert(0, json!({"rawBytes": b64(self.intermediate.der())}));
        }
        let log = |spki: &[u8], id: &[u8], details: &str, url: &str, start: bool| {
            let valid_for = if start {
                json!({"start": "2020-01-01T00:00:00Z"})
            } else {
                json!({})
            };
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(spki),
                    "keyDetails": details,
                    "validFor": valid_for
                },
                "logId": {"keyId": b64(id)}
            })
        };
        let ecdsa = "PKIX_ECDSA_P256_SHA_256";
        let ctlogs = if o.ctlogs {
            vec![log(
                &self.ctlog.spki_der(),
                &self.ctlog.log_id(),
                ecdsa,
                "https://ctfe.test.invalid",
                true,
            )]
        } else {
            vec![]
        };
        let mut tlogs = vec![log(
            &self.rekor.spki_der(),
            &self.rekor.log_id(),
            ecdsa,
            "https://rekor.test.invalid",
            o.tlog_start,
        )];
        if o.rekor_v2 {
            tlogs.push(log(
                &self.rekor_v2.spki_der(),
                &self.rekor_v2.log_id(),
                "PKIX_ED25519",
                &format!("https://{V2_NAME}"),
                true,
            ));
        }
        let tsas = if o.tsa {
            vec![json!({
                "subject": {"organization": "vouch-test", "commonName": "vouch test tsa"},
                "uri": "https://tsa.test.invalid",
                "certChain": {"certificates": [
                    {"rawBytes": b64(&self.tsa.leaf_der)},
                    {"rawBytes": b64(self.tsa.root.der())}
                ]},
                "validFor": {"start": "2020-01-01T00:00:00Z"}
            })]
        } else {
            vec![]
        };
        serde_json::to_string_pretty(&json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": tlogs,
            "certificateAuthorities": [{
                "subject": {"organization": "vouch-test", "commonName": "vouch test root"},
                "uri": "https://fulcio.test.invalid",
                "certChain": {"certificates": certs},
                "validFor": {"start": "2020-01-01T00:00:00Z"}
            }],
            "ctlogs": ctlogs,
            "timestampAuthorities": tsas
        }))
        .unwrap()
    }

    /// The `dev.sigstore.cosign/chain` PEM: intermediate then root.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", pem(self.intermediate.der()), pem(self.root.der()))
    }

    fn leaf_params(&self, opts: &SignOpts, serial: u64) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.serial_number = Some(SerialNumber::from_slice(&serial.to_be_bytes()));
        p.not_before = time(opts.not_before);
        p.not_after = time(opts.not_after);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        p.use_authority_key_identifier_extension = true;
        p.subject_alt_names = vec![match &opts.identity {
            Identity::Uri(u) => SanType::URI(u.as_str().try_into().unwrap()),
            Identity::Email(e) => SanType::Rfc822Name(e.as_str().try_into().unwrap()),
            Identity::Username(u) => SanType::OtherName((
                vec![1, 3, 6, 1, 4, 1, 57264, 1, 7],
                OtherNameValue::Utf8String(u.clone()),
            )),
        }];
        // Fulcio writes the issuer twice: the deprecated raw-string …1.1 (which cosign 2.5
        // still reads) and the DER UTF8String …1.8.
        let legacy = CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 57264, 1, 1],
            opts.oidc_issuer.as_bytes().to_vec(),
        );
        p.custom_extensions = if opts.legacy_issuer_extension {
            vec![legacy]
        } else {
            vec![
                legacy,
                CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 4, 1, 57264, 1, 8],
                    der::asn1::Utf8StringRef::new(&opts.oidc_issuer)
                        .unwrap()
                        .to_der()
                        .unwrap(),
                ),
            ]
        };
        for (n, content) in &opts.extensions {
            p.custom_extensions.push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 57264, 1, *n],
                content.clone(),
            ));
        }
        p
    }

    /// A Fulcio-like leaf; with `SctMode::Valid` it embeds an SCT from the test CT log over
    /// the precertificate (this TBS without the SCT extension).
    pub fn leaf(&self, opts: &SignOpts) -> TestLeaf {
        let key = TestKey::generate();
        let serial = self.serial.get() + 1;
        self.serial.set(serial);
        let issuer = if opts.rogue_issuer {
            &self.rogue
        } else {
            &self.intermediate
        };
        let mut params = self.leaf_params(opts, serial);
        if opts.sct != SctMode::Missing {
            let pre = params.signed_by(&key.rcgen, issuer).unwrap();
            let pre = x509_cert::Certificate::from_der(pre.der()).unwrap();
            let tbs = pre.tbs_certificate.to_der().unwrap();
            let timestamp_ms = u64::try_from(opts.not_before).unwrap() * 1000 + 1;
            let issuer_spki = issuer.key().subject_public_key_info();
            let mut signed = vec![0u8, 0u8];
            signed.extend_from_slice(&timestamp_ms.to_be_bytes());
            signed.extend_from_slice(&[0, 1]);
            signed.extend_from_slice(&Sha256::digest(&issuer_spki));
            let n = tbs.len();
            signed.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
            signed.extend_from_slice(&tbs);
            signed.extend_from_slice(&[0, 0]);
            if opts.sct == SctMode::BadSignature {
                signed.push(0xff);
            }
            let sig = self.ctlog.sign(&signed);
            let mut sct = vec![0u8];
            sct.extend_from_slice(&self.ctlog.log_id());
            sct.extend_from_slice(&timestamp_ms.to_be_bytes());
            sct.extend_from_slice(&[0, 0, 4, 3]);
            sct.extend_from_slice(&(sig.len() as u16).to_be_bytes());
            sct.extend_from_slice(&sig);
            let mut list_body = (sct.len() as u16).to_be_bytes().to_vec();
            list_body.extend_from_slice(&sct);
            let mut list = (list_body.len() as u16).to_be_bytes().to_vec();
            list.extend_from_slice(&list_body);
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
                    der::asn1::OctetString::new(list).unwrap().to_der().unwrap(),
                ));
        }
        let cert = params.signed_by(&key.rcgen, issuer).unwrap();
        TestLeaf {
            der: cert.der().to_vec(),
            pem: pem(cert.der()),
            key,
        }
    }

    pub fn hashedrekord_body(&self, sha256: &[u8], sig: &[u8], cert_pem: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex(sha256)}},
                "signature": {"content": b64(sig), "publicKey": {"content": b64(cert_pem.as_bytes())}}
            }
        }))
        .unwrap()
    }

    pub fn dsse_body(&self, payload: &[u8], sig: &[u8], cert_pem: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(b"not checked"))},
                "payloadHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(payload))},
                "signatures": [{"signature": b64(sig), "verifier": b64(cert_pem.as_bytes())}]
            }
        }))
        .unwrap()
    }

    /// The SET over `{body, integratedTime, logID, logIndex}`, canonical JSON.
    pub fn set(&self, body: &[u8], integrated_time: i64, key: SetKey) -> Vec<u8> {
        let msg = serde_json::to_vec(&json!({
            "body": b64(body),
            "integratedTime": integrated_time,
            "logID": hex(&self.rekor.log_id()),
            "logIndex": LOG_INDEX,
        }))
        .unwrap(); // serde_json's map is sorted and compact: the canonical form here
        match key {
            SetKey::Rekor => self.rekor.sign(&msg),
            SetKey::Other => self.other.sign(&msg),
        }
    }

    /// An inclusion proof for `body` at index 3 of a 7-leaf tree, with a checkpoint signed
    /// by the Rekor v1 log.
    pub fn inclusion_proof(&self, body: &[u8]) -> Value {
        self.inclusion_proof_in(body, Log::RekorV1)
    }

    /// The same in `log`: a Rekor v2 checkpoint is a C2SP signed note whose origin is the
    /// log's name, signed by its Ed25519 key (key hint: the first 4 bytes of its log id).
    pub fn inclusion_proof_in(&self, body: &[u8], log: Log) -> Value {
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(body);
        let leaves: Vec<Vec<u8>> = (0..TREE_SIZE)
            .map(|i| {
                if i as i64 == LOG_INDEX {
                    Sha256::digest(&leaf).to_vec()
                } else {
                    let mut l = vec![0u8];
                    l.extend_from_slice(format!("other entry {i}").as_bytes());
                    Sha256::digest(&l).to_vec()
                }
            })
            .collect();
        let root = merkle_root(&leaves);
        let path = merkle_path(&leaves, LOG_INDEX as usize);
        let (origin, name, hint) = match log {
            Log::RekorV1 => (ORIGIN, "rekor.test.invalid", self.rekor.log_id()),
            Log::RekorV2 => (V2_NAME, V2_NAME, self.rekor_v2.log_id()),
        };
        let sign = |m: &[u8]| match log {
            Log::RekorV1 => self.rekor.sign(m),
            Log::RekorV2 => self.rekor_v2.sign(m),
        };
        let text = format!("{origin}\n{TREE_SIZE}\n{}\n", b64(&root));
        let mut sig = hint[..4].to_vec();
        sig.extend_from_slice(&sign(text.as_bytes()));
        let envelope = format!("{text}\n\u{2014} {name} {}\n", b64(&sig));
        json!({
            "logIndex": LOG_INDEX.to_string(),
            "rootHash": b64(&root),
            "treeSize": TREE_SIZE.to_string(),
            "hashes": path.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            "checkpoint": {"envelope": envelope}
        })
    }

    fn body_sig(&self, leaf: &TestLeaf, real: &[u8], signed: &[u8], opts: &SignOpts) -> Vec<u8> {
        if opts.body_with_other_signature {
            let mut other = signed.to_vec();
            other.extend_from_slice(b" (another signature)");
            leaf.key.sign(&other)
        } else {
            real.to_vec()
        }
    }

    /// The `dev.sigstore.cosign/bundle` annotation for a log entry with `body`.
    fn rekor_bundle_annotation(&self, body: &[u8], opts: &SignOpts) -> Value {
        let set = self.set(body, opts.integrated_time, opts.set_key);
        json!({
            "SignedEntryTimestamp": b64(&set),
            "Payload": {
                "body": b64(body),
                "integratedTime": opts.integrated_time,
                "logIndex": LOG_INDEX,
                "logID": hex(&self.rekor.log_id()),
            }
        })
    }

    /// A cosign legacy keyless signature of `payload`, as the `.sig` layer annotations.
    pub fn legacy_signature(&self, payload: &[u8], opts: &SignOpts) -> LegacyAnnotations {
        let leaf = self.leaf(opts);
        let sig = leaf.key.sign(payload);
        let body_sig = self.body_sig(&leaf, &sig, payload, opts);
        let body = self.hashedrekord_body(&Sha256::digest(payload), &body_sig, &leaf.pem);
        let bundle = self.rekor_bundle_annotation(&body, opts);
        LegacyAnnotations {
            signature_b64: b64(&sig),
            certificate_pem: leaf.pem,
            chain_pem: self.chain_pem(),
            bundle_json: bundle.to_string(),
        }
    }

    /// A cosign legacy keyed signature of `payload` by `key` (`cosign sign --key` with the
    /// log: the Rekor entry's `hashedrekord` body holds the public key's PEM, not a
    /// certificate), as the `.sig` layer annotations; `certificate_pem` and `chain_pem`
    /// are empty, as cosign writes none for a key.
    pub fn legacy_keyed_signature(
        &self,
        payload: &[u8],
        key: &TestKey,
        opts: &SignOpts,
    ) -> LegacyAnnotations {
        let sig = key.sign(payload);
        let body_sig = if opts.body_with_other_signature {
            key.sign(b"another payload")
        } else {
            sig.clone()
        };
        let key_pem = pem_labelled("PUBLIC KEY", &key.spki_der());
        let body = self.hashedrekord_body(&Sha256::digest(payload), &body_sig, &key_pem);
        let bundle = self.rekor_bundle_annotation(&body, opts);
        LegacyAnnotations {
            signature_b64: b64(&sig),
            certificate_pem: String::new(),
            chain_pem: String::new(),
            bundle_json: bundle.to_string(),
        }
    }

    /// A cosign legacy keyed attestation by `key` (`cosign attest --key` with the log): the
    /// DSSE envelope (an `.att` layer) and its annotations, whose Rekor entry is a `dsse`
    /// body holding the public key's PEM; no certificate, as cosign writes none for a key.
    pub fn legacy_keyed_attestation(
        &self,
        payload_type: &str,
        payload: &[u8],
        key: &TestKey,
        opts: &SignOpts,
    ) -> (String, LegacyAnnotations) {
        let pae = dsse_pae(payload_type, payload);
        let sig = key.sign(&pae);
        let body_sig = if opts.body_with_other_signature {
            key.sign(b"another envelope")
        } else {
            sig.clone()
        };
        let key_pem = pem_labelled("PUBLIC KEY", &key.spki_der());
        let body = self.dsse_body(payload, &body_sig, &key_pem);
        let bundle = self.rekor_bundle_annotation(&body, opts);
        (
            envelope_json(payload_type, payload, &sig),
            LegacyAnnotations {
                signature_b64: String::new(),
                certificate_pem: String::new(),
                chain_pem: String::new(),
                bundle_json: bundle.to_string(),
            },
        )
    }

    /// A cosign legacy keyless attestation: the DSSE envelope (an `.att` layer) and the
    /// layer's annotations (the Rekor bundle annotation holds a `dsse` entry).
    pub fn legacy_attestation(
        &self,
        payload_type: &str,
        payload: &[u8],
        opts: &SignOpts,
    ) -> (String, LegacyAnnotations) {
        let leaf = self.leaf(opts);
        let pae = dsse_pae(payload_type, payload);
        let sig = leaf.key.sign(&pae);
        let body_sig = self.body_sig(&leaf, &sig, &pae, opts);
        let body = self.dsse_body(payload, &body_sig, &leaf.pem);
        let bundle = self.rekor_bundle_annotation(&body, opts);
        (
            envelope_json(payload_type, payload, &sig),
            LegacyAnnotations {
                signature_b64: String::new(),
                certificate_pem: leaf.pem,
                chain_pem: self.chain_pem(),
                bundle_json: bundle.to_string(),
            },
        )
    }

    fn tlog_entries(&self, kind: &str, version: &str, body: &[u8], opts: &SignOpts) -> Value {
        if !opts.tlog_entry {
            return json!([]);
        }
        let mut entry = match opts.log {
            Log::RekorV1 => json!({
                "logIndex": LOG_INDEX.to_string(),
                "logId": {"keyId": b64(&self.rekor.log_id())},
                "kindVersion": {"kind": kind, "version": version},
                "integratedTime": opts.integrated_time.to_string(),
                "canonicalizedBody": b64(body),
            }),
            // No integrated time and no SET: the signing time is the TSA's.
            Log::RekorV2 => json!({
                "logIndex": LOG_INDEX.to_string(),
                "logId": {"keyId": b64(&self.rekor_v2.log_id())},
                "kindVersion": {"kind": "hashedrekord", "version": "0.0.2"},
                "canonicalizedBody": b64(body),
            }),
        };
        if opts.log == Log::RekorV1 && opts.inclusion_promise {
            entry["inclusionPromise"] = json!({"signedEntryTimestamp": b64(&self.set(body, opts.integrated_time, opts.set_key))});
        }
        if opts.inclusion_proof {
            entry["inclusionProof"] = self.inclusion_proof_in(body, opts.log);
        }
        json!([entry])
    }

    /// A Rekor v2 `hashedrekord` 0.0.2 body: the digest signed (the artifact's, or for a
    /// DSSE envelope its PAE's) and the signature with its certificate.
    pub fn hashedrekord_v2_body(&self, sha256: &[u8], sig: &[u8], leaf_der: &[u8]) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {"hashedRekordV002": {
                "data": {"algorithm": "SHA2_256", "digest": b64(sha256)},
                "signature": {
                    "content": b64(sig),
                    "verifier": {
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        "x509Certificate": {"rawBytes": b64(leaf_der)}
                    }
                }
            }}
        }))
        .unwrap()
    }

    /// A bundle of `opts.version` with `content` (`messageSignature` or `dsseEnvelope`),
    /// the log entry for `body` and, with `opts.timestamp`, a TSA timestamp of `sig`.
    fn bundle(
        &self,
        leaf: &TestLeaf,
        (kind, version, body): (&str, &str, &[u8]),
        (content_key, content): (&str, Value),
        sig: &[u8],
        opts: &SignOpts,
    ) -> String {
        let media_type = match opts.version {
            BundleVersion::V01 => "application/vnd.dev.sigstore.bundle+json;version=0.1",
            BundleVersion::V02 => "application/vnd.dev.sigstore.bundle+json;version=0.2",
            BundleVersion::V03 => "application/vnd.dev.sigstore.bundle.v0.3+json",
        };
        let mut material = json!({
            "tlogEntries": self.tlog_entries(kind, version, body, opts),
            "timestampVerificationData": {},
        });
        if opts.version == BundleVersion::V03 && opts.chain == ChainMode::Leaf {
            material["certificate"] = json!({"rawBytes": b64(&leaf.der)});
        } else {
            let mut certs = vec![json!({"rawBytes": b64(&leaf.der)})];
            if opts.chain != ChainMode::Leaf {
                certs.push(json!({"rawBytes": b64(self.intermediate.der())}));
            }
            if opts.chain == ChainMode::WithRoot {
                certs.push(json!({"rawBytes": b64(self.root.der())}));
            }
            material["x509CertificateChain"] = json!({"certificates": certs});
        }
        if opts.timestamp {
            material["timestampVerificationData"] = json!({"rfc3161Timestamps": [
                {"signedTimestamp": b64(&self.tsa.timestamp(sig))}
            ]});
        }
        let mut bundle = json!({
            "mediaType": media_type,
            "verificationMaterial": material,
        });
        bundle[content_key] = content;
        serde_json::to_string_pretty(&bundle).unwrap()
    }

    /// A bundle (v0.3 by default, see `opts`) with a message signature over `artifact`
    /// (a `hashedrekord` entry).
    pub fn bundle_v03_message(&self, artifact: &[u8], opts: &SignOpts) -> String {
        let leaf = self.leaf(opts);
        let sig = leaf.key.sign(artifact);
        let digest = Sha256::digest(artifact);
        let body_sig = self.body_sig(&leaf, &sig, artifact, opts);
        let (version, body) = match opts.log {
            Log::RekorV1 => (
                "0.0.1",
                self.hashedrekord_body(&digest, &body_sig, &leaf.pem),
            ),
            Log::RekorV2 => (
                "0.0.2",
                self.hashedrekord_v2_body(&digest, &body_sig, &leaf.der),
            ),
        };
        self.bundle(
            &leaf,
            ("hashedrekord", version, &body),
            (
                "messageSignature",
                json!({
                    "messageDigest": {"algorithm": "SHA2_256", "digest": b64(&digest)},
                    "signature": b64(&sig)
                }),
            ),
            &sig,
            opts,
        )
    }

    /// A bundle (v0.3 by default) with a DSSE envelope (a `dsse` entry in Rekor v1, a
    /// `hashedrekord` 0.0.2 over the PAE in Rekor v2).
    pub fn bundle_v03_dsse(&self, payload_type: &str, payload: &[u8], opts: &SignOpts) -> String {
        let leaf = self.leaf(opts);
        let pae = dsse_pae(payload_type, payload);
        let sig = leaf.key.sign(&pae);
        let body_sig = self.body_sig(&leaf, &sig, &pae, opts);
        let (kind, version, body) = match opts.log {
            Log::RekorV1 => (
                "dsse",
                "0.0.1",
                self.dsse_body(payload, &body_sig, &leaf.pem),
            ),
            Log::RekorV2 => (
                "hashedrekord",
                "0.0.2",
                self.hashedrekord_v2_body(&Sha256::digest(&pae), &body_sig, &leaf.der),
            ),
        };
        self.bundle(
            &leaf,
            (kind, version, &body),
            (
                "dsseEnvelope",
                json!({
                    "payload": b64(payload),
                    "payloadType": payload_type,
                    "signatures": [{"sig": b64(&sig), "keyid": ""}]
                }),
            ),
            &sig,
            opts,
        )
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

/// An in-toto statement naming one subject by sha256, as cosign attest writes.
pub fn in_toto_statement(subject_name: &str, sha256_hex: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject_name, "digest": {"sha256": sha256_hex}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {}
    }))
    .unwrap()
}

/// An in-toto statement of `predicate_type` about one subject.
pub fn in_toto_statement_of(predicate_type: &str, subject_name: &str, sha256_hex: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject_name, "digest": {"sha256": sha256_hex}}],
        "predicateType": predicate_type,
        "predicate": {}
    }))
    .unwrap()
}

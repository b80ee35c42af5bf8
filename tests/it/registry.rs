//! A real OCI registry for the verify tests: Debian's `docker-registry` (the CNCF
//! distribution registry) on 127.0.0.1, with images pushed by `skopeo` and signed by the
//! real `cosign`. Each test starts its own registry (storage in a temp dir) and the
//! registry is stopped by its PID when the handle drops.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common;

pub const USER: &str = "vouch-tester";
/// A password no output may ever contain.
pub const PASSWORD: &str = "s3cret-Pa55word-9f1c";

/// The tools these tests need; `None` (skip) locally when one is missing.
pub fn tools() -> Option<()> {
    for tool in ["docker-registry", "skopeo", "cosign", "htpasswd", "openssl"] {
        common::require_tool(tool)?;
    }
    Some(())
}

pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// TLS + basic auth: the CA certificate that signed the server's certificate.
    pub ca: Option<PathBuf>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Registry {
    /// An anonymous plain-HTTP registry.
    pub fn start() -> Registry {
        Registry::start_with(false)
    }

    /// A registry behind TLS (a test CA made here with openssl) and htpasswd basic auth.
    pub fn start_tls_auth() -> Registry {
        Registry::start_with(true)
    }

    fn start_with(secure: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let store = dir.path().join("store");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            store.display()
        );
        let mut ca = None;
        if secure {
            let d = dir.path();
            run(Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-days",
                    "2",
                ])
                .args(["-subj", "/CN=vouch test CA", "-keyout"])
                .arg(d.join("ca.key"))
                .arg("-out")
                .arg(d.join("ca.crt")));
            run(Command::new("openssl")
                .args([
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                ])
                .args(["-subj", "/CN=127.0.0.1", "-keyout"])
                .arg(d.join("server.key"))
                .arg("-out")
                .arg(d.join("server.csr")));
            std::fs::write(
                d.join("ext.cnf"),
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            )
            .unwrap();
            run(Command::new("openssl")
                .args(["x509", "-req", "-days", "2", "-in"])
                .arg(d.join("server.csr"))
                .arg("-CA")
                .arg(d.join("ca.crt"))
                .arg("-CAkey")
                .arg(d.join("ca.key"))
                .args(["-CAcreateserial", "-extfile"])
                .arg(d.join("ext.cnf"))
                .arg("-out")
                .arg(d.join("server.crt")));
            let htpasswd = run(Command::new("htpasswd").args(["-Bbn", USER, PASSWORD]));
            std::fs::write(d.join("htpasswd"), &htpasswd.stdout).unwrap();
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: vouch-test\n    path: {}\n",
                d.join("server.crt").display(),
                d.join("server.key").display(),
                d.join("htpasswd").display()
            ));
            // skopeo's --dest-cert-dir wants the CA as *.crt in a directory of its own.
            std::fs::create_dir_all(d.join("certs.d")).unwrap();
            std::fs::copy(d.join("ca.crt"), d.join("certs.d/ca.crt")).unwrap();
            ca = Some(d.join("ca.crt"));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            child,
            port,
            dir,
            ca,
        };
        registry.wait_ready();
        registry
    }

    /// Waits until `/v2/` answers (a TCP connect for the TLS one).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                if self.ca.is_some() {
                    return;
                }
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not come up on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT/repo`.
    pub fn repo(&self, name: &str) -> String {
        format!("{}/{name}", self.host())
    }

    /// The on-disk file of a blob in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("store/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// A Docker config dir with credentials for this registry.
    pub fn docker_config(&self, password: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, self.host()),
        )
        .unwrap();
        dir
    }

    /// skopeo's TLS and credential flags for this registry, `dest` or `src`.
    fn skopeo_flags(&self, side: &str) -> Vec<String> {
        match &self.ca {
            None => vec![format!("--{side}-tls-verify=false")],
            Some(_) => vec![
                format!(
                    "--{side}-cert-dir={}",
                    self.dir.path().join("certs.d").display()
                ),
                format!("--{side}-creds={USER}:{PASSWORD}"),
            ],
        }
    }

    /// Pushes a fresh, unique image as `repo:tag`; returns its digest (`sha256:...`).
    pub fn push_image(&self, repo: &str, tag: &str) -> String {
        let layout = tempfile::tempdir().unwrap();
        let layer = format!("vouch test layer {} {:?}\n", unique(), Instant::now());
        write_layout(
            layout.path(),
            tag,
            "application/vnd.oci.image.layer.v1.tar",
            layer.as_bytes(),
            None,
        );
        self.push_layout(layout.path(), tag, &format!("{repo}:{tag}"))
    }

    /// Pushes the OCI layout `dir` (its `tag`) to `target` (`repo:tag`); returns the
    /// digest the registry stored.
    pub fn push_layout(&self, dir: &Path, tag: &str, target: &str) -> String {
        let digest_file = dir.join("pushed.digest");
        run(Command::new("skopeo")
            .arg("copy")
            .arg("-q")
            .args(self.skopeo_flags("dest"))
            .arg("--digestfile")
            .arg(&digest_file)
            .arg(format!("oci:{}:{tag}", dir.display()))
            .arg(format!("docker://{}/{target}", self.host())));
        std::fs::read_to_string(&digest_file)
            .unwrap()
            .trim()
            .to_string()
    }

    /// Copies `src` to `dst` inside the registry (both `repo:tag`).
    pub fn copy(&self, src: &str, dst: &str) {
        run(Command::new("skopeo")
            .arg("copy")
            .arg("-q")
            .args(self.skopeo_flags("src"))
            .args(self.skopeo_flags("dest"))
            .arg(format!("docker://{}/{src}", self.host()))
            .arg(format!("docker://{}/{dst}", self.host())));
    }

    /// Fetches `repo:tag` into an OCI layout directory (tag `t`).
    pub fn pull_layout(&self, src: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("skopeo")
            .arg("copy")
            .arg("-q")
            .args(self.skopeo_flags("src"))
            .arg(format!("docker://{}/{src}", self.host()))
            .arg(format!("oci:{}:t", dir.path().display())));
        dir
    }

    /// Runs the real cosign against this registry.
    pub fn cosign(&self, args: &[&str]) -> Output {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("cosign");
        cmd.args(args)
            .env("COSIGN_PASSWORD", "")
            .env("HOME", home.path())
            .env("COSIGN_YES", "true")
            .current_dir(home.path());
        let config;
        if let Some(ca) = &self.ca {
            config = self.docker_config(PASSWORD);
            cmd.env("DOCKER_CONFIG", config.path())
                .env("SSL_CERT_FILE", ca);
        }
        run(&mut cmd)
    }

    /// `cosign sign --key KEY IMAGE@DIGEST` without a transparency log.
    pub fn sign(&self, key: &Key, image: &str) {
        self.cosign(&[
            "sign",
            "--key",
            key.private.to_str().unwrap(),
            "--tlog-upload=false",
            "-y",
            image,
        ]);
    }

    /// `cosign attest --type TYPE` with a small predicate.
    pub fn attest(&self, key: &Key, image: &str, kind: &str) {
        let dir = tempfile::tempdir().unwrap();
        let predicate = dir.path().join("predicate.json");
        std::fs::write(
            &predicate,
            r#"{"builder":{"id":"https://vouch.test/builder"},"buildType":"https://vouch.test/build"}"#,
        )
        .unwrap();
        self.cosign(&[
            "attest",
            "--key",
            key.private.to_str().unwrap(),
            "--type",
            kind,
            "--predicate",
            predicate.to_str().unwrap(),
            "--tlog-upload=false",
            "-y",
            image,
        ]);
    }
}

/// A cosign key pair (empty password), made by `cosign generate-key-pair`.
pub struct Key {
    _dir: tempfile::TempDir,
    pub private: PathBuf,
    pub public: PathBuf,
}

impl Key {
    pub fn generate() -> Key {
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("cosign")
            .args(["generate-key-pair", "--output-key-prefix"])
            .arg(dir.path().join("k"))
            .env("COSIGN_PASSWORD", "")
            .current_dir(dir.path()));
        Key {
            private: dir.path().join("k.key"),
            public: dir.path().join("k.pub"),
            _dir: dir,
        }
    }
}

fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst) * 1_000_003 + std::process::id() as u64
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let hex = sha256_hex(bytes);
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(&hex), bytes).unwrap();
    format!("sha256:{hex}")
}

/// Writes an OCI layout with one manifest (tag `tag`): a tiny config and one layer of
/// `media_type` holding `layer`, with optional layer annotations (JSON object text).
pub fn write_layout(
    dir: &Path,
    tag: &str,
    media_type: &str,
    layer: &[u8],
    annotations: Option<&str>,
) {
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = put_blob(dir, config);
    let layer_digest = put_blob(dir, layer);
    let annotations = annotations
        .map(|a| format!(r#","annotations":{a}"#))
        .unwrap_or_default();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"{media_type}","digest":"{layer_digest}","size":{}{annotations}}}]}}"#,
        config.len(),
        layer.len()
    );
    set_manifest(dir, tag, manifest.as_bytes());
}

/// Stores `manifest` in the layout and points `index.json` (tag `tag`) at it.
pub fn set_manifest(dir: &Path, tag: &str, manifest: &[u8]) {
    let digest = put_blob(dir, manifest);
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#,
        manifest.len()
    );
    std::fs::write(dir.join("index.json"), index).unwrap();
}

/// The manifest a layout's index points at, as JSON.
pub fn layout_manifest(dir: &Path) -> serde_json::Value {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    serde_json::from_slice(&layout_blob(dir, digest)).unwrap()
}

pub fn layout_blob(dir: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

/// Adds a blob to a layout; returns its digest.
pub fn layout_put_blob(dir: &Path, bytes: &[u8]) -> String {
    put_blob(dir, bytes)
}

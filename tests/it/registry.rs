//! A real OCI registry for the verify tests: Debian's `docker-registry` (the CNCF
//! distribution registry) on 127.0.0.1, with images pushed by `skopeo` and signed by the
//! real `cosign`. Each test starts its own registry (storage in a temp dir) and the
//! registry is stopped by its PID when the handle drops.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common;

pub const USER: &str = "vouch-tester";
/// A password no output may ever contain.
pub const PASSWORD: &str = "s3cret-Pa55word-9f1c";

/// The tools these tests need (see [`common::require_tool`]: a test that runs without
/// them fails; tests that call this are `#[ignore = "needs docker-registry, ..."]`).
pub fn tools() {
    for tool in ["docker-registry", "skopeo", "cosign", "htpasswd", "openssl"] {
        common::require_tool(tool);
    }
}

pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// TLS + basic auth: the CA certificate that signed the server's certificate.
    pub ca: Option<PathBuf>,
    /// Credentials are required (basic auth, or the token server).
    pub auth: bool,
    token_server: Option<TokenServer>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.token_server.take());
    }
}

/// A hand-written token server (no real one is packaged for Debian): the Docker token
/// protocol's issuer side. It checks basic credentials ([`USER`]/[`PASSWORD`]), grants
/// every requested `repository:NAME:ACTIONS` scope, and answers `{"token": JWT}`: an
/// ES256 JWT signed (with `ring`) by a key whose certificate the real registry trusts
/// (`rootcertbundle`) and carries in the `x5c` header. The registry, not this server,
/// decides whether a token is good. It counts the tokens it issued, and keeps every
/// `Authorization` header it was sent (to prove where credentials did not go).
pub struct TokenServer {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub issued: std::sync::Arc<AtomicU64>,
    /// Every request line received, and its `Authorization` header if it had one.
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<TokenRequest>>>,
    /// Every token issued, for tests that prove none reaches an output.
    pub tokens: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A request the token server received: its request line and `Authorization` header.
pub type TokenRequest = (String, Option<String>);

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl TokenServer {
    fn start(key_pem: &Path, cert_pem: &Path) -> TokenServer {
        let (_, pkcs8) = der_pem(&std::fs::read(key_pem).unwrap());
        let (_, cert_der) = der_pem(&std::fs::read(cert_pem).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let issued = std::sync::Arc::new(AtomicU64::new(0));
        let tokens = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (stop2, issued2, tokens2, requests2) = (
            stop.clone(),
            issued.clone(),
            tokens.clone(),
            requests.clone(),
        );
        let thread = std::thread::spawn(move || {
            let rng = ring::rand::SystemRandom::new();
            let key = ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &pkcs8,
                &rng,
            )
            .unwrap();
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                if let Some(token) = serve_token(stream, &key, &rng, &cert_der, &requests2) {
                    issued2.fetch_add(1, Ordering::SeqCst);
                    tokens2.lock().unwrap().push(token);
                }
            }
        });
        TokenServer {
            port,
            stop,
            issued,
            requests,
            tokens,
            thread: Some(thread),
        }
    }
}

fn der_pem(bytes: &[u8]) -> (String, Vec<u8>) {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let start = text.find("-----BEGIN").unwrap();
    let (label, der) = der::pem::decode_vec(&text.as_bytes()[start..]).unwrap();
    (label.to_string(), der)
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Answers one token request; true if a token was issued.
fn serve_token(
    mut stream: TcpStream,
    key: &ring::signature::EcdsaKeyPair,
    rng: &ring::rand::SystemRandom,
    cert_der: &[u8],
    requests: &std::sync::Mutex<Vec<TokenRequest>>,
) -> Option<String> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    // Every connection is recorded, even one that sends no request line.
    let (request_line, headers) =
        read_request(&stream).unwrap_or_else(|| ("<no request line>".into(), Vec::new()));
    let authorization = header(&headers, "authorization").map(str::to_string);
    requests
        .lock()
        .unwrap()
        .push((request_line.trim_end().to_string(), authorization.clone()));
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    if authorization.as_deref() != Some(expected.as_str()) {
        let _ = stream.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return None;
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut access = Vec::new();
    for pair in query.split('&') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        if k != "scope" {
            continue;
        }
        let scope = percent_decode(v);
        let mut parts = scope.splitn(3, ':');
        if let (Some(kind), Some(name), Some(actions)) = (parts.next(), parts.next(), parts.next())
        {
            let actions: Vec<&str> = actions.split(',').collect();
            access.push(serde_json::json!({"type": kind, "name": name, "actions": actions}));
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    use base64::engine::general_purpose::STANDARD;
    let header =
        serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [STANDARD.encode(cert_der)]});
    let claims = serde_json::json!({
        "iss": "vouch-test-issuer", "sub": USER, "aud": "vouch-test",
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", unique()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature = key.sign(rng, signing_input.as_bytes()).unwrap();
    let token = format!("{signing_input}.{}", b64url(signature.as_ref()));
    let body =
        serde_json::json!({"token": token, "access_token": token, "expires_in": 300}).to_string();
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    Some(token)
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

    /// A plain-HTTP (loopback) registry with token authentication: the registry itself
    /// validates the bearer tokens (ES256 JWTs) that a [`TokenServer`] issues.
    pub fn start_token_auth() -> Registry {
        Registry::start_token_auth_realm_host("127.0.0.1")
    }

    /// [`Registry::start_token_auth`] with the token realm named as
    /// `http://{realm_host}:PORT/token` (the token server listens on 127.0.0.1 only:
    /// `realm_host` is another way to write that address).
    pub fn start_token_auth_realm_host(realm_host: &str) -> Registry {
        Registry::start_with_mode(false, Some(realm_host))
    }

    fn start_with(secure: bool) -> Registry {
        Registry::start_with_mode(secure, None)
    }

    fn start_with_mode(secure: bool, token_realm_host: Option<&str>) -> Registry {
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
        let mut token_server = None;
        if let Some(realm_host) = token_realm_host {
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
                .args(["-subj", "/CN=vouch test token issuer", "-keyout"])
                .arg(d.join("token.key"))
                .arg("-out")
                .arg(d.join("token.crt")));
            let server = TokenServer::start(&d.join("token.key"), &d.join("token.crt"));
            config.push_str(&format!(
                "auth:\n  token:\n    realm: http://{realm_host}:{}/token\n    service: vouch-test\n    issuer: vouch-test-issuer\n    rootcertbundle: {}\n",
                server.port,
                d.join("token.crt").display()
            ));
            token_server = Some(server);
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
            auth: secure || token_realm_host.is_some(),
            ca,
            token_server,
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

    /// Every bearer token the token server issued so far.
    pub fn tokens(&self) -> Vec<String> {
        self.token_server
            .as_ref()
            .map(|t| t.tokens.lock().unwrap().clone())
            .unwrap_or_default()
    }

    /// Every request the token server received: (request line, Authorization header).
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.token_server
            .as_ref()
            .map(|t| t.requests.lock().unwrap().clone())
            .unwrap_or_default()
    }

    /// How many tokens the token server issued (0 without one).
    pub fn tokens_issued(&self) -> u64 {
        self.token_server
            .as_ref()
            .map_or(0, |t| t.issued.load(Ordering::SeqCst))
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
        self.docker_config_for(&self.host(), password)
    }

    /// A Docker config dir with credentials for this registry under another name
    /// (`registry` as a reference names it, e.g. `[::ffff:127.0.0.1]:PORT`).
    pub fn docker_config_for(&self, registry: &str, password: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#),
        )
        .unwrap();
        dir
    }

    /// skopeo's TLS and credential flags for this registry, `dest` or `src`.
    fn skopeo_flags(&self, side: &str) -> Vec<String> {
        let mut flags = match &self.ca {
            None => vec![format!("--{side}-tls-verify=false")],
            Some(_) => vec![format!(
                "--{side}-cert-dir={}",
                self.dir.path().join("certs.d").display()
            )],
        };
        if self.auth {
            flags.push(format!("--{side}-creds={USER}:{PASSWORD}"));
        }
        flags
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
        self.cosign_env(args, &[])
    }

    /// Runs the real cosign with extra environment variables.
    pub fn cosign_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("cosign");
        cmd.envs(env.iter().copied());
        cmd.args(args)
            .env("COSIGN_PASSWORD", "")
            .env("HOME", home.path())
            .env("COSIGN_YES", "true")
            .current_dir(home.path());
        let config;
        if self.auth {
            config = self.docker_config(PASSWORD);
            cmd.env("DOCKER_CONFIG", config.path());
        }
        if let Some(ca) = &self.ca {
            cmd.env("SSL_CERT_FILE", ca);
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
        self.attest_file(key, image, kind, &predicate);
    }

    /// `cosign attest --key --type KIND --predicate FILE` (no log upload).
    pub fn attest_file(&self, key: &Key, image: &str, kind: &str, predicate: &Path) {
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

/// Direct pushes over the distribution API (anonymous, plain-HTTP registries only), for
/// documents skopeo would rewrite: referrer manifests with `subject` and `artifactType`,
/// and the referrers fallback index.
impl Registry {
    fn http_base(&self) -> String {
        assert!(
            self.ca.is_none() && !self.auth,
            "direct pushes are for the anonymous registry"
        );
        format!("http://{}", self.host())
    }

    /// Uploads a blob (monolithic POST + PUT); returns its digest.
    pub fn put_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = format!("sha256:{}", sha256_hex(bytes));
        let http = reqwest::blocking::Client::new();
        let start = http
            .post(format!("{}/v2/{repo}/blobs/uploads/", self.http_base()))
            .send()
            .unwrap();
        assert_eq!(start.status().as_u16(), 202, "blob upload start");
        let location = start.headers()["location"].to_str().unwrap().to_string();
        let url = if location.starts_with("http") {
            location
        } else {
            format!("{}{location}", self.http_base())
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let done = http
            .put(format!("{url}{sep}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .unwrap();
        assert_eq!(done.status().as_u16(), 201, "blob upload");
        digest
    }

    /// Stores a manifest (or index) at `reference` (a tag or its digest); returns its digest.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let resp = reqwest::blocking::Client::new()
            .put(format!(
                "{}/v2/{repo}/manifests/{reference}",
                self.http_base()
            ))
            .header("content-type", media_type)
            .body(bytes.to_vec())
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        assert_eq!(
            status,
            201,
            "manifest upload: {}",
            resp.text().unwrap_or_default()
        );
        format!("sha256:{}", sha256_hex(bytes))
    }

    /// Pushes an image manifest with one layer (`media_type`, annotations as JSON object
    /// text) at `reference` in `repo`, with `artifact_type` and `subject` when given.
    #[allow(clippy::too_many_arguments)]
    pub fn put_artifact(
        &self,
        repo: &str,
        reference: &str,
        layer_media_type: &str,
        layer: &[u8],
        annotations: Option<serde_json::Value>,
        artifact_type: Option<&str>,
        subject: Option<&str>,
    ) -> String {
        let config: &[u8] = if artifact_type.is_some() {
            b"{}"
        } else {
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
        };
        let config_type = if artifact_type.is_some() {
            "application/vnd.oci.empty.v1+json"
        } else {
            "application/vnd.oci.image.config.v1+json"
        };
        let config_digest = self.put_blob(repo, config);
        let layer_digest = self.put_blob(repo, layer);
        let mut layer_desc = serde_json::json!({
            "mediaType": layer_media_type, "digest": layer_digest, "size": layer.len()
        });
        if let Some(a) = annotations {
            layer_desc["annotations"] = a;
        }
        let mut manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
            "layers": [layer_desc],
        });
        if let Some(t) = artifact_type {
            manifest["artifactType"] = t.into();
        }
        if let Some(digest) = subject {
            let subject_manifest = self.manifest_bytes(repo, digest);
            manifest["subject"] = serde_json::json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest,
                "size": subject_manifest.len(),
            });
        }
        let bytes = serde_json::to_vec(&manifest).unwrap();
        self.put_manifest(
            repo,
            reference,
            "application/vnd.oci.image.manifest.v1+json",
            &bytes,
        )
    }

    /// The bytes of a manifest, by tag or digest.
    pub fn manifest_bytes(&self, repo: &str, reference: &str) -> Vec<u8> {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/v2/{repo}/manifests/{reference}", self.http_base()))
            .header(
                "accept",
                "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
            )
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{repo}:{reference}");
        resp.bytes().unwrap().to_vec()
    }

    /// Attaches `manifests` (digest, artifactType) as the referrers of `subject` through
    /// the OCI 1.1 fallback tag `sha256-<hex>` (distribution 2.8 has no referrers API).
    pub fn put_referrers_index(&self, repo: &str, subject: &str, manifests: &[(String, &str)]) {
        let entries: Vec<serde_json::Value> = manifests
            .iter()
            .map(|(digest, artifact_type)| {
                let size = self.manifest_bytes(repo, digest).len();
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest, "size": size, "artifactType": artifact_type,
                })
            })
            .collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        });
        let tag = format!("sha256-{}", subject.trim_start_matches("sha256:"));
        self.put_manifest(
            repo,
            &tag,
            "application/vnd.oci.image.index.v1+json",
            &serde_json::to_vec(&index).unwrap(),
        );
    }
}

/// What a [`Shim`] answers itself: status, headers, body.
pub struct ShimAnswer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// A hand-written HTTP front for a real registry on loopback: each request goes to
/// `answer(method, path, upstream)` first; `None` passes it through to the real registry
/// unchanged (method, path, Accept; status, content type, digest and body back). For the
/// registry behaviours distribution 2.8 does not have (the referrers API, blob
/// redirects): everything not answered by the shim comes from the real registry.
pub struct Shim {
    pub port: u16,
    pub requests: std::sync::Arc<AtomicU64>,
    _thread: std::thread::JoinHandle<()>,
}

type ShimFn = dyn Fn(&str, &str, &str) -> Option<ShimAnswer> + Send + Sync;

impl Shim {
    pub fn start(
        upstream: String,
        answer: impl Fn(&str, &str, &str) -> Option<ShimAnswer> + Send + Sync + 'static,
    ) -> Shim {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let answer: Box<ShimFn> = Box::new(answer);
        let thread = std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                shim_serve(stream, &http, &upstream, &*answer);
            }
        });
        Shim {
            port,
            requests,
            _thread: thread,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn shim_serve(
    mut stream: TcpStream,
    http: &reqwest::blocking::Client,
    upstream: &str,
    answer: &ShimFn,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some((request, headers)) = read_request(&stream) else {
        return; // not HTTP (vouch tries TLS first on loopback)
    };
    let accept = header(&headers, "accept").unwrap_or_default().to_string();
    let mut parts = request.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return;
    };
    let reply = answer(method, path, upstream).unwrap_or_else(|| {
        let Ok(method_parsed) = method.parse() else {
            return ShimAnswer {
                status: 400,
                headers: vec![],
                body: vec![],
            };
        };
        let mut req = http.request(method_parsed, format!("http://{upstream}{path}"));
        if !accept.is_empty() {
            req = req.header("accept", &accept);
        }
        let up = req.send().unwrap();
        let mut headers = Vec::new();
        for name in [
            "content-type",
            "docker-content-digest",
            "docker-distribution-api-version",
            "location",
        ] {
            if let Some(v) = up.headers().get(name) {
                headers.push((name, v.to_str().unwrap().to_string()));
            }
        }
        ShimAnswer {
            status: up.status().as_u16(),
            headers,
            body: up.bytes().unwrap().to_vec(),
        }
    });
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(&reply.body);
    }
}

/// For the hand-written servers: reads one HTTP request's line and headers (names
/// lowercased); `None` when the peer sends no line (a TLS handshake, a closed socket).
pub fn read_request(stream: &TcpStream) -> Option<(String, Vec<(String, String)>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    Some((request_line, headers))
}

/// The value of header `name` (lowercase) in what [`read_request`] read.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

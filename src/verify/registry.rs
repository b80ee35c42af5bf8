//! A small read-only OCI distribution client: what `vouch verify` needs and nothing more
//! (ping, manifests by tag or digest, blobs by digest).
//!
//! Why not the `oci-client` crate: it is async (a tokio runtime for three GETs), reads
//! whole bodies without a size cap, and keeps passwords in a `RegistryAuth` whose
//! derived `Debug` prints them. A gate must cap what it reads while streaming, check
//! every byte against its digest, and never let a credential reach a message, so this is
//! a thin layer over `reqwest` (blocking, rustls with `ring`, the system's roots plus
//! `--ca-file`).
//!
//! Rules this module enforces, whatever the caller asks:
//! - HTTPS, except for loopback hosts (127.0.0.0/8, ::1, localhost) and hosts named with
//!   `--allow-insecure-registry`, which are tried over HTTPS first and then plain HTTP.
//! - Connect and total timeouts; at most [`ATTEMPTS`] tries, and only on connection
//!   errors and 5xx answers.
//! - Manifests and blobs are read up to a cap while streaming, never beyond it.
//! - Content fetched by digest must hash to that digest (sha256 only), and a manifest
//!   fetched by tag to the `Docker-Content-Digest` the registry announces; a mismatch is an
//!   error (a registry that serves wrong bytes is hostile or broken: nothing it says can be
//!   checked).
//! - Credentials live in [`Secret`], whose `Debug` and `Display` print `<redacted>`;
//!   error messages name URLs and statuses, never headers or bodies of auth answers.

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, HeaderValue, WWW_AUTHENTICATE};
use sha2::{Digest as _, Sha256};

/// How many times a request is tried (connection errors and 5xx only).
pub const ATTEMPTS: u32 = 3;
/// Default cap on a manifest's size.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Default cap on a blob's size (signature payloads and attestation envelopes).
pub const MAX_BLOB_BYTES: u64 = 16 * 1024 * 1024;

/// Media types vouch accepts for a manifest.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid image reference {reference:?}: {why}")]
    Reference { reference: String, why: String },
    #[error("cannot reach {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("authentication to {registry} failed: {why}")]
    Auth { registry: String, why: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{what} from {url} is larger than the {cap}-byte cap")]
    TooLarge {
        what: &'static str,
        url: String,
        cap: u64,
    },
    #[error(
        "{url} served content whose digest is {actual}, not the requested {expected}: the registry is broken or hostile"
    )]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    Config(String),
}

/// A credential; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A user name and password (or a helper's secret) for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

/// A sha256 content digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(text: &str) -> Option<Digest> {
        let hex = text.strip_prefix("sha256:")?;
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Digest { hex: hex.into() })
    }

    pub fn of(bytes: &[u8]) -> Digest {
        let sum = Sha256::digest(bytes);
        Digest {
            hex: sum.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

/// `registry/repository[:tag][@sha256:...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Host and optional port, as written (`docker.io` for Docker Hub short names).
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, RegistryError> {
        let bad = |why: &str| RegistryError::Reference {
            reference: text.into(),
            why: why.into(),
        };
        if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("empty or contains whitespace"));
        }
        let (name_tag, digest) =
            match text.split_once('@') {
                Some((left, digest)) => (
                    left,
                    Some(Digest::parse(digest).ok_or_else(|| {
                        bad("the digest must be sha256:<64 lowercase hex digits>")
                    })?),
                ),
                None => (text, None),
            };
        // A tag follows the last ':' after the last '/' (a ':' before it is a port).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        if let Some(tag) = tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                && !tag.starts_with(['.', '-']);
            if !valid {
                return Err(bad("invalid tag"));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') =>
            {
                (first.to_string(), rest.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if repository.is_empty() || !repository.split('/').all(component_ok) {
            return Err(bad(
                "the repository must be lowercase path components ([a-z0-9._-])",
            ));
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad("name a digest (@sha256:...) or a tag (:tag)"));
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The host:port the API is served on.
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// `registry/repository@digest`.
    pub fn with_digest(&self, digest: &Digest) -> String {
        format!("{}/{}@{digest}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// PEM CA certificates trusted in addition to the system's.
    pub ca_file: Option<PathBuf>,
    /// Hosts (`host` or `host:port`) that may be reached over plain HTTP.
    pub insecure_hosts: Vec<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_manifest_bytes: u64,
    pub max_blob_bytes: u64,
    /// The Docker config file; `None`: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
}

impl Default for RegistryOptions {
    fn default() -> RegistryOptions {
        RegistryOptions {
            ca_file: None,
            insecure_hosts: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            max_blob_bytes: MAX_BLOB_BYTES,
            docker_config: None,
        }
    }
}

/// A fetched manifest: its bytes and the digest they hash to.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: Option<String>,
}

/// A connection to one registry, authenticated for one repository (pull).
pub struct Client {
    http: Http,
    base: String,
    registry: String,
    repository: String,
    authorization: Option<Secret>,
    max_manifest: u64,
    max_blob: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("repository", &self.repository)
            .field("authorization", &self.authorization)
            .finish()
    }
}

/// True for hosts plain HTTP is allowed to without asking: loopback only.
pub fn is_loopback(host_port: &str) -> bool {
    let host = host_of(host_port);
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Plain HTTP is allowed to loopback hosts and to hosts named (as `host` or `host:port`)
/// with `--allow-insecure-registry`; never otherwise.
pub fn plain_http_allowed(host_port: &str, insecure_hosts: &[String]) -> bool {
    is_loopback(host_port)
        || insecure_hosts.iter().any(|h| {
            h.eq_ignore_ascii_case(host_port) || h.eq_ignore_ascii_case(host_of(host_port))
        })
}

/// The host of `host[:port]` (brackets kept off an IPv6 literal's port).
fn host_of(host_port: &str) -> &str {
    if host_port.parse::<IpAddr>().is_ok() {
        return host_port;
    }
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    }
}

impl Client {
    /// Connects to the registry of `reference`: picks the scheme, pings `/v2/`, and
    /// authenticates for pulling from its repository.
    pub fn connect(
        reference: &Reference,
        options: &RegistryOptions,
    ) -> Result<Client, RegistryError> {
        let host = reference.api_host().to_string();
        let http_allowed = plain_http_allowed(&host, &options.insecure_hosts);
        let http = build_http(options, http_allowed)?;
        let credentials =
            docker_config::lookup(&reference.registry, options.docker_config.as_deref())?;

        // HTTPS first; plain HTTP only where allowed, and only when HTTPS did not connect.
        let https = format!("https://{host}");
        // Where plain HTTP may follow, a failed HTTPS handshake is an answer, not a hiccup:
        // one try (a plain-HTTP server on loopback would otherwise cost every retry).
        let https_attempts = if http_allowed { 1 } else { ATTEMPTS };
        let (base, ping) =
            match send_tries(&http, https_attempts, || http.get(format!("{https}/v2/"))) {
                Ok(resp) => (https, resp),
                Err(https_err) if http_allowed => {
                    let plain = format!("http://{host}");
                    match send(&http, || http.get(format!("{plain}/v2/"))) {
                        Ok(resp)
                            if resp.status() == StatusCode::OK
                                || resp.status() == StatusCode::UNAUTHORIZED =>
                        {
                            (plain, resp)
                        }
                        Ok(resp) => {
                            return Err(RegistryError::Unreachable {
                                url: format!("{https}/v2/"),
                                cause: format!(
                                    "{} (and {plain}/v2/ answered {})",
                                    cause_of(&https_err),
                                    resp.status().as_u16()
                                ),
                            });
                        }
                        Err(e) => {
                            return Err(RegistryError::Unreachable {
                                url: format!("{https}/v2/"),
                                cause: format!(
                                    "{} (and over plain HTTP: {})",
                                    cause_of(&https_err),
                                    cause_of(&e)
                                ),
                            });
                        }
                    }
                }
                Err(e) => return Err(e),
            };

        let mut client = Client {
            http,
            base,
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            authorization: None,
            max_manifest: options.max_manifest_bytes,
            max_blob: options.max_blob_bytes,
        };
        match ping.status() {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED => {
                let challenge = ping
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(Challenge::parse)
                    .ok_or_else(|| client.auth_error("401 without a WWW-Authenticate challenge"))?;
                client.authorization =
                    Some(client.authenticate(&challenge, credentials.as_ref(), http_allowed)?);
                client.check_auth()?;
            }
            status => {
                return Err(RegistryError::Status {
                    url: format!("{}/v2/", client.base),
                    status: status.as_u16(),
                });
            }
        }
        Ok(client)
    }

    /// The base URL in use (`https://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    fn auth_error(&self, why: &str) -> RegistryError {
        RegistryError::Auth {
            registry: self.registry.clone(),
            why: why.into(),
        }
    }

    fn authenticate(
        &self,
        challenge: &Challenge,
        credentials: Option<&Credentials>,
        http_allowed: bool,
    ) -> Result<Secret, RegistryError> {
        match challenge {
            Challenge::Basic => {
                let creds = credentials.ok_or_else(|| {
                    self.auth_error("the registry requires credentials and none are configured (docker login, or auths in the Docker config file)")
                })?;
                Ok(basic_header(creds))
            }
            Challenge::Bearer { realm, service } => {
                let realm_url = reqwest::Url::parse(realm)
                    .map_err(|_| self.auth_error("the token realm is not a URL"))?;
                let realm_host = realm_url.host_str().unwrap_or_default().to_string();
                if realm_url.scheme() != "https"
                    && !(realm_url.scheme() == "http" && (http_allowed || is_loopback(&realm_host)))
                {
                    return Err(self.auth_error(
                        "the token realm is not HTTPS; refusing to send credentials to it",
                    ));
                }
                let scope = format!("repository:{}:pull", self.repository);
                let build = || {
                    let mut req = self
                        .http
                        .get(realm_url.clone())
                        .query(&[("scope", scope.as_str())]);
                    if let Some(service) = service {
                        req = req.query(&[("service", service.as_str())]);
                    }
                    if let Some(creds) = credentials {
                        req = req.header(AUTHORIZATION, header_value(&basic_header(creds)));
                    }
                    req
                };
                let resp = send(&self.http, build)?;
                match resp.status() {
                    StatusCode::OK => {}
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                        return Err(self.auth_error(&format!(
                            "the token service refused {} (status {})",
                            if credentials.is_some() {
                                "the configured credentials"
                            } else {
                                "anonymous access"
                            },
                            resp.status().as_u16()
                        )));
                    }
                    status => {
                        return Err(self.auth_error(&format!(
                            "the token service answered {}",
                            status.as_u16()
                        )));
                    }
                }
                let body = read_capped(resp, 64 * 1024, "token response", realm)?;
                #[derive(serde::Deserialize)]
                struct Token {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let token: Token = serde_json::from_slice(&body)
                    .map_err(|_| self.auth_error("the token service's answer is not JSON"))?;
                let token = token
                    .token
                    .or(token.access_token)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| self.auth_error("the token service's answer has no token"))?;
                Ok(Secret(format!("Bearer {token}")))
            }
            Challenge::Other(scheme) => {
                Err(self.auth_error(&format!("unsupported authentication scheme {scheme:?}")))
            }
        }
    }

    /// Pings again with the credential: a wrong password is an auth error here, once,
    /// not a puzzling 401 on a manifest later.
    fn check_auth(&self) -> Result<(), RegistryError> {
        let resp = send(&self.http, || self.get("/v2/"))?;
        match resp.status() {
            StatusCode::OK => Ok(()),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(self.auth_error(&format!(
                "the registry refused the credentials (status {})",
                resp.status().as_u16()
            ))),
            status => Err(RegistryError::Status {
                url: format!("{}/v2/", self.base),
                status: status.as_u16(),
            }),
        }
    }

    fn get(&self, path: &str) -> RequestBuilder {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(auth) = &self.authorization {
            req = req.header(AUTHORIZATION, header_value(auth));
        }
        req
    }

    /// The manifest at `reference` (a tag or a digest); `None` if the registry has none.
    /// By digest, the bytes must hash to it.
    pub fn manifest(&self, reference: &str) -> Result<Option<Manifest>, RegistryError> {
        let path = format!("/v2/{}/manifests/{reference}", self.repository);
        let url = format!("{}{path}", self.base);
        let resp = send(&self.http, || {
            self.get(&path).header(ACCEPT, MANIFEST_ACCEPT)
        })?;
        let resp = match self.check_status(resp, &url)? {
            Some(resp) => resp,
            None => return Ok(None),
        };
        let media_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // By tag, the registry's own Docker-Content-Digest is the expectation (when sent).
        let announced = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(Digest::parse);
        let bytes = read_capped(resp, self.max_manifest, "manifest", &url)?;
        let digest = Digest::of(&bytes);
        if let Some(expected) = Digest::parse(reference).or(announced)
            && expected != digest
        {
            return Err(RegistryError::DigestMismatch {
                url,
                expected: expected.to_string(),
                actual: digest.to_string(),
            });
        }
        Ok(Some(Manifest {
            bytes,
            digest,
            media_type,
        }))
    }

    /// The OCI 1.1 referrers API answer for `digest` (an image index), or `None` when the
    /// registry has no such API (distribution 2.x answers 404; 400, 405 and 501 are read
    /// the same way). The caller then reads the `sha256-<hex>` fallback tag. The answer
    /// has no digest to check; every manifest it lists is fetched by digest, and must name
    /// `digest` as its subject.
    pub fn referrers(&self, digest: &Digest) -> Result<Option<Vec<u8>>, RegistryError> {
        let path = format!("/v2/{}/referrers/{digest}", self.repository);
        let url = format!("{}{path}", self.base);
        let resp = send(&self.http, || {
            self.get(&path)
                .header(ACCEPT, "application/vnd.oci.image.index.v1+json")
        })?;
        match resp.status().as_u16() {
            400 | 404 | 405 | 501 => return Ok(None),
            _ => {}
        }
        let Some(resp) = self.check_status(resp, &url)? else {
            return Ok(None);
        };
        read_capped(resp, self.max_manifest, "referrers index", &url).map(Some)
    }

    /// The blob `digest`, checked against it.
    pub fn blob(&self, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", self.repository);
        let url = format!("{}{path}", self.base);
        let resp = send(&self.http, || self.get(&path))?;
        let resp = self
            .check_status(resp, &url)?
            .ok_or(RegistryError::Status {
                url: url.clone(),
                status: 404,
            })?;
        let bytes = read_capped(resp, self.max_blob, "blob", &url)?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                url,
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(bytes)
    }

    fn check_status(&self, resp: Response, url: &str) -> Result<Option<Response>, RegistryError> {
        match resp.status() {
            s if s.is_success() => Ok(Some(resp)),
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(self.auth_error(&format!("{url} answered {}", resp.status().as_u16())))
            }
            s => Err(RegistryError::Status {
                url: url.into(),
                status: s.as_u16(),
            }),
        }
    }
}

/// The cause of an error without the URL it names.
fn cause_of(e: &RegistryError) -> String {
    match e {
        RegistryError::Unreachable { cause, .. } => cause.clone(),
        other => other.to_string(),
    }
}

fn basic_header(creds: &Credentials) -> Secret {
    let raw = format!("{}:{}", creds.username, creds.password.expose());
    Secret(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
}

fn header_value(secret: &Secret) -> HeaderValue {
    let mut value =
        HeaderValue::from_str(secret.expose()).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

fn build_http(options: &RegistryOptions, http_allowed: bool) -> Result<Http, RegistryError> {
    let mut builder = Http::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .user_agent(concat!("vouch/", env!("CARGO_PKG_VERSION")))
        .https_only(!http_allowed)
        // Redirects (blob storage) are bounded, never go from HTTPS to plain HTTP, and
        // reach plain HTTP only on a host plain HTTP is allowed to; reqwest drops the
        // Authorization header when a redirect leaves the host.
        .redirect({
            let insecure_hosts = options.insecure_hosts.clone();
            reqwest::redirect::Policy::custom(move |attempt| {
                let from = attempt.previous().last().cloned();
                match redirect_refused(
                    from.as_ref(),
                    attempt.url(),
                    attempt.previous().len(),
                    &insecure_hosts,
                ) {
                    Some(why) => attempt.error(why),
                    None => attempt.follow(),
                }
            })
        });
    if let Some(path) = &options.ca_file {
        for cert in load_ca(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| RegistryError::Config(format!("cannot set up the HTTP client: {e}")))
}

/// Why a redirect to `to` (after `hops` of them, the last from `from`) must not be
/// followed, if it must not.
fn redirect_refused(
    from: Option<&reqwest::Url>,
    to: &reqwest::Url,
    hops: usize,
    insecure_hosts: &[String],
) -> Option<&'static str> {
    if hops >= 5 {
        return Some("more than 5 redirects");
    }
    match to.scheme() {
        "https" => None,
        "http" if from.is_some_and(|f| f.scheme() == "https") => {
            Some("redirect from HTTPS to plain HTTP refused")
        }
        "http" => {
            let host = match (to.host_str(), to.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                (None, _) => return Some("redirect without a host refused"),
            };
            if plain_http_allowed(&host, insecure_hosts) {
                None
            } else {
                Some(
                    "redirect to plain HTTP on a host that is not loopback or --allow-insecure-registry refused",
                )
            }
        }
        _ => Some("redirect to a scheme other than HTTP(S) refused"),
    }
}

fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, RegistryError> {
    let pem = std::fs::read(path).map_err(|e| {
        RegistryError::Config(format!("cannot read --ca-file {}: {e}", path.display()))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        RegistryError::Config(format!(
            "--ca-file {} is not PEM certificates: {e}",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(RegistryError::Config(format!(
            "--ca-file {} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// Sends a request, retrying connection errors, timeouts and 5xx answers.
fn send(http: &Http, build: impl Fn() -> RequestBuilder) -> Result<Response, RegistryError> {
    send_tries(http, ATTEMPTS, build)
}

fn send_tries(
    http: &Http,
    attempts: u32,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response, RegistryError> {
    let mut last = None;
    for attempt in 0..attempts {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 * u64::from(attempt)));
        }
        let request = build().build().map_err(|e| {
            RegistryError::Config(format!("cannot build a request: {}", error_chain(&e)))
        })?;
        let url = strip_query(request.url());
        match http.execute(request) {
            Ok(resp) if resp.status().is_server_error() && attempt + 1 < attempts => {
                last = Some(RegistryError::Status {
                    url,
                    status: resp.status().as_u16(),
                });
            }
            Ok(resp) => return Ok(resp),
            Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
                last = Some(RegistryError::Unreachable {
                    url,
                    cause: error_chain(&e),
                });
            }
            Err(e) => {
                return Err(RegistryError::Unreachable {
                    url,
                    cause: error_chain(&e),
                });
            }
        }
    }
    Err(last.unwrap_or_else(|| RegistryError::Config("no request was sent".into())))
}

/// URLs in messages without their query (a token service's query names the scope only,
/// but nothing from a query is worth printing).
fn strip_query(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.to_string()
}

/// An error and its causes, without the URL reqwest repeats (we print our own).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        let text = match err.downcast_ref::<reqwest::Error>() {
            Some(re) => {
                let mut re_text = re.to_string();
                if let Some(url) = re.url() {
                    re_text = re_text.replace(&format!(" ({url})"), "");
                }
                re_text
            }
            None => err.to_string(),
        };
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// Reads at most `cap` bytes; more is an error, whatever Content-Length said.
fn read_capped(
    resp: Response,
    cap: u64,
    what: &'static str,
    url: &str,
) -> Result<Vec<u8>, RegistryError> {
    let too_large = || RegistryError::TooLarge {
        what,
        url: url.to_string(),
        cap,
    };
    if let Some(len) = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > cap
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    resp.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| RegistryError::Unreachable {
            url: url.to_string(),
            cause: format!("reading the {what}: {}", error_chain(&e)),
        })?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// A `WWW-Authenticate` challenge (public for the fuzz target: a registry's answer is
/// untrusted input).
#[derive(Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
    Other(String),
}

impl Challenge {
    pub fn parse(header: &str) -> Challenge {
        let header = header.trim();
        let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Challenge::Basic;
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Challenge::Other(scheme.to_string());
        }
        let params = parse_params(params);
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        match get("realm") {
            Some(realm) => Challenge::Bearer {
                realm,
                service: get("service"),
            },
            None => Challenge::Other("Bearer without realm".into()),
        }
    }
}

/// `key="value", key=value` pairs (quoted values may hold commas).
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, next)) = chars.next() {
                            value.push(next);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end.min(quoted.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((key, value));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

pub mod docker_config {
    //! Registry credentials the way the docker CLI finds them: `credHelpers[host]`, then
    //! `credsStore`, then `auths[host].auth` (base64 `user:password`) of
    //! `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. A helper is run as
    //! `docker-credential-<name> get` with the registry on stdin.

    use std::collections::BTreeMap;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use base64::Engine as _;
    use serde::Deserialize;

    use super::{Credentials, RegistryError, Secret};

    #[derive(Deserialize, Default)]
    struct ConfigFile {
        #[serde(default)]
        auths: BTreeMap<String, AuthEntry>,
        #[serde(default, rename = "credHelpers")]
        cred_helpers: BTreeMap<String, String>,
        #[serde(default, rename = "credsStore")]
        creds_store: Option<String>,
    }

    #[derive(Deserialize, Default)]
    struct AuthEntry {
        auth: Option<String>,
        username: Option<String>,
        password: Option<String>,
    }

    /// The config file to read: explicit, else `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub fn path(explicit: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
            return Some(PathBuf::from(dir).join("config.json"));
        }
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
    }

    /// `https://host/v1/`, `http://host`, `host` all name `host`.
    fn normalize(key: &str) -> String {
        let key = key
            .strip_prefix("https://")
            .or_else(|| key.strip_prefix("http://"))
            .unwrap_or(key);
        let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
        if host == "index.docker.io" || host == "registry-1.docker.io" {
            "docker.io".into()
        } else {
            host
        }
    }

    /// Credentials for `registry`, if the Docker config has any. A config file that
    /// exists but cannot be read or parsed is an error (never silently anonymous).
    pub fn lookup(
        registry: &str,
        explicit: Option<&Path>,
    ) -> Result<Option<Credentials>, RegistryError> {
        let Some(path) = path(explicit) else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
                return Ok(None);
            }
            Err(e) => {
                return Err(RegistryError::Config(format!(
                    "cannot read the Docker config {}: {e}",
                    path.display()
                )));
            }
        };
        let entry = Entry::parse(&text, registry, &path.display().to_string())?;
        let wanted = normalize(registry);
        let server = if wanted == "docker.io" {
            "https://index.docker.io/v1/".to_string()
        } else {
            registry.to_string()
        };
        if let Some(helper) = &entry.helper {
            return run_helper(helper, &server);
        }
        if let Some(store) = &entry.store
            && let Some(creds) = run_helper(store, &server)?
        {
            return Ok(Some(creds));
        }
        entry.inline_credentials()
    }

    /// What a config file says about one registry, read without running anything (the
    /// fuzz target `registry_text` feeds it arbitrary text).
    pub struct Entry {
        /// `credHelpers[registry]`: run it and use only its answer.
        pub helper: Option<String>,
        /// `credsStore`: ask it first, then fall back to `auths`.
        pub store: Option<String>,
        auth: Option<AuthEntry>,
        registry: String,
        shown: String,
    }

    impl Entry {
        /// `text` is the config file (`shown` names it in errors), for `registry`.
        pub fn parse(text: &str, registry: &str, shown: &str) -> Result<Entry, RegistryError> {
            // serde_json's message names line and column, never the value.
            let config: ConfigFile = serde_json::from_str(text).map_err(|e| {
                RegistryError::Config(format!("the Docker config {shown} is not valid: {e}"))
            })?;
            let wanted = normalize(registry);
            let helper = (config.cred_helpers.into_iter())
                .find(|(k, _)| normalize(k) == wanted)
                .map(|(_, v)| v);
            let auth = (config.auths.into_iter())
                .find(|(k, _)| normalize(k) == wanted)
                .map(|(_, v)| v);
            Ok(Entry {
                helper,
                store: config.creds_store.filter(|s| !s.is_empty()),
                auth,
                registry: registry.to_string(),
                shown: shown.to_string(),
            })
        }

        /// The `auths` entry's credentials: base64 `user:password` in `auth`, else
        /// `username` and `password`.
        pub fn inline_credentials(&self) -> Result<Option<Credentials>, RegistryError> {
            let Some(entry) = &self.auth else {
                return Ok(None);
            };
            let bad = || {
                RegistryError::Config(format!(
                    "the Docker config {}: the auth entry for {} is not base64 of user:password",
                    self.shown, self.registry
                ))
            };
            if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|_| bad())?;
                let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
                let (user, pass) = decoded.split_once(':').ok_or_else(bad)?;
                return Ok(Some(Credentials {
                    username: user.into(),
                    password: Secret::new(pass),
                }));
            }
            match (&entry.username, &entry.password) {
                (Some(user), Some(pass)) => Ok(Some(Credentials {
                    username: user.clone(),
                    password: Secret::new(pass.clone()),
                })),
                _ => Ok(None),
            }
        }
    }

    fn run_helper(name: &str, server: &str) -> Result<Option<Credentials>, RegistryError> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(RegistryError::Config(format!(
                "invalid credential helper name {name:?}"
            )));
        }
        let program = format!("docker-credential-{name}");
        let failed =
            |why: String| RegistryError::Config(format!("credential helper {program}: {why}"));
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("cannot run it: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(server.as_bytes())
                .map_err(|e| failed(format!("cannot write to it: {e}")))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| failed(format!("it did not finish: {e}")))?;
        if !output.status.success() {
            // The protocol's "not found" answer: no credentials for this server.
            if String::from_utf8_lossy(&output.stdout).contains("credentials not found") {
                return Ok(None);
            }
            // Its output is not printed: a helper could echo secrets.
            return Err(failed(format!("it exited with {}", output.status)));
        }
        #[derive(Deserialize)]
        struct HelperAnswer {
            #[serde(rename = "Username")]
            username: String,
            #[serde(rename = "Secret")]
            secret: String,
        }
        let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
            .map_err(|_| failed("its answer is not the expected JSON".into()))?;
        Ok(Some(Credentials {
            username: answer.username,
            password: Secret::new(answer.secret),
        }))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn auths_entries_match_by_host_in_any_spelling() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("config.json");
            std::fs::write(
                &path,
                r#"{"auths":{"https://reg.example:5000/v1/":{"auth":"dXNlcjpwYTpzcw=="},
                   "other.example":{"username":"u2","password":"p2"}}}"#,
            )
            .unwrap();
            let creds = lookup("reg.example:5000", Some(&path)).unwrap().unwrap();
            assert_eq!(creds.username, "user");
            assert_eq!(creds.password, Secret::new("pa:ss"));
            assert!(!format!("{creds:?}").contains("pa:ss"));
            assert_eq!(
                lookup("other.example", Some(&path))
                    .unwrap()
                    .unwrap()
                    .username,
                "u2"
            );
            assert!(lookup("third.example", Some(&path)).unwrap().is_none());
        }

        #[test]
        fn malformed_config_is_an_error_without_the_secret() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("config.json");
            std::fs::write(
                &path,
                r#"{"auths":{"r.example":{"auth":"not base64 hunter2"}}}"#,
            )
            .unwrap();
            let err = lookup("r.example", Some(&path)).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
            std::fs::write(&path, r#"{"auths": hunter2"#).unwrap();
            let err = lookup("r.example", Some(&path)).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let d = "sha256:".to_string() + &"ab".repeat(32);
        let r = Reference::parse(&format!("127.0.0.1:5000/a/b@{d}")).unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("127.0.0.1:5000", "a/b")
        );
        assert_eq!(r.digest.unwrap().to_string(), d);
        let r = Reference::parse("localhost:5000/app:v1.2").unwrap();
        assert_eq!(r.tag.as_deref(), Some("v1.2"));
        assert_eq!(r.registry, "localhost:5000");
        let r = Reference::parse("alpine:3").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/alpine")
        );
        for bad in [
            "",
            "reg.example/app",
            "reg.example/App:v1",
            "reg.example/app@sha256:abc",
            "reg.example/app@md5:0123",
            "reg.example/app:",
            "reg.example/app:-x",
            "reg.example/app :v1",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost:80",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1:5000",
            "example.com",
            "localhost.example.com",
            "[::2]:1",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback_or_when_asked() {
        let asked = vec![
            "reg.internal:5000".to_string(),
            "other.internal".to_string(),
        ];
        assert!(plain_http_allowed("127.0.0.1:5000", &[]));
        assert!(plain_http_allowed("localhost", &[]));
        assert!(!plain_http_allowed("reg.internal:5000", &[]));
        assert!(plain_http_allowed("reg.internal:5000", &asked));
        assert!(!plain_http_allowed("reg.internal:5001", &asked));
        assert!(plain_http_allowed("other.internal:443", &asked));
        assert!(!plain_http_allowed("evil.example", &asked));
    }

    #[test]
    fn redirects_are_bounded_and_never_downgrade() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let asked = vec!["reg.internal:5000".to_string()];
        let refused =
            |from: &str, to: &str, hops| redirect_refused(Some(&url(from)), &url(to), hops, &asked);
        // Blob storage on HTTPS anywhere: followed, up to five hops.
        assert_eq!(
            refused("https://reg.example/v2/", "https://s3.example/b", 0),
            None
        );
        assert!(refused("https://reg.example/v2/", "https://s3.example/b", 5).is_some());
        // Never from HTTPS to plain HTTP, not even to loopback.
        for to in [
            "http://s3.example/b",
            "http://127.0.0.1:5000/b",
            "http://reg.internal:5000/b",
        ] {
            let why = refused("https://reg.example/v2/", to, 0).unwrap();
            assert!(why.contains("from HTTPS"), "{to}: {why}");
        }
        // From plain HTTP: only to a host plain HTTP is allowed to.
        assert_eq!(
            refused("http://127.0.0.1:5000/v2/", "http://localhost:9000/b", 0),
            None
        );
        assert_eq!(
            refused(
                "http://reg.internal:5000/v2/",
                "http://reg.internal:5000/b",
                0
            ),
            None
        );
        assert!(refused("http://127.0.0.1:5000/v2/", "http://s3.example/b", 0).is_some());
        assert!(
            refused(
                "http://reg.internal:5000/v2/",
                "http://reg.internal:5001/b",
                0
            )
            .is_some()
        );
        assert!(refused("http://127.0.0.1:5000/v2/", "file:///etc/passwd", 0).is_some());
    }

    #[test]
    fn challenges() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Challenge::Basic
        );
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into())
            }
        );
        assert_eq!(
            Challenge::parse("Negotiate"),
            Challenge::Other("Negotiate".into())
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        let creds = Credentials {
            username: "me".into(),
            password: s,
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
        assert!(!format!("{:?}", basic_header(&creds)).contains("aHVudGVy"));
    }
}

//! The registry client: picks the scheme, pings `/v2/`, authenticates for one
//! repository, and fetches manifests, referrers and blobs, each checked against its
//! digest. Never hands back bytes that do not hash to the digest they were fetched by.

use std::fmt;

use reqwest::StatusCode;
use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};

use super::auth::{self, Secret, header_value};
use super::transport::{build_http, plain_http_allowed, read_capped, send, send_tries};
use super::{
    ATTEMPTS, Challenge, Digest, Reference, RegistryError, RegistryOptions, docker_config,
};

/// Media types vouch accepts for a manifest.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

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
                client.authorization = Some(auth::authorize(
                    &client.http,
                    &client.registry,
                    &host,
                    &client.repository,
                    &challenge,
                    credentials.as_ref(),
                    http_allowed,
                )?);
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
        auth::error(&self.registry, why)
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

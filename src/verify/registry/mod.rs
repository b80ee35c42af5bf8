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
//! - Credentials go to a token realm over HTTPS; over plain HTTP only on loopback, or on
//!   the registry's own host when plain HTTP to the registry is allowed. Never to another
//!   host over plain HTTP, whatever the registry's challenge says.
//! - Credentials live in [`Secret`], whose `Debug` and `Display` print `<redacted>`;
//!   error messages name URLs and statuses, never headers or bodies of auth answers.
//!
//! The parts: `reference` (what the user names), `docker_config` (where credentials come
//! from), `challenge` (what the registry asks for), `auth` (what is sent for it),
//! `transport` (the HTTP rules above), `client` (the GETs).

mod auth;
mod challenge;
mod client;
pub mod docker_config;
mod reference;
mod transport;

use std::path::PathBuf;
use std::time::Duration;

pub use auth::{Credentials, Secret};
pub use challenge::Challenge;
pub use client::{Client, Manifest};
pub use reference::{Digest, Reference};
pub use transport::{is_loopback, plain_http_allowed};

/// How many times a request is tried (connection errors and 5xx only).
pub const ATTEMPTS: u32 = 3;
/// Default cap on a manifest's size.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Default cap on a blob's size (signature payloads and attestation envelopes).
pub const MAX_BLOB_BYTES: u64 = 16 * 1024 * 1024;

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

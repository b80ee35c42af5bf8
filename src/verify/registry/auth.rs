//! Credentials and what is sent with them: a [`Secret`] that never prints, the Basic
//! header, and the bearer-token exchange with a registry's token service. Never prints a
//! credential, and never sends one over plain HTTP where plain HTTP is not allowed.

use std::fmt;

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::blocking::Client as Http;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::transport::{is_loopback, read_capped, same_host, send};
use super::{Challenge, RegistryError};

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

pub(super) fn basic_header(creds: &Credentials) -> Secret {
    let raw = format!("{}:{}", creds.username, creds.password.expose());
    Secret(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
}

pub(super) fn header_value(secret: &Secret) -> HeaderValue {
    let mut value =
        HeaderValue::from_str(secret.expose()).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// An authentication error about `registry`.
pub(super) fn error(registry: &str, why: &str) -> RegistryError {
    RegistryError::Auth {
        registry: registry.to_string(),
        why: why.into(),
    }
}

/// Whether credentials may go to a token realm on `realm_host` over plain HTTP: on
/// loopback, or on the registry's own host (`registry_host`, any port) when plain HTTP to
/// the registry is allowed (`http_allowed`: loopback or `--allow-insecure-registry`).
/// Never to another host: a registry the user let speak plain HTTP does not thereby get
/// to send the user's password in clear text wherever its challenge points.
pub(super) fn plain_http_realm_allowed(
    realm_host: &str,
    registry_host: &str,
    http_allowed: bool,
) -> bool {
    is_loopback(realm_host) || (http_allowed && same_host(realm_host, registry_host))
}

/// Answers a registry's 401 `challenge`: the `Authorization` value for every later request
/// to `repository` (pull) on `registry` (as the user named it; `host` is where its API is
/// served). Credentials go to a token realm over HTTPS, or over plain HTTP only where
/// [`plain_http_realm_allowed`].
pub(super) fn authorize(
    http: &Http,
    registry: &str,
    host: &str,
    repository: &str,
    challenge: &Challenge,
    credentials: Option<&Credentials>,
    http_allowed: bool,
) -> Result<Secret, RegistryError> {
    match challenge {
        Challenge::Basic => {
            let creds = credentials.ok_or_else(|| {
                error(registry, "the registry requires credentials and none are configured (docker login, or auths in the Docker config file)")
            })?;
            Ok(basic_header(creds))
        }
        Challenge::Bearer { realm, service } => {
            let realm_url = reqwest::Url::parse(realm)
                .map_err(|_| error(registry, "the token realm is not a URL"))?;
            let realm_host = realm_url.host_str().unwrap_or_default();
            match realm_url.scheme() {
                "https" => {}
                "http" if plain_http_realm_allowed(realm_host, host, http_allowed) => {}
                "http" => {
                    return Err(error(
                        registry,
                        &format!(
                            "the token realm is plain HTTP on {realm_host}, which is neither the registry's host nor loopback; refusing to send credentials to it"
                        ),
                    ));
                }
                _ => {
                    return Err(error(
                        registry,
                        "the token realm is not HTTPS; refusing to send credentials to it",
                    ));
                }
            }
            let scope = format!("repository:{repository}:pull");
            let build = || {
                let mut req = http
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
            let resp = send(http, build)?;
            match resp.status() {
                StatusCode::OK => {}
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(error(
                        registry,
                        &format!(
                            "the token service refused {} (status {})",
                            if credentials.is_some() {
                                "the configured credentials"
                            } else {
                                "anonymous access"
                            },
                            resp.status().as_u16()
                        ),
                    ));
                }
                status => {
                    return Err(error(
                        registry,
                        &format!("the token service answered {}", status.as_u16()),
                    ));
                }
            }
            let body = read_capped(resp, 64 * 1024, "token response", realm)?;
            #[derive(serde::Deserialize)]
            struct Token {
                token: Option<String>,
                access_token: Option<String>,
            }
            let token: Token = serde_json::from_slice(&body)
                .map_err(|_| error(registry, "the token service's answer is not JSON"))?;
            let token = token
                .token
                .or(token.access_token)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| error(registry, "the token service's answer has no token"))?;
            Ok(Secret(format!("Bearer {token}")))
        }
        Challenge::Other(scheme) => Err(error(
            registry,
            &format!("unsupported authentication scheme {scheme:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 15): with `--allow-insecure-registry reg.internal`, a realm
    /// `http://other.example/token` received the Basic credentials, as did any plain-HTTP
    /// realm of a loopback registry.
    #[test]
    fn a_plain_http_realm_gets_credentials_only_on_the_registry_host_or_loopback() {
        let allowed = plain_http_realm_allowed;
        // The registry's own host, any port, when plain HTTP to the registry is allowed.
        assert!(allowed("reg.internal", "reg.internal:5000", true));
        assert!(allowed("REG.internal", "reg.internal:5000", true));
        assert!(allowed("[::ffff:7f00:1]", "[::ffff:127.0.0.1]:5000", true));
        // Not when the registry itself must be HTTPS.
        assert!(!allowed("reg.internal", "reg.internal:5000", false));
        // Never another host, whatever the registry's own scheme.
        assert!(!allowed("other.example", "reg.internal:5000", true));
        assert!(!allowed("reg.internal.other.example", "reg.internal", true));
        assert!(!allowed("10.0.0.5", "127.0.0.1:5000", true));
        assert!(!allowed("[::ffff:7f00:1]", "127.0.0.1:5000", true));
        // Loopback, as before.
        for realm in ["127.0.0.1", "127.0.0.2", "localhost", "[::1]"] {
            assert!(allowed(realm, "reg.example", false), "{realm}");
        }
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

//! The HTTP underneath: the reqwest client (TLS roots, timeouts, the redirect policy),
//! where plain HTTP may go, bounded retries, reads capped while streaming, and error
//! text without URLs' queries or credentials. Never follows a redirect from HTTPS to
//! plain HTTP, and never reads past a cap.

use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::header::CONTENT_LENGTH;

use super::{ATTEMPTS, RegistryError, RegistryOptions};

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

/// True when `a` and `b` (each `host[:port]`; the port does not matter) name the same
/// host: IP literals by address (`[::ffff:127.0.0.1]` is `[::ffff:7f00:1]`, as URLs
/// write it), names regardless of case.
pub(super) fn same_host(a: &str, b: &str) -> bool {
    let (a, b) = (host_of(a), host_of(b));
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
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

pub(super) fn build_http(
    options: &RegistryOptions,
    http_allowed: bool,
) -> Result<Http, RegistryError> {
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
pub(super) fn send(
    http: &Http,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response, RegistryError> {
    send_tries(http, ATTEMPTS, build)
}

pub(super) fn send_tries(
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
pub(super) fn read_capped(
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn same_host_compares_addresses_and_names_not_ports() {
        assert!(same_host("reg.internal:5000", "REG.internal"));
        assert!(same_host("[::ffff:127.0.0.1]:5000", "[::ffff:7f00:1]"));
        assert!(same_host("[::1]:1", "::1"));
        assert!(!same_host("127.0.0.1:5000", "[::ffff:7f00:1]:5000"));
        assert!(!same_host("reg.internal", "reg.internal.evil.example"));
        assert!(!same_host("127.0.0.1", "127.0.0.2"));
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
}

//! Downloading one file over HTTP(S) for `vouch db update`, defensively: the server is not
//! trusted. Bodies are streamed to disk under a size cap (an endless or oversized body
//! stops at the cap), connections and whole requests have timeouts, failures that may be
//! transient (connection errors, timeouts, 5xx) are retried a bounded number of times with
//! backoff, redirects are bounded and never downgrade https to http, and no URL is shown
//! with its user-info.

use std::io::{Read, Write};
use std::time::Duration;

use super::db::{redact_text, redact_url};

/// Limits for one download.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included. (reqwest's blocking `timeout`
    /// bounds each wait, not the sum: a server trickling a byte a minute would never
    /// end, so the read loop checks this deadline itself.)
    pub timeout: Duration,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each next one.
    pub backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 512 * 1024 * 1024,
            connect_timeout: Duration::from_secs(15),
            timeout: Duration::from_secs(600),
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Longest wait for the response or for any read of the body.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: the download did not finish within {seconds} seconds")]
    Deadline { url: String, seconds: u64 },
    #[error("{url}: refused: {message}")]
    Refused { url: String, message: String },
    #[error("{url}: the response is larger than the {max} byte limit")]
    TooLarge { url: String, max: u64 },
    #[error("{url}: writing the download failed: {source}")]
    Write {
        url: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Worth another attempt: the server or the network may do better next time.
    fn is_transient(&self) -> bool {
        match self {
            Error::Status { status, .. } => *status >= 500 || *status == 429,
            Error::Transport { .. } => true,
            Error::TooLarge { .. }
            | Error::Write { .. }
            | Error::Deadline { .. }
            | Error::Refused { .. } => false,
        }
    }
}

/// Plain http only to this machine: advisory data that can be changed on the way can
/// hide a vulnerability, and a mirror elsewhere can serve https.
fn check_scheme(url: &reqwest::Url) -> Result<(), String> {
    let loopback = url.host_str().is_some_and(|host| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(
            "plain http is only allowed to this machine (127.0.0.1, ::1, localhost); use https"
                .into(),
        ),
        other => Err(format!("unsupported URL scheme `{other}`; use https")),
    }
}

/// Builds the HTTP client every download uses: rustls, the limits' timeouts, and a
/// redirect policy that is bounded and never leaves https for http.
fn client(limits: &Limits) -> Result<reqwest::blocking::Client, String> {
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        // `previous` holds the first URL too: at the n-th redirect it has n entries.
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https")
        {
            attempt.error("refusing a redirect from https to http")
        } else if let Err(message) = check_scheme(attempt.url()) {
            attempt.error(format!("refusing a redirect: {message}"))
        } else {
            attempt.follow()
        }
    });
    reqwest::blocking::Client::builder()
        .connect_timeout(limits.connect_timeout)
        // Each wait (the response, every read): a silent server fails within a minute.
        .timeout(limits.timeout.min(STALL_TIMEOUT))
        .redirect(redirects)
        .user_agent(concat!("vouch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// Downloads `url` into `out`, retrying transient failures (each attempt starts `out`
/// over). `progress` is told the expected length (when the server gives one) and each
/// chunk's size. Returns the number of bytes written.
pub fn download(
    url: &str,
    out: &mut std::fs::File,
    limits: &Limits,
    progress: &mut dyn FnMut(Option<u64>, u64),
) -> Result<u64, Error> {
    let shown = redact_url(url);
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::Refused {
        url: shown.clone(),
        message: format!("not a URL: {e}"),
    })?;
    check_scheme(&parsed).map_err(|message| Error::Refused {
        url: shown.clone(),
        message,
    })?;
    let client = client(limits).map_err(|message| Error::Transport {
        url: shown.clone(),
        message,
    })?;
    let mut attempt = 1;
    loop {
        let result = download_once(&client, url, &shown, out, limits, progress);
        match result {
            Err(e) if e.is_transient() && attempt < limits.attempts => {
                std::thread::sleep(limits.backoff * 2u32.saturating_pow(attempt - 1));
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn download_once(
    client: &reqwest::blocking::Client,
    url: &str,
    shown: &str,
    out: &mut std::fs::File,
    limits: &Limits,
    progress: &mut dyn FnMut(Option<u64>, u64),
) -> Result<u64, Error> {
    let transport = |e: reqwest::Error| {
        // The policy's error arrives wrapped in a request error: look down the chain.
        let mut redirect = e.is_redirect();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            redirect |= inner
                .downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_redirect);
            source = inner.source();
        }
        // reqwest's message names the URL it was given; never let it carry user-info
        // (nor a redirect's: every URL in the text is redacted).
        let message = redact_text(&redact_all(&chain(&e.without_url()), url));
        let url = shown.to_string();
        if redirect {
            // A loop or a refused redirect is the same on the next try.
            Error::Refused { url, message }
        } else {
            Error::Transport { url, message }
        }
    };
    let write_err = |source| Error::Write {
        url: shown.to_string(),
        source,
    };
    let started = std::time::Instant::now();
    out.set_len(0).map_err(write_err)?;
    std::io::Seek::rewind(out).map_err(write_err)?;
    let mut response = client.get(url).send().map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(Error::Status {
            url: shown.to_string(),
            status: status.as_u16(),
        });
    }
    let expected = response.content_length();
    if expected.is_some_and(|n| n > limits.max_bytes) {
        return Err(Error::TooLarge {
            url: shown.to_string(),
            max: limits.max_bytes,
        });
    }
    progress(expected, 0);
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if started.elapsed() > limits.timeout {
            return Err(Error::Deadline {
                url: shown.to_string(),
                seconds: limits.timeout.as_secs(),
            });
        }
        let n = response.read(&mut buf).map_err(|e| Error::Transport {
            url: shown.to_string(),
            message: redact_all(
                &format!(
                    "the transfer failed after {total}{} bytes: {}",
                    expected.map(|n| format!(" of {n}")).unwrap_or_default(),
                    chain(&e)
                ),
                url,
            ),
        })?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limits.max_bytes {
            return Err(Error::TooLarge {
                url: shown.to_string(),
                max: limits.max_bytes,
            });
        }
        out.write_all(&buf[..n]).map_err(write_err)?;
        progress(expected, n as u64);
    }
    if expected.is_some_and(|n| n != total) {
        return Err(Error::Transport {
            url: shown.to_string(),
            message: format!(
                "the connection closed after {total} of {} bytes",
                expected.unwrap_or_default()
            ),
        });
    }
    out.flush().map_err(write_err)?;
    Ok(total)
}

/// An error and its sources, as one line ("error sending request: too many redirects").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

/// Replaces every occurrence of `url` in `text` by its redacted form.
fn redact_all(text: &str, url: &str) -> String {
    text.replace(url, &redact_url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        let ok = |u: &str| check_scheme(&reqwest::Url::parse(u).unwrap()).is_ok();
        assert!(ok("https://osv.example/x"));
        assert!(ok("http://127.0.0.1:8080/x"));
        assert!(ok("http://127.1.2.3/x"));
        assert!(ok("http://[::1]/x"));
        assert!(ok("http://localhost/x"));
        assert!(!ok("http://osv.example/x"));
        assert!(!ok("http://10.0.0.1/x"));
        assert!(!ok("http://127.0.0.1.example/x"));
        assert!(!ok("ftp://127.0.0.1/x"));
        assert!(!ok("file:///etc/passwd"));
    }

    #[test]
    fn only_server_side_and_network_failures_are_retried() {
        let status = |status| Error::Status {
            url: "u".into(),
            status,
        };
        assert!(status(500).is_transient());
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(403).is_transient());
        assert!(
            !Error::TooLarge {
                url: "u".into(),
                max: 1
            }
            .is_transient()
        );
    }
}

//! Downloading files over HTTP(S) for `vouch db update`, defensively: the server is not
//! trusted. Bodies are streamed (to disk, or to memory for small ones) under a size cap
//! (an endless or oversized body stops at the cap); every wait for the server has a limit
//! (a silent server is a failed try) and the whole download, retries included, a
//! deadline; failures that may be transient (connection errors, silence, 5xx) are retried
//! a bounded number of times with backoff; redirects are bounded and never downgrade
//! https to http, and no URL is shown with its user-info. What a download waits for is
//! reported as [`Progress`], for the CLI to show on a terminal; nothing here prints.

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
    /// Time allowed for the whole download, retries included. (reqwest's blocking
    /// `timeout` bounds each wait, not the sum: a server trickling a byte a minute would
    /// never end, so the read loop checks this deadline itself.)
    pub timeout: Duration,
    /// Longest wait for the server to answer or to send more of the body; a wait that
    /// long is a failed try. (At most `timeout`.)
    pub stall: Duration,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each next one.
    pub backoff: Duration,
}

impl Default for Limits {
    /// A silent server fails in about 1.5 minutes (three 30-second waits); a download
    /// may take 5 minutes in all, which a 512 MiB export needs at 1.7 MiB/s.
    fn default() -> Self {
        Limits {
            max_bytes: 512 * 1024 * 1024,
            connect_timeout: Duration::from_secs(15),
            timeout: Duration::from_secs(300),
            stall: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// What a download is doing, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Try `attempt` of `attempts` sent its request and waits for the answer.
    Waiting { attempt: u32, attempts: u32 },
    /// The answer came; the body follows, of this length when the server gave one.
    Receiving { expected: Option<u64> },
    /// This many more bytes of the body arrived.
    Bytes(u64),
    /// Try `attempt` failed (`reason`); the next one starts after `pause`.
    Retrying {
        attempt: u32,
        attempts: u32,
        reason: &'a str,
        pause: Duration,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: no answer within {}", seconds_text(*seconds))]
    Stalled { url: String, seconds: u64 },
    #[error("{url}: the download did not finish within {}", seconds_text(*seconds))]
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
    /// The last try's error, after `tries` tries.
    #[error("{last}; gave up after {tries} tries in {}", seconds_text(*seconds))]
    GaveUp {
        tries: u32,
        seconds: u64,
        last: Box<Error>,
    },
}

/// "1 second", "30 seconds".
fn seconds_text(seconds: u64) -> String {
    if seconds == 1 {
        "1 second".into()
    } else {
        format!("{seconds} seconds")
    }
}

impl Error {
    /// Worth another attempt: the server or the network may do better next time.
    fn is_transient(&self) -> bool {
        match self {
            Error::Status { status, .. } => *status >= 500 || *status == 429,
            Error::Transport { .. } | Error::Stalled { .. } => true,
            Error::TooLarge { .. }
            | Error::Write { .. }
            | Error::Deadline { .. }
            | Error::Refused { .. }
            | Error::GaveUp { .. } => false,
        }
    }

    /// Did the download run out of time (a silent server, or the overall deadline)?
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Stalled { .. } | Error::Deadline { .. } => true,
            Error::GaveUp { last, .. } => last.is_timeout(),
            _ => false,
        }
    }

    /// Is this an HTTP 404 (the file is not there)?
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Status { status: 404, .. })
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
        .connect_timeout(limits.connect_timeout.min(limits.stall))
        // Each wait (the response, every read): a silent server is a failed try.
        .timeout(limits.stall.min(limits.timeout))
        .redirect(redirects)
        .user_agent(concat!("vouch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// Where a download's body goes; each try starts it over.
pub trait Sink {
    fn restart(&mut self) -> std::io::Result<()>;
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    fn finish(&mut self) -> std::io::Result<()>;
}

impl Sink for std::fs::File {
    fn restart(&mut self) -> std::io::Result<()> {
        self.set_len(0)?;
        std::io::Seek::rewind(self).map(|_| ())
    }
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_all(bytes)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.flush()
    }
}

impl Sink for Vec<u8> {
    fn restart(&mut self) -> std::io::Result<()> {
        self.clear();
        Ok(())
    }
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Downloads with one HTTP client (its connections reused) under one set of limits.
pub struct Fetcher {
    client: reqwest::blocking::Client,
    limits: Limits,
}

impl Fetcher {
    pub fn new(limits: &Limits) -> Result<Fetcher, Error> {
        let client = client(limits).map_err(|message| Error::Transport {
            url: "(no request yet)".into(),
            message,
        })?;
        Ok(Fetcher {
            client,
            limits: limits.clone(),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The same client (its connections) with a lower size cap.
    pub fn capped(&self, max_bytes: u64) -> Fetcher {
        Fetcher {
            client: self.client.clone(),
            limits: Limits {
                max_bytes: self.limits.max_bytes.min(max_bytes),
                ..self.limits.clone()
            },
        }
    }

    /// Downloads `url` into `out`, retrying transient failures (each try starts `out`
    /// over) while the limits' time lasts. `progress` is told what the download waits
    /// for and each chunk's size. Returns the number of bytes written.
    pub fn download(
        &self,
        url: &str,
        out: &mut dyn Sink,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<u64, Error> {
        let limits = &self.limits;
        let shown = redact_url(url);
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::Refused {
            url: shown.clone(),
            message: format!("not a URL: {e}"),
        })?;
        check_scheme(&parsed).map_err(|message| Error::Refused {
            url: shown.clone(),
            message,
        })?;
        retrying(
            limits,
            progress,
            |deadline, progress| {
                download_once(&self.client, url, &shown, out, limits, deadline, progress)
            },
            Error::is_transient,
            |tries, seconds, last| Error::GaveUp {
                tries,
                seconds,
                last: Box::new(last),
            },
        )
    }
}

/// Runs `once` (given the deadline) until it succeeds or fails for good: an error
/// `transient` says may pass is tried again after a pause that starts at the limits'
/// backoff and doubles, while tries and time are left. Running out of either returns the
/// last error: as it is after one try, else wrapped by `gave_up` (tries made, seconds
/// spent). `progress` hears of each try and each pause. HTTP downloads and git clones
/// share it, so they retry alike.
pub(crate) fn retrying<T, E: std::fmt::Display>(
    limits: &Limits,
    progress: &mut dyn FnMut(Progress<'_>),
    mut once: impl FnMut(std::time::Instant, &mut dyn FnMut(Progress<'_>)) -> Result<T, E>,
    transient: impl Fn(&E) -> bool,
    gave_up: impl FnOnce(u32, u64, E) -> E,
) -> Result<T, E> {
    let started = std::time::Instant::now();
    let deadline = started + limits.timeout;
    let mut attempt = 1;
    loop {
        progress(Progress::Waiting {
            attempt,
            attempts: limits.attempts,
        });
        let e = match once(deadline, progress) {
            Err(e) if transient(&e) => e,
            other => return other,
        };
        let pause = limits.backoff * 2u32.saturating_pow(attempt - 1);
        if attempt >= limits.attempts || std::time::Instant::now() + pause >= deadline {
            if attempt == 1 {
                return Err(e);
            }
            return Err(gave_up(attempt, started.elapsed().as_secs(), e));
        }
        progress(Progress::Retrying {
            attempt,
            attempts: limits.attempts,
            reason: &e.to_string(),
            pause,
        });
        std::thread::sleep(pause);
        attempt += 1;
    }
}

/// Did this error (or one of its sources) come from a wait running out?
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = e.source();
    }
    false
}

fn download_once(
    client: &reqwest::blocking::Client,
    url: &str,
    shown: &str,
    out: &mut dyn Sink,
    limits: &Limits,
    deadline: std::time::Instant,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<u64, Error> {
    let stall_seconds = limits.stall.min(limits.timeout).as_secs();
    let transport = |e: reqwest::Error| {
        if timed_out(&e) {
            return Error::Stalled {
                url: shown.to_string(),
                seconds: stall_seconds,
            };
        }
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
    let past_deadline = || Error::Deadline {
        url: shown.to_string(),
        seconds: limits.timeout.as_secs(),
    };
    out.restart().map_err(write_err)?;
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
    progress(Progress::Receiving { expected });
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if std::time::Instant::now() > deadline {
            return Err(past_deadline());
        }
        let n = match response.read(&mut buf) {
            Ok(n) => n,
            Err(e) if timed_out(&e) => {
                return Err(Error::Stalled {
                    url: shown.to_string(),
                    seconds: stall_seconds,
                });
            }
            Err(e) => {
                return Err(Error::Transport {
                    url: shown.to_string(),
                    message: redact_all(
                        &format!(
                            "the transfer failed after {total}{} bytes: {}",
                            expected.map(|n| format!(" of {n}")).unwrap_or_default(),
                            chain(&e)
                        ),
                        url,
                    ),
                });
            }
        };
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
        out.put(&buf[..n]).map_err(write_err)?;
        progress(Progress::Bytes(n as u64));
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
    out.finish().map_err(write_err)?;
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

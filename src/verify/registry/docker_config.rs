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
    let failed = |why: String| RegistryError::Config(format!("credential helper {program}: {why}"));
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

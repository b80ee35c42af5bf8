//! Which policy and which waiver file a command works with: one rule, shared by `audit`,
//! `check`, `waivers list|check|add` and the license check, so that no two commands read
//! different waivers or different settings for the same project.
//!
//! - The policy: `--policy FILE`, else `vouch.toml` in the current directory when there
//!   is one, else none (the built-in defaults).
//! - The project directory: the policy's directory, else the current directory.
//! - The waiver file: `--waivers FILE`, else the policy's `[waivers] file`, else
//!   `vouch-waivers.toml` in the project directory. Never a directory being scanned:
//!   which paths are audited does not change which waivers apply.
//!
//! This module only finds and loads files; it never decides pass or fail.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::policy::{self, Policy};
use crate::waiver::{self, WaiverFile};

/// The policy a command runs under: `explicit` (which must exist), else `vouch.toml` in
/// the current directory when it exists, else `None`.
pub(crate) fn policy(explicit: Option<&Path>) -> anyhow::Result<Option<Policy>> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let default = PathBuf::from(policy::DEFAULT_FILE_NAME);
            if !default.is_file() {
                return Ok(None);
            }
            default
        }
    };
    Ok(Some(Policy::load(&path)?))
}

/// The directory the project's files are looked for in: the policy's directory, else the
/// current directory (an empty path, so names print without `./`).
pub(crate) fn dir(policy: Option<&Policy>) -> PathBuf {
    policy
        .and_then(|p| p.path.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where a command's waivers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WaiverPath {
    pub path: PathBuf,
    /// Named by `--waivers` or the policy: it must exist. The default file is used only
    /// when it exists.
    pub named: bool,
}

/// The waiver file, by the one rule (see the module docs).
pub(crate) fn waiver_path(explicit: Option<&Path>, policy: Option<&Policy>) -> WaiverPath {
    if let Some(path) = explicit {
        return WaiverPath {
            path: path.to_path_buf(),
            named: true,
        };
    }
    if let Some(path) = policy.and_then(|p| p.waivers.file.as_ref()) {
        return WaiverPath {
            path: path.clone(),
            named: true,
        };
    }
    WaiverPath {
        path: dir(policy).join(waiver::DEFAULT_FILE_NAME),
        named: false,
    }
}

impl WaiverPath {
    /// The path when it is to be read: named, or the default file that exists.
    pub fn to_read(&self) -> Option<&Path> {
        (self.named || self.path.is_file()).then_some(self.path.as_path())
    }

    /// Loads the file to read, if any (a named file that is missing is an error).
    pub fn load(&self) -> anyhow::Result<Option<WaiverFile>> {
        self.to_read()
            .map(|path| WaiverFile::load(path).context("cannot read the waiver file"))
            .transpose()
    }

    /// Loads the file, which must exist (for `waivers list` and `waivers check`).
    pub fn load_required(&self) -> anyhow::Result<WaiverFile> {
        if !self.named && !self.path.exists() {
            anyhow::bail!(
                "no waiver file: {} does not exist (pass --waivers FILE, set `[waivers] file` in the policy, or add one with `vouch waivers add`)",
                self.path.display()
            );
        }
        Ok(WaiverFile::load(&self.path)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_at(path: &str, text: &str) -> Policy {
        Policy::parse(Path::new(path), text).unwrap()
    }

    #[test]
    fn the_flag_wins_then_the_policy_then_the_project_directory() {
        let with_file = policy_at("sub/vouch.toml", "[waivers]\nfile = \"w.toml\"\n");
        let without = policy_at("sub/vouch.toml", "");
        let flag = waiver_path(Some(Path::new("x.toml")), Some(&with_file));
        assert_eq!(
            (flag.path.as_path(), flag.named),
            (Path::new("x.toml"), true)
        );
        let from_policy = waiver_path(None, Some(&with_file));
        assert_eq!(
            (from_policy.path.as_path(), from_policy.named),
            (Path::new("sub/w.toml"), true)
        );
        let beside = waiver_path(None, Some(&without));
        assert_eq!(
            (beside.path.as_path(), beside.named),
            (Path::new("sub/vouch-waivers.toml"), false)
        );
        let cwd = waiver_path(None, None);
        assert_eq!(cwd.path, Path::new("vouch-waivers.toml"));
        let default_policy = policy_at("vouch.toml", "");
        assert_eq!(
            waiver_path(None, Some(&default_policy)).path,
            Path::new("vouch-waivers.toml")
        );
    }

    #[test]
    fn a_default_file_that_does_not_exist_is_not_read_but_a_named_one_is() {
        let missing = WaiverPath {
            path: PathBuf::from("/nonexistent/vouch-waivers.toml"),
            named: false,
        };
        assert!(missing.load().unwrap().is_none());
        assert!(missing.load_required().is_err());
        let named = WaiverPath {
            named: true,
            ..missing
        };
        assert!(named.load().is_err());
    }
}

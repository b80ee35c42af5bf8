//! Declared licenses: where they come from and how they are normalised.
//!
//! A license is only ever what a package itself declares: the lockfile's field (npm), or
//! the `license` key of the package's own `Cargo.toml` in the local registry source cache
//! or in a path dependency. Nothing here guesses; unknown stays unknown (NOASSERTION).
//! Expressions are normalised with the `spdx` crate; text that is not a valid SPDX
//! expression is kept verbatim under a `LicenseRef-`.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::package::{Ecosystem, Package, Source};

/// A declared license, normalised.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum License {
    /// A valid SPDX license expression, canonicalised (`MIT/Apache-2.0` → `MIT OR Apache-2.0`).
    Spdx(String),
    /// Not a valid SPDX expression: a `LicenseRef-` id and the original text.
    Other { id: String, text: String },
    /// The package declares nothing we can see.
    Unknown,
}

impl License {
    /// Normalises declared license text.
    pub fn from_declared(text: &str) -> License {
        let text = text.trim();
        if text.is_empty() {
            return License::Unknown;
        }
        let canonical = match spdx::Expression::canonicalize(text) {
            Ok(Some(fixed)) => fixed,
            Ok(None) => text.to_string(),
            Err(_) => return License::other(text),
        };
        match spdx::Expression::parse(&canonical) {
            Ok(_) => License::Spdx(canonical),
            Err(_) => License::other(text),
        }
    }

    fn other(text: &str) -> License {
        let mut id = String::from("LicenseRef-");
        let mut last_dash = true;
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || c == '.' {
                id.push(c);
                last_dash = false;
            } else if !last_dash {
                id.push('-');
                last_dash = true;
            }
        }
        let id = id.trim_end_matches('-').to_string();
        let id = if id == "LicenseRef" {
            "LicenseRef-unknown".to_string()
        } else {
            id
        };
        License::Other {
            id,
            text: text.to_string(),
        }
    }

    /// The SPDX `licenseDeclared` value.
    pub fn spdx_value(&self) -> &str {
        match self {
            License::Spdx(expr) => expr,
            License::Other { id, .. } => id,
            License::Unknown => "NOASSERTION",
        }
    }
}

/// Finds declared licenses for packages whose lockfile does not record one.
pub struct Resolver {
    /// `$CARGO_HOME/registry/src/*` directories, each with the names of the unpacked
    /// crates in it, listed once at first use: one directory read instead of one failed
    /// probe per crate that is not in the cache (most of them, on most machines).
    cargo_sources: Vec<(PathBuf, OnceLock<HashSet<OsString>>)>,
    /// Path crates found under the project: name → Cargo.toml.
    path_crates: HashMap<(String, String), PathBuf>,
}

impl Resolver {
    /// `cargo_home`: where Cargo keeps its registry cache (`$CARGO_HOME`, else `~/.cargo`).
    /// `project`: the directory whose path dependencies may be looked up.
    pub fn new(cargo_home: Option<&Path>, project: &Path) -> Resolver {
        let mut cargo_sources = Vec::new();
        if let Some(home) = cargo_home
            && let Ok(entries) = fs::read_dir(home.join("registry/src"))
        {
            let mut dirs: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
            dirs.sort();
            cargo_sources = dirs.into_iter().map(|d| (d, OnceLock::new())).collect();
        }
        let mut path_crates = HashMap::new();
        collect_path_crates(project, 0, &mut path_crates);
        Resolver {
            cargo_sources,
            path_crates,
        }
    }

    /// The license `package` declares, as far as can be seen from here.
    pub fn license(&self, package: &Package) -> License {
        if let Some(text) = &package.license {
            return License::from_declared(text);
        }
        if package.ecosystem != Ecosystem::Cargo {
            return License::Unknown;
        }
        let manifest = match &package.source {
            Source::Registry | Source::AlternateRegistry(_) => {
                let dir = OsString::from(format!("{}-{}", package.name, package.version));
                // The first source that holds the crate's manifest.
                self.cargo_sources
                    .iter()
                    .filter(|(src, listing)| listing.get_or_init(|| list(src)).contains(&dir))
                    .find_map(|(src, _)| fs::read_to_string(src.join(&dir).join("Cargo.toml")).ok())
            }
            Source::Path(_) => self
                .path_crates
                .get(&(package.name.clone(), package.version.clone()))
                .and_then(|path| fs::read_to_string(path).ok()),
            Source::Git(_) | Source::Unknown => None,
        };
        manifest
            .and_then(|text| cargo_manifest_license(&text))
            .map_or(License::Unknown, |text| License::from_declared(&text))
    }
}

/// The names in `dir` (none when it cannot be read: then no license is found there, as
/// when each crate's manifest was probed).
fn list(dir: &Path) -> HashSet<OsString> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads `[package] license` from a Cargo.toml's text (a literal string; an inherited
/// `license.workspace = true` is not resolved and counts as unknown).
fn cargo_manifest_license(text: &str) -> Option<String> {
    match scan_package_license(text) {
        Scan::Found(license) => Some(license),
        Scan::Absent => None,
        Scan::Unsure => {
            let value: toml::Value = toml::from_str(text).ok()?;
            value
                .get("package")?
                .get("license")?
                .as_str()
                .map(str::to_string)
        }
    }
}

enum Scan {
    Found(String),
    Absent,
    /// Anything unusual: let the TOML parser decide.
    Unsure,
}

/// Manifests in the registry cache are normalised by `cargo publish`: `[package]` is a
/// plain table and `license = "..."` a plain line. A line scan reads them much faster
/// than a full parse; anything it does not recognise exactly goes to the parser.
fn scan_package_license(text: &str) -> Scan {
    let mut in_package = false;
    let mut seen_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            if in_package {
                return Scan::Absent;
            }
            in_package = line == "[package]";
            seen_package |= in_package;
            continue;
        }
        if !in_package {
            continue;
        }
        let Some(rest) = line.strip_prefix("license") else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(value) = rest.strip_prefix('=') else {
            // `license-file = ...` is another key; a dotted `license.workspace` is unusual.
            if rest.starts_with('.') {
                return Scan::Unsure;
            }
            continue;
        };
        let value = value.trim();
        return match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) if !inner.contains(['\\', '"']) => Scan::Found(inner.to_string()),
            _ => Scan::Unsure,
        };
    }
    if seen_package {
        Scan::Absent
    } else {
        Scan::Unsure
    }
}

/// Walks the project (bounded depth, skipping build and VCS directories) for crates.
fn collect_path_crates(dir: &Path, depth: usize, out: &mut HashMap<(String, String), PathBuf>) {
    if depth > 6 {
        return;
    }
    let manifest = dir.join("Cargo.toml");
    if let Ok(text) = fs::read_to_string(&manifest)
        && let Ok(value) = toml::from_str::<toml::Value>(&text)
        && let Some(package) = value.get("package")
        && let (Some(name), Some(version)) = (
            package.get("name").and_then(|v| v.as_str()),
            package.get("version").and_then(|v| v.as_str()),
        )
    {
        out.entry((name.to_string(), version.to_string()))
            .or_insert(manifest);
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !matches!(name.as_ref(), "target" | "node_modules" | ".git")
        })
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for sub in dirs {
        collect_path_crates(&sub, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_are_canonicalised() {
        assert_eq!(
            License::from_declared("MIT/Apache-2.0"),
            License::Spdx("MIT OR Apache-2.0".into())
        );
        assert_eq!(
            License::from_declared("MIT OR Apache-2.0"),
            License::Spdx("MIT OR Apache-2.0".into())
        );
        assert_eq!(
            License::from_declared("GPL-2.0"),
            License::Spdx("GPL-2.0-only".into())
        );
        assert_eq!(License::from_declared(""), License::Unknown);
    }

    #[test]
    fn the_line_scan_agrees_with_the_toml_parser() {
        let cases = [
            "[package]\nname = \"a\"\nlicense = \"MIT OR Apache-2.0\"\n",
            "[package]\nname = \"a\"\nlicense-file = \"LICENSE\"\n[dependencies]\nlicense = \"1\"\n",
            "[package]\nname = \"a\"\nlicense.workspace = true\n",
            "[package]\nlicense = 'MIT'\n",
            "[package]\nlicense = \"MIT \\u0041\"\n",
            "[lib]\nname = \"x\"\n",
            "[package]\nname = \"a\"\n\n[features]\nlicense = []\n",
        ];
        for text in cases {
            let parsed = toml::from_str::<toml::Value>(text).ok().and_then(|v| {
                v.get("package")?
                    .get("license")?
                    .as_str()
                    .map(str::to_string)
            });
            let scanned = match scan_package_license(text) {
                Scan::Found(l) => Some(l),
                Scan::Absent => None,
                Scan::Unsure => parsed.clone(),
            };
            assert_eq!(scanned, parsed, "{text}");
        }
    }

    /// The scan against the parser on every manifest in this machine's registry cache.
    #[test]
    fn the_line_scan_agrees_with_the_parser_on_real_registry_manifests() {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
        let Some(Ok(indexes)) = home.map(|h| fs::read_dir(h.join("registry/src"))) else {
            return;
        };
        for index in indexes.filter_map(Result::ok) {
            for krate in fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .take(3000)
            {
                let Ok(text) = fs::read_to_string(krate.path().join("Cargo.toml")) else {
                    continue;
                };
                let parsed = toml::from_str::<toml::Value>(&text).ok().and_then(|v| {
                    v.get("package")?
                        .get("license")?
                        .as_str()
                        .map(str::to_string)
                });
                match scan_package_license(&text) {
                    Scan::Found(l) => assert_eq!(Some(l), parsed, "{}", krate.path().display()),
                    Scan::Absent => assert_eq!(None, parsed, "{}", krate.path().display()),
                    Scan::Unsure => {}
                }
            }
        }
    }

    #[test]
    fn invalid_expressions_keep_their_text_under_a_license_ref() {
        match License::from_declared("Some (custom) licence!") {
            License::Other { id, text } => {
                assert_eq!(id, "LicenseRef-Some-custom-licence");
                assert_eq!(text, "Some (custom) licence!");
            }
            other => panic!("{other:?}"),
        }
    }
}

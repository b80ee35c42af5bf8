//! The one package model every lockfile parser produces and every consumer reads.
//!
//! A `Package` is what a lockfile pins: an ecosystem, a name, an exact version, where it
//! comes from, and whatever integrity and dependency data the format records. Parsers fill
//! it; the audit, the SBOM writer and the report only ever read it. It must never hold
//! anything a lockfile did not say: unknown stays `None`, never a guess.

use std::fmt;

/// The package ecosystems vouch understands. The display names are OSV's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    Cargo,
    Npm,
    PyPI,
    Go,
}

impl Ecosystem {
    /// The ecosystem's name in OSV data (`affected[].package.ecosystem`).
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
        }
    }

    /// The package-url type (`pkg:<type>/...`).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Go => "golang",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// Where a locked package comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The ecosystem's default public registry (crates.io, the npm registry, PyPI, the Go proxy).
    Registry,
    /// Another registry, identified by its URL as the lockfile records it.
    AlternateRegistry(String),
    /// A git repository (URL with any revision the lockfile records).
    Git(String),
    /// A path inside the project (workspace members, path dependencies, links).
    Path(String),
    /// The lockfile does not say.
    Unknown,
}

/// Why a package is the project's own code (a `Source::Path` package): it is never
/// audited as the registry package of the same name, only counted as local.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LocalKind {
    /// The project itself or a member of its workspace.
    WorkspaceMember,
    /// A dependency on a directory, file or link in the project (`path`, `file:`,
    /// `link:`, an editable install), or a local package the lockfile does not tell apart
    /// from a workspace member (Cargo.lock).
    LocalPath,
}

impl LocalKind {
    /// The stable code machine reports carry.
    pub fn as_str(self) -> &'static str {
        match self {
            LocalKind::WorkspaceMember => "workspace-member",
            LocalKind::LocalPath => "local-path",
        }
    }

    /// The reason as a report says it.
    pub fn describe(self) -> &'static str {
        match self {
            LocalKind::WorkspaceMember => "workspace member",
            LocalKind::LocalPath => "local path",
        }
    }
}

/// Hash algorithms lockfiles record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// The SPDX checksum algorithm name.
    pub fn spdx_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "SHA1",
            HashAlgorithm::Sha256 => "SHA256",
            HashAlgorithm::Sha384 => "SHA384",
            HashAlgorithm::Sha512 => "SHA512",
        }
    }
}

/// A digest recorded in the lockfile, as lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checksum {
    pub algorithm: HashAlgorithm,
    pub hex: String,
}

/// One locked package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// The exact version string as the lockfile has it; matching parses it per ecosystem.
    pub version: String,
    pub source: Source,
    /// With `Source::Path`: why the package is the project's own, where the format says.
    pub local: Option<LocalKind>,
    pub checksums: Vec<Checksum>,
    /// Only needed for development (tests, builds), where the format records it.
    pub dev: bool,
    /// Optional dependency, where the format records it.
    pub optional: bool,
    /// Declared license expression, where the lockfile records one.
    pub license: Option<String>,
    /// 1-based line in the lockfile where the package's entry starts, where known.
    pub line: Option<u32>,
    /// Indices into the owning lockfile's `packages` of this package's direct dependencies.
    pub dependencies: Vec<usize>,
}

impl Package {
    /// A package with only the identifying fields set; parsers fill the rest.
    pub fn new(ecosystem: Ecosystem, name: impl Into<String>, version: impl Into<String>) -> Self {
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
            source: Source::Unknown,
            local: None,
            checksums: Vec::new(),
            dev: false,
            optional: false,
            license: None,
            line: None,
            dependencies: Vec::new(),
        }
    }

    /// Marks the package as the project's own code at `path` (see [`LocalKind`]).
    pub fn set_local(&mut self, path: impl Into<String>, kind: LocalKind) {
        self.source = Source::Path(path.into());
        self.local = Some(kind);
    }

    /// Why this package is the project's own code, when it is (`Source::Path`). Where a
    /// parser did not say, a package with no path at all (Cargo.lock's source-less
    /// entries: workspace members, and path dependencies it does not tell apart) is a
    /// workspace member, any other a local path.
    pub fn local_kind(&self) -> Option<LocalKind> {
        match &self.source {
            Source::Path(path) => Some(self.local.unwrap_or(if path.is_empty() {
                LocalKind::WorkspaceMember
            } else {
                LocalKind::LocalPath
            })),
            _ => None,
        }
    }

    /// The package URL (<https://github.com/package-url/purl-spec>).
    pub fn purl(&self) -> String {
        let (namespace, name) = match self.ecosystem {
            // npm scopes are the purl namespace: `@scope/name` -> `%40scope/name`.
            Ecosystem::Npm => match self.name.split_once('/') {
                Some((scope, name)) if scope.starts_with('@') => (Some(scope), name),
                _ => (None, self.name.as_str()),
            },
            // Go module paths: everything before the last segment is the namespace.
            Ecosystem::Go => match self.name.rsplit_once('/') {
                Some((ns, name)) => (Some(ns), name),
                None => (None, self.name.as_str()),
            },
            Ecosystem::Cargo | Ecosystem::PyPI => (None, self.name.as_str()),
        };
        let name = match self.ecosystem {
            // PEP 503 normalisation, as the purl spec asks for PyPI.
            Ecosystem::PyPI => normalize_pypi_name(name),
            _ => name.to_string(),
        };
        let mut purl = format!("pkg:{}/", self.ecosystem.purl_type());
        if let Some(ns) = namespace {
            for segment in ns.split('/') {
                purl.push_str(&purl_escape(segment));
                purl.push('/');
            }
        }
        purl.push_str(&purl_escape(&name));
        purl.push('@');
        purl.push_str(&purl_escape(&self.version));
        purl
    }
}

/// PEP 503 name normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// Percent-encodes everything outside the purl spec's unreserved set.
fn purl_escape(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Lower-case hex of `bytes` (checksums, digests).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut digits = vec![0; bytes.len() * 2];
    for (pair, &b) in digits.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    // Written as bytes, not pushed as chars (a third of reading an npm checksum); only
    // ASCII digits, so never invalid.
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_follow_the_spec_per_ecosystem() {
        let cases = [
            (Ecosystem::Cargo, "serde", "1.0.0", "pkg:cargo/serde@1.0.0"),
            (
                Ecosystem::Npm,
                "@babel/core",
                "7.0.0",
                "pkg:npm/%40babel/core@7.0.0",
            ),
            (Ecosystem::Npm, "lodash", "4.17.4", "pkg:npm/lodash@4.17.4"),
            (
                Ecosystem::PyPI,
                "Django_Rest.framework",
                "3.0",
                "pkg:pypi/django-rest-framework@3.0",
            ),
            (
                Ecosystem::Go,
                "github.com/gin-gonic/gin",
                "v1.9.0",
                "pkg:golang/github.com/gin-gonic/gin@v1.9.0",
            ),
            (
                Ecosystem::Cargo,
                "x",
                "1.0.0+build",
                "pkg:cargo/x@1.0.0%2Bbuild",
            ),
        ];
        for (eco, name, version, want) in cases {
            assert_eq!(Package::new(eco, name, version).purl(), want);
        }
    }

    #[test]
    fn pypi_names_normalise_per_pep_503() {
        assert_eq!(normalize_pypi_name("Foo.__Bar-baz"), "foo-bar-baz");
    }

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }
}

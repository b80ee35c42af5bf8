//! SBOMs: a format-neutral model built from lockfiles, and one deterministic writer per
//! format (SPDX 2.3 JSON, SPDX 2.3 tag-value, CycloneDX 1.6 JSON).
//!
//! Determinism is the point: the same input gives byte-identical output. Nothing read
//! from the clock or the working directory reaches the document: `created` comes from
//! `SOURCE_DATE_EPOCH` or the input files' newest modification time, the namespace is a
//! hash of the content, and every list is sorted.

pub mod cyclonedx;
pub mod license;
pub mod spdx_json;
pub mod spdx_tv;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

pub use license::{License, Resolver};

use crate::lockfile::Lockfile;
use crate::package::{Checksum, Ecosystem, Package, Source};

/// The SPDX id of the document itself.
pub const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";

/// One component (SPDX package).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Component {
    /// `SPDXRef-...`, unique in the document; also the CycloneDX `bom-ref`.
    pub id: String,
    pub name: String,
    /// `None` when unknown (the project itself may have no version).
    pub version: Option<String>,
    pub ecosystem: Option<Ecosystem>,
    pub purl: Option<String>,
    /// Where the source can be fetched, when the lockfile says and it is not a registry.
    pub download_location: Option<String>,
    /// SPDX supplier (`Organization: ...`/`Person: ...`): the distribution source.
    pub supplier: Option<String>,
    pub checksums: Vec<Checksum>,
    pub license: License,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RelationshipKind {
    Describes,
    DependsOn,
    DevDependencyOf,
}

impl RelationshipKind {
    pub fn spdx_name(self) -> &'static str {
        match self {
            RelationshipKind::Describes => "DESCRIBES",
            RelationshipKind::DependsOn => "DEPENDS_ON",
            RelationshipKind::DevDependencyOf => "DEV_DEPENDENCY_OF",
        }
    }
}

/// `from KIND to`, by component id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Relationship {
    pub from: String,
    pub kind: RelationshipKind,
    pub to: String,
}

/// A format-neutral SBOM.
#[derive(Clone, Debug)]
pub struct Sbom {
    pub name: String,
    pub created: Timestamp,
    pub root: Component,
    /// Every other component, sorted by id.
    pub components: Vec<Component>,
    /// Sorted, without duplicates; the document's DESCRIBES comes first.
    pub relationships: Vec<Relationship>,
    /// Licenses that are not valid SPDX expressions: (LicenseRef id, original text).
    pub extracted_licenses: BTreeMap<String, String>,
    /// Things a user should know (invalid license text kept as LicenseRef, ...).
    pub warnings: Vec<String>,
}

impl Sbom {
    /// A hash of everything in the document, for namespaces and serial numbers.
    ///
    /// It is taken over an explicit encoding of the model (see [`ContentHasher`]), never
    /// over a formatted string: Rust's `Debug` output is not stable from one compiler
    /// release to the next, and formatting it cost a tenth of `vouch sbom`.
    pub fn content_hash(&self) -> String {
        let mut h = ContentHasher::new();
        h.str(&self.name);
        h.int(self.created.as_second());
        h.int(i64::from(self.created.subsec_nanosecond()));
        h.len(1 + self.components.len());
        for c in self.all_components() {
            h.component(c);
        }
        h.len(self.relationships.len());
        for r in &self.relationships {
            h.str(&r.from);
            h.str(r.kind.spdx_name());
            h.str(&r.to);
        }
        h.len(self.extracted_licenses.len());
        for (id, text) in &self.extracted_licenses {
            h.str(id);
            h.str(text);
        }
        hex(&h.0.finalize())
    }

    /// Every component, the root first.
    pub fn all_components(&self) -> impl Iterator<Item = &Component> {
        std::iter::once(&self.root).chain(&self.components)
    }
}

use crate::package::hex;

/// The encoding [`Sbom::content_hash`] hashes: a version string, then every field in a
/// fixed order; strings and lists prefixed with their length, absent values and license
/// variants with a tag, other enums by their SPDX names, so no two different documents encode alike. The same model gives
/// the same bytes on every platform and toolchain. Changing it changes every document's
/// namespace: bump the version string.
struct ContentHasher(Sha256);

impl ContentHasher {
    fn new() -> ContentHasher {
        let mut h = ContentHasher(Sha256::new());
        h.str("vouch-sbom-content-1");
        h
    }

    fn len(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }

    fn int(&mut self, n: i64) {
        self.0.update(n.to_le_bytes());
    }

    fn tag(&mut self, tag: u8) {
        self.0.update([tag]);
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.update(s.as_bytes());
    }

    fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.tag(0),
            Some(s) => {
                self.tag(1);
                self.str(s);
            }
        }
    }

    fn component(&mut self, c: &Component) {
        let Component {
            id,
            name,
            version,
            ecosystem,
            purl,
            download_location,
            supplier,
            checksums,
            license,
        } = c;
        self.str(id);
        self.str(name);
        self.opt(version.as_deref());
        self.opt(ecosystem.map(Ecosystem::purl_type));
        self.opt(purl.as_deref());
        self.opt(download_location.as_deref());
        self.opt(supplier.as_deref());
        self.len(checksums.len());
        for checksum in checksums {
            self.str(checksum.algorithm.spdx_name());
            self.str(&checksum.hex);
        }
        match license {
            License::Spdx(expression) => {
                self.tag(0);
                self.str(expression);
            }
            License::Other { id, text } => {
                self.tag(1);
                self.str(id);
                self.str(text);
            }
            License::Unknown => self.tag(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Manifest {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("SOURCE_DATE_EPOCH `{0}` is not a number of seconds since 1970")]
    SourceDateEpoch(String),
}

/// What the builder reads besides the lockfiles.
pub struct Options<'a> {
    /// The project directory (for its manifest and path dependencies).
    pub project: &'a Path,
    /// `$SOURCE_DATE_EPOCH`, as given.
    pub source_date_epoch: Option<String>,
    pub resolver: &'a Resolver,
}

/// Builds the SBOM of `lockfiles` for the project at `options.project`.
pub fn build(lockfiles: &[Lockfile], options: &Options<'_>) -> Result<Sbom, Error> {
    let created = match &options.source_date_epoch {
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or_else(|| Error::SourceDateEpoch(text.clone()))?,
        None => newest_mtime(lockfiles, options.project),
    };
    let manifest = project_manifest(options.project)?;
    let root_name = manifest
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_else(|| {
            fs::canonicalize(options.project)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "project".to_string())
        });
    let root_version = manifest.as_ref().and_then(|m| m.version.clone());
    let root = Component {
        id: "SPDXRef-RootPackage".to_string(),
        name: root_name.clone(),
        version: root_version.clone(),
        ecosystem: manifest.as_ref().map(|m| m.ecosystem),
        purl: manifest.as_ref().and_then(|m| {
            m.version
                .as_ref()
                .map(|v| Package::new(m.ecosystem, &m.name, v).purl())
        }),
        download_location: None,
        supplier: manifest.as_ref().and_then(|m| m.supplier.clone()),
        checksums: Vec::new(),
        license: manifest
            .as_ref()
            .and_then(|m| m.license.as_deref())
            .map_or(License::Unknown, License::from_declared),
    };

    let mut components: BTreeMap<String, Component> = BTreeMap::new();
    let mut relationships = BTreeSet::new();
    let mut warnings = BTreeSet::new();
    let mut extracted = BTreeMap::new();
    relationships.insert(Relationship {
        from: DOCUMENT_ID.into(),
        kind: RelationshipKind::Describes,
        to: root.id.clone(),
    });

    for lockfile in lockfiles {
        // Each package's component id; the project itself maps to the root.
        let ids: Vec<String> = lockfile
            .packages
            .iter()
            .map(|p| {
                let is_root = manifest.as_ref().is_some_and(|m| {
                    m.ecosystem == p.ecosystem
                        && m.name == p.name
                        && matches!(p.source, Source::Path(_))
                        && m.version.as_deref().is_none_or(|v| v == p.version)
                });
                if is_root {
                    root.id.clone()
                } else {
                    component_id(p)
                }
            })
            .collect();
        let mut has_parent = vec![false; lockfile.packages.len()];
        let licenses = resolve_licenses(options.resolver, &lockfile.packages);
        for (i, package) in lockfile.packages.iter().enumerate() {
            if ids[i] == root.id {
                continue;
            }
            let license = licenses[i].clone();
            if let License::Other { id, text } = &license {
                warnings.insert(format!(
                    "{} {}: declared license `{text}` is not a valid SPDX expression; recorded as {id}",
                    package.name, package.version
                ));
                extracted.insert(id.clone(), text.clone());
            }
            components
                .entry(ids[i].clone())
                .or_insert_with(|| Component {
                    id: ids[i].clone(),
                    name: package.name.clone(),
                    version: Some(package.version.clone()),
                    ecosystem: Some(package.ecosystem),
                    purl: Some(package.purl()),
                    download_location: match &package.source {
                        Source::Git(url) => Some(format!("git+{url}")),
                        _ => None,
                    },
                    supplier: supplier(package, root.supplier.as_deref()),
                    checksums: {
                        let mut c = package.checksums.clone();
                        c.sort();
                        c.dedup();
                        c
                    },
                    license,
                });
        }
        for (i, package) in lockfile.packages.iter().enumerate() {
            for &j in &package.dependencies {
                let Some(dep) = lockfile.packages.get(j) else {
                    continue;
                };
                has_parent[j] = true;
                if ids[j] == ids[i] {
                    continue;
                }
                relationships.insert(edge(&ids[i], &ids[j], dep.dev && ids[i] == root.id));
            }
        }
        // Packages nothing depends on hang off the project itself.
        for (j, package) in lockfile.packages.iter().enumerate() {
            if !has_parent[j] && ids[j] != root.id {
                relationships.insert(edge(&root.id, &ids[j], package.dev));
            }
        }
    }
    if let License::Other { id, text } = &root.license {
        extracted.insert(id.clone(), text.clone());
    }

    Ok(Sbom {
        name: root_name,
        created,
        root,
        components: components.into_values().collect(),
        relationships: relationships.into_iter().collect(),
        extracted_licenses: extracted,
        warnings: warnings.into_iter().collect(),
    })
}

/// SPDX's supplier is "the actual distribution source": the registry a package came
/// from, the host and owner of a git source, the project itself for path packages.
fn supplier(package: &Package, project: Option<&str>) -> Option<String> {
    let origin = |url: &str| {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let mut parts = rest.split('/').filter(|p| !p.is_empty());
        match (parts.next(), parts.next()) {
            (Some(host), Some(owner)) => format!("{host}/{owner}"),
            (Some(host), None) => host.to_string(),
            _ => rest.to_string(),
        }
    };
    match &package.source {
        Source::Registry => Some(format!(
            "Organization: {}",
            match package.ecosystem {
                Ecosystem::Cargo => "crates.io".to_string(),
                Ecosystem::Npm => "npm".to_string(),
                Ecosystem::PyPI => "PyPI".to_string(),
                // Go modules are distributed from their origin: host/owner of the path.
                Ecosystem::Go => origin(&package.name),
            }
        )),
        Source::AlternateRegistry(url) | Source::Git(url) => {
            Some(format!("Organization: {}", origin(url)))
        }
        Source::Path(_) => project.map(str::to_string),
        Source::Unknown => None,
    }
}

/// `Name <mail>` (Cargo, npm) → SPDX `Person: Name (mail)`.
fn person(author: &str) -> Option<String> {
    let author = author.trim();
    if author.is_empty() {
        return None;
    }
    Some(match author.split_once('<') {
        Some((name, mail)) => format!(
            "Person: {} ({})",
            name.trim(),
            mail.trim_end_matches('>').trim()
        ),
        None => format!("Person: {author}"),
    })
}

/// Looks up every package's license, spread over the machine's cores (it is mostly file
/// reads); the result is in package order, so output does not depend on scheduling.
fn resolve_licenses(resolver: &Resolver, packages: &[Package]) -> Vec<License> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || packages.len() < 64 {
        return packages.iter().map(|p| resolver.license(p)).collect();
    }
    let chunk = packages.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = packages
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|p| resolver.license(p)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

fn edge(parent: &str, child: &str, dev: bool) -> Relationship {
    if dev {
        Relationship {
            from: child.into(),
            kind: RelationshipKind::DevDependencyOf,
            to: parent.into(),
        }
    } else {
        Relationship {
            from: parent.into(),
            kind: RelationshipKind::DependsOn,
            to: child.into(),
        }
    }
}

/// `SPDXRef-<ecosystem>-<name>-<version>-<8 hex of the purl's hash>`: readable, valid
/// (`[A-Za-z0-9.-]`) and unique even when sanitising makes two names equal.
fn component_id(package: &Package) -> String {
    let mut id = format!("SPDXRef-{}-", package.ecosystem.purl_type());
    for c in format!("{}-{}", package.name, package.version).chars() {
        id.push(if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            c
        } else {
            '-'
        });
    }
    let hash = Sha256::digest(package.purl().as_bytes());
    id.push('-');
    id.push_str(&hex(&hash[..4]));
    id
}

fn newest_mtime(lockfiles: &[Lockfile], project: &Path) -> Timestamp {
    let mut newest = Timestamp::UNIX_EPOCH;
    let manifests =
        ["Cargo.toml", "package.json", "pyproject.toml", "go.mod"].map(|m| project.join(m));
    for path in lockfiles
        .iter()
        .map(|l| l.path.as_path())
        .chain(manifests.iter().map(|p| p.as_path()))
    {
        if let Ok(modified) = fs::metadata(path).and_then(|m| m.modified())
            && let Ok(t) = Timestamp::try_from(modified)
        {
            // Whole seconds: sub-second precision differs between filesystems.
            let t = Timestamp::from_second(t.as_second()).unwrap_or(t);
            newest = newest.max(t);
        }
    }
    newest
}

/// The project's own identity, from its manifest.
struct Manifest {
    ecosystem: Ecosystem,
    name: String,
    version: Option<String>,
    license: Option<String>,
    supplier: Option<String>,
}

fn project_manifest(dir: &Path) -> Result<Option<Manifest>, Error> {
    let read = |name: &str| fs::read_to_string(dir.join(name)).ok();
    let bad = |name: &str, message: String| Error::Manifest {
        path: dir.join(name),
        message,
    };
    if let Some(text) = read("Cargo.toml") {
        let value: toml::Value =
            toml::from_str(&text).map_err(|e| bad("Cargo.toml", e.to_string()))?;
        if let Some(package) = value.get("package") {
            let s = |k: &str| package.get(k).and_then(|v| v.as_str()).map(str::to_string);
            if let Some(name) = s("name") {
                let supplier = package
                    .get("authors")
                    .and_then(|a| a.as_array())
                    .and_then(|a| a.first())
                    .and_then(|a| a.as_str())
                    .and_then(person);
                return Ok(Some(Manifest {
                    ecosystem: Ecosystem::Cargo,
                    name,
                    version: s("version"),
                    license: s("license"),
                    supplier,
                }));
            }
        }
    }
    if let Some(text) = read("package.json") {
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad("package.json", e.to_string()))?;
        let s = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(name) = s("name") {
            let supplier = match value.get("author") {
                Some(serde_json::Value::String(a)) => person(a),
                Some(a) => a.get("name").and_then(|n| n.as_str()).and_then(person),
                None => None,
            };
            return Ok(Some(Manifest {
                ecosystem: Ecosystem::Npm,
                name,
                version: s("version"),
                license: s("license"),
                supplier,
            }));
        }
    }
    if let Some(text) = read("pyproject.toml") {
        let value: toml::Value =
            toml::from_str(&text).map_err(|e| bad("pyproject.toml", e.to_string()))?;
        let table = value
            .get("project")
            .or_else(|| value.get("tool").and_then(|t| t.get("poetry")));
        if let Some(table) = table {
            let s = |k: &str| table.get(k).and_then(|v| v.as_str()).map(str::to_string);
            if let Some(name) = s("name") {
                let license = table.get("license").and_then(|l| {
                    l.as_str()
                        .map(str::to_string)
                        .or_else(|| l.get("text")?.as_str().map(str::to_string))
                });
                let supplier = table
                    .get("authors")
                    .and_then(|a| a.as_array())
                    .and_then(|a| a.first())
                    .and_then(|a| {
                        a.as_str().map(str::to_string).or_else(|| {
                            let name = a.get("name")?.as_str()?;
                            Some(match a.get("email").and_then(|e| e.as_str()) {
                                Some(mail) => format!("{name} <{mail}>"),
                                None => name.to_string(),
                            })
                        })
                    });
                return Ok(Some(Manifest {
                    ecosystem: Ecosystem::PyPI,
                    name,
                    version: s("version"),
                    license,
                    supplier: supplier.as_deref().and_then(person),
                }));
            }
        }
    }
    if let Some(text) = read("go.mod") {
        let module = text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("module ")
                .map(|m| m.trim().trim_matches('"').to_string())
        });
        if let Some(name) = module {
            let supplier = Some(format!(
                "Organization: {}",
                name.split('/').take(2).collect::<Vec<_>>().join("/")
            ));
            return Ok(Some(Manifest {
                ecosystem: Ecosystem::Go,
                name,
                version: None,
                license: None,
                supplier,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of a document are those of its serde_json tree written pretty (sorted
    /// keys), as the writers produced before they wrote straight from the model; returns
    /// the tree.
    pub(crate) fn assert_written_as_a_sorted_tree(bytes: &[u8]) -> serde_json::Value {
        let tree: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let mut again = serde_json::to_vec_pretty(&tree).unwrap();
        again.push(b'\n');
        assert_eq!(
            String::from_utf8(bytes.to_vec()).unwrap(),
            String::from_utf8(again).unwrap()
        );
        tree
    }

    #[test]
    fn component_ids_are_valid_and_distinct() {
        let a = Package::new(Ecosystem::Npm, "@scope/a_b", "1.0.0+x");
        let b = Package::new(Ecosystem::Npm, "@scope/a-b", "1.0.0+x");
        let (ia, ib) = (component_id(&a), component_id(&b));
        assert_ne!(ia, ib);
        for id in [&ia, &ib] {
            assert!(id.starts_with("SPDXRef-npm--scope-a"), "{id}");
            assert!(
                id[8..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{id}"
            );
        }
    }

    pub(super) fn sample() -> Sbom {
        let component = |id: &str| Component {
            id: id.to_string(),
            name: "a".into(),
            version: Some("1.0.0".into()),
            ecosystem: Some(Ecosystem::Cargo),
            purl: Some("pkg:cargo/a@1.0.0".into()),
            download_location: None,
            supplier: Some("Organization: crates.io".into()),
            checksums: vec![Checksum {
                algorithm: crate::package::HashAlgorithm::Sha256,
                hex: "00".into(),
            }],
            license: License::Spdx("MIT".into()),
        };
        Sbom {
            name: "p".into(),
            created: Timestamp::from_second(1_700_000_000).unwrap(),
            root: component("SPDXRef-RootPackage"),
            components: vec![component("SPDXRef-a")],
            relationships: vec![Relationship {
                from: "SPDXRef-RootPackage".into(),
                kind: RelationshipKind::DependsOn,
                to: "SPDXRef-a".into(),
            }],
            extracted_licenses: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    /// Every optional field present somewhere, and absent somewhere else.
    pub(super) fn full_sample() -> Sbom {
        let mut sbom = sample();
        let mut other = sbom.components[0].clone();
        other.id = "SPDXRef-b".into();
        other.name = "b \"quoted\"\n".into();
        other.version = None;
        other.purl = None;
        other.supplier = None;
        other.checksums.clear();
        other.download_location = Some("git+https://git.example/o/b".into());
        other.license = License::Other {
            id: "LicenseRef-custom".into(),
            text: "custom terms".into(),
        };
        sbom.components.push(other);
        sbom.extracted_licenses
            .insert("LicenseRef-custom".into(), "custom terms".into());
        sbom
    }

    /// The namespace is a function of the content: equal models hash alike, and a change
    /// to any one field (or moving text between neighbouring fields) changes the hash.
    #[test]
    fn the_content_hash_covers_every_field() {
        let base = sample().content_hash();
        assert_eq!(sample().content_hash(), base);
        type Change = (&'static str, fn(&mut Sbom));
        let changes: Vec<Change> = vec![
            ("name", |s| s.name.push('x')),
            ("created", |s| {
                s.created = Timestamp::from_second(1).unwrap()
            }),
            ("root", |s| s.root.name.push('x')),
            ("id", |s| s.components[0].id.push('x')),
            ("version", |s| s.components[0].version = None),
            ("empty version", |s| {
                s.components[0].version = Some(String::new())
            }),
            ("ecosystem", |s| {
                s.components[0].ecosystem = Some(Ecosystem::Npm)
            }),
            ("purl", |s| s.components[0].purl = None),
            ("download", |s| {
                s.components[0].download_location = Some("git+x".into())
            }),
            ("supplier", |s| s.components[0].supplier = None),
            ("checksum", |s| s.components[0].checksums[0].hex.push('0')),
            ("algorithm", |s| {
                s.components[0].checksums[0].algorithm = crate::package::HashAlgorithm::Sha512
            }),
            ("no checksum", |s| s.components[0].checksums.clear()),
            ("license", |s| s.components[0].license = License::Unknown),
            ("license ref", |s| {
                s.components[0].license = License::Other {
                    id: "MIT".into(),
                    text: String::new(),
                }
            }),
            ("relationship", |s| {
                s.relationships[0].kind = RelationshipKind::DevDependencyOf
            }),
            ("no relationship", |s| s.relationships.clear()),
            ("extracted", |s| {
                s.extracted_licenses
                    .insert("LicenseRef-x".into(), "x".into());
            }),
            ("shifted text", |s| {
                s.components[0].name = "a1".into();
                s.components[0].version = Some(".0.0".into());
            }),
            ("one component fewer", |s| s.components.clear()),
        ];
        for (what, change) in changes {
            let mut changed = sample();
            change(&mut changed);
            assert_ne!(changed.content_hash(), base, "{what}");
        }
    }
}

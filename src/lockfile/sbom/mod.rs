//! SBOMs as audit input: SPDX 2.2/2.3 (JSON and tag-value) and CycloneDX 1.4–1.6 JSON.
//!
//! An SBOM names its packages by package URL; a purl of a type vouch audits (`cargo`,
//! `npm`, `pypi`, `golang`) becomes a [`Package`], like a lockfile entry. Everything else
//! is counted and reported as not audited, one note per purl type (never dropped
//! silently), and so are packages without a purl and purls without a version. An SBOM
//! with no purl at all is an error: it gives nothing to audit by. A purl that does not
//! parse is an error naming the element (SPDXID or bom-ref) and where it is.
//!
//! The format is recognised by content ([`detect`]), never by file name alone, and only
//! in a file the user named: a directory scan never reads SBOMs (see `discover`). One
//! submodule per format turns the text into [`Element`]s; this module owns the purl
//! mapping, the not-audited accounting and SPDX's dev-only reachability. Parsers never
//! panic on input, never recurse on the input's nesting (a worklist instead) and read
//! nothing but the text they are given.

mod cyclonedx;
mod spdx_json;
mod spdx_tv;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Format, LineIndex, Note, ParseError, Parsed};
use crate::package::{Ecosystem, Package, Source, normalize_pypi_name};

/// The SPDX versions read: 2.3, and 2.2, whose packages and relationships are the same.
const SPDX_VERSIONS: &[&str] = &["SPDX-2.2", "SPDX-2.3"];
/// The CycloneDX versions read.
const CYCLONEDX_VERSIONS: &[&str] = &["1.4", "1.5", "1.6"];

/// What [`detect`] and the errors call the SBOMs vouch reads.
pub(crate) const DESCRIPTION: &str =
    "an SPDX 2.2/2.3 (JSON or tag-value) or CycloneDX 1.4-1.6 JSON SBOM, recognised by content";

/// Recognises an SBOM by its content: a JSON object with an `spdxVersion` or `bomFormat`
/// key, or tag-value text with an `SPDXVersion:` line. A JSON string cannot hold an
/// unescaped quote, so `"spdxVersion":` in the text is a key; the parser then checks
/// that it is the document's own.
pub(crate) fn detect(text: &str) -> Option<Format> {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.starts_with('{') {
        let has_key = |key: &str| {
            body.match_indices(key)
                .any(|(at, _)| body[at + key.len()..].trim_start().starts_with(':'))
        };
        if has_key("\"bomFormat\"") {
            return Some(Format::CycloneDxJson);
        }
        if has_key("\"spdxVersion\"") {
            return Some(Format::SpdxJson);
        }
        return None;
    }
    body.lines()
        .any(|line| line.trim_start().starts_with("SPDXVersion:"))
        .then_some(Format::SpdxTagValue)
}

/// Parses an SBOM of `format`.
pub(crate) fn parse(format: Format, text: &str) -> Result<Parsed, ParseError> {
    let text = text.trim_start_matches('\u{feff}');
    match format {
        Format::SpdxJson => spdx_json::parse(text),
        Format::SpdxTagValue => spdx_tv::parse(text),
        Format::CycloneDxJson => cyclonedx::parse(text),
        other => Err(ParseError::new(
            1,
            1,
            format!("{other} is not an SBOM format"),
        )),
    }
}

/// One package as an SBOM lists it, before its purls are read.
#[derive(Debug, Default)]
pub(super) struct Element<'a> {
    /// SPDXID or bom-ref, to name the element in messages.
    pub id: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    /// Byte offset where the element starts.
    pub offset: usize,
    /// Each purl with the byte offset of its text.
    pub purls: Vec<(Cow<'a, str>, usize)>,
    pub license: Option<String>,
    pub dev: bool,
    pub optional: bool,
    /// The document's subject (SPDX `documentDescribes`, CycloneDX `metadata.component`):
    /// audited when it has a purl, and not counted as unidentified when it has none.
    pub subject: bool,
}

impl Element<'_> {
    /// `SPDXRef-x (name)`, or whichever of the two it has.
    fn label(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), Some(name)) if id != name => format!("{id} ({name})"),
            (Some(id), _) => id.to_string(),
            (None, Some(name)) => name.to_string(),
            (None, None) => "an element with neither id nor name".into(),
        }
    }
}

/// Unaudited elements of one kind: how many, and the first, to point at.
struct Tally {
    count: usize,
    first: String,
    offset: usize,
}

/// Turns elements into packages and notes.
pub(super) struct Collector<'t> {
    text: &'t str,
    lines: LineIndex,
    /// What the SBOM calls itself in messages (`SPDX document`, `CycloneDX BOM`).
    kind: &'static str,
    parsed: Parsed,
    purls: usize,
    /// Keyed by purl type; `""` for elements without a purl, `"@"` for no version.
    skipped: BTreeMap<&'static str, Tally>,
    other_types: BTreeMap<String, Tally>,
}

impl<'t> Collector<'t> {
    pub(super) fn new(text: &'t str, kind: &'static str) -> Self {
        Collector {
            text,
            lines: LineIndex::new(text),
            kind,
            parsed: Parsed::default(),
            purls: 0,
            skipped: BTreeMap::new(),
            other_types: BTreeMap::new(),
        }
    }

    /// An error at byte `offset` of the text.
    pub(super) fn error(&self, offset: usize, message: impl Into<String>) -> ParseError {
        let (line, column) = self.lines.position(self.text, offset);
        ParseError::new(line, column, message)
    }

    pub(super) fn add(&mut self, element: Element<'_>) -> Result<(), ParseError> {
        if element.purls.is_empty() {
            if !element.subject {
                tally(self.skipped.entry(""), &element, element.offset);
            }
            return Ok(());
        }
        let mut seen = HashSet::new();
        for (text, offset) in &element.purls {
            self.purls += 1;
            let purl = read_purl(text).map_err(|why| {
                self.error(
                    *offset,
                    format!("{}: purl `{text}` does not parse: {why}", element.label()),
                )
            })?;
            let Some(ecosystem) = ecosystem_of(purl.package_type()) else {
                let kind = purl.package_type().to_string();
                tally(self.other_types.entry(kind), &element, *offset);
                continue;
            };
            let Some(version) = purl.version().filter(|v| !v.is_empty()) else {
                tally(self.skipped.entry("@"), &element, *offset);
                continue;
            };
            let name = package_name(ecosystem, &purl).map_err(|why| {
                self.error(
                    *offset,
                    format!("{}: purl `{text}`: {why}", element.label()),
                )
            })?;
            if !seen.insert((ecosystem, name.clone(), version.to_string())) {
                continue;
            }
            // The SBOM's own spelling of a PyPI name ("Jinja2") reads better than the
            // purl's normalised one, and matches the same advisories.
            let name = match (&element.name, ecosystem) {
                (Some(own), Ecosystem::PyPI) if normalize_pypi_name(own) == name => own.to_string(),
                _ => name,
            };
            let mut package = Package::new(ecosystem, name, version);
            package.source = source(ecosystem, purl.qualifiers().get("repository_url"));
            package.dev = element.dev;
            package.optional = element.optional;
            package.license.clone_from(&element.license);
            package.line = u32::try_from(self.lines.line(element.offset)).ok();
            self.parsed.packages.push(package);
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<Parsed, ParseError> {
        if self.purls == 0 {
            return Err(ParseError::new(
                1,
                1,
                format!(
                    "no package in this {} has a purl: vouch identifies the packages it audits by purl, so there is nothing to audit",
                    self.kind
                ),
            ));
        }
        let audited = "vouch audits cargo, npm, pypi and golang purls";
        for (kind, tally) in &self.other_types {
            self.parsed.notes.push(self.note(
                tally,
                format!(
                    "{} with purl type `{kind}` not audited ({audited}); first: {}",
                    packages(tally.count),
                    tally.first
                ),
            ));
        }
        for (key, tally) in &self.skipped {
            let what = if key.is_empty() {
                "without a purl"
            } else {
                "whose purl has no version"
            };
            self.parsed.notes.push(self.note(
                tally,
                format!(
                    "{} {what} not audited; first: {}",
                    packages(tally.count),
                    tally.first
                ),
            ));
        }
        Ok(self.parsed)
    }

    fn note(&self, tally: &Tally, message: String) -> Note {
        Note::not_audited(Some(self.lines.line(tally.offset)), message)
    }
}

fn tally<K: Ord>(
    entry: std::collections::btree_map::Entry<'_, K, Tally>,
    element: &Element<'_>,
    offset: usize,
) {
    entry.and_modify(|t| t.count += 1).or_insert_with(|| Tally {
        count: 1,
        first: element.label(),
        offset,
    });
}

fn packages(n: usize) -> String {
    if n == 1 {
        "1 package".into()
    } else {
        format!("{n} packages")
    }
}

type Purl = purl::GenericPurl<String>;

/// Parses a purl's generic syntax (the `purl` crate: percent-decoding, the type's
/// characters, qualifiers), with no per-type case folding.
fn read_purl(text: &str) -> Result<Purl, String> {
    text.trim().parse::<Purl>().map_err(|e| e.to_string())
}

fn ecosystem_of(purl_type: &str) -> Option<Ecosystem> {
    [
        Ecosystem::Cargo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
    ]
    .into_iter()
    .find(|e| e.purl_type() == purl_type)
}

/// The package's name in its ecosystem, from the purl's namespace and name, as
/// `Package::purl` writes them: an npm scope is the namespace (`@scope/name`); a Go module
/// path is namespace and name together, with its case kept (the purl spec's lowercasing
/// predates modules, and module paths and the Go vulnerability database are
/// case-sensitive).
fn package_name(ecosystem: Ecosystem, purl: &Purl) -> Result<String, String> {
    let name = purl.name();
    match (ecosystem, purl.namespace().filter(|n| !n.is_empty())) {
        (_, None) => Ok(name.to_string()),
        (Ecosystem::Npm, Some(scope)) if scope.starts_with('@') && !scope.contains('/') => {
            Ok(format!("{scope}/{name}"))
        }
        (Ecosystem::Npm, Some(scope)) => Err(format!(
            "an npm namespace is a scope (`@scope`), not `{scope}`"
        )),
        (Ecosystem::Go, Some(path)) => Ok(format!("{path}/{name}")),
        (Ecosystem::Cargo | Ecosystem::PyPI, Some(ns)) => Err(format!(
            "a {} purl has no namespace, found `{ns}`",
            ecosystem.purl_type()
        )),
    }
}

/// Where the package comes from: the purl type's default registry unless a
/// `repository_url` qualifier names another (for cargo, the crates.io index in any of
/// its spellings is still the default).
fn source(ecosystem: Ecosystem, repository_url: Option<&str>) -> Source {
    let Some(url) = repository_url.filter(|u| !u.is_empty()) else {
        return Source::Registry;
    };
    if ecosystem == Ecosystem::Cargo {
        let spec = if url.starts_with("registry+") || url.starts_with("sparse+") {
            url.to_string()
        } else {
            format!("registry+{url}")
        };
        if rustsec::cargo_lock::SourceId::from_url(&spec).is_ok_and(|s| s.is_default_registry()) {
            return Source::Registry;
        }
    }
    Source::AlternateRegistry(url.to_string())
}

/// How one SPDX relationship bears on dev-only reachability.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Edge {
    /// The first element needs the second at run time (or we cannot tell otherwise).
    Needs,
    /// The first element needs the second only for development.
    NeedsForDev,
}

/// Reads an SPDX relationship as a dependency edge `from → to`, if it is one.
fn spdx_edge<'a>(a: &'a str, kind: &str, b: &'a str) -> Option<(&'a str, &'a str, Edge)> {
    match kind {
        "DEPENDS_ON" | "CONTAINS" => Some((a, b, Edge::Needs)),
        "DEPENDENCY_OF"
        | "RUNTIME_DEPENDENCY_OF"
        | "OPTIONAL_DEPENDENCY_OF"
        | "PROVIDED_DEPENDENCY_OF"
        | "BUILD_DEPENDENCY_OF"
        | "CONTAINED_BY" => Some((b, a, Edge::Needs)),
        "DEV_DEPENDENCY_OF" | "TEST_DEPENDENCY_OF" => Some((b, a, Edge::NeedsForDev)),
        _ => None,
    }
}

/// An SPDX document's subjects (what `documentDescribes` and DESCRIBES / DESCRIBED_BY
/// relationships of `document` name) and its dev-only elements, from the relationships
/// `(element, type, related element)`.
pub(super) fn spdx_subjects_and_dev<'a>(
    document: &str,
    describes: impl IntoIterator<Item = &'a str>,
    relationships: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> (HashSet<&'a str>, HashSet<&'a str>) {
    let mut roots: Vec<&str> = describes.into_iter().collect();
    let mut edges = Vec::new();
    for (a, kind, b) in relationships {
        match kind {
            "DESCRIBES" if a == document => roots.push(b),
            "DESCRIBED_BY" if b == document => roots.push(a),
            kind => edges.extend(spdx_edge(a, kind, b)),
        }
    }
    let dev = dev_only(roots.iter().copied(), &edges);
    (roots.into_iter().collect(), dev)
}

/// The elements only needed for development: reachable from the document's subjects,
/// but only through a dev edge. Unreachable elements are not dev-only (the SBOM does not
/// say), so `--exclude-dev` never drops what it cannot place.
fn dev_only<'a>(
    roots: impl IntoIterator<Item = &'a str>,
    edges: &[(&'a str, &'a str, Edge)],
) -> HashSet<&'a str> {
    if !edges.iter().any(|e| e.2 == Edge::NeedsForDev) {
        return HashSet::new();
    }
    let mut out: HashMap<&str, Vec<(&str, Edge)>> = HashMap::new();
    for &(from, to, edge) in edges {
        out.entry(from).or_default().push((to, edge));
    }
    let roots: Vec<&str> = roots.into_iter().collect();
    let reach = |follow_dev: bool| {
        let mut seen: HashSet<&str> = roots.iter().copied().collect();
        let mut todo = roots.clone();
        while let Some(node) = todo.pop() {
            for &(to, edge) in out.get(node).map(Vec::as_slice).unwrap_or(&[]) {
                if (follow_dev || edge == Edge::Needs) && seen.insert(to) {
                    todo.push(to);
                }
            }
        }
        seen
    };
    let runtime = reach(false);
    reach(true)
        .into_iter()
        .filter(|n| !runtime.contains(n))
        .collect()
}

/// The error for a JSON document that does not deserialize, at serde's position.
pub(super) fn json_error(kind: &str, e: &serde_json::Error) -> ParseError {
    ParseError::new(
        e.line().max(1),
        e.column().max(1),
        format!("invalid {kind}: {e}"),
    )
}

/// Byte offset of `part` (a slice borrowed from `text`) in `text`.
pub(super) fn offset_in(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(text.as_ptr() as usize)
        .min(text.len())
}

/// Byte offset of the JSON string `value` of key `key` inside the element text `raw`
/// (borrowed from `text`), or of the element when the string is written with escapes.
pub(super) fn offset_of_value(text: &str, raw: &str, key: &str, value: &str) -> usize {
    let quoted = format!("\"{value}\"");
    let key = format!("\"{key}\"");
    let at = raw.match_indices(&quoted).map(|(at, _)| at).find(|&at| {
        raw[..at]
            .trim_end()
            .strip_suffix(':')
            .is_some_and(|before| before.trim_end().ends_with(&key))
    });
    offset_in(text, raw) + at.map_or(0, |at| at + 1)
}

/// Checks a version field against the versions read.
pub(super) fn check_version(
    found: Option<&str>,
    field: &str,
    known: &[&str],
    what: &str,
) -> Result<(), String> {
    match found {
        Some(v) if known.contains(&v) => Ok(()),
        Some(v) => Err(format!(
            "{what} {field} `{v}` is not one vouch reads (expected {})",
            known.join(", ")
        )),
        None => Err(format!("not {what}: no {field}")),
    }
}

/// (name, dev, line, license) of each package, for the format modules' tests.
#[cfg(test)]
pub(super) fn summary(parsed: &Parsed) -> Vec<(&str, bool, Option<u32>, Option<&str>)> {
    parsed
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.dev, p.line, p.license.as_deref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(parsed: &Parsed) -> Vec<String> {
        parsed
            .packages
            .iter()
            .map(|p| format!("{}:{}@{}", p.ecosystem.purl_type(), p.name, p.version))
            .collect()
    }

    fn element(purl: &str) -> Element<'_> {
        Element {
            id: Some("SPDXRef-x".into()),
            purls: vec![(purl.into(), 0)],
            ..Element::default()
        }
    }

    #[test]
    fn detection_reads_content_not_names() {
        assert_eq!(
            detect("{\"packages\": [], \"spdxVersion\": \"SPDX-2.3\"}"),
            Some(Format::SpdxJson)
        );
        assert_eq!(
            detect("\u{feff} {\"bomFormat\" : \"CycloneDX\"}"),
            Some(Format::CycloneDxJson)
        );
        assert_eq!(
            detect("# c\nSPDXVersion: SPDX-2.3\n"),
            Some(Format::SpdxTagValue)
        );
        // A key's name inside a string value is not a key.
        assert_eq!(detect("{\"a\": \"\\\"bomFormat\\\" is a key\"}"), None);
        assert_eq!(detect("{\"lockfileVersion\": 3}"), None);
        assert_eq!(detect("[1, 2]"), None);
        assert_eq!(detect(""), None);
    }

    /// Regression: the purl spec lowercases golang namespaces, which loses the case of
    /// module paths such as github.com/Azure/go-ntlmssp; the Go database is keyed by it.
    #[test]
    fn purls_map_to_ecosystem_names_with_their_case() {
        let mut c = Collector::new("", "SPDX document");
        for purl in [
            "pkg:cargo/serde@1.0.0",
            "pkg:npm/%40babel/core@7.0.0",
            "pkg:npm/JSONStream@1.3.5",
            "pkg:pypi/django-rest-framework@3.0",
            "pkg:golang/github.com/Azure/go-ntlmssp@v0.0.0-2020?type=module#sub/pkg",
            "pkg:golang/stdlib@1.21.0",
            "pkg:cargo/x@1.0.0%2Bbuild",
            "pkg:NPM/left-pad@1.0.0",
        ] {
            c.add(element(purl)).unwrap();
        }
        let parsed = c.finish().unwrap();
        assert_eq!(
            names(&parsed),
            [
                "cargo:serde@1.0.0",
                "npm:@babel/core@7.0.0",
                "npm:JSONStream@1.3.5",
                "pypi:django-rest-framework@3.0",
                "golang:github.com/Azure/go-ntlmssp@v0.0.0-2020",
                "golang:stdlib@1.21.0",
                "cargo:x@1.0.0+build",
                "npm:left-pad@1.0.0",
            ]
        );
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
        // What vouch writes, it reads back the same.
        for p in &parsed.packages {
            let purl = p.purl();
            let mut again = Collector::new("", "SPDX document");
            again.add(element(&purl)).unwrap();
            let back = &again.finish().unwrap().packages[0];
            assert_eq!((&back.name, &back.version), (&p.name, &p.version), "{purl}");
        }
    }

    #[test]
    fn other_types_versionless_and_purl_less_packages_are_counted_not_dropped() {
        let mut c = Collector::new("", "CycloneDX BOM");
        for purl in [
            "pkg:maven/org.apache/commons@1.0",
            "pkg:maven/org.apache/other@1.0",
            "pkg:deb/debian/libc6@2.36",
            "pkg:npm/left-pad",
            "pkg:npm/ok@1.0.0",
        ] {
            c.add(element(purl)).unwrap();
        }
        c.add(Element {
            name: Some("a file".into()),
            ..Element::default()
        })
        .unwrap();
        // The subject without a purl is neither audited nor counted.
        c.add(Element {
            subject: true,
            ..Element::default()
        })
        .unwrap();
        let parsed = c.finish().unwrap();
        assert_eq!(names(&parsed), ["npm:ok@1.0.0"]);
        let notes: Vec<_> = parsed.notes.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(
            notes,
            [
                "1 package with purl type `deb` not audited (vouch audits cargo, npm, pypi and golang purls); first: SPDXRef-x",
                "2 packages with purl type `maven` not audited (vouch audits cargo, npm, pypi and golang purls); first: SPDXRef-x",
                "1 package without a purl not audited; first: a file",
                "1 package whose purl has no version not audited; first: SPDXRef-x",
            ]
        );
    }

    #[test]
    fn an_sbom_without_purls_is_an_error_and_bad_purls_name_the_element() {
        let mut c = Collector::new("", "SPDX document");
        c.add(Element::default()).unwrap();
        let e = c.finish().unwrap_err();
        assert!(
            e.message
                .contains("no package in this SPDX document has a purl"),
            "{e:?}"
        );

        let text = "line one\n  here";
        for (purl, why) in [
            ("npm/left-pad@1", "scheme"),
            ("pkg:npm/%80@1", "escape"),
            ("pkg:cargo/a/b@1", "no namespace"),
            ("pkg:npm/scope/b@1", "scope"),
            ("pkg:@x/y", "package type"),
        ] {
            let mut c = Collector::new(text, "SPDX document");
            let mut e = element(purl);
            e.purls[0].1 = 11;
            let err = c.add(e).unwrap_err();
            assert_eq!((err.line, err.column), (2, 3), "{err:?}");
            assert!(err.message.starts_with("SPDXRef-x: purl `"), "{err:?}");
            assert!(err.message.to_lowercase().contains(why), "{purl}: {err:?}");
        }
    }

    #[test]
    fn cargo_repository_urls_of_crates_io_are_the_default_registry() {
        assert_eq!(source(Ecosystem::Cargo, None), Source::Registry);
        assert_eq!(
            source(
                Ecosystem::Cargo,
                Some("https://github.com/rust-lang/crates.io-index")
            ),
            Source::Registry
        );
        assert_eq!(
            source(Ecosystem::Cargo, Some("https://my.registry/index")),
            Source::AlternateRegistry("https://my.registry/index".into())
        );
        assert_eq!(
            source(Ecosystem::PyPI, Some("https://registry.example/simple")),
            Source::AlternateRegistry("https://registry.example/simple".into())
        );
    }

    #[test]
    fn dev_only_is_what_only_dev_edges_reach() {
        use Edge::*;
        let edges = [
            ("root", "a", Needs),
            ("a", "shared", Needs),
            ("root", "tool", NeedsForDev),
            ("tool", "shared", Needs),
            ("tool", "helper", Needs),
            ("stray", "x", Needs),
        ];
        let mut dev: Vec<_> = dev_only(["root"], &edges).into_iter().collect();
        dev.sort();
        assert_eq!(dev, ["helper", "tool"]);
        // Without dev edges nothing is dev, even what is unreachable.
        assert!(dev_only(["root"], &edges[..2]).is_empty());
    }
}

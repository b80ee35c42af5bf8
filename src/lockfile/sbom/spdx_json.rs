//! SPDX 2.2/2.3 JSON: `packages[]` with their `externalRefs` of type `purl`, and the
//! `relationships` that say which packages are only needed for development.
//!
//! Each package is kept as raw JSON until it is read, so its position in the text is
//! known (for `line` and for errors) and no tree of the whole document is ever built.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Collector, Element, SPDX_VERSIONS, check_version, json_error, spdx_subjects_and_dev};
use crate::lockfile::{ParseError, Parsed};

const KIND: &str = "SPDX document";

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(rename = "spdxVersion", borrow)]
    spdx_version: Option<Cow<'a, str>>,
    #[serde(rename = "SPDXID", borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(rename = "documentDescribes", borrow, default)]
    describes: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    packages: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    relationships: Vec<Relationship<'a>>,
}

#[derive(Deserialize)]
struct Relationship<'a> {
    #[serde(rename = "spdxElementId", borrow)]
    from: Cow<'a, str>,
    #[serde(rename = "relationshipType", borrow)]
    kind: Cow<'a, str>,
    #[serde(rename = "relatedSpdxElement", borrow)]
    to: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Package<'a> {
    #[serde(rename = "SPDXID", borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "licenseDeclared", borrow)]
    license_declared: Option<Cow<'a, str>>,
    #[serde(rename = "externalRefs", borrow, default)]
    external_refs: Vec<ExternalRef<'a>>,
}

#[derive(Deserialize)]
struct ExternalRef<'a> {
    #[serde(rename = "referenceType", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "referenceLocator", borrow)]
    locator: Option<Cow<'a, str>>,
}

pub(super) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let doc: Document<'_> = serde_json::from_str(text).map_err(|e| json_error(KIND, &e))?;
    let collector = Collector::new(text, KIND);
    check_version(
        doc.spdx_version.as_deref(),
        "spdxVersion",
        SPDX_VERSIONS,
        "an SPDX document",
    )
    .map_err(|why| {
        let at = text.find("\"spdxVersion\"").unwrap_or(0);
        collector.error(at, why)
    })?;

    let (subjects, dev) = spdx_subjects_and_dev(
        doc.id.as_deref().unwrap_or("SPDXRef-DOCUMENT"),
        doc.describes.iter().map(AsRef::as_ref),
        doc.relationships
            .iter()
            .map(|r| (r.from.as_ref(), r.kind.as_ref(), r.to.as_ref())),
    );

    let mut collector = collector;
    for raw in &doc.packages {
        let raw = raw.get();
        let offset = super::offset_in(text, raw);
        let package: Package<'_> = serde_json::from_str(raw)
            .map_err(|e| collector.error(offset, format!("invalid SPDX package: {e}")))?;
        let id = package.id.as_deref();
        let purls = package
            .external_refs
            .iter()
            .filter(|r| {
                r.kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("purl"))
            })
            .filter_map(|r| r.locator.as_ref())
            .map(|purl| {
                let at = super::offset_of_value(text, raw, "referenceLocator", purl);
                (Cow::Owned(purl.to_string()), at)
            })
            .collect();
        collector.add(Element {
            id: package.id.clone(),
            name: package.name.clone(),
            offset,
            purls,
            license: package
                .license_declared
                .as_deref()
                .filter(|l| !matches!(*l, "NOASSERTION" | "NONE" | ""))
                .map(str::to_string),
            dev: id.is_some_and(|id| dev.contains(id)),
            optional: false,
            subject: id.is_some_and(|id| subjects.contains(id)),
        })?;
    }
    collector.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_purls_and_dev_relationships() {
        let text = r#"{
  "spdxVersion": "SPDX-2.3",
  "SPDXID": "SPDXRef-DOCUMENT",
  "packages": [
    {"SPDXID": "SPDXRef-root", "name": "app", "externalRefs": [
      {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/app@1.0.0"}]},
    {"SPDXID": "SPDXRef-a", "name": "a", "licenseDeclared": "MIT", "externalRefs": [
      {"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/a@2.0.0"},
      {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:a:a:2.0.0"}]},
    {"SPDXID": "SPDXRef-t", "name": "t", "licenseDeclared": "NOASSERTION", "externalRefs": [
      {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/t@3.0.0"}]}
  ],
  "relationships": [
    {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-root"},
    {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-root"},
    {"spdxElementId": "SPDXRef-t", "relationshipType": "DEV_DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-root"}
  ]
}"#;
        let parsed = parse(text).unwrap();
        assert_eq!(
            super::super::summary(&parsed),
            [
                ("app", false, Some(5), None),
                ("a", false, Some(7), Some("MIT")),
                ("t", true, Some(10), None)
            ]
        );
        assert!(parsed.notes.is_empty());
    }

    #[test]
    fn errors_point_at_the_version_the_package_or_the_purl() {
        let err = parse("{\"spdxVersion\": \"SPDX-3.0\", \"packages\": []}").unwrap_err();
        assert_eq!((err.line, err.column), (1, 2));
        assert!(err.message.contains("SPDX-2.2, SPDX-2.3"), "{err:?}");

        let err = parse("{\"spdxVersion\": \"SPDX-2.3\",\n \"packages\": [\n  7]}").unwrap_err();
        assert_eq!((err.line, err.column), (3, 3), "{err:?}");

        let text = "{\"spdxVersion\": \"SPDX-2.3\", \"packages\": [\n {\"SPDXID\": \"SPDXRef-bad\", \"externalRefs\": [{\"referenceType\": \"purl\", \"referenceLocator\": \"pkg:npm/%80@1\"}]}]}";
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        let at = text.find("pkg:npm/%80").unwrap();
        assert_eq!(err.column, at - text[..at].rfind('\n').unwrap(), "{err:?}");
        assert!(
            err.message
                .starts_with("SPDXRef-bad: purl `pkg:npm/%80@1` does not parse"),
            "{err:?}"
        );

        let err = parse("{\"spdxVersion\": \"SPDX-2.3\", \"packages\": {}}").unwrap_err();
        assert!(err.message.starts_with("invalid SPDX document"), "{err:?}");
    }
}

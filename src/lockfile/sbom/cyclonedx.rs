//! CycloneDX 1.4–1.6 JSON: `metadata.component` (the BOM's subject) and `components[]`,
//! nested ones included, each by its `purl`.
//!
//! Dev-only: `scope: "excluded"` (the spec's "not part of the runtime"), or the CycloneDX
//! property taxonomy's `cdx:npm:package:development = true` (npm) and a
//! `cdx:poetry:group` that is never `main` (cyclonedx-py). `scope: "optional"` is
//! optional. Components are kept as raw JSON until read, so their positions are known,
//! and nesting is walked with a worklist, never by recursion.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{CYCLONEDX_VERSIONS, Collector, Element, check_version, json_error};
use crate::lockfile::{ParseError, Parsed};

const KIND: &str = "CycloneDX BOM";

/// How deep `components` may nest. Each level is read from its own raw text, which holds
/// everything below it, so the work grows with depth × size; real BOMs nest a few levels.
const MAX_NESTING: usize = 32;

#[derive(Deserialize)]
struct Bom<'a> {
    #[serde(rename = "bomFormat", borrow)]
    bom_format: Option<Cow<'a, str>>,
    #[serde(rename = "specVersion", borrow)]
    spec_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    metadata: Option<Metadata<'a>>,
    #[serde(borrow, default)]
    components: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    component: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Component<'a> {
    #[serde(rename = "bom-ref", borrow)]
    bom_ref: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    purl: Option<Cow<'a, str>>,
    #[serde(borrow)]
    scope: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    properties: Vec<Property<'a>>,
    #[serde(borrow, default)]
    licenses: Vec<License<'a>>,
    #[serde(borrow, default)]
    components: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Property<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    value: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct License<'a> {
    #[serde(borrow)]
    expression: Option<Cow<'a, str>>,
    #[serde(borrow)]
    license: Option<LicenseId<'a>>,
}

#[derive(Deserialize)]
struct LicenseId<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
}

pub(super) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let bom: Bom<'_> = serde_json::from_str(text).map_err(|e| json_error(KIND, &e))?;
    let mut collector = Collector::new(text, KIND);
    let at_key = |key: &str| text.find(&format!("\"{key}\"")).unwrap_or(0);
    if bom.bom_format.as_deref() != Some("CycloneDX") {
        return Err(collector.error(
            at_key("bomFormat"),
            format!(
                "not a CycloneDX BOM: bomFormat is {}",
                bom.bom_format
                    .as_deref()
                    .map_or("missing".into(), |f| format!("`{f}`, not `CycloneDX`"))
            ),
        ));
    }
    check_version(
        bom.spec_version.as_deref(),
        "specVersion",
        CYCLONEDX_VERSIONS,
        "a CycloneDX BOM",
    )
    .map_err(|why| collector.error(at_key("specVersion"), why))?;

    // Depth-first in document order: children are pushed in reverse.
    let mut todo: Vec<(&str, bool, usize)> = bom
        .components
        .iter()
        .rev()
        .map(|c| (c.get(), false, 1))
        .collect();
    if let Some(subject) = bom.metadata.as_ref().and_then(|m| m.component) {
        todo.push((subject.get(), true, 1));
    }
    while let Some((raw, subject, depth)) = todo.pop() {
        let offset = super::offset_in(text, raw);
        if depth > MAX_NESTING {
            return Err(collector.error(
                offset,
                format!("components nested more than {MAX_NESTING} levels deep"),
            ));
        }
        let component: Component<'_> = serde_json::from_str(raw)
            .map_err(|e| collector.error(offset, format!("invalid CycloneDX component: {e}")))?;
        todo.extend(
            component
                .components
                .iter()
                .rev()
                .map(|c| (c.get(), false, depth + 1)),
        );
        let property = |name: &'static str| {
            component
                .properties
                .iter()
                .filter(move |p| p.name.as_deref() == Some(name))
                .filter_map(|p| p.value.as_deref())
        };
        let poetry_groups: Vec<&str> = property("cdx:poetry:group").collect();
        let dev = component.scope.as_deref() == Some("excluded")
            || property("cdx:npm:package:development").any(|v| v == "true")
            || (!poetry_groups.is_empty() && !poetry_groups.contains(&"main"));
        let license = match component.licenses.as_slice() {
            [only] => only
                .expression
                .as_deref()
                .or(only.license.as_ref().and_then(|l| l.id.as_deref()))
                .map(str::to_string),
            _ => None,
        };
        let purls = component
            .purl
            .iter()
            .map(|p| {
                let at = super::offset_of_value(text, raw, "purl", p);
                (Cow::Owned(p.to_string()), at)
            })
            .collect();
        collector.add(Element {
            id: component.bom_ref.clone(),
            name: component.name.clone(),
            offset,
            purls,
            license,
            dev,
            optional: component.scope.as_deref() == Some("optional"),
            subject,
        })?;
    }
    collector.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_nested_components_scopes_and_properties() {
        let text = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
"metadata": {"component": {"bom-ref": "app", "name": "app", "purl": "pkg:npm/app@1.0.0"}},
"components": [
 {"bom-ref": "a", "name": "a", "purl": "pkg:npm/a@1.0.0", "licenses": [{"license": {"id": "MIT"}}],
  "components": [{"bom-ref": "a-inner", "purl": "pkg:cargo/inner@0.1.0", "scope": "excluded"}]},
 {"bom-ref": "b", "purl": "pkg:npm/b@1.0.0", "scope": "optional",
  "properties": [{"name": "cdx:npm:package:development", "value": "true"}]},
 {"bom-ref": "c", "name": "c", "purl": "pkg:pypi/c@1.0", "properties": [{"name": "cdx:poetry:group", "value": "dev"}]},
 {"bom-ref": "d", "name": "d", "purl": "pkg:pypi/d@1.0", "properties": [{"name": "cdx:poetry:group", "value": "dev"}, {"name": "cdx:poetry:group", "value": "main"}]},
 {"bom-ref": "os", "type": "operating-system", "name": "debian"}
]}"#;
        let parsed = parse(text).unwrap();
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.dev,
                    p.optional,
                    p.line,
                    p.license.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("app", false, false, Some(2), None),
                ("a", false, false, Some(4), Some("MIT")),
                ("inner", true, false, Some(5), None),
                ("b", true, true, Some(6), None),
                ("c", true, false, Some(8), None),
                ("d", false, false, Some(9), None),
            ]
        );
        assert_eq!(parsed.notes.len(), 1);
        assert_eq!(parsed.notes[0].line, Some(10));
        assert!(
            parsed.notes[0].message.contains("without a purl"),
            "{:?}",
            parsed.notes
        );
    }

    #[test]
    fn wrong_format_or_version_is_an_error_at_the_key() {
        let err = parse("{\n\"bomFormat\": \"SPDX\", \"specVersion\": \"1.6\"}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 1), "{err:?}");
        let err = parse("{\"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.3\"}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 3), "{err:?}");
        assert!(err.message.contains("1.4, 1.5, 1.6"), "{err:?}");
        let err = parse("{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.5\",\n\"components\": [{\"bom-ref\": \"x\", \"purl\": 7}]}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 16), "{err:?}");
        assert!(
            err.message.starts_with("invalid CycloneDX component"),
            "{err:?}"
        );
    }

    /// Nesting deeper than any stack is an error, found without recursing, and quickly.
    #[test]
    fn deep_nesting_is_an_error_not_a_recursion() {
        let depth = 50_000;
        let text = format!(
            "{{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": [{}{}]}}",
            "{\"purl\": \"pkg:npm/x@1.0.0\", \"components\": [".repeat(depth),
            "]}".repeat(depth)
        );
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("nested more than 32 levels"),
            "{err:?}"
        );
        let nested = |depth: usize| {
            format!(
                "{{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": [{}{}]}}",
                "{\"purl\": \"pkg:npm/x@1.0.0\", \"components\": [".repeat(depth),
                "]}".repeat(depth)
            )
        };
        assert_eq!(
            parse(&nested(MAX_NESTING)).unwrap().packages.len(),
            MAX_NESTING
        );
        assert!(parse(&nested(MAX_NESTING + 1)).is_err());
    }
}

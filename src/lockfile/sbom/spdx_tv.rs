//! SPDX 2.2/2.3 tag-value: `Tag: value` lines, `<text>…</text>` values over several
//! lines. A package runs from its `PackageName:` to the next package, file, snippet or
//! extracted license; its `ExternalRef: <category> purl <locator>` lines give its purls,
//! and `Relationship:` lines anywhere say which packages are only needed for development.
//! A line that is not `Tag: value` is an error, not something to skip.

use std::borrow::Cow;

use super::{Collector, Element, SPDX_VERSIONS, check_version, spdx_subjects_and_dev};
use crate::lockfile::{ParseError, Parsed};

const KIND: &str = "SPDX document";

pub(super) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let mut collector = Collector::new(text, KIND);
    let mut version: Option<(&str, usize)> = None;
    let mut document = "SPDXRef-DOCUMENT";
    let mut packages: Vec<Element<'_>> = Vec::new();
    let mut in_package = false;
    let mut relationships: Vec<(&str, &str, &str)> = Vec::new();
    let mut open_text: Option<usize> = None;

    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        if open_text.is_some() {
            if line.contains("</text>") {
                open_text = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((tag, value)) = trimmed.split_once(':') else {
            return Err(collector.error(
                start + (line.len() - trimmed.len()),
                "expected `Tag: value`",
            ));
        };
        let value_at = start + (line.len() - value.trim_start().len());
        let value = value.trim();
        if value.starts_with("<text>") && !value.contains("</text>") {
            open_text = Some(start);
            continue;
        }
        match tag.trim() {
            "SPDXVersion" => version = Some((value, start)),
            "PackageName" => {
                in_package = true;
                packages.push(Element {
                    name: Some(Cow::Borrowed(value)),
                    offset: start,
                    ..Element::default()
                });
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => in_package = false,
            "SPDXID" if packages.is_empty() => document = value,
            "SPDXID" if in_package => {
                if let Some(p) = packages.last_mut() {
                    p.id = Some(Cow::Borrowed(value));
                }
            }
            "PackageLicenseDeclared" if in_package => {
                if let Some(p) = packages.last_mut()
                    && !matches!(value, "NOASSERTION" | "NONE" | "")
                {
                    p.license = Some(value.to_string());
                }
            }
            "ExternalRef" if in_package => {
                let mut fields = value.split_whitespace();
                let (_category, kind) = (fields.next(), fields.next());
                if kind.is_some_and(|k| k.eq_ignore_ascii_case("purl"))
                    && let Some(locator) = fields.next()
                    && let Some(p) = packages.last_mut()
                {
                    let at = value_at + value.find(locator).unwrap_or(0);
                    p.purls.push((Cow::Borrowed(locator), at));
                }
            }
            "Relationship" => {
                let mut fields = value.split_whitespace();
                if let (Some(a), Some(kind), Some(b)) =
                    (fields.next(), fields.next(), fields.next())
                {
                    relationships.push((a, kind, b));
                }
            }
            _ => {}
        }
    }
    if let Some(start) = open_text {
        return Err(collector.error(start, "a <text> value is never closed with </text>"));
    }
    check_version(
        version.map(|v| v.0),
        "SPDXVersion",
        SPDX_VERSIONS,
        "an SPDX document",
    )
    .map_err(|why| collector.error(version.map_or(0, |v| v.1), why))?;

    let (subjects, dev) =
        spdx_subjects_and_dev(document, std::iter::empty(), relationships.iter().copied());
    for mut element in packages {
        let id = element.id.as_deref();
        element.dev = id.is_some_and(|id| dev.contains(id));
        element.subject = id.is_some_and(|id| subjects.contains(id));
        collector.add(element)?;
    }
    collector.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentComment: <text>several
lines: PackageName: not-a-package
</text>

PackageName: app
SPDXID: SPDXRef-root
ExternalRef: PACKAGE-MANAGER purl pkg:npm/app@1.0.0

PackageName: tool
SPDXID: SPDXRef-tool
PackageLicenseDeclared: MIT
ExternalRef: PACKAGE-MANAGER purl pkg:npm/tool@2.0.0
ExternalRef: SECURITY cpe23Type cpe:2.3:a:x:tool:2.0.0

FileName: ./index.js
SPDXID: SPDXRef-file
ExternalRef: PACKAGE-MANAGER purl pkg:npm/not-a-package-either@1.0.0

Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-root
Relationship: SPDXRef-tool DEV_DEPENDENCY_OF SPDXRef-root
";

    #[test]
    fn packages_purls_text_blocks_and_dev() {
        let parsed = parse(DOC).unwrap();
        assert_eq!(
            super::super::summary(&parsed),
            [
                ("app", false, Some(8), None),
                ("tool", true, Some(12), Some("MIT"))
            ]
        );
    }

    #[test]
    fn errors_have_lines_and_columns() {
        let bad = DOC.replace("pkg:npm/tool@2.0.0", "pkg:npm/%80@2");
        let err = parse(&bad).unwrap_err();
        assert_eq!((err.line, err.column), (15, 35), "{err:?}");
        assert!(
            err.message
                .starts_with("SPDXRef-tool (tool): purl `pkg:npm/%80@2`"),
            "{err:?}"
        );

        let err = parse("SPDXVersion: SPDX-2.3\n  garbage line\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 3), "{err:?}");
        let err = parse("SPDXVersion: SPDX-2.3\nPackageComment: <text>never closed\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        let err = parse("DataLicense: CC0-1.0\nSPDXVersion: SPDX-2.1\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        let err = parse("DataLicense: CC0-1.0\n").unwrap_err();
        assert!(err.message.contains("no SPDXVersion"), "{err:?}");
    }
}

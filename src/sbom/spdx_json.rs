//! SPDX 2.3 JSON.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Component, DOCUMENT_ID, Sbom};

/// `documentNamespace`: unique per content, stable for the same content.
pub fn namespace(sbom: &Sbom) -> String {
    let slug: String = sbom
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "https://spdx.org/spdxdocs/vouch/{slug}-{}",
        sbom.content_hash()
    )
}

pub fn creator() -> String {
    format!("Tool: vouch-{}", env!("CARGO_PKG_VERSION"))
}

pub fn write(sbom: &Sbom, out: &mut dyn Write) -> io::Result<()> {
    let packages: Vec<Value> = sbom.all_components().map(package).collect();
    let relationships: Vec<Value> = sbom
        .relationships
        .iter()
        .map(|r| {
            json!({
                "spdxElementId": r.from,
                "relationshipType": r.kind.spdx_name(),
                "relatedSpdxElement": r.to,
            })
        })
        .collect();
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": DOCUMENT_ID,
        "name": sbom.name,
        "documentNamespace": namespace(sbom),
        "creationInfo": {
            "created": sbom.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "creators": [creator()],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !sbom.extracted_licenses.is_empty() {
        doc["hasExtractedLicensingInfos"] = sbom
            .extracted_licenses
            .iter()
            .map(|(id, text)| json!({"licenseId": id, "extractedText": text, "name": text}))
            .collect();
    }
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn package(c: &Component) -> Value {
    let mut p = json!({
        "SPDXID": c.id,
        "name": c.name,
        "versionInfo": c.version.as_deref().unwrap_or("NOASSERTION"),
        "supplier": c.supplier.as_deref().unwrap_or("NOASSERTION"),
        "downloadLocation": c.download_location.as_deref().unwrap_or("NOASSERTION"),
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": c.license.spdx_value(),
        "copyrightText": "NOASSERTION",
    });
    if !c.checksums.is_empty() {
        p["checksums"] = c
            .checksums
            .iter()
            .map(|s| json!({"algorithm": s.algorithm.spdx_name(), "checksumValue": s.hex}))
            .collect();
    }
    if let Some(purl) = &c.purl {
        p["externalRefs"] = json!([{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": purl,
        }]);
    }
    p
}

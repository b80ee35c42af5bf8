//! SPDX 2.3 JSON.
//!
//! Written straight from the model through serialize-only wire types, never through an
//! in-memory JSON tree: a tree of a 1,300-package document costs more than the rest of
//! `vouch sbom` together. The fields of each type are declared in byte order of their
//! names, which is the order the document has always had (serde_json's sorted maps), so
//! the bytes are the same; a test re-sorts a written document and compares.

use std::io::{self, Write};

use serde::Serialize;

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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    creation_info: CreationInfo,
    data_license: &'a str,
    document_namespace: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense<'a>>,
    name: &'a str,
    packages: Vec<Package<'a>>,
    relationships: Vec<Relationship<'a>>,
    spdx_version: &'a str,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: [String; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense<'a> {
    extracted_text: &'a str,
    license_id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum<'a>>,
    copyright_text: &'a str,
    download_location: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_refs: Option<[ExternalRef<'a>; 1]>,
    files_analyzed: bool,
    license_concluded: &'a str,
    license_declared: &'a str,
    name: &'a str,
    supplier: &'a str,
    version_info: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum<'a> {
    algorithm: &'a str,
    checksum_value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'a str,
    reference_locator: &'a str,
    reference_type: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship<'a> {
    related_spdx_element: &'a str,
    relationship_type: &'a str,
    spdx_element_id: &'a str,
}

pub fn write(sbom: &Sbom, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        spdx_id: DOCUMENT_ID,
        creation_info: CreationInfo {
            created: sbom.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            creators: [creator()],
        },
        data_license: "CC0-1.0",
        document_namespace: namespace(sbom),
        has_extracted_licensing_infos: sbom
            .extracted_licenses
            .iter()
            .map(|(id, text)| ExtractedLicense {
                extracted_text: text,
                license_id: id,
                name: text,
            })
            .collect(),
        name: &sbom.name,
        packages: sbom.all_components().map(package).collect(),
        relationships: sbom
            .relationships
            .iter()
            .map(|r| Relationship {
                related_spdx_element: &r.to,
                relationship_type: r.kind.spdx_name(),
                spdx_element_id: &r.from,
            })
            .collect(),
        spdx_version: "SPDX-2.3",
    };
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    out.flush()
}

fn package(c: &Component) -> Package<'_> {
    Package {
        spdx_id: &c.id,
        checksums: c
            .checksums
            .iter()
            .map(|s| Checksum {
                algorithm: s.algorithm.spdx_name(),
                checksum_value: &s.hex,
            })
            .collect(),
        copyright_text: "NOASSERTION",
        download_location: c.download_location.as_deref().unwrap_or("NOASSERTION"),
        external_refs: c.purl.as_deref().map(|purl| {
            [ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_locator: purl,
                reference_type: "purl",
            }]
        }),
        files_analyzed: false,
        license_concluded: "NOASSERTION",
        license_declared: c.license.spdx_value(),
        name: &c.name,
        supplier: c.supplier.as_deref().unwrap_or("NOASSERTION"),
        version_info: c.version.as_deref().unwrap_or("NOASSERTION"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::tests::full_sample;

    /// The wire types keep the bytes the document had when it was a serde_json tree
    /// (sorted keys, serde_json's pretty format): parsed and written again as a tree, a
    /// document is unchanged.
    #[test]
    fn fields_are_written_in_sorted_order_as_before() {
        let mut bytes = Vec::new();
        write(&full_sample(), &mut bytes).unwrap();
        let tree = crate::sbom::tests::assert_written_as_a_sorted_tree(&bytes);
        for key in [
            "checksums",
            "externalRefs",
            "hasExtractedLicensingInfos",
            "NOASSERTION",
        ] {
            assert!(tree.to_string().contains(key), "{key}");
        }
    }
}

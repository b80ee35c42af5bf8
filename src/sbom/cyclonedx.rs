//! CycloneDX 1.6 JSON.
//!
//! Written straight from the model through serialize-only wire types (no JSON tree), with
//! the fields of each type declared in byte order of their names: the order the document
//! has always had (serde_json's sorted maps), so the bytes are the same.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{Component, License, RelationshipKind, Sbom};
use crate::package::HashAlgorithm;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    bom_format: &'a str,
    components: Vec<CdxComponent<'a>>,
    dependencies: Vec<Dependency<'a>>,
    metadata: Metadata<'a>,
    serial_number: String,
    spec_version: &'a str,
    version: u32,
}

#[derive(Serialize)]
struct Metadata<'a> {
    component: CdxComponent<'a>,
    timestamp: String,
    tools: Tools<'a>,
}

#[derive(Serialize)]
struct Tools<'a> {
    components: [Tool<'a>; 1],
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency<'a> {
    depends_on: Vec<&'a str>,
    #[serde(rename = "ref")]
    reference: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CdxComponent<'a> {
    #[serde(rename = "bom-ref")]
    bom_ref: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_references: Option<[ExternalReference<'a>; 1]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    licenses: Option<[CdxLicense<'a>; 1]>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Named<'a>>,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
}

#[derive(Serialize)]
struct ExternalReference<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct Hash<'a> {
    alg: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum CdxLicense<'a> {
    Expression { expression: &'a str },
    Named { license: Named<'a> },
}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

pub fn write(sbom: &Sbom, out: &mut dyn Write) -> io::Result<()> {
    let hash = sbom.content_hash();
    // A UUID (version 5-shaped) from the content hash: stable for the same content.
    let serial = format!(
        "urn:uuid:{}-{}-5{}-8{}-{}",
        &hash[0..8],
        &hash[8..12],
        &hash[13..16],
        &hash[17..20],
        &hash[20..32]
    );
    let mut depends: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in sbom.all_components() {
        depends.entry(c.id.as_str()).or_default();
    }
    for r in &sbom.relationships {
        match r.kind {
            RelationshipKind::DependsOn => depends.entry(&r.from).or_default().push(&r.to),
            RelationshipKind::DevDependencyOf => depends.entry(&r.to).or_default().push(&r.from),
            RelationshipKind::Describes => {}
        }
    }
    let dependencies = depends
        .into_iter()
        .map(|(reference, mut depends_on)| {
            depends_on.sort_unstable();
            depends_on.dedup();
            Dependency {
                depends_on,
                reference,
            }
        })
        .collect();
    let doc = Document {
        bom_format: "CycloneDX",
        components: sbom
            .components
            .iter()
            .map(|c| component(c, "library"))
            .collect(),
        dependencies,
        metadata: Metadata {
            component: component(&sbom.root, "application"),
            timestamp: sbom.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            tools: Tools {
                components: [Tool {
                    name: "vouch",
                    kind: "application",
                    version: env!("CARGO_PKG_VERSION"),
                }],
            },
        },
        serial_number: serial,
        spec_version: "1.6",
        version: 1,
    };
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    out.flush()
}

fn component<'a>(c: &'a Component, kind: &'a str) -> CdxComponent<'a> {
    CdxComponent {
        bom_ref: &c.id,
        external_references: c.download_location.as_deref().map(|url| {
            [ExternalReference {
                kind: "vcs",
                url: url.trim_start_matches("git+"),
            }]
        }),
        hashes: c
            .checksums
            .iter()
            .map(|s| Hash {
                alg: match s.algorithm {
                    HashAlgorithm::Sha1 => "SHA-1",
                    HashAlgorithm::Sha256 => "SHA-256",
                    HashAlgorithm::Sha384 => "SHA-384",
                    HashAlgorithm::Sha512 => "SHA-512",
                },
                content: &s.hex,
            })
            .collect(),
        licenses: match &c.license {
            License::Spdx(expression) => Some([CdxLicense::Expression { expression }]),
            License::Other { text, .. } => Some([CdxLicense::Named {
                license: Named { name: text },
            }]),
            License::Unknown => None,
        },
        name: &c.name,
        purl: c.purl.as_deref(),
        supplier: c.supplier.as_deref().map(|supplier| Named {
            name: supplier.split_once(": ").map_or(supplier, |(_, name)| name),
        }),
        kind,
        version: c.version.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As for SPDX: the bytes of a document written as a sorted serde_json tree.
    #[test]
    fn fields_are_written_in_sorted_order_as_before() {
        let mut bytes = Vec::new();
        write(&crate::sbom::tests::full_sample(), &mut bytes).unwrap();
        let tree = crate::sbom::tests::assert_written_as_a_sorted_tree(&bytes);
        for key in [
            "externalReferences",
            "hashes",
            "expression",
            "\"license\"",
            "supplier",
        ] {
            assert!(tree.to_string().contains(key), "{key}");
        }
    }
}

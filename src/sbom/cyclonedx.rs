//! CycloneDX 1.6 JSON.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Component, License, RelationshipKind, Sbom};
use crate::package::HashAlgorithm;

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
    let dependencies: Vec<Value> = depends
        .into_iter()
        .map(|(r, mut on)| {
            on.sort_unstable();
            on.dedup();
            json!({"ref": r, "dependsOn": on})
        })
        .collect();
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": sbom.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "tools": {"components": [{"type": "application", "name": "vouch", "version": env!("CARGO_PKG_VERSION")}]},
            "component": component(&sbom.root, "application"),
        },
        "components": sbom.components.iter().map(|c| component(c, "library")).collect::<Vec<_>>(),
        "dependencies": dependencies,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn component(c: &Component, kind: &str) -> Value {
    let mut v = json!({"type": kind, "bom-ref": c.id, "name": c.name});
    if let Some(version) = &c.version {
        v["version"] = json!(version);
    }
    if let Some(purl) = &c.purl {
        v["purl"] = json!(purl);
    }
    if let Some(supplier) = &c.supplier {
        let name = supplier
            .split_once(": ")
            .map_or(supplier.as_str(), |(_, n)| n);
        v["supplier"] = json!({"name": name});
    }
    if !c.checksums.is_empty() {
        v["hashes"] = c
            .checksums
            .iter()
            .map(|s| {
                let alg = match s.algorithm {
                    HashAlgorithm::Sha1 => "SHA-1",
                    HashAlgorithm::Sha256 => "SHA-256",
                    HashAlgorithm::Sha384 => "SHA-384",
                    HashAlgorithm::Sha512 => "SHA-512",
                };
                json!({"alg": alg, "content": s.hex})
            })
            .collect();
    }
    match &c.license {
        License::Spdx(expr) => v["licenses"] = json!([{"expression": expr}]),
        License::Other { text, .. } => v["licenses"] = json!([{"license": {"name": text}}]),
        License::Unknown => {}
    }
    if let Some(url) = &c.download_location {
        v["externalReferences"] = json!([{"type": "vcs", "url": url.trim_start_matches("git+")}]);
    }
    v
}

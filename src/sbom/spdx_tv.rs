//! SPDX 2.3 tag-value.

use std::io::{self, Write};

use super::{DOCUMENT_ID, Sbom, spdx_json};

pub fn write(sbom: &Sbom, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "SPDXVersion: SPDX-2.3")?;
    writeln!(out, "DataLicense: CC0-1.0")?;
    writeln!(out, "SPDXID: {DOCUMENT_ID}")?;
    writeln!(out, "DocumentName: {}", one_line(&sbom.name))?;
    writeln!(out, "DocumentNamespace: {}", spdx_json::namespace(sbom))?;
    writeln!(out, "Creator: {}", spdx_json::creator())?;
    writeln!(
        out,
        "Created: {}",
        sbom.created.strftime("%Y-%m-%dT%H:%M:%SZ")
    )?;
    for c in sbom.all_components() {
        writeln!(out)?;
        writeln!(out, "PackageName: {}", one_line(&c.name))?;
        writeln!(out, "SPDXID: {}", c.id)?;
        writeln!(
            out,
            "PackageVersion: {}",
            one_line(c.version.as_deref().unwrap_or("NOASSERTION"))
        )?;
        writeln!(
            out,
            "PackageSupplier: {}",
            one_line(c.supplier.as_deref().unwrap_or("NOASSERTION"))
        )?;
        writeln!(
            out,
            "PackageDownloadLocation: {}",
            c.download_location.as_deref().unwrap_or("NOASSERTION")
        )?;
        writeln!(out, "FilesAnalyzed: false")?;
        for s in &c.checksums {
            writeln!(
                out,
                "PackageChecksum: {}: {}",
                s.algorithm.spdx_name(),
                s.hex
            )?;
        }
        writeln!(out, "PackageLicenseConcluded: NOASSERTION")?;
        writeln!(out, "PackageLicenseDeclared: {}", c.license.spdx_value())?;
        writeln!(out, "PackageCopyrightText: NOASSERTION")?;
        if let Some(purl) = &c.purl {
            writeln!(out, "ExternalRef: PACKAGE-MANAGER purl {purl}")?;
        }
    }
    writeln!(out)?;
    for r in &sbom.relationships {
        writeln!(
            out,
            "Relationship: {} {} {}",
            r.from,
            r.kind.spdx_name(),
            r.to
        )?;
    }
    for (id, text) in &sbom.extracted_licenses {
        writeln!(out)?;
        writeln!(out, "LicenseID: {id}")?;
        writeln!(
            out,
            "ExtractedText: <text>{}</text>",
            text.replace("</text>", "&lt;/text&gt;")
        )?;
        writeln!(out, "LicenseName: {}", one_line(text))?;
    }
    Ok(())
}

/// Tag-value values are one line each.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

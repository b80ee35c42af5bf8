//! What is attached to an image, as found and before anything is judged: cosign's
//! `sha256-<hex>.sig` and `.att` tags, and the image's OCI 1.1 referrers (the referrers
//! API, else the `sha256-<hex>` fallback tag) that are Sigstore bundles or cosign
//! signature/attestation manifests.
//!
//! A referrer is used only if its own manifest, fetched by digest, names the image as its
//! subject; at most [`MAX_REFERRERS`] are read.

use super::Error;
use super::oci::{Descriptor, ImageIndex, ImageManifest};
use super::registry::{Client, Digest};

/// The artifact types of Sigstore bundles attached as referrers start with this.
pub const BUNDLE_ARTIFACT_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// The artifact type of a cosign signature manifest attached as a referrer.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// The artifact type of a cosign attestation manifest attached as a referrer.
pub const ATTESTATION_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.att.v1+json";
/// The OCI empty descriptor's media type.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// At most this many referrers are read (each costs two requests).
pub const MAX_REFERRERS: usize = 32;

/// Everything attached to the image, as found (nothing judged yet).
pub(super) struct Material {
    /// `sha256-<hex>.sig`, if the registry has it.
    pub(super) sig_tag: Option<ImageManifest>,
    /// `sha256-<hex>.att`, if the registry has it.
    pub(super) att_tag: Option<ImageManifest>,
    /// Referrers that are cosign signature manifests.
    pub(super) sig_referrers: Vec<ImageManifest>,
    /// Referrers that are cosign attestation manifests.
    pub(super) att_referrers: Vec<ImageManifest>,
    /// Referrers that are Sigstore bundles: (referrer manifest digest, manifest).
    pub(super) bundles: Vec<(String, ImageManifest)>,
    /// Referrers that could not be used, and why (reported with the signatures).
    pub(super) unusable: Vec<(String, String)>,
}

impl Material {
    pub(super) fn fetch(
        client: &Client,
        digest: &Digest,
        attestations: bool,
    ) -> Result<Material, Error> {
        let mut material = Material {
            sig_tag: fetch_attached(client, digest, "sig", "signature")?,
            // The `.att` tag is read only when attestations are asked for.
            att_tag: if attestations {
                fetch_attached(client, digest, "att", "attestation")?
            } else {
                None
            },
            sig_referrers: Vec::new(),
            att_referrers: Vec::new(),
            bundles: Vec::new(),
            unusable: Vec::new(),
        };
        let Some(index) = referrers(client, digest)? else {
            return Ok(material);
        };
        // Referrers that declare a signature type first, then those that declare none or
        // the empty type (cosign 2.5 writes its config's `application/vnd.oci.empty.v1+json`
        // into the fallback index), whose manifests say what they are. Others (SBOMs,
        // scans...) are not read.
        let declared = |d: &Descriptor| d.artifact_type.clone().unwrap_or_default();
        let is_wanted = |t: &str| {
            t.starts_with(BUNDLE_ARTIFACT_PREFIX)
                || t == SIGNATURE_ARTIFACT_TYPE
                || t == ATTESTATION_ARTIFACT_TYPE
        };
        let (mut candidates, unknown): (Vec<Descriptor>, Vec<Descriptor>) = index
            .manifests
            .into_iter()
            .filter(|d| {
                let t = declared(d);
                is_wanted(&t) || t.is_empty() || t == EMPTY_MEDIA_TYPE
            })
            .partition(|d| is_wanted(&declared(d)));
        candidates.extend(unknown);
        if candidates.len() > MAX_REFERRERS {
            material.unusable.push((
                format!("{} referrers", candidates.len()),
                format!("more than {MAX_REFERRERS}; the rest are not read"),
            ));
            candidates.truncate(MAX_REFERRERS);
        }
        for desc in candidates {
            let Some(manifest) = client.manifest(&desc.digest)? else {
                material.unusable.push((
                    desc.digest.clone(),
                    "listed, but not in the registry".into(),
                ));
                continue;
            };
            let parsed = match ImageManifest::parse(&manifest.bytes) {
                Ok(m) => m,
                Err(e) => {
                    material
                        .unusable
                        .push((desc.digest.clone(), format!("not an image manifest: {e}")));
                    continue;
                }
            };
            // A referrer listed for this image must say so itself.
            if parsed.subject.as_ref().map(|s| s.digest.as_str()) != Some(&digest.to_string()) {
                material
                    .unusable
                    .push((desc.digest.clone(), format!("its subject is not {digest}")));
                continue;
            }
            let manifest_type = parsed.declared_artifact_type().unwrap_or_default();
            if manifest_type.starts_with(BUNDLE_ARTIFACT_PREFIX) {
                material.bundles.push((desc.digest.clone(), parsed));
            } else if manifest_type == SIGNATURE_ARTIFACT_TYPE {
                material.sig_referrers.push(parsed);
            } else if manifest_type == ATTESTATION_ARTIFACT_TYPE {
                material.att_referrers.push(parsed);
            } else if is_wanted(&declared(&desc)) {
                material.unusable.push((
                    desc.digest.clone(),
                    format!(
                        "the index says {:?}, the manifest {manifest_type:?}",
                        declared(&desc)
                    ),
                ));
            }
        }
        Ok(material)
    }

    /// Anything that claims to sign the image (a referrer that turned out unusable, such
    /// as one replayed from another image, counts: it is reported as invalid).
    pub(super) fn any_signature_material(&self) -> bool {
        self.sig_tag.is_some()
            || !self.sig_referrers.is_empty()
            || !self.bundles.is_empty()
            || !self.unusable.is_empty()
    }

    pub(super) fn any_attestation_material(&self) -> bool {
        self.att_tag.is_some() || !self.att_referrers.is_empty() || !self.bundles.is_empty()
    }
}

/// Fetches `sha256-<hex>.<suffix>`; `None` if the registry has no such tag.
fn fetch_attached(
    client: &Client,
    digest: &Digest,
    suffix: &str,
    what: &'static str,
) -> Result<Option<ImageManifest>, Error> {
    let tag = format!("sha256-{}.{suffix}", digest.hex());
    let Some(manifest) = client.manifest(&tag)? else {
        return Ok(None);
    };
    ImageManifest::parse(&manifest.bytes)
        .map(Some)
        .map_err(|e| Error::BadManifest {
            what,
            url: format!("{}/…/manifests/{tag}", client.base()),
            why: e.to_string(),
        })
}

/// The image's referrers: the OCI 1.1 API, else the `sha256-<hex>` fallback tag.
fn referrers(client: &Client, digest: &Digest) -> Result<Option<ImageIndex>, Error> {
    let (bytes, url) = match client.referrers(digest)? {
        Some(bytes) => (bytes, format!("{}/…/referrers/{digest}", client.base())),
        None => {
            let tag = format!("sha256-{}", digest.hex());
            match client.manifest(&tag)? {
                Some(m) => (m.bytes, format!("{}/…/manifests/{tag}", client.base())),
                None => return Ok(None),
            }
        }
    };
    ImageIndex::parse(&bytes)
        .map(Some)
        .map_err(|e| Error::BadManifest {
            what: "referrers",
            url,
            why: e.to_string(),
        })
}

//! `vouch.toml`: what the gate checks and how strictly.
//!
//! Parsed strictly in two steps (as cargo-deny does): serde with `deny_unknown_fields`
//! everywhere rejects unknown keys and wrong types at their line and column, then
//! validation turns the raw values into a [`Policy`] whose every field is meaningful,
//! again reporting the offending value's position. A policy that does not parse is an
//! error, never a default.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::advisory::{Informational, Severity};
use crate::lockfile::offset_to_line_column;
use crate::package::Ecosystem;

/// The policy file looked for when `--policy` is not given.
pub const DEFAULT_FILE_NAME: &str = "vouch.toml";

const MAX_POLICY_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// What to do about something: report it, or fail the gate on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Warn,
    Deny,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub path: PathBuf,
    pub audit: Option<AuditPolicy>,
    pub waivers: WaiverPolicy,
    pub licenses: Option<LicensePolicy>,
    pub sbom: Option<SbomPolicy>,
    pub images: Vec<ImagePolicy>,
    pub blobs: Vec<BlobPolicy>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditPolicy {
    /// Lockfiles or directories, relative to the policy file's directory.
    pub paths: Vec<PathBuf>,
    /// Only these ecosystems are audited (all when empty).
    pub ecosystems: Vec<Ecosystem>,
    pub fail_on: Option<Severity>,
    pub unscored: Action,
    pub deny: Vec<Informational>,
    /// `deny = ["warnings"]`: every warning fails (cargo-audit's `--deny warnings`).
    pub deny_warnings: bool,
    pub exclude_dev: bool,
    pub ignore_unfixed: bool,
    /// The gate fails when the advisory database is older than this (or of unknown age).
    pub db_max_age_seconds: Option<i64>,
    /// Advisory database directory, relative to the policy file's directory.
    pub db: Option<PathBuf>,
    /// OSV database directory, relative to the policy file's directory.
    pub osv: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WaiverPolicy {
    pub file: Option<PathBuf>,
    /// An expiry further ahead than this many days is itself a failing finding.
    pub max_days: Option<i64>,
    pub unused: Action,
    pub expiring_soon_days: i64,
}

impl Default for WaiverPolicy {
    fn default() -> Self {
        WaiverPolicy {
            file: None,
            max_days: None,
            unused: Action::Warn,
            expiring_soon_days: 14,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LicensePolicy {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// Packages whose license is unknown (NOASSERTION).
    pub unknown: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SbomPolicy {
    pub format: String,
    pub output: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImagePolicy {
    pub reference: String,
    pub keys: Vec<PathBuf>,
    pub identity: Option<String>,
    pub identity_regexp: Option<String>,
    pub issuer: Option<String>,
    pub issuer_regexp: Option<String>,
    /// The structured keyless claims (`github-workflow`, `ref`, `repository`,
    /// `certificate-extensions`).
    pub claims: KeylessClaims,
    pub trusted_root: Option<PathBuf>,
    pub attestations: Vec<String>,
    pub threshold: usize,
    pub require_digest: bool,
    /// `vouch check --image` must name this entry's repository: an entry left out fails
    /// the gate (without it, it is reported as not verified and the gate goes on).
    pub required: bool,
    /// Keyed signatures count without a verified transparency-log entry (cosign's
    /// `--insecure-ignore-tlog`); every report shows the check as weakened.
    pub ignore_tlog: bool,
    /// `provenance = { builder-id = ..., ... }`: what a verified SLSA provenance
    /// attestation of the image must say.
    pub provenance: Option<crate::verify::provenance::Requirements>,
    /// `audit-sbom = true`: the SBOM of the image's verified SBOM attestation is audited
    /// under `[audit]`'s settings and waivers; no verified SBOM attestation fails.
    pub audit_sbom: bool,
}

/// A `[[blob]]`: a release file and the Sigstore bundle that must sign it, checked as
/// `vouch verify-blob` does. Paths are resolved against the policy file's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobPolicy {
    pub path: PathBuf,
    pub bundle: PathBuf,
    pub key: Option<PathBuf>,
    pub identity: Option<String>,
    pub identity_regexp: Option<String>,
    pub issuer: Option<String>,
    pub issuer_regexp: Option<String>,
    /// As [`ImagePolicy::claims`].
    pub claims: KeylessClaims,
    pub trusted_root: Option<PathBuf>,
    /// As [`ImagePolicy::ignore_tlog`].
    pub ignore_tlog: bool,
}

/// The structured keyless settings of an `[[image]]` or `[[blob]]`, validated: a
/// `github-workflow` that parses (it derives the identity and the issuer, so the entry has
/// neither), a `ref` glob, a `repository` as `OWNER/REPO`, extensions the table knows
/// ([`crate::verify::claims::EXTENSIONS`]). They refine a keyless identity, never
/// replace one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeylessClaims {
    pub github_workflow: Option<String>,
    pub source_ref: Option<String>,
    pub repository: Option<String>,
    /// (name, exact value), in name order.
    pub extensions: Vec<(String, String)>,
}

/// The keyless policy of an entry: the identity options and the claims.
fn keyless_policy(
    identity: &Option<String>,
    identity_regexp: &Option<String>,
    issuer: &Option<String>,
    issuer_regexp: &Option<String>,
    claims: &KeylessClaims,
) -> crate::verify::KeylessPolicy {
    crate::verify::KeylessPolicy {
        identity: identity.clone(),
        identity_regexp: identity_regexp.clone(),
        oidc_issuer: issuer.clone(),
        oidc_issuer_regexp: issuer_regexp.clone(),
        github_workflow: claims.github_workflow.clone(),
        source_ref: claims.source_ref.clone(),
        repository: claims.repository.clone(),
        extensions: claims.extensions.clone(),
        ..crate::verify::KeylessPolicy::default()
    }
}

impl ImagePolicy {
    /// What `vouch verify` would be given for this entry's keyless settings.
    pub fn keyless(&self) -> crate::verify::KeylessPolicy {
        keyless_policy(
            &self.identity,
            &self.identity_regexp,
            &self.issuer,
            &self.issuer_regexp,
            &self.claims,
        )
    }
}

impl BlobPolicy {
    /// As [`ImagePolicy::keyless`].
    pub fn keyless(&self) -> crate::verify::KeylessPolicy {
        keyless_policy(
            &self.identity,
            &self.identity_regexp,
            &self.issuer,
            &self.issuer_regexp,
            &self.claims,
        )
    }
}

// ---- raw, as written --------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    audit: Option<RawAudit>,
    waivers: Option<RawWaivers>,
    licenses: Option<RawLicenses>,
    sbom: Option<RawSbom>,
    #[serde(default)]
    image: Vec<RawImage>,
    #[serde(default)]
    blob: Vec<RawBlob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAudit {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    ecosystems: Vec<Spanned<String>>,
    fail_on: Option<Spanned<String>>,
    unscored: Option<Action>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    #[serde(default)]
    exclude_dev: bool,
    #[serde(default)]
    ignore_unfixed: bool,
    db_max_age: Option<Spanned<String>>,
    db: Option<String>,
    osv: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawWaivers {
    file: Option<String>,
    max_days: Option<Spanned<i64>>,
    unused: Option<Action>,
    expiring_soon_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLicenses {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    unknown: Option<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSbom {
    format: Option<Spanned<String>>,
    output: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawImage {
    reference: Spanned<String>,
    #[serde(default)]
    key: Vec<String>,
    certificate_identity: Option<String>,
    certificate_identity_regexp: Option<String>,
    certificate_oidc_issuer: Option<String>,
    certificate_oidc_issuer_regexp: Option<String>,
    github_workflow: Option<Spanned<String>>,
    #[serde(rename = "ref")]
    source_ref: Option<Spanned<String>>,
    repository: Option<Spanned<String>>,
    certificate_extensions: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    trusted_root: Option<String>,
    #[serde(default)]
    attestations: Vec<String>,
    threshold: Option<Spanned<i64>>,
    #[serde(default)]
    require_digest: bool,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    ignore_tlog: bool,
    provenance: Option<Spanned<RawProvenance>>,
    #[serde(default)]
    audit_sbom: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProvenance {
    builder_id: Option<Spanned<String>>,
    source_repository: Option<Spanned<String>>,
    source_ref: Option<Spanned<String>>,
    build_type: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBlob {
    path: Spanned<String>,
    bundle: String,
    key: Option<String>,
    certificate_identity: Option<String>,
    certificate_identity_regexp: Option<String>,
    certificate_oidc_issuer: Option<String>,
    certificate_oidc_issuer_regexp: Option<String>,
    github_workflow: Option<Spanned<String>>,
    #[serde(rename = "ref")]
    source_ref: Option<Spanned<String>>,
    repository: Option<Spanned<String>>,
    certificate_extensions: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    trusted_root: Option<String>,
    #[serde(default)]
    ignore_tlog: bool,
}

/// Whether the key and keyless settings of an entry make one policy: a key, or an identity
/// with an issuer, never both (the keyless part would silently not be checked).
/// `github-workflow` counts as an identity with its issuer.
fn signer_settings(
    what: &str,
    has_key: bool,
    identity: bool,
    issuer: bool,
    github_workflow: bool,
) -> Result<(), String> {
    if has_key && (identity || issuer || github_workflow) {
        return Err(format!(
            "a {what} takes `key` or `certificate-identity`/`certificate-oidc-issuer`/`github-workflow`, not both"
        ));
    }
    if !has_key && !identity && !github_workflow {
        return Err(format!(
            "a {what} needs `key`, `github-workflow`, or `certificate-identity`/`certificate-identity-regexp`"
        ));
    }
    if !github_workflow && identity != issuer {
        return Err("keyless verification needs both an identity and an OIDC issuer".into());
    }
    Ok(())
}

/// The structured keyless settings as written.
struct RawClaims {
    github_workflow: Option<Spanned<String>>,
    source_ref: Option<Spanned<String>>,
    repository: Option<Spanned<String>>,
    extensions: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
}

/// Validates the structured settings of an entry with these identity settings; an error
/// is (offset, message), at the value at fault.
fn claim_settings(
    what: &str,
    has_key: bool,
    identity: bool,
    issuer: bool,
    raw: RawClaims,
) -> Result<KeylessClaims, (usize, String)> {
    use crate::verify::claims;
    let named = [
        (
            "github-workflow",
            raw.github_workflow.as_ref().map(|v| v.span().start),
        ),
        ("ref", raw.source_ref.as_ref().map(|v| v.span().start)),
        (
            "repository",
            raw.repository.as_ref().map(|v| v.span().start),
        ),
        (
            "certificate-extensions",
            raw.extensions.as_ref().map(|v| v.span().start),
        ),
    ];
    if has_key && let Some((key, Some(at))) = named.iter().find(|(_, at)| at.is_some()) {
        return Err((
            *at,
            format!("`{key}` is a certificate claim: a {what} with a `key` has no certificate"),
        ));
    }
    let mut out = KeylessClaims::default();
    if let Some(w) = &raw.github_workflow {
        let at = w.span().start;
        if identity {
            return Err((
                at,
                "`github-workflow` derives the identity (https://github.com/OWNER/REPO/.github/workflows/FILE.yml@REF): give it or `certificate-identity`/`certificate-identity-regexp`, not both".into(),
            ));
        }
        if issuer {
            return Err((
                at,
                format!(
                    "`github-workflow` derives the issuer ({}): drop `certificate-oidc-issuer`/`certificate-oidc-issuer-regexp`",
                    claims::GITHUB_ISSUER
                ),
            ));
        }
        claims::GitHubWorkflow::parse(w.get_ref()).map_err(|e| (at, e))?;
        out.github_workflow = Some(w.get_ref().clone());
    }
    if let Some(r) = &raw.source_ref {
        if r.get_ref().is_empty() {
            return Err((r.span().start, "`ref` is empty".into()));
        }
        out.source_ref = Some(r.get_ref().clone());
    }
    if let Some(r) = &raw.repository {
        claims::parse_repository(r.get_ref()).map_err(|e| (r.span().start, e))?;
        out.repository = Some(r.get_ref().clone());
    }
    if let Some(table) = &raw.extensions {
        if table.get_ref().is_empty() {
            return Err((
                table.span().start,
                "`certificate-extensions` is empty (name extensions and their values, e.g. { runner-environment = \"github-hosted\" })".into(),
            ));
        }
        for (name, value) in table.get_ref() {
            claims::extension(name.get_ref()).map_err(|e| (name.span().start, e))?;
            if value.get_ref().is_empty() {
                return Err((value.span().start, format!("`{}` is empty", name.get_ref())));
            }
            out.extensions
                .push((name.get_ref().clone(), value.get_ref().clone()));
        }
    }
    // Claims narrow an identity: alone they would accept any signer that has them.
    if !has_key
        && !identity
        && out.github_workflow.is_none()
        && let Some((key, Some(at))) = named.iter().find(|(_, at)| at.is_some())
    {
        return Err((
            *at,
            format!(
                "`{key}` narrows a keyless identity: give `github-workflow` (or `certificate-identity` with `certificate-oidc-issuer`) too"
            ),
        ));
    }
    Ok(out)
}

/// `ignore-tlog` is for keyed entries only: a keyless signature is always checked against
/// the log (it is what dates the short-lived certificate).
fn tlog_settings(what: &str, has_key: bool, ignore_tlog: bool) -> Result<(), String> {
    if ignore_tlog && !has_key {
        return Err(format!(
            "`ignore-tlog` applies to a {what} with a `key` only: keyless signatures are always checked against the transparency log"
        ));
    }
    Ok(())
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, Error> {
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = fs::metadata(path).map_err(io_err)?.len();
        if size > MAX_POLICY_BYTES {
            return Err(Error::Invalid {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("file is {size} bytes, over the {MAX_POLICY_BYTES}-byte limit"),
            });
        }
        let text = fs::read_to_string(path).map_err(io_err)?;
        Self::parse(path, &text)
    }

    /// Parses `text`; relative paths in it are resolved against `path`'s directory.
    pub fn parse(path: &Path, text: &str) -> Result<Policy, Error> {
        let at = |offset: usize, message: String| {
            let (line, column) = offset_to_line_column(text, offset);
            Error::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            at(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &str| {
            if base.as_os_str().is_empty() {
                PathBuf::from(p)
            } else {
                base.join(p)
            }
        };

        let audit = match raw.audit {
            None => None,
            Some(a) => {
                let mut ecosystems = Vec::new();
                for e in &a.ecosystems {
                    ecosystems.push(parse_ecosystem(e.get_ref()).ok_or_else(|| {
                        at(
                            e.span().start,
                            format!(
                                "unknown ecosystem `{}` (expected crates.io, npm, PyPI or Go)",
                                e.get_ref()
                            ),
                        )
                    })?);
                }
                let fail_on = a
                    .fail_on
                    .as_ref()
                    .map(|s| {
                        s.get_ref()
                            .parse::<Severity>()
                            .map_err(|m| at(s.span().start, m))
                    })
                    .transpose()?;
                let mut deny = Vec::new();
                let mut deny_warnings = false;
                for d in &a.deny {
                    match parse_deny(d.get_ref()).map_err(|m| at(d.span().start, m))? {
                        Deny::Warnings => deny_warnings = true,
                        Deny::Kind(kind) => deny.push(kind),
                    }
                }
                let db_max_age_seconds = a
                    .db_max_age
                    .as_ref()
                    .map(|s| {
                        parse_age(s.get_ref()).ok_or_else(|| {
                            at(
                                s.span().start,
                                format!(
                                    "`db-max-age` `{}` is not a duration like \"24h\" or \"7d\"",
                                    s.get_ref()
                                ),
                            )
                        })
                    })
                    .transpose()?;
                let paths = if a.paths.is_empty() {
                    vec![resolve(".")]
                } else {
                    a.paths.iter().map(|p| resolve(p)).collect()
                };
                Some(AuditPolicy {
                    paths,
                    ecosystems,
                    fail_on,
                    unscored: a.unscored.unwrap_or(Action::Deny),
                    deny,
                    deny_warnings,
                    exclude_dev: a.exclude_dev,
                    ignore_unfixed: a.ignore_unfixed,
                    db_max_age_seconds,
                    db: a.db.as_deref().map(resolve),
                    osv: a.osv.as_deref().map(resolve),
                })
            }
        };

        let waivers = match raw.waivers {
            None => WaiverPolicy::default(),
            Some(w) => {
                let positive = |v: &Option<Spanned<i64>>, name: &str| {
                    v.as_ref()
                        .map(|v| {
                            if *v.get_ref() < 0 {
                                Err(at(v.span().start, format!("`{name}` must not be negative")))
                            } else {
                                Ok(*v.get_ref())
                            }
                        })
                        .transpose()
                };
                WaiverPolicy {
                    file: w.file.as_deref().map(resolve),
                    max_days: positive(&w.max_days, "max-days")?,
                    unused: w.unused.unwrap_or(Action::Warn),
                    expiring_soon_days: positive(&w.expiring_soon_days, "expiring-soon-days")?
                        .unwrap_or(14),
                }
            }
        };

        let licenses = match raw.licenses {
            None => None,
            Some(l) => {
                let check = |list: &[Spanned<String>]| -> Result<Vec<String>, Error> {
                    list.iter()
                        .map(|s| {
                            spdx::Expression::parse(s.get_ref())
                                .map(|_| s.get_ref().clone())
                                .map_err(|e| {
                                    at(
                                        s.span().start,
                                        format!("not an SPDX license expression: {e}"),
                                    )
                                })
                        })
                        .collect()
                };
                Some(LicensePolicy {
                    allow: check(&l.allow)?,
                    deny: check(&l.deny)?,
                    unknown: l.unknown.unwrap_or(Action::Warn),
                })
            }
        };

        let sbom = match raw.sbom {
            None => None,
            Some(s) => {
                let format = match &s.format {
                    None => "spdx-json".to_string(),
                    Some(f) => match f.get_ref().as_str() {
                        "spdx-json" | "spdx-tv" | "cyclonedx-json" => f.get_ref().clone(),
                        other => {
                            return Err(at(
                                f.span().start,
                                format!(
                                    "unknown SBOM format `{other}` (expected spdx-json, spdx-tv or cyclonedx-json)"
                                ),
                            ));
                        }
                    },
                };
                Some(SbomPolicy {
                    format,
                    output: resolve(&s.output),
                })
            }
        };

        let mut images = Vec::new();
        for i in raw.image {
            let keyless =
                i.certificate_identity.is_some() || i.certificate_identity_regexp.is_some();
            let issuer =
                i.certificate_oidc_issuer.is_some() || i.certificate_oidc_issuer_regexp.is_some();
            let claims = claim_settings(
                "[[image]]",
                !i.key.is_empty(),
                keyless,
                issuer,
                RawClaims {
                    github_workflow: i.github_workflow,
                    source_ref: i.source_ref,
                    repository: i.repository,
                    extensions: i.certificate_extensions,
                },
            )
            .map_err(|(offset, m)| at(offset, m))?;
            let github_workflow = claims.github_workflow.is_some();
            signer_settings(
                "[[image]]",
                !i.key.is_empty(),
                keyless,
                issuer,
                github_workflow,
            )
            .and_then(|()| tlog_settings("[[image]]", !i.key.is_empty(), i.ignore_tlog))
            .map_err(|m| at(i.reference.span().start, m))?;
            let threshold = match &i.threshold {
                None => 1,
                Some(t) if *t.get_ref() >= 1 => *t.get_ref() as usize,
                Some(t) => return Err(at(t.span().start, "`threshold` must be at least 1".into())),
            };
            let provenance = match i.provenance {
                None => None,
                Some(p) => {
                    let start = p.span().start;
                    let p = p.into_inner();
                    let fields = [
                        ("builder-id", &p.builder_id),
                        ("source-repository", &p.source_repository),
                        ("source-ref", &p.source_ref),
                        ("build-type", &p.build_type),
                    ];
                    if fields.iter().all(|(_, v)| v.is_none()) {
                        return Err(at(
                            start,
                            "`provenance` needs at least one of builder-id, source-repository, source-ref, build-type".into(),
                        ));
                    }
                    for (key, value) in fields {
                        if let Some(v) = value
                            && v.get_ref().trim().is_empty()
                        {
                            return Err(at(v.span().start, format!("`{key}` is empty")));
                        }
                    }
                    let value = |v: Option<Spanned<String>>| v.map(Spanned::into_inner);
                    Some(crate::verify::provenance::Requirements {
                        builder_id: value(p.builder_id),
                        source_repository: value(p.source_repository),
                        source_ref: value(p.source_ref),
                        build_type: value(p.build_type),
                    })
                }
            };
            images.push(ImagePolicy {
                reference: i.reference.into_inner(),
                keys: i.key.iter().map(|k| resolve(k)).collect(),
                identity: i.certificate_identity,
                identity_regexp: i.certificate_identity_regexp,
                issuer: i.certificate_oidc_issuer,
                issuer_regexp: i.certificate_oidc_issuer_regexp,
                claims,
                trusted_root: i.trusted_root.as_deref().map(resolve),
                attestations: i.attestations,
                threshold,
                require_digest: i.require_digest,
                required: i.required,
                ignore_tlog: i.ignore_tlog,
                provenance,
                audit_sbom: i.audit_sbom,
            });
        }

        let mut blobs = Vec::new();
        for b in raw.blob {
            let keyless =
                b.certificate_identity.is_some() || b.certificate_identity_regexp.is_some();
            let issuer =
                b.certificate_oidc_issuer.is_some() || b.certificate_oidc_issuer_regexp.is_some();
            let claims = claim_settings(
                "[[blob]]",
                b.key.is_some(),
                keyless,
                issuer,
                RawClaims {
                    github_workflow: b.github_workflow,
                    source_ref: b.source_ref,
                    repository: b.repository,
                    extensions: b.certificate_extensions,
                },
            )
            .map_err(|(offset, m)| at(offset, m))?;
            let github_workflow = claims.github_workflow.is_some();
            signer_settings(
                "[[blob]]",
                b.key.is_some(),
                keyless,
                issuer,
                github_workflow,
            )
            .and_then(|()| tlog_settings("[[blob]]", b.key.is_some(), b.ignore_tlog))
            .map_err(|m| at(b.path.span().start, m))?;
            blobs.push(BlobPolicy {
                path: resolve(b.path.get_ref()),
                bundle: resolve(&b.bundle),
                key: b.key.as_deref().map(resolve),
                identity: b.certificate_identity,
                identity_regexp: b.certificate_identity_regexp,
                issuer: b.certificate_oidc_issuer,
                issuer_regexp: b.certificate_oidc_issuer_regexp,
                claims,
                trusted_root: b.trusted_root.as_deref().map(resolve),
                ignore_tlog: b.ignore_tlog,
            });
        }

        Ok(Policy {
            path: path.to_path_buf(),
            audit,
            waivers,
            licenses,
            sbom,
            images,
            blobs,
        })
    }
}

fn parse_ecosystem(name: &str) -> Option<Ecosystem> {
    [
        Ecosystem::Cargo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
    ]
    .into_iter()
    .find(|e| e.osv_name().eq_ignore_ascii_case(name) || e.purl_type() == name)
}

/// One value of the policy's `deny` or of `--deny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deny {
    /// Every warning fails, as cargo-audit's `--deny warnings`.
    Warnings,
    /// Advisories of this informational kind fail.
    Kind(Informational),
}

pub fn parse_deny(text: &str) -> Result<Deny, String> {
    match text {
        "warnings" => Ok(Deny::Warnings),
        "unmaintained" | "unsound" | "notice" => text.parse().map(Deny::Kind),
        other => Err(format!(
            "unknown `deny` value `{other}` (expected warnings, unmaintained, unsound or notice)"
        )),
    }
}

/// `"90m"`, `"24h"`, `"7d"`, `"2w"` (or jiff's friendly/ISO 8601 spans) → seconds.
pub fn parse_age(text: &str) -> Option<i64> {
    let span: jiff::Span = text.trim().parse().ok()?;
    let seconds = span
        .total((
            jiff::Unit::Second,
            jiff::SpanRelativeTo::days_are_24_hours(),
        ))
        .ok()?;
    (seconds >= 0.0).then_some(seconds as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, Error> {
        Policy::parse(Path::new("dir/vouch.toml"), text)
    }

    fn err(text: &str) -> (usize, usize, String) {
        match parse(text).unwrap_err() {
            Error::Invalid {
                line,
                column,
                message,
                ..
            } => (line, column, message),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn a_full_policy_parses_and_resolves_paths_beside_it() {
        let p = parse(
            r#"
[audit]
paths = ["app"]
ecosystems = ["crates.io", "npm"]
fail-on = "high"
unscored = "warn"
deny = ["unmaintained"]
exclude-dev = true
db-max-age = "7d"

[waivers]
file = "w.toml"
max-days = 90
unused = "deny"

[licenses]
allow = ["MIT", "Apache-2.0 OR MIT"]
deny = ["GPL-3.0-only"]
unknown = "deny"

[sbom]
format = "spdx-tv"
output = "sbom.spdx"

[[image]]
reference = "127.0.0.1:5000/app@sha256:00"
key = ["cosign.pub"]
attestations = ["slsaprovenance"]
threshold = 1
audit-sbom = true
"#,
        )
        .unwrap();
        let audit = p.audit.unwrap();
        assert_eq!(audit.paths, [PathBuf::from("dir/app")]);
        assert_eq!(audit.ecosystems, [Ecosystem::Cargo, Ecosystem::Npm]);
        assert_eq!(audit.fail_on, Some(Severity::High));
        assert_eq!(audit.unscored, Action::Warn);
        assert_eq!(audit.db_max_age_seconds, Some(7 * 86_400));
        assert_eq!(p.waivers.file, Some(PathBuf::from("dir/w.toml")));
        assert_eq!(p.waivers.max_days, Some(90));
        assert_eq!(p.waivers.unused, Action::Deny);
        assert_eq!(p.licenses.unwrap().unknown, Action::Deny);
        assert_eq!(p.sbom.unwrap().output, PathBuf::from("dir/sbom.spdx"));
        assert_eq!(p.images[0].keys, [PathBuf::from("dir/cosign.pub")]);
        assert!(p.images[0].audit_sbom);
    }

    #[test]
    fn a_blob_entry_resolves_its_paths_beside_the_policy() {
        let p = parse(
            "[[blob]]\npath = \"dist/app.tar.gz\"\nbundle = \"dist/app.tar.gz.sigstore.json\"\ncertificate-identity-regexp = \"https://github\\\\.com/acme/.*\"\ncertificate-oidc-issuer = \"https://token.actions.githubusercontent.com\"\n",
        )
        .unwrap();
        let b = &p.blobs[0];
        assert_eq!(b.path, PathBuf::from("dir/dist/app.tar.gz"));
        assert_eq!(b.bundle, PathBuf::from("dir/dist/app.tar.gz.sigstore.json"));
        assert_eq!(
            b.identity_regexp.as_deref(),
            Some(r"https://github\.com/acme/.*")
        );
        assert_eq!(b.key, None);
        assert_eq!(b.trusted_root, None);
    }

    #[test]
    fn structured_keyless_settings_parse_into_the_keyless_policy() {
        let p = parse(
            r#"
[[image]]
reference = "r"
github-workflow = "acme/app/.github/workflows/release.yml"
ref = "refs/tags/v*"
repository = "acme/app"
certificate-extensions = { runner-environment = "github-hosted", source-repository-visibility-at-signing = "public" }

[[blob]]
path = "a"
bundle = "b"
certificate-identity = "me@acme.example"
certificate-oidc-issuer = "https://issuer.example"
ref = "refs/heads/main"
"#,
        )
        .unwrap();
        let k = p.images[0].keyless();
        assert_eq!(
            k.github_workflow.as_deref(),
            Some("acme/app/.github/workflows/release.yml")
        );
        assert_eq!(k.source_ref.as_deref(), Some("refs/tags/v*"));
        assert_eq!(k.repository.as_deref(), Some("acme/app"));
        assert_eq!(
            k.extensions,
            [
                (
                    "runner-environment".to_string(),
                    "github-hosted".to_string()
                ),
                (
                    "source-repository-visibility-at-signing".to_string(),
                    "public".to_string()
                )
            ]
        );
        assert!(k.identity.is_none() && k.oidc_issuer.is_none());
        let k = p.blobs[0].keyless();
        assert_eq!(k.identity.as_deref(), Some("me@acme.example"));
        assert_eq!(k.source_ref.as_deref(), Some("refs/heads/main"));
        // What the entry says is what verification is given: it builds.
        crate::verify::identity::IdentityPolicy::from_keyless(&p.images[0].keyless()).unwrap();
        crate::verify::identity::IdentityPolicy::from_keyless(&k).unwrap();
    }

    #[test]
    fn structured_keyless_errors_point_at_the_value() {
        let image = "[[image]]\nreference = \"r\"\n";
        let gw = "github-workflow = \"acme/app/.github/workflows/release.yml\"\n";
        let cases = [
            (
                format!("{image}{gw}certificate-identity = \"me\"\n"),
                (3, 19),
                "`github-workflow` derives the identity",
            ),
            (
                format!("{image}{gw}certificate-oidc-issuer = \"https://i\"\n"),
                (3, 19),
                "`github-workflow` derives the issuer (https://token.actions.githubusercontent.com)",
            ),
            (
                format!("{image}github-workflow = \"acme/app/release.yml\"\n"),
                (3, 19),
                "expected OWNER/REPO/.github/workflows/FILE.yml",
            ),
            (
                format!("{image}{gw}repository = \"https://github.com/acme/app\"\n"),
                (4, 14),
                "expected OWNER/REPO",
            ),
            (format!("{image}{gw}ref = \"\"\n"), (4, 7), "`ref` is empty"),
            (
                format!("{image}{gw}certificate-extensions = {{ runner = \"x\" }}\n"),
                (4, 28),
                "unknown certificate extension `runner`; known: github-workflow-trigger,",
            ),
            (
                format!("{image}{gw}certificate-extensions = {{ runner-environment = \"\" }}\n"),
                (4, 49),
                "`runner-environment` is empty",
            ),
            (
                format!("{image}{gw}certificate-extensions = {{}}\n"),
                (4, 26),
                "`certificate-extensions` is empty",
            ),
            (
                format!("{image}{gw}certificate-extensions = {{ runner-environment = 1 }}\n"),
                (4, 49),
                "expected a string",
            ),
            // Claims without an identity would accept any signer that has them.
            (
                format!("{image}ref = \"refs/tags/v*\"\n"),
                (3, 7),
                "`ref` narrows a keyless identity: give `github-workflow`",
            ),
            (
                format!(
                    "{image}repository = \"acme/app\"\ncertificate-oidc-issuer = \"https://i\"\n"
                ),
                (3, 14),
                "`repository` narrows a keyless identity",
            ),
            (
                format!("{image}key = [\"k\"]\nref = \"refs/tags/v*\"\n"),
                (4, 7),
                "`ref` is a certificate claim: a [[image]] with a `key` has no certificate",
            ),
            (
                format!("{image}key = [\"k\"]\n{gw}"),
                (4, 19),
                "`github-workflow` is a certificate claim",
            ),
            (
                format!(
                    "[[blob]]\npath = \"a\"\nbundle = \"b\"\n{gw}certificate-identity-regexp = \".*\"\n"
                ),
                (4, 19),
                "`github-workflow` derives the identity",
            ),
            (
                "[[blob]]\npath = \"a\"\nbundle = \"b\"\nrepository = \"acme\"\n".to_string(),
                (4, 14),
                "expected OWNER/REPO",
            ),
            (
                format!("{image}{gw}reference-ref = \"x\"\n"),
                (4, 1),
                "unknown field `reference-ref`",
            ),
        ];
        for (text, pos, want) in cases {
            let (line, column, msg) = err(&text);
            assert!(msg.contains(want), "{text}: {msg}");
            assert_eq!((line, column), pos, "{text}: {msg}");
        }
        // `github-workflow` alone is a whole keyless policy: no identity, no issuer.
        parse(&format!("{image}{gw}")).unwrap();
    }

    #[test]
    fn unknown_keys_point_at_their_line() {
        let (line, column, msg) = err("[audit]\nfail-on = \"high\"\nfial-on = \"low\"\n");
        assert_eq!((line, column), (3, 1));
        assert!(msg.contains("unknown field `fial-on`"), "{msg}");
        let (line, _, msg) = err("[audits]\n");
        assert_eq!(line, 1);
        assert!(msg.contains("unknown field `audits`"), "{msg}");
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let cases = [
            (
                "[audit]\nfail-on = \"severe\"\n",
                (2, 11),
                "unknown severity",
            ),
            (
                "[audit]\necosystems = [\"maven\"]\n",
                (2, 15),
                "unknown ecosystem",
            ),
            (
                "[audit]\ndb-max-age = \"a while\"\n",
                (2, 14),
                "not a duration",
            ),
            (
                "[audit]\nunscored = \"ignore\"\n",
                (2, 12),
                "unknown variant",
            ),
            (
                "[waivers]\nmax-days = -1\n",
                (2, 12),
                "must not be negative",
            ),
            (
                "[licenses]\nallow = [\"MIT\", \"NOT A LICENSE(\"]\n",
                (2, 17),
                "SPDX",
            ),
            (
                "[sbom]\nformat = \"pdf\"\noutput = \"x\"\n",
                (2, 10),
                "unknown SBOM format",
            ),
            ("[[image]]\nreference = \"r\"\n", (2, 13), "needs `key`"),
            // Regression: the keyless part of an entry with a key was silently ignored.
            (
                "[[image]]\nreference = \"r\"\nkey = [\"k\"]\ncertificate-identity = \"me\"\ncertificate-oidc-issuer = \"https://i\"\n",
                (2, 13),
                "not both",
            ),
            (
                "[[image]]\nreference = \"r\"\nkey = [\"k\"]\ncertificate-oidc-issuer-regexp = \".*\"\n",
                (2, 13),
                "not both",
            ),
            (
                "[[blob]]\npath = \"a\"\nbundle = \"b\"\n",
                (2, 8),
                "needs `key`",
            ),
            (
                "[[blob]]\npath = \"a\"\nbundle = \"b\"\nkey = \"k\"\ncertificate-identity = \"me\"\ncertificate-oidc-issuer = \"https://i\"\n",
                (2, 8),
                "not both",
            ),
            (
                "[[blob]]\npath = \"a\"\nbundle = \"b\"\ncertificate-identity = \"me\"\n",
                (2, 8),
                "both an identity and an OIDC issuer",
            ),
            (
                "[[blob]]\npath = \"a\"\nbundle = \"b\"\nkey = [\"k\"]\n",
                (4, 7),
                "expected a string",
            ),
            (
                "[[image]]\nreference = \"r\"\nkey = [\"k\"]\nthreshold = 0\n",
                (4, 13),
                "at least 1",
            ),
            (
                "[[image]]\nreference = \"r\"\ncertificate-identity = \"me\"\ncertificate-oidc-issuer = \"https://i\"\nignore-tlog = true\n",
                (2, 13),
                "`ignore-tlog` applies to a [[image]] with a `key` only",
            ),
            (
                "[[blob]]\npath = \"a\"\nbundle = \"b\"\ncertificate-identity = \"me\"\ncertificate-oidc-issuer = \"https://i\"\nignore-tlog = true\n",
                (2, 8),
                "`ignore-tlog` applies to a [[blob]] with a `key` only",
            ),
            (
                "[[image]]\nreference = \"r\"\nkey = [\"k\"]\nprovenance = { builder-id = \"b\", source-tag = \"v1\" }\n",
                (4, 34),
                "unknown field `source-tag`",
            ),
            (
                "[[image]]\nreference = \"r\"\nkey = [\"k\"]\nprovenance = {}\n",
                (4, 14),
                "`provenance` needs at least one of",
            ),
            (
                "[[image]]\nreference = \"r\"\nkey = [\"k\"]\nprovenance = { source-ref = \" \" }\n",
                (4, 29),
                "`source-ref` is empty",
            ),
            (
                "[[image]]\nreference = \"r\"\nkey = [\"k\"]\nprovenance = { builder-id = 1 }\n",
                (4, 29),
                "expected a string",
            ),
            (
                "[[image]]\nreference = \"r\"\nkey = [\"k\"]\naudit-sbom = \"yes\"\n",
                (4, 14),
                "expected a boolean",
            ),
        ];
        for (text, pos, want) in cases {
            let (line, column, msg) = err(text);
            assert_eq!((line, column), pos, "{text}: {msg}");
            assert!(msg.contains(want), "{text}: {msg}");
        }
    }

    #[test]
    fn deny_takes_warnings_or_an_informational_kind() {
        let p = parse("[audit]\ndeny = [\"warnings\", \"unsound\"]\n").unwrap();
        let audit = p.audit.unwrap();
        assert!(audit.deny_warnings);
        assert_eq!(audit.deny, [Informational::Unsound]);
        let (line, column, msg) = err("[audit]\ndeny = [\"all\"]\n");
        assert_eq!((line, column), (2, 9));
        assert!(msg.contains("expected warnings, unmaintained"), "{msg}");
    }

    #[test]
    fn an_empty_policy_checks_nothing_but_parses() {
        let p = parse("").unwrap();
        assert!(p.audit.is_none() && p.images.is_empty() && p.sbom.is_none());
    }

    #[test]
    fn ages_accept_common_spellings() {
        assert_eq!(parse_age("24h"), Some(86_400));
        assert_eq!(parse_age("90m"), Some(5_400));
        assert_eq!(parse_age("2w"), Some(14 * 86_400));
        assert_eq!(parse_age("P1D"), Some(86_400));
        assert_eq!(parse_age("soon"), None);
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    /// Every policy in policies/ parses (they are documentation people copy).
    #[test]
    fn shipped_policies_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let mut seen = 0;
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
                seen += 1;
            }
        }
        assert_eq!(seen, 3, "default, release-gate, strict");
        let strict = Policy::load(&dir.join("strict.toml")).unwrap();
        assert_eq!(strict.waivers.unused, Action::Deny);
        assert_eq!(strict.audit.unwrap().deny.len(), 3);
        let gate = Policy::load(&dir.join("release-gate.toml")).unwrap();
        assert!(gate.images[0].require_digest && gate.sbom.is_some());
        assert!(gate.images[0].trusted_root.is_none() && gate.blobs.len() == 1);
        let provenance = gate.images[0].provenance.as_ref().unwrap();
        assert_eq!(provenance.source_ref.as_deref(), Some("refs/tags/v*"));
        assert!(provenance.builder_id.is_some() && provenance.build_type.is_some());
        assert!(gate.images[1].provenance.is_none());
        assert!(gate.images[0].audit_sbom && !gate.images[1].audit_sbom);
        // The release gate names its signer in the structured form, not by regex.
        for keyless in [gate.images[0].keyless(), gate.blobs[0].keyless()] {
            assert!(keyless.github_workflow.is_some() && keyless.source_ref.is_some());
            assert!(keyless.identity.is_none() && keyless.identity_regexp.is_none());
            crate::verify::identity::IdentityPolicy::from_keyless(&keyless).unwrap();
        }
    }
}

//! `vouch check`: the gate. Runs every check the policy configures and writes one report
//! (to stdout, and to any `--output FORMAT=PATH`). Exit 0 only when every configured
//! check ran and passed; a check that could not run makes the verdict an error (exit 2).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::OutputFormat;
use crate::policy::{self, Policy};
use crate::report::{CheckReport, CheckResult, CheckStatus, Verdict};
use crate::verify;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy file (default: vouch.toml in the current directory).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// RustSec database directory, overriding the policy's `[audit] db` and the cache.
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,

    /// OSV database directory, overriding the policy's `[audit] osv` and the cache.
    #[arg(long, value_name = "DIR")]
    pub osv: Option<PathBuf>,

    /// Report format written to stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,

    /// Also write the report to a file: FORMAT=PATH, e.g. sarif=vouch.sarif (repeatable).
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_output)]
    pub output: Vec<(OutputFormat, PathBuf)>,

    /// Verify this image (REGISTRY/REPOSITORY@sha256:DIGEST) with the `[[image]]` of the
    /// policy for the same repository, in place of that entry's `reference`: the release
    /// pipeline names the digest it built. Repeatable.
    #[arg(long = "image", value_name = "REF")]
    pub images: Vec<String>,

    /// Trust the PEM CA certificates in FILE (in addition to the system's) for the
    /// registries of the images verified.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Allow plain HTTP to HOST (host or host:port) when verifying images. Loopback hosts
    /// are always allowed.
    #[arg(long = "allow-insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
}

fn parse_output(text: &str) -> Result<(OutputFormat, PathBuf), String> {
    let (format, path) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not FORMAT=PATH (e.g. sarif=vouch.sarif)"))?;
    let format = <OutputFormat as clap::ValueEnum>::from_str(format, true).map_err(|_| {
        format!("unknown format `{format}` (expected human, json, sarif, junit or markdown)")
    })?;
    if path.is_empty() {
        return Err(format!("`{text}` has no path"));
    }
    Ok((format, PathBuf::from(path)))
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let policy_path = args
        .policy
        .clone()
        .unwrap_or_else(|| PathBuf::from(policy::DEFAULT_FILE_NAME));
    if args.policy.is_none() && !policy_path.exists() {
        bail!(
            "no {} in the current directory (pass --policy, or run `vouch init` to write one)",
            policy::DEFAULT_FILE_NAME
        );
    }
    let policy = Policy::load(&policy_path)?;
    // A policy that configures nothing would vouch for nothing: not a pass.
    if policy.audit.is_none()
        && policy.licenses.is_none()
        && policy.sbom.is_none()
        && policy.images.is_empty()
        && policy.blobs.is_empty()
    {
        bail!(
            "{}: the policy configures no check (add [audit], [licenses], [sbom], [[image]] or [[blob]]; `vouch init` writes a starter policy)",
            policy_path.display()
        );
    }
    let report = run_checks(&policy, &args);
    for (format, path) in &args.output {
        write_atomically(path, |w| super::write_check_report(*format, &report, w)).with_context(
            || {
                format!(
                    "could not write the {format:?} report to {}",
                    path.display()
                )
            },
        )?;
    }
    super::write_check_report(args.format, &report, out)?;
    Ok(report.verdict())
}

fn run_checks(policy: &Policy, args: &Args) -> CheckReport {
    let mut pending = Vec::new();
    let mut lockfiles = Vec::new();
    match &policy.audit {
        Some(_) => match audit_report(policy, args) {
            Ok(report) => {
                lockfiles = report.lockfiles.iter().map(|l| l.path.clone()).collect();
                pending.push(Pending::Audit(Box::new(report)));
            }
            Err(e) => pending.push(Pending::Done(CheckResult::error("audit", &e))),
        },
        None => pending.push(Pending::Done(skipped(
            "audit",
            "no [audit] section in the policy",
        ))),
    }
    if let Some(licenses) = &policy.licenses {
        pending.push(Pending::Done(license_check(policy, licenses)));
    }
    if let Some(sbom) = &policy.sbom {
        pending.push(Pending::Done(sbom_check(policy, sbom)));
    }
    match images_to_verify(policy, &args.images) {
        Ok(images) => {
            for (reference, image) in images {
                pending.push(image_check(policy, image, &reference, args));
            }
            for image in images_not_named(policy, &args.images) {
                pending.push(Pending::Done(image_not_verified(image)));
            }
        }
        Err(e) => pending.push(Pending::Done(CheckResult::error("verify", &e))),
    }
    for blob in &policy.blobs {
        pending.push(Pending::Done(blob_check(blob)));
    }
    reconcile_unused_waivers(&mut pending);
    CheckReport {
        policy: Some(policy.path.clone()),
        lockfiles,
        checks: pending.into_iter().map(Pending::into_check).collect(),
    }
}

/// A check whose audit findings may still change: the audits of one run share one waiver
/// file, and whether a waiver went unused is known only once all of them ran.
enum Pending {
    Done(CheckResult),
    Audit(Box<crate::report::AuditReport>),
    /// An image's verification and the audit of its attested SBOM.
    Image(CheckResult, Box<crate::report::AuditReport>),
}

impl Pending {
    fn audit(&mut self) -> Option<&mut crate::report::AuditReport> {
        match self {
            Pending::Done(_) => None,
            Pending::Audit(report) | Pending::Image(_, report) => Some(report),
        }
    }

    fn into_check(self) -> CheckResult {
        match self {
            Pending::Done(check) => check,
            Pending::Audit(report) => CheckResult::from_audit(&report),
            Pending::Image(mut check, report) => {
                add_sbom_audit(&mut check, &report);
                check
            }
        }
    }
}

/// The `[audit]` check and every attested SBOM's audit read the same waiver file: a
/// waiver is unused only when no audit of the run used it. Without this, a waiver for a
/// package of the image would be `waiver-unused` in the lockfile audit (and the other
/// way round), failing a gate with `unused = "deny"` on a waiver that is in use.
/// Findings about the waiver file itself are kept once, in the first audit that has them.
fn reconcile_unused_waivers(pending: &mut [Pending]) {
    use crate::finding::{Code, Finding};
    type Key = (PathBuf, String, Option<String>);
    let key = |f: &Finding| -> Option<Key> {
        f.waiver.as_ref().map(|w| {
            (
                w.file.clone(),
                w.waiver.id.clone(),
                w.waiver.package.clone(),
            )
        })
    };
    let unused = |report: &crate::report::AuditReport| -> std::collections::BTreeSet<Key> {
        report
            .outcome
            .findings
            .iter()
            .filter(|f| f.code == Code::WaiverUnused)
            .filter_map(key)
            .collect()
    };
    let mut audits: Vec<&mut crate::report::AuditReport> =
        pending.iter_mut().filter_map(Pending::audit).collect();
    if audits.len() < 2 {
        return;
    }
    let mut everywhere = unused(audits[0]);
    for report in &audits[1..] {
        let theirs = unused(report);
        everywhere.retain(|k| theirs.contains(k));
    }
    // What is said of the waiver file itself (expired, expiring, too far ahead, unused) is
    // said once, in the first audit that says it, not once per audit.
    let mut said = std::collections::BTreeSet::new();
    for report in &mut audits {
        report.outcome.findings.retain(|f| {
            let Some(k) = key(f).filter(|_| f.package.is_none()) else {
                return true;
            };
            if f.code == Code::WaiverUnused && !everywhere.contains(&k) {
                return false;
            }
            said.insert((f.code, k))
        });
    }
}

fn skipped(name: &str, why: &str) -> CheckResult {
    CheckResult {
        name: name.into(),
        status: CheckStatus::Skipped(why.into()),
        summary: "not run".into(),
        findings: Vec::new(),
        claims: Vec::new(),
    }
}

/// `registry/repo` of a reference: without `@digest` and without `:tag`.
fn repository(reference: &str) -> &str {
    let name = reference
        .split_once('@')
        .map_or(reference, |(name, _)| name);
    match (name.rfind(':'), name.rfind('/')) {
        (Some(colon), Some(slash)) if colon > slash => &name[..colon],
        (Some(colon), None) => &name[..colon],
        _ => name,
    }
}

/// The images to verify: each `--image` with every policy entry for its repository, or,
/// without `--image`, every entry with its own reference. An `--image` the policy has no
/// entry for is an error: there is nothing to verify it against.
fn images_to_verify<'p>(
    policy: &'p Policy,
    given: &[String],
) -> anyhow::Result<Vec<(String, &'p policy::ImagePolicy)>> {
    if given.is_empty() {
        return Ok(policy
            .images
            .iter()
            .map(|i| (i.reference.clone(), i))
            .collect());
    }
    let mut images = Vec::new();
    for reference in given {
        // Every entry for the repository, not only the first: two entries (say a keyless
        // signature and a keyed attestation) are two requirements, and both must hold.
        let before = images.len();
        images.extend(
            policy
                .images
                .iter()
                .filter(|i| repository(&i.reference) == repository(reference))
                .map(|i| (reference.clone(), i)),
        );
        if images.len() == before {
            bail!(
                "--image {reference}: the policy has no [[image]] for {}, so there is no key or identity to verify it with",
                repository(reference)
            );
        }
    }
    Ok(images)
}

/// The `[[image]]` entries that no `--image` names (none without `--image`: then every
/// entry is verified by its own reference).
fn images_not_named<'p>(policy: &'p Policy, given: &[String]) -> Vec<&'p policy::ImagePolicy> {
    if given.is_empty() {
        return Vec::new();
    }
    policy
        .images
        .iter()
        .filter(|i| {
            !given
                .iter()
                .any(|g| repository(g) == repository(&i.reference))
        })
        .collect()
}

/// An entry `vouch check --image` left out: never silently absent. Reported as not
/// verified (a warning, the check skipped), and failing the gate when it is `required`.
fn image_not_verified(image: &policy::ImagePolicy) -> CheckResult {
    let repo = repository(&image.reference);
    let why = format!("no --image names {repo}, so this [[image]] entry was not verified");
    let (status, summary, level, message) = if image.required {
        (
            CheckStatus::Fail,
            format!("not verified: {why} (required = true)"),
            crate::finding::Level::Error,
            format!("{why}; the entry is required (required = true), so the gate fails"),
        )
    } else {
        (
            CheckStatus::Skipped(why.clone()),
            "not verified".to_string(),
            crate::finding::Level::Warning,
            format!(
                "{why} (add required = true to the entry to fail the gate when it is left out)"
            ),
        )
    };
    CheckResult {
        name: format!("verify {}", image.reference),
        status,
        summary,
        findings: vec![crate::finding::Finding {
            code: crate::finding::Code::ImageNotVerified,
            level,
            message,
            advisory: None,
            package: None,
            waiver: None,
            waived_by: None,
        }],
        claims: Vec::new(),
    }
}

/// Verifies one image by its policy entry (key and trusted-root paths were resolved
/// against the policy file's directory when it was loaded).
fn image_check(
    policy: &Policy,
    image: &policy::ImagePolicy,
    reference: &str,
    args: &Args,
) -> Pending {
    let name = format!("verify {reference}");
    let request = || -> anyhow::Result<verify::VerifyRequest> {
        let verify_policy = if image.keys.is_empty() {
            verify::Policy::Keyless(Box::new(image.keyless()))
        } else {
            let mut keys = Vec::new();
            // Resolved against the policy's directory when it was loaded.
            for path in &image.keys {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the key file {}", path.display()))?;
                keys.push(
                    verify::PublicKey::from_pem(&text)
                        .with_context(|| format!("bad key file {}", path.display()))?,
                );
            }
            verify::Policy::Keys(keys)
        };
        let attestations = image
            .attestations
            .iter()
            .map(|t| verify::PredicateType::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(verify::VerifyRequest {
            image: reference.to_string(),
            policy: verify_policy,
            attestations,
            threshold: image.threshold,
            require_digest: image.require_digest,
            // Already resolved against the policy's directory when it was loaded.
            trusted_root: image.trusted_root.clone(),
            ignore_tlog: image.ignore_tlog,
            provenance: image.provenance.clone(),
            sbom: image.audit_sbom,
            registry: verify::registry::RegistryOptions {
                ca_file: args.ca_file.clone(),
                insecure_hosts: args.insecure_registries.clone(),
                ..verify::registry::RegistryOptions::default()
            },
        })
    };
    match request()
        .and_then(|req| verify::verify(&req).with_context(|| format!("cannot verify {reference}")))
    {
        Ok(outcome) => {
            let check = CheckResult::from_verify(&outcome);
            match &outcome.sbom {
                Some(sbom) if !sbom.sboms.is_empty() => {
                    match audit_attested_sboms(policy, args, &outcome.image, &sbom.sboms)
                        .with_context(|| {
                            format!("cannot audit the attested SBOM of {}", outcome.image)
                        }) {
                        Ok(report) => Pending::Image(check, Box::new(report)),
                        Err(e) => Pending::Done(CheckResult::error(&name, &e)),
                    }
                }
                _ => Pending::Done(check),
            }
        }
        Err(e) => Pending::Done(CheckResult::error(&name, &e)),
    }
}

/// `audit-sbom = true`: the SBOMs of the image's verified attestations, audited as the
/// `[audit]` check audits lockfiles (the same plan: databases, settings, waivers). No
/// advisory database is an error, as for any audit: never a pass.
fn audit_attested_sboms(
    policy: &Policy,
    args: &Args,
    image: &str,
    sboms: &[verify::sbom::AttestedSbom],
) -> anyhow::Result<crate::report::AuditReport> {
    let mut lockfiles = Vec::new();
    for sbom in sboms {
        let label = PathBuf::from(format!(
            "{image} ({} attestation {})",
            sbom.predicate_type, sbom.source
        ));
        lockfiles.push(crate::lockfile::from_sbom_text(&label, &sbom.text)?);
    }
    super::audit::build_report_of(&audit_plan(policy, args), lockfiles)
}

/// The SBOM audit's findings join the image's check, which fails when the audit does.
fn add_sbom_audit(check: &mut CheckResult, report: &crate::report::AuditReport) {
    use crate::finding::Level;
    let audit = CheckResult::from_audit(report);
    if audit.status == CheckStatus::Fail {
        check.status = CheckStatus::Fail;
    }
    check.summary.push_str(&format!(
        "; attested SBOM: {} packages: {} failing, {} warnings, {} waived",
        report.outcome.packages_scanned(),
        report.count(Level::Error),
        report.count(Level::Warning),
        report.count(Level::Info),
    ));
    check.findings.extend(audit.findings);
}

/// Verifies one `[[blob]]` as `vouch verify-blob` does (its paths are resolved against
/// the policy's directory when it is loaded).
fn blob_check(blob: &policy::BlobPolicy) -> CheckResult {
    let name = format!("verify-blob {}", blob.path.display());
    let request = || -> anyhow::Result<verify::blob::BlobRequest> {
        let policy = match &blob.key {
            Some(key) => {
                let text = std::fs::read_to_string(key)
                    .with_context(|| format!("cannot read the key file {}", key.display()))?;
                verify::Policy::Keys(vec![
                    verify::PublicKey::from_pem(&text)
                        .with_context(|| format!("bad key file {}", key.display()))?,
                ])
            }
            None => verify::Policy::Keyless(Box::new(blob.keyless())),
        };
        Ok(verify::blob::BlobRequest {
            requested: blob.path.display().to_string(),
            artifact: verify::blob::BlobArtifact::Path(blob.path.clone()),
            bundle: blob.bundle.clone(),
            policy,
            trusted_root: blob.trusted_root.clone(),
            ignore_tlog: blob.ignore_tlog,
        })
    };
    match request().and_then(|req| {
        verify::blob::verify_blob(&req)
            .with_context(|| format!("cannot verify {}", blob.path.display()))
    }) {
        Ok(outcome) => CheckResult::from_blob(&outcome),
        Err(e) => CheckResult::error(&name, &e),
    }
}

/// The directory the policy governs: where it lives.
fn project_dir(policy: &Policy) -> PathBuf {
    match policy.path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn license_check(policy: &Policy, licenses: &policy::LicensePolicy) -> CheckResult {
    let run = || -> anyhow::Result<CheckResult> {
        let paths = policy
            .audit
            .as_ref()
            .map(|a| a.paths.clone())
            .unwrap_or_else(|| vec![project_dir(policy)]);
        let mut lockfiles = Vec::new();
        for (path, format) in crate::lockfile::discover(&paths)? {
            lockfiles.push(crate::lockfile::load(&path, format)?);
        }
        let waivers = super::project::waiver_path(None, Some(policy)).load()?;
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
        let resolver = crate::sbom::Resolver::new(cargo_home.as_deref(), &project_dir(policy));
        let today = super::audit::local_date(jiff::Timestamp::now());
        let findings =
            crate::licenses::check(&lockfiles, &resolver, licenses, waivers.as_ref(), today);
        let packages: usize = lockfiles.iter().map(|l| l.packages.len()).sum();
        let count = |level| findings.iter().filter(|f| f.level == level).count();
        use crate::finding::Level;
        Ok(CheckResult {
            name: "licenses".into(),
            status: if count(Level::Error) > 0 {
                CheckStatus::Fail
            } else {
                CheckStatus::Pass
            },
            summary: format!(
                "{packages} packages: {} failing, {} warnings, {} waived",
                count(Level::Error),
                count(Level::Warning),
                count(Level::Info)
            ),
            findings,
            claims: Vec::new(),
        })
    };
    run().unwrap_or_else(|e| CheckResult::error("licenses", &e))
}

fn sbom_check(policy: &Policy, sbom: &policy::SbomPolicy) -> CheckResult {
    let run = || -> anyhow::Result<CheckResult> {
        let format = super::sbom::SbomFormat::parse(&sbom.format)
            .ok_or_else(|| anyhow::anyhow!("unknown SBOM format `{}`", sbom.format))?;
        let (bytes, warnings) = super::sbom::generate(&project_dir(policy), format, false)?;
        super::sbom::write_output(&sbom.output, &bytes, false)?;
        let mut summary = format!("wrote {} ({} bytes)", sbom.output.display(), bytes.len());
        if !warnings.is_empty() {
            summary.push_str(&format!("; {}", warnings.join("; ")));
        }
        Ok(CheckResult {
            name: "sbom".into(),
            status: CheckStatus::Pass,
            summary,
            findings: Vec::new(),
            claims: Vec::new(),
        })
    };
    run().unwrap_or_else(|e| CheckResult::error("sbom", &e))
}

/// The audit as `vouch audit` runs it under this policy (one rule set), with `--db` and
/// `--osv` of `vouch check` over the policy's.
fn audit_report(policy: &Policy, args: &Args) -> anyhow::Result<crate::report::AuditReport> {
    super::audit::build_report(&audit_plan(policy, args))
}

fn audit_plan(policy: &Policy, args: &Args) -> super::audit::Plan {
    let flags = super::audit::Args {
        db: args.db.clone(),
        osv: args.osv.clone(),
        ..super::audit::Args::default()
    };
    super::audit::Plan::new(&flags, Some(policy))
}

/// Writes through a temporary file in the target's directory and renames it into place,
/// so a reader never sees half a report.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Created as a new file would be (0666 less the umask), not tempfile's private 0600:
    // a report is for whoever reads the project.
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    let mut writer = std::io::BufWriter::new(tmp.as_file_mut());
    write(&mut writer)?;
    writer.flush()?;
    drop(writer);
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::repository;

    #[test]
    fn repository_drops_the_tag_or_digest_but_not_a_port() {
        assert_eq!(repository("reg.example/app@sha256:00"), "reg.example/app");
        assert_eq!(repository("reg.example/app:v1"), "reg.example/app");
        assert_eq!(
            repository("127.0.0.1:5000/team/app:v1"),
            "127.0.0.1:5000/team/app"
        );
        assert_eq!(
            repository("127.0.0.1:5000/team/app"),
            "127.0.0.1:5000/team/app"
        );
        assert_eq!(repository("app:v1"), "app");
    }
}

//! `vouch verify IMAGE`: cosign signatures (keyed or keyless) and attestations on an image
//! digest.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::report::Verdict;
use crate::report::verify::{self as report, VerifyFormat};
use crate::verify::registry::{MAX_BLOB_BYTES, MAX_MANIFEST_BYTES, RegistryOptions};
use crate::verify::{self, KeylessPolicy, Policy, PredicateType, PublicKey, VerifyRequest};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --trusted-root, keyless signatures and Sigstore bundles are verified against the \
Sigstore public-good trusted root built into vouch (`vouch db status` shows its digest); nothing is fetched.\n\n\
Exit codes: 0 verified; 1 not signed, a signature or attestation missing or invalid; \
2 could not verify (registry unreachable, authentication failed, bad key file, bad trusted root, bad reference)."
)]
pub struct Args {
    /// The image: REGISTRY/REPOSITORY@sha256:DIGEST, or :TAG (resolved to its digest once;
    /// the report prints the digest that was verified).
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// A PEM public key (ECDSA P-256/P-384, Ed25519, RSA) that may have signed; repeat for
    /// several.
    #[arg(long = "key", value_name = "FILE")]
    pub keys: Vec<PathBuf>,

    /// At least N distinct keys (or keyless identities) must have produced a valid
    /// signature (and a valid attestation of each --attestation-type).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threshold: usize,

    /// Require a valid in-toto attestation of this predicate type: slsaprovenance,
    /// slsaprovenance1, spdxjson, cyclonedx, or a predicate type URI. Repeatable.
    #[arg(long = "attestation-type", visible_alias = "type", value_name = "TYPE")]
    pub attestation_types: Vec<String>,

    /// Refuse a tag: IMAGE must name a digest.
    #[arg(long)]
    pub require_digest: bool,

    /// Accept a keyed signature without a verified transparency-log entry, as cosign's
    /// flag of the same name (by default a keyed signature needs one, as with `cosign
    /// verify --key`). Weakens the check: a key stolen and used in secret would pass;
    /// every report says so.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,

    /// Trust the PEM CA certificates in FILE (in addition to the system's) for the
    /// registry's TLS.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Allow plain HTTP to HOST (host or host:port). Loopback hosts are always allowed.
    #[arg(long = "allow-insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,

    /// Seconds to wait for a connection to the registry.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,

    /// Seconds one registry request may take in total.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,

    /// Report format (`-o`/`--output` as cosign spells it).
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = VerifyFormat::Human)]
    pub format: VerifyFormat,

    #[command(flatten)]
    pub keyless: KeylessArgs,

    /// Sigstore's trusted_root.json (Fulcio CAs, Rekor logs, CT logs, timestamp
    /// authorities) to verify keyless signatures and Sigstore bundles against, instead of
    /// the embedded public-good root. Offline: nothing is fetched.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

/// The keyless identity options, the same on `verify` and `verify-blob`.
#[derive(Debug, clap::Args)]
pub struct KeylessArgs {
    /// The exact identity (SAN: URI or email) the Fulcio certificate must name.
    #[arg(long, value_name = "IDENTITY", help_heading = "Keyless")]
    pub certificate_identity: Option<String>,

    /// A regular expression the whole certificate identity must match (anchored at both
    /// ends, unlike cosign's).
    #[arg(long, value_name = "REGEX", help_heading = "Keyless")]
    pub certificate_identity_regexp: Option<String>,

    /// The exact OIDC issuer the certificate must name.
    #[arg(long, value_name = "URL", help_heading = "Keyless")]
    pub certificate_oidc_issuer: Option<String>,

    /// A regular expression the whole OIDC issuer must match (anchored at both ends).
    #[arg(long, value_name = "REGEX", help_heading = "Keyless")]
    pub certificate_oidc_issuer_regexp: Option<String>,

    /// Signed by this GitHub Actions workflow: OWNER/REPO/.github/workflows/FILE.yml[@REF].
    /// vouch derives the identity (https://github.com/OWNER/REPO/.github/workflows/FILE.yml@REF,
    /// REF from --certificate-github-workflow-ref unless given here) and the issuer.
    #[arg(long, value_name = "WORKFLOW", help_heading = "Keyless")]
    pub github_workflow: Option<String>,

    /// The ref the build ran from, a glob (`*` matches any run of characters):
    /// refs/tags/v*. Matched against the source-repository-ref extension and the
    /// deprecated github-workflow-ref cosign reads: each one present must match, and one
    /// must be present.
    #[arg(long, value_name = "REF", help_heading = "Keyless")]
    pub certificate_github_workflow_ref: Option<String>,

    /// The repository the build ran from, OWNER/REPO: source-repository-uri and
    /// github-workflow-repository, matched as the ref is.
    #[arg(long, value_name = "OWNER/REPO", help_heading = "Keyless")]
    pub certificate_github_workflow_repository: Option<String>,

    /// The workflow's name: github-workflow-name, exact.
    #[arg(long, value_name = "NAME", help_heading = "Keyless")]
    pub certificate_github_workflow_name: Option<String>,

    /// The commit the build ran from: github-workflow-sha and source-repository-digest,
    /// exact, matched as the ref is.
    #[arg(long, value_name = "SHA", help_heading = "Keyless")]
    pub certificate_github_workflow_sha: Option<String>,

    /// The event that started the build: github-workflow-trigger and build-trigger,
    /// exact, matched as the ref is.
    #[arg(long, value_name = "EVENT", help_heading = "Keyless")]
    pub certificate_github_workflow_trigger: Option<String>,

    /// A Fulcio certificate extension by name and the exact value it must have:
    /// runner-environment=github-hosted. Repeatable; the names are in the README.
    #[arg(
        long = "certificate-extension",
        value_name = "NAME=VALUE",
        help_heading = "Keyless"
    )]
    pub certificate_extensions: Vec<String>,
}

impl KeylessArgs {
    /// The keyless policy, if any of the options was given.
    pub(super) fn policy(&self) -> anyhow::Result<Option<KeylessPolicy>> {
        let mut extensions: Vec<(String, String)> = Vec::new();
        for given in &self.certificate_extensions {
            let Some((name, value)) = given.split_once('=') else {
                bail!("--certificate-extension {given:?}: expected NAME=VALUE");
            };
            let (name, value) = (name.trim(), value.to_string());
            crate::verify::claims::extension(name)
                .map_err(|e| anyhow::anyhow!("--certificate-extension {given:?}: {e}"))?;
            if value.is_empty() {
                bail!("--certificate-extension {given:?}: the value is empty");
            }
            if extensions.iter().any(|(n, _)| n == name) {
                bail!("--certificate-extension {name} is given twice");
            }
            extensions.push((name.to_string(), value));
        }
        let policy = KeylessPolicy {
            identity: self.certificate_identity.clone(),
            identity_regexp: self.certificate_identity_regexp.clone(),
            oidc_issuer: self.certificate_oidc_issuer.clone(),
            oidc_issuer_regexp: self.certificate_oidc_issuer_regexp.clone(),
            github_workflow: self.github_workflow.clone(),
            source_ref: self.certificate_github_workflow_ref.clone(),
            repository: self.certificate_github_workflow_repository.clone(),
            workflow_sha: self.certificate_github_workflow_sha.clone(),
            workflow_trigger: self.certificate_github_workflow_trigger.clone(),
            workflow_name: self.certificate_github_workflow_name.clone(),
            extensions,
        };
        Ok((!policy.is_empty()).then_some(policy))
    }
}

/// Reads the `--key` files.
pub(super) fn read_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    let mut keys = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?;
        let key = PublicKey::from_pem(&text)
            .with_context(|| format!("bad key file {}", path.display()))?;
        keys.push(key);
    }
    Ok(keys)
}

/// Turns the arguments into a request: reads the keys, maps the attestation types.
pub fn request(args: &Args) -> anyhow::Result<VerifyRequest> {
    let policy = match (args.keyless.policy()?, args.keys.is_empty()) {
        (Some(_), false) => {
            bail!("give either --key or the keyless --certificate-* options, not both")
        }
        (Some(keyless), true) => Policy::Keyless(Box::new(keyless)),
        (None, true) => bail!(
            "give --key FILE (a PEM public key), or for keyless --certificate-identity and --certificate-oidc-issuer (or their -regexp forms), or --github-workflow"
        ),
        (None, false) => Policy::Keys(read_keys(&args.keys)?),
    };
    let attestations = args
        .attestation_types
        .iter()
        .map(|t| PredicateType::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VerifyRequest {
        image: args.image.clone(),
        policy,
        attestations,
        threshold: args.threshold,
        require_digest: args.require_digest,
        trusted_root: args.trusted_root.clone(),
        ignore_tlog: args.insecure_ignore_tlog,
        provenance: None,
        sbom: false,
        registry: RegistryOptions {
            ca_file: args.ca_file.clone(),
            insecure_hosts: args.insecure_registries.clone(),
            connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
            timeout: Duration::from_secs(args.timeout.max(1)),
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            max_blob_bytes: MAX_BLOB_BYTES,
            docker_config: None,
        },
    })
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let req = request(&args)?;
    let outcome = verify::verify(&req).with_context(|| format!("cannot verify {}", args.image))?;
    report::write(&outcome, args.format, out)?;
    Ok(Verdict::from_findings(&outcome.findings))
}

//! `vouch verify-blob ARTIFACT --bundle FILE`: a Sigstore bundle over a release file or a
//! `sha256:` digest, with cosign verify-blob's flag names.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::verify::{KeylessArgs, read_keys};
use crate::report::Verdict;
use crate::report::verify::{self as report, VerifyFormat};
use crate::verify::Policy;
use crate::verify::blob::{self, BlobArtifact, BlobRequest};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --trusted-root, the bundle is verified against the Sigstore public-good trusted root \
built into vouch (`vouch db status` shows its digest); nothing is fetched.\n\n\
Exit codes: 0 verified; 1 not verified (another signer, a signature, log entry, timestamp or certificate \
that does not hold for this artifact); 2 could not verify (unreadable or malformed bundle, trusted root, key or artifact)."
)]
pub struct Args {
    /// The signed file, or `sha256:<64 hex>` of it (then no file is read).
    #[arg(value_name = "ARTIFACT")]
    pub artifact: String,

    /// The Sigstore bundle (`.sigstore.json`, v0.1 to v0.3) that signs ARTIFACT.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// The PEM public key the bundle must be signed with (instead of a keyless identity).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Sigstore's trusted_root.json to verify against, instead of the embedded public-good
    /// root. Offline: nothing is fetched.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// Accept a keyed signature without a verified transparency-log entry, as cosign's
    /// flag of the same name (by default a keyed signature needs one, as with `cosign
    /// verify --key`). Weakens the check: a key stolen and used in secret would pass;
    /// every report says so.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,

    /// Report format (`-o`/`--output` as cosign spells it).
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = VerifyFormat::Human)]
    pub format: VerifyFormat,

    #[command(flatten)]
    pub keyless: KeylessArgs,
}

pub fn request(args: &Args) -> anyhow::Result<BlobRequest> {
    let keyless = args.keyless.policy()?;
    let policy = match (keyless, &args.key) {
        (Some(_), Some(_)) => {
            bail!("give either --key or the keyless --certificate-* options, not both")
        }
        (Some(keyless), None) => Policy::Keyless(Box::new(keyless)),
        (None, Some(key)) => Policy::Keys(read_keys(std::slice::from_ref(key))?),
        (None, None) => bail!(
            "give --key FILE (a PEM public key), or for keyless --certificate-identity and --certificate-oidc-issuer (or their -regexp forms), or --github-workflow"
        ),
    };
    Ok(BlobRequest {
        requested: args.artifact.clone(),
        artifact: BlobArtifact::parse(&args.artifact)?,
        bundle: args.bundle.clone(),
        policy,
        trusted_root: args.trusted_root.clone(),
        ignore_tlog: args.insecure_ignore_tlog,
    })
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let req = request(&args)?;
    let outcome =
        blob::verify_blob(&req).with_context(|| format!("cannot verify {}", args.artifact))?;
    report::write_blob(&outcome, args.format, out)?;
    Ok(Verdict::from_findings(&outcome.findings))
}

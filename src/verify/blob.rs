//! `vouch verify-blob`: one Sigstore bundle over a file (a release tarball, a binary, an
//! SBOM) or over its `sha256:<hex>` digest, verified by sigstore-verify against the
//! trusted root, then the identity policy (keyless) or the key (keyed).
//!
//! Errors versus findings, as for images: a bundle, key or trusted root that cannot be read
//! or is not what it claims to be (not JSON, an unknown media type, a timestamp that is not
//! DER), an artifact that cannot be read, a bad digest → [`BlobError`] (exit 2), naming
//! the file and what was expected. A bundle that reads fine but does not verify for this
//! artifact and signer → a finding (exit 1). In digest mode the artifact is never read.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::sigstore::{self, BundleError, Subject, Tlog};
use super::trust::{self, Problem, Trust, Who};
use super::{Error, Policy, SignatureCheck, finding};
use crate::finding::{Code, Finding};
use crate::package::hex;

/// What was signed: a file, or its sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobArtifact {
    Path(PathBuf),
    Sha256([u8; 32]),
}

impl BlobArtifact {
    /// `sha256:<64 hex>` is a digest (the file is then never read); anything else a path.
    pub fn parse(text: &str) -> Result<BlobArtifact, BlobError> {
        let Some(hex_digest) = text.strip_prefix("sha256:") else {
            return Ok(BlobArtifact::Path(PathBuf::from(text)));
        };
        let bad = || BlobError::Digest(text.to_string());
        if hex_digest.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            let pair = hex_digest.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(BlobArtifact::Sha256(out))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{0:?} is not a digest: expected sha256:<64 hex digits>, or a file path")]
    Digest(String),
    #[error("cannot read the artifact {path}: {source}")]
    Artifact {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the bundle {path}: {source}")]
    ReadBundle {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "bad bundle {path}: {why} (expected a Sigstore bundle, protobuf-specs JSON v0.1 to v0.3)"
    )]
    Bundle { path: PathBuf, why: BundleError },
    #[error(transparent)]
    Policy(#[from] Error),
}

/// Everything `verify-blob` needs.
#[derive(Debug, Clone)]
pub struct BlobRequest {
    /// The artifact as given (a path or `sha256:<hex>`).
    pub requested: String,
    pub artifact: BlobArtifact,
    pub bundle: PathBuf,
    pub policy: Policy,
    /// `None`: the embedded public-good root.
    pub trusted_root: Option<PathBuf>,
    /// `--insecure-ignore-tlog`: a keyed bundle counts without a verified log entry.
    pub ignore_tlog: bool,
}

/// The result of a verification that could be carried out.
#[derive(Debug, Clone)]
pub struct BlobOutcome {
    pub requested: String,
    pub path: Option<PathBuf>,
    /// `sha256:<hex>` of the artifact.
    pub digest: String,
    pub bundle: PathBuf,
    /// The keys of a keyed policy: (fingerprint, kind).
    pub keys: Vec<(String, String)>,
    /// The identity and issuer of a keyless policy, as given (exact or `/regex/`).
    pub identity: Option<(String, String)>,
    /// Which trusted root, and its digest.
    pub trusted_root: String,
    /// Whether a keyed signature needed its log entry.
    pub tlog: Tlog,
    pub signature: SignatureCheck,
    pub findings: Vec<Finding>,
}

/// Hashes what the library reads, so the file is read once.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    done: bool,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.done = true;
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn open(path: &Path) -> Result<std::fs::File, BlobError> {
    std::fs::File::open(path).map_err(|source| BlobError::Artifact {
        path: path.to_path_buf(),
        source,
    })
}

fn sha256_of_file(path: &Path) -> Result<[u8; 32], BlobError> {
    let mut reader = HashingReader {
        inner: std::io::BufReader::new(open(path)?),
        hasher: Sha256::new(),
        done: false,
    };
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|source| BlobError::Artifact {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(reader.hasher.finalize().into())
}

/// Runs one verification over the artifact: its digest, or the file read once (whose
/// sha256 is kept in `digest` when the library read it to the end).
fn once(
    artifact: &BlobArtifact,
    digest: &mut Option<[u8; 32]>,
    verify: impl FnOnce(Subject<'_>) -> Result<(), sigstore::Failure>,
) -> Result<Result<(), Problem>, BlobError> {
    let result = match artifact {
        BlobArtifact::Sha256(d) => verify(Subject::Sha256(*d)),
        BlobArtifact::Path(path) => {
            let mut reader = HashingReader {
                inner: std::io::BufReader::new(open(path)?),
                hasher: Sha256::new(),
                done: false,
            };
            let result = verify(Subject::Reader(&mut reader));
            if reader.done && digest.is_none() {
                *digest = Some(reader.hasher.finalize().into());
            }
            result
        }
    };
    Ok(result.map_err(Problem::from))
}

/// The fingerprints of the keys that signed, or why none did.
type KeysThatSigned = Result<Vec<String>, Problem>;

/// `--insecure-ignore-tlog` with a keyed bundle that has neither a log entry nor a
/// timestamp (`cosign sign-blob --key --tlog-upload=false --new-bundle-format`): cosign
/// accepts it under that opt-out, the library refuses every bundle without signing-time
/// evidence, so only the key is checked here, as for an image's key-only `.sig` layers:
/// a message signature over the file's bytes (its stated digest must be the file's), or a
/// DSSE signature over the envelope whose statement names the artifact's sha256. Returns
/// the artifact's sha256 and the fingerprints of the keys that signed, or why none did.
fn key_only(
    bundle: &sigstore_verify::types::Bundle,
    artifact: &BlobArtifact,
    keys: &[super::PublicKey],
) -> Result<([u8; 32], KeysThatSigned), BlobError> {
    use sigstore::Failure;
    if let sigstore_verify::types::SignatureContent::MessageSignature(message) = &bundle.content {
        let path = match artifact {
            BlobArtifact::Path(path) => path,
            BlobArtifact::Sha256(d) => {
                return Ok((
                    *d,
                    Err(Problem::from(Failure::SignatureInvalid(
                        "a keyed message signature with neither a log entry nor a timestamp signs the file's bytes: give the file, not its digest".into(),
                    ))),
                ));
            }
        };
        let bytes = std::fs::read(path).map_err(|source| BlobError::Artifact {
            path: path.clone(),
            source,
        })?;
        let sha256: [u8; 32] = Sha256::digest(&bytes).into();
        if let Some(stated) = &message.message_digest
            && stated.digest.as_bytes() != sha256
        {
            return Ok((
                sha256,
                Err(Problem::from(Failure::ArtifactMismatch(format!(
                    "the bundle's messageDigest is sha256:{}, the file's is sha256:{}",
                    hex(stated.digest.as_bytes()),
                    hex(&sha256)
                )))),
            ));
        }
        let signature = message.signature.as_bytes();
        let signed = trust::signed_by(keys, "bundle's signature", |k| {
            k.verify(&bytes, signature).is_ok()
        });
        return Ok((sha256, signed));
    }
    let sha256 = match artifact {
        BlobArtifact::Sha256(d) => *d,
        BlobArtifact::Path(path) => sha256_of_file(path)?,
    };
    let Some((payload_type, payload, signature)) = sigstore::envelope(bundle) else {
        return Ok((
            sha256,
            Err(Problem::from(Failure::Malformed(
                "the bundle holds neither a message signature nor a DSSE envelope".into(),
            ))),
        ));
    };
    let pae = super::dsse::pae(payload_type, payload);
    let signed = trust::signed_by(keys, "bundle's signature", |k| {
        k.verify(&pae, signature).is_ok()
    })
    .and_then(|signed| {
        let statement = super::dsse::Statement::parse(payload)
            .map_err(|e| Problem::from(Failure::Malformed(format!("the signed statement: {e}"))))?;
        if statement.subjects.iter().any(|(_, h)| *h == hex(&sha256)) {
            Ok(signed)
        } else {
            Err(Problem::from(Failure::ArtifactMismatch(format!(
                "the signed statement's subjects do not include sha256:{}",
                hex(&sha256)
            ))))
        }
    });
    Ok((sha256, signed))
}

/// Verifies one bundle over one artifact.
pub fn verify_blob(req: &BlobRequest) -> Result<BlobOutcome, BlobError> {
    let trust = Trust::from_policy(&req.policy, 1, req.trusted_root.as_deref())?
        .ignoring_tlog(req.ignore_tlog)?;
    let bytes = std::fs::read(&req.bundle).map_err(|source| BlobError::ReadBundle {
        path: req.bundle.clone(),
        source,
    })?;
    let bundle = sigstore::parse_bundle(&bytes).map_err(|why| BlobError::Bundle {
        path: req.bundle.clone(),
        why,
    })?;

    let mut digest = match req.artifact {
        BlobArtifact::Sha256(d) => Some(d),
        BlobArtifact::Path(_) => None,
    };
    let mut principals = Vec::new();
    let mut claims = Vec::new();
    let mut problem = None;
    match &trust.who {
        Who::Identity(policy) => {
            let mut signer = None;
            let result = once(&req.artifact, &mut digest, |subject| {
                signer = Some(sigstore::verify_keyless(
                    &trust.root,
                    &bundle,
                    subject,
                    policy,
                )?);
                Ok(())
            })?;
            match (result, signer) {
                (Ok(()), Some(s)) => {
                    principals.push(s.principal());
                    claims = s.claims;
                }
                (Err(p), _) => problem = Some(p),
                (Ok(()), None) => {}
            }
        }
        Who::Keys(keys)
            if trust.tlog == Tlog::Ignored
                && sigstore::is_keyed(&bundle)
                && !sigstore::has_signing_time_evidence(&bundle) =>
        {
            let (sha256, result) = key_only(&bundle, &req.artifact, keys)?;
            digest.get_or_insert(sha256);
            match result {
                Ok(signed) => principals.extend(signed),
                Err(p) => problem = Some(p),
            }
        }
        Who::Keys(keys) => {
            for key in keys {
                let result = once(&req.artifact, &mut digest, |subject| {
                    sigstore::verify_with_key(
                        &trust.root,
                        &bundle,
                        subject,
                        key.spki_der(),
                        trust.tlog,
                    )
                })?;
                match result {
                    Ok(()) => principals.push(key.fingerprint()),
                    Err(p) => {
                        problem.get_or_insert(p);
                    }
                }
            }
        }
    }
    let digest = match (digest, &req.artifact) {
        (Some(d), _) => d,
        (None, BlobArtifact::Path(path)) => sha256_of_file(path)?,
        (None, BlobArtifact::Sha256(d)) => *d,
    };
    let verified = !principals.is_empty();
    let problem = if verified { None } else { problem };
    let mut findings = Vec::new();
    if let Some(p) = &problem {
        let code = if p.identity_mismatch {
            Code::IdentityMismatch
        } else {
            Code::SignatureInvalid
        };
        findings.push(finding(
            code,
            format!(
                "{} is not verified by the bundle {}: {}",
                req.requested,
                req.bundle.display(),
                p.message
            ),
        ));
    } else if !verified {
        // Unreachable with at least one key or an identity; fail closed all the same.
        findings.push(finding(
            Code::SignatureInvalid,
            format!("{}: nothing verified it", req.requested),
        ));
    }
    if trust.tlog == Tlog::Ignored {
        findings.push(super::tlog_ignored_finding());
    }
    Ok(BlobOutcome {
        requested: req.requested.clone(),
        path: match &req.artifact {
            BlobArtifact::Path(p) => Some(p.clone()),
            BlobArtifact::Sha256(_) => None,
        },
        digest: format!("sha256:{}", hex(&digest)),
        bundle: req.bundle.clone(),
        keys: trust.keys(),
        identity: trust.identity(),
        trusted_root: trust.root.describe(),
        tlog: trust.tlog,
        signature: SignatureCheck {
            layer: req.bundle.display().to_string(),
            source: "bundle",
            identity_mismatch: problem.as_ref().is_some_and(|p| p.identity_mismatch),
            claims: match &problem {
                Some(p) => p.claims.clone(),
                None => claims,
            },
            problem: problem.map(|p| p.message),
            verified_by: principals,
        },
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_artifact_is_a_path_or_a_sha256_digest() {
        assert_eq!(
            BlobArtifact::parse("dist/app.tar.gz").unwrap(),
            BlobArtifact::Path("dist/app.tar.gz".into())
        );
        let d = BlobArtifact::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        assert_eq!(d, BlobArtifact::Sha256([0xab; 32]));
        for bad in [
            "sha256:",
            "sha256:abc",
            &format!("sha256:{}", "zz".repeat(32)),
        ] {
            let e = BlobArtifact::parse(bad).unwrap_err().to_string();
            assert!(e.contains("expected sha256:<64 hex digits>"), "{e}");
        }
    }
}

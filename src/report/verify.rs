//! The `vouch verify` and `vouch verify-blob` reports: human (what was verified, by which
//! keys or identity, then the findings) and JSON (`"schema": "vouch.verify/1"` and
//! `"vouch.verify-blob/1"`, documented in docs/json-report.md).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::Verdict;
use crate::finding::{Finding, Level};
use crate::verify::blob::BlobOutcome;
use crate::verify::claims::ClaimCheck;
use crate::verify::{SignatureCheck, VerifyOutcome, distinct_claims};

const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();
const DIM: Style = Style::new().dimmed();

pub const VERIFY_SCHEMA: &str = "vouch.verify/1";
pub const VERIFY_BLOB_SCHEMA: &str = "vouch.verify-blob/1";

/// Report formats of `vouch verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyFormat {
    /// Lines for people.
    Human,
    /// The versioned JSON report (see docs/json-report.md).
    Json,
}

pub fn write(outcome: &VerifyOutcome, format: VerifyFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        VerifyFormat::Human => write_human(outcome, out),
        VerifyFormat::Json => write_json(outcome, out),
    }
}

fn write_human(outcome: &VerifyOutcome, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "image       {}", outcome.image)?;
    if let Some(tag) = &outcome.resolved_tag {
        writeln!(out, "{DIM}            resolved from tag {tag}{DIM:#}")?;
    }
    writeln!(out, "digest      {}", outcome.digest)?;
    let signing = outcome.signing_keys();
    let valid = outcome
        .signatures
        .iter()
        .filter(|s| !s.verified_by.is_empty())
        .count();
    let checked = outcome.signatures.len();
    if let Some((identity, issuer)) = &outcome.identity {
        writeln!(
            out,
            "signatures  {valid} valid of {checked} checked; {} distinct signer{} (threshold {})",
            signing.len(),
            if signing.len() == 1 { "" } else { "s" },
            outcome.threshold
        )?;
        writeln!(
            out,
            "{DIM}  keyless  identity {identity}, issuer {issuer}{DIM:#}"
        )?;
        writeln!(out, "{DIM}  root     {}{DIM:#}", outcome.trusted_root)?;
        for signer in &signing {
            writeln!(out, "{DIM}  signed   {signer}{DIM:#}")?;
        }
        write_claims(&distinct_claims(&outcome.signatures), out)?;
    } else {
        writeln!(
            out,
            "signatures  {valid} valid of {checked} checked; {} of {} key{} signed (threshold {})",
            signing.len(),
            outcome.keys.len(),
            if outcome.keys.len() == 1 { "" } else { "s" },
            outcome.threshold
        )?;
    }
    for (fingerprint, kind) in &outcome.keys {
        let mark = if signing.contains(fingerprint.as_str()) {
            "signed "
        } else {
            "       "
        };
        writeln!(out, "{DIM}  {mark} {fingerprint} ({kind}){DIM:#}")?;
    }
    for att in &outcome.attestations {
        writeln!(
            out,
            "attestation {} {} ({} signer{})",
            att.predicate_type,
            att.status.as_str(),
            att.verified_by.len(),
            if att.verified_by.len() == 1 { "" } else { "s" }
        )?;
        write_claims(&att.claims.iter().collect::<Vec<_>>(), out)?;
    }
    write_findings_and_verdict(&outcome.findings, &outcome.image, out)
}

/// One line per certificate claim checked: where it was read, what it is, what the policy
/// asked.
fn write_claims(claims: &[&ClaimCheck], out: &mut dyn Write) -> io::Result<()> {
    for claim in claims {
        let style = if claim.matched { DIM } else { YELLOW };
        writeln!(out, "{style}  claim    {claim}{style:#}")?;
    }
    Ok(())
}

/// The end of both human reports: one line per finding (errors red, warnings yellow), then
/// the verdict on what was asked for.
fn write_findings_and_verdict(
    findings: &[Finding],
    subject: &dyn std::fmt::Display,
    out: &mut dyn Write,
) -> io::Result<()> {
    for f in findings {
        let style = match f.level {
            Level::Error => RED,
            Level::Warning => YELLOW,
            Level::Info => DIM,
        };
        writeln!(
            out,
            "{style}{}{style:#} {}: {}",
            f.level.as_str(),
            f.code.as_str(),
            f.message
        )?;
    }
    match Verdict::from_findings(findings) {
        Verdict::Pass => writeln!(out, "{GREEN}verified{GREEN:#} {subject}"),
        _ => writeln!(
            out,
            "{RED}FAILED{RED:#} {subject}: {} finding{}",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        ),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    verdict: &'static str,
    image: Image<'a>,
    policy: PolicyJson<'a>,
    signatures: Vec<Signature<'a>>,
    attestations: Vec<Attestation<'a>>,
    findings: Vec<FindingJson<'a>>,
}

#[derive(Serialize)]
struct Image<'a> {
    requested: &'a str,
    reference: &'a str,
    digest: String,
    resolved_from_tag: Option<&'a str>,
}

#[derive(Serialize)]
struct PolicyJson<'a> {
    kind: &'static str,
    threshold: usize,
    keys: Vec<Key<'a>>,
    /// Keyless only: the identity and issuer asked for (`"exact"` in quotes or `/regex/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'a str>,
    /// Distinct signers (key fingerprints or `identity (issuer)`) with a valid signature.
    signers: Vec<&'a str>,
    /// `"required"`: keyed signatures needed a verified transparency-log entry (always
    /// for keyless); `"ignored"`: `--insecure-ignore-tlog`, a weakened check.
    tlog: &'static str,
}

#[derive(Serialize)]
struct Key<'a> {
    fingerprint: &'a str,
    kind: &'a str,
    signed: bool,
}

#[derive(Serialize)]
struct Signature<'a> {
    layer: &'a str,
    source: &'a str,
    verified_by: &'a [String],
    problem: Option<&'a str>,
    /// Keyless: every certificate claim checked; [] for keys and for a signature that
    /// failed before its claims could be read.
    claims: Vec<Claim<'a>>,
}

impl<'a> From<&'a SignatureCheck> for Signature<'a> {
    fn from(s: &'a SignatureCheck) -> Self {
        Signature {
            layer: &s.layer,
            source: s.source,
            verified_by: &s.verified_by,
            problem: s.problem.as_deref(),
            claims: s.claims.iter().map(Claim::from).collect(),
        }
    }
}

/// One certificate claim as matched (also in the `vouch.check/1` report).
#[derive(Serialize)]
pub(super) struct Claim<'a> {
    /// `identity`, `issuer`, or a Fulcio extension's name.
    claim: &'a str,
    /// The extension it was read from (2.5.29.17 for the SAN).
    oid: &'a str,
    /// `exact`, `regex` or `glob`.
    #[serde(rename = "match")]
    kind: &'a str,
    expected: &'a str,
    /// null: the certificate does not carry it.
    found: Option<&'a str>,
    matched: bool,
}

impl<'a> From<&'a ClaimCheck> for Claim<'a> {
    fn from(c: &'a ClaimCheck) -> Self {
        Claim {
            claim: c.claim,
            oid: &c.oid,
            kind: c.kind,
            expected: &c.expected,
            found: c.found.as_deref(),
            matched: c.matched,
        }
    }
}

#[derive(Serialize)]
struct Attestation<'a> {
    predicate_type: &'a str,
    status: &'static str,
    verified_by: &'a [String],
    problems: &'a [String],
    /// As `signatures[].claims`, over the statements of this type that verified.
    claims: Vec<Claim<'a>>,
}

#[derive(Serialize)]
struct FindingJson<'a> {
    code: &'static str,
    level: &'static str,
    message: &'a str,
}

impl<'a> From<&'a Finding> for FindingJson<'a> {
    fn from(f: &'a Finding) -> Self {
        FindingJson {
            code: f.code.as_str(),
            level: f.level.as_str(),
            message: &f.message,
        }
    }
}

fn write_json(outcome: &VerifyOutcome, out: &mut dyn Write) -> io::Result<()> {
    let signing = outcome.signing_keys();
    let mut findings: Vec<_> = outcome.findings.iter().collect();
    findings.sort_by(|a, b| (a.level, a.code, &a.message).cmp(&(b.level, b.code, &b.message)));
    let report = Report {
        schema: VERIFY_SCHEMA,
        verdict: Verdict::from_findings(&outcome.findings).as_str(),
        image: Image {
            requested: &outcome.requested,
            reference: &outcome.image,
            digest: outcome.digest.to_string(),
            resolved_from_tag: outcome.resolved_tag.as_deref(),
        },
        policy: PolicyJson {
            kind: if outcome.identity.is_some() {
                "keyless"
            } else {
                "keys"
            },
            identity: outcome.identity.as_ref().map(|(i, _)| i.as_str()),
            issuer: outcome.identity.as_ref().map(|(_, i)| i.as_str()),
            signers: signing.iter().copied().collect(),
            tlog: outcome.tlog.as_str(),
            threshold: outcome.threshold,
            keys: outcome
                .keys
                .iter()
                .map(|(fingerprint, kind)| Key {
                    fingerprint,
                    kind,
                    signed: signing.contains(fingerprint.as_str()),
                })
                .collect(),
        },
        signatures: outcome.signatures.iter().map(Signature::from).collect(),
        attestations: outcome
            .attestations
            .iter()
            .map(|a| Attestation {
                predicate_type: &a.predicate_type,
                status: a.status.as_str(),
                verified_by: &a.verified_by,
                problems: &a.problems,
                claims: a.claims.iter().map(Claim::from).collect(),
            })
            .collect(),
        findings: findings.into_iter().map(FindingJson::from).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

pub fn write_blob(
    outcome: &BlobOutcome,
    format: VerifyFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        VerifyFormat::Human => write_blob_human(outcome, out),
        VerifyFormat::Json => write_blob_json(outcome, out),
    }
}

fn write_blob_human(outcome: &BlobOutcome, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "artifact    {}", outcome.requested)?;
    writeln!(out, "digest      {}", outcome.digest)?;
    writeln!(out, "bundle      {}", outcome.bundle.display())?;
    match &outcome.identity {
        Some((identity, issuer)) => writeln!(
            out,
            "{DIM}  keyless  identity {identity}, issuer {issuer}{DIM:#}"
        )?,
        None => {
            for (fingerprint, kind) in &outcome.keys {
                writeln!(out, "{DIM}  key      {fingerprint} ({kind}){DIM:#}")?;
            }
        }
    }
    writeln!(out, "{DIM}  root     {}{DIM:#}", outcome.trusted_root)?;
    for signer in &outcome.signature.verified_by {
        writeln!(out, "{DIM}  signed   {signer}{DIM:#}")?;
    }
    write_claims(&distinct_claims([&outcome.signature]), out)?;
    write_findings_and_verdict(&outcome.findings, &outcome.requested, out)
}

#[derive(Serialize)]
struct BlobReport<'a> {
    schema: &'static str,
    verdict: &'static str,
    artifact: Artifact<'a>,
    bundle: String,
    policy: BlobPolicy<'a>,
    signatures: Vec<Signature<'a>>,
    findings: Vec<FindingJson<'a>>,
}

#[derive(Serialize)]
struct Artifact<'a> {
    requested: &'a str,
    /// The file read, or null in digest mode.
    path: Option<String>,
    digest: &'a str,
}

#[derive(Serialize)]
struct BlobPolicy<'a> {
    kind: &'static str,
    keys: Vec<Key<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'a str>,
    trusted_root: &'a str,
    signers: &'a [String],
    /// As in the `vouch verify` report.
    tlog: &'static str,
}

fn write_blob_json(outcome: &BlobOutcome, out: &mut dyn Write) -> io::Result<()> {
    let signed = &outcome.signature.verified_by;
    let mut findings: Vec<_> = outcome.findings.iter().collect();
    findings.sort_by(|a, b| (a.level, a.code, &a.message).cmp(&(b.level, b.code, &b.message)));
    let report = BlobReport {
        schema: VERIFY_BLOB_SCHEMA,
        verdict: Verdict::from_findings(&outcome.findings).as_str(),
        artifact: Artifact {
            requested: &outcome.requested,
            path: outcome.path.as_ref().map(|p| p.display().to_string()),
            digest: &outcome.digest,
        },
        bundle: outcome.bundle.display().to_string(),
        policy: BlobPolicy {
            kind: if outcome.identity.is_some() {
                "keyless"
            } else {
                "keys"
            },
            keys: outcome
                .keys
                .iter()
                .map(|(fingerprint, kind)| Key {
                    fingerprint,
                    kind,
                    signed: signed.contains(fingerprint),
                })
                .collect(),
            identity: outcome.identity.as_ref().map(|(i, _)| i.as_str()),
            issuer: outcome.identity.as_ref().map(|(_, i)| i.as_str()),
            trusted_root: &outcome.trusted_root,
            signers: signed,
            tlog: outcome.tlog.as_str(),
        },
        signatures: vec![Signature::from(&outcome.signature)],
        findings: findings.into_iter().map(FindingJson::from).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

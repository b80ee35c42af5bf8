//! From evidence to findings: how many distinct signers the policy needed, how many it
//! got, and for each asked predicate type whether an attestation holds.

use std::collections::BTreeSet;

use super::evidence::{AttestationEvidence, short_layer};
use super::material::Material;
use super::{
    AttestationCheck, AttestationStatus, PredicateType, ProvenanceCheck, SignatureCheck,
    VerifyOutcome, finding, provenance, sbom,
};
use crate::finding::Code;

pub(super) fn signature_findings(
    material: &Material,
    signatures: Vec<SignatureCheck>,
    outcome: &mut VerifyOutcome,
) {
    outcome.signatures = signatures;
    if !material.any_signature_material() {
        outcome.findings.push(finding(
            Code::ImageNotSigned,
            format!(
                "{} has no cosign signature (no sha256-{}.sig and no signature referrer in the registry)",
                outcome.image,
                outcome.digest.hex()
            ),
        ));
        return;
    }
    let signing = outcome.signing_keys().len();
    if signing >= outcome.threshold {
        return;
    }
    let problems: Vec<String> = outcome
        .signatures
        .iter()
        .filter_map(|s| {
            s.problem
                .as_ref()
                .map(|p| format!("{}: {p}", short_layer(&s.layer)))
        })
        .collect();
    let (by, counted) = match &outcome.identity {
        Some((identity, issuer)) => (
            format!("by {identity} from {issuer}"),
            format!(
                "{signing} distinct identit{} matching {identity} from {issuer}",
                if signing == 1 { "y" } else { "ies" }
            ),
        ),
        None if outcome.keys.len() == 1 => ("by the given key".into(), String::new()),
        None => (
            "by the given keys".into(),
            format!("{signing} of the given keys"),
        ),
    };
    let mismatch = signing == 0 && outcome.signatures.iter().any(|s| s.identity_mismatch);
    let message = if outcome.signatures.is_empty() {
        format!("{}: the signature manifest has no layers", outcome.image)
    } else if signing == 0 {
        format!(
            "no valid signature on {} {by} ({})",
            outcome.image,
            problems.join("; ")
        )
    } else {
        format!(
            "{} is signed by {counted}, --threshold asks for {}",
            outcome.image, outcome.threshold
        )
    };
    let code = if mismatch {
        Code::IdentityMismatch
    } else {
        Code::SignatureInvalid
    };
    outcome.findings.push(finding(code, message));
}

pub(super) fn attestation_findings(
    material: &Material,
    layers: &[AttestationEvidence],
    wanted: &[PredicateType],
    outcome: &mut VerifyOutcome,
) {
    let digest = outcome.digest.clone();
    for want in wanted {
        let uri = want.uri();
        let mut verified_by = BTreeSet::new();
        let mut problems = Vec::new();
        let mut claims: Vec<super::claims::ClaimCheck> = Vec::new();
        let mut claimed = false;
        for layer in layers {
            let statement_type = match &layer.statement {
                Some(Ok(st)) => Some(st.predicate_type.as_str()),
                _ => None,
            };
            if !layer.claims.contains(uri) && statement_type != Some(uri) {
                continue;
            }
            claimed = true;
            let at = short_layer(&layer.source);
            match (&layer.statement, &layer.problem) {
                (_, Some(problem)) => problems.push(format!("{at}: {problem}")),
                (Some(Err(e)), _) => problems.push(format!("{at}: {e}")),
                (Some(Ok(st)), _) if st.predicate_type != uri => problems.push(format!(
                    "{at}: the signed statement's predicateType is {:?}",
                    st.predicate_type
                )),
                (Some(Ok(st)), _) if !st.names_digest(digest.hex()) => problems.push(format!(
                    "{at}: the statement's subject is {}, not {digest}",
                    st.subjects
                        .iter()
                        .map(|(_, d)| format!("sha256:{d}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                        .chars()
                        .take(200)
                        .collect::<String>()
                )),
                (Some(Ok(_)), _) => {
                    verified_by.extend(layer.signed_by.iter().cloned());
                    super::claims::extend_distinct(&mut claims, &layer.certificate_claims);
                }
                (None, None) => problems.push(format!("{at}: not verified")),
            }
        }
        let status = if verified_by.len() >= outcome.threshold {
            AttestationStatus::Verified
        } else if !claimed {
            outcome.findings.push(finding(
                Code::AttestationMissing,
                format!(
                    "{} has no {uri} attestation{}",
                    outcome.image,
                    if material.any_attestation_material() {
                        String::new()
                    } else {
                        format!(
                            " (no sha256-{}.att and no attestation referrer in the registry)",
                            digest.hex()
                        )
                    }
                ),
            ));
            AttestationStatus::Missing
        } else {
            let message = if verified_by.is_empty() {
                format!(
                    "no valid {uri} attestation on {}: {}",
                    outcome.image,
                    problems.join("; ")
                )
            } else {
                format!(
                    "the {uri} attestation on {} is signed by {} distinct signer{}, --threshold asks for {}",
                    outcome.image,
                    verified_by.len(),
                    if verified_by.len() == 1 { "" } else { "s" },
                    outcome.threshold
                )
            };
            outcome
                .findings
                .push(finding(Code::AttestationInvalid, message));
            AttestationStatus::Invalid
        };
        outcome.attestations.push(AttestationCheck {
            predicate_type: uri.to_string(),
            status,
            verified_by: verified_by.into_iter().collect(),
            problems,
            claims,
        });
    }
}

/// The `provenance = { ... }` check: every verified SLSA provenance statement (v0.2 or
/// v1) of this digest must say what the policy says; none at all fails the check.
/// Only statements whose signature verified under the policy are read: the predicate is
/// kept on verified statements only ([`super::dsse::Statement::predicate`]).
pub(super) fn provenance_findings(
    material: &Material,
    layers: &[AttestationEvidence],
    want: &provenance::Requirements,
    outcome: &mut VerifyOutcome,
) {
    let digest = outcome.digest.clone();
    let mut check = ProvenanceCheck {
        required: want.describe(),
        statements: 0,
        mismatches: 0,
    };
    let mut unverified = Vec::new();
    for (_, st) in verified_statements(layers, &digest, provenance::is_provenance, &mut unverified)
    {
        // A verified statement always keeps its predicate; were it ever absent, Null has
        // none of the fields, so every one is a mismatch (closed).
        let null = serde_json::Value::Null;
        let predicate = st.predicate.as_ref().unwrap_or(&null);
        check.statements += 1;
        for mismatch in provenance::check(want, &st.predicate_type, predicate) {
            check.mismatches += 1;
            outcome.findings.push(finding(
                Code::ProvenanceMismatch,
                format!(
                    "the {} provenance of {} does not match the policy: {mismatch}",
                    st.predicate_type, outcome.image
                ),
            ));
        }
    }
    if check.statements == 0 {
        let (code, why) = none_verified(material, &digest, &unverified);
        outcome.findings.push(finding(
            code,
            format!(
                "{} has no verified SLSA provenance attestation ({} or {}), so provenance = {{ {} }} could not be checked{why}",
                outcome.image,
                provenance::SLSA_V02,
                provenance::SLSA_V1,
                check.required
            ),
        ));
    }
    outcome.provenance = Some(check);
}

/// `audit-sbom = true`: the SBOM of every verified SBOM attestation (SPDX or CycloneDX)
/// whose subject is this digest, for the caller to audit. None is a failing finding
/// (`attestation-missing`, or `attestation-invalid` when one exists but did not verify or
/// names another digest): an image whose SBOM cannot be trusted is never audited as clean.
pub(super) fn sbom_findings(
    material: &Material,
    layers: &[AttestationEvidence],
    outcome: &mut VerifyOutcome,
) {
    let digest = outcome.digest.clone();
    let mut sboms = Vec::new();
    let mut unverified = Vec::new();
    for (at, st) in verified_statements(layers, &digest, sbom::is_sbom, &mut unverified) {
        // A verified statement always keeps its predicate; were it ever absent, Null is
        // no SBOM, and the audit refuses it (closed).
        let null = serde_json::Value::Null;
        let predicate = st.predicate.as_ref().unwrap_or(&null);
        sboms.push(sbom::AttestedSbom::new(&st.predicate_type, at, predicate));
    }
    if sboms.is_empty() {
        let (code, why) = none_verified(material, &digest, &unverified);
        outcome.findings.push(finding(
            code,
            format!(
                "{} has no verified SBOM attestation ({} or {}), so audit-sbom = true could not audit what it contains{why}",
                outcome.image,
                sbom::SPDX_DOCUMENT,
                sbom::CYCLONEDX_BOM,
            ),
        ));
    }
    outcome.sbom = Some(sbom::SbomCheck { sboms });
}

/// The distinct certificate claims checked on the statements that verified and are about
/// this digest, of any kind.
pub(super) fn statement_claims(
    layers: &[AttestationEvidence],
    digest: &super::Digest,
) -> Vec<super::claims::ClaimCheck> {
    let mut claims = Vec::new();
    for layer in layers {
        if verified_statement(layer, digest, |_| true, &mut Vec::new()).is_some() {
            super::claims::extend_distinct(&mut claims, &layer.certificate_claims);
        }
    }
    claims
}

/// The signature-verified statements of one kind (by predicate type) whose subject is this
/// digest, each with its layer's short name: the one place the provenance and SBOM checks
/// decide which statements they may read. A layer that claims the kind but did not verify,
/// or a verified one naming another digest, is not read; its reason goes to `unverified`.
fn verified_statements<'a>(
    layers: &'a [AttestationEvidence],
    digest: &super::Digest,
    is_kind: fn(&str) -> bool,
    unverified: &mut Vec<String>,
) -> Vec<(&'a str, &'a super::dsse::Statement)> {
    layers
        .iter()
        .filter_map(|layer| {
            verified_statement(layer, digest, is_kind, unverified)
                .map(|st| (short_layer(&layer.source), st))
        })
        .collect()
}

/// One layer's statement, when its signature verified, it is of the kind and it is about
/// this digest; otherwise why not goes to `unverified` (when the layer claims the kind).
fn verified_statement<'a>(
    layer: &'a AttestationEvidence,
    digest: &super::Digest,
    is_kind: fn(&str) -> bool,
    unverified: &mut Vec<String>,
) -> Option<&'a super::dsse::Statement> {
    let at = short_layer(&layer.source);
    let verified = match &layer.statement {
        Some(Ok(st)) if layer.problem.is_none() && !layer.signed_by.is_empty() => Some(st),
        _ => None,
    };
    let Some(st) = verified else {
        if layer.claims.iter().any(|c| is_kind(c)) {
            unverified.push(match (&layer.problem, &layer.statement) {
                (Some(problem), _) => format!("{at}: {problem}"),
                (None, Some(Err(e))) => format!("{at}: {e}"),
                _ => format!("{at}: not verified"),
            });
        }
        return None;
    };
    if !is_kind(&st.predicate_type) {
        return None;
    }
    if !st.names_digest(digest.hex()) {
        unverified.push(format!("{at}: the statement's subject is not {digest}"));
        return None;
    }
    Some(st)
}

/// When no statement of a kind verified: `attestation-invalid` if one claimed it but was
/// not read (with the reasons), else `attestation-missing` (saying when the registry has
/// no attestation material at all).
fn none_verified(
    material: &Material,
    digest: &super::Digest,
    unverified: &[String],
) -> (Code, String) {
    if !unverified.is_empty() {
        return (
            Code::AttestationInvalid,
            format!(": {}", unverified.join("; ")),
        );
    }
    let why = if material.any_attestation_material() {
        String::new()
    } else {
        format!(
            " (no sha256-{}.att and no attestation referrer in the registry)",
            digest.hex()
        )
    };
    (Code::AttestationMissing, why)
}

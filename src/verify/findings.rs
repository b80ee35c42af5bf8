//! From evidence to findings: how many distinct signers the policy needed, how many it
//! got, and for each asked predicate type whether an attestation holds.

use std::collections::BTreeSet;

use super::evidence::{AttestationEvidence, short_layer};
use super::material::Material;
use super::{
    AttestationCheck, AttestationStatus, PredicateType, SignatureCheck, VerifyOutcome, finding,
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
                (Some(Ok(_)), _) => verified_by.extend(layer.signed_by.iter().cloned()),
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
        });
    }
}

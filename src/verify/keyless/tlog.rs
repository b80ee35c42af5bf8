//! Rekor (v1) transparency log entries, verified offline.
//!
//! - The inclusion promise (SET) is the log key's signature over the canonical JSON
//!   `{"body":<base64 body>,"integratedTime":<n>,"logID":"<hex log id>","logIndex":<n>}`
//!   (keys sorted, no spaces: RFC 8785 for these four plain fields). It is what makes
//!   `integratedTime` trustworthy, so it is required: without it there is no signing time
//!   and verification fails closed.
//! - The inclusion proof, when present, is an RFC 6962 / RFC 9162 §2.1.3.2 audit path from
//!   the leaf hash `SHA256(0x00 || body)` to the root hash of a checkpoint, and the
//!   checkpoint is a signed note (`origin\nsize\nbase64 root\n[...]\n\n— name
//!   base64(keyhint[4] || signature)\n`) whose signature by the log key must verify.
//! - The entry body must bind the same signature, certificate and digest as the artifact
//!   being verified (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2), or a valid log entry
//!   for something else could be replayed (CVE-2022-36056).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Failure;
use super::cert::{hex, parse_pem_chain};
use super::trusted_root::{LogKey, TrustedRoot};

/// One log entry, from a bundle's `tlogEntries[]` or a cosign `dev.sigstore.cosign/bundle`.
#[derive(Clone, Debug)]
pub struct TlogEntry {
    pub log_index: i64,
    pub log_id: Vec<u8>,
    pub integrated_time: i64,
    /// The canonicalized body, decoded from base64.
    pub body: Vec<u8>,
    pub set: Option<Vec<u8>>,
    pub proof: Option<InclusionProof>,
}

#[derive(Clone, Debug)]
pub struct InclusionProof {
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Vec<u8>,
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: String,
}

/// What the entry body must say.
pub enum Expected<'a> {
    /// hashedrekord: sha256 of the signed bytes and the raw signature.
    Hashed {
        sha256: &'a [u8],
        signature: &'a [u8],
    },
    /// dsse / intoto: the envelope payload and its (single) raw signature.
    Envelope {
        payload: &'a [u8],
        signature: &'a [u8],
    },
}

fn bad(msg: impl Into<String>) -> Failure {
    Failure::TlogEntryInvalid(msg.into())
}

/// The exact bytes the SET signs.
pub fn set_message(body: &[u8], integrated_time: i64, log_id: &[u8], log_index: i64) -> Vec<u8> {
    // Field order is the sorted order; serde_json renders strings with JSON escaping
    // (base64 and hex need none) and integers plainly.
    format!(
        "{{\"body\":{},\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
        Value::String(STANDARD.encode(body)),
        integrated_time,
        hex(log_id),
        log_index
    )
    .into_bytes()
}

/// Verifies the entry against the trusted root and returns the signing time it proves.
pub fn verify_entry(
    entry: &TlogEntry,
    root: &TrustedRoot,
    leaf_der: &[u8],
    expected: &Expected<'_>,
) -> Result<Timestamp, Failure> {
    let log = root.tlog(&entry.log_id).ok_or_else(|| {
        bad(format!(
            "entry is from log {} which is not in the trusted root",
            hex(&entry.log_id)
        ))
    })?;
    let set = entry.set.as_ref().ok_or_else(|| {
        bad("entry has no inclusion promise (SET), so its integrated time is unproven")
    })?;
    let msg = set_message(
        &entry.body,
        entry.integrated_time,
        &entry.log_id,
        entry.log_index,
    );
    log.key
        .verify(&msg, set)
        .map_err(|_| bad("signed entry timestamp does not verify with the log key"))?;
    let t = Timestamp::from_second(entry.integrated_time)
        .map_err(|e| bad(format!("integratedTime: {e}")))?;
    if !log.valid_for.contains(t) {
        return Err(bad(format!("log key {} is not valid at {t}", log.base_url)));
    }
    if let Some(proof) = &entry.proof {
        verify_inclusion(proof, &entry.body, log)?;
    }
    check_body(&entry.body, leaf_der, expected)?;
    Ok(t)
}

fn node(left: &[u8], right: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().to_vec()
}

pub fn leaf_hash(body: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(body);
    h.finalize().to_vec()
}

/// RFC 9162 §2.1.3.2: the root hash an audit path implies.
pub fn root_from_proof(
    index: u64,
    size: u64,
    leaf: &[u8],
    path: &[Vec<u8>],
) -> Result<Vec<u8>, Failure> {
    if index >= size {
        return Err(bad("inclusion proof index is outside the tree"));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf.to_vec();
    for p in path {
        if snode == 0 {
            return Err(bad("inclusion proof is longer than the tree is deep"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(bad("inclusion proof is shorter than the tree is deep"));
    }
    Ok(r)
}

fn verify_inclusion(proof: &InclusionProof, body: &[u8], log: &LogKey) -> Result<(), Failure> {
    if proof.hashes.iter().any(|h| h.len() != 32) || proof.root_hash.len() != 32 {
        return Err(bad("inclusion proof hashes must be 32 bytes"));
    }
    let root = root_from_proof(
        proof.log_index,
        proof.tree_size,
        &leaf_hash(body),
        &proof.hashes,
    )?;
    if root != proof.root_hash {
        return Err(bad("inclusion proof does not lead to the stated root hash"));
    }
    let (size, root_hash) = verify_checkpoint(&proof.checkpoint, log)?;
    if size != proof.tree_size || root_hash != proof.root_hash {
        return Err(bad(
            "checkpoint is for a different tree than the inclusion proof",
        ));
    }
    Ok(())
}

/// Verifies a signed-note checkpoint with the log key; returns (tree size, root hash).
pub fn verify_checkpoint(envelope: &str, log: &LogKey) -> Result<(u64, Vec<u8>), Failure> {
    let split = envelope
        .find("\n\n")
        .ok_or_else(|| bad("checkpoint is not a signed note"))?;
    let text = &envelope[..split + 1];
    let sigs = &envelope[split + 2..];
    let mut lines = text.lines();
    let _origin = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("checkpoint has no origin"))?;
    let size: u64 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| bad("checkpoint tree size is not a number"))?;
    let root_hash = lines
        .next()
        .and_then(|l| STANDARD.decode(l).ok())
        .ok_or_else(|| bad("checkpoint root hash is not base64"))?;
    let hint = &log.log_id[..4];
    let mut any = false;
    for line in sigs.lines().filter(|l| !l.is_empty()) {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| bad("checkpoint signature line does not start with an em dash"))?;
        let (_name, sig_b64) = rest
            .rsplit_once(' ')
            .ok_or_else(|| bad("checkpoint signature line has no signature"))?;
        let sig = STANDARD
            .decode(sig_b64)
            .map_err(|_| bad("checkpoint signature is not base64"))?;
        if sig.len() < 5 || &sig[..4] != hint {
            continue;
        }
        log.key
            .verify(text.as_bytes(), &sig[4..])
            .map_err(|_| bad("checkpoint signature does not verify with the log key"))?;
        any = true;
    }
    if !any {
        return Err(bad("checkpoint carries no signature from the log key"));
    }
    Ok((size, root_hash))
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn get_str<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str, Failure> {
    get(v, path)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("entry body has no {}", path.join("."))))
}

fn b64_field(v: &Value, path: &[&str]) -> Result<Vec<u8>, Failure> {
    STANDARD
        .decode(get_str(v, path)?)
        .map_err(|_| bad(format!("entry body {} is not base64", path.join("."))))
}

/// The PEM certificate (base64 of PEM) in the body is the leaf.
fn same_cert(b64_pem: &[u8], leaf_der: &[u8]) -> Result<bool, Failure> {
    let pem = std::str::from_utf8(b64_pem).map_err(|_| bad("entry body public key is not PEM"))?;
    let certs =
        parse_pem_chain(pem).map_err(|_| bad("entry body public key is not a PEM certificate"))?;
    Ok(certs.first().is_some_and(|(der, _)| der == leaf_der))
}

fn check_hash(v: &Value, path: &[&str], want: &[u8]) -> Result<(), Failure> {
    let mut alg = path.to_vec();
    alg.push("algorithm");
    let mut val = path.to_vec();
    val.push("value");
    if get_str(v, &alg)? != "sha256" {
        return Err(bad(format!("entry body {} is not sha256", path.join("."))));
    }
    if !get_str(v, &val)?.eq_ignore_ascii_case(&hex(want)) {
        return Err(bad(format!(
            "entry body {} does not match the signed content",
            path.join(".")
        )));
    }
    Ok(())
}

/// The body binds this signature, this certificate and this content.
pub fn check_body(body: &[u8], leaf_der: &[u8], expected: &Expected<'_>) -> Result<(), Failure> {
    let v: Value = serde_json::from_slice(body).map_err(|_| bad("entry body is not JSON"))?;
    let kind = get_str(&v, &["kind"])?;
    let version = get_str(&v, &["apiVersion"])?;
    match (kind, version, expected) {
        ("hashedrekord", "0.0.1", Expected::Hashed { sha256, signature }) => {
            check_hash(&v, &["spec", "data", "hash"], sha256)?;
            if b64_field(&v, &["spec", "signature", "content"])? != *signature {
                return Err(bad("entry body holds a different signature"));
            }
            if !same_cert(
                &b64_field(&v, &["spec", "signature", "publicKey", "content"])?,
                leaf_der,
            )? {
                return Err(bad("entry body holds a different certificate"));
            }
            Ok(())
        }
        ("dsse", "0.0.1", Expected::Envelope { payload, signature }) => {
            check_hash(&v, &["spec", "payloadHash"], &Sha256::digest(payload))?;
            let sigs = get(&v, &["spec", "signatures"])
                .and_then(Value::as_array)
                .ok_or_else(|| bad("entry body has no spec.signatures"))?;
            for s in sigs {
                if b64_field(s, &["signature"])? == *signature
                    && same_cert(&b64_field(s, &["verifier"])?, leaf_der)?
                {
                    return Ok(());
                }
            }
            Err(bad("entry body holds a different signature or certificate"))
        }
        ("intoto", "0.0.2", Expected::Envelope { payload, signature }) => {
            check_hash(
                &v,
                &["spec", "content", "payloadHash"],
                &Sha256::digest(payload),
            )?;
            let sigs = get(&v, &["spec", "content", "envelope", "signatures"])
                .and_then(Value::as_array)
                .ok_or_else(|| bad("entry body has no envelope signatures"))?;
            for s in sigs {
                // intoto 0.0.2 stores the signature base64-encoded twice.
                let sig = b64_field(s, &["sig"])?;
                let sig = STANDARD.decode(&sig).unwrap_or_default();
                if sig == *signature && same_cert(&b64_field(s, &["publicKey"])?, leaf_der)? {
                    return Ok(());
                }
            }
            Err(bad("entry body holds a different signature or certificate"))
        }
        (kind, version, _) => Err(bad(format!(
            "entry kind {kind} {version} does not fit this signature (supported: hashedrekord 0.0.1 for message signatures, dsse 0.0.1 / intoto 0.0.2 for DSSE)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(x: &[u8]) -> Vec<u8> {
        leaf_hash(x)
    }

    /// The RFC 6962 tree hash of leaves, computed directly (the definition, for checking).
    fn mth(leaves: &[Vec<u8>]) -> Vec<u8> {
        if leaves.len() == 1 {
            return leaves[0].clone();
        }
        let k = split(leaves.len());
        node(&mth(&leaves[..k]), &mth(&leaves[k..]))
    }

    /// The largest power of two smaller than n.
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn path(leaves: &[Vec<u8>], m: usize) -> Vec<Vec<u8>> {
        let n = leaves.len();
        if n == 1 {
            return vec![];
        }
        let k = split(n);
        if m < k {
            let mut p = path(&leaves[..k], m);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(&leaves[k..], m - k);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    #[test]
    fn audit_paths_verify_for_every_leaf_of_trees_up_to_17() {
        for n in 1..=17usize {
            let leaves: Vec<Vec<u8>> = (0..n).map(|i| h(format!("leaf{i}").as_bytes())).collect();
            let root = mth(&leaves);
            for m in 0..n {
                let p = path(&leaves, m);
                let got = root_from_proof(m as u64, n as u64, &leaves[m], &p).unwrap();
                assert_eq!(got, root, "n={n} m={m}");
                // A wrong index or a wrong sibling gives another root or an error.
                if n > 1 {
                    let other = (m + 1) % n;
                    assert_ne!(
                        root_from_proof(other as u64, n as u64, &leaves[m], &p).ok(),
                        Some(root.clone()),
                        "n={n} m={m}"
                    );
                }
            }
        }
    }

    #[test]
    fn index_outside_the_tree_is_refused() {
        assert!(root_from_proof(3, 3, &h(b"x"), &[]).is_err());
        assert!(root_from_proof(0, 2, &h(b"x"), &[]).is_err());
        assert!(root_from_proof(0, 1, &h(b"x"), &[h(b"y")]).is_err());
    }

    #[test]
    fn set_message_is_sorted_compact_json() {
        let m = set_message(b"{}", 5, &[0xab, 0x01], 7);
        assert_eq!(
            String::from_utf8(m).unwrap(),
            r#"{"body":"e30=","integratedTime":5,"logID":"ab01","logIndex":7}"#
        );
    }
}

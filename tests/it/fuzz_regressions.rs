//! Inputs the fuzzers (fuzz/, scripts/fuzz.sh) once crashed, hung or blew up on, kept
//! under fuzz/regressions/<target>/ and replayed through the same entry points: each
//! must now return (an error is fine) instead of panicking. The seeds the fuzzers start
//! from (fuzz/corpus/<target>/seed-*) are replayed too, so every target's entry point
//! runs in CI even when no regression has been found for it.

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use vouch::lockfile::{Format, Parser, parse_detached};
use vouch::package::Ecosystem;
use vouch::verify::identity::{IdentityPolicy, Matcher};
use vouch::verify::sigstore::{self, RootSource, Subject, TrustRoot, legacy};

use crate::common::repo;

/// Runs one input through `target`'s entry point, as the fuzz target does.
fn replay(target: &str, data: &[u8]) {
    // libfuzzer-sys builds a `&str` target's input with `Arbitrary`, which takes the
    // longest valid UTF-8 prefix of the bytes; do the same.
    let text = match std::str::from_utf8(data) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap(),
    };
    let lockfile = |format| {
        let _ = parse_detached(Parser::Lockfile(format), text);
    };
    match target {
        "lockfile_cargo" => lockfile(Format::CargoLock),
        "lockfile_npm" => lockfile(Format::NpmLock),
        "lockfile_yarn" => lockfile(Format::YarnLock),
        "lockfile_pnpm" => lockfile(Format::PnpmLock),
        "lockfile_requirements" => lockfile(Format::RequirementsTxt),
        "lockfile_poetry" => lockfile(Format::PoetryLock),
        "lockfile_uv" => lockfile(Format::UvLock),
        "lockfile_pipfile" => lockfile(Format::PipfileLock),
        "lockfile_gomod" => lockfile(Format::GoMod),
        "sbom" => {
            let _ = parse_detached(Parser::Sbom, text);
            for format in [
                Format::SpdxJson,
                Format::SpdxTagValue,
                Format::CycloneDxJson,
            ] {
                lockfile(format);
            }
        }
        "lockfile_gosum" => {
            let _ = parse_detached(Parser::GoSum, text);
        }
        "advisory_rustsec" => {
            let _ = vouch::advisory::rustsec::parse(Path::new("x.md"), "fuzzed", text);
        }
        "advisory_osv" => {
            if let Some((&selector, record)) = data.split_first() {
                let ecosystem = match selector % 4 {
                    0 => Ecosystem::Cargo,
                    1 => Ecosystem::Npm,
                    2 => Ecosystem::PyPI,
                    _ => Ecosystem::Go,
                };
                let _ = vouch::advisory::osv::parse_record(record, ecosystem, "1.2.3");
            }
        }
        "waivers" => {
            let _ = vouch::waiver::WaiverFile::parse(Path::new("w.toml"), text);
        }
        "policy" => {
            let _ = vouch::policy::Policy::parse(Path::new("vouch.toml"), text);
        }
        "oci_manifest" => {
            use vouch::verify::oci::{ImageIndex, ImageManifest};
            if let Ok(manifest) = ImageManifest::parse(data) {
                let _ = manifest.declared_artifact_type();
            }
            let _ = ImageIndex::parse(data);
        }
        "simple_signing" => {
            let _ = vouch::verify::simple_signing::check(data, &format!("sha256:{SEED_DIGEST}"));
        }
        "dsse" => {
            use vouch::verify::dsse::{Envelope, Statement};
            if let Ok(envelope) = Envelope::parse(data) {
                let _ = envelope.pae();
                if let Ok(statement) = envelope.statement() {
                    let _ = statement.names_digest(SEED_DIGEST);
                }
            }
            if let Ok(statement) = Statement::parse(data) {
                let _ = statement.names_digest(SEED_DIGEST);
            }
        }
        "trusted_root" => {
            if let Ok(root) = TrustRoot::from_bytes(RootSource::Embedded, data) {
                let _ = root.describe();
            }
        }
        "sigstore_bundle" => {
            if let Ok(bundle) = sigstore::parse_bundle(data) {
                let subject = sigstore::claimed_sha256(&bundle).unwrap_or([0; 32]);
                let root = public_good_root();
                let _ = sigstore::verify_keyless(
                    root,
                    &bundle,
                    Subject::Sha256(subject),
                    &any_identity(),
                );
                let _ =
                    sigstore::verify_keyless(root, &bundle, Subject::Bytes(data), &any_identity());
            }
        }
        "cosign_legacy" => {
            // NUL-separated parts, as fuzz/fuzz_targets/cosign_legacy.rs splits them.
            let mut parts = data.splitn(5, |&b| b == 0);
            let payload = parts.next().unwrap_or_default();
            let mut text =
                || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let (signature, cert, chain, rekor) = (text(), text(), text(), text());
            let annotations = legacy::Annotations {
                signer: vouch::verify::sigstore::legacy::Signer::Certificate(&cert),
                chain_pem: (!chain.is_empty()).then_some(chain.as_str()),
                rekor_bundle: (!rekor.is_empty()).then_some(rekor.as_str()),
            };
            let root = selfmade_root();
            if let Ok(bundle) = legacy::signature_bundle(payload, &signature, &annotations) {
                let _ = sigstore::verify_keyless(
                    root,
                    &bundle,
                    Subject::Bytes(payload),
                    &any_identity(),
                );
            }
            let dsse = "application/vnd.in-toto+json";
            if let Ok(bundle) =
                legacy::attestation_bundle(dsse, payload, signature.as_bytes(), &annotations)
            {
                let _ = sigstore::verify_keyless(
                    root,
                    &bundle,
                    Subject::Sha256([0; 32]),
                    &any_identity(),
                );
            }
        }
        "public_key" => {
            if let Ok(key) = vouch::verify::PublicKey::from_pem(&String::from_utf8_lossy(data)) {
                let _ = key.fingerprint();
                let _ = key.verify(b"message", data);
            }
            if let Ok(key) = vouch::verify::PublicKey::from_spki_der(data) {
                let _ = key.verify(b"message", data);
            }
        }
        "registry_text" => {
            use vouch::verify::registry::{Challenge, Digest, Reference};
            let _ = Challenge::parse(text);
            if let Ok(reference) = Reference::parse(text) {
                let _ = reference.api_host();
                if let Some(digest) = &reference.digest {
                    let _ = reference.with_digest(digest);
                }
            }
            let _ = Digest::parse(text);
            use vouch::verify::registry::docker_config::Entry;
            if let Ok(entry) = Entry::parse(text, "registry.example", "config.json") {
                let _ = entry.inline_credentials();
            }
        }
        other => panic!("fuzz/{other}: no replay for this target; add one here"),
    }
}

/// The image digest the `simple_signing` and `dsse` targets check against.
const SEED_DIGEST: &str = "9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725";

/// The trusted roots the keyless targets verify against (the embedded one, and the
/// committed self-made one), prepared once.
fn public_good_root() -> &'static TrustRoot {
    static ROOT: OnceLock<TrustRoot> = OnceLock::new();
    ROOT.get_or_init(|| TrustRoot::embedded().unwrap())
}

fn selfmade_root() -> &'static TrustRoot {
    static ROOT: OnceLock<TrustRoot> = OnceLock::new();
    ROOT.get_or_init(|| {
        let json = fs::read(repo().join("fuzz/fixtures/selfmade-trusted-root.json"));
        TrustRoot::from_bytes(RootSource::Embedded, &json.unwrap()).unwrap()
    })
}

/// The keyless targets' policy: any identity from any issuer.
fn any_identity() -> IdentityPolicy {
    IdentityPolicy::new(Matcher::regex(".*").unwrap(), Matcher::regex(".*").unwrap())
}

fn replay_dir(dir: &Path, only_seeds: bool) -> usize {
    let mut count = 0;
    let Ok(targets) = fs::read_dir(dir) else {
        return 0;
    };
    for target in targets {
        let target = target.unwrap().path();
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        for input in fs::read_dir(&target).unwrap() {
            let input = input.unwrap().path();
            let file = input.file_name().unwrap().to_string_lossy().into_owned();
            if only_seeds && !file.starts_with("seed-") {
                continue;
            }
            replay(&name, &fs::read(&input).unwrap());
            count += 1;
        }
    }
    count
}

#[test]
fn every_saved_crash_input_now_returns() {
    replay_dir(&repo().join("fuzz/regressions"), false);
}

#[test]
fn every_fuzz_target_has_seeds_and_a_replay() {
    let targets: Vec<String> = fs::read_dir(repo().join("fuzz/fuzz_targets"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for target in &targets {
        let seeds = repo().join("fuzz/corpus").join(target);
        assert!(
            fs::read_dir(&seeds).is_ok_and(|mut d| d.next().is_some()),
            "fuzz target {target} has no seeds in {}",
            seeds.display()
        );
        replay(target, b"");
    }
    assert!(replay_dir(&repo().join("fuzz/corpus"), true) >= targets.len());
}

/// The keyless targets start from inputs that verify completely, so mutations reach every
/// check rather than stopping at the first refusal.
#[test]
fn the_keyless_targets_valid_seeds_verify_completely() {
    let seed = fs::read(repo().join("fuzz/corpus/cosign_legacy/seed-valid")).unwrap();
    let mut parts = seed.splitn(5, |&b| b == 0);
    let payload = parts.next().unwrap();
    let mut text = || String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
    let (signature, cert, chain, rekor) = (text(), text(), text(), text());
    let annotations = legacy::Annotations {
        signer: vouch::verify::sigstore::legacy::Signer::Certificate(&cert),
        chain_pem: Some(&chain),
        rekor_bundle: Some(&rekor),
    };
    let bundle = legacy::signature_bundle(payload, &signature, &annotations).unwrap();
    sigstore::verify_keyless(
        selfmade_root(),
        &bundle,
        Subject::Bytes(payload),
        &any_identity(),
    )
    .unwrap();

    for name in [
        "seed-conformance-happy-path-v0.3.json",
        "seed-rfc8785-whl-v02-message-hashedrekord.json",
        "seed-conda-v03-dsse.json",
    ] {
        let data = fs::read(repo().join("fuzz/corpus/sigstore_bundle").join(name)).unwrap();
        let bundle = sigstore::parse_bundle(&data).unwrap();
        let subject = sigstore::claimed_sha256(&bundle).unwrap();
        sigstore::verify_keyless(
            public_good_root(),
            &bundle,
            Subject::Sha256(subject),
            &any_identity(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

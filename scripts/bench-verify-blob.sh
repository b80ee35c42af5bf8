#!/usr/bin/env bash
# Times `vouch verify-blob` against `cosign verify-blob --offline` on the same Sigstore
# bundle and the same trusted root, in one hyperfine run: the sigstore-conformance
# `happy-path-v0.3` case (a v0.3 message-signature bundle from the public-good instance:
# Fulcio certificate with SCT, Rekor v1 entry with SET, inclusion proof and checkpoint)
# over ../shared/sigstore-conformance/bundle-verify/a.txt, against the public-good trusted
# root that vouch also embeds. Both are given the root explicitly, so neither fetches
# anything. Both must verify before they are timed.
#
# usage: scripts/bench-verify-blob.sh    (needs hyperfine and cosign:
#                                         scripts/ci/install-verify-tools.sh installs them)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine cosign; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
suite=../shared/sigstore-conformance
[[ -d $suite/bundle-verify ]] || { echo "$suite not found (see ../shared/sigstore-conformance/README.md)" >&2; exit 2; }
cargo build --release --quiet
vouch=$PWD/target/release/vouch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# cosign keeps its TUF cache under HOME and TUF_ROOT: an empty one here, never fetched
# with --offline and --trusted-root.
export HOME=$work TUF_ROOT=$work/tuf

bundle=$suite/bundle-verify/happy-path-v0.3/bundle.sigstore.json
artifact=$suite/bundle-verify/a.txt
root=$suite/roots/public-good-trusted_root.json
identity=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
issuer=https://token.actions.githubusercontent.com

vouch_cmd="$vouch verify-blob --bundle $bundle --trusted-root $root --certificate-identity $identity --certificate-oidc-issuer $issuer $artifact"
cosign_cmd="cosign verify-blob --new-bundle-format --offline --bundle $bundle --trusted-root $root --certificate-identity $identity --certificate-oidc-issuer $issuer $artifact"
$vouch_cmd >/dev/null
$cosign_cmd >/dev/null 2>&1

hyperfine --warmup 5 --runs "${RUNS:-50}" -N \
  -n "vouch verify-blob" "$vouch_cmd" \
  -n "cosign verify-blob --offline" "$cosign_cmd"

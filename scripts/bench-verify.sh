#!/usr/bin/env bash
# Times one keyed verification by `vouch verify --insecure-ignore-tlog` against `cosign verify --key
# --insecure-ignore-tlog=true` on the same signed image, in one hyperfine run, against a
# docker-registry started here on 127.0.0.1 (stopped on exit). Both also verify the
# image's SLSA provenance attestation in a second comparison (cosign verify-attestation).
#
# usage: scripts/bench-verify.sh    (needs hyperfine, docker-registry, skopeo, cosign:
#                                    scripts/ci/install-verify-tools.sh installs them)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine docker-registry skopeo cosign; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
cargo build --release --quiet
vouch=$PWD/target/release/vouch
work=$(mktemp -d)
cleanup() { stop_registry; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/registry.sh
source "$(dirname "$0")/bench/registry.sh"
start_registry
image=$(push_image bench)

export COSIGN_PASSWORD="" COSIGN_YES=true HOME=$work
cosign_key
echo '{"builder":{"id":"https://bench.invalid/builder"},"buildType":"https://bench.invalid/build"}' >"$work/predicate.json"
cosign sign --key "$work/cosign.key" --tlog-upload=false "$image" >/dev/null 2>&1
cosign attest --key "$work/cosign.key" --type slsaprovenance --predicate "$work/predicate.json" --tlog-upload=false "$image" >/dev/null 2>&1

# Both must pass before they are timed.
"$vouch" verify --key "$work/cosign.pub" --insecure-ignore-tlog "$image" >/dev/null
cosign verify --key "$work/cosign.pub" --insecure-ignore-tlog=true "$image" >/dev/null 2>&1

hyperfine --warmup 3 --runs "${RUNS:-30}" -N \
  -n "vouch verify" "$vouch verify --key $work/cosign.pub --insecure-ignore-tlog $image" \
  -n "cosign verify" "cosign verify --key $work/cosign.pub --insecure-ignore-tlog=true $image"
hyperfine --warmup 3 --runs "${RUNS:-30}" -N \
  -n "vouch verify --attestation-type slsaprovenance" "$vouch verify --key $work/cosign.pub --insecure-ignore-tlog --attestation-type slsaprovenance $image" \
  -n "cosign verify-attestation" "cosign verify-attestation --key $work/cosign.pub --type slsaprovenance --insecure-ignore-tlog=true $image"

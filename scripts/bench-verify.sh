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
registry_pid=""
cleanup() {
  [[ -n "$registry_pid" ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/store
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# A small OCI image (config + one layer), pushed with skopeo.
layout=$work/layout
mkdir -p "$layout/blobs/sha256"
put() { local h; h=$(sha256sum "$1" | cut -c1-64); mv "$1" "$layout/blobs/sha256/$h"; echo "$h"; }
printf 'bench layer %s\n' "$(date +%s%N)" >"$work/layer"; layer_size=$(stat -c%s "$work/layer"); layer=$(put "$work/layer")
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$work/config"
config_size=$(stat -c%s "$work/config"); config=$(put "$work/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
  "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest"
manifest_size=$(stat -c%s "$work/manifest"); manifest=$(put "$work/manifest")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$manifest" "$manifest_size" >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
skopeo copy -q --dest-tls-verify=false --digestfile "$work/digest" "oci:$layout:v1" "docker://127.0.0.1:$port/bench:v1"
image="127.0.0.1:$port/bench@$(cat "$work/digest")"

export COSIGN_PASSWORD="" COSIGN_YES=true HOME=$work
(cd "$work" && cosign generate-key-pair >/dev/null 2>&1)
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

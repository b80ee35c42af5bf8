# Sourced by the verify benchmarks: a docker-registry on 127.0.0.1 and one small image
# pushed to it, in the scratch directory $work (which the caller creates and removes).
#
#   start_registry            starts it; sets $port and $registry_pid (stop_registry stops it)
#   push_image NAME           pushes a fresh one-layer OCI image; prints NAME@sha256:...
#   cosign_key                makes $work/cosign.key and $work/cosign.pub (no password)

start_registry() {
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
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "docker-registry did not come up on 127.0.0.1:$port" >&2
  return 2
}

stop_registry() {
  [[ -n "${registry_pid:-}" ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null || true
}

push_image() {
  local name=$1 layout=$work/layout-$1
  mkdir -p "$layout/blobs/sha256"
  put() { local h; h=$(sha256sum "$1" | cut -c1-64); mv "$1" "$layout/blobs/sha256/$h"; echo "$h"; }
  printf 'bench layer %s %s\n' "$name" "$(date +%s%N)" >"$work/layer"
  local layer_size layer config_size config manifest_size manifest
  layer_size=$(stat -c%s "$work/layer"); layer=$(put "$work/layer")
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$work/config"
  config_size=$(stat -c%s "$work/config"); config=$(put "$work/config")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest"
  manifest_size=$(stat -c%s "$work/manifest"); manifest=$(put "$work/manifest")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
    "$manifest" "$manifest_size" >"$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  skopeo copy -q --dest-tls-verify=false --digestfile "$work/digest" "oci:$layout:v1" "docker://127.0.0.1:$port/$name:v1"
  echo "127.0.0.1:$port/$name@$(cat "$work/digest")"
}

cosign_key() {
  (cd "$work" && COSIGN_PASSWORD="" cosign generate-key-pair >/dev/null 2>&1)
}

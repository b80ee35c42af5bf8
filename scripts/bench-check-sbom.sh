#!/usr/bin/env bash
# Times `vouch check` of an image whose SBOM attestation (N npm packages, default 1,000,
# one of them lodash 4.17.4, waived) is verified and audited (`audit-sbom = true`), once
# with an SPDX 2.3 predicate (`cosign attest --type spdxjson`) and once with CycloneDX 1.6
# (`--type cyclonedx`), against a docker-registry started here on 127.0.0.1. Beside it,
# in the same hyperfine run: `cosign verify-attestation` of the same attestation, which
# verifies it but audits nothing (no tool installs here that does both), and `vouch audit`
# of the SBOM file alone. Advisories: the npm OSV export in ../shared/advisories.
#
# usage: scripts/bench-check-sbom.sh [N=1000]   (needs hyperfine, docker-registry, skopeo,
#                                               cosign: scripts/ci/install-verify-tools.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine docker-registry skopeo cosign; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
n=${1:-1000}
cargo build --release --quiet
vouch=$PWD/target/release/vouch
osv=$PWD/../shared/advisories/osv
work=$(mktemp -d)
cleanup() { stop_registry; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/registry.sh
source "$(dirname "$0")/bench/registry.sh"
start_registry
export COSIGN_PASSWORD="" COSIGN_YES=true HOME=$work VOUCH_CACHE_DIR=$work/cache
cosign_key

python3 - "$n" "$work" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
names = [f"bench-pkg-{i}" for i in range(n - 1)] + ["lodash"]
ver = lambda m: "4.17.4" if m == "lodash" else "1.0.0"
spdx = {
    "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
    "name": "bench", "documentNamespace": "https://bench.invalid/spdx/bench",
    "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: bench"]},
    "packages": [{
        "SPDXID": f"SPDXRef-Package-{i}", "name": m, "versionInfo": ver(m),
        "downloadLocation": "NOASSERTION",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": f"pkg:npm/{m}@{ver(m)}"}],
    } for i, m in enumerate(names)],
}
cdx = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
    {"bom-ref": f"c{i}", "type": "library", "name": m, "version": ver(m),
     "purl": f"pkg:npm/{m}@{ver(m)}"} for i, m in enumerate(names)]}
json.dump(spdx, open(f"{out}/sbom.spdx.json", "w"))
json.dump(cdx, open(f"{out}/sbom.cdx.json", "w"))
PY

declare -A image
for kind in spdxjson cyclonedx; do
  image[$kind]=$(push_image "app-$kind")
  file=$work/sbom.spdx.json; [[ $kind == cyclonedx ]] && file=$work/sbom.cdx.json
  cosign sign --key "$work/cosign.key" --tlog-upload=false "${image[$kind]}" >/dev/null 2>&1
  cosign attest --key "$work/cosign.key" --type "$kind" --predicate "$file" --tlog-upload=false "${image[$kind]}" >/dev/null 2>&1
done

# One policy: both images, keyed (the test key has no log entry: ignore-tlog), their SBOMs
# audited; lodash's advisories are waived so that the gate passes.
expires=$(date -d '+30 days' +%F)
# exit 1: the findings to waive
"$vouch" audit --osv "$osv" --format json "$work/sbom.cdx.json" >"$work/findings.json" || [[ $? == 1 ]]
python3 -c 'import json,sys; [print(i) for i in sorted({f["advisory"]["id"] for f in json.load(sys.stdin)["findings"] if f.get("advisory")})]' <"$work/findings.json" |
  while read -r id; do printf '[[waiver]]\nid = "%s"\nreason = "bench"\nowner = "bench"\nexpires = %s\n' "$id" "$expires"; done \
  >"$work/vouch-waivers.toml"
for kind in spdxjson cyclonedx; do
  printf '[[image]]\nreference = "%s"\nkey = ["cosign.pub"]\nignore-tlog = true\naudit-sbom = true\n' \
    "${image[$kind]%@*}" >"$work/vouch-$kind.toml"
done

# Every command must pass before it is timed.
for kind in spdxjson cyclonedx; do
  "$vouch" check --policy "$work/vouch-$kind.toml" --osv "$osv" --image "${image[$kind]}" >/dev/null
  cosign verify-attestation --key "$work/cosign.pub" --insecure-ignore-tlog=true --type "$kind" "${image[$kind]}" >/dev/null 2>&1
done
echo "$(grep -c '^\[\[waiver' "$work/vouch-waivers.toml") waivers; $n packages per SBOM"

for kind in spdxjson cyclonedx; do
  file=$work/sbom.spdx.json; [[ $kind == cyclonedx ]] && file=$work/sbom.cdx.json
  hyperfine --warmup 3 --runs "${RUNS:-30}" -N \
    -n "vouch check (audit-sbom, $kind)" "$vouch check --policy $work/vouch-$kind.toml --osv $osv --image ${image[$kind]}" \
    -n "cosign verify-attestation --type $kind (no audit)" "cosign verify-attestation --key $work/cosign.pub --insecure-ignore-tlog=true --type $kind ${image[$kind]}" \
    -n "vouch audit $(basename "$file") (no verification)" "$vouch audit --osv $osv --waivers $work/vouch-waivers.toml $file"
done

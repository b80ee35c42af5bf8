#!/usr/bin/env bash
# Times `vouch audit` of a generated SBOM of N packages (default 200,000 npm packages, one
# of them lodash 4.17.4, plus 1,000 maven purls it does not audit) in each format vouch
# reads, side by side in one hyperfine run with the same packages as a package-lock.json
# (vouch's lockfile path: no SBOM-scanning peer tool installs here), and prints each
# run's peak memory. Advisories: the npm OSV export in ../shared/advisories.
#
# usage: scripts/bench-sbom-audit.sh [N=200000]    (needs hyperfine, python3, GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
n=${1:-200000}
cargo build --release --quiet
vouch=$PWD/target/release/vouch
osv=$PWD/../shared/advisories/osv
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

python3 - "$n" "$out" <<'PY'
import json, os, sys
n, out = int(sys.argv[1]), sys.argv[2]
compact = {"separators": (",", ":")}
names = [f"pkg-{i}" for i in range(n - 1)] + ["lodash"]
version = lambda name: "4.17.4" if name == "lodash" else "1.0.0"
components = [{"bom-ref": f"c{i}", "type": "library", "name": m, "version": version(m),
               "purl": f"pkg:npm/{m}@{version(m)}"} for i, m in enumerate(names)]
components += [{"bom-ref": f"m{i}", "type": "library", "name": f"lib{i}",
                "purl": f"pkg:maven/org.example/lib{i}@1.0"} for i in range(1000)]
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components},
          open(f"{out}/big.cdx.json", "w"), **compact)
packages = [{"SPDXID": f"SPDXRef-{i}", "name": m, "versionInfo": version(m),
             "downloadLocation": "NOASSERTION",
             "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                               "referenceLocator": f"pkg:npm/{m}@{version(m)}"}]}
            for i, m in enumerate(names)]
json.dump({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": packages},
          open(f"{out}/big.spdx.json", "w"), **compact)
with open(f"{out}/big.spdx", "w") as f:
    f.write("SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n")
    for i, m in enumerate(names):
        f.write(f"\nPackageName: {m}\nSPDXID: SPDXRef-{i}\nPackageVersion: {version(m)}\n"
                f"PackageDownloadLocation: NOASSERTION\n"
                f"ExternalRef: PACKAGE-MANAGER purl pkg:npm/{m}@{version(m)}\n")
lock = {"": {"name": "big", "version": "1.0.0"}}
lock.update({f"node_modules/{m}": {"version": version(m)} for m in names})
os.makedirs(f"{out}/lock")
json.dump({"name": "big", "version": "1.0.0", "lockfileVersion": 3, "packages": lock},
          open(f"{out}/lock/package-lock.json", "w"), **compact)
PY
ls -l "$out"/big.* "$out"/lock/package-lock.json | awk '{print $5, $9}'

for input in big.cdx.json big.spdx.json big.spdx lock/package-lock.json; do
  # Exit 1: lodash's advisories fail the audit, as they should.
  /usr/bin/time -f "$input: %e s, peak RSS %M KiB" "$vouch" audit --osv "$osv" "$out/$input" >/dev/null || true
done
hyperfine --warmup 1 --min-runs 5 -N --ignore-failure --style basic \
  -n "vouch audit big.cdx.json" "$vouch audit --osv $osv $out/big.cdx.json" \
  -n "vouch audit big.spdx.json" "$vouch audit --osv $osv $out/big.spdx.json" \
  -n "vouch audit big.spdx" "$vouch audit --osv $osv $out/big.spdx" \
  -n "vouch audit package-lock.json" "$vouch audit --osv $osv $out/lock/package-lock.json" \
  2>&1 | grep -Ev '^\s*$'

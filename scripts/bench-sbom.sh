#!/usr/bin/env bash
# Times `vouch sbom` against `cargo sbom` and `cargo cyclonedx` on the same ~1,300-package
# project (fixtures/bench/large) in one paired run (scripts/bench/paired.py: median wall
# and median CPU time, user + system), and prints each SBOM's package count and vouch's
# peak RSS.
# The peers resolve through `cargo metadata`, which downloads every crate on its first
# run: one untimed warm-up run each happens first. A peer that is not installed is left
# out (and said so): vouch is still timed.
#
# usage: scripts/bench-sbom.sh    (needs python3; the peers cargo-sbom and cargo-cyclonedx
#                                  when on PATH, e.g. cargo install --locked cargo-sbom
#                                  cargo-cyclonedx --root DIR)
#   VOUCH_BASELINE=/path/to/another/vouch: that binary too, in the same run
#   RUNS=N: timed rounds (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$PWD/scripts/bench
peers=()
for tool in cargo-sbom cargo-cyclonedx; do
  if command -v "$tool" >/dev/null; then peers+=("$tool"); else echo "$tool is not installed: not timed" >&2; fi
done
has() { [[ " ${peers[*]} " == *" $1 "* ]]; }
cargo build --release --quiet
vouch=$PWD/target/release/vouch
project=$PWD/fixtures/bench/large
out=$(mktemp -d)
trap 'rm -rf "$out"; rm -f "$project"/bench-large.cdx.json' EXIT

# Warm-up (and the package counts).
"$vouch" sbom "$project" -o "$out/vouch.spdx.json"
"$vouch" sbom "$project" --format cyclonedx-json -o "$out/vouch.cdx.json"
if has cargo-sbom; then (cd "$project" && cargo sbom > "$out/cargo-sbom.spdx.json"); fi
if has cargo-cyclonedx; then
  (cd "$project" && cargo cyclonedx --format json --all-features >/dev/null 2>&1 && mv bench-large.cdx.json "$out/cargo-cyclonedx.cdx.json")
fi
python3 - "$out" <<'PY'
import json, sys, os
d = sys.argv[1]
def n(f, key):
    p = os.path.join(d, f)
    return len(json.load(open(p)).get(key, [])) if os.path.exists(p) else "not run"
print(f"packages: lockfile {open('fixtures/bench/large/Cargo.lock').read().count('[[package]]')}, "
      f"vouch spdx {n('vouch.spdx.json', 'packages')}, vouch cyclonedx {n('vouch.cdx.json', 'components')} components + the root, "
      f"cargo sbom {n('cargo-sbom.spdx.json', 'packages')}, cargo cyclonedx {n('cargo-cyclonedx.cdx.json', 'components')} components + the root")
PY

cd "$project"
commands=("vouch sbom (spdx-json)" "$vouch sbom . -o $out/v.json"
  "vouch sbom (cyclonedx-json)" "$vouch sbom . --format cyclonedx-json -o $out/v.cdx.json")
if [[ -n ${VOUCH_BASELINE:-} ]]; then
  commands+=("baseline sbom (spdx-json)" "$VOUCH_BASELINE sbom . -o $out/b.json")
fi
# Their SBOMs go to stdout (cargo sbom) or into the project (cargo cyclonedx).
if has cargo-sbom; then commands+=("cargo sbom" "cargo sbom"); fi
if has cargo-cyclonedx; then commands+=("cargo cyclonedx" "cargo cyclonedx --format json --all-features"); fi
python3 "$bench/paired.py" --runs "${RUNS:-20}" --warmup 2 "${commands[@]}"
/usr/bin/time -f 'vouch sbom (spdx-json) peak RSS: %M KiB' "$vouch" sbom . -o "$out/v.json"

#!/usr/bin/env bash
# Times `vouch sbom` against `cargo sbom` and `cargo cyclonedx` on the same ~1,300-package
# project (fixtures/bench/large) in one hyperfine run, and prints each SBOM's package count.
# The peers resolve through `cargo metadata`, which downloads every crate on its first
# run: one untimed warm-up run each happens first.
#
# usage: scripts/bench-sbom.sh    (needs hyperfine, cargo-sbom and cargo-cyclonedx on PATH,
#                                  e.g. cargo install --locked cargo-sbom cargo-cyclonedx --root DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine cargo-sbom cargo-cyclonedx; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
cargo build --release --quiet
vouch=$PWD/target/release/vouch
project=$PWD/fixtures/bench/large
out=$(mktemp -d)
trap 'rm -rf "$out"; rm -f "$project"/bench-large.cdx.json' EXIT

# Warm-up (and the package counts).
"$vouch" sbom "$project" -o "$out/vouch.spdx.json"
"$vouch" sbom "$project" --format cyclonedx-json -o "$out/vouch.cdx.json"
(cd "$project" && cargo sbom > "$out/cargo-sbom.spdx.json")
(cd "$project" && cargo cyclonedx --format json --all-features >/dev/null 2>&1 && mv bench-large.cdx.json "$out/cargo-cyclonedx.cdx.json")
python3 - "$out" <<'PY'
import json, sys, os
d = sys.argv[1]
def n(f, key): return len(json.load(open(os.path.join(d, f))).get(key, []))
print(f"packages: lockfile {open('fixtures/bench/large/Cargo.lock').read().count('[[package]]')}, "
      f"vouch spdx {n('vouch.spdx.json', 'packages')}, vouch cyclonedx {n('vouch.cdx.json', 'components') + 1}, "
      f"cargo sbom {n('cargo-sbom.spdx.json', 'packages')}, cargo cyclonedx {n('cargo-cyclonedx.cdx.json', 'components') + 1}")
PY

cd "$project"
hyperfine --warmup 2 --min-runs 10 --style basic \
  -n "vouch sbom (spdx-json)" "$vouch sbom . -o $out/v.json" \
  -n "vouch sbom (cyclonedx-json)" "$vouch sbom . --format cyclonedx-json -o $out/v.cdx.json" \
  -n "cargo sbom" "cargo sbom > $out/c.json" \
  -n "cargo cyclonedx" "cargo cyclonedx --format json --all-features"

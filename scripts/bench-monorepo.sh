#!/usr/bin/env bash
# Times `vouch audit` of a polyglot monorepo (~3,300 packages: a 1,344-package Cargo.lock,
# a 1,681-package npm lock v3, a ~200-package uv.lock and skopeo's go.mod/go.sum) against
# RustSec plus all four OSV exports in ../shared/advisories/osv, with a warm cache (the
# OSV name index is built by the warm-up run). Peers do not cover all four ecosystems in
# one run (and osv-scanner, a Go binary, cannot be installed from the registries these
# machines reach), so this measures vouch alone against the 50 ms target (issue 13):
# median wall and median CPU time (user + system) of paired rounds (scripts/bench/paired.py).
#
# usage: scripts/bench-monorepo.sh       (needs python3)
#        BASELINE=/path/to/other/vouch scripts/bench-monorepo.sh
#                                        (also times that binary, in the same run, with a
#                                        cache of its own: an index of another format
#                                        would otherwise be rebuilt on every run of both)
#   RUNS=N: timed rounds (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf ../shared/advisories/rustsec-advisory-db.tar.gz -C "$work"
db=$work
repo=$work/monorepo
mkdir -p "$repo"/{rust,web,py,go}
cp fixtures/bench/large/Cargo.lock "$repo/rust/"
cp fixtures/bench/npm-large/package.json fixtures/bench/npm-large/package-lock.json "$repo/web/"
cp fixtures/bench/python-large/pyproject.toml fixtures/bench/python-large/uv.lock "$repo/py/"
cp fixtures/go/skopeo/go.mod fixtures/go/skopeo/go.sum "$repo/go/"

cargo build --release --quiet
vouch=$PWD/target/release/vouch
export VOUCH_CACHE_DIR=$work/cache
osv=$PWD/../shared/advisories/osv

"$vouch" audit --db "$db" --osv "$osv" --format json "$repo" >"$work/report.json" || true
python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print("packages scanned:", s["packages"], s["packages_by_ecosystem"])
print("findings:", len(r["findings"]))
PY
# vouch exits 1 (the fixtures pin vulnerable versions); that is expected here.
commands=("vouch audit (monorepo, RustSec + 4 OSV exports, warm)"
  "VOUCH_CACHE_DIR=$work/cache $vouch audit --db $db --osv $osv $repo")
if [[ -n "${BASELINE:-}" ]]; then
  commands+=("baseline: $BASELINE" "VOUCH_CACHE_DIR=$work/cache-baseline $BASELINE audit --db $db --osv $osv $repo")
fi
python3 scripts/bench/paired.py --runs "${RUNS:-30}" --warmup 3 "${commands[@]}"
/usr/bin/time -q -f 'vouch peak RSS: %M KiB' "$vouch" audit --db "$db" --osv "$osv" "$repo" >/dev/null || true

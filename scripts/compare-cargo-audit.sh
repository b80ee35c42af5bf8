#!/usr/bin/env bash
# Checks that `vouch audit` reports exactly the advisory set cargo-audit reports for the
# same lockfiles and the same RustSec database: vulnerabilities and informational
# advisories (unmaintained, unsound, notice), compared as (id, package, version) sets.
# cargo-audit's yanked-crate warnings need the live registry index and are left out.
#
# usage: scripts/compare-cargo-audit.sh [RUSTSEC_DB_DIR] [Cargo.lock ...]
#   default DB: ../shared/advisories/rustsec-advisory-db.tar.gz unpacked to a temp dir
#   default lockfiles: every Cargo.lock under fixtures/, the project's own two, and a
#     synthetic 10,752-package one (scripts/bench/synthetic-cargo-lock.py), so the
#     reader is compared at scale too
#   VOUCH=path: the vouch binary to compare (default: a release build; scripts/test.sh
#     passes the debug binary its tests built)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-audit >/dev/null || { echo "cargo-audit is not installed (scripts/ci/install-audit-tools.sh)" >&2; exit 2; }
echo "cargo-audit: $(cargo audit --version)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=${1:-}
shift || true
if [[ -z "$db" ]]; then
  db=$work/db
  mkdir -p "$db"
  tar -xzf ../shared/advisories/rustsec-advisory-db.tar.gz -C "$db"
fi
lockfiles=("$@")
if [[ ${#lockfiles[@]} -eq 0 ]]; then
  mapfile -t lockfiles < <(find fixtures -name Cargo.lock -not -path '*/target/*' | sort)
  mkdir -p "$work/synthetic"
  python3 scripts/bench/synthetic-cargo-lock.py 8 <fixtures/bench/large/Cargo.lock >"$work/synthetic/Cargo.lock"
  lockfiles+=(Cargo.lock fuzz/Cargo.lock "$work/synthetic/Cargo.lock")
fi
# vouch keeps its RustSec index in its cache: a scratch one here.
export VOUCH_CACHE_DIR=$work/cache

vouch=${VOUCH:-}
if [[ -z $vouch ]]; then
  cargo build --release --quiet
  vouch=target/release/vouch
fi
fail=0
for lock in "${lockfiles[@]}"; do
  peer=$(mktemp); ours=$(mktemp)
  # cargo-audit exits 1 on vulnerabilities; only its JSON matters here.
  cargo audit --no-fetch --no-yanked --db "$db" --file "$lock" --json >"$peer" 2>/dev/null || true
  "$vouch" audit --db "$db" --format json "$lock" >"$ours" || [[ $? -eq 1 ]]
  if python3 - "$peer" "$ours" "$lock" <<'PY'
import json, sys
peer, ours, lock = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
theirs = set()
for v in peer["vulnerabilities"]["list"]:
    theirs.add((v["advisory"]["id"], v["package"]["name"], v["package"]["version"], "vulnerability"))
for kind, warnings in peer.get("warnings", {}).items():
    for w in warnings:
        if w.get("advisory"):
            theirs.add((w["advisory"]["id"], w["package"]["name"], w["package"]["version"], kind))
mine = set()
for f in ours["findings"]:
    a = f.get("advisory")
    if a:
        mine.add((a["id"], f["package"]["name"], f["package"]["version"], a["kind"]))
status = "same" if theirs == mine else "DIFFERENT"
print(f"{lock}: {status}: cargo-audit {len(theirs)}, vouch {len(mine)}")
for x in sorted(theirs - mine): print("  only cargo-audit:", *x)
for x in sorted(mine - theirs): print("  only vouch:      ", *x)
sys.exit(0 if theirs == mine else 1)
PY
  then :; else fail=1; fi
  rm -f "$peer" "$ours"
done
exit $fail

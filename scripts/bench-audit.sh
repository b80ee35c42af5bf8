#!/usr/bin/env bash
# Times `vouch audit` against `cargo audit` on the same lockfiles and the same RustSec
# database, side by side in one paired run per lockfile (scripts/bench/paired.py: each
# round runs every command once, in turn): the bench fixtures (~50, ~480, ~1,340
# packages) and a synthetic 10,752-package Cargo.lock (8 copies of the large one,
# renamed: scripts/bench/synthetic-cargo-lock.py), generated here, never committed.
#   cargo audit --no-fetch             cargo-audit's default run (includes its yanked check;
#                                      real fixtures only: the synthetic crates do not exist)
#   cargo audit --no-fetch --no-yanked cargo-audit without the registry round-trips
#   vouch audit                        vouch (offline by design; warm: its RustSec index is
#                                      built by the warm-up runs)
#   vouch audit (baseline)             with VOUCH_BASELINE=/path/to/another/vouch, that
#                                      binary too (before/after in the same run), with a
#                                      cache directory of its own (an index of another
#                                      format would otherwise be rebuilt on every run)
# Then a table: median wall time, median CPU time (user + system: what a loaded machine
# does not inflate), peak RSS (GNU time, one run each), and cargo-audit --no-yanked's
# time over vouch's.
#
# usage: scripts/bench-audit.sh [RUSTSEC_DB_DIR]    (needs python3, cargo-audit, GNU time)
#   RUNS=N: timed rounds per lockfile (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-audit >/dev/null || { echo "cargo-audit is not installed (scripts/ci/install-audit-tools.sh)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "GNU time is not installed (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=${1:-}
if [[ -z "$db" ]]; then
  db=$work/db
  mkdir -p "$db"
  tar -xzf ../shared/advisories/rustsec-advisory-db.tar.gz -C "$db"
fi
cargo build --release --quiet
vouch=$PWD/target/release/vouch
baseline=${VOUCH_BASELINE:-}

mkdir -p "$work/synthetic"
python3 scripts/bench/synthetic-cargo-lock.py 8 <fixtures/bench/large/Cargo.lock >"$work/synthetic/Cargo.lock"

for lock in fixtures/bench/{small,medium,large}/Cargo.lock "$work/synthetic/Cargo.lock"; do
  n=$(grep -c '^\[\[package\]\]' "$lock")
  echo "== $lock ($n packages)"
  commands=()
  if [[ $lock != "$work"/* ]]; then
    commands+=("cargo audit (default)" "cargo-audit audit --no-fetch --db $db --file $lock")
  fi
  commands+=("cargo audit --no-yanked" "cargo-audit audit --no-fetch --no-yanked --db $db --file $lock")
  commands+=("vouch audit" "VOUCH_CACHE_DIR=$work/cache $vouch audit --db $db $lock")
  if [[ -n $baseline ]]; then
    commands+=("vouch audit (baseline)" "VOUCH_CACHE_DIR=$work/cache-baseline $baseline audit --db $db $lock")
  fi
  # Both tools exit 1 when they find vulnerabilities; that is expected here.
  python3 scripts/bench/paired.py --runs "${RUNS:-30}" --warmup 3 --json "$work/$n.json" "${commands[@]}"
  # Peak memory, one run each.
  for ((i = 0; i < ${#commands[@]}; i += 2)); do
    read -ra argv <<<"${commands[$((i + 1))]}"
    env=()
    while [[ ${argv[0]} == *=* ]]; do env+=("${argv[0]}"); argv=("${argv[@]:1}"); done
    env "${env[@]}" /usr/bin/time -f '%M' -o "$work/rss" "${argv[@]}" >/dev/null 2>&1 || true
    echo "${commands[$i]}	$(tail -1 "$work/rss")" >>"$work/$n.rss"
  done
done

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
sizes = sorted((f[:-5] for f in os.listdir(work) if f.endswith(".json")), key=int)
print()
print("| packages | command | median wall | median CPU (user+sys) | peak RSS |")
print("|---:|---|---:|---:|---:|")
for size in sizes:
    runs = json.load(open(os.path.join(work, size + ".json")))
    rss = dict(line.rstrip("\n").split("\t") for line in open(os.path.join(work, size + ".rss")))
    by = {r["name"]: r for r in runs}
    for r in runs:
        mib = int(rss.get(r["name"], "0") or 0) / 1024
        print(f"| {int(size):,} | {r['name']} | {r['median_wall_ms']:.1f} ms | {r['median_cpu_ms']:.1f} ms | {mib:.1f} MiB |")
    peer, ours = by.get("cargo audit --no-yanked"), by.get("vouch audit")
    if peer and ours:
        print(f"| {int(size):,} | cargo audit --no-yanked / vouch | {peer['median_wall_ms'] / ours['median_wall_ms']:.1f}x | "
              f"{peer['median_cpu_ms'] / ours['median_cpu_ms']:.1f}x | |")
PY

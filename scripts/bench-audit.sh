#!/usr/bin/env bash
# Times `vouch audit` against `cargo audit` on the same lockfiles and the same RustSec
# database, side by side in one hyperfine run per lockfile: the bench fixtures (~50, ~480,
# ~1,340 packages) and a synthetic 10,752-package Cargo.lock (8 copies of the large one,
# renamed: scripts/bench/synthetic-cargo-lock.py), generated here, never committed.
#   cargo audit --no-fetch             cargo-audit's default run (includes its yanked check;
#                                      real fixtures only: the synthetic crates do not exist)
#   cargo audit --no-fetch --no-yanked cargo-audit without the registry round-trips
#   vouch audit                        vouch (offline by design; warm: its RustSec index is
#                                      built by the warm-up runs)
#   vouch audit (baseline)             with VOUCH_BASELINE=/path/to/another/vouch, that
#                                      binary too (before/after in the same run)
# Then a table: median wall time, mean CPU time (user + system), peak RSS (GNU time, one
# run each), and cargo-audit --no-yanked's time over vouch's.
#
# usage: scripts/bench-audit.sh [RUSTSEC_DB_DIR]    (needs hyperfine, cargo-audit, GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
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
export VOUCH_CACHE_DIR=$work/cache
cargo build --release --quiet
vouch=$PWD/target/release/vouch
baseline=${VOUCH_BASELINE:-}

mkdir -p "$work/synthetic"
python3 scripts/bench/synthetic-cargo-lock.py 8 <fixtures/bench/large/Cargo.lock >"$work/synthetic/Cargo.lock"

for lock in fixtures/bench/{small,medium,large}/Cargo.lock "$work/synthetic/Cargo.lock"; do
  n=$(grep -c '^\[\[package\]\]' "$lock")
  name=$n
  echo "== $lock ($n packages)"
  commands=()
  if [[ $lock != "$work"/* ]]; then
    commands+=(-n "cargo audit (default)" "cargo-audit audit --no-fetch --db $db --file $lock")
  fi
  commands+=(-n "cargo audit --no-yanked" "cargo-audit audit --no-fetch --no-yanked --db $db --file $lock")
  commands+=(-n "vouch audit" "$vouch audit --db $db $lock")
  if [[ -n $baseline ]]; then
    commands+=(-n "vouch audit (baseline)" "$baseline audit --db $db $lock")
  fi
  # Both tools exit 1 when they find vulnerabilities; that is expected here.
  hyperfine --warmup 3 --min-runs 15 -N --ignore-failure --style basic \
    --export-json "$work/$name.json" "${commands[@]}" 2>&1 | grep -Ev '^\s*$'
  # Peak memory, one run each.
  for ((i = 1; i < ${#commands[@]}; i += 3)); do
    label=${commands[$i]}
    read -ra argv <<<"${commands[$((i + 1))]}"
    /usr/bin/time -f '%M' -o "$work/rss" "${argv[@]}" >/dev/null 2>&1 || true
    rss=$(tail -1 "$work/rss")
    echo "$label	$rss" >>"$work/$name.rss"
  done
done

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
sizes = sorted((f[:-5] for f in os.listdir(work) if f.endswith(".json")), key=int)
print()
print("| packages | command | median wall | mean CPU (user+sys) | peak RSS |")
print("|---:|---|---:|---:|---:|")
for size in sizes:
    runs = json.load(open(os.path.join(work, size + ".json")))["results"]
    rss = dict(line.rstrip("\n").split("\t") for line in open(os.path.join(work, size + ".rss")))
    by = {r["command"]: r for r in runs}
    for r in runs:
        cpu = (r["user"] + r["system"]) * 1000
        mib = int(rss.get(r["command"], "0") or 0) / 1024
        print(f"| {int(size):,} | {r['command']} | {r['median'] * 1000:.1f} ms | {cpu:.1f} ms | {mib:.1f} MiB |")
    peer, ours = by.get("cargo audit --no-yanked"), by.get("vouch audit")
    if peer and ours:
        print(f"| {int(size):,} | cargo audit --no-yanked / vouch | {peer['median'] / ours['median']:.1f}x | "
              f"{(peer['user'] + peer['system']) / (ours['user'] + ours['system']):.1f}x | |")
PY

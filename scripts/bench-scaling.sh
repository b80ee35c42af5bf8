#!/usr/bin/env bash
# Checks that no lockfile parser, nor the audit's matching, grows faster than its input:
# for every format vouch reads, a synthetic lockfile of N, 2N and 4N packages
# (scripts/bench/scaled-lockfile.py: each package depends on the next three) is audited
# in one paired run (scripts/bench/paired.py), and the ratios of median CPU time printed. Linear work doubles (2.0); a
# quadratic step shows as 4.0 (a fixed start-up cost pulls small sizes below 2.0).
# `cargo-matching` is N versions of a crate RustSec advisories match, so matching,
# merging and the report grow with N as well.
# A check to read, not a test that fails: timings vary from machine to machine.
#
# usage: scripts/bench-scaling.sh [N] [FORMAT ...]   (default N 4000, every format; needs python3)
#   VOUCH=path: the vouch binary to time (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-4000}
shift || true
formats=("$@")
if ((${#formats[@]} == 0)); then
  formats=(cargo cargo-matching npm yarn yarn-berry pnpm bun poetry uv pipfile pylock requirements go)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/db"
tar -xzf ../shared/advisories/rustsec-advisory-db.tar.gz -C "$work/db"
osv=$PWD/../shared/advisories/osv
export VOUCH_CACHE_DIR=$work/cache
vouch=${VOUCH:-}
if [[ -z $vouch ]]; then
  cargo build --release --quiet
  vouch=$PWD/target/release/vouch
fi

for format in "${formats[@]}"; do
  commands=()
  for size in "$n" $((2 * n)) $((4 * n)); do
    dir=$work/$format/$size
    python3 scripts/bench/scaled-lockfile.py "$format" "$size" "$dir"
    commands+=("$size" "$vouch audit --db $work/db --osv $osv $dir")
  done
  echo "== $format"
  # Findings (cargo-matching) exit 1; that is expected here.
  python3 scripts/bench/paired.py --runs 7 --warmup 2 --json "$work/$format.json" "${commands[@]}"
done

python3 - "$work" "${formats[@]}" <<'PY'
import json, os, sys
work, formats = sys.argv[1], sys.argv[2:]
# CPU time (user + system, median) is what the ratios use: on a shared machine wall time
# also counts waiting for a core. Median wall time is shown beside it.
print()
print("| format | CPU N | CPU 2N | CPU 4N | 2N / N | 4N / 2N | wall N / 2N / 4N |")
print("|---|---:|---:|---:|---:|---:|---:|")
for f in formats:
    runs = json.load(open(os.path.join(work, f + ".json")))
    cpu = [r["median_cpu_ms"] for r in runs]
    wall = " / ".join(f"{r['median_wall_ms']:.1f}" for r in runs)
    n = int(runs[0]["name"])
    print(f"| {f} ({n:,} packages) | {cpu[0]:.1f} ms | {cpu[1]:.1f} ms | {cpu[2]:.1f} ms | "
          f"{cpu[1] / cpu[0]:.2f} | {cpu[2] / cpu[1]:.2f} | {wall} ms |")
PY

#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for a set time, one after another, starting
# from the committed seeds in fuzz/corpus/<target>/seed-*. Prints each target's execution
# count; a crash stops with the input saved under fuzz/artifacts/<target>/ — copy it to
# fuzz/regressions/<target>/ (replayed by `cargo test`, tests/it/fuzz_regressions.rs) and fix.
#
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET=600] [TARGET...]
# needs: cargo-fuzz (cargo install cargo-fuzz); builds on stable via RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
shift || true
export RUSTC_BOOTSTRAP=1
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -O
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log=$(mktemp)
  status=0
  # -rss_limit_mb: a parser that needs more than 2 GiB for an input under 1 MiB is a bug.
  cargo fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=1048576 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  printf '%-24s %ss  %s execs  exit %s\n' "$target" "$seconds" "${execs:-?}" "$status"
  if [[ $status -ne 0 ]]; then
    grep -E "ERROR|panicked|SUMMARY|Test unit written|^error" "$log" | head -20 || true
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
done

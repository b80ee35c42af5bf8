#!/usr/bin/env bash
# Times `vouch audit` against `cargo audit` on the same lockfiles and the same RustSec
# database, side by side in one hyperfine run per lockfile (~50, ~450, ~1,300 packages).
#   cargo audit --no-fetch             cargo-audit's default run (includes its yanked check)
#   cargo audit --no-fetch --no-yanked cargo-audit without the registry round-trips
#   vouch audit                        vouch (offline by design)
#
# usage: scripts/bench-audit.sh [RUSTSEC_DB_DIR]    (needs hyperfine and cargo-audit)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
command -v cargo-audit >/dev/null || { echo "cargo-audit is not installed" >&2; exit 2; }

db=${1:-}
if [[ -z "$db" ]]; then
  db=$(mktemp -d)
  trap 'rm -rf "$db"' EXIT
  tar -xzf ../shared/advisories/rustsec-advisory-db.tar.gz -C "$db"
fi
cargo build --release --quiet
vouch=$PWD/target/release/vouch

for size in small medium large; do
  lock=fixtures/bench/$size/Cargo.lock
  n=$(grep -c '^\[\[package\]\]' "$lock")
  echo "== $lock ($n packages)"
  # Both tools exit 1 when they find vulnerabilities; that is expected here.
  hyperfine --warmup 2 --min-runs 10 -N --ignore-failure --style basic \
    -n "cargo audit (default)" "cargo-audit audit --no-fetch --db $db --file $lock" \
    -n "cargo audit --no-yanked" "cargo-audit audit --no-fetch --no-yanked --db $db --file $lock" \
    -n "vouch audit" "$vouch audit --db $db $lock" \
    2>&1 | grep -Ev '^\s*$'
done

#!/usr/bin/env bash
# Packages, findings and time of `vouch audit` per lockfile format issue 12 added, on each
# format's largest fixture, against the real OSV exports in ../shared (warm name index).
# No peer tool runs here: osv-scanner and trivy ship as release binaries from GitHub,
# which this machine cannot reach, so the table has vouch alone.
#
# usage: scripts/bench-formats.sh        (needs hyperfine and jq)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is not installed (apt-get install jq)" >&2; exit 2; }
cargo build --release --quiet
vouch=$PWD/target/release/vouch
osv=../shared/advisories/osv
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export VOUCH_CACHE_DIR=$cache NO_COLOR=1

locks=(
  fixtures/npm/bun/bun.lock
  fixtures/npm/pnpm-v10/pnpm-lock.yaml
  fixtures/npm/yarn-berry-versions/v4-yarn-2.4.2/yarn.lock
  fixtures/npm/yarn-berry-versions/v10-yarn-4.18.1/yarn.lock
  fixtures/python/uv-workspace/pylock.toml
  fixtures/python/pip-lock/pylock.toml
  fixtures/go/restic/go.mod
  fixtures/go/go.work
)
printf '| lockfile | audited | local | findings | failing |\n|---|---|---|---|---|\n'
for lock in "${locks[@]}"; do
  # exit 1 (findings) is expected; anything else is not.
  report=$("$vouch" audit --format json --osv "$osv" "$lock") || [[ $? == 1 ]]
  jq -r --arg l "$lock" '"| \($l) | \(.summary.packages) | \(.summary.local_packages) | \(.findings | map(select(.advisory)) | length) | \(.summary.errors) |"' <<<"$report"
done
args=()
for lock in "${locks[@]}"; do args+=(-n "$lock" "$vouch audit --osv $osv $lock"); done
hyperfine --warmup 3 --min-runs 20 -N --ignore-failure --style basic "${args[@]}" 2>&1 | grep -Ev '^\s*$'

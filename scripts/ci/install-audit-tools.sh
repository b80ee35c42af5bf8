#!/usr/bin/env bash
# cargo-audit 0.22.2, the peer vouch's RustSec findings must equal: scripts/test.sh runs
# scripts/compare-cargo-audit.sh with it, and scripts/bench-audit.sh times it. Built from
# crates.io with the lockfile it was published with (--locked), without the default
# binary-scanning feature (`cargo audit bin`; lockfile audits do not use it, and leaving
# it out saves build time): a few minutes on 2 cores, at nice 10. Idempotent: nothing to
# do when that version is installed.
set -euo pipefail
VERSION=0.22.2
if [[ "$(cargo-audit --version 2>/dev/null)" == "cargo-audit $VERSION" ]]; then
  echo "audit tools: $(command -v cargo-audit) $VERSION"
  exit 0
fi
nice -n 10 cargo install --locked --quiet --no-default-features cargo-audit --version "$VERSION"
[[ "$(cargo-audit --version)" == "cargo-audit $VERSION" ]]
echo "audit tools: $(command -v cargo-audit) $VERSION"

#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit and integration tests, and
# vouch auditing its own Cargo.lock. Tests that need an external tool (a registry, cosign,
# the SPDX validator) skip locally when it is missing and fail under CI (`CI` set), where
# .ci/run installs them. Needs ../shared/advisories beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked

# vouch on vouch: our own dependencies against the shared RustSec snapshot.
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
tar -xzf ../shared/advisories/rustsec-advisory-db.tar.gz -C "$db"
cargo run --locked --quiet -- audit --db "$db" Cargo.lock

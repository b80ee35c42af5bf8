#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit and integration tests, a
# build of the fuzz targets, and vouch auditing its own lockfiles. Tests that need an
# external tool (a registry, cosign, the SPDX validator) skip locally when it is missing and fail under CI (`CI` set), where
# .ci/run installs them. Needs ../shared/advisories beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
# The fuzz targets (fuzz/, run by scripts/fuzz.sh) must keep building; a plain build
# needs no cargo-fuzz and no nightly flags.
cargo build --locked --manifest-path fuzz/Cargo.toml

# vouch on vouch: our own dependencies against the shared RustSec snapshot.
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
tar -xzf ../shared/advisories/rustsec-advisory-db.tar.gz -C "$db"
cargo run --locked --quiet -- audit --db "$db" Cargo.lock fuzz/Cargo.lock

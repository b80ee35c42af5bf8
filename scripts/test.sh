#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit and integration tests, a
# build of the fuzz targets, and vouch auditing its own lockfiles. Needs ../shared beside
# the checkout (the frozen advisory and conformance data: ../shared/advisories/README.md).
#
# Tests that need an external tool (a registry, cosign, a validator) are #[ignore]d with
# the tool and its installer named. When every tool is here they all run
# (--include-ignored); when one is missing they show as ignored (not run, never passed)
# and this script says which tools are missing and how to install them. Under CI (`CI`
# set) a missing tool is an error: CI installs everything (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# tool → the installer that provides it
declare -A installer=(
  [docker-registry]=install-verify-tools.sh [skopeo]=install-verify-tools.sh
  [cosign]=install-verify-tools.sh [htpasswd]=install-verify-tools.sh
  [openssl]=install-verify-tools.sh
  [pyspdxtools]=install-sbom-tools.sh [sbomcheck]=install-sbom-tools.sh
  [check-jsonschema]=install-report-tools.sh [xmllint]=install-report-tools.sh
  [/opt/vouch-ci/cyclonedx/bom-1.6.SNAPSHOT.schema.json]=install-sbom-tools.sh
  [/opt/vouch-ci/sarif-2.1.0.json]=install-report-tools.sh
  [/opt/vouch-ci/junit/junit-10.xsd]=install-report-tools.sh
  [cargo-audit]=install-audit-tools.sh
)
missing=()
for tool in "${!installer[@]}"; do
  if [[ $tool == /* ]]; then [[ -f $tool ]] || missing+=("$tool")
  else command -v "$tool" >/dev/null || missing+=("$tool"); fi
done
ignored=(--include-ignored)
if ((${#missing[@]})); then
  fix=$(for t in "${missing[@]}"; do echo "scripts/ci/${installer[$t]}"; done | sort -u | sed 's/^/sudo bash /' | paste -sd';' | sed 's/;/ \&\& /g')
  echo "missing test tools: ${missing[*]}" >&2
  echo "install them with: $fix" >&2
  if [[ -n ${CI:-} ]]; then
    echo "CI is set: every tool must be installed (.ci/run does it)" >&2
    exit 1
  fi
  echo "the tests that need them are listed as ignored (not run)" >&2
  ignored=()
fi

# CI builds once from scratch: incremental-compilation state would only cost disk (several
# GB across the test and fuzz builds) and time.
if [[ -n ${CI:-} ]]; then export CARGO_INCREMENTAL=0; fi

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked -- "${ignored[@]}"
# The fuzz targets (fuzz/, run by scripts/fuzz.sh) must keep building; a plain build
# needs no cargo-fuzz and no nightly flags.
cargo build --locked --manifest-path fuzz/Cargo.toml

# vouch on vouch: our own dependencies against the shared RustSec snapshot.
db=$(mktemp -d)
# vouch indexes the database in its cache: a scratch one, not the user's.
export VOUCH_CACHE_DIR
VOUCH_CACHE_DIR=$(mktemp -d)
trap 'rm -rf "$db" "$VOUCH_CACHE_DIR"' EXIT
tar -xzf ../shared/advisories/rustsec-advisory-db.tar.gz -C "$db"
cargo run --locked --quiet -- audit --db "$db" Cargo.lock fuzz/Cargo.lock

# The same RustSec findings as cargo-audit, exactly, on every Cargo.lock we have and on
# a synthetic 10,752-package one (with the debug binary the lines above built).
if command -v cargo-audit >/dev/null; then
  VOUCH=target/debug/vouch scripts/compare-cargo-audit.sh "$db"
fi

#!/usr/bin/env bash
# Rebuilds the frozen advisory test data (`../shared/advisories`, README "The test data")
# from its public sources, at the same commits, and checks every file against the digest
# of the frozen copy before putting anything in place. For a machine with internet access
# and no copy of ../shared: CI (.github/workflows/ci.yml), or a newcomer's laptop.
#
#   scripts/fetch-test-data.sh [DIR]     # default ../shared; writes DIR/advisories
#
# Needs git, python3 (with PyYAML for the PyPI export), tar and gzip. Network: git over
# HTTPS to github.com only.
#
# NOT RUN against the live sources: it was written on a machine without internet access.
# What was checked there (`python3 scripts/test_data.py selfcheck ../shared/advisories`):
# the digests below are the frozen copy's, the zip writer rebuilds each frozen export
# byte for byte from its own records, the tar command rebuilds the frozen tarball byte
# for byte from its own tree, and the npm range converter reproduces every frozen range.
# What could not be checked: that the sources still serve these commits, that the
# crates.io export's commit on the `osv` branch is found (the frozen copy records only
# its date), and that the npm fields other than the ranges and the PyPI YAML are read as
# the original conversion read them. Any difference stops the script with the file named;
# nothing is written then.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/../../shared}
helper="$here/test_data.py"

for tool in git python3 tar gzip; do
  command -v "$tool" >/dev/null || { echo "fetch-test-data: $tool is needed" >&2; exit 2; }
done
python3 -c 'import yaml' 2>/dev/null || {
  echo "fetch-test-data: python3 needs PyYAML for the PyPI export: pip install PyYAML==6.0.2" >&2
  exit 2
}
if [[ -e "$dest/advisories" ]]; then
  echo "fetch-test-data: $dest/advisories exists; remove it first (it is never overwritten)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/advisories"
mkdir -p "$out/osv/crates.io" "$out/osv/Go" "$out/osv/PyPI" "$out/osv/npm"

# fetch NAME URL REF [SINCE]: a checkout of URL at REF in $work/NAME. A full commit id is
# fetched by itself; a branch is fetched with its history since SINCE, so that a short id
# or a date can be resolved in it.
fetch() {
  local name=$1 url=$2 ref=$3 since=${4:-}
  git init -q "$work/$name"
  if [[ -n "$since" ]]; then
    git -C "$work/$name" fetch -q --shallow-since="$since" "$url" "$ref"
  else
    git -C "$work/$name" fetch -q --depth 1 "$url" "$ref"
  fi
}

checkout() { # NAME COMMIT: check COMMIT out (it must resolve in the fetched history)
  local commit
  commit=$(git -C "$work/$1" rev-parse --verify -q "$2^{commit}") || {
    echo "fetch-test-data: $1: commit $2 not found in what was fetched" >&2
    exit 1
  }
  git -C "$work/$1" -c advice.detachedHead=false checkout -q "$commit"
  echo "$1: $commit"
}

# check FILE: its content digest (and count) must be the frozen copy's; says whether the
# bytes are identical too (they differ only with another tar, gzip or zlib).
check() {
  local rel=$1 want whole count got n
  read -r want whole count < <(python3 "$helper" expected "$rel")
  read -r got n < <(python3 "$helper" manifest "$out/$rel")
  if [[ "$got" != "$want" || "$n" != "$count" ]]; then
    echo "fetch-test-data: $rel differs from the frozen copy: $n files, content digest $got (want $count files, $want)" >&2
    exit 1
  fi
  if [[ "$(sha256sum "$out/$rel" | cut -d' ' -f1)" == "$whole" ]]; then
    echo "ok $rel: identical to the frozen copy, byte for byte"
  else
    echo "ok $rel: same contents as the frozen copy (the archive's bytes differ: another tar, gzip or zlib)"
  fi
}

# RustSec, native layout: the tracked tree at the commit, as the frozen tarball holds it
# (directories 0775 with the root 0755, files 0664, owner 0, dated the snapshot's day).
fetch rustsec https://github.com/rustsec/advisory-db.git bf5c0d245a92671908518d7e765914d437954ed6
checkout rustsec bf5c0d245a92671908518d7e765914d437954ed6
mkdir "$work/rustsec-tree"
git -C "$work/rustsec" ls-files -z | (cd "$work/rustsec" && tar --null -T - -cf -) | tar -xf - -C "$work/rustsec-tree"
find "$work/rustsec-tree" -type d -exec chmod 0775 {} + && chmod 0755 "$work/rustsec-tree"
find "$work/rustsec-tree" -type f -exec chmod 0664 {} +
(cd "$work/rustsec-tree" && tar --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime='2026-08-21 00:00:00Z' --format=gnu -cf - .) | gzip -n -6 >"$out/rustsec-advisory-db.tar.gz"
check rustsec-advisory-db.tar.gz

# crates.io OSV: the `osv` branch of the same repository as of 2026-08-21. The frozen copy
# names only the day, so each commit of that day is tried, newest first, until one gives
# the frozen contents.
fetch rustsec-osv https://github.com/rustsec/advisory-db.git osv 2026-08-14
found=""
for commit in $(git -C "$work/rustsec-osv" rev-list --since='2026-08-21 00:00:00Z' --until='2026-08-21 23:59:59Z' FETCH_HEAD); do
  git -C "$work/rustsec-osv" -c advice.detachedHead=false checkout -q "$commit"
  python3 "$helper" build-osv crates.io "$work/rustsec-osv" "$out/osv/crates.io/all.zip"
  read -r want _ _ < <(python3 "$helper" expected osv/crates.io/all.zip)
  read -r got _ < <(python3 "$helper" manifest "$out/osv/crates.io/all.zip")
  if [[ "$got" == "$want" ]]; then found=$commit; break; fi
done
[[ -n "$found" ]] || { echo "fetch-test-data: no commit of 2026-08-21 on rustsec/advisory-db's osv branch gives the frozen crates.io export" >&2; exit 1; }
echo "rustsec-osv: $found"
check osv/crates.io/all.zip

# Go: golang/vulndb data/osv at a752ea54.
fetch vulndb https://github.com/golang/vulndb.git master 2026-08-14
checkout vulndb a752ea54
python3 "$helper" build-osv Go "$work/vulndb" "$out/osv/Go/all.zip"
check osv/Go/all.zip

# PyPI: pypa/advisory-database vulns/ at 3ccb6125, YAML to JSON.
fetch pypa https://github.com/pypa/advisory-database.git main 2024-10-01
checkout pypa 3ccb6125
python3 "$helper" build-osv PyPI "$work/pypa" "$out/osv/PyPI/all.zip"
check osv/PyPI/all.zip

# npm: nodejs/security-wg vuln/npm at f1288d0d, converted to OSV (test_data.py npm_record).
fetch security-wg https://github.com/nodejs/security-wg.git main 2026-04-01
checkout security-wg f1288d0d
python3 "$helper" build-osv npm "$work/security-wg" "$out/osv/npm/all.zip"
check osv/npm/all.zip

cat >"$out/README.md" <<'EOF'
# Advisory data for tests and benchmarks

Rebuilt by vouch's scripts/fetch-test-data.sh from the public sources at the commits its
README ("The test data") names, and checked against the digests of the frozen copy.
EOF
mkdir -p "$dest"
mv "$out" "$dest/advisories"
chmod -R a-w "$dest/advisories"
echo "wrote $dest/advisories"

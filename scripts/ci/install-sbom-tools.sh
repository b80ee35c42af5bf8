#!/usr/bin/env bash
# The judges of vouch's SBOMs, used by tests/it/sbom.rs:
#   - the official SPDX validator (PyPI spdx-tools: pyspdxtools)
#   - the NTIA minimum-elements checker (PyPI ntia-conformance-checker: sbomcheck)
#   - the CycloneDX 1.6 JSON schema, shipped in the wheel of PyPI cyclonedx-python-lib,
#     linked to /opt/vouch-ci/cyclonedx/ with the schemas it references
# Idempotent; pinned versions.
set -euo pipefail
pip install -q "spdx-tools==0.8.3" "ntia-conformance-checker==4.1.2" "cyclonedx-python-lib==11.6.0" "check-jsonschema==0.33.0"
schemas=$(python3 -c 'import cyclonedx.schema, os; print(os.path.join(os.path.dirname(cyclonedx.schema.__file__), "_res"))')
mkdir -p /opt/vouch-ci
ln -sfn "$schemas" /opt/vouch-ci/cyclonedx
test -s /opt/vouch-ci/cyclonedx/bom-1.6.SNAPSHOT.schema.json
echo "sbom tools: $(command -v pyspdxtools) $(command -v sbomcheck || true) /opt/vouch-ci/cyclonedx/bom-1.6.SNAPSHOT.schema.json"

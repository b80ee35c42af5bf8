#!/usr/bin/env bash
# Real components for tests/it/verify.rs (`vouch verify`):
#   - docker-registry (the CNCF distribution registry), skopeo (pushes test images),
#     apache2-utils (htpasswd for the registry's basic auth), openssl (the test CA),
#     hyperfine (scripts/bench-verify.sh) from the machine's own Debian release;
#   - cosign 2.5.0, which bookworm does not have, from Debian trixie: downloaded with
#     `apt-get download` through a private apt state (its own sources list, lists and
#     cache under /var/cache/vouch-ci/trixie-apt) so the system's sources stay untouched,
#     verified by apt against the trixie key that bookworm's debian-archive-keyring ships,
#     unpacked with dpkg-deb into /opt/vouch-ci/cosign and linked into /usr/local/bin.
# Idempotent and quiet.
set -euo pipefail

COSIGN_VERSION=2.5.0
want=(docker-registry skopeo apache2-utils openssl hyperfine)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's build reports its version as "devel", so the unpacked package's version is
# recorded beside it.
marker=/opt/vouch-ci/cosign/VERSION
if [[ -x /opt/vouch-ci/cosign/usr/bin/cosign && "$(cat "$marker" 2>/dev/null)" == "${COSIGN_VERSION}"* ]]; then
  ln -sfn /opt/vouch-ci/cosign/usr/bin/cosign /usr/local/bin/cosign
else
  # The mirror this machine is configured with (never written into the repository).
  mirror=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e "$f" ]] || continue
    mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    [[ -n "$mirror" ]] && break
  done
  if [[ -z "$mirror" && -f /etc/apt/sources.list ]]; then
    mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
  fi
  [[ -n "$mirror" ]] || { echo "install-verify-tools: no Debian mirror configured in /etc/apt" >&2; exit 1; }
  keyring=/usr/share/keyrings/debian-archive-trixie-stable.gpg
  if [[ ! -s "$keyring" ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debian-archive-keyring >/dev/null
  fi
  [[ -s "$keyring" ]] || { echo "install-verify-tools: $keyring missing" >&2; exit 1; }

  state=/var/cache/vouch-ci/trixie-apt
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/etc" "$state/debs"
  echo "deb [signed-by=$keyring] $mirror trixie main" >"$state/etc/trixie.list"
  opts=(-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
    -o "Dir::Etc::SourceList=$state/etc/trixie.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "APT::Architecture=$(dpkg --print-architecture)" -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq
  (cd "$state/debs" && rm -f cosign_*.deb && apt-get "${opts[@]}" download -qq "cosign=${COSIGN_VERSION}*")
  rm -rf /opt/vouch-ci/cosign
  mkdir -p /opt/vouch-ci/cosign
  dpkg-deb -x "$state"/debs/cosign_*.deb /opt/vouch-ci/cosign
  dpkg-deb -f "$state"/debs/cosign_*.deb Version >"$marker"
  ln -sfn /opt/vouch-ci/cosign/usr/bin/cosign /usr/local/bin/cosign
fi
cosign version >/dev/null 2>&1 || { echo "install-verify-tools: cosign does not run" >&2; exit 1; }
echo "verify tools: $(command -v docker-registry) $(command -v skopeo) $(command -v htpasswd) cosign $(cat "$marker")"

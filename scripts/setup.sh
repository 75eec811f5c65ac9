#!/usr/bin/env bash
# Installs what the demo, the tests and the benchmark need on a fresh machine (idempotent):
# shellcheck, unshare and ip (loopback-only network namespace), moto's server, node modules.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v unshare >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} (Debian packages)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import moto.server, flask' 2>/dev/null; then
  echo "Installing moto[server] 5.2.1..."
  python3 -m pip install --quiet "moto[server]==5.2.1"
fi
# npm ci when node_modules is missing or older than the lock file.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

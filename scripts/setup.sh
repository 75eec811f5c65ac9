#!/usr/bin/env bash
# Installs what the demo, the tests and the benchmark need on a fresh machine (idempotent):
# the shellcheck linter, unshare and ip (loopback-only network namespace), moto's server, node modules,
# TLJH's source (a clone of TLJH_GIT) and the wheelhouse from which the emulator installs it offline.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v unshare >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
command -v git >/dev/null || missing+=(git)
command -v curl >/dev/null || missing+=(curl)
command -v dpkg-deb >/dev/null || missing+=(dpkg)
command -v iptables >/dev/null || missing+=(iptables)
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

# TLJH's source, which the emulator runs (issue 8). TLJH_GIT is a URL, a path or a git bundle (relative
# paths are taken from the repository's root); the cache is keyed by that string, so a changed TLJH_GIT
# takes effect. A bare clone: every branch and tag of the source is a ref there, for pip's git+file://.
tljh_src=${TLJH_GIT:-https://github.com/jupyterhub/the-littlest-jupyterhub}
tljh_from=$tljh_src
[[ -e $tljh_src ]] && tljh_from=$(realpath "$tljh_src")
tljh_dir=$PWD/e2e/.cache/tljh/$(printf '%s' "$tljh_src" | sha256sum | cut -c1-16)
if [[ ! -d $tljh_dir ]]; then
  echo "Cloning TLJH from $tljh_src..."
  rm -rf "$tljh_dir.tmp"
  mkdir -p "$(dirname "$tljh_dir")"
  if ! git clone --quiet --bare "$tljh_from" "$tljh_dir.tmp"; then
    echo "Cannot clone TLJH from $tljh_src: set TLJH_GIT to a URL, a path or a git bundle that works here." >&2
    exit 1
  fi
  mv "$tljh_dir.tmp" "$tljh_dir"
elif [[ -e $tljh_src ]]; then
  # A local source (a path or a bundle) is cheap to read again, and it may have been replaced.
  git --git-dir "$tljh_dir" fetch --quiet --prune --force "$tljh_from" \
    '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'
fi
if [[ -z $(git --git-dir "$tljh_dir" tag --list) ]]; then
  echo "The TLJH clone from $tljh_src has no tags: TLJH_GIT must carry TLJH's release tags." >&2
  exit 1
fi
printf '%s\n' "$tljh_dir" >e2e/.cache/tljh-git

scripts/tljh-wheelhouse.sh

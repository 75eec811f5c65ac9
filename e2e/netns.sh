#!/usr/bin/env bash
# Runs its arguments in a fresh network namespace that holds only loopback, so nothing the
# end-to-end suite does (whatever a bug does) can send a packet off this machine, and in a
# private mount namespace, so that nothing it mounts outlives it.
# Needs root (or CAP_SYS_ADMIN). The exit code is the command's own.
set -euo pipefail
if [ "$#" -eq 0 ]; then
  echo "usage: $0 command [args...]" >&2
  exit 2
fi
# --mount (private propagation): the emulated instances' disks are mounted in here, and vanish
# with the namespace, whatever happens to the suite.
exec unshare --net --mount --propagation private -- bash -c 'set -e; ip link set lo up; exec "$@"' netns "$@"

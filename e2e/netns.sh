#!/usr/bin/env bash
# Runs its arguments in a fresh network namespace that holds only loopback, so nothing the
# end-to-end suite does (whatever a bug does) can send a packet off this machine.
# Needs root (or CAP_SYS_ADMIN). The exit code is the command's own.
set -euo pipefail
if [ "$#" -eq 0 ]; then
  echo "usage: $0 command [args...]" >&2
  exit 2
fi
exec unshare --net -- bash -c 'set -e; ip link set lo up; exec "$@"' netns "$@"

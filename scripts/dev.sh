#!/usr/bin/env bash
# The two commands of the README: `scripts/dev.sh demo` and `scripts/dev.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  demo) scripts/setup.sh && npm run demo ;;
  test) scripts/setup.sh && npm test ;;
  bench) scripts/setup.sh && npm run bench ;;
  *) echo "usage: scripts/dev.sh demo|test|bench" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The offline wheelhouse from which the e2e emulator installs TLJH's own code (issue 8).
#   scripts/tljh-wheelhouse.sh          build it (scripts/tljh_wheelhouse.py; fast when up to date)
#   scripts/tljh-wheelhouse.sh --check  prove it: in a temp dir, with no network (unshare -n) and pip reading
#                                       only the wheelhouse, do for real what TLJH's bootstrap.py and installer
#                                       do with pip on a fresh host, and time each step
# TLJH_REF (default 2.0.0) is the tag the check installs. The cache is e2e/.cache (TLJH_CACHE overrides).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${TLJH_CACHE:-$root/e2e/.cache}

if [[ ${1:-} != --check ]]; then
  exec python3 "$root/scripts/tljh_wheelhouse.py" --cache "$cache" "$@"
fi

for tool in unshare ip git python3; do
  command -v "$tool" >/dev/null || { echo "tljh-wheelhouse: error: $tool is missing" >&2; exit 1; }
done
[[ -f $cache/wheelhouse/.fingerprint ]] || { echo "tljh-wheelhouse: error: no wheelhouse: run scripts/setup.sh" >&2; exit 1; }
clone=$(cat "$cache/tljh-git")
tmp=$(mktemp -d)
# TLJH_CHECK_KEEP=1 keeps the temp dir (venvs and one log per step) for a look afterwards.
if [[ -n ${TLJH_CHECK_KEEP:-} ]]; then echo "Keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi

# Runs inside the network namespace: $1 wheelhouse, $2 TLJH clone, $3 tag, $4 work dir, $5 plugins dir.
# The pip commands are those of bootstrap/bootstrap.py, tljh/installer.py and tljh/conda.py at that tag.
steps=$(cat <<'EOF'
set -euo pipefail
wh=$1 clone=$2 ref=$3 work=$4
ip link set lo up
if ip -o link show | grep -v ': lo:' | grep -q .; then echo "not isolated: $(ip -o link show)" >&2; exit 1; fi
# What the emulator must set for pip: the wheelhouse only, no index, no machine pip.conf.
export PIP_NO_INDEX=1 PIP_FIND_LINKS=$wh PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_CACHE_DIR=$work/pip-cache HOME=$work/home
unset PIP_EXTRA_INDEX_URL PIP_INDEX_URL PIP_CONSTRAINT
mkdir -p "$HOME"
hub=$work/opt/tljh/hub user=$work/opt/tljh/user
declare -A took
step() {
  local name=$1 t0=$EPOCHREALTIME
  shift
  echo "== $name"
  if ! "$@" >"$work/$name.log" 2>&1; then
    tail -40 "$work/$name.log"
    echo "tljh-wheelhouse: check failed at step $name" >&2
    exit 1
  fi
  took[$name]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  echo "   ${took[$name]} s"
}
hub_step_a() { python3 -m venv "$hub" && "$hub/bin/pip" install --upgrade pip; }
hub_step_b() { "$hub/bin/pip" install --upgrade "git+file://$clone@$ref"; }
hub_imports() {
  # Everything the installer and tljh-config import (not jupyterhub_config.py / user_creating_spawner,
  # which need the real SystemdSpawner: the stand-in has none).
  "$hub/bin/python" -c 'import tljh.installer, tljh.config, tljh.configurer, tljh.traefik, tljh.user, tljh.utils, tljh.migrator, toml, ruamel.yaml, jsonschema'
  "$hub/bin/tljh-config" --help >/dev/null
}
hub_step_c() {
  local tljh_dir
  tljh_dir=$("$hub/bin/python" -c 'import os, tljh; print(os.path.dirname(tljh.__file__))')
  "$hub/bin/python" -m pip install --upgrade --requirement "$tljh_dir/requirements-hub-env.txt"
  "$hub/bin/jupyterhub" --version
  # jupyterhub finds its templates and static files under <venv>/share/jupyterhub, from the wheel's .data.
  "$hub/bin/python" -c '
import os, sys
from jupyterhub._data import DATA_FILES_PATH as d
assert d == os.path.join(sys.prefix, "share", "jupyterhub"), d
for f in ("templates/login.html", "static/components/bootstrap/dist/js/bootstrap.bundle.min.js",
          "static/components/jquery/dist/jquery.min.js", "static/components/requirejs/require.js"):
    assert os.path.isfile(os.path.join(d, f)), f
'
  "$hub/bin/python" -m pip check
}
user_step_d() {
  local tljh_dir spec
  tljh_dir=$("$hub/bin/python" -c 'import os, tljh; print(os.path.dirname(tljh.__file__))')
  spec=$(grep -E '^jupyterhub([<>=! ]|$)' "$tljh_dir/requirements-hub-env.txt" | head -1)
  python3 -m venv "$user"
  "$user/bin/python" -m pip install --upgrade pip
  "$user/bin/python" -m pip install --upgrade "$spec"
  "$user/bin/python" -m pip install --requirement "$tljh_dir/requirements-user-env-extras.txt"
  "$user/bin/jupyterhub-singleuser" --version
  "$user/bin/python" -c 'import jupyterlab, notebook, ipywidgets, nbgitpuller, jupyter_resource_usage'
  "$user/bin/python" -m pip check
}
plugins_step_e() {
  "$hub/bin/python" -m pip install --upgrade tljh-emu-plugin-a tljh-emu-plugin-b
  # TLJH's own plugin manager finds both, and their post-install hook leaves its marker.
  TLJH_INSTALL_PREFIX=$work/opt/tljh "$hub/bin/python" -c '
from tljh.utils import get_plugin_manager
pm = get_plugin_manager()
names = sorted(n for n, _ in pm.list_name_plugin() if n.startswith("emu_plugin"))
assert names == ["emu_plugin_a", "emu_plugin_b"], names
pm.hook.tljh_post_install()
'
  test -f "$work/opt/tljh/state/emu-plugin-a.installed"
  test -f "$work/opt/tljh/state/emu-plugin-b.installed"
}
total0=$EPOCHREALTIME
step a-hub-venv-and-pip hub_step_a
step b-tljh-from-git hub_step_b
step b-tljh-imports hub_imports
step c-hub-requirements hub_step_c
step d-user-env user_step_d
step e-plugins plugins_step_e
echo "== timings (s)"
for k in a-hub-venv-and-pip b-tljh-from-git b-tljh-imports c-hub-requirements d-user-env e-plugins; do
  printf '   %-20s %s\n' "$k" "${took[$k]}"
done
awk -v a="$total0" -v b="$EPOCHREALTIME" 'BEGIN { printf "   %-20s %.1f\n", "total", b - a }'
EOF
)
ref=${TLJH_REF:-2.0.0}
echo "Checking $cache/wheelhouse offline: TLJH $ref from $clone"
unshare -n -- bash -c "$steps" check "$cache/wheelhouse" "$clone" "$ref" "$tmp"
echo "tljh-wheelhouse: check passed"

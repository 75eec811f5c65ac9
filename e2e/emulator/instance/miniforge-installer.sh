#!/bin/bash
# Stand-in for the Miniforge3-24.7.1-2 installer (github.com/conda-forge/miniforge releases),
# which TLJH's install_miniconda() runs as `bash INSTALLER -u -b -p PREFIX`. The real one
# unpacks a conda-forge Python with conda, mamba and pip into PREFIX, creating files under the
# caller's umask. This one makes PREFIX a real Python virtual environment (the same modes
# under the same umask) and adds `conda` and `mamba` that answer what TLJH asks of them:
# `conda list --json` (conda.get_conda_package_versions) and `mamba install ...`
# (conda.ensure_conda_packages: recorded, nothing fetched). Pip runs for real in it.
set -eu
prefix=''
while [ "$#" -gt 0 ]; do
  case "$1" in
    -p) prefix=$2; shift 2 ;;
    -b | -u) shift ;;
    *) echo "miniforge stand-in: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$prefix" ] || { echo "miniforge stand-in: -p PREFIX is required" >&2; exit 2; }
echo "PREFIX=$prefix"
echo "Unpacking payload ..."
python3 -m venv "$prefix"
ln -sf python3 "$prefix/bin/python" 2>/dev/null || true
cat >"$prefix/bin/conda" <<'CONDA'
#!/bin/sh
# conda stand-in (see miniforge-installer.sh in the emulator)
here=$(dirname "$0")
case "$1" in
  list)
    exec "$here/python3" - <<'PY'
import json, platform
from importlib.metadata import version
print(json.dumps([
    {"name": "python", "version": platform.python_version()},
    {"name": "conda", "version": "24.7.1"},
    {"name": "mamba", "version": "1.5.9"},
    {"name": "pip", "version": version("pip")},
]))
PY
    ;;
  install) echo "conda stand-in: $*" >>"$here/../conda-meta-emu.log" ;;
  *) echo "conda stand-in: '$*' is not emulated" >&2; exit 1 ;;
esac
CONDA
cp "$prefix/bin/conda" "$prefix/bin/mamba"
chmod 755 "$prefix/bin/conda" "$prefix/bin/mamba"
echo "installation finished."

"""Stand-ins for the two downloads TLJH's installer makes from GitHub releases.

Python imports this module at start-up (it is on PYTHONPATH only inside emulated instances).
TLJH's own code runs unchanged, except for two functions that need the internet, replaced
once their modules are imported:

- tljh.conda.download_miniconda_installer(url, sha256) downloads Miniforge3-24.7.1-2 from
  github.com/conda-forge/miniforge and checks its sha256. The stand-in yields a local
  installer (miniforge-installer.sh beside this file) that TLJH's real install_miniconda() then
  runs as `/bin/bash INSTALLER -u -b -p /opt/tljh/user`, under the installer's own umask.
- tljh.traefik.ensure_traefik_binary(prefix) downloads traefik v3.1.4 and checks its sha256.
  The stand-in writes a `traefik` that answers `traefik version` as the real one does (TLJH's
  check_traefik_version reads it) to PREFIX/bin/traefik, mode 0755 as upstream sets it.

Both log what TLJH logs for the download.
"""

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MINIFORGE_STANDIN = os.path.join(os.path.dirname(HERE), "miniforge-installer.sh")
TRAEFIK_STANDIN = os.path.join(os.path.dirname(HERE), "traefik")


def _patch_conda(module):
    @contextlib.contextmanager
    def download_miniconda_installer(installer_url, sha256sum):
        logging.getLogger("tljh").info(f"Downloading conda installer {installer_url}")
        logging.getLogger("tljh").info(
            f"Downloaded conda installer {installer_url} in 0.0s (emulator stand-in)"
        )
        yield MINIFORGE_STANDIN

    module.download_miniconda_installer = download_miniconda_installer


def _patch_traefik(module):
    def ensure_traefik_binary(prefix):
        traefik_bin = os.path.join(prefix, "bin", "traefik")
        if os.path.exists(traefik_bin) and module.check_traefik_version(traefik_bin):
            return
        module.logger.info(
            f"Downloading traefik {module.traefik_version} (emulator stand-in)..."
        )
        os.makedirs(os.path.dirname(traefik_bin), exist_ok=True)
        with open(TRAEFIK_STANDIN) as src, open(traefik_bin, "w") as dst:
            dst.write(src.read())
        os.chmod(traefik_bin, 0o755)

    module.ensure_traefik_binary = ensure_traefik_binary


PATCHES = {"tljh.conda": _patch_conda, "tljh.traefik": _patch_traefik}


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            PATCHES[name](module)

        loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Finder())

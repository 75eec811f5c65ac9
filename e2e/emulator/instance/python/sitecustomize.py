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

And two for bootstrap.py --show-progress-page (TLJH's progress page):

- It downloads a favicon with urllib.request.urlretrieve from raw.githubusercontent.com, the
  host the curl stand-in rewrites to the emulator's loopback copy: urllib.request.urlopen
  (which urlretrieve calls) rewrites it the same way (e2e/emulator/downloads.ts serves it).
- It serves the page with HTTPServer(("", 80), ...) and ignores an OSError ("address in use":
  upstream's comment says traefik of an installed TLJH holds the port). Here every instance
  shares the suite's network namespace, whose port 80 is the emulator's web front: the bind
  would always fail and no page would show. The stand-in fails it as the instance's own port
  80 would (traefik started, by the systemctl stand-in's record, or a page server of this
  instance still listening), and otherwise binds a loopback port and writes it to
  /var/lib/emu-progress-page/port, whence the front passes the instance's port-80 requests
  to it (e2e/emulator/real-hub.ts). The server itself is upstream's, stopped by the installer.
"""

import contextlib
import errno
import importlib.abc
import importlib.machinery
import logging
import os
import socket
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


GITHUB_RAW = "https://raw.githubusercontent.com/"


def _patch_urllib_request(module):
    original = module.urlopen

    def urlopen(url, *args, **kwargs):
        target = url.full_url if isinstance(url, module.Request) else url
        downloads = os.environ.get("EMU_DOWNLOADS_URL")
        if downloads and isinstance(target, str) and target.startswith(GITHUB_RAW):
            local = f"{downloads}/{target[len(GITHUB_RAW):]}"
            if isinstance(url, module.Request):
                url.full_url = local
            else:
                url = local
        return original(url, *args, **kwargs)

    module.urlopen = urlopen


PROGRESS_PAGE_PORT = "/var/lib/emu-progress-page/port"
TRAEFIK_ACTIVE = "/var/lib/emu-systemd/traefik.active"


def _port_80_taken():
    if os.path.exists(TRAEFIK_ACTIVE):
        return True
    try:
        with open(PROGRESS_PAGE_PORT) as f:
            port = int(f.read())
    except (OSError, ValueError):
        return False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _patch_http_server(module):
    class HTTPServer(module.HTTPServer):
        def server_bind(self):
            host, port = self.server_address[:2]
            if port != 80 or host not in ("", "0.0.0.0"):
                return super().server_bind()
            if _port_80_taken():
                raise OSError(errno.EADDRINUSE, "Address already in use")
            self.server_address = ("127.0.0.1", 0)
            super().server_bind()
            os.makedirs(os.path.dirname(PROGRESS_PAGE_PORT), exist_ok=True)
            with open(PROGRESS_PAGE_PORT, "w") as f:
                f.write(str(self.server_address[1]))

    module.HTTPServer = HTTPServer


PATCHES = {
    "tljh.conda": _patch_conda,
    "tljh.traefik": _patch_traefik,
    "urllib.request": _patch_urllib_request,
    "http.server": _patch_http_server,
}


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

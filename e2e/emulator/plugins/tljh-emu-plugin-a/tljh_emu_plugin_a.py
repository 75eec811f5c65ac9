"""TLJH test plugin a for the e2e emulator.

TLJH's installer loads it through the "tljh" entry point group and, after the hub is up, calls
tljh_post_install (tljh/installer.py: run_plugin_actions). The marker it leaves lets the suite see that
this plugin, and not only the last one passed with --plugin, was installed and run.
"""

import os

from tljh.config import STATE_DIR
from tljh.hooks import hookimpl

# STATE_DIR is /opt/tljh/state unless TLJH_INSTALL_PREFIX moves the whole installation.
MARKER = os.path.join(STATE_DIR, "emu-plugin-a.installed")


@hookimpl
def tljh_config_post_install(config):
    """Sets nothing: the suite checks that config.yaml holds only what the action asked for."""


@hookimpl
def tljh_post_install():
    os.makedirs(STATE_DIR, exist_ok=True)
    with open(MARKER, "w") as f:
        f.write("tljh-emu-plugin-a\n")

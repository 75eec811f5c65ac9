"""emulator stand-in for jupyterhub-systemdspawner 1.0.2 from PyPI, which this machine cannot reach"""

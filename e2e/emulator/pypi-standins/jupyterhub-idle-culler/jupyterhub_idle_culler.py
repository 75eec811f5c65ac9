"""emulator stand-in for jupyterhub-idle-culler 1.4.0 from PyPI, which this machine cannot reach"""

"""emulator stand-in for jupyterhub-tmpauthenticator 1.0.0 from PyPI, which this machine cannot reach"""

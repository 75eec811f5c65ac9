"""emulator stand-in for jupyterhub-nativeauthenticator 1.3.0 from PyPI, which this machine cannot reach"""

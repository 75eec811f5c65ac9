"""emulator stand-in for jupyterhub-ldapauthenticator 2.0.2 from PyPI, which this machine cannot reach"""

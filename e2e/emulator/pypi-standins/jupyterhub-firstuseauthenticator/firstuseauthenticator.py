"""emulator stand-in for jupyterhub-firstuseauthenticator 1.1.1 from PyPI, which this machine cannot reach"""

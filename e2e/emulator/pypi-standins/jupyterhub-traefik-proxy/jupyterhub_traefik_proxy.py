"""emulator stand-in for jupyterhub-traefik-proxy 2.1.0 from PyPI, which this machine cannot reach"""

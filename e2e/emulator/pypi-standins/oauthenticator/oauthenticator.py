"""emulator stand-in for oauthenticator 17.4.0 from PyPI, which this machine cannot reach"""

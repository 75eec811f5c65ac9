"""emulator stand-in for pycurl 7.45.7 from PyPI, which this machine cannot reach"""

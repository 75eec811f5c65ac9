"""emulator stand-in for pamela 1.2.0 from PyPI, which this machine cannot reach"""

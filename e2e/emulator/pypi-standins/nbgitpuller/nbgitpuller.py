"""emulator stand-in for nbgitpuller 1.2.2 from PyPI, which this machine cannot reach"""

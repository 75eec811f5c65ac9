"""emulator stand-in for jupyter-resource-usage 1.2.0 from PyPI, which this machine cannot reach"""

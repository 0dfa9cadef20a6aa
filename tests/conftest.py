import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "app")
BIN = os.path.join(APP, "bin")
for path in (BIN, os.path.join(BIN, "lib")):
    if path not in sys.path:
        sys.path.insert(0, path)

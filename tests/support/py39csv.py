"""Runs a command script with the csv reader of Python before 3.11: a line with NUL is an error.

    python tests/support/py39csv.py app/bin/regsvr32detect.py

Splunk 9.x runs the command on Python 3.9, whose csv reader raises "line contains NUL"; the
Python running the tests may accept NUL (3.11 and later). This makes the difference testable here.
"""
import csv
import os
import runpy
import sys

_reader = csv.reader


def _no_nul(lines):
    for line in lines:
        if "\0" in line:
            raise csv.Error("line contains NUL")
        yield line


def reader(lines, *args, **kwargs):
    return _reader(_no_nul(lines), *args, **kwargs)


csv.reader = reader
script = os.path.abspath(sys.argv[1])
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(script)
runpy.run_path(script, run_name="__main__")

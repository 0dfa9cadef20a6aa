"""Puts app/bin (the detector and the command), app/bin/lib (vendored splunklib) and the
repository root (tools/, the build) on sys.path."""
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "app")
BIN = os.path.join(APP, "bin")
LIB = os.path.join(BIN, "lib")
for path in (BIN, LIB):
    if path not in sys.path:
        sys.path.insert(0, path)
if ROOT not in sys.path:            # tools/: the build, whose content the tests read
    sys.path.append(ROOT)


@pytest.fixture
def app_copy(tmp_path):
    """A private copy of the app (lib symlinked) whose lookups a test may change freely."""
    copy = tmp_path / "regsvr32detect"
    shutil.copytree(APP, str(copy), symlinks=True,
                    ignore=shutil.ignore_patterns("lib", "local", "__pycache__", "*.pyc"))
    os.symlink(LIB, str(copy / "bin" / "lib"))
    return copy


@pytest.fixture(scope="session")
def detector():
    """The detector with the shipped default allowlist, which must load without problems."""
    from regsvr32_detector import Detector, load_allowlists
    allowlist, problems = load_allowlists([os.path.join(APP, "lookups", "regsvr32_allowlist_default.csv")])
    assert not problems, [str(p) for p in problems]
    return Detector(allowlist)


def pytest_ignore_collect(collection_path, config):
    """With -m pure, skip importing the modules that hold no pure-detector test (the protocol,
    package, browser and Sigma tests pull in much more than the detector)."""
    if config.getoption("markexpr", "") != "pure" or not collection_path.name.startswith("test_"):
        return None
    with open(str(collection_path), encoding="utf-8") as f:
        return "pytestmark = pytest.mark.pure" not in f.read()

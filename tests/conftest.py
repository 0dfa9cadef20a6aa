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


# Each test file's layer, so a change can be checked in its layer first (python3 -m pytest -m unit).
#   unit:     the detector and the scanner in-process (no splunkd protocol)
#   protocol: the command through splunkd's chunked protocol, a forked process per case
#             (support/chunked.py), a fresh interpreter where start-up matters
#   content:  what ships besides code: .conf files, generated content, docs, dashboard, package
LAYERS = {
    "unit": (
        "test_allowlist.py", "test_bounded.py", "test_cases_attacks.py", "test_cases_benign.py",
        "test_cheap_test.py", "test_cmdline.py", "test_detector.py", "test_edr_shapes.py",
        "test_efficacy.py", "test_fields.py", "test_memo_key.py", "test_memory.py", "test_multivalue.py",
        "test_peers.py", "test_properties.py", "test_readers.py", "test_registry.py",
        "test_rule_gates.py", "test_rules.py", "test_scan.py", "test_score.py", "test_seeds.py", "test_signature.py",
        "test_verdict_snapshot.py", "test_winpath.py"),
    "protocol": (
        "test_allowlist_reliability.py", "test_baseline.py", "test_command.py",
        "test_failure_behaviour.py", "test_fastpath.py", "test_forked.py", "test_fuzz_protocol.py",
        "test_hostile_text.py", "test_leanio.py", "test_lookup_abuse.py", "test_tuning.py"),
    "content": (
        "test_app_safety.py", "test_build.py", "test_import_graph.py", "test_conf.py", "test_dashboard_render.py", "test_demo.py",
        "test_docs.py", "test_es_content.py", "test_one_declaration.py", "test_package.py", "test_readme.py",
        "test_searches.py", "test_sigma.py", "test_tuning_render.py", "test_upgrade.py"),
}
LAYER_OF = dict((name, layer) for layer, names in LAYERS.items() for name in names)


def pytest_collection_modifyitems(config, items):
    """Mark every test with its file's layer; a test file without one is an error, not a test
    that no layer runs."""
    unlayered = sorted(set(item.path.name for item in items if item.path.name not in LAYER_OF))
    if unlayered:
        raise pytest.UsageError("no layer for %s: add it to LAYERS in tests/conftest.py"
                                % ", ".join(unlayered))
    for item in items:
        item.add_marker(LAYER_OF[item.path.name])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """-n auto (pytest.ini) but for -m pure: its second of tests would wait for the workers."""
    if config.getoption("markexpr", "").strip() == "pure":
        return 0
    return None


def pytest_ignore_collect(collection_path, config):
    """With -m <one layer> or -m pure, skip importing the modules that hold none of its tests (the
    protocol, package, browser and Sigma tests pull in much more than the detector)."""
    markexpr = config.getoption("markexpr", "").strip()
    name = collection_path.name
    if not name.startswith("test_") or not name.endswith(".py"):
        return None
    if markexpr in LAYERS:
        return LAYER_OF.get(name, markexpr) != markexpr
    if markexpr != "pure":
        return None
    with open(str(collection_path), encoding="utf-8") as f:
        return "pytestmark = pytest.mark.pure" not in f.read()

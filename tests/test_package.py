"""The package package.sh builds: what is in it, what is not, and what AppInspect says."""
import json
import os
import tarfile

import pytest

from support import apppackage

MUST_HAVE = [
    "regsvr32detect/README.md",
    "regsvr32detect/LICENSE",
    "regsvr32detect/bin/regsvr32detect.py",
    "regsvr32detect/bin/regsvr32_detector/__init__.py",
    "regsvr32detect/bin/lib/splunklib/__init__.py",
    "regsvr32detect/bin/lib/splunklib/searchcommands/search_command.py",
    "regsvr32detect/default/app.conf",
    "regsvr32detect/default/commands.conf",
    "regsvr32detect/default/searchbnf.conf",
    "regsvr32detect/default/transforms.conf",
    "regsvr32detect/default/macros.conf",
    "regsvr32detect/default/regsvr32detect.logging.conf",
    "regsvr32detect/metadata/default.meta",
    "regsvr32detect/lookups/regsvr32_allowlist_default.csv",
    "regsvr32detect/static/appIcon.png",
    "regsvr32detect/static/appIcon_2x.png",
]


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    repo = apppackage.scratch_repo(str(tmp_path_factory.mktemp("pkg") / "repo"))
    app = os.path.join(repo, "app")
    # Things a working checkout may hold that must never ship.
    junk = {
        "local/macros.conf": "[regsvr32_events]\ndefinition = index=x\n",
        "metadata/local.meta": "[]\n",
        "lookups/regsvr32_allowlist_local.csv": "rule_id,image\n",
        "lookups/regsvr32_baseline.csv": "regsvr32_signature,first_seen,last_seen,count\n",
        "bin/__pycache__/regsvr32detect.cpython-311.pyc": "",
        "bin/regsvr32_detector/__pycache__/x.pyc": "",
        "bin/stray.pyc": "",
        ".DS_Store": "",
        "default/.app.conf.swp": "",
    }
    for rel, text in junk.items():
        path = os.path.join(app, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    proc, tgz = apppackage.build(repo)
    assert proc.returncode == 0, proc.stdout
    with tarfile.open(tgz) as tar:
        members = tar.getmembers()
    return tgz, {m.name: m for m in members}


def test_package_is_named_after_the_app_conf_version(package):
    tgz, _ = package
    assert os.path.basename(tgz) == "regsvr32detect-%s.tgz" % apppackage.app_version(apppackage.ROOT + "/app")


@pytest.mark.parametrize("name", MUST_HAVE)
def test_package_contains(package, name):
    _, members = package
    assert members[name].isfile()


@pytest.mark.parametrize(("what", "bad"), [
    ("one top folder, regsvr32detect/", lambda n: n.split("/")[0] != "regsvr32detect"),
    ("no local/ folder", lambda n: n.startswith("regsvr32detect/local")),
    ("no local.meta", lambda n: n.endswith("local.meta")),
    ("no admin allowlist", lambda n: n.endswith("regsvr32_allowlist_local.csv")),
    ("no baseline data", lambda n: n.endswith("regsvr32_baseline.csv")),
    ("no compiled Python", lambda n: n.endswith((".pyc", ".pyo")) or "__pycache__" in n),
    ("no dotfiles", lambda n: any(part.startswith(".") for part in n.split("/"))),
    ("no tests", lambda n: "/tests" in n or "conftest" in n),
    ("no pip metadata", lambda n: ".dist-info" in n),
])
def test_package_leaves_out(package, what, bad):
    _, members = package
    assert [n for n in members if bad(n)] == [], what


def test_package_files_are_not_world_writable_and_not_links(package):
    _, members = package
    assert all(m.isfile() or m.isdir() for m in members.values())
    assert all(not m.mode & 0o002 for m in members.values())


@pytest.mark.slow
def test_appinspect_cloud_finds_no_failure_error_or_future_failure(tmp_path):
    repo = apppackage.scratch_repo(str(tmp_path / "repo"))
    proc, tgz = apppackage.build(repo, "all")
    report = json.load(open(tgz[:-len(".tgz")] + ".appinspect.json"))
    summary = report["summary"]
    assert (summary["failure"], summary["error"], summary["future_failure"]) == (0, 0, 0), proc.stdout
    assert proc.returncode == 0, proc.stdout
    assert "AppInspect (cloud): error=0, failure=0, future_failure=0" in proc.stdout

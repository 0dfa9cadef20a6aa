"""An upgrade (the new package extracted over the installed app, as `splunk install app -update 1`
does) keeps the admin's allowlist and local/ settings, and the command still reads them."""
import os
import tarfile

from support import apppackage
from support import chunked
from support import spl_baseline
from support.allowlists import ALLOW_WS_FIN_07, HEADER
from regsvr32_detector import Detector
from support.samples import MALICIOUS

LOCAL_LIST = HEADER + ALLOW_WS_FIN_07
LOCAL_MACRO = "[regsvr32_events]\ndefinition = index=winlogs `regsvr32_events`\n"
# Everything else an admin may add or change in the app folder (relative path -> text).
ADMIN_FILES = {
    "local/app.conf": "[ui]\nis_visible = false\n",
    "local/savedsearches.conf": "[regsvr32 - hourly]\nsearch = `regsvr32_events` | regsvr32detect\n",
    "local/transforms.conf": "[regsvr32_allowlist_team]\nfilename = team.csv\n",
    "local/regsvr32detect.logging.conf": "[logger_root]\nlevel = DEBUG\n",
    "local/data/ui/views/regsvr32.xml": "<dashboard><label>regsvr32</label></dashboard>\n",
    "metadata/local.meta": "[lookups/regsvr32_allowlist_local.csv]\naccess = read : [ * ], write : [ admin ]\n",
    "lookups/team.csv": HEADER,
}
# What the baseline update search wrote with outputlookup: first met at epoch 1600000000.
BASELINE = "regsvr32_signature,first_seen,last_seen,count\n\"%s\",1600000000,1600000000,1\n" % (
    Detector().evaluate(MALICIOUS).signature.replace('"', '""'))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def installed_with_admin_edits(tmp_path):
    repo = apppackage.scratch_repo(str(tmp_path / "repo"))
    proc, old = apppackage.build(repo)
    assert proc.returncode == 0, proc.stdout
    apps = str(tmp_path / "etc" / "apps")
    os.makedirs(apps)
    app = apppackage.install(old, apps)
    os.makedirs(os.path.join(app, "local"))
    with open(os.path.join(app, "lookups", "regsvr32_allowlist_local.csv"), "w", encoding="utf-8") as f:
        f.write(LOCAL_LIST)
    with open(os.path.join(app, "local", "macros.conf"), "w", encoding="utf-8") as f:
        f.write(LOCAL_MACRO)
    for rel, text in ADMIN_FILES.items():
        path = os.path.join(app, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(app, "lookups", "regsvr32_baseline.csv"), "w", encoding="utf-8") as f:
        f.write(BASELINE)
    return repo, apps, app


def test_upgrade_keeps_the_admin_allowlist_and_local_settings(tmp_path):
    repo, apps, app = installed_with_admin_edits(tmp_path)
    apppackage.set_version(os.path.join(repo, "app"), "0.99.0")
    with open(os.path.join(repo, "app", "README.md"), "a") as f:
        f.write("\nNew in 0.99.0.\n")
    proc, new = apppackage.build(repo)
    assert proc.returncode == 0, proc.stdout

    apppackage.install(new, apps)

    assert apppackage.app_version(app) == "0.99.0"
    assert read(os.path.join(app, "README.md")).endswith("New in 0.99.0.\n")
    assert read(os.path.join(app, "lookups", "regsvr32_allowlist_local.csv")) == LOCAL_LIST
    assert read(os.path.join(app, "local", "macros.conf")) == LOCAL_MACRO
    assert {rel: read(os.path.join(app, rel)) for rel in ADMIN_FILES} == ADMIN_FILES
    assert read(os.path.join(app, "lookups", "regsvr32_baseline.csv")) == BASELINE
    # The upgraded command still applies the admin's list, and `regsvr32_new_vs_baseline`
    # (modelled in spl_baseline) still reads the baseline.
    rows = chunked.run([], chunks=[[dict(MALICIOUS, _time="1700000000")]],
                       script=os.path.join(app, "bin", "regsvr32detect.py")).rows
    (row,) = spl_baseline.new_vs_baseline(rows, os.path.join(app, "lookups", "regsvr32_baseline.csv"))
    assert row["regsvr32_score"] == "0" and row["regsvr32_allowlisted"]
    assert row["regsvr32_first_seen"] == "1600000000" and row["regsvr32_new"] == "true"


def test_a_package_that_shipped_the_local_list_would_destroy_the_edits(tmp_path):
    # Why package.sh never ships regsvr32_allowlist_local.csv: the same upgrade would overwrite it.
    repo, apps, app = installed_with_admin_edits(tmp_path)
    proc, new = apppackage.build(repo)
    assert proc.returncode == 0, proc.stdout
    shipped = str(tmp_path / "bad.tgz")
    with tarfile.open(new) as src, tarfile.open(shipped, "w:gz") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        header = os.path.join(str(tmp_path), "header.csv")
        with open(header, "w") as f:
            f.write(HEADER)
        dst.add(header, "regsvr32detect/lookups/regsvr32_allowlist_local.csv")
    apppackage.install(shipped, apps)
    assert read(os.path.join(app, "lookups", "regsvr32_allowlist_local.csv")) == HEADER

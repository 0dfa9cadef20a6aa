"""The admin's tuning loop in the browser: from a false positive on the overview to a live,
attributed, expiring row of regsvr32_allowlist_local, and the health view listing it.

tests/render/flow.mjs drives Splunk's dashboard framework in headless Chromium: the overview drawn
from rows | regsvr32detect produced, then the allowlist form and the health view with their
searches run by tests/support/tuning_searches.py (the app's commands for real, in a scratch copy
of the app). Here: what the browser showed, and the written CSV row read by the real loader and
applied by | regsvr32detect. Needs node, npm ci in tests/render and chromium (tests/render/setup.sh).
"""
import csv
import datetime
import json
import os
import shutil
import subprocess
import sys

import pytest

from support import chunked, dashboard_data, tuning_searches
from regsvr32_detector import load_allowlists

HERE = os.path.dirname(os.path.abspath(__file__))
FLOW = os.path.join(HERE, "render", "flow.mjs")
BUILD = os.path.join(HERE, os.pardir, "build")


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    missing = [what for what, ok in (
        ("node", shutil.which("node")),
        ("chromium", shutil.which("chromium") or os.environ.get("CHROMIUM")),
        ("tests/render/node_modules (npm ci)", os.path.isdir(os.path.join(HERE, "render", "node_modules"))))
        if not ok]
    assert not missing, "missing %s: run tests/render/setup.sh" % ", ".join(missing)
    tmp = tmp_path_factory.mktemp("flow")
    app = tuning_searches.app_copy(str(tmp / "regsvr32detect"))
    rows = tmp / "rows.json"
    rows.write_text(json.dumps({"dataSources": dashboard_data.data_sources()}))
    os.makedirs(BUILD, exist_ok=True)
    proc = subprocess.run(["node", FLOW, str(rows), BUILD], env=dict(os.environ, APP_COPY=app),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    sys.stdout.write(out)
    with open(os.path.join(BUILD, "flow.json"), encoding="utf-8") as f:
        shown = json.load(f)
    return proc.returncode, out, shown, app


def test_the_flow_passes_in_the_browser(flow):
    code, out, shown, _ = flow
    assert code == 0, out
    assert shown["written_before_confirm"] is False          # nothing is written before the confirm
    assert shown["write_before_confirm"]["rows"] == []


def test_the_form_was_prefilled_from_the_finding(flow):
    _, _, shown, _ = flow
    assert shown["finding"]["rule_id"] == "R32-048" and shown["finding"]["module"].endswith("MSOSB.DLL")
    for column, value in shown["finding"].items():
        assert shown["prefilled"].get(column, "").strip() == value


def test_the_preview_counts_what_the_row_newly_clears(flow):
    _, _, shown, _ = flow
    # every finding listed was cleared by the candidate, R32-048 on the hosts the row names
    assert shown["preview"]["rows"] and all("R32-048" in " ".join(r) for r in shown["preview"]["rows"])
    assert "No warning" in shown["warning"]["text"]
    hosts = [r[0] for r in shown["preview_hosts"]["rows"]]
    assert hosts and all(h.startswith("ws-") for h in hosts)


def test_the_written_row_is_the_loaders_and_clears_the_finding(flow):
    _, _, shown, app = flow
    local = os.path.join(app, "lookups", "regsvr32_allowlist_local.csv")
    with open(local, encoding="utf-8", newline="") as f:
        written = list(csv.DictReader(f))
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert written == [dict(
        written[0], rule_id="R32-048", module=shown["edits"]["module"], host="ws-*", user="",
        reason=shown["edits"]["reason"], added_by=tuning_searches.USER, added_on=today.isoformat(),
        expires=(today + datetime.timedelta(days=90)).isoformat())]
    allowlist, problems = load_allowlists([os.path.join(app, "lookups", "regsvr32_allowlist_default.csv"), local])
    assert problems == []
    (entry,) = [e for e in allowlist.entries if e.path == local]
    assert entry.line == 2 and entry.expires == today + datetime.timedelta(days=90)
    # live in the next search: | regsvr32detect clears the finding with the new row
    finding = [e for e in tuning_searches.events() if "MSOSB.DLL" in json.dumps(e) and "ws-fin-07" in json.dumps(e)][0]
    result = chunked.run([], [[finding]], script=os.path.join(app, "bin", "regsvr32detect.py"))
    (row,) = result.rows
    assert "R32-048" not in dashboard_data.mv(row["regsvr32_rules"])
    assert any(t.endswith("(regsvr32_allowlist_local.csv:2)") for t in dashboard_data.mv(row["regsvr32_allowlisted"]))


def test_the_health_view_lists_the_new_row_attributed_with_its_hits(flow):
    _, _, shown, _ = flow
    cells = [r for r in shown["health"]["rows"] if r and r[0] == "regsvr32_allowlist_local.csv:2"]
    assert cells, shown["health"]["rows"][:3]
    row = cells[0]
    assert row[1] == "active" and tuning_searches.USER in row and int(row[3]) > 0

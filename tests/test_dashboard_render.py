"""The overview dashboard, validated and drawn by Splunk's own dashboard framework.

tests/support/dashboard_data.py runs the sample events through | regsvr32detect (the real protocol) and
models each data source's SPL; tests/render/render.mjs validates the Dashboard Studio definition
with Splunk's validator and renders it with the view-only preset in headless Chromium, failing on
console errors, visualizations in an error state and panels drawn empty although their data has
rows. It writes build/overview.png. Needs node, `npm ci` in tests/render and chromium
(tests/render/setup.sh installs all three; CI runs it).
"""
import json
import os
import shutil
import subprocess
import sys

from support import dashboard_data

HERE = os.path.dirname(os.path.abspath(__file__))
RENDER = os.path.join(HERE, "render")
PNG = os.path.join(HERE, os.pardir, "build", "overview.png")


def test_every_data_source_has_a_model_of_its_spl():
    assert set(dashboard_data.definition()["dataSources"]) == set(dashboard_data.MODELS)


def test_the_rows_reach_every_panel():
    # The render only proves something for panels whose data has rows.
    ds = dashboard_data.data_sources()
    assert sorted(k for k, v in ds.items() if not v["columns"] or not v["columns"][0]) == []


def test_overview_dashboard_renders_with_rows_from_the_command(tmp_path):
    missing = [what for what, ok in (
        ("node", shutil.which("node")),
        ("chromium", shutil.which("chromium") or os.environ.get("CHROMIUM")),
        ("tests/render/node_modules (npm ci)", os.path.isdir(os.path.join(RENDER, "node_modules"))))
        if not ok]
    assert not missing, "missing %s: run tests/render/setup.sh" % ", ".join(missing)
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps({"dataSources": dashboard_data.data_sources()}))
    os.makedirs(os.path.dirname(PNG), exist_ok=True)
    proc = subprocess.run(["node", os.path.join(RENDER, "render.mjs"), dashboard_data.VIEW, str(rows), PNG],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    sys.stdout.write(out)
    assert proc.returncode == 0, out
    assert os.path.getsize(PNG) > 10000


def _column(ds, name):
    return ds["columns"][[f["name"] for f in ds["fields"]].index(name)]


def test_the_tiles_count_what_the_charts_draw():
    # Every event is inside the time range, so the findings over time add up to the Findings tile.
    ds = dashboard_data.data_sources()
    series = [f["name"] for f in ds["ds_by_severity"]["fields"] if not f["name"].startswith("_")]
    drawn = sum(int(v) for name in series for v in _column(ds["ds_by_severity"], name))
    assert drawn == int(_column(ds["ds_findings"], "count")[0]) > 0


def test_the_row_not_evaluated_is_the_detectors_own_error():
    # No patched detector: the row the panel shows is one the real command cannot read.
    (error,) = _column(dashboard_data.data_sources()["ds_errors"], "regsvr32_error")
    assert error.startswith("no reader for this row") and "test" not in error

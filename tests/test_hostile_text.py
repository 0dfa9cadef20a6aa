"""Attacker-controlled text: every regular expression is linear, 32 KB values in every field the
detector reads stay fast, and NUL bytes never end a search (on Splunk's Python 3.9 as on 3.11+)."""
import ast
import os
import re
import shutil
import subprocess
import sys
import time

try:
    import re._parser as sre_parse                  # Python 3.11+
except ImportError:
    import sre_parse

import pytest

import chunked
from events import REGSVR32
from samples import BENIGN, MALICIOUS
from test_properties import N, PATTERNS, _best_time, _hostile, detector  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
APP_BIN = os.path.join(os.path.dirname(HERE), "app", "bin")
PY39CSV = os.path.join(HERE, "py39csv.py")
RE_CALLS = {"compile", "match", "search", "fullmatch", "findall", "finditer", "split", "sub", "subn"}


def app_sources():
    """The app's own Python files (not the vendored splunklib in bin/lib)."""
    for folder, dirs, files in os.walk(APP_BIN):
        dirs[:] = [d for d in dirs if d not in ("lib", "__pycache__")]
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    yield os.path.relpath(path, APP_BIN), ast.parse(f.read(), path)


def regex_sites():
    """(file, line, pattern or None) for every re.<call>(...) in the app; None: not a literal."""
    sites = []
    for rel, tree in app_sources():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.func.attr in RE_CALLS and node.args):
                arg = node.args[0]
                literal = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
                sites.append((rel, node.lineno, literal))
    return sites


SITES = regex_sites()
LITERALS = sorted(set(p for _, _, p in SITES if p is not None))
REPEATS = (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT)
# A quantifier inside a quantifier is how a regex goes exponential. Allowed only where nothing
# follows the outer group and the only use is findall, so a match never fails after the group
# and nothing backtracks into it (fullmatch on 'a' * 30 + ' ' would take for ever).
NESTED_OK = {r'(?:[^ \t"]+|"[^"]*"?)+': ("_SIMPLE_ARG", "findall")}


def _may_match(item, char):
    """Whether a one-character item (sre_parse form) may match CHAR; unsure means yes."""
    if len(item) != 1:
        return True
    op, arg = item[0]
    if op == sre_parse.LITERAL:
        return arg == char
    if op == sre_parse.IN and all(o in (sre_parse.LITERAL, sre_parse.RANGE) for o, _ in arg):
        return any(a == char if o == sre_parse.LITERAL else a[0] <= char <= a[1] for o, a in arg)
    return True


def _separated(body):
    # (?:-[0-9]+)+: each round starts with a character its inner repeats cannot match, so a
    # text splits into rounds one way only and there is nothing to backtrack through.
    if not body or body[0][0] != sre_parse.LITERAL:
        return False
    inner = [arg[2] for op, arg in body[1:] if op in REPEATS]
    plain = all(op in REPEATS or op == sre_parse.LITERAL for op, _ in body[1:])
    return plain and all(not _may_match(list(item), body[0][1]) for item in inner)


def _nested_quantifier(items, inside=False):
    for op, arg in items:
        if op in REPEATS:
            lo, hi, body = arg
            if inside and hi > 1:
                return True
            if hi > 1 and _separated(list(body)):
                continue
            if _nested_quantifier(body, inside or hi > 1):
                return True
        elif op == sre_parse.SUBPATTERN:
            if _nested_quantifier(arg[-1], inside):
                return True
        elif op == sre_parse.BRANCH:
            if any(_nested_quantifier(b, inside) for b in arg[1]):
                return True
    return False


def test_the_scan_finds_the_regexes_we_know_of():
    # If this fails the scan went blind (or a regex was added: then it is checked below too).
    assert len(LITERALS) >= 9
    assert r'\\*"+|\\+|[ \t]+|[^ \t"\\]+' in LITERALS


def test_only_the_allowlist_glob_builds_a_regex_at_run_time():
    # Every other regex is a literal in the code; the glob one is checked in test_lookup_abuse.
    dynamic = [(rel, line) for rel, line, p in SITES if p is None]
    assert [rel for rel, _ in dynamic] == [os.path.join("regsvr32_detector", "allowlist.py")], dynamic


@pytest.mark.parametrize("pattern", LITERALS)
def test_no_nested_quantifiers(pattern):
    nested = _nested_quantifier(sre_parse.parse(pattern))
    assert not nested or pattern in NESTED_OK, pattern


@pytest.mark.parametrize("pattern", sorted(NESTED_OK))
def test_a_nested_quantifier_is_used_only_the_safe_way(pattern):
    name, method = NESTED_OK[pattern]
    uses = [(rel, node.attr) for rel, tree in app_sources() for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name]
    assert uses and all(attr == method for _, attr in uses), uses


@pytest.mark.parametrize(("sample", "nested"), [
    (r"(a+)+$", True), (r"(?:x|y*)*z", True), (r"(a|b)*c", False), (r"[a-z]+@", False),
    (r"(?:ab{2,3})+", False), (r"(?:b{2,3})+", True), (r"^(?:0x[0-9a-f]*|[0-9]+)$", False),
    (r"[0-9]+(?:\.[0-9]+)+", False), (r"(?:-[-0-9]+)+", True), (r"(?:-[0-9]+x*)+", False),
    (r"(?:-\w+)+", True), (r"(?:a[b-z]+)+", False), (r"(?:a[a-z]+)+", True),
])
def test_the_nested_quantifier_check_itself(sample, nested):
    assert _nested_quantifier(sre_parse.parse(sample)) == nested


UNITS = [" ", "\t", '"', "\\", "a", "~", "0", "x", ".", "%", ":", "/", "-", "$", ";", "\u02b0",
         '"\\', "\\\"", "~0", "%a", "0x", ' "', 'a"', "a.", "a%", "c:\\", "\\\\", "%(", "0."]
TAILS = ["", "!", " ", '"', "\n", "%", "~"]


@pytest.mark.parametrize("pattern", LITERALS)
def test_every_regex_is_fast_on_32kb_of_repeated_characters(pattern):
    rx = re.compile(pattern)
    ops = [getattr(rx, NESTED_OK[pattern][1])] if pattern in NESTED_OK else [
        rx.search, rx.match, rx.fullmatch, rx.findall, rx.split]
    worst, where = 0.0, None
    for unit in UNITS:
        for tail in TAILS:
            text = (unit * N)[:N - len(tail)] + tail
            for op in ops:
                best = float("inf")
                for _ in range(2):
                    t0 = time.perf_counter()
                    op(text)
                    best = min(best, time.perf_counter() - t0)
                if best > worst:
                    worst, where = best, (unit, tail, op.__name__)
    # Linear work on 32 KB is well under a millisecond, or a few when findall builds 32K matches;
    # quadratic backtracking would be some 500 million steps: seconds.
    assert worst < 0.025, (pattern, where, worst)


# --- 32 KB values in every field the detector reads, for every event shape it knows -------------
def _shapes(big):
    path = ("C:\\" + big)[:N]
    return {
        "sysmon1_original_file_name": {"EventCode": "1", "Image": path, "OriginalFileName": big,
                                       "Description": big, "CommandLine": big},
        "4688": {"EventCode": "4688", "NewProcessName": REGSVR32, "CommandLine": big,
                 "ParentProcessName": path, "SubjectUserName": big},
        "cim": {"Processes.process_name": "regsvr32.exe", "Processes.process": big,
                "Processes.process_path": path, "Processes.parent_process": big, "Processes.dest": big},
        "sysmon3_network": {"EventCode": "3", "Image": REGSVR32, "DestinationIp": big,
                            "DestinationHostname": big, "DestinationPort": big},
        "sysmon7_image_load": {"EventCode": "7", "Image": REGSVR32, "ImageLoaded": path,
                               "Signature": big, "Signed": big, "SignatureStatus": big},
        "sysmon8_remote_thread": {"EventCode": "8", "SourceImage": path, "TargetImage": path},
        "sysmon11_file": {"EventCode": "11", "Image": REGSVR32, "TargetFilename": path},
        "sysmon13_registry": {"EventCode": "13", "Image": path, "TargetObject": path, "Details": big},
        "sysmon22_dns": {"EventCode": "22", "Image": REGSVR32, "QueryName": big},
        "4698_task": {"EventCode": "4698", "TaskContent": big},
        "7045_service": {"EventCode": "7045", "ImagePath": big, "ServiceFileName": path},
        "multivalue": {"EventCode": "1", "Image": [REGSVR32, path], "CommandLine": [big, big, big]},
    }


SHAPES = sorted(_shapes("x"))


@pytest.mark.parametrize("shape", SHAPES)
def test_32kb_values_in_every_event_shape_under_5ms(detector, shape):  # noqa: F811
    worst = max((_best_time(detector, _shapes(_hostile(p))[shape]), p) for p in PATTERNS.values())
    assert worst[0] < 0.005, worst


def test_hostile_rows_through_the_protocol_stay_fast():
    # 32 KB lines of every hostile pattern, 10 of each, through the command: about a ms a row.
    rows = [dict(MALICIOUS, CommandLine=_hostile(p), ParentCommandLine=_hostile(p), row=str(i))
            for i, p in enumerate(sorted(PATTERNS.values()) * 10)]
    t0 = time.perf_counter()
    result = chunked.run(chunks=[rows[:100], rows[100:]])
    elapsed = time.perf_counter() - t0
    assert [r["row"] for r in result.rows] == [r["row"] for r in rows]
    assert all(r["regsvr32_error"] == "" for r in result.rows)
    assert elapsed < 0.005 * len(rows) + 2, elapsed    # 5 ms a row plus process start


# --- NUL bytes -----------------------------------------------------------------------------------
def test_the_simulated_python39_reader_rejects_nul(tmp_path):
    # Proves py39csv.py reproduces Splunk 9's failure, so the tests below can fail.
    script = tmp_path / "reads_nul.py"
    script.write_text("import csv\nprint(list(csv.reader(['a\\0b'])))\n")
    proc = subprocess.run([sys.executable, PY39CSV, str(script)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode != 0 and "line contains NUL" in proc.stderr


def _python39():
    path = shutil.which("python3.9")    # may be a pyenv shim without an installed 3.9 behind it
    if path and subprocess.run([path, "-c", "pass"], stderr=subprocess.DEVNULL).returncode == 0:
        return path
    return None


PY39 = _python39()
RUNTIMES = [
    pytest.param({}, id="this-python"),
    pytest.param({"wrapper": PY39CSV}, id="python3.9-csv-simulated"),
    pytest.param({"python": PY39}, id="python3.9",
                 marks=pytest.mark.skipif(not PY39, reason="no python3.9 on PATH")),
]
NUL_ROWS = [
    ("value", dict(BENIGN, note="a\0b")),
    ("only_nul", dict(BENIGN, note="\0")),
    ("command_line", dict(MALICIOUS, CommandLine=MALICIOUS["CommandLine"] + "\0 /s")),
    ("many", dict(MALICIOUS, note="\0" * 10000, ParentImage="C:\\x\0\\cmd.exe")),
    ("multivalue", dict(BENIGN, tag=["a\0", "\0b", "$\0$"])),
    ("field_name", dict(BENIGN, **{"odd\0name": "v"})),
    ("quoted_newline", dict(BENIGN, note='"\0\r\n\0"')),
    ("stand_in_lookalike", dict(BENIGN, note="\0\ue000\ue001")),  # private-use text already there
]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode", ["annotate", "filter"])
def test_nul_bytes_pass_through_and_are_evaluated_like_any_text(runtime, mode):
    rows = [dict(r, row=name) for name, r in NUL_ROWS]
    chunks = [[dict(BENIGN, row="before")], rows[:4], [], rows[4:], [dict(MALICIOUS, row="after")]]
    expected = chunked.run(["mode=" + mode], [[dict(r, note="") for r in rows]]).rows
    result = chunked.run(["mode=" + mode], chunks, **runtime)
    assert result.returncode == 0 and result.messages == [], result.stderr[-2000:]
    got = {r["row"]: r for r in result.rows}
    wanted = ["before"] + [r["row"] for r in rows] + ["after"]
    if mode == "filter":
        wanted = [w for w in wanted if w in ("command_line", "many", "after")]
    assert [r["row"] for r in result.rows] == wanted
    for sent in rows:
        if sent["row"] in got:
            assert {k: got[sent["row"]].get(k) for k in sent} == sent
            assert got[sent["row"]]["regsvr32_error"] == ""
    # NUL in a field the detector does not read changes nothing in the verdict.
    scores = {r["row"]: r["regsvr32_score"] for r in expected}
    assert all(got[k]["regsvr32_score"] == scores[k] for k in got if k in ("value", "only_nul"))

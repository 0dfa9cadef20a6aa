"""Attacker-controlled text: every regular expression is linear, 32 KB values in every field the
detector reads stay fast, and NUL bytes never end a search (on Splunk's Python 3.9 as on 3.11+)."""
import ast
import os
import shutil
import subprocess
import sys

try:
    import re._parser as sre_parse                  # Python 3.11+
except ImportError:
    import sre_parse

import pytest

from support import chunked
from support.samples import BENIGN, MALICIOUS
from support.hostile import PATTERNS, SHAPES, hostile, shapes

HERE = os.path.dirname(os.path.abspath(__file__))
APP_BIN = os.path.join(os.path.dirname(HERE), "app", "bin")
PY39CSV = os.path.join(HERE, "support", "py39csv.py")
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
                literal = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, (str, bytes)) else None
                if isinstance(literal, bytes):      # regsvr32_fastpath reads bytes: same syntax
                    literal = literal.decode("latin-1")
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


# The regexes' speed on 32 KB of each hostile piece, and the command's on hostile rows, are timed in
# tests/bench_hostile.py against an ordinary row; here: every shape is evaluated, none fails.
@pytest.mark.parametrize("shape", SHAPES)
def test_32kb_values_in_every_event_shape_are_evaluated(detector, shape):
    for pattern in PATTERNS.values():
        verdict = detector.evaluate(shapes(hostile(pattern))[shape])
        assert verdict.error == "" and all(len(r) < 2048 for r in verdict.reasons), (shape, pattern)


def test_hostile_rows_through_the_protocol_keep_order_and_evaluate():
    rows = [dict(MALICIOUS, CommandLine=hostile(p), ParentCommandLine=hostile(p), row=str(i))
            for i, p in enumerate(sorted(PATTERNS.values()) * 3)]
    result = chunked.run(chunks=[rows[:40], rows[40:]])
    assert [r["row"] for r in result.rows] == [r["row"] for r in rows]
    assert all(r["regsvr32_error"] == "" for r in result.rows)


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
    assert result.returncode == 0 and result.alerts == [], result.stderr[-2000:]
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

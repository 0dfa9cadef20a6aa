"""The offline scanner (python3 -m regsvr32_detector scan): the search command's verdicts on
every sample and corpus event, read from JSON lines, a JSON array, gzip, a Splunk CSV export
and EVTX; --min-score as mode=filter; exit status; bad input named, the rest scanned.

The command runs through tests/support/chunked.py, as splunkd drives it. EVTX files are written
by tests/support/evtx_build.py (the format description, byte by byte) and read by python-evtx
(requirements-dev.txt)."""
import csv
import gzip
import io
import json
import os
import struct
import subprocess
import sys

import pytest

import efficacy
from support import chunked, evtx_build, samples
from support.allowlists import HEADER, allowlist_row
from regsvr32_detector import OUTPUT_FIELDS, scan

APP_BIN = chunked.APP_BIN
EVENTS = samples.SAMPLES + [efficacy.event(row) for row in efficacy.rows()]
# The Teams meeting add-in, which the shipped allowlist clears (as in tests/demo.py).
TEAMS = {"sample_id": "teams-addin", "EventCode": "1", "Computer": "ws-hr-03",
         "User": "CORP\\jdoe", "Image": "C:\\Windows\\System32\\regsvr32.exe",
         "OriginalFileName": "REGSVR32.EXE",
         "CommandLine": "regsvr32.exe /s /n /i:user \"C:\\Users\\jdoe\\AppData\\Local\\Microsoft\\"
                        "TeamsMeetingAddin\\1.0.23249.2\\x64\\Microsoft.Teams.AddinLoader.dll\"",
         "ParentImage": "C:\\Users\\jdoe\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe"}


def run(*argv):
    """(exit status, stdout, stderr) of the scanner, in this process."""
    out, err = io.StringIO(), io.StringIO()
    status = scan.main([str(a) for a in argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def scanned(*argv):
    """The rows of --format json, every event (--min-score 0)."""
    status, out, err = run(*(argv + ("--format", "json", "--min-score", "0", "--fail-on", "never")))
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()]


def values(value):
    """A field as a list of values: the protocol sends a multivalue field of one value as that
    value, and of none as the empty string."""
    if isinstance(value, list):
        return value
    return [value] if value else []


def verdicts(rows):
    return [tuple(json.dumps(values(row[f])) for f in OUTPUT_FIELDS) for row in rows]


@pytest.fixture(scope="module")
def command_rows():
    """The search command's rows for EVENTS (annotate mode), in chunks of 200 as splunkd sends."""
    chunks = [EVENTS[i:i + 200] for i in range(0, len(EVENTS), 200)]
    result = chunked.run([], chunks)
    assert not result.refused and result.returncode == 0, result.stderr
    rows = result.rows
    assert len(rows) == len(EVENTS)
    return rows


def write_jsonl(path, events):
    with open(str(path), "w", encoding="utf-8") as f:
        for event in events:
            f.write(json.dumps(event) + "\n")
    return path


def test_json_lines_agree_with_the_search_command_on_every_sample_and_corpus_event(
        tmp_path, command_rows):
    rows = scanned(write_jsonl(tmp_path / "events.jsonl", EVENTS))
    assert [r["scan_source"] for r in rows] == ["%s:%d" % (tmp_path / "events.jsonl", i)
                                                for i in range(1, len(EVENTS) + 1)]
    assert verdicts(rows) == verdicts(command_rows)
    # not a vacuous agreement: the corpora hold findings of every severity
    assert {r["regsvr32_severity"] for r in rows} >= {"critical", "high", "medium", "low", "none"}


def test_a_gzipped_json_array_and_a_splunk_csv_export_agree_too(tmp_path, command_rows):
    with gzip.open(str(tmp_path / "events.json.gz"), "wt", encoding="utf-8") as f:
        json.dump(EVENTS, f, indent=1)          # pretty-printed: elements span lines
    (tmp_path / "export.csv").write_bytes(chunked.to_csv(EVENTS))   # __mv_ columns included
    array = scanned(tmp_path / "events.json.gz")
    exported = scanned(tmp_path / "export.csv")
    assert verdicts(array) == verdicts(exported) == verdicts(command_rows)
    tagged = [r for r in exported if isinstance(r.get("tag"), list)]
    assert tagged and tagged[0]["tag"] == ["process", "execution", "cost=$5"]


def test_splunk_json_export_rows_are_unwrapped(tmp_path, command_rows):
    path = tmp_path / "export.json"
    with open(str(path), "w") as f:
        for i, event in enumerate(EVENTS):
            f.write(json.dumps({"preview": False, "offset": i, "result": event}) + "\n")
    assert verdicts(scanned(path)) == verdicts(command_rows)


def windows_events():
    """(index in EVENTS, EVTX record) of every Windows event (Sysmon, 4688) among EVENTS."""
    found = []
    for i, event in enumerate(EVENTS):
        record = evtx_build.from_event(event)
        if record is not None:
            found.append((i, record))
    return found


def test_evtx_records_read_as_splunk_shows_them_get_the_commands_verdicts(tmp_path, command_rows):
    pytest.importorskip("Evtx", reason="pip install -r requirements-dev.txt (python-evtx)")
    pairs = windows_events()
    assert len(pairs) > 500
    path = tmp_path / "Sysmon.evtx"
    chunks = evtx_build.write(str(path), [record for _, record in pairs])
    assert len(chunks) > 1                  # templates and names are per chunk: cross one
    rows = scanned(path)
    assert len(rows) == len(pairs)
    assert [r["scan_source"] for r in rows][:2] == ["%s:record 1" % path, "%s:record 2" % path]
    assert verdicts(rows) == verdicts([command_rows[i] for i, _ in pairs])
    first = rows[0]
    assert first["EventCode"] == first["EventID"] == EVENTS[pairs[0][0]]["EventCode"]
    assert first["source"] == "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
    assert first["CommandLine"] == EVENTS[pairs[0][0]]["CommandLine"]


def test_a_folder_of_evtx_and_json_in_one_command(tmp_path):
    pytest.importorskip("Evtx", reason="pip install -r requirements-dev.txt (python-evtx)")
    folder = tmp_path / "host1"
    (folder / "sub").mkdir(parents=True)
    evtx_build.write(str(folder / "Sysmon.evtx"), [r for _, r in windows_events()[:40]])
    write_jsonl(folder / "sub" / "edr.jsonl", samples.EDR)
    (folder / "notes.txt").write_text("not a log")        # a folder walk reads logs only
    status, out, err = run(folder, "--width", "0")
    assert status == 1, err
    summary = out[out.index("events read"):]
    assert "%d events read" % (40 + len(samples.EDR)) in out
    for source in ("Microsoft-Windows-Sysmon/Operational", "crowdstrike", "defender"):
        assert source in summary
    assert "input problems" not in summary


def test_min_score_keeps_the_rows_filter_mode_keeps(tmp_path):
    path = write_jsonl(tmp_path / "samples.jsonl", samples.SAMPLES)
    for min_score in (20, 60):
        result = chunked.run(["mode=filter", "min_score=%d" % min_score], [samples.SAMPLES])
        expected = [row["sample_id"] for row in result.rows]
        status, out, err = run(path, "--format", "json", "--min-score", min_score)
        assert [json.loads(line)["sample_id"] for line in out.splitlines()] == expected
        assert 0 < len(expected) < len(samples.SAMPLES)


def test_the_shipped_allowlist_applies_and_another_can_be_named(tmp_path):
    path = write_jsonl(tmp_path / "teams.jsonl", [TEAMS, samples.MALICIOUS])
    shipped = scanned(path)
    assert shipped[0]["regsvr32_allowlisted"] and shipped[0]["regsvr32_score"] == "0"
    assert scanned(path, "--no-allowlist")[0]["regsvr32_score"] != "0"
    mine = tmp_path / "mine.csv"
    mine.write_text(HEADER + allowlist_row(rule_id="*", image="*\\regsvr32.exe", host="ws-fin-07",
                                           reason="red team", source="ticket 1"))
    rows = scanned(path, "--allowlist", mine)
    assert rows[0]["regsvr32_score"] != "0"                 # the Teams row: not in my list
    assert rows[1]["regsvr32_score"] == "0" and "red team" in rows[1]["regsvr32_allowlisted"][0]


def test_table_is_sorted_by_score_and_clipped_to_the_width(tmp_path):
    path = write_jsonl(tmp_path / "samples.jsonl", samples.SAMPLES)
    status, out, err = run(path, "--width", "100")
    table = out[:out.index("\n\n")].splitlines()
    assert table[0].split()[:5] == ["time", "host", "score", "severity", "rules"]
    assert all(len(line) <= 100 for line in table)
    at = table[0].index("score")
    scores = [int(line[at:at + 5]) for line in table[1:]]
    assert scores == sorted(scores, reverse=True) and scores[0] == 100 and scores[-1] >= 20
    assert "R32-001" in table[1] and "ws-fin-07" in table[1]
    assert "findings by severity: critical" in out and "events read" in out


def test_csv_output_has_every_output_field(tmp_path):
    path = write_jsonl(tmp_path / "samples.jsonl", samples.SAMPLES)
    status, out, err = run(path, "--format", "csv", "--min-score", "0")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(scan.Csv.HEAD) and len(rows) == len(samples.SAMPLES)
    squiblydoo = rows[0]
    assert squiblydoo["regsvr32_rules"].split("\n")[0] == "R32-001"
    assert squiblydoo["host"] == "ws-fin-07" and "scrobj.dll" in squiblydoo["command_line"]
    assert "events read" in err                               # the summary stays off stdout


@pytest.mark.parametrize("fail_on, status", [("medium", 1), ("critical", 1), ("never", 0)])
def test_exit_status_follows_fail_on(tmp_path, fail_on, status):
    path = write_jsonl(tmp_path / "samples.jsonl", samples.SAMPLES)
    assert run(path, "--fail-on", fail_on, "--quiet")[0] == status


def test_nothing_at_or_above_fail_on_exits_0(tmp_path):
    path = write_jsonl(tmp_path / "benign.jsonl", [samples.BENIGN, TEAMS])
    assert run(path, "--fail-on", "informational")[0] == 0


@pytest.mark.parametrize("argv", [[], ["--min-score", "101", "x"], ["--fail-on", "bad", "x"],
                                  ["--allowlist", "/nonexistent.csv", "x"]])
def test_usage_errors_exit_2(argv):
    assert run(*argv)[0] == 2


def test_bad_json_lines_are_named_and_the_rest_scanned(tmp_path):
    huge = dict(samples.MALICIOUS, CommandLine=samples.MALICIOUS["CommandLine"] + " " + "A" * (10 << 20))
    lines = [json.dumps(samples.MALICIOUS), '{"EventCode": "1", "Image": ', "[1, 2]",
             json.dumps(huge), '{"Image": "a\x00b"}', json.dumps(dict(samples.BENIGN, x="a\u0000b")),
             json.dumps(samples.MALICIOUS)]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, out, err = run(path, "--format", "json", "--min-score", "0")
    assert status == 2
    assert len(out.splitlines()) == 4                   # lines 1, 4, 6 and 7
    problems = err[err.index("input problems"):]
    for where, what in (("2", "not JSON (Expecting value, column 29)"),
                        ("3", "a JSON list, not an object"),
                        ("5", "not JSON (Invalid control character, column 13)"),
                        ("4", "field CommandLine is 10485"), ("6", "field x holds a NUL")):
        assert "%s:%s: %s" % (path, where, what) in problems, problems
    assert "input problems: 5 (3 skipped)" in problems
    assert json.loads(out.splitlines()[1])["regsvr32_severity"] == "critical"   # 10 MB: scanned


def test_a_broken_json_array_element_is_named_and_the_elements_before_it_scanned(tmp_path):
    path = tmp_path / "array.json"
    path.write_text("[\n%s,\n%s,\n{\"EventCode\": 1,, }\n]\n" % (
        json.dumps(samples.MALICIOUS), json.dumps(samples.BENIGN)))
    status, out, err = run(path, "--format", "json", "--min-score", "0")
    assert status == 2
    assert [json.loads(line)["scan_source"] for line in out.splitlines()] == \
        ["%s:2" % path, "%s:3" % path]
    assert "%s:4: element 3 is not JSON" % path in err


def test_missing_and_damaged_files_are_named_and_the_rest_scanned(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [samples.MALICIOUS])
    data = gzip.compress(("\n".join(json.dumps(samples.MALICIOUS) for _ in range(3000)) + "\n")
                         .encode("utf-8"))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[:len(data) // 2])
    csv_path = tmp_path / "short.csv"
    csv_path.write_text("EventCode,Image,CommandLine\n1,C:\\Windows\\System32\\regsvr32.exe\n")
    status, out, err = run(tmp_path / "nope.json", cut, csv_path, good, "--format", "json",
                           "--min-score", "0")
    assert status == 2
    assert "%s: no such file or folder" % (tmp_path / "nope.json") in err
    assert "%s: compressed data ends early" % cut in err
    assert "%s:2: 2 cells where the header has 3" % csv_path in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[-1]["scan_source"] == "%s:1" % good
    assert 0 < sum(1 for r in rows if r["scan_source"].startswith(str(cut))) < 3000


def evtx_file(tmp_path, count=30, per_chunk=10):
    path = tmp_path / "log.evtx"
    records = [r for _, r in windows_events()[:count]]
    evtx_build.write(str(path), records, per_chunk=per_chunk)
    return path


def test_a_truncated_evtx_chunk_is_named_and_the_others_scanned(tmp_path):
    pytest.importorskip("Evtx", reason="pip install -r requirements-dev.txt (python-evtx)")
    path = evtx_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:4096 + 2 * 65536 + 30000])            # chunk 2 cut short
    status, out, err = run(path, "--format", "json", "--min-score", "0")
    assert status == 2
    assert "%s:chunk 2: truncated: 30000 of 65536 bytes" % path in err
    assert [json.loads(line)["EventRecordID"] for line in out.splitlines()] == \
        [str(i) for i in range(1, 21)]


def record_offsets(data, chunk):
    """Offsets in DATA of the records of CHUNK (by their signature)."""
    start = 4096 + chunk * 65536
    found, at = [], data.find(b"**\0\0", start + 512)
    while 0 <= at < start + 65536:
        found.append(at)
        at = data.find(b"**\0\0", at + struct.unpack_from("<I", data, at + 4)[0])
    return found


def test_damaged_evtx_records_are_named_and_the_others_scanned(tmp_path):
    pytest.importorskip("Evtx", reason="pip install -r requirements-dev.txt (python-evtx)")
    path = evtx_file(tmp_path)
    data = bytearray(path.read_bytes())
    first = record_offsets(bytes(data), 0)
    second = record_offsets(bytes(data), 1)
    assert len(first) == len(second) == 10
    data[first[3]:first[3] + 4] = b"XXXX"                       # record 4: its signature
    struct.pack_into("<I", data, first[6] + 4, 0x20000)         # record 7: its size
    # chunk 1, record 13 (its third; the template is the first's): a template offset far
    # outside the chunk
    instance = second[2] + 24 + 4
    assert data[instance] == 0x0C
    struct.pack_into("<I", data, instance + 6, 0xFFF0)
    path.write_bytes(bytes(data))
    status, out, err = run(path, "--format", "json", "--min-score", "0")
    ids = [int(json.loads(line)["EventRecordID"]) for line in out.splitlines()]
    assert ids == [1, 2, 3, 5, 6, 11, 12] + list(range(14, 31))
    assert status == 2
    assert "%s:record 4: record header damaged" % path in err
    assert "%s:chunk 0: 4 of its 10 records unreadable: the record after record 6" % path in err
    assert "%s:record 13: record unreadable" % path in err
    assert "%s:chunk 0: checksum mismatch" % path in err


def test_a_chunk_full_to_its_last_bytes_is_read_to_its_end(tmp_path):
    pytest.importorskip("Evtx", reason="pip install -r requirements-dev.txt (python-evtx)")
    path = tmp_path / "full.evtx"
    for shift in range(200):        # record sizes vary with SHIFT; find a chunk that ends tight
        records = [evtx_build.Record(1, "WS01", [
            ("Image", "C:\\Windows\\System32\\regsvr32.exe"),
            ("CommandLine", "regsvr32 /s C:\\x%d.dll %s" % (i, "A" * ((i * 7 + shift) % 41)))])
            for i in range(500)]
        chunks = evtx_build.write(str(path), records)
        data = path.read_bytes()
        free = [struct.unpack_from("<I", data, 4096 + 65536 * i + 48)[0] for i, _ in chunks]
        if max(free) > 65536 - 8:   # no room for a record's signature and size after the last
            break
    else:
        pytest.fail("no chunk ended within 8 bytes of its end")
    status, out, err = run(path, "--format", "csv", "--min-score", "0", "--fail-on", "never")
    assert status == 0 and "input problems" not in err, err
    assert len(list(csv.reader(io.StringIO(out)))) == 501


def test_without_the_evtx_reader_a_message_says_what_to_install(tmp_path):
    shadow = tmp_path / "shadow" / "Evtx"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named Evtx')\n")
    evtx = tmp_path / "log.evtx"
    evtx.write_bytes(b"ElfFile\0" + bytes(4088))
    good = write_jsonl(tmp_path / "good.jsonl", [samples.MALICIOUS])
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "shadow"))
    proc = subprocess.run([sys.executable, "-m", "regsvr32_detector", "scan", str(evtx),
                           str(good), "--format", "csv"], cwd=APP_BIN, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 2
    assert "%s: reading .evtx needs the EVTX reader: pip install python-evtx==0.8.1" % evtx \
        in proc.stderr
    assert len(list(csv.reader(io.StringIO(proc.stdout)))) == 2        # header + the good row


def test_requirements_dev_pins_the_reader_the_message_names():
    with open(os.path.join(os.path.dirname(APP_BIN), os.pardir, "requirements-dev.txt")) as f:
        assert scan.EVTX_PACKAGE in f.read().split()


def test_progress_is_drawn_only_on_a_terminal(tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    path = write_jsonl(tmp_path / "many.jsonl", [samples.BENIGN] * 5000)
    for stream, drawn in ((Terminal(), True), (io.StringIO(), False)):
        progress = scan.Progress(os.path.getsize(str(path)), stream)
        s = scan.Scan(scan.Detector(), progress=progress)
        assert sum(1 for _ in s.run([str(path)])) == 0 and s.events == 5000
        assert ("% " in stream.getvalue() and "events" in stream.getvalue()) is drawn


def test_flatten_names_fields_as_splunk_does():
    record = scan.flatten({"event": {"code": 1, "category": ["process"]}, "tags": ["a", "b"],
                           "ok": True, "gone": None, "dll": [{"path": "x"}, {"path": "y"}]})
    assert record == {"event.code": "1", "event.category{}": ["process"], "tags": ["a", "b"],
                      "ok": "true", "dll{}.path": ["x", "y"]}


def test_the_module_runs_from_app_bin():
    proc = subprocess.run([sys.executable, "-m", "regsvr32_detector", "scan", "--help"],
                          cwd=APP_BIN, stdout=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0 and "--fail-on" in proc.stdout
    assert subprocess.run([sys.executable, "-m", "regsvr32_detector"], cwd=APP_BIN,
                          stderr=subprocess.PIPE).returncode == 2


def test_the_readme_try_it_command_runs_as_written():
    """README's "Try it" block, run by a shell from the repository root as a newcomer would."""
    root = os.path.dirname(os.path.dirname(APP_BIN))
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        text = f.read()
    block = text[text.index("## Try it\n"):]
    block = block[block.index("```sh\n") + 6:block.index("```", block.index("```sh\n") + 6)]
    assert "regsvr32_detector scan" in block
    proc = subprocess.run(["sh", "-c", block], cwd=root, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 1, proc.stderr            # the samples hold medium and above
    assert proc.stdout.startswith("time ") and "critical" in proc.stdout
    events = sum(1 for name in os.listdir(os.path.join(root, "tests", "data"))
                 if name.endswith(".jsonl")
                 for line in open(os.path.join(root, "tests", "data", name)) if line.strip())
    assert "%d events read" % events in proc.stdout and "input problems" not in proc.stdout

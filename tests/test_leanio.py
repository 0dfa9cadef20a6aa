"""The lean record path (app/bin/regsvr32_protocol.py) speaks the protocol exactly as splunklib does.

Each case runs the command twice over the same chunks through the real protocol: once as
shipped and once switched to splunklib's own record path (``ChunkedCommand.lean = False``),
and compares the replies byte for byte. Where the lean path should handle a chunk itself, a
third copy makes splunklib's chunk path fail, so a silent fallback cannot pass for a match.
"""
import csv
import hashlib
import importlib
import inspect
import io
import shutil
import subprocess
import sys

import pytest

from support import chunked
from support.samples import BENIGN, MALICIOUS, SAMPLES

import splunklib
from splunklib.searchcommands import environment, internals, search_command, streaming_command

# The splunklib 2.1.1 code that regsvr32_protocol mirrors or relies on. A new splunklib changes
# these: re-check regsvr32_protocol against the new sources, then update PINNED_SDK and the hashes.
PINNED_SOURCES = {
    "search_command.SearchCommand._process_protocol_v2": "419aa96b6e367933",
    "search_command.SearchCommand._protocol_v2_option_parser": "f5a1b1a6fc42e63a",
    "search_command.SearchCommand._report_unexpected_error": "8ea25a2704b520d0",
    "environment.configure_logging": "578f1015efd6186f",
    "search_command.SearchCommand._execute_v2": "7934dfb05b1840f1",
    "search_command.SearchCommand._execute_chunk_v2": "c1f9efeb60af5f50",
    "search_command.SearchCommand._read_chunk": "3ba5c4f21afeb44d",
    "search_command.SearchCommand._read_csv_records": "f7d26b02136f3d5d",
    "search_command.SearchCommand._decode_list": "17c1af6549e19aab",
    "search_command.SearchCommand.add_field": "a306d8fc726c8062",
    "streaming_command.StreamingCommand._execute": "2b24a814941d3f6a",
    "internals.CsvDialect": "6c71410a00ddf074",
    "internals.RecordWriter.__init__": "a61dd72842a8d37f",
    "internals.RecordWriter._write_record": "cffc814c7f073a9f",
    "internals.RecordWriter._clear": "69ca8a66423dbe84",
    "internals.RecordWriter.write": "26d70f8fd0c0d5ab",
    "internals.RecordWriterV2.write_chunk": "cba9b58379dabb86",
    "internals.RecordWriterV2._write_chunk": "57e4b45ca283839c",
    "internals.RecordWriterV2._clear": "28e33ca2a5b775cc",
}
MODULES = {"environment": environment, "search_command": search_command, "streaming_command": streaming_command, "internals": internals}

SPLUNKLIB_ONLY = "\n\nChunkedCommand.lean = False  # test: splunklib's own record path\n"
LEAN_ONLY = ("\n\n# test: splunklib's chunk path fails, so every chunk must take the lean path\n"
             "def _not_here(self, process, chunk):\n"
             "    raise AssertionError('fell back to splunklib')\n"
             "ChunkedCommand._execute_chunk_v2 = _not_here\n")


def source_hash(dotted):
    module, rest = dotted.split(".", 1)
    obj = MODULES[module]
    for part in rest.split("."):
        obj = getattr(obj, part)
    return hashlib.sha256(inspect.getsource(obj).encode("utf-8")).hexdigest()[:16]


def test_pinned_splunklib_is_the_one_the_lean_path_was_checked_against():
    import regsvr32_protocol
    assert splunklib.__version__ == regsvr32_protocol.PINNED_SDK == "2.1.1"
    assert {name: source_hash(name) for name in PINNED_SOURCES} == PINNED_SOURCES
    assert search_command.SearchCommand._encoded_value.pattern == r"\$(?P<item>(?:\$\$|[^$])*)\$(?:;|$)"


def test_another_splunklib_version_turns_the_lean_path_off(monkeypatch):
    import regsvr32_protocol
    monkeypatch.setattr(splunklib, "__version__", "9.9.9")
    try:
        assert importlib.reload(regsvr32_protocol).ChunkedCommand.lean is False
    finally:
        monkeypatch.undo()
        importlib.reload(regsvr32_protocol)


@pytest.fixture
def variants(app_copy, tmp_path_factory):
    """{name: script}: as shipped, splunklib's path only, lean path only."""
    scripts = {"shipped": str(app_copy / "bin" / "regsvr32detect.py")}
    for name, patch in (("splunklib", SPLUNKLIB_ONLY), ("lean", LEAN_ONLY)):
        copy = tmp_path_factory.mktemp(name) / "regsvr32detect"
        shutil.copytree(str(app_copy), str(copy), symlinks=True)
        with open(str(copy / "bin" / "regsvr32_protocol.py"), "a") as f:
            f.write(patch)
        scripts[name] = str(copy / "bin" / "regsvr32detect.py")
    return scripts


def run_raw(script, args, bodies):
    """The replies (metadata, body bytes) to getinfo and to each execute chunk of raw CSV BODIES."""
    proc = subprocess.Popen([sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(
            chunked.frame(chunked.getinfo(args))
            + b"".join(chunked.frame({"action": "execute", "finished": i == len(bodies) - 1}, body)
                       for i, body in enumerate(bodies)), timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stream, replies = io.BytesIO(out), []
    while True:
        frame = chunked.read_frame(stream)
        if frame is None:
            return replies, proc.returncode, err.decode("utf-8", "replace")
        if not replies:
            frame = _without_info(frame)
        replies.append(frame)


def _without_info(reply):
    """The getinfo reply without its one INFO message, which names the copy's own lookups folder
    and how long the lists took: the same in every other byte."""
    meta, body = reply
    inspector = meta.get("inspector") or {}
    messages = inspector.get("messages", [])
    assert [m[0] for m in messages].count("INFO") == 1, messages
    rest = [m for m in messages if m[0] != "INFO"]
    meta = dict(meta, inspector=dict(inspector, messages=rest)) if rest else dict(
        (k, v) for k, v in meta.items() if k != "inspector")
    return meta, body


def csv_body(rows):
    """splunkd's layout, as recorded from a real splunkd (tests/support/chunked.py)."""
    return chunked.to_csv(rows)


def python_body(rows):
    """Python's csv writer layout: CRLF, quotes only where needed, __mv_ only for lists."""
    return chunked.to_csv(rows, chunked.PYTHON)


def splunkd_body(rows):
    """Every field followed by its __mv_ column, as splunklib writes them (Python's quoting)."""
    names = []
    for row in rows:
        names += [n for n in row if n not in names]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c for n in names for c in (n, "__mv_" + n)])
    for row in rows:
        cells = []
        for n in names:
            value = row.get(n, "")
            if isinstance(value, list):
                cells += ["\n".join(value), chunked.encode_mv(value)]
            else:
                cells += [value, ""]
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


ODD = dict(BENIGN, sample_id="odd", note='comma, "quotes", CRLF\r\nLF\nCR\rend',
           unicode="caf\u00e9 \u2013 \U0001F600", empty="", dollar="$5 $$")
MV_ALL = dict(MALICIOUS, sample_id="mv-all", tag=["a$b", "", "c;d"], single=["only"])
ROWS = [dict(row, _time="%d" % (1700000000 + 3600 * i)) for i, row in enumerate(SAMPLES + [ODD, MV_ALL])]


def assert_same(variants, args, bodies, lean_only=True):
    shipped = run_raw(variants["shipped"], args, bodies)
    reference = run_raw(variants["splunklib"], args, bodies)
    assert shipped[1] == 0, shipped[2]
    assert shipped[0] == reference[0]
    assert len(shipped[0]) == len(bodies) + 1
    if lean_only:
        assert run_raw(variants["lean"], args, bodies)[0] == reference[0]
    return shipped[0]


@pytest.mark.parametrize("args", [[], ["mode=filter"], ["mode=filter", "min_score=0"],
                                  ["mode=filter", "min_score=90"], ["include_allowlisted=f"]])
@pytest.mark.parametrize("encode", [csv_body, python_body, splunkd_body])
def test_same_bytes_as_splunklib(variants, args, encode):
    bodies = [encode(ROWS[:5]), encode(ROWS[5:]), b"", encode([ROWS[1]] * 3), encode([ROWS[-1]] + ROWS[:2]),
              encode([{"one": "1"}, {"one": "regsvr32 /s x.dll"}])]  # a single column (fuzz found it)
    replies = assert_same(variants, args, bodies)
    rows = [row for _, body in replies[1:] for row in chunked.from_csv(body)]
    if not args:
        assert len(rows) == len(ROWS) + 8


@pytest.mark.parametrize("body", [
    b"sample_id,CommandLine,sample_id\r\na,regsvr32 /s x.dll,b\r\n",                 # duplicate column
    b"__mv_tag,tag,CommandLine\r\n$x$;$y$,x\ny,regsvr32 /i:http://a/b scrobj.dll\r\n",  # __mv_ first
    b"regsvr32_score,CommandLine\r\n77,regsvr32 /s x.dll\r\n",                        # our field in
    b"a,CommandLine\r\n1\r\n2,regsvr32 /s x.dll,extra\r\n",                            # ragged rows
    b"a,b\r\n",                                                                       # header only
    b"CommandLine,x\r\nregsvr32 \xff\xfe /s x.dll,\xe9\r\n",                          # not UTF-8
    b"CommandLine,x\r\nregsvr32\x00 /s x.dll,\"a\x00b\"\r\n",                          # NUL
    b"x,__mv_x,__mv___mv_x\r\na,,$b$;$c$\r\n",                                      # __mv_ of __mv_x
])
def test_chunks_the_lean_path_leaves_to_splunklib_come_out_the_same(variants, body):
    for args in ([], ["mode=filter"]):
        assert_same(variants, args, [body, csv_body([MALICIOUS])], lean_only=False)


def test_cr_only_line_ends_read_alike_on_both_paths(variants):
    body = csv_body([ODD, MALICIOUS, BENIGN]).replace(b"\r\n", b"\r")
    replies = assert_same(variants, [], [body])
    assert len(chunked.from_csv(replies[1][1])) == 3

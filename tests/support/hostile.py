"""Attacker-written text for the work-bound checks: 32 KB values of repeated hostile pieces.

The unit tests (test_properties, test_hostile_text) check that such values are evaluated without
error and with bounded output; tests/bench_hostile.py times them against an ordinary row.
"""
N = 32 * 1024
PATTERNS = {
    "quote_backslash": '"\\', "slash_i_colon": "/i:", "dashes": "-", "long_path_prefix": "\\\\?\\",
    "quotes": '"', "backslashes": "\\", "slashes": "/", "colons": ":", "spaces": " ", "tabs": "\t",
    "quoted_i": '/i:"', "dash_i_url": "-i:http://", "unc": "\\\\", "dotdot": "..\\", "appdata": "%APPDATA%\\",
    "dll_words": "x.dll ", "url_scheme": "http://", "ipv6_bracket": "[::", "hex_ip": "0x", "webdav": "@SSL\\",
    "en_dash_switch": "\u2013s ", "mixed": ' "/-:\\\t', "sct_scrobj": "/i:a.sct scrobj.dll ",
    "modifier_letters": "\u02b0\u1d2c", "at_port": "\\\\h@80\\", "drive": "C:", "ads": "x.txt:",
}
REGSVR32 = "C:\\Windows\\System32\\regsvr32.exe"
# Pieces and endings of 32 KB texts that make a backtracking regular expression go quadratic.
UNITS = [" ", "\t", '"', "\\", "a", "~", "0", "x", ".", "%", ":", "/", "-", "$", ";", "\u02b0",
         '"\\', "\\\"", "~0", "%a", "0x", ' "', 'a"', "a.", "a%", "c:\\", "\\\\", "%(", "0."]
TAILS = ["", "!", " ", '"', "\n", "%", "~"]


def hostile(pattern):
    return ("regsvr32.exe " + pattern * N)[:N]


def shapes(big):
    """32 KB values in every field the detector reads, for every event shape it knows."""
    path = ("C:\\" + big)[:N]
    return {
        "sysmon1_original_file_name": {"EventCode": "1", "Image": path, "OriginalFileName": big,
                                       "Description": big, "CommandLine": big},
        "4688": {"EventCode": "4688", "NewProcessName": REGSVR32, "CommandLine": big,
                 "ParentProcessName": path, "SubjectUserName": big},
        "cim": {"Processes.process_name": "regsvr32.exe", "Processes.process": big,
                "Processes.process_path": path, "Processes.parent_process": big, "Processes.dest": big},
        "sysmon3_network": {"EventCode": "3", "Image": REGSVR32, "DestinationIp": big,
                            "DestinationHostname": big, "DestinationPort": big},
        "sysmon7_image_load": {"EventCode": "7", "Image": REGSVR32, "ImageLoaded": path,
                               "Signature": big, "Signed": big, "SignatureStatus": big},
        "sysmon8_remote_thread": {"EventCode": "8", "SourceImage": path, "TargetImage": path},
        "sysmon11_file": {"EventCode": "11", "Image": REGSVR32, "TargetFilename": path},
        "sysmon13_registry": {"EventCode": "13", "Image": path, "TargetObject": path, "Details": big},
        "sysmon22_dns": {"EventCode": "22", "Image": REGSVR32, "QueryName": big},
        "4698_task": {"EventCode": "4698", "TaskContent": big},
        "7045_service": {"EventCode": "7045", "ImagePath": big, "ServiceFileName": path},
        "multivalue": {"EventCode": "1", "Image": [REGSVR32, path], "CommandLine": [big, big, big]},
    }


SHAPES = sorted(shapes("x"))

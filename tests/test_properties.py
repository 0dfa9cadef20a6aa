"""Properties of Detector.evaluate over arbitrary input, and a work bound on hostile command lines.

Runs a fixed, derandomized set of examples (well under a minute). For a longer search by hand:
    HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py
"""
import copy
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.events import DEFAULT_ALLOWLIST, REGSVR32, sysmon1
from regsvr32_detector import Detector, load_allowlists
from support.hostile import N, PATTERNS, hostile

settings.register_profile("regsvr32-ci", max_examples=300, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=20000, derandomize=False, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "regsvr32-ci"))

SEVERITIES = ("none", "informational", "low", "medium", "high", "critical")
ALIASES = [
    "EventCode", "EventID", "Image", "CommandLine", "ParentImage", "ParentCommandLine", "OriginalFileName",
    "CurrentDirectory", "IntegrityLevel", "User", "Computer", "ImageLoaded", "Signed", "Signature",
    "SignatureStatus", "DestinationIp", "DestinationPort", "Initiated", "QueryName", "SourceImage",
    "TargetImage", "TargetFilename", "TargetObject", "Details", "Description",
    "NewProcessName", "ParentProcessName", "New_Process_Name", "Creator_Process_Name", "Process_Command_Line",
    "process", "process_name", "process_path", "parent_process", "parent_process_name", "parent_process_path",
    "original_file_name", "process_current_directory", "process_integrity_level", "user", "dest",
    "registry_path", "registry_value_data",
]
ALIASES += ["Processes." + k for k in ALIASES if k[0].islower()]
EVENT_CODES = ["1", "3", "7", "8", "11", "12", "13", "22", "4688", "0", "-", "", "１"]
FRAGMENTS = [
    "regsvr32.exe", "REGSVR32.EXE", "C:\\Windows\\System32\\regsvr32.exe", "scrobj.dll", " ", "\t", '"', "'",
    "/s", "/u", "/n", "/i", "/i:", "-i:", "\u2013i:", ":", "\\", "/", "\\\\", "\\\\?\\", "..\\", "%APPDATA%",
    "http://", "https://", "file://", "ftp://", "0x0a010203", "[2001:db8::5]", "@SSL\\DavWWWRoot\\", "@80",
    "C:\\Users\\Public\\", "C:\\PROGRA~3\\", "x.dll", "a.sct", ".jpg", ".txt:x.dll", "\x00", "-", "\u02b0",
    "Microsoft(C) Register Server", "InprocServer32\\(Default)", "ShellIconOverlayIdentifiers", "true", "false",
]
HUGE = ["A" * 40000, '"\\' * 20000, "/i:" * 15000, "\x00" * 5000, "regsvr32 " * 5000]

text = st.text(max_size=60)
crafted = st.lists(st.one_of(st.sampled_from(FRAGMENTS), text), max_size=12).map("".join)
scalar = st.one_of(text, crafted, st.sampled_from(["", "-", "\x00", " "] + EVENT_CODES), st.sampled_from(HUGE))
value = st.one_of(scalar, st.lists(scalar, max_size=4))
key = st.one_of(st.sampled_from(ALIASES), text)
records = st.one_of(
    st.dictionaries(key, value, max_size=14),
    st.fixed_dictionaries({"EventCode": st.sampled_from(EVENT_CODES),
                           "Image": st.one_of(st.sampled_from([REGSVR32, "regsvr32.exe", "C:\\Users\\Public\\svc.exe"]), value),
                           "CommandLine": st.one_of(crafted.map(lambda s: "regsvr32.exe " + s), value)},
                          optional={k: value for k in ALIASES if k not in ("EventCode", "Image", "CommandLine")}),
)


@pytest.fixture(scope="module")
def detector():
    allowlist, problems = load_allowlists([DEFAULT_ALLOWLIST])
    assert not problems
    return Detector(allowlist)


def _fields(v):
    return (v.score, v.severity, v.rules, v.reasons, v.mitre, v.allowlisted, v.error)


def _check_shape(v):
    assert type(v.score) is int and 0 <= v.score <= 100
    assert v.severity in SEVERITIES
    assert (v.score == 0) == (v.severity == "none")
    for name in ("rules", "reasons", "mitre", "allowlisted"):
        seq = getattr(v, name)
        assert isinstance(seq, tuple) and all(isinstance(s, str) for s in seq), name
    assert isinstance(v.error, str)
    if v.score > 0:
        assert v.rules and v.reasons


@PROFILE
@given(record=records)
def test_evaluate_total_and_deterministic(detector, record):
    before = copy.deepcopy(record)
    first = detector.evaluate(record)
    _check_shape(first)
    assert record == before, "evaluate must not modify its input"
    assert _fields(detector.evaluate(record)) == _fields(first)
    assert _fields(Detector(detector_allowlist()).evaluate(record)) == _fields(first)


@PROFILE
@given(record=records)
def test_evaluate_without_allowlist_is_total(record):
    _check_shape(Detector().evaluate(record))


def detector_allowlist():
    return load_allowlists([DEFAULT_ALLOWLIST])[0]


@pytest.mark.parametrize("bad", [None, 42, "CommandLine", ["EventCode", "1"], {"EventCode": None, "Image": 3},
                                 {"EventCode": "1", "Image": REGSVR32, "CommandLine": [None, b"x"]}],
                         ids=["none", "int", "str", "list", "non_str_values", "list_with_non_str"])
def test_evaluate_never_raises_on_wrong_types(detector, bad):
    _check_shape(detector.evaluate(bad))


def test_severity_is_a_monotone_function_of_score(detector):
    from test_cases_attacks import CASES
    pairs = {(v.score, v.severity) for v in (detector.evaluate(r) for _, r in CASES)}
    ordered = sorted(pairs)
    for (s1, sev1), (s2, sev2) in zip(ordered, ordered[1:]):
        assert SEVERITIES.index(sev1) <= SEVERITIES.index(sev2), (s1, sev1, s2, sev2)
    assert len({s for s, _ in pairs}) == len(pairs), "one score, two severities"


# --- 32 KB hostile command lines: evaluated, bounded output (timed in tests/bench_hostile.py) ---------
def _bounded(verdict):
    _check_shape(verdict)
    assert verdict.error == ""
    assert all(len(r) < 2048 for r in verdict.reasons) and len(verdict.signature) <= 400


@pytest.mark.parametrize("pattern", list(PATTERNS.values()), ids=list(PATTERNS))
def test_32kb_regsvr32_cmdline_is_evaluated_with_bounded_reasons(detector, pattern):
    cmd = hostile(pattern)
    assert len(cmd) == N
    _bounded(detector.evaluate(sysmon1(cmd)))


@pytest.mark.parametrize("pattern", ["/i:", '"\\', "regsvr32 /s ", "\\\\?\\", " "], ids=str)
def test_32kb_other_fields_are_evaluated_with_bounded_reasons(detector, pattern):
    big = hostile(pattern)
    rec = sysmon1(big, image="C:\\Windows\\System32\\schtasks.exe", parent=big[:N], parent_cmdline=big,
                  cwd=("C:\\" + pattern * N)[:N])
    _bounded(detector.evaluate(rec))

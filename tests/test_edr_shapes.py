"""One verdict whatever the shape: every rule's examples and every seed case, rewritten as each
EDR writes the event (tests/support/edr_shapes.py), get the same rules and score as the Sysmon form.

The only differences allowed are listed in DIFFERENCES, each because the vendor does not record
a field the rule reads.
"""
import inspect
import re
import itertools

import pytest

from support import edr_shapes
from support import samples
import test_seeds
from regsvr32_detector import fields
from test_conf import conf
from regsvr32_detector.families import FAMILIES
from regsvr32_detector.rules import RULES

# Why a shape cannot give the Sysmon answer: the field it lacks, the shapes that lack it and the
# cases that read it. A case is "<rule id>+<n>" (n-th positive example), "<rule id>-<n>" (n-th
# negative) or "<seed test>[<n>]" (n-th record that seed test evaluates).
_CWD_CASES = ("R32-006+1", "R32-041+1", "R32-052+0", "R32-035-1", "R32-037+1", "R32-039+1",
              "test_seed_sigma_ce2c44b5_implicit_dllregisterserver[1]")
_SIGNED_CASES = ("R32-025+0", "R32-026+0", "R32-029+1", "R32-029-3", "test_seed_veramine_suspicious_image_loads[2]") + tuple(
    "test_seed_car_2019_04_002_unsigned_image_loads[%d]" % i for i in range(4))
_NO_CWD = ("crowdstrike", "defender", "sentinelone", "carbonblack")
REASONS = (
    ("no working directory in the event: a relative module path is not resolved", _NO_CWD, _CWD_CASES),
    ("no signature verdict in the image-load event (a publisher at most; Defender keeps it in "
     "DeviceFileCertificateInfo)", _NO_CWD, _SIGNED_CASES),
    ("the parent's command line is not in the event: a second regsvr32 cannot be told from the "
     "64-to-32-bit re-launch, nor a download chain before it", ("crowdstrike",),
     ("R32-044+0", "R32-051+0", "R32-051+1")),
    ("the parent is given by file name only, so the default allowlist's entries for children of "
     "System32 regsvr32 (WerFault, wevtutil; matched by parent path) do not apply",
     ("crowdstrike",), ("test_seed_car_2019_04_002_children_of_regsvr32[2]",
                        "test_seed_car_2019_04_002_children_of_regsvr32[3]")),
    ("registry modification events carry the key but not the value written",
     ("carbonblack",), ("R32-031+0", "R32-034+0", "R32-034+3", "R32-058+0", "R32-058+2")),
)
DIFFERENCES = dict(((shape, case), reason) for reason, shapes, cases in REASONS
                   for shape in shapes for case in cases)


class _Recorder(object):
    """Stands in for the detector fixture and keeps every record a seed test evaluates."""

    def __init__(self, detector):
        self.detector, self.seen = detector, []

    def evaluate(self, record):
        self.seen.append(record)
        return self.detector.evaluate(record)


def _calls(test):
    """The keyword arguments of each parametrized call of a test function."""
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    grids = []
    for mark in marks:
        names = [n.strip() for n in (mark.args[0].split(",") if isinstance(mark.args[0], str)
                                     else mark.args[0])]
        grids.append([dict(zip(names, v if len(names) > 1 else (v,))) for v in mark.args[1]])
    for combo in itertools.product(*grids) if grids else [()]:
        yield dict(kv for d in combo for kv in d.items())


def seed_cases(detector):
    cases = []
    for name, test in sorted(vars(test_seeds).items()):
        if not name.startswith("test_seed") or not inspect.isfunction(test):
            continue
        rec = _Recorder(detector)
        for kwargs in _calls(test):
            test(detector=rec, **kwargs)
        cases.extend(("%s[%d]" % (name, i), r) for i, r in enumerate(rec.seen))
    return cases


def rule_cases():
    for rule in RULES:
        for sign, examples in (("+", rule.positives), ("-", rule.negatives)):
            for i, record in enumerate(examples):
                yield "%s%s%d" % (rule.id, sign, i), record


def _same(detector, shape, case, record):
    sysmon = detector.evaluate(record)
    converted = edr_shapes.convert(shape, record)
    if converted is None:
        return None                      # this vendor has no such event
    got = detector.evaluate(converted)
    assert not got.error, (shape, case, got.error)
    return (sysmon.rules, sysmon.score) == (got.rules, got.score), sysmon, got, converted


@pytest.mark.parametrize("shape", edr_shapes.SHAPES)
def test_rule_examples_get_the_sysmon_verdict_in_every_shape(detector, shape):
    compared, wrong = 0, []
    for case, record in itertools.chain(rule_cases(), seed_cases(detector)):
        result = _same(detector, shape, case, record)
        if result is None:
            continue
        compared += 1
        same, sysmon, got, converted = result
        if same == ((shape, case) in DIFFERENCES):
            wrong.append("%s: sysmon %r, %s %r (%s)%s" % (
                case, sysmon, shape, got, converted,
                " listed as a difference but the same" if same else ""))
    assert not wrong, "\n".join(wrong)
    assert compared >= 60, compared          # the shape really read the examples


def test_differences_name_known_cases(detector):
    known = set(c for c, _ in rule_cases()) | set(c for c, _ in seed_cases(detector))
    for shape, case in DIFFERENCES:
        assert shape in edr_shapes.SHAPES and case in known, (shape, case)


def test_every_rule_fires_in_some_edr_shape(detector):
    # every rule with a positive example is reached through at least one EDR's telemetry
    missing = []
    for rule in RULES:
        fired = any(rule.id in detector.evaluate(c).rules for shape in edr_shapes.SHAPES
                    for c in (edr_shapes.convert(shape, r) for r in rule.positives) if c)
        if not fired:
            missing.append(rule.id)
    assert not missing


def test_defender_event_hub_properties_prefix(detector):
    record = RULES[0].positives[0]
    streamed = edr_shapes.defender("process", record, prefix="properties.")
    assert set(k.split(".", 1)[0] for k in streamed) == {"properties"}
    assert detector.evaluate(streamed).rules == detector.evaluate(record).rules


def test_crowdstrike_device_paths_read_as_drive_c_and_are_kept():
    ev = fields.normalize({"event_simpleName": "ProcessRollup2",
                           "ImageFileName": "\\Device\\HarddiskVolume4\\Users\\Public\\regsvr32.exe",
                           "CommandLine": "regsvr32 /s x.dll", "ParentBaseFileName": "cmd.exe"})
    assert ev.image == "C:\\Users\\Public\\regsvr32.exe" and ev.edr == "crowdstrike"
    assert ev.device_paths == (("image", "\\Device\\HarddiskVolume4\\Users\\Public\\regsvr32.exe"),)
    ev = fields.normalize({"event_simpleName": "ClassifiedModuleLoad",
                           "ContextImageFileName": "\\Device\\HarddiskVolume2\\Windows\\System32\\regsvr32.exe",
                           "ImageFileName": "\\Device\\Mup\\fs01\\pub\\x.dll"})
    assert (ev.image, ev.image_loaded) == ("C:\\Windows\\System32\\regsvr32.exe", "\\\\fs01\\pub\\x.dll")


def test_system32_regsvr32_from_a_device_path_is_not_out_of_place(detector):
    # "regsvr32.exe outside System32" must not fire on every CrowdStrike event
    record = {"event_simpleName": "ProcessRollup2", "CommandLine": "regsvr32 /s C:\\Windows\\System32\\msxml6.dll",
              "ImageFileName": "\\Device\\HarddiskVolume3\\Windows\\System32\\regsvr32.exe"}
    assert detector.evaluate(record).rules == ()


@pytest.mark.parametrize("parent, folder_only", [
    ("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", False), ("C:\\Windows\\System32\\wbem", True)])
def test_defender_folder_only_paths_get_the_file_name(detector, parent, folder_only):
    record = {"ActionType": "ProcessCreated", "FolderPath": "C:\\Windows\\System32\\regsvr32.exe",
              "FileName": "regsvr32.exe", "ProcessCommandLine": "regsvr32 /s C:\\x\\a.dll",
              "InitiatingProcessFolderPath": parent, "InitiatingProcessFileName": "WmiPrvSE.exe"}
    ev = fields.normalize(record)
    assert ev.parent_image == "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"
    assert "R32-016" in detector.evaluate(record).rules


def test_actor_is_the_parent_in_sentinelone_and_carbon_black_process_starts():
    s1 = fields.normalize({"event.type": "Process Creation",
                           "src.process.image.path": "C:\\Windows\\System32\\regsvr32.exe",
                           "tgt.process.image.path": "C:\\Windows\\System32\\cmd.exe",
                           "tgt.process.cmdline": "cmd /c whoami"})
    cb = fields.normalize({"type": "endpoint.event.procstart",
                           "process_path": "C:\\Windows\\System32\\regsvr32.exe",
                           "childproc_name": "C:\\Windows\\System32\\cmd.exe",
                           "target_cmdline": "cmd /c whoami"})
    for ev in (s1, cb):
        assert (ev.image_name, ev.parent_is_regsvr32, ev.is_regsvr32) == ("cmd.exe", True, False)


@pytest.mark.parametrize("record", [
    {"event_simpleName": "UserLogon", "CommandLine": "regsvr32 /s x.dll"},       # no logic for it
    {"ActionType": "ProcessCreated", "FolderPath": "C:\\Windows\\notepad.exe",
     "ProcessCommandLine": "notepad C:\\x\\todo.txt"},                               # no regsvr32
    {"event.type": "Login", "tgt.process.cmdline": "regsvr32 /s x.dll"},
], ids=["crowdstrike-unread-type", "defender-unrelated", "sentinelone-unread-type"])
def test_edr_rows_that_cannot_concern_regsvr32_are_rejected(record):
    assert fields.normalize(record) is None


def test_a_generic_type_field_does_not_take_a_row_away_from_sysmon():
    # Carbon Black's selector is "type", a common name: other values leave the row to Sysmon/CIM
    ev = fields.normalize({"type": "Process Create", "EventCode": "1",
                           "Image": "C:\\Windows\\System32\\regsvr32.exe", "CommandLine": "regsvr32 x.dll"})
    assert (ev.kind, ev.edr, ev.image_name) == ("process", "", "regsvr32.exe")


def test_edr_samples_agree_across_shapes(detector):
    # tests/data/edr_<shape>.jsonl: the same activity in every shape gets the same verdict
    by_activity = {}
    for sample in samples.EDR:
        shape, activity = sample["sample_id"].split("-", 1)
        verdict = detector.evaluate(sample)
        assert not verdict.error, sample["sample_id"]
        by_activity.setdefault(activity, {})[shape] = (verdict.rules, verdict.score)
    assert set(by_activity) >= {"squiblydoo", "notepad", "child-whoami", "scrobj-load"}
    for activity, verdicts in by_activity.items():
        assert len(set(verdicts.values())) == 1, (activity, verdicts)
    assert "R32-001" in by_activity["squiblydoo"]["crowdstrike"][0]
    assert by_activity["notepad"]["defender"] == ((), 0)
    assert len(by_activity["squiblydoo"]) == len(edr_shapes.SHAPES)


MACROS = conf("macros.conf")


def _listed(definition):
    """field -> folded values of every `field IN (a, "b c")` in a macro definition."""
    out = {}
    for field, values in re.findall(r"([\w.{}]+) IN \(([^)]*)\)", definition):
        out.setdefault(field, set()).update(
            fields._fold(v.strip().strip('"')) for v in values.split(","))
    return out


@pytest.mark.parametrize("shape", fields.EDR_SHAPES, ids=[s.name for s in fields.EDR_SHAPES])
def test_each_edr_macro_selects_the_event_types_the_detector_reads(shape):
    listed = _listed(MACROS["regsvr32_edr_" + shape.name]["definition"])
    assert set(listed) == set(shape.type_fields)
    assert set.union(*listed.values()) == set(shape.kinds)
    for values in listed.values():
        assert values <= set(shape.kinds)


def expand(spl, macros=None):
    """SPL with every argument-less macro replaced by its definition (MACROS overrides conf)."""
    macros = dict(macros or {})
    for _ in range(20):
        def one(m):
            name = m.group(1)
            return macros[name] if name in macros else MACROS[name]["definition"] if name in MACROS else m.group(0)
        spl, n = re.subn(r"`(\w+)`", one, spl)
        if not n or "`" not in spl or all(not (m in MACROS or m in macros) for m in re.findall(r"`(\w+)`", spl)):
            return spl
    raise AssertionError("macros nest too deep")


# The process searches as shipped, and with EDR enabled as docs/edr.md says.
CONFIGS = {"data model only": {}, "with EDR": {"regsvr32_process_starts": "`regsvr32_process_starts_with_edr`",
                                               "regsvr32_edr_events": "index=edr `regsvr32_edr_crowdstrike`"}}
SUBSEARCH = re.compile(r"\b(?:append|appendcols|appendpipe|join|union)\b|\[\s*(?:search\b|\|)")


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_data_model_searches_read_edr_process_starts_without_a_subsearch(config):
    # A subsearch stops at 50,000 rows or 60 seconds and says nothing: none may feed the command.
    saved = conf("savedsearches.conf")
    process = [f.search_name for f in FAMILIES if f.prefilter == "tstats"]
    assert len(process) == 5
    for stanza in process:
        search = expand(saved[stanza]["search"], CONFIGS[config])
        head = search[:search.index("| regsvr32detect")]
        assert not SUBSEARCH.search(head), (stanza, head)
        if config == "with EDR":
            assert "event_simpleName IN" in head and "datamodel" not in head and "tag=process tag=report" in head
        else:
            assert "datamodel=Endpoint.Processes" in head


def _matches(definition, row):
    """A row against an OR of `field IN (values)` (SPL: case-insensitive, the detector's folding
    aside from blanks, which SPL keeps)."""
    for field, values in re.findall(r"([\w.{}]+) IN \(([^)]*)\)", definition):
        if str(row.get(field, "")).lower() in [v.strip().strip('"').lower() for v in values.split(",")]:
            return True
    return False


def test_only_edr_process_starts_reach_the_data_model_searches():
    # what the process families judge: process starts (the other kinds never reach their rules)
    with_edr = MACROS["regsvr32_process_starts_with_edr"]["definition"]
    assert "(`regsvr32_edr_events`) `regsvr32_edr_process_starts` `regsvr32_marks`" in with_edr
    starts = MACROS["regsvr32_edr_process_starts"]["definition"]
    passed = {}
    for sample in samples.EDR:
        ev = fields.normalize(sample)
        passed.setdefault(ev.kind, set()).add(_matches(starts, sample))
    assert passed.pop(fields.PROCESS) == {True}
    assert passed and all(seen == {False} for seen in passed.values()), passed
    assert MACROS["regsvr32_marks"]["definition"] in MACROS["regsvr32_events"]["definition"] or \
        "`regsvr32_marks`" in MACROS["regsvr32_events"]["definition"]


def test_entities_read_each_edr_host_before_the_forwarder_host():
    definition = MACROS["regsvr32_entities"]["definition"]
    dest = re.search(r"dest=coalesce\(([^)]*)\)", definition).group(1).replace("'", "")
    names = [n.strip() for n in dest.split(",")]
    for shape in fields.EDR_SHAPES:
        hosts = [src for src, (name, _) in shape.sources[fields.PROCESS].items()
                 if name == "host" and src != "host"]
        assert any(h in names and names.index(h) < names.index("host") for h in hosts), shape.name


def test_edr_rows_score_through_the_search_protocol(detector):
    # dotted and properties.* field names survive splunkd's CSV both ways, rows keep their order
    from support import chunked
    result = chunked.run(["mode=annotate"], [samples.EDR[:10], samples.EDR[10:]])
    assert result.returncode == 0, result.stderr
    assert [r["sample_id"] for r in result.rows] == [s["sample_id"] for s in samples.EDR]
    for sent, row in zip(samples.EDR, result.rows):
        assert {k: row[k] for k in sent} == sent
        assert row["regsvr32_score"] == str(detector.evaluate(sent).score), sent["sample_id"]
    assert any(int(r["regsvr32_score"]) >= 80 for r in result.rows)


@pytest.mark.parametrize("shape", fields.EDR_SHAPES, ids=[s.name for s in fields.EDR_SHAPES])
def test_every_edr_alias_names_an_event_field_and_every_kind_is_known(shape):
    kinds = set(fields.KIND_BY_CODE.values())
    assert set(shape.kinds.values()) <= set(shape.sources) <= kinds
    for table in shape.sources.values():
        for src, (name, rank) in table.items():
            assert isinstance(src, str) and name in fields.FIELD_NAMES, (src, name)
    assert set(shape.joins) <= set(shape.sources)


def test_device_paths_without_a_drive_are_left_as_they_are():
    ev = fields.normalize({"event_simpleName": "ProcessRollup2", "CommandLine": "regsvr32 /s x.dll",
                           "ImageFileName": "\\Device\\CdRom0\\regsvr32.exe"})
    assert (ev.image, ev.device_paths) == ("\\Device\\CdRom0\\regsvr32.exe", ())


def test_defender_addon_cim_original_file_name_of_the_parent_is_not_read(detector):
    # The public Defender add-on aliases CIM original_file_name to the initiating process's; a
    # row carrying both must use the new process's own ProcessVersionInfoOriginalFileName, or
    # every child of regsvr32 would look like a renamed regsvr32 (R32-019).
    child = samples.BY_ID["defender-notepad"]
    row = dict(child, InitiatingProcessFolderPath="C:\\Windows\\System32\\regsvr32.exe",
               InitiatingProcessFileName="regsvr32.exe", original_file_name="REGSVR32.EXE",
               process_name="notepad.exe", parent_process_name="regsvr32.exe")
    ev = fields.normalize(row)
    assert (ev.edr, ev.is_regsvr32, ev.parent_is_regsvr32) == ("defender", False, True)
    assert "R32-019" not in detector.evaluate(row).rules
    assert "R32-018" in detector.evaluate(row).rules


def test_drilldown_reads_each_edr_process_start_by_its_host_field():
    listed = _listed(MACROS["regsvr32_edr_process_starts"]["definition"])
    drill = MACROS["regsvr32_process_activity(1)"]["definition"]
    assert "`regsvr32_edr_events` `regsvr32_edr_process_starts`" in drill
    for shape in fields.EDR_SHAPES:
        starts = set(t for t, kind in shape.kinds.items() if kind == fields.PROCESS)
        assert set.union(*(listed[f] for f in shape.type_fields)) == starts, shape.name
        assert all(listed[f] <= starts for f in shape.type_fields), shape.name
        hosts = [src for src, (name, _) in shape.sources[fields.PROCESS].items()
                 if name == "host" and src != "host"]
        assert all('%s="$dest$"' % h in drill for h in hosts), shape.name


def _edr_records():
    from hypothesis import strategies as st
    from test_properties import value
    keys = sorted(set(src for shape in fields.EDR_SHAPES for table in shape.sources.values()
                      for src in table)
                  | set(f for shape in fields.EDR_SHAPES for joins in shape.joins.values()
                        for _, first, second, _ in joins for f in first + second))
    types = st.sampled_from([(f, t) for shape in fields.EDR_SHAPES for f in shape.type_fields
                             for t in list(shape.event_types) + ["Other"]])
    paths = st.sampled_from(["\\Device\\HarddiskVolume3\\Windows\\System32\\regsvr32.exe",
                             "\\Device\\HarddiskVolume", "\\Device\\", "\\Device\\Mup\\",
                             "C:\\Windows\\System32\\regsvr32.exe", "regsvr32.exe"])
    return st.tuples(types, st.dictionaries(st.sampled_from(keys), st.one_of(paths, value), max_size=12)
                     ).map(lambda tv: dict(tv[1], **{tv[0][0]: tv[0][1]}))


def test_any_edr_row_is_evaluated_without_error(detector):
    # every EDR field with arbitrary values (device-path fragments, lists, 40 KB strings):
    # no row may cost the search an error; the only message is that no reader read a row
    # (fields.Unreadable, docs/failure-behaviour.md)
    from hypothesis import given
    from test_properties import PROFILE

    @PROFILE
    @given(record=_edr_records())
    def check(record):
        verdict = detector.evaluate(record)
        assert verdict.error == "" or verdict.error.startswith("no reader for this row: "), (
            record, verdict.error)
        assert 0 <= verdict.score <= 100
    check()


def test_the_independent_converters_cover_exactly_the_declared_shapes():
    # tests/support/edr_shapes.py is written apart from fields.py on purpose (a second reading
    # of each vendor's schema, the oracle of the round-trip tests above); a shape declared in
    # one and not the other would go unchecked.
    declared = [shape.name for shape in fields.EDR_SHAPES]
    missing = [name for name in declared if name not in edr_shapes.SHAPES]
    assert not missing, (
        "EDR shape(s) %s declared in fields.EDR_SHAPES without a converter: add a converter to "
        "tests/support/edr_shapes.py (SHAPES and CONVERTERS), written from the vendor's field "
        "documentation rather than from fields.py" % ", ".join(missing))
    extra = [name for name in edr_shapes.SHAPES if name not in declared]
    assert not extra, "converter(s) for %s, a shape fields.EDR_SHAPES does not declare" % (
        ", ".join(extra))
    assert set(edr_shapes.CONVERTERS) == set(edr_shapes.SHAPES)

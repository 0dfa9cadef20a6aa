"""The rule registry: one declaration per rule, and every check runs only on events of its scope."""
import pytest

from support.events import proc, sysmon1, sysmon3, sysmon7, sysmon13
from regsvr32_detector import Detector, RULES
from regsvr32_detector import fields, registry, score
from regsvr32_detector.cmdline import Invocation
from regsvr32_detector.families import FAMILIES_BY_KEY
from regsvr32_detector.rules import RULES_FOR
from regsvr32_detector.sigma_spec import not_exportable, spec
from support.samples import SAMPLES

pytestmark = pytest.mark.pure


def _every_example():
    for r in RULES:
        for e in r.positives + r.negatives:
            yield e
    for s in SAMPLES:
        yield s
    yield sysmon1("cmd.exe /c copy C:\\Users\\Public\\x.dll C:\\Users\\Public\\y.txt",
                  image="C:\\Windows\\System32\\cmd.exe", parent="C:\\Windows\\System32\\regsvr32.exe")
    yield sysmon3("203.0.113.9", image="C:\\Windows\\System32\\svchost.exe")
    yield sysmon7("C:\\Users\\Public\\x.dll", image="C:\\Windows\\System32\\rundll32.exe")
    yield sysmon13("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x", "regsvr32 /s x.dll",
                   image="C:\\Windows\\System32\\reg.exe")


def test_every_check_is_called_only_on_events_of_its_scope(monkeypatch):
    calls = []

    def spy(rule, check):
        def wrapped(arg):
            calls.append((rule, arg))
            return check(arg)
        return wrapped

    from regsvr32_detector import detector as detector_module
    spied = dict((r.id, r.replace(check=spy(r, r.check))) for r in RULES)    # rules are frozen
    monkeypatch.setattr(detector_module, "COMMAND_LINE_RULES", tuple(
        spied[r.id] for r in detector_module.COMMAND_LINE_RULES))
    monkeypatch.setattr(detector_module, "EVENT_RULES", dict(
        (key, tuple(spied[r.id] for r in rules)) for key, rules in detector_module.EVENT_RULES.items()))
    detector = Detector()
    events = []
    for record in _every_example():
        ev = fields.normalize(record)
        if ev is not None:
            events.append(ev)
            detector.findings(ev)
            detector.memo._answers.clear()     # so that every command line reaches the checks
    assert len({r for r, _ in calls}) == len(RULES)       # every check was exercised
    seen = dict((id(ev), ev) for ev in events)
    for rule, arg in calls:
        if rule.scope.invocation:
            assert isinstance(arg, Invocation), rule       # the parsed line, nothing else
            continue
        ev = seen[id(arg)]
        assert ev.kind in rule.scope.kinds, (rule, ev)
        assert ev.is_regsvr32 or not rule.scope.actor, (rule, ev)
        assert ev.parent_is_regsvr32 or not rule.scope.parent, (rule, ev)


def test_a_child_of_regsvr32_is_not_read_as_a_regsvr32_command_line():
    # An unscoped command-line check once fired on "cmd.exe /c copy C:\Users\Public\..." children.
    child = proc("cmd.exe /c copy C:\\Users\\Public\\x.dll C:\\Users\\Public\\y.txt",
                 image="C:\\Windows\\System32\\cmd.exe", parent="C:\\Windows\\System32\\regsvr32.exe")
    found = set(Detector().evaluate(child).rules)
    assert found and not found & {r.id for r in RULES if r.scope.invocation}


def test_each_rule_names_a_family_and_every_family_has_rules():
    assert {r.family for r in RULES} == set(FAMILIES_BY_KEY)


GOOD = dict(id="R32-999", title="x", scope=registry.COMMAND_LINE, risk=10, family="parent_lineage",
            evidence="location", techniques=("T1218.010",), sources=("L01",), description="x.",
            positives=("regsvr32 x.dll",), negatives=("regsvr32 y.dll",),
            sigma=not_exportable("a test"))


def test_a_good_declaration_makes_a_frozen_rule():
    registry.rule(**GOOD)
    made = registry.Rule(check=len, **GOOD)
    assert made.id == "R32-999" and made.positives[0]["CommandLine"] == "regsvr32 x.dll"
    with pytest.raises(AttributeError):
        made.risk = 90
    assert made.replace(risk=90).risk == 90 and made.risk == 10


@pytest.mark.parametrize("change", [
    {"family": "no_such_family"}, {"lowered_by": ("no such context",)}, {"lowered_by": "agent"},
    {"id": "R32-1"}, {"id": "r32-001"}, {"id": "X-001"}, {"risk": 101}, {"risk": -1},
    {"risk": 5.5}, {"risk": True}, {"techniques": ("T1218.10",)}, {"techniques": "T1218.010"},
    {"techniques": ()}, {"evidence": "hunch"}, {"sigma": None}, {"sigma": {"fidelity": "exact"}},
    {"scope": "command line"},
], ids=str)
def test_a_bad_declaration_is_refused_when_declared(change):
    with pytest.raises(ValueError) as e:
        registry.rule(**dict(GOOD, **change))
    assert str(e.value).startswith((change.get("id") or "R32-999") + ":")


def test_a_rule_without_a_sigma_part_is_refused():
    with pytest.raises(TypeError):
        registry.rule(**dict((k, v) for k, v in GOOD.items() if k != "sigma"))


@pytest.mark.parametrize("args", [
    ("exactly", "process_creation", {"s": {}}, "s", ""), ("exact", "process", {"s": {}}, "s", ""),
    ("approximate", "process_creation", {"s": {}}, "s", ""), ("exact", "process_creation", {}, "s", "")])
def test_a_bad_sigma_translation_is_refused(args):
    with pytest.raises(ValueError):
        spec(*args)
    with pytest.raises(ValueError):
        not_exportable("")


def test_a_context_lowers_exactly_the_rules_declared_lowered_by_it():
    for context in score.CONTEXTS:
        assert set(context.caps) == {r.id for r in RULES if context.key in r.lowered_by}
        assert set(context.caps.values()) == {context.cap}
    # and the lowering is said in the reasons: a setup program registering its own module
    app = "C:\\Users\\bob\\AppData\\Local\\Vendor\\App\\"
    verdict = Detector().evaluate({"EventCode": "1", "Image": "C:\\Windows\\System32\\regsvr32.exe",
                                   "ParentImage": app + "setup.exe",
                                   "CommandLine": "regsvr32 /s " + app + "shellext.dll"})
    assert any(n.startswith("lowered: an installer") and "R32-040 20->5" in n for n in verdict.reasons), \
        verdict.reasons


def test_examples_are_complete_events_of_the_rules_own_kinds():
    for r in RULES:
        for e in r.positives:
            assert fields.KIND_BY_CODE[e["EventCode"]] in r.kinds, (r, e)

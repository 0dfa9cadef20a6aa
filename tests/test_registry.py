"""The rule registry: one declaration per rule, and every check runs only on events of its scope."""
import pytest

from support.events import proc, sysmon1, sysmon3, sysmon7, sysmon13
from regsvr32_detector import Detector, RULES
from regsvr32_detector import fields, registry, score
from regsvr32_detector.cmdline import Invocation
from regsvr32_detector.families import FAMILIES_BY_KEY
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

    for r in RULES:
        monkeypatch.setattr(r, "check", spy(r, r.check))
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


def test_a_declaration_with_an_unknown_family_is_refused():
    with pytest.raises(ValueError):
        registry.rule("R32-999", "x", registry.COMMAND_LINE, 10, "no_such_family", "location", ("T1218.010",),
                      ("L01",), "x.", ("regsvr32 x.dll",), ("regsvr32 y.dll",))


@pytest.mark.parametrize("lowered_by", [("no such context",), "agent"])
def test_a_declaration_lowered_by_an_unknown_context_is_refused(lowered_by):
    with pytest.raises(ValueError):
        registry.rule("R32-999", "x", registry.COMMAND_LINE, 10, "parent_lineage", "location", ("T1218.010",),
                      ("L01",), "x.", ("regsvr32 x.dll",), ("regsvr32 y.dll",), lowered_by=lowered_by)


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

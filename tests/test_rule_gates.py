"""Rule gates (Rule.gate): the detector runs a command-line rule only on lines with one of the
features its gate names. A gate must be sound: never skip a rule that would fire."""
import pytest

import verdict_snapshot
from regsvr32_detector import RULES, cmdline, detector, fields, registry
from regsvr32_detector.sigma_spec import not_exportable

pytestmark = pytest.mark.pure

COMMAND_LINE_RULES = tuple(r for r in RULES if r.scope.invocation)


def _command_lines():
    """(line, image name, cwd) of every regsvr32 process start of the verdict snapshot (every
    rule's examples, the corpora, hostile text, the benchmark streams), each once."""
    seen = set()
    for entry in verdict_snapshot.load():
        try:
            ev = fields.normalize(entry["event"])
        except fields.Unreadable:
            continue
        if ev is None:
            continue
        for variant in ([v for _, v in fields.variants(ev)] if ev.multi else [ev]):
            if variant.kind == fields.PROCESS and variant.is_regsvr32:
                key = (variant.command_line, variant.image_name, variant.cwd)
                if key not in seen:
                    seen.add(key)
                    yield key


def test_no_gate_skips_a_rule_that_fires():
    fired, skipped, lines = set(), 0, 0
    for line, image_name, cwd in _command_lines():
        lines += 1
        inv = cmdline.parse(line, image_name, cwd)
        found = cmdline.features(inv)
        assert found <= cmdline.FEATURES, found - cmdline.FEATURES
        run = detector.gated_rules(found)
        skipped += len(COMMAND_LINE_RULES) - len(run)
        for rule in COMMAND_LINE_RULES:
            if rule.check(inv):
                fired.add(rule.id)
                assert rule in run, (rule, line, sorted(found), rule.gate)
    assert lines > 3000
    # every gate was put to the test by a line its rule fires on, and gates do skip rules
    assert fired == set(r.id for r in COMMAND_LINE_RULES if r.gate)
    assert skipped > lines * len(COMMAND_LINE_RULES) // 2


def test_a_rule_without_a_gate_runs_on_every_line(monkeypatch):
    ungated = COMMAND_LINE_RULES[0].replace(gate=())
    monkeypatch.setattr(detector, "COMMAND_LINE_RULES", (ungated,) + COMMAND_LINE_RULES[1:])
    for found in (frozenset(), frozenset(["flag s"]), cmdline.FEATURES):
        assert ungated in detector.gated_rules(found)
    assert all(r.gate for r in COMMAND_LINE_RULES)


def test_the_rules_run_follow_the_rules_in_use(monkeypatch):
    # replaced rules (tests spy on checks) are the ones run, not those remembered before
    before = detector.gated_rules(frozenset(["url"]))
    assert any(r.id == "R32-002" for r in before)
    replaced = tuple(r.replace(gate=()) for r in COMMAND_LINE_RULES)
    monkeypatch.setattr(detector, "COMMAND_LINE_RULES", replaced)
    assert detector.gated_rules(frozenset(["url"])) == replaced


GOOD = dict(id="R32-999", title="x", scope=registry.COMMAND_LINE, risk=10, family="parent_lineage",
            evidence="location", techniques=("T1218.010",), sources=("L01",), description="x.",
            positives=("regsvr32 x.dll",), negatives=("regsvr32 y.dll",),
            sigma=not_exportable("a test"))


def test_a_good_gate_is_kept():
    made = registry.Rule(check=len, gate=["url", "flag i"], **GOOD)
    assert made.gate == ("url", "flag i")


@pytest.mark.parametrize("change", [
    {"gate": ("no such feature",)}, {"gate": "url"}, {"gate": ("url", 3)},
    {"gate": ("url",), "scope": registry.actor(fields.NETWORK)},
], ids=str)
def test_a_bad_gate_is_refused_when_declared(change):
    with pytest.raises(ValueError) as e:
        registry.rule(**dict(GOOD, **change))
    assert str(e.value).startswith("R32-999:")

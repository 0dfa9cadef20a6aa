"""Every rule's own examples, and the registry's shape."""
import re

import pytest

from regsvr32_detector import Detector, RULES, severity_for
from regsvr32_detector.fields import KIND_BY_CODE

pytestmark = pytest.mark.pure

DETECTOR = Detector()
POSITIVES = [pytest.param(r, ex, id="%s+%d" % (r.id, i)) for r in RULES for i, ex in enumerate(r.positives)]
NEGATIVES = [pytest.param(r, ex, id="%s-%d" % (r.id, i)) for r in RULES for i, ex in enumerate(r.negatives)]


@pytest.mark.parametrize("rule, record", POSITIVES)
def test_positive_example_fires_its_rule(rule, record):
    verdict = DETECTOR.evaluate(record)
    assert rule.id in verdict.rules, verdict.reasons
    # the rule's risk counts in full, or the reasons say which context lowered it
    lowered = [r for r in verdict.reasons if r.startswith("lowered:") and rule.id + " " in r]
    assert verdict.score >= rule.risk or lowered, verdict.reasons
    reason = [r for r in verdict.reasons if r.startswith(rule.id + ": ")]
    assert reason and len(reason[0]) > len(rule.id) + 10


@pytest.mark.parametrize("rule, record", NEGATIVES)
def test_negative_example_does_not_fire_its_rule(rule, record):
    assert rule.id not in DETECTOR.evaluate(record).rules


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_record_is_complete(rule):
    assert re.match(r"^R32-\d{3}$", rule.id)
    assert rule.title and rule.description.endswith(".")
    assert 0 < rule.risk <= 100 and rule.severity == severity_for(rule.risk)
    assert rule.techniques and all(re.match(r"^T\d{4}(\.\d{3})?$", t) for t in rule.techniques)
    assert rule.sources and rule.kinds
    assert rule.positives and rule.negatives
    assert set(rule.kinds) <= set(KIND_BY_CODE.values())


def test_a_duplicate_rule_id_is_refused_when_the_registry_is_built(monkeypatch):
    # finish() sorts by id, so RULES is ordered and unique by construction; what can fail is the
    # guard that turns a second declaration of an id into an import error.
    from regsvr32_detector import registry
    monkeypatch.setattr(registry, "RULES_IN_ORDER", list(RULES) + [RULES[0]])
    with pytest.raises(ValueError, match="duplicate"):
        registry.finish()


@pytest.mark.parametrize("logic", ["L%02d" % n for n in list(range(1, 23)) + [24, 25, 26, 28, 29, 30, 31, 33, 34]])
def test_every_single_event_logic_of_the_survey_is_covered(logic):
    assert any(logic in r.sources for r in RULES)


@pytest.mark.parametrize("score, severity", [
    (0, "none"), (1, "informational"), (19, "informational"), (20, "low"), (39, "low"),
    (40, "medium"), (59, "medium"), (60, "high"), (79, "high"), (80, "critical"), (100, "critical")])
def test_severity_follows_score(score, severity):
    assert severity_for(score) == severity


# Names from the corpora: Dridex's and Qakbot's folders and files (pan-unit42/tweets
# 2020-09-07-Dridex-IOCs.txt) against folders and modules of real software (benign.csv).
MACHINE_MADE = ("XMkkdsZZ", "RNidR2AF", "Xvnau9kk", "vlAShMf", "w2lhlvL", "Xd6sfzNp", "SqFXmRk",
                "T7qme40", "x84wFBc7", "4hfdIbN", "G2Rdy6ci", "Mk9i8nt", "FeGhGhc", "Nj1FvD06",
                # Qakbot's root folders (pr0xylife/Qakbot, executemalware/Malware-IOCs)
                "Rfgsg", "Jhfrg", "Xnvr")
WORDS = ("QuickCam", "QCVideoX", "AddressBook", "vbSendMail", "GLD", "wiwl", "TeeChart2018VBCtl",
         "VssSample", "NapSdk", "SdkShv", "ExdiGdbSrv", "DcTLSFileToDMSComp", "DirBkgndExt", "WMDMSDK",
         "Win32Api", "Office365", "VTFShellInfo64", "Dopaters3", "Biloa", "MsSP", "WMSDK", "x64",
         "NiVirtualCam", "FsrmSampleClassifier", "mssp", "smsdp", "mshdsp", "nvs_sd", "MMCodecV3.1", "RTPDest")


@pytest.mark.parametrize("name", MACHINE_MADE)
def test_machine_made_names_are_told_apart(name):
    from regsvr32_detector.rules import random_looking
    assert random_looking(name)


@pytest.mark.parametrize("name", WORDS)
def test_names_of_real_software_are_not_machine_made(name):
    from regsvr32_detector.rules import random_looking
    assert not random_looking(name)

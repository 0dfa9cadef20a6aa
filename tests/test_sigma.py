"""The Sigma export (sigma/): valid for pySigma, convertible by its Splunk backend, faithful to
each rule's own examples, and in step with the registry (test_es_content checks the files)."""
import ipaddress
import json
import os
import re

import pytest
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR
from sigma.types import SigmaCIDRExpression, SigmaExpansion, SigmaRegularExpression, SigmaString
from sigma.pipelines.splunk import splunk_cim_data_model, splunk_windows_pipeline
from sigma.validation import SigmaValidator
from sigma.validators.core import validators

from tools import es_content as gen_content, sigma_export
from regsvr32_detector import RULES, RULES_BY_ID

EXPORTED = [r for r in RULES if r.id in sigma_export.SPECS]
# These two validators download MITRE data; the tags are checked offline below instead.
ONLINE_VALIDATORS = {"attacktag", "d3_fendtag"}


def load(rule):
    with open(sigma_export.file_name(rule), encoding="utf-8") as f:
        return f.read()


def parse():
    return SigmaCollection.from_yaml("\n---\n".join(load(r) for r in EXPORTED))


@pytest.fixture(scope="module")
def collection():
    return parse()


def test_every_rule_is_exported_or_says_why_not():
    assert not set(sigma_export.SPECS) & set(sigma_export.NOT_EXPORTED)
    assert set(sigma_export.SPECS) | set(sigma_export.NOT_EXPORTED) == set(RULES_BY_ID)
    assert all(s["fidelity"] in ("exact", "approximate") for s in sigma_export.SPECS.values())
    assert all(s["why"] for s in sigma_export.SPECS.values() if s["fidelity"] == "approximate")


def test_sigma_folder_holds_only_generated_files():
    generated = {os.path.basename(p) for p in sigma_export.outputs()}
    assert set(os.listdir(sigma_export.SIGMA)) == generated


def test_pysigma_parses_and_validates_every_rule(collection):
    assert len(collection.rules) == len(EXPORTED)
    assert [e for r in collection.rules for e in r.errors] == []
    offline = [cls for name, cls in validators.items() if name not in ONLINE_VALIDATORS]
    assert SigmaValidator(offline).validate_rules(collection.rules) == []


def test_rule_metadata_comes_from_the_registry(collection):
    for rule, sigma in zip(EXPORTED, collection.rules):
        assert str(sigma.id) == gen_content.stable_id(rule.id)
        assert sigma.title.startswith("regsvr32 %s - " % rule.id)
        assert sigma.level.name.lower() == rule.severity
        assert sorted(str(t) for t in sigma.tags) == sorted("attack.%s" % t.lower() for t in rule.techniques)
        assert all(re.match(r"^attack\.t\d{4}(\.\d{3})?$", str(t)) for t in sigma.tags)
        assert sigma.falsepositives
        named = {s.split()[1] for s in rule.sources if s.startswith("Sigma ")}
        assert {str(r.id)[:8] for r in (sigma.related.related if sigma.related else [])} == named, rule.id


def test_splunk_backend_converts_every_rule():
    # A backend's pipeline rewrites the rules it converts: each conversion gets its own parse.
    backend = SplunkBackend(splunk_windows_pipeline())
    for rule, sigma in zip(EXPORTED, parse().rules):
        queries = backend.convert_rule(sigma)
        assert len(queries) == 1 and queries[0].strip(), rule.id
        fields = {k.split("|")[0] for d in sigma_export.SPECS[rule.id]["detection"].values()
                  for m in (d if isinstance(d, list) else [d]) for k in m}
        assert all(f in queries[0] for f in fields), (rule.id, queries[0])


# pySigma's CIM pipeline maps process creation and registry events to Endpoint data models; the
# file description (R32-019's second branch) has no CIM field.
CIM = [r for r in EXPORTED if sigma_export.SPECS[r.id]["category"] in ("process_creation", "registry_set")
       and r.id != "R32-019"]


def test_process_and_registry_rules_convert_to_tstats_over_the_cim_data_models():
    backend = SplunkBackend(splunk_cim_data_model())
    by_id = dict(zip([r.id for r in EXPORTED], parse().rules))
    for rule in CIM:
        query = backend.convert_rule(by_id[rule.id], "data_model")[0]
        assert query.startswith("| tstats ") and "from datamodel=Endpoint." in query, rule.id
    assert len(CIM) == 23


def test_plain_values_need_no_sigma_escaping():
    # '*' and '?' are wildcards and '\\' an escaped backslash in Sigma; the evaluator below
    # and docs/sigma.md's numbers assume values mean what they say.
    for rule_id, s in sigma_export.SPECS.items():
        for d in s["detection"].values():
            for m in (d if isinstance(d, list) else [d]):
                for key, values in m.items():
                    if "|re" in key or "|cidr" in key:
                        continue
                    for v in values if isinstance(values, list) else [values]:
                        assert not re.search(r"[*?]|\\\\", v), (rule_id, key, v)


@pytest.mark.parametrize("rule", EXPORTED, ids=[r.id for r in EXPORTED])
def test_sigma_rule_matches_the_rules_own_examples(rule):
    hit, total, false_hits, negatives = sigma_export.coverage(rule)
    assert total and hit >= 1
    if sigma_export.SPECS[rule.id]["fidelity"] == "exact":
        assert (hit, false_hits) == (total, 0), "an exact export must agree on every example"


def pysigma_matches(node, event):
    """Evaluate pySigma's own parse of a rule (modifiers applied, condition resolved)."""
    if isinstance(node, (ConditionAND, ConditionOR)):
        hits = (pysigma_matches(a, event) for a in node.args)
        return all(hits) if isinstance(node, ConditionAND) else any(hits)
    if isinstance(node, ConditionNOT):
        return not pysigma_matches(node.args[0], event)
    assert isinstance(node, ConditionFieldEqualsValueExpression), node
    return value_matches(node.value, event.get(node.field))


def value_matches(value, actual):
    if actual is None:
        return False
    if isinstance(value, SigmaExpansion):
        return any(value_matches(v, actual) for v in value.values)
    if isinstance(value, SigmaString):       # wildcards, case-insensitive, whole value
        return re.fullmatch(value.to_regex().regexp.to_plain(), actual, re.I | re.S) is not None
    if isinstance(value, SigmaRegularExpression):
        return re.search(value.regexp.to_plain(), actual) is not None
    if isinstance(value, SigmaCIDRExpression):
        try:
            return ipaddress.ip_address(actual) in value.network
        except ValueError:
            return False
    raise AssertionError("value type the export does not use: %r" % value)


def test_the_readme_evaluator_agrees_with_pysigmas_parse_on_every_example(collection):
    # sigma_export.matches() gives docs/sigma.md's numbers; pySigma's parse is the reference.
    compared = 0
    for rule, sigma in zip(EXPORTED, collection.rules):
        s = sigma_export.SPECS[rule.id]
        tree = sigma.detection.parsed_condition[0].parsed
        events = [e for r in RULES for e in r.positives + r.negatives if isinstance(e, dict)]
        for event in sigma_export.applicable(s, events):
            assert pysigma_matches(tree, event) == sigma_export.matches(s, event), (rule.id, event)
            compared += 1
    assert compared > 500


@pytest.mark.parametrize(("event", "expected"), [
    ({"EventCode": "1", "Image": "C:\\x\\REGSVR32.EXE", "CommandLine": "regsvr32 \u2013i:x scrobj.dll"}, True),
    ({"EventCode": "1", "Image": "C:\\x\\regsvr32.exe", "CommandLine": "regsvr32 /s scrobj.dll"}, False),
    ({"EventCode": "1", "OriginalFileName": "REGSVR32.EXE", "CommandLine": "r /i:x SCROBJ.dll"}, True),
    ({"EventCode": "3", "Image": "C:\\x\\regsvr32.exe", "CommandLine": "regsvr32 /i:x scrobj.dll"}, False),
])
def test_evaluator_follows_sigma_semantics(event, expected):
    # case-insensitive values, windash, OR of the image selection's maps, the log source's event
    assert sigma_export.matches(sigma_export.SPECS["R32-001"], event) is expected


def test_cidr_and_negation_in_the_evaluator():
    s = sigma_export.SPECS["R32-021"]
    base = {"EventCode": "3", "Image": "C:\\Windows\\System32\\regsvr32.exe", "Initiated": "true"}
    assert sigma_export.matches(s, dict(base, DestinationIp="8.8.8.8"))
    assert not sigma_export.matches(s, dict(base, DestinationIp="10.1.2.3"))
    assert not sigma_export.matches(s, dict(base, DestinationIp="fe80::1"))


def test_navigator_layer_scores_each_technique_by_its_rules():
    with open(sigma_export.LAYER, encoding="utf-8") as f:
        layer = json.load(f)
    assert layer["domain"] == "enterprise-attack"
    scores = {t["techniqueID"]: t["score"] for t in layer["techniques"]}
    assert scores == {t: sum(t in r.techniques for r in RULES) for r in RULES for t in r.techniques}
    assert scores["T1218.010"] == len(RULES)

"""Enterprise Security 8 conventions (as Splunk ESCU's contentctl renders detections) for every
detection in savedsearches.conf, the analytic story, and the generated files kept in step."""
import json
import os
import re

import pytest

from tools import build, es_content as gen_content
from test_conf import conf
from regsvr32_detector import RULES
from regsvr32_detector.families import FAMILIES, OTHER_SEARCHES, STORY, THREAT_OBJECT_TYPES
from regsvr32_detector.fields import PROCESS

SAVED = conf("savedsearches.conf")
STORIES = conf("analyticstories.conf")
MACROS = conf("macros.conf")
DETECTIONS = [s for s in SAVED.sections() if s.endswith(" - Rule")]
# contentctl's threat-object types (contentctl/objects/rba.py) that this app uses or may use
ES_THREAT_TYPES = {"command", "domain", "file_hash", "file_name", "file_path", "ip_address",
                   "parent_process", "parent_process_name", "process", "process_name",
                   "registry_path", "signature", "url"}
TYPES = ("TTP", "Anomaly", "Hunting")


def test_every_detection_is_generated_or_described():
    described = [f.search_name for f in FAMILIES] + [s.name for s in OTHER_SEARCHES]
    assert sorted(described) == sorted(DETECTIONS)


@pytest.mark.parametrize("stanza", DETECTIONS)
def test_name_fits_es8(stanza):
    # ES 8 lists event-based detections named "<app> - <name> - Rule", at most 99 characters.
    assert stanza.startswith("regsvr32 - ") and len(stanza) <= gen_content.MAX_NAME
    assert SAVED[stanza]["action.correlationsearch.label"] == stanza


@pytest.mark.parametrize("stanza", DETECTIONS)
def test_annotations_name_the_story_type_data_sources_and_attack(stanza):
    s = SAVED[stanza]
    annotations = json.loads(s["action.correlationsearch.annotations"])
    assert annotations["analytic_story"] == [STORY["name"]]
    assert annotations["type"] in TYPES and annotations["type_list"] == [annotations["type"]]
    assert annotations["data_source"]
    assert all(re.match(r"^T\d{4}(\.\d{3})?$", t) for t in annotations["mitre_attack"])
    metadata = json.loads(s["action.correlationsearch.metadata"])
    assert metadata["detection_id"] == gen_content.stable_id(stanza)
    assert s["action.correlationsearch.detection_type"] == "ebd"


@pytest.mark.parametrize("stanza", DETECTIONS)
def test_type_decides_finding_and_risk(stanza):
    # TTP: a finding (notable) and risk; Anomaly: risk only; Hunting: neither.
    s = SAVED[stanza]
    kind = json.loads(s["action.correlationsearch.annotations"])["type"]
    assert (s.get("action.notable") == "1") == (kind == "TTP")
    assert (s.get("action.risk") == "1") == (kind != "Hunting")
    if kind == "TTP":
        assert s["action.notable.param.security_domain"] == "endpoint"
        assert s["action.notable.param.severity"] in ("informational", "low", "medium", "high", "critical")
        assert "$dest$" in s["action.notable.param.rule_title"]


@pytest.mark.parametrize("stanza", DETECTIONS)
def test_risk_and_threat_objects_are_fields_the_search_returns(stanza):
    s = SAVED[stanza]
    risk = json.loads(s["action.risk.param._risk"])
    objects = {(r["risk_object_field"], r["risk_object_type"]) for r in risk if "risk_object_field" in r}
    assert objects == {("dest", "system"), ("user", "user")}
    threats = [(r["threat_object_field"], r["threat_object_type"]) for r in risk if "threat_object_field" in r]
    assert threats and all(kind in ES_THREAT_TYPES for _, kind in threats)
    search = s["search"]
    for field in [f for f, _ in objects] + [f for f, _ in threats]:
        assert re.search(r"\b%s\b" % re.escape(field), search), (stanza, field)
    assert all(1 <= r["risk_score"] <= 100 for r in risk if "risk_score" in r)


@pytest.mark.parametrize("stanza", DETECTIONS)
def test_drilldowns_are_the_escu_pair(stanza):
    s = SAVED[stanza]
    assert s["action.notable.param.nes_fields"] == "user,dest"
    results, risk = json.loads(s["action.notable.param.drilldown_searches"])
    assert results["name"] == "View the detection results for $user$ and $dest$"
    expected = '%s | search user = "$user$" dest = "$dest$"' % s["search"]
    assert results["search"].split() == expected.split()
    assert (results["earliest_offset"], results["latest_offset"]) == ("$info_min_time$", "$info_max_time$")
    assert risk["name"] == "View risk events for the last 7 days for $user$ and $dest$"
    assert risk["search"].startswith("| from datamodel Risk.All_Risk")
    assert 'normalized_risk_object IN ("$user$", "$dest$") starthoursago=168' in risk["search"]
    assert "`" not in risk["search"]      # no macro the app does not ship (ESCU's ctime macro)


def test_story_lists_every_detection_in_the_form_escu_ships():
    story = STORIES["analytic_story://%s" % STORY["name"]]
    assert json.loads(story["searches"]) == DETECTIONS
    assert story["narrative"] and story["description"] and json.loads(story["references"])
    assert story["spec_version"] == "3" and json.loads(story["maintainers"])[0]["name"]
    stanzas = [s for s in STORIES.sections() if s.startswith("savedsearch://")]
    assert stanzas == ["savedsearch://%s" % d for d in DETECTIONS]


@pytest.mark.parametrize("stanza", DETECTIONS)
def test_story_describes_each_detection(stanza):
    s, saved = STORIES["savedsearch://%s" % stanza], SAVED[stanza]
    annotations = json.loads(saved["action.correlationsearch.annotations"])
    assert s["type"] == "detection" and s["detection_type"] == annotations["type"]
    assert json.loads(s["annotations"])["mitre_attack"] == annotations["mitre_attack"]
    assert json.loads(s["data_source"]) == annotations["data_source"]
    assert len(s["how_to_implement"]) > 40 and len(s["known_false_positives"]) > 20
    assert json.loads(s["providing_technologies"])


@pytest.mark.parametrize("family", FAMILIES, ids=[f.key for f in FAMILIES])
def test_family_search_alerts_from_the_min_score_macro(family):
    search = SAVED[family.search_name]["search"]
    assert "| regsvr32detect mode=filter `regsvr32_min_score`" in search
    assert re.match(r"^min_score=(\d|[1-9]\d|100)$", MACROS["regsvr32_min_score"]["definition"])


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.prefilter == "tstats"],
                         ids=lambda f: f.key)
def test_tstats_families_hold_only_regsvr32_process_rules(family):
    # Endpoint.Processes rows are regsvr32 processes only: other kinds of events never reach it.
    rules = [r for r in RULES if r.family == family.key]
    assert rules and all(r.kinds == (PROCESS,) for r in rules)


def test_threat_object_types_are_es_types():
    assert set(THREAT_OBJECT_TYPES.values()) <= ES_THREAT_TYPES


def test_family_search_is_generated_from_the_table_when_a_rule_moves(monkeypatch):
    # The generator reads rule.family: moving a rule moves it between the searches' filters.
    rule = next(r for r in RULES if r.family == "network")
    rule = rule.replace(family="image_loads")              # rules are frozen: a moved copy
    monkeypatch.setattr(gen_content, "RULES", [rule if r.id == rule.id else r for r in RULES])
    network = next(f for f in FAMILIES if f.key == "network")
    loads = next(f for f in FAMILIES if f.key == "image_loads")
    assert rule.id not in gen_content.family_search(network)
    assert rule.id in gen_content.family_search(loads)
    assert os.path.basename(gen_content.SAVED) in [os.path.basename(p) for p in build.stale()]


def test_analytic_story_conf_has_a_reload_trigger():
    # AppInspect fails check_reload_trigger_for_all_custom_confs without it.
    assert conf("app.conf")["triggers"]["reload.analyticstories"] == "simple"


@pytest.mark.parametrize("search", [s for s in OTHER_SEARCHES if s.steps], ids=lambda s: s.name)
def test_correlation_steps_name_real_rules_and_each_is_in_the_search(search):
    found = re.findall(r'\b(\w+)=if\(isnotnull\(mvfind\(regsvr32_rules, "\^\(([^)]*)\)\$"\)\)',
                       SAVED[search.name]["search"])
    assert dict(found) == dict((field, "|".join(ids)) for field, ids in search.steps)
    assert all(rule in {r.id for r in RULES} for _, ids in search.steps for rule in ids)

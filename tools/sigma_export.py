"""Sigma rules and an ATT&CK Navigator layer rendered from the rule registry (tools/build.py).

Each rule's declaration says how it exports (sigma=, see regsvr32_detector/sigma_spec.py): a
Sigma translation marked exact or approximate, or not_exportable(why). Title, description,
ATT&CK tags, level and references come from the registry; `related` links the SigmaHQ rules a
rule's sources name.
"""
import ipaddress
import json
import os
import re

import yaml

from regsvr32_detector import RULES
from regsvr32_detector.sigma_spec import CATEGORIES
from regsvr32_detector.families import FAMILIES_BY_KEY, STORY

from tools.es_content import stable_id

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SIGMA = os.path.join(ROOT, "sigma")
LAYER = os.path.join(SIGMA, "regsvr32detect-attack-layer.json")

# Full ids of the SigmaHQ rules our rules' sources name by prefix ("Sigma 867356ee"), read from
# SigmaHQ/sigma at commit 8eaafff1 (2026-08-05).
SIGMAHQ_IDS = dict((i[:8], i) for i in """
867356ee-9352-41c9-a8f2-1be690d78216 8e2b24c9-4add-46a0-b4bb-0057b4e6187d
2dd2c217-bf68-437a-b57c-fe9fd01d5de8 b236190c-1c61-41e9-84b3-3fe03f6d76b0
ce2c44b5-a6ac-412a-afba-9e89326fa972 9525dc73-0327-438c-8c04-13c0e037e9da
4fcac6eb-0287-4090-8eea-2602e4c20040 e6eb5a96-9e6f-4a18-9cdd-642cfda21c8e
327ff235-94eb-4f06-b9de-aaee571324be 089fc3d2-71e8-4763-a8a5-c97fbb0a403e
50919691-7302-437f-8e10-1fe088afa145 88a87a10-384b-4ad7-8871-2f9bf9259ce5
ab37a6ec-6068-432b-a64e-2c7bf95b1d22 438025f9-5856-4663-83f7-52f878a70a50
8a582fe2-0882-4b89-a82a-da6b2dc32937 d52d2e87-eb03-4fac-961d-eb616da79788
6f0947a4-1c5e-4e0d-8ac7-53159b8f23ca 0ba1da6d-b6ce-4366-828c-18826c9de23e
e4a6b256-3e47-40fc-89d2-7a477edd6915 933f0bb5-0681-4fe7-8a17-4e6cccbaac44
c7e91a02-d771-4a6d-a700-42587e0b1095 36e037c4-c228-4866-b6a3-48eb292b9955
a7c3d773-caef-227e-a7e7-c2f13c622329 20384606-a124-4fec-acbb-8bd373728613
b5de0c9a-6f19-43e0-af4e-55ad01f550af 4508a70e-97ef-4300-b62b-ff27992990ea
e0b06658-7d1d-4cd3-bf15-03467507ff7c fe20dda1-6f37-4379-bbe0-a98d400cae90
02d1d718-dd13-41af-989d-ea85c7fab93f 3a734d25-df5c-4b99-8034-af1ddb5883a4
614cf376-6651-47c4-9dcc-6b9527f749f4 d4ca7c59-e9e4-42d8-bf57-91a776efcb87
0033cf83-fb87-446d-9cac-43d63ad4d5a9 bd70d3f8-e60e-4d25-89f0-0b5a9cff20e0
8acf3cfa-1e8c-4099-83de-a0c4038e18f0""".split())

# Each rule's Sigma translation, or why it has none: part of its declaration (sigma=).
SPECS = dict((r.id, r.sigma) for r in RULES if r.exportable)
NOT_EXPORTED = dict((r.id, r.sigma.why) for r in RULES if not r.exportable)


def sigmahq_related(rule):
    return [{"id": SIGMAHQ_IDS[s.split()[1]], "type": "similar"}
            for s in rule.sources if s.startswith("Sigma ") and s.split()[1] in SIGMAHQ_IDS]


def sigma_rule(rule, s):
    how = "exactly" if s["fidelity"] == "exact" else "approximately (%s)" % s["why"]
    doc = {
        "title": "regsvr32 %s - %s" % (rule.id, rule.title),
        "id": stable_id(rule.id),
    }
    related = sigmahq_related(rule)
    if related:
        doc["related"] = related
    doc.update({
        "status": "experimental",
        "description": "%s Exported %s from regsvr32detect rule %s." % (
            rule.description, how, rule.id),
        "references": ["https://attack.mitre.org/techniques/%s/" % t.replace(".", "/")
                       for t in rule.techniques],
        "author": STORY["maintainer"]["name"],
        "date": STORY["last_updated"],
        "tags": ["attack.%s" % t.lower() for t in rule.techniques],
        "logsource": {"category": s["category"], "product": "windows"},
        "detection": dict(s["detection"], condition=s["condition"]),
        "falsepositives": [FAMILIES_BY_KEY[rule.family].known_false_positives],
        "level": rule.severity,
    })
    return doc


# ---------------------------------------------------------------------------------------
# A small evaluator for the Sigma subset above (modifiers contains, startswith, endswith, all,
# windash, re, cidr; conditions "a and not b and 1 of c_*"), so the tests and docs/sigma.md can say
# which of a rule's own examples its Sigma translation matches.

DASHES = ("-", "/", "\u2013", "\u2014", "\u2015")


def _value_matches(actual, modifiers, wanted):
    if "re" in modifiers:
        return re.search(wanted, actual) is not None
    if "cidr" in modifiers:
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted)
        except ValueError:
            return False
    a = actual.lower()
    variants = [wanted.replace("-", d) for d in DASHES] if "windash" in modifiers else [wanted]
    for w in (v.lower() for v in variants):
        if ("contains" in modifiers and w in a) or ("startswith" in modifiers and a.startswith(w)) \
                or ("endswith" in modifiers and a.endswith(w)) or (not set(modifiers) & {
                    "contains", "startswith", "endswith"} and a == w):
            return True
    return False


def _item_matches(event, key, values):
    field, *modifiers = key.split("|")
    actual = event.get(field)
    if actual is None:
        return False
    values = values if isinstance(values, list) else [values]
    hits = [_value_matches(actual, modifiers, v) for v in values]
    return all(hits) if "all" in modifiers else any(hits)


def _selection_matches(event, selection):
    maps = selection if isinstance(selection, list) else [selection]
    return any(all(_item_matches(event, k, v) for k, v in m.items()) for m in maps)


def matches(s, event):
    """Whether a spec's Sigma rule matches one event (a dict of Sysmon fields)."""
    if event.get("EventCode") != CATEGORIES[s["category"]]:
        return False
    detection = s["detection"]
    for term in s["condition"].split(" and "):
        if term.startswith("1 of "):
            prefix = term[len("1 of "):].rstrip("*")
            ok = any(_selection_matches(event, v) for k, v in detection.items() if k.startswith(prefix))
        elif term.startswith("not "):
            ok = not _selection_matches(event, detection[term[len("not "):]])
        else:
            ok = _selection_matches(event, detection[term])
        if not ok:
            return False
    return True


def applicable(s, events):
    """The examples written as the Sysmon event this rule's log source reads."""
    return [e for e in events if e.get("EventCode") == CATEGORIES[s["category"]]]


def coverage(rule):
    """(positives matched, applicable positives, negatives matched, applicable negatives)."""
    s = SPECS[rule.id]
    pos, neg = applicable(s, rule.positives), applicable(s, rule.negatives)
    return (sum(matches(s, e) for e in pos), len(pos), sum(matches(s, e) for e in neg), len(neg))


def readme_table():
    lines = ["| Rule | Sigma | Own examples matched (positives; negatives) | Why |", "|---|---|---|---|"]
    for rule in RULES:
        if rule.id in SPECS:
            s = SPECS[rule.id]
            lines.append("| %s | %s (`%s`) | %d of %d; %d of %d | %s |" % (
                (rule.id, s["fidelity"], os.path.relpath(file_name(rule), ROOT).replace(os.sep, "/"))
                + coverage(rule) + (s["why"] or "same fields, same logic",)))
        else:
            lines.append("| %s | not exported | | %s |" % (rule.id, NOT_EXPORTED[rule.id]))
    return "\n".join(lines)


def file_name(rule):
    return os.path.join(SIGMA, "%s.yml" % rule.id.lower().replace("-", "_"))


def layer():
    """ATT&CK Navigator layer: every technique the rules map, scored by how many rules do."""
    counts = {}
    for rule in RULES:
        for t in rule.techniques:
            counts.setdefault(t, []).append(rule.id)
    return {
        "name": "regsvr32detect rules", "domain": "enterprise-attack",
        "versions": {"layer": "4.5", "navigator": "5.1.0"},
        "description": "Techniques the regsvr32detect rules map; the score is the number of rules.",
        "techniques": [{"techniqueID": t, "score": len(ids), "comment": ", ".join(ids),
                        "enabled": True} for t, ids in sorted(counts.items())],
        "gradient": {"colors": ["#ffe766", "#ff6666"], "minValue": 0,
                     "maxValue": max(len(ids) for ids in counts.values())},
    }


def outputs():
    found = {}
    for rule in RULES:
        if rule.id in SPECS:
            text = yaml.safe_dump(sigma_rule(rule, SPECS[rule.id]), sort_keys=False, width=100)
            found[file_name(rule)] = text
    found[LAYER] = json.dumps(layer(), indent=2) + "\n"
    return found

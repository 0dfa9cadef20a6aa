"""Sigma rules and an ATT&CK Navigator layer rendered from the rule registry (tools/build.py).

The detector parses command lines as Windows does; a Sigma rule can only match field values.
So each rule that a field match can express gets a Sigma translation here, marked:
  exact        the same fields and the same logic (Sysmon field names);
  approximate  string matches that stand in for the parser: they miss evasions the detector
               resolves (8.3 names, '..', %VARIABLES%, quoting) and may match decoys;
and the rules left out say why (NOT_EXPORTED). Title, description, ATT&CK tags, level and
references come from the registry; `related` links the SigmaHQ rules a rule's sources name.
Plain Sigma values here never hold '*', '?' or a doubled backslash, so Sigma's escaping never
applies (tests/test_sigma.py checks that and evaluates each rule on the registry's examples).
"""
import ipaddress
import json
import os
import re

import yaml

from regsvr32_detector import RULES, rules, winpath
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

# Sigma log source categories (product windows) and the Sysmon event each one reads.
CATEGORIES = {"process_creation": "1", "network_connection": "3", "image_load": "7",
              "create_remote_thread": "8", "registry_set": "13", "dns_query": "22"}

IMG = [{"Image|endswith": "\\regsvr32.exe"}, {"OriginalFileName": "REGSVR32.EXE"}]
BY_REGSVR32 = {"Image|endswith": "\\regsvr32.exe"}
# Addresses Python's ipaddress does not call global (winpath.is_public), plus multicast.
NON_PUBLIC = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
              "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
              "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3", "::/127", "::ffff:0:0/96",
              "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10",
              "ff00::/8"]


def _ends(names):
    return ["\\" + n for n in sorted(names)]


def spec(fidelity, category, detection, condition, why):
    return {"fidelity": fidelity, "category": category, "detection": detection,
            "condition": condition, "why": why}


CLI = "the command line holds"

def _by_parent(table):
    """regsvr32 started by a process named in TABLE: the same fields, the same logic."""
    return spec("exact", "process_creation",
                {"selection_img": IMG, "selection_parent": {"ParentImage|endswith": _ends(table)}},
                "selection_img and selection_parent", "")


SPECS = {
    "R32-001": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_cli": {"CommandLine|windash|contains": " -i:",
                                                             "CommandLine|contains": "scrobj"}},
                    "selection_img and selection_cli",
                    CLI + " an /i: switch and 'scrobj' anywhere, not scrobj.dll as the module"),
    "R32-002": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_cli": {
                        "CommandLine|contains": ["http://", "https://", "ftp://", "file://"]}},
                    "selection_img and selection_cli", CLI + " a URL anywhere, not as a target"),
    "R32-003": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_cli": {"CommandLine|re":
                     r"(?i)(?:(?:https?|ftp)://|\\\\)(?:\[[0-9a-f:.]+\]|0x[0-9a-f]+|[0-9]+(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3})(?:[:/\\]|$)"}},
                    "selection_img and selection_cli",
                    "a regular expression for IP literals after a scheme or \\\\; the detector "
                    "decodes every notation inet_aton accepts"),
    "R32-005": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_i": {"CommandLine|windash|contains": " -i"},
                     "filter_n": {"CommandLine|windash|contains": " -n"}},
                    "selection_img and selection_i and not filter_n",
                    "switches found as substrings; the detector reads combined switch groups"),
    "R32-007": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_path": {"CommandLine|contains": [
                        "\\AppData\\", "\\Temp\\", ":\\Users\\Public\\", ":\\ProgramData\\",
                        "\\Downloads\\", "\\Desktop\\", "\\Documents\\", "\\Pictures\\",
                        "\\Music\\", "\\Windows\\Tasks\\"]}},
                    "selection_img and selection_path",
                    CLI + " the folder; 8.3 names, '..', %VARIABLES% and relative names resolved "
                    "against the working directory get past it"),
    "R32-009": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_path": {"CommandLine|contains": [
                        ":\\PerfLogs\\", ":\\Temp\\", "\\Windows\\Tracing\\", "\\Registration\\CRMLog",
                        "\\System32\\com\\dmp\\", "\\FxsTmp\\", "\\spool\\drivers\\color\\",
                        "\\spool\\PRINTERS\\", "\\spool\\SERVERS\\", "\\Crypto\\RSA\\MachineKeys\\",
                        "\\System32\\Tasks\\", "\\$Recycle.Bin\\"]}},
                    "selection_img and selection_path", CLI + " the folder (as R32-007)"),
    "R32-010": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_ext": {"CommandLine|re":
                     r"(?i)\.(?:%s)(?:[\"'\s,]|$)" % "|".join(sorted(winpath.DISGUISED_EXTS))}},
                    "selection_img and selection_ext",
                    "any argument ending in a disguise extension, not only the module's"),
    "R32-012": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_unc": {"CommandLine|re": r"(?:^|[\s\"':])\\\\[^\\\s]"}},
                    "selection_img and selection_unc", "any \\\\host argument, not only a target"),
    "R32-013": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_dav": {"CommandLine|contains": [
                        "\\DavWWWRoot\\", "@SSL\\", "@SSL@", "@80\\", "@443\\", "@8080\\", "@8443\\"]}},
                    "selection_img and selection_dav", CLI + " a WebDAV path marker"),
    "R32-014": _by_parent(rules.SCRIPT_PARENTS),
    "R32-042": _by_parent(rules.RUNTIME_PARENTS),
    "R32-015": _by_parent(rules.OFFICE_PARENTS),
    "R32-016": _by_parent(rules.SERVER_PARENTS),
    "R32-017": spec("exact", "process_creation",
                    {"selection": {"ParentImage|endswith": "\\regsvr32.exe",
                                   "Image|endswith": _ends(rules.SUSPICIOUS_CHILDREN)}},
                    "selection", ""),
    "R32-018": spec("exact", "process_creation",
                    {"selection": {"ParentImage|endswith": "\\regsvr32.exe"},
                     "filter_self": {"Image|endswith": "\\regsvr32.exe"}},
                    "selection and not filter_self", ""),
    "R32-019": spec("approximate", "process_creation",
                    {"selection": [{"OriginalFileName": "REGSVR32.EXE"},
                                   {"Description": "Microsoft(C) Register Server"}],
                     "filter_name": {"Image|endswith": "\\regsvr32.exe"}},
                    "selection and not filter_name",
                    "by OriginalFileName or description only; the detector also knows a renamed "
                    "copy by a command line only regsvr32 takes (4688 logs neither)"),
    "R32-020": spec("exact", "process_creation",
                    {"selection": BY_REGSVR32,
                     "filter_home": {"Image|contains": list(rules.REGSVR32_HOMES)}},
                    "selection and not filter_home", ""),
    "R32-021": spec("approximate", "network_connection",
                    {"selection": dict(BY_REGSVR32, Initiated="true"),
                     "filter_local": {"DestinationIp|cidr": NON_PUBLIC}},
                    "selection and not filter_local",
                    "Initiated must be 'true' (the detector also accepts it missing); the "
                    "non-public ranges are listed as of Python's ipaddress"),
    "R32-022": spec("approximate", "network_connection",
                    {"selection": dict(BY_REGSVR32, Initiated="true"),
                     "selection_local": {"DestinationIp|cidr": NON_PUBLIC}},
                    "selection and selection_local", "as R32-021"),
    "R32-023": spec("exact", "dns_query", {"selection": BY_REGSVR32}, "selection", ""),
    "R32-024": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_cli": {"CommandLine|re":
                     r"(?i)^\s*\"?[^\"]*regsvr32(?:\.exe)?\"?\s*$"}},
                    "selection_img and selection_cli",
                    "a regular expression for a command line that is only the program"),
    "R32-025": spec("approximate", "image_load",
                    {"selection": dict(BY_REGSVR32, Signed="false"),
                     "filter_trusted": {"ImageLoaded|contains": [
                         ":\\Windows\\", ":\\Program Files\\", ":\\Program Files (x86)\\"]}},
                    "selection and not filter_trusted",
                    "trusted folders by substring; the detector resolves the path first"),
    "R32-026": spec("exact", "image_load",
                    {"selection": BY_REGSVR32,
                     "filter_signed": {"Signed": "true"},
                     "filter_status": {"SignatureStatus": sorted(rules.TRUSTED_SIGNATURE_STATUS)},
                     "filter_empty": {"SignatureStatus": ""}},
                    "selection and not filter_signed and not filter_status and not filter_empty", ""),
    "R32-027": spec("exact", "image_load",
                    {"selection": dict(BY_REGSVR32, **{"ImageLoaded|endswith": _ends(rules.SCRIPT_RUNTIMES)})},
                    "selection", ""),
    "R32-028": spec("approximate", "image_load",
                    {"selection": dict(BY_REGSVR32, **{"ImageLoaded|endswith": _ends(rules.CLR_MODULES)})},
                    "selection",
                    "the image-load half only; the UsageLogs\\regsvr32.exe.log file write is a "
                    "separate Sigma log source"),
    "R32-031": spec("approximate", "registry_set",
                    {"selection_url": {"TargetObject|contains": "\\ScriptletURL"},
                     "selection_scrobj": {"TargetObject|contains": "\\InprocServer32",
                                          "Details|endswith": ["\\scrobj.dll", "\\scrobj.dll\""]},
                     "selection_remcos": {"TargetObject|contains":
                                          rules.REMCOS_CLSID + "\\InprocServer32"}},
                    "1 of selection_*", "the registry data is matched by its ending, not parsed"),
    "R32-032": spec("exact", "registry_set",
                    {"selection": dict(BY_REGSVR32, **{
                        "TargetObject|contains": "\\ShellIconOverlayIdentifiers\\"})},
                    "selection", ""),
    "R32-058": spec("approximate", "registry_set",
                    {"selection": dict(BY_REGSVR32, **{"TargetObject|contains": [
                        "\\AMSI\\Providers\\", "\\CryptSIPDll", "\\Cryptography\\Providers\\Trust\\"]}),
                     "filter_windows": {"Details|startswith": ["C:\\Windows\\", "%SystemRoot%",
                                                               "%windir%"]},
                     "filter_function": {"TargetObject|endswith": "\\FuncName"}},
                    "selection and not filter_windows and not filter_function",
                    "the AMSI, SIP and trust provider keys only (not time providers, print "
                    "monitors, netsh helpers or AppInit), and the module path matched by its "
                    "start, not resolved"),
    "R32-033": spec("exact", "create_remote_thread",
                    {"selection": {"SourceImage|endswith": "\\regsvr32.exe"}}, "selection", ""),
    "R32-036": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_cli": {"CommandLine|re":
                     "[\u2013\u2014\u2015\u02b0-\u02ff\u1d2c-\u1dbf]"}},
                    "selection_img and selection_cli",
                    "look-alike dashes and modifier letters anywhere in the line"),
    "R32-037": spec("approximate", "process_creation",
                    {"selection_img": IMG, "selection_cli": {"CommandLine|re":
                     r"(?i)(?:^|[\s\"'])[d-z]:\\"}},
                    "selection_img and selection_cli",
                    "an absolute path on drive D: to Z: anywhere in the line; the detector also "
                    "resolves relative modules against the working directory"),
    "R32-038": spec("approximate", "process_creation",
                    {"selection_img": IMG,
                     "selection_campaign_qakbot": {"CommandLine|windash|contains": " -s",
                                                   "CommandLine|endswith": " calc"},
                     "selection_campaign_bluemushroom": {"CommandLine|contains|all": [
                         "\\AppData\\Local\\", ",DllEntry"]},
                     # windash cannot be combined with all (pySigma), and a regex inside "1 of"
                     # breaks the Splunk backend's output: the second switch is a plain list
                     "selection_campaign_evilnum": {"CommandLine|windash|contains": " -i",
                                                    "CommandLine|contains": [" /s", " -s"],
                                                    "CommandLine|contains|all": [
                                                        "\\AppData\\Roaming\\", ".ocx"]}},
                    "selection_img and 1 of selection_campaign_*",
                    "the three campaign patterns as substrings"),
}

NOT_EXPORTED = {
    "R32-004": "needs to know which module receives the /i: argument (parsed command line)",
    "R32-006": "needs the module's resolved folder; the image path at the start of the line "
               "defeats a substring filter (the flaw of Sigma ce2c44b5)",
    "R32-008": "needs the module's own extension and folder; any '.dll' in the line defeats a "
               "substring match",
    "R32-011": "needs the module's own extension (an allowlist of extensions)",
    "R32-029": "folder classes and extension lists of the loaded module, resolved",
    "R32-030": "needs the Windows location of the loading image and a list of its hosts",
    "R32-034": "spans four log sources (tasks, services, registry, process creation); Sigma "
               "rules 3a734d25 and 614cf376 cover the task part",
    "R32-035": "finds syntax tricks by parsing (quotes, carets, 8.3 names, '..'); a field "
               "match is exactly what they evade",
    "R32-039": "needs the module's resolved folder",
    "R32-040": "needs the module's resolved folder and its depth below the profile or ProgramData",
    "R32-041": "needs the module resolved against the working directory (a bare name in a drive root)",
    "R32-043": "needs the module's resolved folder and the table of folders Windows creates in System32",
    "R32-044": "compares the parsed modules of the child with those of the parent's command line",
    "R32-045": "needs the encoded PowerShell command decoded (base64 of UTF-16LE)",
    "R32-046": "pairs each launcher with the word that makes it launch, which one field match cannot",
    "R32-047": "needs the /i: argument parsed and the module's resolved folder",
    "R32-048": "informational context: every module outside Windows, resolved",
    "R32-052": "needs the module resolved against the working directory and its depth below the folder",
    "R32-050": "needs the module's own file name, parsed out of the command line",
    "R32-051": "reads the parent's command line for a download or delay step before regsvr32",
    "R32-049": "needs the module's resolved folder and the table of Microsoft's own profile folders",
    "R32-053": "needs the module argument parsed out of the command line and its file name read",
    "R32-054": "needs the module's resolved folder and each folder and file name judged as made up",
    "R32-055": "needs the switches parsed as regsvr32 reads them (one letter after the dash)",
    "R32-056": "needs the /i: argument parsed and the module's resolved folder",
    "R32-057": "needs the module's resolved path and an atomics\\T<number> folder in it; a "
               "substring match would also match the test's own download URL in other tools",
}


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
# windash, re, cidr; conditions "a and not b and 1 of c_*"), so the tests and the README can say
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

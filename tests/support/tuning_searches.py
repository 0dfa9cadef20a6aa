"""The allowlist views' searches, run as Splunk would run them, without Splunk.

Each data source of regsvr32_allowlist_add.xml and regsvr32_allowlist_health.xml is answered
from the query the dashboard framework resolved (tokens filled in by the browser): the custom
commands run for real over the protocol (tests/support/chunked.py) with the arguments as splunkd
hands them over (quotes removed), in an app folder of the test's (APP_COPY) whose lookups they
read and outputlookup writes; the rest of the SPL (makeresults, where, stats, table, outputlookup
append=true) is modelled by small functions below.

    APP_COPY=DIR python3 tests/support/tuning_searches.py < {"view", "id", "query"}
prints {"fields", "columns"} (the framework's data form) or {"error"}. With --serve it answers
one request a line, one answer a line, until its input ends: the browser test's searches then
cost the commands' runs, not an interpreter's start and imports each.
"""
import csv
import datetime
import json
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from support import chunked  # noqa: E402
from support import dashboard_data  # noqa: E402
from regsvr32_detector.allowlist_columns import COLUMNS  # noqa: E402

APP = os.path.join(HERE, os.pardir, os.pardir, "app")
VIEWS = os.path.join(APP, "default", "data", "ui", "views")
USER = "analyst"                    # who is signed in to the render's Splunk Web
LOCAL = "regsvr32_allowlist_local"


def app_copy(target):
    """A scratch copy of the app (its lookups are the test's), splunklib linked, not copied."""
    shutil.copytree(APP, target, symlinks=True, ignore=shutil.ignore_patterns("lib", "local", "__pycache__"))
    os.symlink(os.path.join(APP, "bin", "lib"), os.path.join(target, "bin", "lib"))
    return target


def definition(view):
    with open(os.path.join(VIEWS, view + ".xml"), encoding="utf-8") as f:
        return json.loads(re.search(r"<definition><!\[CDATA\[(.*?)\]\]></definition>", f.read(), re.S).group(1))


def events(now=None):
    """The overview's events, re-timed to the 23 hours before now (the views search the last days)."""
    now = int(now or time.time()) // 3600 * 3600
    evs = dashboard_data.timed_events()
    shift = now - dashboard_data.NOW
    for e in evs:
        e["_time"] = str(int(e["_time"]) + shift)
    return evs


# -- SPL, as splunkd reads it --------------------------------------------------------------------

_TOKEN = re.compile(r'"(?:\\.|""|[^"\\])*"|[^\s"]+(?:"(?:\\.|""|[^"\\])*")?[^\s"]*')


def command_args(query, command):
    """The arguments of `| COMMAND ...` as splunkd hands them to a custom command: split on
    blanks outside quotes, each argument's quotes removed (searchinfo.args)."""
    m = re.search(r"\|\s*%s\b([^|\n]*)" % command, query)
    if not m:
        raise ValueError("no | %s in %r" % (command, query))
    return [re.sub(r'"((?:\\.|""|[^"\\])*)"', r"\1", t) for t in _TOKEN.findall(m.group(1))]


def run(script, args, rows):
    result = chunked.run(args, [rows], script=os.path.join(os.environ["APP_COPY"], "bin", script),
                         searchinfo={"username": USER, "owner": USER})
    if result.refused or result.returncode:
        raise RuntimeError("%s %s: %s %s" % (script, " ".join(args), result.messages, result.stderr))
    return result.rows


def table_fields(query):
    m = re.findall(r"\|\s*table ([^|\n]+)", query)
    return m[-1].split() if m else None


def table(rows, names):
    return [dict((n, r.get(n)) for n in names) for r in rows]


def outputlookup_append(rows, name):
    """| outputlookup append=true NAME: the rows appended to the lookup's file, under its own
    header; a new file gets the rows' fields as its header. The rows pass through."""
    path = os.path.join(os.environ["APP_COPY"], "lookups", name + ".csv")
    if not rows:
        return rows
    if os.path.exists(path):
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f))
        text = open(path, encoding="utf-8", newline="").read()
        with open(path, "a", encoding="utf-8", newline="") as f:
            if text and not text.endswith("\n"):
                f.write("\n")
            w = csv.writer(f, lineterminator="\n")
            for r in rows:
                w.writerow([r.get(h) or "" for h in header])
    else:
        header = list(rows[0])
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for r in rows:
                w.writerow([r.get(h) or "" for h in header])
    return rows


# -- the add view --------------------------------------------------------------------------------

def _check(query):
    args = command_args(query, "regsvr32allowlist")
    return run("regsvr32allowlist.py", args, [{"_time": str(int(time.time()))}])


def ds_check(query):
    return table(_check(query), table_fields(query))


def ds_write(query):
    key = re.search(r'regsvr32_row_key="([^"]*)"', query).group(1)
    rows = [r for r in _check(query) if r["regsvr32_row_status"] == "ok" and r["regsvr32_row_key"] == key]
    rows = outputlookup_append(table(rows, table_fields(query)), LOCAL)
    return [dict(r, written="written to %s: it applies from the next search" % LOCAL) for r in rows]


def _preview(query):
    rows = run("regsvr32allowlist.py", command_args(query, "regsvr32allowlist"), events())
    out = []
    for r in rows:
        if not dashboard_data.mv(r.get("regsvr32_candidate_clears")):
            continue
        dashboard_data.entities(r)
        out.append(dict(r, time=dashboard_data.strftime(r["_time"])))
    return sorted(out, key=lambda r: -int(r["_time"]))


def ds_preview(query):
    return table(_preview(query), table_fields(query.split("| stats")[0]))


def ds_preview_hosts(query):
    rows = dashboard_data.stats(_preview(query), "dest", findings=("count", None),
                                max_score=("max", "regsvr32_score"), rules=("values", "regsvr32_candidate_clears"))
    return sorted(rows, key=lambda r: -r["findings"])


def ds_preview_summary(query):
    rows = _preview(query)
    findings, hosts = len(rows), len(set(r["dest"] for r in rows if r["dest"]))     # dc() skips nulls
    critical = len([r for r in rows if r["regsvr32_severity"] == "critical"])
    limit = int(re.search(r"hosts > (\d+)", query).group(1))
    if critical > 0:
        warning = "Warning: the row would clear %d critical finding(s); narrow it" % critical
    elif hosts > limit:
        warning = "Warning: the row would clear findings on %d hosts, more than %d; narrow it" % (hosts, limit)
    elif findings == 0:
        warning = "The row clears nothing in this window: check its cells"
    else:
        warning = "No warning: %d finding(s) on %d host(s), none critical" % (findings, hosts)
    return [{"findings": findings, "hosts": hosts, "critical": critical, "warning": warning}]


# -- the health view -----------------------------------------------------------------------------

_WHERE = re.compile(r"\((?P<row>[^()]+:\d+)\)$")


def _rows(query):
    hits = {}
    for r in run("regsvr32detect.py", [], events()):
        for text in dashboard_data.mv(r.get("regsvr32_allowlisted")):
            m = _WHERE.search(text)
            if m:
                count, last = hits.get(m.group("row"), (0, 0))
                hits[m.group("row")] = (count + 1, max(last, int(r["_time"])))
    out = []
    for row in run("regsvr32allowlists.py", [], []):
        count, last = hits.get(row["row"], (0, None))
        row = dict((k, v) for k, v in row.items() if v != "")
        row.update(hits=count, last_hit=dashboard_data.strftime(last) if last else "never")
        row["never_matched"] = "yes" if count == 0 and row["status"] not in ("refused", "absent") else "no"
        out.append(row)
    status = re.search(r'search status="([^"]*)"', query).group(1)
    text = re.search(r'search "((?:\\.|[^"\\])*)"', query).group(1).replace('\\"', '"').replace("\\\\", "\\")
    out = [r for r in out if _glob(status, r["status"]) and (
        text == "*" or any(_glob("*%s*" % text.strip("*"), str(v)) for v in r.values()))]
    # sort 0 order -added_on -hits file line: what needs a look, then the newest rows
    order = {"refused": 0, "expired": 1, "expiring": 2}
    out.sort(key=lambda r: (r["file"], int(r["line"])))
    out.sort(key=lambda r: r["hits"], reverse=True)
    out.sort(key=lambda r: r.get("added_on", ""), reverse=True)
    out.sort(key=lambda r: order.get(r["status"], 3))
    return out


def _glob(pattern, value):
    import fnmatch
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def ds_rows(query):
    return table(_rows(query), table_fields(query))


def ds_counts(query):
    rows = _rows(query.split("| stats count(eval(status")[0])
    return [{"active": sum(r["status"] == "active" for r in rows), "expiring": sum(r["status"] == "expiring" for r in rows),
             "expired": sum(r["status"] == "expired" for r in rows), "refused": sum(r["status"] == "refused" for r in rows),
             "never_matched": sum(r["never_matched"] == "yes" for r in rows)}]


MODELS = {
    "regsvr32_allowlist_add": {"ds_check": ds_check, "ds_preview": ds_preview, "ds_preview_hosts": ds_preview_hosts,
                               "ds_preview_summary": ds_preview_summary, "ds_write": ds_write},
    "regsvr32_allowlist_health": {"ds_rows": ds_rows, "ds_counts": ds_counts},
}


def answer(request):
    try:
        rows = MODELS[request["view"]][request["id"]](request["query"])
        return dashboard_data.columns(rows)
    except Exception as e:      # the panel shows it as the search's error, and the test fails
        return {"error": "%s: %s" % (e.__class__.__name__, e)}


def respond(request, out):
    json.dump(answer(request), out)
    with open(os.path.join(os.environ["APP_COPY"], "searches.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(dict(request, at=datetime.datetime.utcnow().isoformat())) + "\n")


def main(argv):
    if argv != ["--serve"]:
        respond(json.load(sys.stdin), sys.stdout)
        return
    for line in sys.stdin:
        if line.strip():
            respond(json.loads(line), sys.stdout)
            sys.stdout.write("\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])

"""The baseline's SPL, modelled in Python step by step, so the baseline cycle can be tested here.

Splunk runs the baseline: the saved search "regsvr32 - Baseline - Update" keeps the lookup and the
macro `regsvr32_new_vs_baseline` reads it. A test has no Splunk, so this module does what each
pipe of those searches does, in order, on rows as splunkd hands them on (dicts of str; a list
for a multivalue). ``UPDATE`` and ``NEW_VS_BASELINE`` are the SPL modelled, after macro
expansion: ``test_baseline`` checks they are what the app ships, so the SPL and this model
cannot drift apart unnoticed. The pipes before the first one modelled here (the events and the
command) run for real through the protocol in the tests.

What is not modelled is Splunk's own reading and writing of the CSV file (encodings, a file
that is missing or unreadable): ``outputlookup`` and ``lookup`` here are csv.DictWriter/Reader.
"""
import csv
import os
import re

COLUMNS = ("regsvr32_signature", "first_seen", "last_seen", "count")
NEW_FIELDS = ("regsvr32_first_seen", "regsvr32_new")
DAY = 86400
DAYS = 30                                   # `regsvr32_baseline_days`
EPOCH = '^\\d{1,10}(\\.\\d{1,6})?$'         # the regex of `regsvr32_epoch(1)`, as written in SPL
WHOLE = '^\\d{1,12}$'
MAX_SIGNATURE = 400


def epoch(field):
    return '(mvcount(%s)=1 AND match(%s, "%s"))' % (field, field, EPOCH)


UPDATE = [
    'where regsvr32_signature!=""',
    "stats min(_time) as first_seen max(_time) as last_seen count by regsvr32_signature",
    "inputlookup append=t regsvr32_baseline",
    'where mvcount(regsvr32_signature)=1 AND regsvr32_signature!="" AND len(regsvr32_signature)<=%d'
    ' AND %s AND %s AND mvcount(count)=1 AND match(count, "%s")'
    % (MAX_SIGNATURE, epoch("first_seen"), epoch("last_seen"), WHOLE),
    "stats min(first_seen) as first_seen max(last_seen) as last_seen sum(count) as count by regsvr32_signature",
    "addinfo",
    "eval baseline_now=if(isnum(info_max_time) AND info_max_time < info_search_time, info_max_time, "
    "info_search_time)",
    "where last_seen >= baseline_now - %d * 86400" % DAYS,
    "fields regsvr32_signature first_seen last_seen count",
    "outputlookup regsvr32_baseline",
]

NEW_VS_BASELINE = [
    "lookup regsvr32_baseline regsvr32_signature OUTPUT first_seen AS regsvr32_first_seen "
    "last_seen AS baseline_last_seen",
    "eval regsvr32_first_seen=if(%s AND %s, regsvr32_first_seen, null())"
    % (epoch("regsvr32_first_seen"), epoch("baseline_last_seen")),
    'eval regsvr32_new=case(isnull(regsvr32_signature) OR regsvr32_signature="", null(), '
    'isnull(regsvr32_first_seen), "true", regsvr32_first_seen >= _time OR baseline_last_seen < '
    '_time - %d * 86400, "true", true(), "false")' % DAYS,
    "fields - baseline_last_seen",
]


def _single(value):
    """mvcount(x)=1: one value (a list is a multivalue; a missing field has none)."""
    return isinstance(value, str)


def _match(value, pattern):
    # PCRE and Python agree on these patterns (^, $, \d, a class of digits).
    return _single(value) and re.search(pattern, value) is not None


def _number(value):
    return float(value)


def _text(value):
    """How stats writes a number: 1700000000, or 1700000000.5, never 1700000000.0."""
    return "%d" % value if value == int(value) else repr(value)


def read_lookup(path):
    """inputlookup / lookup: the file's rows, in order; a cell holding lines is a multivalue."""
    try:
        f = open(path, encoding="utf-8", newline="")
    except FileNotFoundError:
        return []
    with f:
        csv.field_size_limit(max(csv.field_size_limit(), os.path.getsize(path)))  # any cell size
        return [dict((k, v.split("\n") if "\n" in v else v) for k, v in row.items())
                for row in csv.DictReader(f)]


def write_lookup(path, rows):
    """outputlookup: the rows, columns as the fields command left them."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(dict((k, "\n".join(v) if isinstance(v, list) else v) for k, v in row.items()))


def update(annotated, lookup_path, info_max_time, info_search_time):
    """The update search from its first pipe after `| regsvr32detect`, over ANNOTATED (the
    command's output rows); stores the result as outputlookup does and returns it."""
    # where regsvr32_signature!=""
    rows = [r for r in annotated if _single(r.get("regsvr32_signature")) and r["regsvr32_signature"]]
    # stats min(_time) as first_seen max(_time) as last_seen count by regsvr32_signature
    seen = {}
    for r in rows:
        when = _number(r["_time"])
        first, last, count = seen.get(r["regsvr32_signature"], (when, when, 0))
        seen[r["regsvr32_signature"]] = (min(first, when), max(last, when), count + 1)
    rows = [{"regsvr32_signature": s, "first_seen": _text(f), "last_seen": _text(l), "count": str(c)}
            for s, (f, l, c) in sorted(seen.items())]
    # inputlookup append=t regsvr32_baseline
    rows += read_lookup(lookup_path)
    # where <one signature, epoch times, a whole count>
    rows = [r for r in rows
            if _single(r.get("regsvr32_signature")) and r["regsvr32_signature"]
            and len(r["regsvr32_signature"]) <= MAX_SIGNATURE
            and _match(r.get("first_seen"), EPOCH) and _match(r.get("last_seen"), EPOCH)
            and _match(r.get("count"), WHOLE)]
    # stats min(first_seen) max(last_seen) sum(count) by regsvr32_signature
    merged = {}
    for r in rows:
        first, last, count = _number(r["first_seen"]), _number(r["last_seen"]), int(r["count"])
        if r["regsvr32_signature"] in merged:
            f, l, c = merged[r["regsvr32_signature"]]
            first, last, count = min(f, first), max(l, last), c + count
        merged[r["regsvr32_signature"]] = (first, last, count)
    # addinfo; eval baseline_now=...: the end of the time range, unless that is after the run
    # ("+Infinity" for all time is not a number)
    now = info_search_time
    if isinstance(info_max_time, (int, float)) and info_max_time < info_search_time:
        now = info_max_time
    # where last_seen >= baseline_now - days; fields; outputlookup
    rows = [{"regsvr32_signature": s, "first_seen": _text(f), "last_seen": _text(l), "count": str(c)}
            for s, (f, l, c) in sorted(merged.items()) if l >= now - DAYS * DAY]
    write_lookup(lookup_path, rows)
    return rows


def new_vs_baseline(rows, lookup_path):
    """`regsvr32_new_vs_baseline` over ROWS (dicts with _time and regsvr32_signature)."""
    known = {}
    for entry in read_lookup(lookup_path):          # max_matches = 1: the first row that matches
        if _single(entry.get("regsvr32_signature")):
            known.setdefault(entry["regsvr32_signature"], entry)
    out = []
    for row in rows:
        row = dict(row)
        entry = known.get(row.get("regsvr32_signature")) if _single(row.get("regsvr32_signature")) else None
        first = entry.get("first_seen") if entry else None
        last = entry.get("last_seen") if entry else None
        # eval regsvr32_first_seen=if(<both epoch>, regsvr32_first_seen, null())
        if not (_match(first, EPOCH) and _match(last, EPOCH)):
            first = None
        if first is not None:
            row["regsvr32_first_seen"] = first
        # eval regsvr32_new=case(...)
        signature = row.get("regsvr32_signature")
        if not signature:
            new = None
        elif first is None:
            new = "true"
        else:
            when = _number(row["_time"])
            new = "true" if _number(first) >= when or _number(last) < when - DAYS * DAY else "false"
        if new is not None:
            row["regsvr32_new"] = new
        out.append(row)
    return out

"""The admin's tuning loop: a candidate allowlist row checked by the loader's own rules, what it
would clear, and the state of every row of every list.

``check``: a candidate row (a dict of column -> cell) read by the loader exactly as it would read
it as the next row of the admin's list, after the lists already there (so a duplicate of any row
is refused as the loader would skip it). ``with_candidate``: the lists plus that row, last, so that
a finding an existing row already clears is not counted as the candidate's. ``list_rows``: every
row of every list with its status (active, expiring, expired, refused with the loader's message),
for the health view. Standard library only, Python 3.7.
"""
import csv
import datetime
import io
import os

from .allowlist import Allowlist, Problem, parse_rows, read_text, load_allowlists
from . import fields
from .allowlist_columns import BY_NAME, COLUMNS, MATCHERS, Either
from .rules import RULES_BY_ID

CANDIDATE = "candidate"         # the candidate row's "file": its findings say "(candidate:2)"
CANDIDATE_WHERE = "%s:2" % CANDIDATE
SOON_DAYS = 14                  # a row expiring within this many days is "expiring"
STATUSES = ("active", "expiring", "expired", "refused", "absent")
# The fields | regsvr32allowlist adds: mode=check, mode=preview, mode=cells
ROW_FIELDS = ("regsvr32_row_status", "regsvr32_row_message", "regsvr32_row_list",
              "regsvr32_row_key")
CANDIDATE_FIELDS = ("regsvr32_candidate_clears", "regsvr32_candidate_score",
                    "regsvr32_candidate_error")
# The cells the form prefills from a finding: what identifies it, each editable to a wildcard.
PREFILL = ("image", "parent_image", "module", "url_host", "user", "host")
CELL_FIELDS = tuple("regsvr32_cell_" + c for c in ("rule_id",) + PREFILL)
FIELDS = ROW_FIELDS + CANDIDATE_FIELDS + CELL_FIELDS


def candidate_text(cells):
    """The candidate as a list file of its own: the header, then the row (line 2)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow([(cells.get(c) or "") for c in COLUMNS])
    return out.getvalue()


def _key(entry):
    # the loader's duplicate key (allowlist.parse_rows)
    return (entry.rule.text,) + tuple((c, g.text) for c, g in entry.matchers)


def check(paths, cells, known_rules=None):
    """(Allowlist of the lists, the candidate Entry or None, the loader's message or "").

    The candidate is refused exactly when the loader would skip it as the next row after these
    lists; the message is the loader's own (without the file and line)."""
    known_rules = _known(known_rules)
    allowlist, _ = load_allowlists(paths, known_rules)
    seen = dict((_key(e), e) for e in allowlist.entries)
    problems = []
    unknown = sorted(k for k in cells if k not in COLUMNS and cells.get(k))
    if unknown:
        return allowlist, None, "not allowlist columns: %s; the columns are %s" % (
            ", ".join(unknown), ",".join(COLUMNS))
    entries = list(parse_rows(CANDIDATE, candidate_text(cells), problems, seen, known_rules))
    if not entries:
        message = "; ".join(p.message for p in problems) or "the row was not read"
        return allowlist, None, message
    return allowlist, entries[0], ""


def _known(known_rules):
    # as the command loads its lists: a row naming no rule is refused
    return frozenset(RULES_BY_ID) if known_rules is None else known_rules


def with_candidate(allowlist, entry):
    """The lists with the candidate row after every other row."""
    return Allowlist(tuple(allowlist.entries) + (entry,))


def newly_cleared(allowlisted):
    """The rule ids of a verdict's regsvr32_allowlisted entries that the candidate cleared."""
    tail = "(%s)" % CANDIDATE_WHERE
    return [text.split(" ", 1)[0] for text in allowlisted if text.endswith(tail)]


def _raw_rows(text):
    """{line: {column: cell}} of a list file, numbered as the loader numbers lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower().lstrip("\ufeff") for h in next(reader)]
    except (StopIteration, csv.Error):
        return {}
    out, last = {}, reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return out
        except csv.Error:
            last = reader.line_num
            continue
        line, last = last + 1, reader.line_num
        if any(c.strip() for c in row):
            out[line] = dict((h, c.strip()) for h, c in zip(header, row) if h in COLUMNS)


def list_rows(paths, today=None, known_rules=None, soon_days=SOON_DAYS, absent=()):
    """Every row of every list: dicts with file, line, status, message, days_left and the
    columns. A problem of a whole file (line 0 or the header) is a row of its own, refused; a
    list named in ``absent`` (not created yet) is one row, absent."""
    today = today or datetime.datetime.now(datetime.timezone.utc).date()
    known_rules = _known(known_rules)
    out = []
    seen = {}
    for name in absent:
        out.append(dict(file=name, line=0, status="absent",
                        message="not created yet: the allowlist form creates it with its first "
                                "row"))
    for path in paths:
        problems = []
        text = read_text(path, problems)
        entries = list(parse_rows(path, text, problems, seen, known_rules)) if text is not None else []
        raw = _raw_rows(text or "")
        name = os.path.basename(path)
        by_line = {}
        for p in problems:
            by_line.setdefault(p.line, []).append(p.message)
        for line, messages in sorted(by_line.items()):
            if line in raw and line > 1:
                continue
            out.append(dict(file=name, line=line, status="refused", message="; ".join(messages)))
        rows = {}
        for line, cells in sorted(raw.items()):
            row = rows[line] = dict(cells, file=name, line=line)
            if line in by_line:
                row.update(status="refused", message="; ".join(by_line[line]))
            out.append(row)
        for e in entries:
            row = rows[e.line]
            row["message"] = ""
            if e.expires is None:
                row["status"] = "active"
            else:
                left = (e.expires - today).days
                row["days_left"] = left
                row["status"] = ("expired" if left < 0 else
                                 "expiring" if left <= soon_days else "active")
                if left < 0:
                    row["message"] = "expired on %s: it clears nothing after that day" % e.expires
                elif left <= soon_days:
                    row["message"] = "expires on %s, in %d day%s" % (
                        e.expires, left, "" if left == 1 else "s")
        for row in out:
            row.setdefault("status", "refused")
            row.setdefault("message", "")
    return out


def cells_of(detector, record, rules=None):
    """{column: cell} prefilled from a finding: rule_id (the first rule the lists did not clear:
    RULES, a verdict's regsvr32_rules when the row has been through | regsvr32detect, else the
    detector's) and the event's own values for PREFILL (as logged, not folded; the first module
    or host of several). Empty when the row has no finding left."""
    if rules is None:
        rules = detector.evaluate(record).rules
    if not rules:
        return {}
    out = {"rule_id": rules[0]}
    try:
        ev = fields.normalize(record)
        if ev is None:
            return out
        if ev.multi:
            ev = next(iter(fields.variants(ev)))[1]
        detector.findings(ev)           # parses the command line: ev.invocation
    except Exception:                   # the verdict said what it could; the rest stays empty
        return out
    for name in PREFILL:
        column = BY_NAME[name]
        if column.values is not None:
            try:
                values = [v for v in column.values(ev) if v]
            except AttributeError:      # not a regsvr32 command line
                values = []
            value = values[0] if values else ""
            out[name] = value[0] if isinstance(value, Either) else value
        else:
            out[name] = next((getattr(ev, n) for n in column.sources if getattr(ev, n, None)), "")
    return out


def where(row):
    """The name a row goes by in regsvr32_allowlisted: file:line."""
    return "%s:%d" % (row["file"], row["line"])


__all__ = ["CANDIDATE", "CANDIDATE_WHERE", "MATCHERS", "Problem", "STATUSES", "check",
           "candidate_text", "list_rows", "newly_cleared", "where", "with_candidate"]

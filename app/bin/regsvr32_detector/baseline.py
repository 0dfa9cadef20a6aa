"""The baseline of regsvr32 signatures: when each was first and last seen, and how often.

CAR-2019-04-002's "new items since last month": an event is *new* when its signature was not
seen in the RETENTION days before it. The lookup keeps, per signature, the first and last
sighting and a count; the scheduled update folds each day's sightings in and drops what was not
seen for RETENTION days, so something that comes back after that counts as new again.
Times are epoch seconds, as Splunk's ``_time`` and ``stats min(_time)`` give them.
"""
import csv

COLUMNS = ("regsvr32_signature", "first_seen", "last_seen", "count")
DEFAULT_DAYS = 30
DAY = 86400.0


def _number(text):
    return float(text) if text not in (None, "") else None


def _seconds(value):
    """Epoch seconds as Splunk writes them ("1700000000", "1700000000.000"), without a trailing .0."""
    return "%d" % value if value == int(value) else repr(value)


class Baseline(object):
    """signature -> [first_seen, last_seen, count]."""

    def __init__(self, entries=None, days=DEFAULT_DAYS):
        self.entries = dict(entries or {})
        self.window = days * DAY

    @classmethod
    def load(cls, path, days=DEFAULT_DAYS):
        """(Baseline, problems): unreadable rows are skipped and reported as "file:line: why"."""
        baseline = cls(days=days)
        problems = []
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                return baseline, ["%s:1: missing column(s) %s" % (_name(path), ", ".join(missing))]
            for row in reader:
                try:
                    first, last = float(row["first_seen"]), float(row["last_seen"])
                    count = int(float(row["count"] or 0))
                except (TypeError, ValueError):
                    problems.append("%s:%d: first_seen, last_seen and count must be numbers"
                                    % (_name(path), reader.line_num))
                    continue
                if row["regsvr32_signature"]:
                    baseline.add(row["regsvr32_signature"], first, last, count)
        return baseline, problems

    def add(self, signature, first, last, count):
        entry = self.entries.get(signature)
        if entry is None:
            self.entries[signature] = [first, last, count]
        else:
            entry[0], entry[1], entry[2] = min(entry[0], first), max(entry[1], last), entry[2] + count

    def judge(self, signature, when):
        """(first_seen or "", "true"/"false"/"") for an event with SIGNATURE at epoch WHEN.

        Known means seen in the window before the event: the lookup holds only the first and last
        sighting, so a signature first seen before the window and last seen after the event
        counts as known (it is seen all along in practice)."""
        if not signature:
            return "", ""
        entry = self.entries.get(signature)
        if entry is None:
            return "", "true"
        first, last, _ = entry
        new = first >= when or last < when - self.window
        return _seconds(first), "true" if new else "false"

    def rows(self, now):
        """The lookup after an update at NOW: entries seen in the window, by signature."""
        for signature in sorted(self.entries):
            first, last, count = self.entries[signature]
            if last >= now - self.window:
                yield {"regsvr32_signature": signature, "first_seen": _seconds(first),
                       "last_seen": _seconds(last), "count": str(count)}


def observation(row, now):
    """(signature, first, last, count) of one input row of the update: the output of
    ``stats min(_time) as first_seen max(_time) as last_seen count by regsvr32_signature``,
    or a plain event (its _time, count 1)."""
    when = _number(row.get("_time"))
    first = _number(row.get("first_seen"))
    last = _number(row.get("last_seen"))
    first = first if first is not None else (when if when is not None else now)
    last = last if last is not None else (when if when is not None else first)
    count = int(float(row.get("count") or 1))
    return row.get("regsvr32_signature") or "", first, last, count


def _name(path):
    return path.replace("\\", "/").rsplit("/", 1)[-1]

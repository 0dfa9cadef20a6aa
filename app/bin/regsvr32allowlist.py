#!/usr/bin/env python
"""``| regsvr32allowlist candidate="<cells>"``: a candidate allowlist row, before it is written.

mode=preview (default): each row is scored as ``| regsvr32detect`` scores it, and again with the
candidate row added after every row of the lists; regsvr32_candidate_clears names the findings
the candidate would newly clear (a finding an existing row already clears is not the
candidate's). mode=check: the row itself, as it would be appended to regsvr32_allowlist_local,
with regsvr32_row_status ok or refused and the loader's own message: the write search keeps only
an ok row (``| where regsvr32_row_status="ok" | outputlookup append=true ...``).

The candidate is one option of URL-encoded cells, ``rule_id=R32-007&module=C%3A%5CTools%5C*``
(Dashboard Studio's ``$token|u$``): Splunk hands a command its arguments without their quotes,
and splunklib reads a backslash in them as an escape, so a path or a reason with spaces cannot
travel as an option of its own. who added the row and when are the search's: its user and UTC day.
"""
import csv
import datetime
import hashlib
import os
import re
import sys

sys.dont_write_bytecode = True

BIN_DIR = os.path.dirname(os.path.abspath(__file__))
LOOKUPS_DIR = os.path.join(os.path.dirname(BIN_DIR), "lookups")
sys.path.insert(0, os.path.join(BIN_DIR, "lib"))


from splunklib.searchcommands import (  # noqa: E402
    Configuration, Option, StreamingCommand, dispatch, validators)

from regsvr32_detector import OUTPUT_FIELDS, Detector  # noqa: E402
from regsvr32_detector import tuning  # noqa: E402
from regsvr32_detector.allowlist_columns import COLUMNS  # noqa: E402

DEFAULT_LIST = "regsvr32_allowlist_default"
LOCAL_LIST = "regsvr32_allowlist_local"     # the only list the form writes
_RELATIVE = re.compile(r"^\+(\d{1,4})d$")       # expires=+90d: that many days from today


_PERCENT = re.compile(br"%([0-9A-Fa-f]{2})")


def _unquote(text):
    """URL-decoding (encodeURIComponent's %XX, a + as a space), UTF-8; no urllib in the app."""
    raw = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]),
                       text.replace("+", " ").encode("utf-8"))
    return raw.decode("utf-8", "replace")


def parse_candidate(text):
    """'rule_id=R32-007&module=...' -> {column: cell}; a column named twice keeps its last."""
    cells = {}
    for part in (text or "").split("&"):
        if part:
            name, _, value = part.partition("=")
            cells[_unquote(name).strip().lower()] = _unquote(value).strip()
    return cells


def lookup_path(name):
    return os.path.join(LOOKUPS_DIR, name + ".csv")


def local_header(path):
    """The columns of the admin's list as it is, or None when it does not exist yet."""
    try:
        with open(path, "r", encoding="utf-8-sig", newline="") as f:
            first = f.readline()
    except (IOError, OSError):
        return None
    return [h.strip().lower() for h in next(csv.reader([first]), [])]


@Configuration()
class Regsvr32AllowlistCommand(StreamingCommand):
    """Previews or checks a candidate allowlist row.

    ##Syntax

    regsvr32allowlist candidate=<url-encoded cells> [mode=preview|check]
    """

    candidate = Option(
        doc="The row's cells, URL-encoded: rule_id=R32-007&module=C%3A%5CTools%5C*&reason=...",
        default="")
    mode = Option(doc="preview (default): what the row would clear; check: the row as it would "
                      "be written, with the loader's verdict; cells: a finding's cells, to "
                      "prefill the form", default="preview",
                  validate=validators.Set("preview", "check", "cells"))

    def prepare(self):
        if self.mode == "cells":
            paths = [p for p in (lookup_path(DEFAULT_LIST), lookup_path(LOCAL_LIST))
                     if os.path.exists(p)]
            self.before = Detector(tuning.check(paths, {})[0])
            return
        if not self.candidate:
            self.write_error("regsvr32allowlist: candidate=<cells> is required in mode=%s, e.g. "
                             "candidate=\"rule_id=R32-007&module=C%%3A%%5CTools%%5C*&reason=...\""
                             % self.mode)
            sys.exit(1)
        cells = parse_candidate(self.candidate)
        self.today = datetime.datetime.now(datetime.timezone.utc).date()
        user = getattr(self.metadata.searchinfo, "username", None) or ""
        # who and when are the search's, never the URL's
        cells["added_by"], cells["added_on"] = user, self.today.isoformat()
        relative = _RELATIVE.match(cells.get("expires", ""))
        if relative:
            days = datetime.timedelta(days=int(relative.group(1)))
            cells["expires"] = (self.today + days).isoformat()
        # What the admin confirms: the write search writes the row only if its key is this one,
        # so a row changed after it was selected is not written until it is selected again.
        self.key = hashlib.sha1(tuning.candidate_text(
            dict(cells, added_on="")).encode("utf-8")).hexdigest()[:16]
        paths = [p for p in (lookup_path(DEFAULT_LIST), lookup_path(LOCAL_LIST))
                 if os.path.exists(p)]
        header = local_header(lookup_path(LOCAL_LIST))
        if header is not None and "added_by" not in header:
            # an older list without the columns: the attribution goes into source, not lost
            note = "added by %s on %s" % (user or "?", cells["added_on"])
            cells["source"] = "%s; %s" % (cells["source"], note) if cells.get("source") else note
        self.cells = cells
        self.allowlist, self.entry, self.message = tuning.check(paths, cells)
        # the row is written under the list's own header (all the columns for a new list)
        self.columns = [c for c in header if c in COLUMNS] if header else list(COLUMNS)
        if self.mode == "preview":
            self.before = Detector(self.allowlist)
            self.after = Detector(tuning.with_candidate(self.allowlist, self.entry)) \
                if self.entry is not None else None
            if self.entry is None:
                self.write_warning("regsvr32allowlist: the candidate row is refused: {}",
                                   self.message)

    def stream(self, records):
        if self.mode == "cells":
            for record in records:
                if "regsvr32_rules" in record:      # after | regsvr32detect: its verdict, as is
                    rules = record["regsvr32_rules"]
                    rules = [r for r in (rules if isinstance(rules, list) else [rules]) if r]
                else:
                    verdict = self.before.evaluate(record)
                    for name, value in zip(OUTPUT_FIELDS, verdict.row(True)):
                        record[name] = value
                    rules = verdict.rules
                cells = tuning.cells_of(self.before, record, rules) if rules else {}
                for name in ("rule_id",) + tuning.PREFILL:
                    record["regsvr32_cell_" + name] = cells.get(name, "")
                yield record
            return
        if self.mode == "check":
            for record in records:
                for c in self.columns:
                    record[c] = self.cells.get(c, "")
                record["regsvr32_row_status"] = "ok" if self.entry is not None else "refused"
                record["regsvr32_row_message"] = self.message or (
                    "the loader reads this row as %s after the rows already in the lists"
                    % LOCAL_LIST)
                record["regsvr32_row_list"] = LOCAL_LIST
                record["regsvr32_row_key"] = self.key
                yield record
            return
        for record in records:
            verdict = self.before.evaluate(record)
            for name, value in zip(OUTPUT_FIELDS, verdict.row(True)):
                record[name] = value
            if self.after is None:
                record["regsvr32_candidate_clears"] = []
                record["regsvr32_candidate_score"] = verdict.score
                record["regsvr32_candidate_error"] = self.message
            else:
                after = self.after.evaluate(record)
                record["regsvr32_candidate_clears"] = tuning.newly_cleared(after.allowlisted)
                record["regsvr32_candidate_score"] = after.score
                record["regsvr32_candidate_error"] = ""
            yield record


dispatch(Regsvr32AllowlistCommand, sys.argv, sys.stdin, sys.stdout, __name__)

#!/usr/bin/env python
"""``| regsvr32detect``: scores each event for malicious use of regsvr32.exe (ATT&CK T1218.010).

A splunklib StreamingCommand over the pure ``regsvr32_detector`` package: its options, loading
the allowlists once per search, and the verdict of each row. The protocol (splunklib's internals,
the lean record path, messages) is regsvr32_protocol's. Everything is resolved from this file's
location, never from $SPLUNK_HOME or the app's folder name, so it also works inside the
knowledge bundle on a search peer and from a checkout.
"""
import collections
import os
import re
import sys
import time

# splunkd runs this file without -B: without this, a search would leave .pyc files in the app's
# bin/ (a file write the app promises not to make, and stale bytecode after an upgrade).
sys.dont_write_bytecode = True

BIN_DIR = os.path.dirname(os.path.abspath(__file__))
APP_DIR = os.path.dirname(BIN_DIR)
LOOKUPS_DIR = os.path.join(APP_DIR, "lookups")
sys.path.insert(0, os.path.join(BIN_DIR, "lib"))  # vendored splunklib (package.sh)

from splunklib.searchcommands import (  # noqa: E402
    Configuration, Option, StreamingCommand, dispatch, validators)

from regsvr32_codec import Cells  # noqa: E402
from regsvr32_detector import OUTPUT_FIELDS, Detector, load_allowlists  # noqa: E402
from regsvr32_detector.bounded import Bounded, text_bytes  # noqa: E402
from regsvr32_detector.bytemarks import spans  # noqa: E402
from regsvr32_detector.detector import NOTHING, verdict_bytes  # noqa: E402
from regsvr32_protocol import ChunkedCommand, Explained  # noqa: E402

DEFAULT_LIST = "regsvr32_allowlist_default"
LOCAL_LIST = "regsvr32_allowlist_local"
# The admin's list does not exist until the admin creates it: that is normal, not worth a warning.
OPTIONAL_LISTS = frozenset([LOCAL_LIST])
LOG_CONF = "regsvr32detect.logging.conf"
CELL_BYTES = 50          # a str's header (sys.getsizeof("")), for each cell and each value
CELLS_BYTES = 4 << 20   # each verdict's output cells, encoded once and remembered (bounded.py)
# Lookup files Splunk holds that are not plain CSV: never read as an allowlist.
NOT_CSV = (".gz", ".zip", ".kmz", ".kml", ".tsv", ".txt", ".json")
LARGE_LIST = 50000      # rows: a list this long is said to cost every search start

_LOOKUP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class LookupNames(validators.Validator):
    """Comma-separated lookup names; a name is a file in this app's lookups folder, never a path."""

    def __call__(self, value):
        if value is None:
            return None
        names = [n.strip() for n in str(value).split(",")]
        for name in names:
            if not _LOOKUP_NAME.match(name) or ".." in name:
                raise ValueError(name)
        return names

    def format(self, value):
        return None if value is None else ",".join(value)


@Configuration()
class Regsvr32DetectCommand(ChunkedCommand, StreamingCommand):
    """Adds regsvr32_score, _severity, _rules, _reasons, _mitre, _allowlisted, _error and _signature
    to every row.

    ##Syntax

    regsvr32detect [mode=annotate|filter] [min_score=<0-100>] [allowlists=<name>,...]
        [include_allowlisted=<bool>]
    """

    mode = Option(
        doc="annotate (default): every row passes with its verdict; filter: only rows with "
            "regsvr32_score >= min_score (and rows that could not be evaluated) pass.",
        default="annotate",
        validate=Explained(validators.Set("annotate", "filter"), "mode must be annotate or filter"))

    min_score = Option(
        doc="Lowest score that passes in filter mode, 0 to 100. Default 20 (low): anything "
            "suspicious that an allowlist did not clear; informational context (1-19) stays out.",
        default=20,
        validate=Explained(validators.Integer(0, 100), "min_score must be an integer from 0 to 100"))

    allowlists = Option(
        doc="Comma-separated names of CSV lookups in this app's lookups folder. Default: "
            "%s,%s." % (DEFAULT_LIST, LOCAL_LIST),
        default=DEFAULT_LIST + "," + LOCAL_LIST,
        validate=Explained(
            LookupNames(),
            "allowlists must be comma-separated lookup names from this app's lookups folder "
            "(letters, digits, _ . -; no paths), e.g. %s,%s" % (DEFAULT_LIST, LOCAL_LIST)))

    include_allowlisted = Option(
        doc="true (default): regsvr32_allowlisted lists the findings an allowlist cleared; "
            "false: leave it empty.",
        default=True,
        validate=Explained(validators.Boolean(),
                           "include_allowlisted must be true or false (also t/f, yes/no, 1/0)"))

    outputs = OUTPUT_FIELDS

    def prepare(self):
        self.configure_logging(LOG_CONF)
        paths = self._allowlist_paths()
        started = time.time()
        allowlist, problems = load_allowlists(paths)
        self.warn_each("allowlist", problems)
        self._say_what_was_read(paths, allowlist, time.time() - started)
        self.detector = Detector(allowlist)
        self._threshold = self.min_score if self.mode == "filter" else None
        # Most rows get the all-clear verdict: its cells, encoded once; rows that cannot concern
        # regsvr32 (bytemarks.spans, the cheap test on bytes) get them without being read
        self.quiet = self._cells(NOTHING)
        self.marks = spans
        self._cells_of = Bounded(CELLS_BYTES)   # verdict -> its Cells, or None (see judge)
        self.logger.info("search %s: mode=%s min_score=%s allowlists=%s, %d allowlist problem(s)",
                         getattr(self.metadata.searchinfo, "sid", "?"), self.mode, self.min_score,
                         ",".join(self.allowlists), len(problems))

    def _allowlist_paths(self):
        """The files to read, in order. A list the search author named that is unsafe stops the
        search; the default lists are only skipped, with a warning, so that one bad local file
        does not stop every search that relies on the defaults (the correlation searches)."""
        named = self.options["allowlists"].is_set
        paths, self._absent = [], []
        for name in self.allowlists:
            if name.lower().endswith(NOT_CSV):
                self.warning("%s allowlist %s: not read, only uncompressed CSV lookups can be "
                             "allowlists; its rows do not apply" % (self.name, name))
                continue
            filename = name if name.lower().endswith(".csv") else name + ".csv"
            path = self._lookup_path(name, filename, named)
            if path is None or path in paths:
                continue
            if not os.path.exists(path):
                private = self._private_copies(filename)
                if private:
                    self.warning(
                        "%s allowlist %s is not in this app's lookups folder but in the private "
                        "lookups of %s, and is not read: only %s is read. To use it, share it with "
                        "this app: Settings > Lookups > Lookup table files, Permissions, 'This app "
                        "only' or 'All apps' (it then moves into the app's lookups folder)"
                        % (self.name, filename, ", ".join("user %r (%s)" % u for u in private),
                           LOOKUPS_DIR))
                if filename[:-len(".csv")] in OPTIONAL_LISTS:
                    if filename not in self._absent:
                        self._absent.append(filename)
                    continue
            paths.append(path)
        return paths

    def _lookup_path(self, name, filename, named):
        # Resolve symlinks too: a name must end up inside this app's lookups folder.
        root = os.path.realpath(LOOKUPS_DIR)
        path = os.path.realpath(os.path.join(root, filename))
        if os.path.dirname(path) == root:
            return path
        if named:
            self.refuse("regsvr32detect: allowlist %r resolves outside this app's lookups folder; "
                        "allowlists must name CSV lookups in %s" % (name, LOOKUPS_DIR))
        self.warning("%s allowlist %s: not read, it is a link that resolves outside this app's "
                     "lookups folder; its rows do not apply: put the file itself in %s"
                     % (self.name, filename, LOOKUPS_DIR))
        return None

    def _private_copies(self, filename):
        """[(user, path)] of copies of the file in users' private lookups of this app: where
        Settings > Lookups puts an upload until it is shared. On a search head that is
        etc/users/<user>/<app>/lookups beside etc/apps; a knowledge bundle has the same layout."""
        users = os.path.join(os.path.dirname(os.path.dirname(APP_DIR)), "users")
        try:
            names = sorted(os.listdir(users))
        except OSError:
            return []
        app = os.path.basename(APP_DIR)
        found = [(user, os.path.join(users, user, app, "lookups", filename)) for user in names]
        return [(user, path) for user, path in found if os.path.isfile(path)]

    def _say_what_was_read(self, paths, allowlist, seconds):
        """An info message: which lists were read, from where, how many rows each gave; and a
        warning for a list large enough to cost every search start noticeably."""
        rows = collections.Counter(e.path for e in allowlist.entries)
        if not paths:
            read = "none"
        else:
            read = ", ".join("%s (%d rows)" % (os.path.basename(p), rows[p]) for p in paths)
        # splunklib formats messages: ours are arguments, never the template
        absent = "; not present: %s" % ", ".join(self._absent) if self._absent else ""
        self.write_info("{}", "%s allowlists read from %s: %s, in %.1f s%s" % (
            self.name, LOOKUPS_DIR, read, seconds, absent))
        for path in paths:
            if rows[path] >= LARGE_LIST:
                self.warning(
                    "%s allowlist %s is large: %d rows, read in full at the start of every search "
                    "on every indexer (all lists took %.1f s here); a row with a wildcard rule_id "
                    "or the same cells for several hosts can often replace many"
                    % (self.name, os.path.basename(path), rows[path], seconds))

    def judge(self, record):
        """The output Cells of one row (OUTPUT_FIELDS), or None when filter mode drops it.
        The detector hands back the verdict it remembered for a repeated event, so the cells of a
        verdict it keeps are remembered too (by the verdict itself, within CELLS_BYTES): the one
        cache of encoded verdicts, which both record paths use."""
        verdict = self.detector.evaluate(record)
        if verdict is NOTHING:
            return self.quiet
        cells_of = self._cells_of
        if verdict in cells_of:
            return cells_of[verdict]
        cells = self._cells(verdict)
        if not verdict.kept:        # the detector will not hand it back: nothing to remember
            return cells
        size = verdict_bytes(verdict)
        if cells is not None and cells.cells:
            # the cells and the values they were made of: one size call, not one per cell
            size += 2 * (text_bytes("".join(cells.cells)) + CELL_BYTES * len(cells.cells))
        cells_of.put(verdict, cells, size)
        return cells

    def _cells(self, verdict):
        # In filter mode a row the detector could not evaluate still passes: never lose it silently.
        if self._threshold is not None and not verdict.error and verdict.score < self._threshold:
            return None
        return Cells(verdict.row(self.include_allowlisted))


dispatch(Regsvr32DetectCommand, sys.argv, sys.stdin, sys.stdout, __name__)

#!/usr/bin/env python
"""``| regsvr32detect``: scores each event for malicious use of regsvr32.exe (ATT&CK T1218.010).

A thin splunklib StreamingCommand over the pure ``regsvr32_detector`` package: it parses the
options, loads the allowlists once per search and writes the detector's verdict onto every row.
Everything is resolved from this file's location, never from $SPLUNK_HOME or the app's folder
name, so it also works inside the knowledge bundle on a search peer and from a checkout.
"""
import csv
import os
import re
import sys
import time

BIN_DIR = os.path.dirname(os.path.abspath(__file__))
APP_DIR = os.path.dirname(BIN_DIR)
LOOKUPS_DIR = os.path.join(APP_DIR, "lookups")
sys.path.insert(0, os.path.join(BIN_DIR, "lib"))  # vendored splunklib (package.sh)

from splunklib.searchcommands import (  # noqa: E402
    Configuration, Option, StreamingCommand, dispatch, environment, validators)

from regsvr32_detector import OUTPUT_FIELDS, Detector, load_allowlists  # noqa: E402
from regsvr32_detector import baseline as baselines  # noqa: E402
from regsvr32_detector.detector import NOTHING  # noqa: E402
from regsvr32_leanio import LeanStreaming  # noqa: E402

DEFAULT_LIST = "regsvr32_allowlist_default"
LOCAL_LIST = "regsvr32_allowlist_local"
# The admin's list does not exist until the admin creates it: that is normal, not worth a warning.
OPTIONAL_LISTS = frozenset([LOCAL_LIST])
LOG_CONF = "regsvr32detect.logging.conf"
# Added to every row when baseline=<lookup> is set (see regsvr32_detector/baseline.py).
BASELINE_FIELDS = ("regsvr32_first_seen", "regsvr32_new")

_LOOKUP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _csv_rejects_nul():
    try:
        list(csv.reader(["\0"]))
        return False
    except csv.Error:
        return True


# The csv reader of Python before 3.11 (Splunk 9.x runs 3.9) rejects NUL ("line contains NUL"),
# which would end the whole search; its writer accepts NUL. Such chunks are read with NUL swapped
# for a character the chunk lacks, and each record gets its NULs back, so rows pass unchanged.
CSV_REJECTS_NUL = _csv_rejects_nul()


def _stand_in(text):
    return next(c for c in map(chr, range(0xE000, 0x110000)) if c not in text)


def _restore_nul(record, stand_in):
    def put_back(value):
        if isinstance(value, list):
            return [put_back(v) for v in value]
        return value.replace(stand_in, "\0") if isinstance(value, str) else value
    return type(record)((put_back(k), put_back(v)) for k, v in record.items())


class Explained(validators.Validator):
    """Wraps a splunklib validator so that a bad value is refused with a message saying what is allowed.

    splunklib itself only reports "Illegal value: name=value"; the command writes this message too.
    """

    def __init__(self, inner, allowed):
        self.inner = inner
        self.allowed = allowed

    def __call__(self, value):
        try:
            return self.inner(value)
        except ValueError:
            raise ValueError("%s; got %r" % (self.allowed, value))

    def format(self, value):
        return self.inner.format(value)


class LookupNames(validators.Validator):
    """Comma-separated lookup names; a name is a file in this app's lookups folder, never a path."""

    def __init__(self, single=False):
        self.single = single

    def __call__(self, value):
        if value is None:
            return None
        names = [n.strip() for n in str(value).split(",")]
        if self.single and len(names) != 1:
            raise ValueError(value)
        for name in names:
            if not _LOOKUP_NAME.match(name) or ".." in name:
                raise ValueError(name)
        return names

    def format(self, value):
        return None if value is None else ",".join(value)


class Refused(validators.Validator):
    """An option splunklib offers that a search must not set."""

    def __init__(self, why):
        self.why = why

    def __call__(self, value):
        if value is None:
            return None
        raise ValueError(self.why)

    def format(self, value):
        return value


@Configuration()
class Regsvr32DetectCommand(LeanStreaming, StreamingCommand):
    """Adds regsvr32_score, _severity, _rules, _reasons, _mitre, _allowlisted, _error and _signature
    to every row, and regsvr32_first_seen and regsvr32_new with baseline=<lookup>.

    mode=baseline instead folds rows of signatures (with first_seen, last_seen, count, or _time)
    into the baseline lookup and returns the updated lookup, for outputlookup.

    ##Syntax

    regsvr32detect [mode=annotate|filter|baseline] [min_score=<0-100>] [allowlists=<name>,...]
        [include_allowlisted=<bool>] [baseline=<name>] [baseline_days=<1-3650>]
    """

    mode = Option(
        doc="annotate (default): every row passes with its verdict; filter: only rows with "
            "regsvr32_score >= min_score (and rows that could not be evaluated) pass.",
        default="annotate",
        validate=Explained(validators.Set("annotate", "filter", "baseline"),
                           "mode must be annotate, filter or baseline"))

    min_score = Option(
        doc="Lowest score that passes in filter mode, 0 to 100. Default 1: anything suspicious "
            "that an allowlist did not clear.",
        default=1,
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

    baseline = Option(
        doc="Name of the baseline lookup (CSV in this app's lookups folder, e.g. regsvr32_baseline): "
            "adds regsvr32_first_seen and regsvr32_new to every row. With mode=baseline, the lookup "
            "to update.",
        validate=Explained(
            LookupNames(single=True),
            "baseline must be one lookup name from this app's lookups folder (letters, digits, "
            "_ . -; no paths), e.g. regsvr32_baseline"))

    baseline_days = Option(
        doc="Days a signature stays known after it was last seen, 1 to 3650. Default %d."
            % baselines.DEFAULT_DAYS,
        default=baselines.DEFAULT_DAYS,
        validate=Explained(validators.Integer(1, 3650), "baseline_days must be an integer from 1 to 3650"))

    # splunklib's own options that a search must not set. logging_configuration: fileConfig
    # evaluates parts of the named file as Python. record: writes a gzip of the dispatch folder
    # and the whole conversation under $SPLUNK_HOME/var/run, never removed, on every indexer.
    # show_configuration and logging_level: nothing an analyst needs, and both reach splunklib
    # code paths that format the value as a template. Logging is the admin's, in local/LOG_CONF.
    logging_configuration = Option(
        doc="Not settable from SPL: use local/%s." % LOG_CONF,
        validate=Refused("logging_configuration cannot be set from a search; an admin sets logging "
                         "in the app's local/%s" % LOG_CONF))
    record = Option(
        doc="Not settable from SPL.",
        validate=Refused("record cannot be set from a search: it would write the search's data "
                         "outside the app"))
    show_configuration = Option(
        doc="Not settable from SPL.",
        validate=Refused("show_configuration cannot be set from a search"))
    logging_level = Option(
        doc="Not settable from SPL: use local/%s." % LOG_CONF,
        validate=Refused("logging_level cannot be set from a search; an admin sets it in the "
                         "app's local/%s" % LOG_CONF))

    OWN_OPTIONS = ("mode", "min_score", "allowlists", "include_allowlisted", "baseline", "baseline_days")
    REFUSED_OPTIONS = ("logging_configuration", "record", "show_configuration", "logging_level")

    def _protocol_v2_option_parser(self, arg):
        # splunklib drops the validator's message ("Illegal value: mode=bogus") and formats the
        # value as a template ({0} crashes it): say what is allowed, once, and stop here.
        result = super(Regsvr32DetectCommand, self)._protocol_v2_option_parser(arg)
        if len(result) != 2:
            self._refuse("regsvr32detect takes no field names, only the options %s; got %r"
                         % (", ".join(self.OWN_OPTIONS), arg))
        name, value = result
        if name in self.OWN_OPTIONS or name in self.REFUSED_OPTIONS:
            try:
                self.options[name].validator(value)
            except ValueError as error:
                self._refuse("regsvr32detect: %s" % error)
        else:
            self._refuse("regsvr32detect: unknown option %r; the options are %s"
                         % (name, ", ".join(self.OWN_OPTIONS)))
        return result

    def _refuse(self, text):
        # splunklib answers getinfo with the messages written so far and exits non-zero.
        self._error(text)
        sys.exit(1)

    # splunklib passes every message through str.format: pass ours as an argument, never as the template.
    def _error(self, text):
        self.write_error("{}", text)

    def _warning(self, text):
        self.write_warning("{}", text)

    def prepare(self):
        self._configure_logging()
        self._baseline = self._load_baseline() if self.baseline else None
        if self.mode == "baseline":
            if self._baseline is None:
                self._error("regsvr32detect: mode=baseline needs baseline=<lookup>, the lookup it updates")
                sys.exit(1)
            # The update must see every signature once: run on the search head, not per indexer.
            self.configuration.distributed = False
            self.lean = False  # rows of the lookup, not of the input: splunklib's path
            return
        paths = []
        for name in self.allowlists:
            path = self._lookup_path(name)
            optional = os.path.basename(path)[:-len(".csv")] in OPTIONAL_LISTS
            if path not in paths and not (optional and not os.path.exists(path)):
                paths.append(path)
        allowlist, problems = load_allowlists(paths)
        for problem in problems:
            self._warning("regsvr32detect allowlist %s" % problem)
            self.logger.warning("allowlist: %s", problem)
        self.detector = Detector(allowlist)
        self._filtering = self.mode == "filter"
        self._judge = self._baseline.judge if self._baseline is not None else None
        self.lean_outputs = OUTPUT_FIELDS + (BASELINE_FIELDS if self._judge is not None else ())
        # Most rows get the all-clear verdict: work out its output once per search.
        self.quiet_values = self._values(NOTHING, {})
        self.logger.info("search %s: mode=%s min_score=%s allowlists=%s, %d allowlist problem(s)",
                         getattr(self.metadata.searchinfo, "sid", "?"), self.mode, self.min_score,
                         ",".join(self.allowlists), len(problems))

    def _lookup_path(self, name, what="allowlist"):
        # Resolve symlinks too: a name must end up inside this app's lookups folder.
        filename = name if name.lower().endswith(".csv") else name + ".csv"
        root = os.path.realpath(LOOKUPS_DIR)
        path = os.path.realpath(os.path.join(root, filename))
        if os.path.dirname(path) != root:
            self._error("regsvr32detect: %s %r resolves outside this app's lookups folder; "
                        "%ss must name CSV lookups in %s" % (what, name, what, LOOKUPS_DIR))
            sys.exit(1)
        return path

    def _load_baseline(self):
        # Loaded once per search. Before the first update the file does not exist: all is new.
        path = self._lookup_path(self.baseline[0], "baseline")
        if not os.path.exists(path):
            if self.mode == "baseline":
                return baselines.Baseline(days=self.baseline_days)    # the first update makes it
            self._warning("regsvr32detect: baseline %s has no file yet, so every signature counts as "
                          "new; the baseline update search creates it" % self.baseline[0])
            return baselines.Baseline(days=self.baseline_days)
        baseline, problems = baselines.Baseline.load(path, self.baseline_days)
        for problem in problems[:3]:
            self._warning("regsvr32detect baseline %s" % problem)
        if len(problems) > 3:
            self._warning("regsvr32detect baseline: %d more bad rows skipped" % (len(problems) - 3))
        return baseline

    def _configure_logging(self):
        # In Splunk, log to $SPLUNK_HOME/var/log/splunk/regsvr32detect.log (local/ overrides default/).
        # Outside Splunk (tests, the demo) that folder does not exist: keep splunklib's stderr logging.
        # fileConfig configures the logger named after this class, which is self.logger.
        log_dir = os.path.join(environment.splunk_home, "var", "log", "splunk")
        if os.path.isdir(log_dir):
            environment.configure_logging(type(self).__name__, LOG_CONF)

    # splunklib's record path. The lean one (regsvr32_leanio) reads NUL itself where csv can
    # (3.11+); where csv rejects NUL, it hands the chunk here.
    def _execute_chunk_v2(self, process, chunk):
        metadata, body = chunk
        self._nul = None
        if CSV_REJECTS_NUL and "\0" in body:
            self._nul = _stand_in(body)
            body = body.replace("\0", self._nul)
        return super(Regsvr32DetectCommand, self)._execute_chunk_v2(process, (metadata, body))

    def row_values(self, record):
        """The output values of one row, in lean_outputs order, or None when filter mode drops it.

        Both record paths use it: splunklib's (stream) and the lean one (regsvr32_leanio)."""
        verdict = self.detector.evaluate(record)
        return self.quiet_values if verdict is NOTHING else self._values(verdict, record)

    def _values(self, verdict, record):
        fields = verdict.fields()
        if not self.include_allowlisted:
            fields["regsvr32_allowlisted"] = []
        # In filter mode a row the detector could not evaluate still passes: never lose it silently.
        if self._filtering and not fields["regsvr32_error"] and int(fields["regsvr32_score"]) < self.min_score:
            return None
        values = [fields[name] for name in OUTPUT_FIELDS]
        if self._judge is not None:  # NOTHING has no signature: the same ("", "") at any time
            values.extend(self._judge(fields["regsvr32_signature"], _event_time(record, time.time())))
        return values

    def stream(self, records):
        nul = getattr(self, "_nul", None)
        if nul:
            records = (_restore_nul(record, nul) for record in records)
        if self.mode == "baseline":
            for row in self._update_baseline(records):
                yield row
            return
        row_values, add_field, names = self.row_values, self.add_field, self.lean_outputs
        for record in records:
            values = row_values(record)
            if values is None:
                continue
            for name, value in zip(names, values):
                add_field(record, name, value)
            yield record

    def _update_baseline(self, records):
        """mode=baseline: fold the sightings into the baseline; on the last chunk, write it all out
        (what outputlookup then stores), without the signatures not seen for baseline_days.
        "Now" is the end of the search's time range, so a backfill over past days prunes as the
        daily update would have on those days."""
        latest = float(getattr(self.metadata.searchinfo, "latest_time", 0) or 0)
        now = latest if latest > 0 else time.time()
        for row in records:
            signature, first, last, count = baselines.observation(row, now)
            if signature:
                self._baseline.add(signature, first, last, count)
        if self._finished:
            for row in self._baseline.rows(now):
                yield row


def _event_time(record, default):
    try:
        return float(record.get("_time") or default)
    except (TypeError, ValueError):
        return default


dispatch(Regsvr32DetectCommand, sys.argv, sys.stdin, sys.stdout, __name__)

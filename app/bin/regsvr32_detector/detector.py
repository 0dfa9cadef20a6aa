"""Evaluate one event: findings from the rules, allowlist suppression, score and verdict."""
import collections
import datetime
import math
import operator
import re

from . import cmdline, fields, signature, winpath
from . import score as score_model
from .allowlist import Allowlist
from .allowlist_columns import BY_NAME, Facts, facts  # noqa: F401 (facts: part of this module's API)
from .bounded import Bounded, text_bytes
from .registry import severity_for
from .rules import RULES_FOR

class Output(collections.namedtuple("Output", "name meaning multivalue derive")):
    """One output field: its name, what it holds (for the docs), whether it is multivalue, and
    for a field worked out from the others, derive(verdict) -> its value (str, or a list of
    str). The Verdict attribute that holds a stored field is the name without "regsvr32_"."""

    __slots__ = ()

    def __new__(cls, name, meaning, multivalue=False, derive=None):
        if not name.startswith("regsvr32_"):
            raise ValueError("output field %r: the command's fields start with regsvr32_" % name)
        return super(Output, cls).__new__(cls, name, meaning, multivalue, derive)

    @property
    def attr(self):
        return self.name[len("regsvr32_"):]


# The output fields, in the order the command adds them: the one declaration the command, the
# Verdict, the verdict snapshot and the docs (tools/build.py) read.
OUTPUTS = (
    Output("regsvr32_score", "0-100; 0 when nothing suspicious remains after the allowlists"),
    Output("regsvr32_severity", "`none`, `informational`, `low`, `medium`, `high`, `critical`"),
    Output("regsvr32_rules", "the ids of the rules that found something", True),
    Output("regsvr32_reasons", "each finding with its evidence, and how the score was raised "
                               "or lowered", True),
    Output("regsvr32_mitre", "the ATT&CK ids of the findings", True),
    Output("regsvr32_allowlisted", "the findings an allowlist cleared, with the row's reason and "
                                   "`file:line`", True),
    Output("regsvr32_error", "empty, or why the row could not be evaluated"),
    Output("regsvr32_signature", "what the regsvr32 event did, with users, versions and temp "
                                 "names folded: what the baseline compares; empty for rows that "
                                 "are not regsvr32 activity"),
)
OUTPUT_FIELDS = tuple(o.name for o in OUTPUTS)
_STORED = tuple(o for o in OUTPUTS if o.derive is None)       # the Verdict's attributes
_VALUES = operator.attrgetter(*(o.attr for o in _STORED))
_MULTI = tuple(i for i, o in enumerate(_STORED) if o.multivalue)
_SINGLE = tuple(i for i, o in enumerate(_STORED) if not o.multivalue)
_DERIVED = tuple((i, o.derive) for i, o in enumerate(OUTPUTS) if o.derive is not None)
_ALLOWLISTED = OUTPUT_FIELDS.index("regsvr32_allowlisted")


class Verdict(object):
    """What the detector says of one event: an attribute per output field (OUTPUTS)."""

    # kept: the detector's memo holds this verdict and may hand it back for a later event, so
    # what a caller makes of it (the command: its output cells) is worth keeping too
    __slots__ = tuple(o.attr for o in _STORED) + ("kept",)

    def __init__(self, score=0, rules=(), reasons=(), mitre=(), allowlisted=(), error="",
                 signature=""):
        self.kept = False
        self.score = score
        self.severity = severity_for(score)
        self.rules, self.reasons, self.mitre = tuple(rules), tuple(reasons), tuple(mitre)
        self.allowlisted, self.error = tuple(allowlisted), error
        self.signature = signature      # regsvr32 activity, folded for the baseline; see signature.py

    def row(self, include_allowlisted=True):
        """The output values in OUTPUT_FIELDS order: str, or lists of str for multivalue."""
        out = list(_VALUES(self))
        for i in _MULTI:
            out[i] = list(out[i])
        for i in _SINGLE:
            out[i] = str(out[i])
        for i, derive in _DERIVED:
            out.insert(i, derive(self))
        if not include_allowlisted:
            out[_ALLOWLISTED] = []
        return out

    def fields(self):
        """The output fields, the same names on every row: str, or lists for multivalue."""
        return dict(zip(OUTPUT_FIELDS, self.row()))

    def values(self):
        """{attribute: value} of every stored output field, as the Verdict holds it (the
        snapshot; derived fields follow from these)."""
        return dict((o.attr, list(getattr(self, o.attr)) if o.multivalue else getattr(self, o.attr))
                    for o in _STORED)

    def __repr__(self):
        return "Verdict(%d %s %s)" % (self.score, self.severity, ",".join(self.rules))


NOTHING = Verdict()
# (event kind, regsvr32 is the actor, regsvr32 is the parent) -> the rules that read the event;
# the rules that read the parsed command line run once per distinct command line (see _memo).
EVENT_RULES = dict((key, tuple(r for r in rules if not r.scope.invocation))
                   for key, rules in RULES_FOR.items())
COMMAND_LINE_RULES = tuple(r for r in RULES_FOR[fields.PROCESS, True, False] if r.scope.invocation)


class Memo(object):
    """Answers worked out once and looked up after: the detector's only memory of past events.
    An answer is kept from its key's second sighting on (``Bounded.admits``); a verdict it keeps
    says so (``Verdict.kept``).

    Within BYTES, as estimated by each kind of answer's cost function below (see bounded.py):
    a few thousand answers of ordinary lines (2-15 KB each). An answer over LARGEST (a line of
    many long arguments, a value of 32 KB) is not kept: such lines rarely recur, and a count of
    4,096 entries of them would hold 270 MB.
    """

    BYTES = 16 << 20
    LARGEST = 32 << 10

    def __init__(self):
        self._answers = Bounded(self.BYTES, self.LARGEST)

    def get(self, key, cost, make, *args, recurs=False):
        """The answer for KEY, made by MAKE(*ARGS) if not remembered; COST(key, answer) is its
        estimated size in bytes. RECURS: the caller knows the key recurs (keep it at once)."""
        answer = self._answers.get(key)
        if answer is None:
            answer = make(*args)
            answers = self._answers
            if (recurs or answers.admits(key)) and answers.put(key, answer, cost(key, answer)) \
                    and answer.__class__ is Verdict:
                answer.kept = True
        return answer

    @property
    def bytes(self):
        """The estimated bytes of what is remembered."""
        return self._answers.used

    def __len__(self):
        return len(self._answers)

    def __contains__(self, key):
        return key in self._answers


# What each kind of answer holds, in bytes, besides the strings counted by text_bytes: fixed
# costs and factors measured with tracemalloc, rounded up (tests/test_bounded.py checks them).
PLAN_BYTES, PLAN_FIELD_BYTES = 2500, 120        # (with the EDR field plans it makes later)
PARSE_BYTES, PARSE_LINE_COPIES, PARSE_ARG_BYTES = 1500, 3.5, 650
VERDICT_BYTES, FACT_BYTES = 600, 120
PATH_BYTES, PATH_COPIES = 700, 2.5


def _plan_cost(key, plan):
    return PLAN_BYTES + sum([text_bytes(k) + PLAN_FIELD_BYTES for k in key[1]])


def _parse_cost(key, answer):
    inv, found = answer
    return int(PARSE_BYTES + PARSE_LINE_COPIES * text_bytes(key[1]) + text_bytes(key[3])
               + PARSE_ARG_BYTES * min(len(inv.args), cmdline.MAX_ARGS + 1)
               + sum([text_bytes(reason) for _, reason in found]))


def verdict_bytes(verdict):
    """Estimated bytes of a verdict (or of its row, which holds the same strings)."""
    return (VERDICT_BYTES + sum([text_bytes(t) for t in verdict.reasons + verdict.allowlisted])
            + text_bytes(verdict.signature) + text_bytes(verdict.error))


def _verdict_cost(key, verdict):
    return (verdict_bytes(verdict) + sum([text_bytes(v) + FACT_BYTES for _, v in key[4]])
            + sum([text_bytes(p) + FACT_BYTES for _, p in key[3]]))


def _path_cost(key, target):
    return int(PATH_BYTES + PATH_COPIES * text_bytes(key[1]))


EPOCH = datetime.date(1970, 1, 1)
DAYS = range((datetime.date.min - EPOCH).days, (datetime.date.max - EPOCH).days + 1)
# _time as text with a zone: 2014-06-11T08:19:59.000-0700 (a time without one says no day)
_ISO_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::\d\d(?:\.\d+)?)?"
                       r" ?(?:(Z)|([+-])(\d\d):?(\d\d))\Z", re.I)


def event_day(value):
    """The UTC day of an event's ``_time`` (epoch seconds, or ISO text with a zone) as days
    since 1970-01-01, or None when it has no usable time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        m = _ISO_TIME.match(value.strip())
        if m is None:
            return None
        y, mo, d, h, mi, z, sign, oh, om = m.groups()
        try:
            day = (datetime.date(int(y), int(mo), int(d)) - EPOCH).days
        except ValueError:
            return None
        offset = 0 if z else (int(oh) * 60 + int(om)) * (1 if sign == "+" else -1)
        day += (int(h) * 60 + int(mi) - offset) // 1440
    else:
        if not math.isfinite(seconds):
            return None
        day = int(seconds // 86400)
    return day if day in DAYS else None


def _clip(text, n):
    return text if len(text) <= n else text[:n - 3] + "..."


MAX_REASON = 500          # characters of evidence a reason shows; attackers write the evidence


def _rule_id(finding):
    return finding[0].id


def _line_key(ev):
    """The memo key of a command line's parse and findings: all they depend on."""
    return ("cmd", ev.command_line, ev.image_name, ev.cwd)


# cmdline.features of a line -> the command-line rules whose gate admits it (few distinct keys);
# under None, the rules it was worked out from
_GATED = {None: COMMAND_LINE_RULES}


def gated_rules(features):
    """The command-line rules that can fire on a line with these features (Rule.gate), in order."""
    if _GATED[None] is not COMMAND_LINE_RULES:      # the rules were replaced (tests spy on them)
        _GATED.clear()
        _GATED[None] = COMMAND_LINE_RULES
    rules = _GATED.get(features)
    if rules is None:
        if len(_GATED) > 1024:        # (about 900 bytes each)
            _GATED.clear()
            _GATED[None] = COMMAND_LINE_RULES
        rules = _GATED[features] = tuple(r for r in COMMAND_LINE_RULES
                                         if not r.gate or not features.isdisjoint(r.gate))
    return rules


def _read_command_line(line, image_name, cwd):
    inv = cmdline.parse(line, image_name, cwd)
    found = []
    for rule in gated_rules(cmdline.features(inv)):
        reason = rule.check(inv)
        if reason:
            found.append((rule, _clip(reason, MAX_REASON)))
    return inv, tuple(found)


# the rules of a verdict -> their ATT&CK ids, sorted (the sets of findings seen are few)
_MITRE = {}


class Detector(object):
    """Rules plus allowlists. ``evaluate`` never raises."""

    def __init__(self, allowlist=None, today=None):
        self.allowlist = allowlist if allowlist is not None else Allowlist()
        # Expiry is judged against the event's UTC day (re-running an old window gives the
        # verdicts it gave then), else this UTC day: never the local date of the machine.
        self.today = today or datetime.datetime.now(datetime.timezone.utc).date()
        self._expiring = any(e.expires is not None for e in self.allowlist.entries)
        self.memo = Memo()
        # values a verdict does not depend on: those no rule reads (fields.IDENTITY) that no
        # allowlist column in use reads either (each column declares what it reads)
        self._unread = fields.IDENTITY.difference(
            name for column in self.allowlist.columns for name in BY_NAME[column].sources)

    def evaluate(self, record):
        try:
            keys = tuple(record)        # rows of a chunk share their field names: one Plan
            ev = fields.normalize(record, self.memo.get(("keys", keys), _plan_cost, fields.Plan,
                                                        keys))
            if ev is None:
                return NOTHING
            # the day a row's expiry is judged against: part of what a verdict depends on
            day = event_day(record.get("_time")) if self._expiring else None
            if ev.multi:
                return self._strongest(ev, day)
            # The verdict of an event is a function of what it did: remembered for the same
            # program, command line, parent... on another host, by another process id. A
            # regsvr32 command line not yet remembered cannot have a remembered verdict, and
            # most are seen once: keyed only once the line has recurred, and then kept at once.
            recurs = ev.kind == fields.PROCESS and ev.is_regsvr32
            if recurs and _line_key(ev) not in self.memo:
                return self._judge(ev, day)
            # (facts in the order normalize read them: the same for every row of a chunk)
            unread = self._unread
            facts = tuple([(k, v) for k, v in ev.values.items() if k not in unread])
            return self.memo.get(("verdict", ev.kind, ev.edr, ev.device_paths, facts, day),
                                 _verdict_cost, self._judge, ev, day, recurs=recurs)
        except fields.Unreadable as e:  # it mentions regsvr32, but nothing here reads it: say so
            return Verdict(error=str(e))
        except Exception as e:  # a bad row must never cost the search: say why, go on
            return Verdict(error="could not evaluate this event (%s: %s)" % (
                e.__class__.__name__, str(e)[:200]))

    def findings(self, ev):
        """The rules' findings as (rule, reason) pairs, in registry order (each rule only on
        events of its scope)."""
        out = list(self._command_line(ev)) if ev.kind == fields.PROCESS and ev.is_regsvr32 else []
        ordered = True          # each tuple of rules is in id order: only a mix needs sorting
        for rule in EVENT_RULES[ev.kind, ev.is_regsvr32, ev.parent_is_regsvr32]:
            reason = rule.check(ev)
            if reason:
                ordered = ordered and (not out or out[-1][0].id < rule.id)
                out.append((rule, _clip(reason, MAX_REASON)))
        if not ordered:
            out.sort(key=_rule_id)
        return out

    def _command_line(self, ev):
        """Parse the command line and run the command-line rules, once per distinct line: the
        answer depends on the line, the program's name and the working directory only."""
        inv, found = self.memo.get(_line_key(ev), _parse_cost, _read_command_line,
                                   ev.command_line, ev.image_name, ev.cwd)
        ev.invocation = inv
        return found

    def _facts(self, ev):
        """Facts several rules read, worked out once per event (paths once per distinct path)."""
        if ev.image_loaded:
            ev.loaded = self.memo.get(("path", ev.image_loaded), _path_cost, winpath.classify,
                                      ev.image_loaded)

    def _strongest(self, ev, day=None):
        """A row with multivalue fields: every value judged (fields.variants), the strongest
        verdict (highest score, then most findings; the first of equals) kept, with a reason
        that says which values it is for."""
        best = said = None
        for what, variant in fields.variants(ev):
            verdict = self._judge(variant, day)
            if best is None or (verdict.score, len(verdict.rules)) > (best.score, len(best.rules)):
                best, said = verdict, what
        if not (best.rules or best.allowlisted):
            return best
        return Verdict(best.score, best.rules, best.reasons + ("multivalue: this verdict is for %s"
                                                               % _clip(said, MAX_REASON),),
                       best.mitre, best.allowlisted, best.error, best.signature)

    def _judge(self, ev, day=None):
        self._facts(ev)
        found = self.findings(ev)
        sig = signature.of(ev)
        if not found:
            return Verdict(signature=sig) if sig else NOTHING
        allowlisted = []
        if len(self.allowlist):
            today = self.today if day is None else EPOCH + datetime.timedelta(days=day)
            allowed = self.allowlist.suppress([rule.id for rule, _ in found], Facts(ev), today)
            if allowed:
                allowlisted = ["%s allowlisted: %s (%s)" % (rule.id, allowed[rule.id].reason,
                                                            allowed[rule.id].where)
                               for rule, _ in found if rule.id in allowed]
                found = [x for x in found if x[0].id not in allowed]
        score, notes = score_model.explain(ev, found)
        if found and ev.device_paths:       # EDR device paths: say what was assumed
            notes.append("read: %s" % "; ".join(
                "%s %s as drive C:" % (name, _clip(path, 120)) for name, path in ev.device_paths[:3]))
        rules = tuple([rule for rule, _ in found])
        mitre = _MITRE.get(rules)
        if mitre is None:
            if len(_MITRE) >= 4096:
                _MITRE.clear()
            mitre = _MITRE[rules] = tuple(sorted(set(t for rule in rules for t in rule.techniques)))
        return Verdict(score, [rule.id for rule in rules],
                       ["%s: %s" % (rule.id, reason) for rule, reason in found] + notes, mitre,
                       allowlisted, signature=sig)


__all__ = ["Detector", "Verdict", "OUTPUT_FIELDS", "OUTPUTS", "NOTHING"]

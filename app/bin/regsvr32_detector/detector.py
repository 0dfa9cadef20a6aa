"""Evaluate one event: findings from the rules, allowlist suppression, score and verdict."""
import datetime

from . import cmdline, fields, signature, winpath
from . import score as score_model
from .allowlist import Allowlist
from .allowlist_columns import Facts, facts  # noqa: F401 (facts: part of this module's API)
from .registry import severity_for
from .rules import RULES_FOR

OUTPUT_FIELDS = ("regsvr32_score", "regsvr32_severity", "regsvr32_rules", "regsvr32_reasons",
                 "regsvr32_mitre", "regsvr32_allowlisted", "regsvr32_error", "regsvr32_signature")


class Verdict(object):
    """What the detector says of one event."""

    __slots__ = ("score", "severity", "rules", "reasons", "mitre", "allowlisted", "error",
                 "signature")

    def __init__(self, score=0, rules=(), reasons=(), mitre=(), allowlisted=(), error="",
                 signature=""):
        self.score = score
        self.severity = severity_for(score)
        self.rules, self.reasons, self.mitre = tuple(rules), tuple(reasons), tuple(mitre)
        self.allowlisted, self.error = tuple(allowlisted), error
        self.signature = signature      # regsvr32 activity, folded for the baseline; see signature.py

    def row(self, include_allowlisted=True):
        """The output values in OUTPUT_FIELDS order: str, or lists of str for multivalue."""
        return [str(self.score), self.severity, list(self.rules), list(self.reasons),
                list(self.mitre), list(self.allowlisted) if include_allowlisted else [],
                self.error, self.signature]

    def fields(self):
        """The output fields, the same names on every row: str, or lists for multivalue."""
        return dict(zip(OUTPUT_FIELDS, self.row()))

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

    At most ENTRIES answers (all forgotten when full: cheap, and the working set of a stream is
    small), and none for keys longer than KEY_CHARS, so distinct huge values never pin memory.
    An answer (a parse and its findings, a verdict) costs a few KB: 8,192 of them made the peak
    memory of a long all-regsvr32 search a quarter higher than one chunk's; 4,096 keep it within
    a fifth and the repeating stream (b) as fast.
    """

    ENTRIES = 4096
    KEY_CHARS = 4096

    def __init__(self):
        self._answers = {}

    def get(self, key, size, make, *args):
        answer = self._answers.get(key)
        if answer is None:
            answer = make(*args)
            if size <= self.KEY_CHARS:
                if len(self._answers) >= self.ENTRIES:
                    self._answers.clear()
                self._answers[key] = answer
        return answer

    def __len__(self):
        return len(self._answers)

    def __contains__(self, key):
        return key in self._answers


def _clip(text, n):
    return text if len(text) <= n else text[:n - 3] + "..."


MAX_REASON = 500          # characters of evidence a reason shows; attackers write the evidence


def _rule_id(finding):
    return finding[0].id


def _line_key(ev):
    """The memo key of a command line's parse and findings: all they depend on."""
    return ("cmd", ev.command_line, ev.image_name, ev.cwd)


def _read_command_line(line, image_name, cwd):
    inv = cmdline.parse(line, image_name, cwd)
    found = []
    for rule in COMMAND_LINE_RULES:
        reason = rule.check(inv)
        if reason:
            found.append((rule, _clip(reason, MAX_REASON)))
    return inv, tuple(found)


class Detector(object):
    """Rules plus allowlists. ``evaluate`` never raises."""

    def __init__(self, allowlist=None, today=None):
        self.allowlist = allowlist if allowlist is not None else Allowlist()
        self.today = today or datetime.date.today()
        self.memo = Memo()
        # values a verdict does not depend on (see fields.IDENTITY)
        self._unread = fields.IDENTITY.union(
            name for name in fields.USER_AND_HOST if name not in self.allowlist.columns)

    def evaluate(self, record):
        try:
            keys = tuple(record)        # rows of a chunk share their field names: one Plan
            ev = fields.normalize(record, self.memo.get(("keys", keys), len(keys), fields.Plan,
                                                        keys))
            if ev is None:
                return NOTHING
            if ev.multi:
                return self._strongest(ev)
            # The verdict of an event is a function of what it did: remembered for the same
            # program, command line, parent... on another host, by another process id. A
            # regsvr32 command line seen for the first time cannot have a remembered verdict,
            # and most are seen once: keyed from the second sighting on.
            if ev.kind == fields.PROCESS and ev.is_regsvr32 and _line_key(ev) not in self.memo:
                return self._judge(ev)
            # (facts in the order normalize read them: the same for every row of a chunk)
            unread = self._unread
            facts = tuple([(k, v) for k, v in ev.values.items() if k not in unread])
            return self.memo.get(("verdict", ev.kind, ev.edr, ev.device_paths, facts),
                                 sum([len(v) for _, v in facts]), self._judge, ev)
        except fields.Unreadable as e:  # it mentions regsvr32, but nothing here reads it: say so
            return Verdict(error=str(e))
        except Exception as e:  # a bad row must never cost the search: say why, go on
            return Verdict(error="could not evaluate this event (%s: %s)" % (
                e.__class__.__name__, str(e)[:200]))

    def findings(self, ev):
        """The rules' findings as (rule, reason) pairs, in registry order (each rule only on
        events of its scope)."""
        out = list(self._command_line(ev)) if ev.kind == fields.PROCESS and ev.is_regsvr32 else []
        for rule in EVENT_RULES[ev.kind, ev.is_regsvr32, ev.parent_is_regsvr32]:
            reason = rule.check(ev)
            if reason:
                out.append((rule, _clip(reason, MAX_REASON)))
        out.sort(key=_rule_id)
        return out

    def _command_line(self, ev):
        """Parse the command line and run the command-line rules, once per distinct line: the
        answer depends on the line, the program's name and the working directory only."""
        inv, found = self.memo.get(_line_key(ev), len(ev.command_line) + len(ev.cwd),
                                   _read_command_line, ev.command_line, ev.image_name, ev.cwd)
        ev.invocation = inv
        return found

    def _facts(self, ev):
        """Facts several rules read, worked out once per event (paths once per distinct path)."""
        if ev.image_loaded:
            ev.loaded = self.memo.get(("path", ev.image_loaded), len(ev.image_loaded),
                                      winpath.classify, ev.image_loaded)

    def _strongest(self, ev):
        """A row with multivalue fields: every value judged (fields.variants), the strongest
        verdict (highest score, then most findings; the first of equals) kept, with a reason
        that says which values it is for."""
        best = said = None
        for what, variant in fields.variants(ev):
            verdict = self._judge(variant)
            if best is None or (verdict.score, len(verdict.rules)) > (best.score, len(best.rules)):
                best, said = verdict, what
        if not (best.rules or best.allowlisted):
            return best
        return Verdict(best.score, best.rules, best.reasons + ("multivalue: this verdict is for %s"
                                                               % _clip(said, MAX_REASON),),
                       best.mitre, best.allowlisted, best.error, best.signature)

    def _judge(self, ev):
        self._facts(ev)
        found = self.findings(ev)
        sig = signature.of(ev)
        if not found:
            return Verdict(signature=sig) if sig else NOTHING
        allowlisted = []
        if len(self.allowlist):
            allowed = self.allowlist.suppress([rule.id for rule, _ in found], Facts(ev), self.today)
            if allowed:
                allowlisted = ["%s allowlisted: %s (%s)" % (rule.id, allowed[rule.id].reason,
                                                            allowed[rule.id].where)
                               for rule, _ in found if rule.id in allowed]
                found = [x for x in found if x[0].id not in allowed]
        score, notes = score_model.explain(ev, found)
        if found and ev.device_paths:       # EDR device paths: say what was assumed
            notes.append("read: %s" % "; ".join(
                "%s %s as drive C:" % (name, _clip(path, 120)) for name, path in ev.device_paths[:3]))
        mitre = sorted(set(t for rule, _ in found for t in rule.techniques))
        return Verdict(score, [rule.id for rule, _ in found],
                       ["%s: %s" % (rule.id, reason) for rule, reason in found] + notes, mitre,
                       allowlisted, signature=sig)


__all__ = ["Detector", "Verdict", "OUTPUT_FIELDS", "NOTHING"]

"""Evaluate one event: findings from the rules, allowlist suppression, score and verdict."""
import datetime

from . import fields, signature
from .allowlist import Allowlist
from .allowlist_columns import Facts, facts  # noqa: F401 (facts: part of this module's API)
from .rules import RULES_FOR, severity_for

OUTPUT_FIELDS = ("regsvr32_score", "regsvr32_severity", "regsvr32_rules", "regsvr32_reasons",
                 "regsvr32_mitre", "regsvr32_allowlisted", "regsvr32_error", "regsvr32_signature")


class Verdict(object):
    """What the detector says of one event."""

    __slots__ = ("score", "severity", "rules", "reasons", "mitre", "allowlisted", "error",
                 "signature", "_fields")

    def __init__(self, score=0, rules=(), reasons=(), mitre=(), allowlisted=(), error="",
                 signature=""):
        self.score = score
        self.severity = severity_for(score)
        self.rules, self.reasons, self.mitre = tuple(rules), tuple(reasons), tuple(mitre)
        self.allowlisted, self.error = tuple(allowlisted), error
        self.signature = signature      # regsvr32 activity, folded for the baseline; see signature.py
        self._fields = None

    def fields(self):
        """The output fields, the same names on every row: str, or lists for multivalue."""
        if self._fields is None:
            self._fields = {
                "regsvr32_score": str(self.score), "regsvr32_severity": self.severity,
                "regsvr32_rules": list(self.rules), "regsvr32_reasons": list(self.reasons),
                "regsvr32_mitre": list(self.mitre), "regsvr32_allowlisted": list(self.allowlisted),
                "regsvr32_error": self.error, "regsvr32_signature": self.signature}
        return dict(self._fields)

    def __repr__(self):
        return "Verdict(%d %s %s)" % (self.score, self.severity, ",".join(self.rules))


NOTHING = Verdict()
# Checks that read the event, by (kind, is regsvr32); checks that read only the parsed command
# line run once per Invocation (the parse cache shares one Invocation per distinct line).
EVENT_CHECKS = dict((key, tuple((r, r.check) for r in rules if not r.per_invocation))
                    for key, rules in RULES_FOR.items())
INVOCATION_CHECKS = tuple((r, r.check) for r in RULES_FOR[fields.PROCESS, True] if r.per_invocation)
REMEMBERED = 4096          # Invocations whose findings are remembered


class Finding(object):
    __slots__ = ("rule", "reason", "allowed_by")

    def __init__(self, rule, reason, allowed_by=None):
        self.rule, self.reason, self.allowed_by = rule, reason, allowed_by


def _rule_id(finding):
    return finding.rule.id


class Detector(object):
    """Rules plus allowlists. ``evaluate`` never raises."""

    def __init__(self, allowlist=None, today=None):
        self.allowlist = allowlist if allowlist is not None else Allowlist()
        self.today = today or datetime.date.today()
        self._by_invocation = {}     # Invocation -> ((rule, reason), ...) of INVOCATION_CHECKS

    def evaluate(self, record):
        try:
            ev = fields.normalize(record)
            if ev is None:
                return NOTHING
            return self._judge(ev)
        except Exception as e:  # a bad row must never cost the search: say why, go on
            return Verdict(error="could not evaluate this event (%s: %s)" % (
                e.__class__.__name__, str(e)[:200]))

    def findings(self, ev):
        """The rules' findings, in registry order."""
        out = []
        for rule, check in EVENT_CHECKS[ev.kind, ev.is_regsvr32]:
            reason = check(ev)
            if reason:
                out.append(Finding(rule, reason))
        if ev.kind == fields.PROCESS and ev.is_regsvr32:
            inv = ev.invocation
            found = self._by_invocation.get(inv)
            if found is None:
                if len(self._by_invocation) >= REMEMBERED:
                    self._by_invocation.clear()
                found = self._by_invocation[inv] = tuple(
                    (rule, reason) for rule, reason in ((r, c(ev)) for r, c in INVOCATION_CHECKS)
                    if reason)
            if found:
                out.extend(Finding(rule, reason) for rule, reason in found)
                out.sort(key=_rule_id)
        return out

    def _judge(self, ev):
        found = self.findings(ev)
        sig = signature.of(ev)
        if not found:
            return Verdict(signature=sig) if sig else NOTHING
        if len(self.allowlist):
            allowed = self.allowlist.suppress([x.rule.id for x in found], Facts(ev), self.today)
            for finding in found:
                finding.allowed_by = allowed.get(finding.rule.id)
        active = [x for x in found if x.allowed_by is None]
        score = max([x.rule.risk for x in active] or [0])
        mitre = sorted(set(t for x in active for t in x.rule.techniques))
        allowlisted = ["%s allowlisted: %s (%s)" % (x.rule.id, x.allowed_by.reason,
                                                    x.allowed_by.where)
                       for x in found if x.allowed_by is not None]
        return Verdict(score, [x.rule.id for x in active],
                       ["%s: %s" % (x.rule.id, x.reason) for x in active], mitre, allowlisted,
                       signature=sig)


__all__ = ["Detector", "Verdict", "OUTPUT_FIELDS", "NOTHING", "facts"]

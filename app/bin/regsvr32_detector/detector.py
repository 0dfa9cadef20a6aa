"""Evaluate one event: findings from the rules, allowlist suppression, score and verdict."""
import datetime

from . import fields, winpath
from .allowlist import Allowlist
from .rules import RULES_BY_ID, RULES_BY_KIND, severity_for

OUTPUT_FIELDS = ("regsvr32_score", "regsvr32_severity", "regsvr32_rules", "regsvr32_reasons",
                 "regsvr32_mitre", "regsvr32_allowlisted", "regsvr32_error")


class Verdict(object):
    """What the detector says of one event."""

    __slots__ = ("score", "severity", "rules", "reasons", "mitre", "allowlisted", "error",
                 "_fields")

    def __init__(self, score=0, rules=(), reasons=(), mitre=(), allowlisted=(), error=""):
        self.score = score
        self.severity = severity_for(score)
        self.rules, self.reasons, self.mitre = tuple(rules), tuple(reasons), tuple(mitre)
        self.allowlisted, self.error = tuple(allowlisted), error
        self._fields = None

    def fields(self):
        """The output fields, the same names on every row: str, or lists for multivalue."""
        if self._fields is None:
            self._fields = {
                "regsvr32_score": str(self.score), "regsvr32_severity": self.severity,
                "regsvr32_rules": list(self.rules), "regsvr32_reasons": list(self.reasons),
                "regsvr32_mitre": list(self.mitre), "regsvr32_allowlisted": list(self.allowlisted),
                "regsvr32_error": self.error}
        return dict(self._fields)

    def __repr__(self):
        return "Verdict(%d %s %s)" % (self.score, self.severity, ",".join(self.rules))


NOTHING = Verdict()


class Finding(object):
    __slots__ = ("rule", "reason", "allowed_by")

    def __init__(self, rule, reason, allowed_by=None):
        self.rule, self.reason, self.allowed_by = rule, reason, allowed_by


def _norm_path(path):
    return path.lower().replace("/", "\\")


def facts(ev):
    """Parsed values of an event, by allowlist matcher column (lower case, tuples)."""
    f = {}
    for column, value in (("image", ev.image or ev.process_name), ("parent_image", ev.parent_image),
                          ("loaded_image", ev.image_loaded), ("signer", ev.signature),
                          ("registry_path", ev.registry_path), ("user", ev.user),
                          ("host", ev.host)):
        if value:
            f[column] = (_norm_path(value) if column != "signer" and column != "user"
                         and column != "host" else value.lower(),)
    if ev.command_line:
        f["command_line"] = (" ".join(ev.command_line.lower().split()),)
    hosts = [h.lower() for h in (ev.query_name, ev.dest_host, ev.dest_ip) if h]
    if ev.kind == fields.PROCESS and ev.is_regsvr32:
        inv = ev.invocation
        if inv.modules:
            f["module"] = tuple(m.path.lower() for m in inv.modules)
        hosts.extend(t.host for t in inv.targets if t.host)
    if hosts:
        f["url_host"] = tuple(hosts)
    return f


class Detector(object):
    """Rules plus allowlists. ``evaluate`` never raises."""

    def __init__(self, allowlist=None, today=None):
        self.allowlist = allowlist if allowlist is not None else Allowlist()
        self.today = today or datetime.date.today()

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
        out = []
        for rule in RULES_BY_KIND[ev.kind]:
            reason = rule.check(ev)
            if reason:
                out.append(Finding(rule, reason))
        return out

    def _judge(self, ev):
        found = self.findings(ev)
        if not found:
            return NOTHING
        if len(self.allowlist):
            f = facts(ev)
            for finding in found:
                finding.allowed_by = self.allowlist.find(finding.rule.id, f, self.today)
        active = [x for x in found if x.allowed_by is None]
        score = max([x.rule.risk for x in active] or [0])
        mitre = sorted(set(t for x in active for t in x.rule.techniques))
        allowlisted = ["%s allowlisted: %s (%s)" % (x.rule.id, x.allowed_by.reason,
                                                    x.allowed_by.where)
                       for x in found if x.allowed_by is not None]
        return Verdict(score, [x.rule.id for x in active],
                       ["%s: %s" % (x.rule.id, x.reason) for x in active], mitre, allowlisted)


def known_rule_ids():
    return frozenset(RULES_BY_ID)


__all__ = ["Detector", "Verdict", "OUTPUT_FIELDS", "NOTHING", "facts", "winpath"]

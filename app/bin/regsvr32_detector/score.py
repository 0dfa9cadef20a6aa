"""The score of an event: the strongest finding, raised by independent evidence, lowered where the
context explains the behaviour. Every raise and every lowering is said in the reasons.

- Lowering: a CONTEXTS entry that holds for the event caps the risk of the rules declared
  ``lowered_by`` it (an installer registering a module from its own folder is not a payload in
  AppData).
- Raising: after the caps, each further kind of evidence (registry.EVIDENCE) adds RAISE_SHARE of
  its strongest finding's risk: a user-writable module AND a script-host parent AND a fake
  extension is worse than any one of them. Findings below RAISE_FLOOR are context, not evidence.
"""
import re

from . import winpath
from .fields import PROCESS
from .registry import LOWERING
from .rules import RULES

RAISE_SHARE = 0.3
RAISE_FLOOR = 20
TOP = 100

# Parents that install or remove software: Windows Installer, and setup programs by their name or
# by the temporary folder installers unpack themselves into (Inno is-*.tmp, NSIS ns*.tmp and
# ~nsu*.tmp, InstallShield _iu*.tmp, {GUID} folders).
INSTALLER_PARENTS = frozenset(("msiexec.exe",))
_INSTALLER_NAME = re.compile(r"setup|install|uninst|unins[0-9]|^un_[a-z]\.exe$|update|upgrade|patch")
_INSTALLER_TEMP = re.compile(r"\\(?:is-[0-9a-z]+\.tmp|~?ns[a-z0-9]+\.tmp|_iu[0-9a-z]+\.tmp|\{[0-9a-f-]{36}\})\\")

# Software deployment agents and their staging folders: ConfigMgr's ccmcache, the Intune
# management extension, Chocolatey, PSAppDeployToolkit.
_AGENT = re.compile(r"\\ccmcache\\|\\ccmexec\.exe|intunemanagementextension|\\chocolatey\\|choco\.exe|"
                    r"psappdeploytoolkit|deploy-application")


def _windows_modules(ev):
    """Every module is part of Windows (its own folders, by real name): repair and servicing,
    also when an administrator runs it remotely (WinRM, WMI)."""
    modules = ev.invocation.modules
    return bool(modules) and all(m.location == winpath.WINDOWS and not m.anomalies
                                 for m in modules) and _trusted_modules(ev)


def _trusted_modules(ev):
    """Every module is under Windows or Program Files (by its real name, not an 8.3 one) and no
    target is remote or a scriptlet: what deployment tools and repair scripts register."""
    inv = ev.invocation
    if not inv.modules:
        return False
    for m in inv.modules:
        if m.location not in winpath.TRUSTED_LOCATIONS or m.anomalies:
            return False
    t = inv.install
    return t is None or (t.kind not in ("url", "unc", "webdav") and t.ext_class != winpath.SCRIPTLET)


_PROGRAM = re.compile(r"\.(?:exe|bat|cmd|ps1|psm1|vbs|js|wsf|msi|tmp)$")


def _folders_of(ev):
    """Folders the registering program lives or works in: the parent's image, the script or
    program its command line runs (not the module paths it hands on), the working directory.
    Lower-case component tuples."""
    texts = [ev.parent_image, ev.cwd]
    if ev.parent_command_line:
        texts.extend(a for a in ev.parent_command_line.replace('"', " ").split()
                     if ":\\" in a and _PROGRAM.search(a.lower()))
    out = []
    for text in texts:
        if text and ":" in text[:3]:
            out.append(tuple(c for c in text.lower().replace("/", "\\").split("\\") if c))
    return out


def _own_tree(ev, module):
    """The module is in the folder tree of the program or script that registers it: at least two
    folders below its location's own root are shared (C:\\Tools\\App, ...\\AppData\\Local\\Vendor)."""
    comps = module.comps
    if not comps:
        return False
    root = {winpath.USER_WRITABLE: 3 if comps[1:2] == ("users",) else 2}.get(module.location, 1)
    need = root + 2
    if len(comps) - 1 < need:
        return False
    for folder in _folders_of(ev):
        shared = 0
        for a, b in zip(comps[:-1], folder):
            if a != b:
                break
            shared += 1
        if shared >= need:
            return True
    return False


def _installer(ev):
    parent = ev.parent_image.lower()
    return (ev.parent_name in INSTALLER_PARENTS or bool(_INSTALLER_NAME.search(ev.parent_name))
            or bool(_INSTALLER_TEMP.search(parent)))


def _installs_own_module(ev):
    """An installer, uninstaller or a script registering modules of its own software: every
    module is where software lives (not a staging folder) and in the registering program's tree."""
    modules = ev.invocation.modules
    if not modules:
        return False
    for m in modules:
        if m.staging or m.location in (winpath.SUSPICIOUS, winpath.NETWORK, winpath.UNKNOWN):
            return False
    return _installer(ev) or all(_own_tree(ev, m) for m in modules)


def _deployment_agent(ev):
    """A software deployment agent runs regsvr32 (its working folder, its process or script), for
    modules that are not in staging folders."""
    text = " ".join((ev.cwd, ev.parent_image, ev.parent_command_line)).lower()
    if not _AGENT.search(text):
        return False
    return all(not m.staging and m.location not in (winpath.SUSPICIOUS, winpath.NETWORK)
               for m in ev.invocation.modules)


class Context(object):
    __slots__ = ("key", "says", "holds", "cap", "caps", "rule_ids")

    def __init__(self, key, says, holds, cap):
        self.key, self.says, self.holds, self.cap = key, says, holds, cap
        # {rule id: highest risk} for the rules declared lowered_by this context (one cap for all)
        self.caps = dict((r.id, cap) for r in RULES if key in r.lowered_by)
        self.rule_ids = frozenset(self.caps)


CONTEXTS = (
    Context("windows", "every module is part of Windows, re-registered in repair or servicing "
            "(also run remotely by an administrator)", _windows_modules, 10),
    Context("trusted", "every module is under Windows or Program Files, which only "
            "administrators and installers write (deployment, repair or a vendor's /i: settings)",
            _trusted_modules, 10),
    Context("own tree", "an installer, uninstaller or script registers a module of its own "
            "software, from its own folder tree", _installs_own_module, 5),
    Context("agent", "a software deployment agent (ConfigMgr, Intune, Chocolatey, "
            "PSAppDeployToolkit) registers it", _deployment_agent, 10),
)
assert sorted(c.key for c in CONTEXTS) == sorted(LOWERING), "registry.LOWERING and CONTEXTS differ"


def contexts_of(ev):
    """The contexts that hold for a regsvr32 process event (others have none)."""
    if ev.kind != PROCESS or not ev.is_regsvr32:
        return ()
    return tuple(c for c in CONTEXTS if c.holds(ev))


def explain(ev, findings):
    """(score, notes): findings are (rule, reason) pairs that count; notes are the 'lowered:'
    and 'raised:' reasons, in that order."""
    if not findings:
        return 0, []
    notes = []
    risks = dict((rule.id, rule.risk) for rule, _ in findings)
    process = ev.kind == PROCESS and ev.is_regsvr32     # contexts_of, asked only when it can matter
    for context in CONTEXTS if process else ():
        if context.rule_ids.isdisjoint(risks):
            continue
        cap, capped = context.cap, context.rule_ids
        over = [rid for rid, risk in risks.items() if risk > cap and rid in capped]
        if over and context.holds(ev):      # (the text only once the context holds)
            if len(over) > 1:
                over.sort()                 # findings come in id order: as good as never
            notes.append("lowered: %s (%s)" % (context.says, ", ".join(
                ["%s %d->%d" % (rid, risks[rid], cap) for rid in over])))
            for rid in over:
                risks[rid] = cap
    strongest = {}
    for rule, _ in findings:
        kind = rule.evidence
        if risks[rule.id] > strongest.get(kind, (0, ""))[0]:
            strongest[kind] = (risks[rule.id], rule.id)
    ranked = sorted(strongest.values(), reverse=True)
    score = ranked[0][0]
    raised = [(risk, rid) for risk, rid in ranked[1:] if risk >= RAISE_FLOOR]
    if raised:
        plus = sum(int(round(risk * RAISE_SHARE)) for risk, _ in raised)
        new = min(TOP, score + plus)
        notes.append("raised: %d -> %d, independent evidence from %s besides %s" % (
            score, new, ", ".join(rid for _, rid in raised), ranked[0][1]))
        score = new
    return score, notes

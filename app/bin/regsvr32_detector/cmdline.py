"""regsvr32 command lines, split the way Windows splits them and read the way regsvr32 reads them.

Every evasion of the public string rules is undone here, once: any case, ``/`` or ``-`` or a
Unicode dash as the switch prefix, quotes anywhere (also around a whole ``"/i:..."``), tabs,
switches in any order or run together, command lines logged without the program name.
Work is linear in the length of the line: attackers write it.
"""
import binascii
import re

from . import winpath

SWITCH_PREFIXES = "/-\u2013\u2014\u2015"      # pySigma's windash set
UNICODE_DASHES = {"\u2013": "U+2013 en dash", "\u2014": "U+2014 em dash", "\u2015": "U+2015 horizontal bar"}
KNOWN_SWITCHES = frozenset("suniec")

# Bounds on work for hostile lines. Real command lines have a handful of arguments and
# quotes; more is itself an anomaly (reported), and only the ends are examined.
MAX_EXACT_QUOTES = 512
MAX_ARGS = 64
MAX_ARG_CHARS = 1024            # longer than any path LoadLibrary takes without \\?\

_WS = re.compile(r"[ \t]+")
# Whitespace that Windows does not split on but str.split() would (newlines, NBSP, ...).
_OTHER_WS = re.compile(r"[^\S \t]")
# Quoted stretches and unquoted runs of one argument, when no backslash precedes a quote.
_SIMPLE_ARG = re.compile(r'(?:[^ \t"]+|"[^"]*"?)+')
# Pieces for the exact rules: backslashes+quotes, backslashes, blanks, other text. The
# alternatives start with different characters, so nothing backtracks more than once.
_PIECE = re.compile(r'\\*"+|\\+|[ \t]+|[^ \t"\\]+')


def split_argv(line):
    """Split a command line into arguments with the rules of the Microsoft C runtime (2008+).

    Blanks (space, tab) separate arguments outside quotes; ``2n`` backslashes before a quote
    give ``n`` backslashes and the quote toggles quoting, ``2n+1`` give ``n`` and a literal
    quote; ``""`` inside quotes is a literal quote; other backslashes are literal.
    """
    if '"' not in line:
        if not _OTHER_WS.search(line):
            return line.split()           # same answer, much faster than the regex split
        return [a for a in _WS.split(line) if a]
    if '\\"' not in line or line.count('"') > MAX_EXACT_QUOTES:
        # Exact splitting (beyond MAX_EXACT_QUOTES, an approximation that ignores escaping); the only simplification is that a literal quote made by "" inside
        # quotes is dropped, which changes no path, switch or URL.
        return [a.replace('"', "") for a in _SIMPLE_ARG.findall(line)]
    out = []
    cur = []
    started = False
    quoted = False
    for piece in _PIECE.findall(line):
        first = piece[0]
        if first == "\\" or first == '"':
            quotes = len(piece) - len(piece.rstrip('"'))
            slashes = len(piece) - quotes
            if slashes:
                cur.append("\\" * (slashes // 2 if quotes else slashes))
            if quotes and slashes % 2:
                cur.append('"')
                quotes -= 1
            if quotes:
                started = True
                if not quoted:
                    quoted = True
                    quotes -= 1
                cur.append('"' * (quotes // 2))
                if quotes % 2:
                    quoted = False
            elif slashes:
                started = True
        elif first == " " or first == "\t":
            if quoted:
                cur.append(piece)
            elif started:
                out.append("".join(cur))
                cur = []
                started = False
        else:
            cur.append(piece)
            started = True
    if started:
        out.append("".join(cur))
    return out


def program_token(line):
    """argv[0] as Windows reads it: up to the first blank, or between the first two quotes."""
    s = line.lstrip(" \t")
    if s.startswith('"'):
        end = s.find('"', 1)
        if end < 0:
            return s[1:], ""
        return s[1:end], s[end + 1:]
    m = _WS.search(s)
    if not m:
        return s, ""
    return s[:m.start()], s[m.start():]


def _is_program(token, image_name):
    """Whether argv[0] names the program (real logs sometimes omit it)."""
    if not token or token[0] in SWITCH_PREFIXES:
        return False
    name = winpath.basename(token).lower()
    if name.endswith(".exe") or name in ("regsvr32", "regsvr32.exe"):
        return True
    if image_name:
        return name == image_name or name + ".exe" == image_name
    return False


class Invocation(object):
    """What a regsvr32 command line asks for."""

    __slots__ = ("line", "program", "args", "flags", "install_arg", "install", "modules",
                 "unknown_switches", "spelled_switches", "anomalies", "entry_points", "first")

    def __init__(self, line=""):
        self.line = line            # the command line as logged
        self.program = ""           # argv[0] when the log kept it
        self.args = ()              # the arguments after the program
        self.flags = frozenset()    # switch letters seen: s u n i e c
        self.install_arg = None     # the text after /i: (None when no /i: argument)
        self.install = None         # Target, when the /i: argument is a path or URL
        self.modules = ()           # Targets of the module arguments
        self.unknown_switches = ()
        self.spelled_switches = ()  # known switches written out as words: -silent, /unregister
        self.anomalies = ()         # switch-syntax evasions seen, human readable
        self.entry_points = ()      # ",DllEntry"-style suffixes on module arguments
        self.first = {}             # (aspect, value) -> first target with it; see _index()

    @property
    def targets(self):
        """Every module and scriptlet the command line points at."""
        return self.modules + ((self.install,) if self.install is not None else ())

    def __repr__(self):
        return "Invocation(flags=%s, install=%r, modules=%r)" % (
            "".join(sorted(self.flags)), self.install_arg, self.modules)


def looks_like_path(arg):
    """Whether a /i: argument names a file or URL rather than a plain string like 'user'."""
    if not arg:
        return False
    if "\\" in arg or "/" in arg or "://" in arg or (len(arg) > 1 and arg[1] == ":"):
        return True
    return winpath.ext_class(winpath.extension(arg)) in (
        winpath.MODULE, winpath.SCRIPTLET, winpath.DISGUISED)


def parse(line, image_name="", cwd=""):
    """Parse a regsvr32 command line. ``image_name`` is the lower-case program file name."""
    inv = Invocation(line)
    program, rest = program_token(line)
    if _is_program(program, image_name):
        inv.program = program
        args = split_argv(rest)
    else:
        args = split_argv(line)
    inv.args = tuple(args)
    flags = set()
    modules = []
    unknown = []
    spelled = []
    anomalies = []
    entries = []
    quotes = line.count('"')
    if quotes > MAX_EXACT_QUOTES:
        anomalies.append("%d quote characters" % quotes)
    if len(args) > MAX_ARGS:
        anomalies.append("%d arguments, only the first and last %d examined" % (
            len(args), MAX_ARGS // 2))
        args = args[:MAX_ARGS // 2] + args[-(MAX_ARGS // 2):]
    for arg in _join_unquoted(_ungroup(args, anomalies)):
        if "`" in arg[:1] + arg[-1:]:
            arg = _unbacktick(arg)
        if len(arg) > MAX_ARG_CHARS:
            anomalies.append("argument of %d characters, only its ends examined" % len(arg))
            half = MAX_ARG_CHARS // 2
            arg = arg[:half] + arg[-half:]
        if len(arg) > 1 and arg[0] in SWITCH_PREFIXES:
            _read_switches(arg, inv, flags, unknown, anomalies, spelled)
            continue
        path = arg
        comma = arg.rfind(",")
        if comma > 0 and "\\" not in arg[comma:] and "/" not in arg[comma:]:
            path, entry = arg[:comma], arg[comma + 1:]
            entries.append(entry)
            anomalies.append("entry point suffix ," + entry)
        modules.append(winpath.classify(path, cwd))
    if inv.install_arg is not None and "`" in inv.install_arg[:1] + inv.install_arg[-1:]:
        inv.install_arg = _unbacktick(inv.install_arg)
    if inv.install_arg is not None and looks_like_path(inv.install_arg):
        inv.install = winpath.classify(inv.install_arg, cwd)
    inv.flags = frozenset(flags)
    inv.modules = tuple(modules)
    inv.unknown_switches = tuple(unknown)
    inv.spelled_switches = tuple(spelled)
    inv.anomalies = tuple(dict.fromkeys(anomalies))      # each kind once, in order
    inv.entry_points = tuple(entries)
    inv.first = _index(inv)
    return inv


# What a command line holds, in words a rule's gate names (registry.Rule.gate): a rule whose
# gate names none of a line's features cannot fire on it, so it is not run there.
# (aspect, value) of Invocation.first -> the feature it is
_FIRST_FEATURES = {("ip", True): "ip"}
for _kind in ("url", "unc", "webdav"):
    _FIRST_FEATURES["kind", _kind] = _kind
for _loc in winpath.LOCATIONS:
    _FIRST_FEATURES["location", _loc] = "in " + _loc
    _FIRST_FEATURES["module location", _loc] = "module in " + _loc
for _cls in winpath.EXT_CLASSES:
    _FIRST_FEATURES["module ext", _cls] = "module ext " + _cls
_FIRST_FEATURES["module name", "scrobj.dll"] = "scrobj"
_FLAG_FEATURES = dict((letter, "flag " + letter) for letter in KNOWN_SWITCHES)
FEATURES = frozenset(list(_FIRST_FEATURES.values()) + list(_FLAG_FEATURES.values()) + [
    "install arg",      # an /i: argument
    "install",          # an /i: argument that is a path or URL
    "install word",     # an /i: argument that is neither
    "anomaly",          # a switch-syntax anomaly, or a path-syntax one in a target
    "non-ascii",        # a character beyond ASCII in the line
    "entry point",      # a ,Entry suffix on a module
    "no arguments",     # the program and nothing after it
    "typed switch",     # a switch spelled out or unknown
    "staging",          # a target in a staging folder (winpath.Target.staging)
    "up module",        # a module written as ..\something
    "atomics",          # "atomics" in a target's resolved path
    "digit name",       # a module whose name starts with a digit
])


def features(inv):
    """The FEATURES of a parsed command line, as a frozenset (the key of the rules to run)."""
    found = [f for f in map(_FIRST_FEATURES.get, inv.first) if f]
    found.extend(map(_FLAG_FEATURES.__getitem__, inv.flags))
    if inv.install_arg is not None:
        found.append("install arg")
        found.append("install word" if inv.install is None else "install")
    if inv.anomalies:
        found.append("anomaly")
    if inv.entry_points:
        found.append("entry point")
    if inv.unknown_switches or inv.spelled_switches:
        found.append("typed switch")
    if inv.program and not inv.args:
        found.append("no arguments")
    if not inv.line.isascii():
        found.append("non-ascii")
    for t in inv.targets:
        if t.anomalies:
            found.append("anomaly")
        if t.staging:
            found.append("staging")
        if "atomics" in t.lower:
            found.append("atomics")
    for m in inv.modules:
        if m.name[:1].isdigit():
            found.append("digit name")
        if m.raw.lstrip()[:3] in ("..\\", "../"):
            found.append("up module")
    return frozenset(found)


_DRIVE_PATH = re.compile(r"^[a-zA-Z]:[\\/]")


def _ungroup(args, anomalies):
    """Switches and arguments quoted together as one argument ("/s /i:http://x/a.sct scrobj.dll"):
    regsvr32 itself would not read them, but a logged line written so is meant to be read as its
    parts (a launcher re-splits it, or a string rule is being dodged). An argument is taken apart
    only when a blank in it is followed by a switch, or it starts with a one-letter switch and a
    blank: "/i:C:\\Program Files\\x.sct" stays whole."""
    out = None
    for n, arg in enumerate(args):
        if len(arg) > 2 and arg[0] in SWITCH_PREFIXES and (" " in arg or "\t" in arg):
            parts = [p for p in _WS.split(arg) if p]
            if len(parts) > 1 and (arg[2] in " \t" or any(p[0] in SWITCH_PREFIXES for p in parts[1:])):
                if out is None:
                    out = list(args[:n])
                anomalies.append("switches and arguments inside one quoted argument: " + arg[:60])
                out.extend(parts)
                continue
        if out is not None:
            out.append(arg)
    return args if out is None else out


def _unbacktick(arg):
    """A path PowerShell quoted with its escape character (`"$dir\\x.ax`") keeps the backticks in
    the logged line: they are not part of the file name."""
    return arg.strip("`")


def _join_unquoted(args):
    """Arguments with an unquoted blank put back together: "C:\\Program" "Files\\V\\x.dll" is one
    path that an installer forgot to quote (regsvr32 itself would fail on both halves), not a
    module at the drive root and another in a folder called "Files"."""
    out = []
    i = 0
    while i < len(args):
        arg = args[i]
        if _DRIVE_PATH.match(arg) and not winpath.extension(winpath.basename(arg)):
            j = i + 1
            joined = arg
            while j < len(args) and args[j][:1] not in SWITCH_PREFIXES and j - i < 8:
                joined += " " + args[j]
                j += 1
                if winpath.extension(winpath.basename(joined)):
                    out.append(joined)
                    i = j
                    break
            else:
                out.append(arg)
                i += 1
            continue
        out.append(arg)
        i += 1
    return out


def _index(inv):
    """First target by kind, location and IP-ness, and first module by location, extension
    class and name: the rules ask these questions of every event, so answer them once."""
    first = {}
    for t in inv.targets:
        for key in (("kind", t.kind), ("location", t.location), ("ip", t.ip is not None)):
            first.setdefault(key, t)
    for m in inv.modules:
        for key in (("module location", m.location), ("module ext", m.ext_class),
                    ("module name", m.name)):
            first.setdefault(key, m)
    return first


def _read_switches(arg, inv, flags, unknown, anomalies, spelled=None):
    """One switch argument; '/s/u/i:x' (switches run together) is read as all of them. A known
    letter followed by more letters ('-silent', '/unregister') is read as that switch, as
    regsvr32 reads it, and noted in SPELLED."""
    prefix = arg[0]
    if prefix in UNICODE_DASHES:
        anomalies.append("%s as a switch prefix" % UNICODE_DASHES[prefix])
    body = arg[1:]
    while True:
        letter = body[:1].lower()
        if letter == "i":
            if body[1:2] == ":":
                inv.install_arg = body[2:]
            elif len(body) > 2 and (body[1] in "\\/\"" or body[2] == ":"):
                inv.install_arg = body[1:]          # /i"C:\x.sct": the colon left out
                anomalies.append("/i without a colon: " + arg[:40])
            flags.add("i")
            return
        if letter not in KNOWN_SWITCHES:
            unknown.append(arg[:40])
            return
        flags.add(letter)
        tail = body[1:]
        if tail[:1].isalpha() and spelled is not None:
            spelled.append(arg[:40])
        if len(tail) < 2 or tail[0] not in SWITCH_PREFIXES:
            return
        if tail[0] in UNICODE_DASHES:
            anomalies.append("%s as a switch prefix" % UNICODE_DASHES[tail[0]])
        if body is arg[1:] or len(anomalies) < 8:
            anomalies.append("switches run together: " + arg[:40])
        body = tail[1:]


# PowerShell takes any prefix of -EncodedCommand (-e, -ec, -en, -enc, ...): base64 of UTF-16LE.
_ENCODED = re.compile(r"(?:^|[\s\"'])[-/\u2013\u2014\u2015](?:ec|e(?:n[a-z]*)?)[ \t]+[\"']?([a-z0-9+/]{8,}={0,2})",
                      re.I)
# Every encoded argument of a text that can hold regsvr32 is decoded, however many come before it:
# a budget of the first N would let N decoys (in a folder name, in earlier actions of a task) hide
# the one that runs it, and make a verdict depend on the order of a text's parts (reliability item
# 19). The work stays linear: each match consumes its own text, and decoding yields less than it
# reads. "regsvr32" in UTF-16LE is 16 bytes, so at least 22 base64 characters (what
# regsvr32_fastpath.BLOB relies on too): a shorter argument cannot hold it and is not decoded (a
# text of many short decoys costs the regular expression only).
MIN_ENCODED_CHARS = 22
# What every match of _ENCODED holds: a switch prefix right before an "e". Searched first, since
# most command lines have none and this pattern starts with a set of characters, not a blank.
_ENCODED_SWITCH = re.compile(r"[-/\u2013\u2014\u2015][eE]")


# An encoded command is PowerShell's when the text names it: the rules decode only those
# (powershell_commands), and the cheap test (fields.mentions_regsvr32) decodes only rows that
# name it, so it sees every one the rules read.
POWERSHELL_HINTS = ("powershell", "pwsh")


def powershell_commands(text, *names):
    """encoded_commands of TEXT when it or one of NAMES (the program's name, original file
    name, description) names PowerShell, else none."""
    if not _ENCODED_SWITCH.search(text):
        return []                       # most texts: no switch, nothing to look for
    for t in (text,) + names:
        low = t.lower()
        if any(hint in low for hint in POWERSHELL_HINTS):
            return encoded_commands(text)
    return []


def has_encoded_switch(text):
    """Whether TEXT may hold an encoded command at all (what every match of _ENCODED holds)."""
    return _ENCODED_SWITCH.search(text) is not None


def encoded_commands(text):
    """The decoded text of every PowerShell -EncodedCommand argument in ``text`` long enough to
    hold regsvr32 (attackers hide regsvr32 there, in scheduled tasks, services and launchers),
    wherever it stands among the others."""
    out = []
    if not _ENCODED_SWITCH.search(text):
        return out
    for m in _ENCODED.finditer(text):
        blob = m.group(1)
        if len(blob) - blob.count("=") < MIN_ENCODED_CHARS:
            continue
        try:
            raw = binascii.a2b_base64(blob + "=" * (-len(blob) % 4))   # b64decode, less overhead
        except (binascii.Error, ValueError):
            continue
        out.append(raw.decode("utf-16-le", "replace"))
    return out

"""A stable signature of each regsvr32 event, for the 30-day baseline ("new since last month").

The signature says what ran in words that stay the same from one user, machine, product
version or temp file to the next, and change when something real changes: the switches, what
each target is (URL, share, local path), where it is (location class) and the path itself
with user names, SIDs, GUIDs, version numbers and temp names folded. CAR-2019-04-002 keeps the
children of regsvr32 that were not seen in the previous 30 days; children get a signature too.

Regexes here are linear: every pattern that can repeat starts only where the previous
character cannot continue it (a look-behind), and no input longer than MAX_INPUT is folded.
"""
import hashlib
import re

from . import cmdline, fields, winpath
from .bounded import remembered, text_bytes

MAX_INPUT = 1024        # characters of any one path or command line that are folded
MAX_CHARS = 400         # longer signatures end in a hash of the rest, so they stay distinct
# Between the parts of a regsvr32 signature; paths hold blanks but never "|". The macro
# regsvr32_targets reads module= and i= parts back out for the dashboard.
SEPARATOR = " | "

_GUID = re.compile(r"\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?")
# (patterns that start with a character, the look-behind after it: re scans for that character
# at C speed instead of trying the look-behind at every position)
_SID = re.compile(r"s(?<![0-9a-z-]s)-1-[0-9]+(?:-[0-9]+)+")
# A profile folder other than the shared ones is some user's: \users\<user>\.
_USER = re.compile(r"\\(users|documents and settings)\\(?!(?:public|default|all users)\\)[^\\]+(?=\\)")
# The first component below a temp folder is the temp name (is-ABC12.tmp, _MEI4182, x7f3a.dll).
_TEMP = re.compile(r"(\\(?:appdata\\local\\temp|windows\\temp|local settings\\temp)\\)([^\\]+)")
_TMP_FILE = re.compile(r"(?<=\\)[^\\]*\.tmp$")
_VERSION = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]*(?:\.[0-9]+)+")
_HEX = re.compile(r"(?<![0-9a-z])[0-9a-f]{16,}(?![0-9a-z])")
_NUMBER = re.compile(r"(?<![0-9a-z])[0-9]+(?![0-9a-z])")
_DIGIT = re.compile(r"[0-9]")
_URL_HOST = re.compile(r"^([a-z][a-z0-9+.-]{1,9}://[^/\\?#]*|\\\\[^\\]*)(.*)$", re.S)


def _temp_name(m):
    name = m.group(2)
    if not (_DIGIT.search(name) or name.endswith(".tmp")):
        return m.group(0)
    if m.end() == len(m.string):                 # the file itself: keep what kind of file it is
        ext = winpath.extension(name)
        return m.group(1) + "<tmp>" + ("." + ext if ext and ext != "tmp" else "")
    return m.group(1) + "<tmp>"


# The folds of a path, in order: (pattern, replacement, texts of which one must be in the path for
# the pattern to match; "" is in every path). Most paths hold few of them: no pattern runs for nothing.
_FOLDS = (
    (_GUID, "<guid>", ("-",)),
    (_SID, "<sid>", ("s-1-",)),
    (_USER, r"\\\1\\<user>", ("\\users\\", "\\documents and settings\\")),
    (_TEMP, _temp_name, ("temp\\",)),
    (_TMP_FILE, "<tmp>.tmp", (".tmp",)),
    (_VERSION, "<ver>", (".",)),
    (_HEX, "<hex>", ("",)),
)


def fold_path(path):
    """A local path, share or URL with what varies between users, hosts and versions folded.
    The host of a URL or share is kept: another server is a real difference."""
    return _fold_path(path[:MAX_INPUT])


def _texts_cost(arg, answer):
    return text_bytes(arg) + text_bytes(answer)


# Pure functions of at most MAX_INPUT characters: remembered, since the same modules and lines
# recur all day, within a budget of bytes (bounded.py).
@remembered(2 << 20, _texts_cost)
def _fold_path(path):
    if "://" in path:
        text = path.lower()
    else:
        text = path.lower().replace("/", "\\")
        # blanks other than a lone space are not printable: only such texts need joining
        if "  " in text or text[:1] == " " or text[-1:] == " " or not text.isprintable():
            text = " ".join(text.split())
    head = ""
    if "://" in text or text[:2] == "\\\\":      # a URL or share: its host is kept as it is
        m = _URL_HOST.match(text)
        if m:
            head, text = m.group(1), m.group(2)
    for pattern, replacement, needs in _FOLDS:
        for need in needs:
            if need in text:
                text = pattern.sub(replacement, text)
                break
    return head + text


def fold_text(text):
    """A command line: paths folded as above, and every other number (process ids, sizes) too."""
    return _fold_text(text[:MAX_INPUT])


@remembered(2 << 20, _texts_cost)
def _fold_text(text):
    return _NUMBER.sub("<n>", _fold_path(text))


def _image(path):
    """A Windows program by name (System32 and SysWOW64 are the same program); others by path."""
    return _image_of(path[:MAX_INPUT])


@remembered(1 << 20, _texts_cost)
def _image_of(path):
    if not path:
        return "?"
    name = winpath.basename(path).lower()
    if "\\" not in path and "/" not in path:
        return name
    return name if winpath.classify(path).location == winpath.WINDOWS else fold_path(path)


def _target(t, inv):
    role = "i" if t is inv.install else "module"
    return "%s=%s,%s,%s" % (role, t.kind, t.location, fold_path(t.lower if t.kind != "url" else t.raw))


def _invocation(image, inv):
    parts = [_image(image), "/" + "".join(sorted(inv.flags))]
    if inv.install_arg is not None and inv.install is None:
        parts.append("i=%s" % fold_text(inv.install_arg))     # a plain string such as 'user'
    parts.extend(_target(t, inv) for t in inv.targets)
    return SEPARATOR.join(parts)


def _process(ev):
    if ev.is_regsvr32:
        return _invocation(ev.image or ev.process_name, ev.invocation)
    if ev.parent_is_regsvr32:
        _, args = cmdline.program_token(ev.command_line[:MAX_INPUT])
        return "child %s %s" % (_image(ev.image or ev.process_name), fold_text(args.strip()))
    return ""


def _destination(ev):
    if ev.dest_host:
        return ev.dest_host.lower()
    ip, _ = winpath.parse_ip(ev.dest_ip)
    if ip is None:
        return "?"
    return "public address" if winpath.is_public(ip) else "non-public address"


# event kind -> signature of the event. Process creations: regsvr32's own, and those whose
# parent is regsvr32 (decided in _process); other kinds: regsvr32 must be the actor.
SIGNERS = {
    fields.PROCESS: _process,
    fields.IMAGE_LOAD: lambda ev: "load " + fold_path(ev.image_loaded),
    fields.NETWORK: lambda ev: "connect %s:%s" % (_destination(ev), ev.dest_port or "?"),
    fields.DNS: lambda ev: "dns " + ev.query_name.lower(),
    fields.FILE: lambda ev: "file " + fold_path(ev.target_filename),
    # registry keys: a CLSID is the point of a COM hijack, so GUIDs stay; only users fold
    fields.REGISTRY: lambda ev: "registry " + _SID.sub("<sid>", ev.registry_path[:MAX_INPUT].lower()),
    fields.REMOTE_THREAD: lambda ev: "thread " + _image(ev.target_image),
}


def of(ev):
    """The signature of a normalized Event, or "" when the event is not regsvr32 activity."""
    signer = SIGNERS.get(ev.kind)
    if signer is None or (ev.kind != fields.PROCESS and not ev.is_regsvr32):
        return ""
    sig = signer(ev)
    if len(sig) > MAX_CHARS:
        digest = hashlib.sha1(sig.encode("utf-8", "replace")).hexdigest()[:16]
        sig = sig[:MAX_CHARS - 18] + " #" + digest
    return sig

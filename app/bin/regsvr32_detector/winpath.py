"""Windows paths, shares and URLs as regsvr32 sees them, classified by location and extension.

Everything here works on parsed parts (drive, components, host), never on substrings of a
raw command line: substring lists are how public rules get fooled (decoy folders in a URL
query, ``..`` traversal, forward slashes, 8.3 names).
"""
import ipaddress
import re

from .bounded import remembered, text_bytes

# Location classes, from most to least trusted.
WINDOWS = "windows"              # the OS folders: System32, SysWOW64, WinSxS, ...
PROGRAM_FILES = "program files"
OTHER = "unusual folder"         # a local folder that is neither trusted nor user-writable
OTHER_DRIVE = "non-system drive"
USER_WRITABLE = "user-writable folder"
SUSPICIOUS = "suspicious system folder"
NETWORK = "network"
UNKNOWN = "unknown"              # a relative name with no known working directory

TRUSTED_LOCATIONS = frozenset((WINDOWS, PROGRAM_FILES))
LOCATIONS = (WINDOWS, PROGRAM_FILES, OTHER, OTHER_DRIVE, USER_WRITABLE, SUSPICIOUS, NETWORK, UNKNOWN)

# Extension classes.
MODULE, SCRIPTLET, DISGUISED, OTHER_EXT, NO_EXT = "module", "scriptlet", "disguised", "other", "none"
EXT_CLASSES = (MODULE, SCRIPTLET, DISGUISED, OTHER_EXT, NO_EXT)
# .xll: an Excel add-in is a DLL with Excel's entry points, and add-in installers register it
MODULE_EXTS = frozenset(("dll", "ocx", "ax", "cpl", "xll"))
SCRIPTLET_EXTS = frozenset(("sct", "wsc"))
# Images, data, documents, logs and temp names: a module hiding behind one of these is the
# Gozi/Qakbot/IcedID pattern (Sigma 089fc3d2, Elastic 5db08297, ESCU 62732736).
DISGUISED_EXTS = frozenset((
    "bin bmp cr2 dat eps gif ico jpeg jpg jpe nef orf png raw rtf sr2 temp tif tiff tmp txt "
    "log pdf doc docx docm xls xlsx xlsm xlsb ppt pptx csv db ini cfg conf xml json webp svg "
    "mp3 mp4 wav avi zip 7z rar gz iso img lnk msg eml htm html js vbs ps1 bat cmd hta").split())

_SHORT_NAME = re.compile(r"^[^~\\]{1,6}~[0-9]{1,5}(?:\.[^.\\]{0,3})?$")
_DRIVE = re.compile(r"^([a-z?]):(?:\\|$)")
_ENV_VAR = re.compile(r"%([a-z_()0-9]+)%")

# Unexpanded environment variables that can start a path: what they stand for.
ENV_VARS = {
    "appdata": "?:\\users\\*\\appdata\\roaming",
    "localappdata": "?:\\users\\*\\appdata\\local",
    "temp": "?:\\users\\*\\appdata\\local\\temp",
    "tmp": "?:\\users\\*\\appdata\\local\\temp",
    "userprofile": "?:\\users\\*",
    "homepath": "?:\\users\\*",
    "public": "?:\\users\\public",
    "programdata": "?:\\programdata",
    "allusersprofile": "?:\\programdata",
    "windir": "?:\\windows",
    "systemroot": "?:\\windows",
    "programfiles": "?:\\program files",
    "programfiles(x86)": "?:\\program files (x86)",
    "commonprogramfiles": "?:\\program files\\common files",
}

SYSTEM_VARS = frozenset(("windir", "systemroot", "programfiles", "programfiles(x86)",
                         "commonprogramfiles", "systemdrive"))

# Well-known 8.3 names of the top folders; a short name never earns a trusted location.
SHORT_NAMES = {"progra~1": "program files", "progra~2": "program files (x86)",
               "progra~3": "programdata", "docume~1": "documents and settings"}

# COM servers that ship in System32/SysWOW64. A bare name is looked up in regsvr32's own
# folder (System32) before the working directory, so these load from the system folder
# whatever the working directory is ("regsvr32 vbscript.dll" is a common repair step).
SYSTEM_MODULE_NAMES = frozenset((
    "scrobj.dll vbscript.dll jscript.dll jscript9.dll msxml.dll msxml2.dll msxml3.dll msxml4.dll "
    "msxml6.dll msxml3r.dll msxml6r.dll atl.dll urlmon.dll shdocvw.dll ole32.dll oleaut32.dll "
    "olepro32.dll actxprxy.dll mshtml.dll wintrust.dll initpki.dll dssenh.dll rsaenh.dll "
    "gpkcsp.dll sccbase.dll slbcsp.dll cryptdlg.dll softpub.dll mssip32.dll wuapi.dll "
    "wuaueng.dll wucltui.dll wups.dll wups2.dll wuweb.dll qmgr.dll qmgrprxy.dll browseui.dll "
    "shell32.dll comcat.dll wshext.dll wshom.ocx scrrun.dll msscript.ocx mscomctl.ocx "
    "comdlg32.ocx mschrt20.ocx msdatsrc.tlb msjet40.dll msjet35.dll msrd2x35.dll "
    "msrd3x40.dll mswstr10.dll msjtes40.dll dao360.dll msado15.dll msadox.dll msdaps.dll "
    "oledb32.dll sqloledb.dll msdasql.dll hhctrl.ocx itss.dll vbajet32.dll expsrv.dll "
    "msvbvm60.dll msvbvm50.dll comctl32.ocx mfc42.dll mscoree.dll netcfgx.dll "
    "printconfig.dll rpcproxy.dll msi.dll capicom.dll quartz.dll qedit.dll devenum.dll "
    "msdxm.ocx dxtmsft.dll dxtrans.dll wmp.dll l3codeca.acm").split())

# Folders below ?:\Windows that anyone may write to or that malware favours
# (Sigma 327ff235, Elastic cff92c41 and 5db08297). Component paths below "windows".
_WINDOWS_SUSPICIOUS = (
    ("temp",), ("tasks",), ("tracing",), ("registration", "crmlog"), ("debug",),
    ("system32", "com", "dmp"), ("syswow64", "com", "dmp"),
    ("system32", "fxstmp"), ("syswow64", "fxstmp"),
    ("system32", "microsoft", "crypto", "rsa", "machinekeys"),
    ("syswow64", "microsoft", "crypto", "rsa", "machinekeys"),
    ("system32", "spool", "drivers", "color"), ("syswow64", "spool", "drivers", "color"),
    ("system32", "spool", "printers"), ("system32", "spool", "servers"),
    ("syswow64", "spool", "printers"), ("syswow64", "spool", "servers"),
    ("system32", "tasks"), ("syswow64", "tasks"), ("system32", "tasks_migrated"),
    ("appreadiness",), ("servicestate",), ("security",), ("fonts",), ("prefetch",), ("inf",),
    ("help",), ("setup",), ("logs",), ("cursors",), ("pla",), ("vss",), ("media",),
    ("servicing", "sessions"), ("ime",), ("l2schemas",), ("panther",), ("schemas",),
    ("system32", "logfiles"), ("syswow64", "logfiles"),
)
_WINDOWS_SUB_BY_FIRST = {}
for _sub in _WINDOWS_SUSPICIOUS:
    _WINDOWS_SUB_BY_FIRST.setdefault(_sub[0], []).append(_sub)
_WINDOWS_WRITABLE = frozenset((("temp",), ("tasks",), ("tracing",), ("system32", "tasks"),
                               ("syswow64", "tasks"), ("debug",)))
# User-writable folders where anything, however deep, is dropped rather than installed: the temp
# folders (Users\Public is one too). Elsewhere only a file right in the folder is (depth 0).
_WINDOWS_TEMP = frozenset((("temp",),))
_PROFILE_TEMP = frozenset((("appdata", "local", "temp"), ("local settings", "temp")))

# Top-level folders of a drive that are user-writable or suspicious.
_ROOT_FOLDERS = {
    "programdata": (USER_WRITABLE, "ProgramData"),
    "perflogs": (SUSPICIOUS, "PerfLogs"),
    "temp": (SUSPICIOUS, "C:\\Temp"),
    "tmp": (SUSPICIOUS, "C:\\Tmp"),
    "intel": (SUSPICIOUS, "C:\\Intel"),
    "$recycle.bin": (SUSPICIOUS, "Recycle Bin"),
    "recycler": (SUSPICIOUS, "Recycle Bin"),
    "system volume information": (SUSPICIOUS, "System Volume Information"),
}

# Folders under ProgramData that only SYSTEM and the security platform may write (their ACLs
# deny users and administrators alike): Defender's platform, its definition updates and the
# Defender for Endpoint sensor. A module there is the security product's own, loaded into every
# process that scans (MpOAV.dll, MpClient.dll), not a payload someone dropped.
_PROTECTED_PROGRAMDATA = {
    ("microsoft", "windows defender"): "ProgramData\\Microsoft\\Windows Defender (ACL-protected)",
    ("microsoft", "windows defender advanced threat protection"):
        "ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection (ACL-protected)",
}

# Below ?:\Users\<name>\ : which profile folder a path is in.
_PROFILE_FOLDERS = {
    ("appdata", "local", "temp"): "AppData\\Local\\Temp",
    ("appdata", "local"): "AppData\\Local",
    ("appdata", "roaming"): "AppData\\Roaming",
    ("appdata", "locallow"): "AppData\\LocalLow",
    ("downloads",): "Downloads", ("desktop",): "Desktop", ("documents",): "Documents",
    ("pictures",): "Pictures", ("music",): "Music", ("videos",): "Videos",
    ("favorites",): "Favorites", ("contacts",): "Contacts", ("onedrive",): "OneDrive",
    ("local settings", "temp"): "Local Settings\\Temp",
    ("appdata",): "AppData",
}


class Target(object):
    """One argument of regsvr32 that names a module or a scriptlet: a path, share or URL."""

    __slots__ = ("raw", "kind", "path", "lower", "location", "where", "depth", "ext", "ext_class",
                 "host", "ip", "ip_encoding", "anomalies", "name", "comps", "staging")

    def __init__(self, raw):
        self.raw = raw
        self.kind = "path"          # path | relative | unc | webdav | url
        self.path = raw             # normalized display form (backslashes, resolved)
        self.lower = raw.lower()
        self.location = UNKNOWN
        self.where = ""             # human detail of the location, e.g. "AppData\\Roaming"
        self.depth = 0              # folders between that location and the file (0: right in it)
        self.staging = False        # user-writable and where payloads are dropped; see classify
        self.comps = ()             # resolved lower-case components of a local path, drive first
        self.ext = ""
        self.ext_class = NO_EXT
        self.host = ""              # URL, UNC or WebDAV host
        self.ip = None              # ipaddress object when the host is an IP literal
        self.ip_encoding = ""       # dotted | hex | octal | integer | mixed | short | ipv6
        self.anomalies = ()         # path-syntax evasions seen, human readable
        self.name = ""              # last component, lower case

    def __repr__(self):
        return "Target(%r, %s, %s, .%s)" % (self.path, self.kind, self.location, self.ext)


# How a Windows log writes a path that is not a Win32 drive path, read as the drive path it is
# (logged_path). No per-host table reaches the search, so the Windows folder reads as
# C:\Windows, as a hard-disk volume reads as C: (fields.DEVICE_PREFIXES).
_NT_PREFIXES = ("\\??\\", "\\\\?\\", "\\\\.\\")     # \??\ and \\?\ and \\.\ 
_SYSTEMROOT = "\\systemroot"      # the kernel's name for the Windows folder
# variables whose value is one folder on every host (not the user's), at the start of a path
LOGGED_VARS = {
    "%systemroot%": "C:\\Windows", "%windir%": "C:\\Windows", "%systemdrive%": "C:",
    "%programfiles%": "C:\\Program Files", "%programw6432%": "C:\\Program Files",
    "%programfiles(x86)%": "C:\\Program Files (x86)",
    "%commonprogramfiles%": "C:\\Program Files\\Common Files",
    "%programdata%": "C:\\ProgramData", "%allusersprofile%": "C:\\ProgramData",
    "%public%": "C:\\Users\\Public",
}
_SYSNATIVE = ":\\windows\\sysnative"    # System32 as a 32-bit program names it, after the drive


def logged_path(path):
    """The Win32 path a path in a log names: \\??\\C:\\x, \\\\?\\C:\\x and \\\\.\\C:\\x are C:\\x
    (\\??\\UNC\\h\\s and \\\\?\\UNC\\h\\s are \\\\h\\s); %SystemRoot%, %windir% and the other
    LOGGED_VARS, and the kernel's \\SystemRoot, at the start are the folder they stand for; and
    X:\\Windows\\Sysnative is X:\\Windows\\System32. Anything else is returned as it is.

    For paths Windows wrote (an event's image, parent, loaded module): the way they are written
    says nothing. In a command line the same forms are read by classify, which reports the
    ones that serve to evade (a device path prefix, a user folder's variable)."""
    if not path or (path[0] not in "\\%" and path[1:2] != ":"):
        return path
    low = path.lower()
    if low.startswith(_NT_PREFIXES):
        rest = path[4:]
        if rest[:4].lower() == "unc\\":
            path = "\\\\" + rest[4:]
        elif rest[1:3] == ":\\" or len(rest) == 2 and rest[1] == ":":
            path = rest
        else:
            return path                 # \\?\\Volume{...}, \\.\\pipe\\...: no drive to give
        low = path.lower()
    if low[:1] == "%":
        end = low.find("%", 1) + 1
        folder = LOGGED_VARS.get(low[:end]) if end else None
        if folder is not None and low[end:end + 1] in ("", "\\", "/"):
            path = folder + path[end:]
            low = path.lower()
    elif low.startswith(_SYSTEMROOT) and low[11:12] in ("", "\\"):
        path = "C:\\Windows" + path[11:]
        low = path.lower()
    if low.startswith(_SYSNATIVE, 1) and low[20:21] in ("", "\\"):
        path = path[:11] + "System32" + path[20:]
    return path


def is_absolute(path):
    """Whether a path names its folder: a drive path (C:\\...) or a share (\\\\host\\...)."""
    return path[1:3] in (":\\", ":/") or path[:2] in ("\\\\", "//")


def basename(path):
    """Last component of a Windows or forward-slash path, as given."""
    cut = max(path.rfind("\\"), path.rfind("/"))
    return path[cut + 1:] if cut >= 0 else path


def extension(name):
    """Lower-case extension of a file name; Windows ignores trailing dots and spaces."""
    name = name.rstrip(". ")
    dot = name.rfind(".")
    return name[dot + 1:].lower() if dot > 0 else ""


def ext_class(ext):
    if not ext:
        return NO_EXT
    if ext in MODULE_EXTS:
        return MODULE
    if ext in SCRIPTLET_EXTS:
        return SCRIPTLET
    if ext in DISGUISED_EXTS:
        return DISGUISED
    return OTHER_EXT


_URL = re.compile(r"^([a-z][a-z0-9+.-]{1,9})://([^/\\?#]*)([^?#]*)", re.I)


def classify(raw, cwd=""):
    """Classify one regsvr32 target argument (already unquoted) into a Target."""
    t = Target(raw)
    text = raw.strip()
    m = _URL.match(text)
    if m:
        _classify_url(t, m)
        t.ext = extension(t.name)
        t.ext_class = ext_class(t.ext)
        return t
    anomalies = []
    if "\\/" in text:                  # "%~dp0/x.dll": a script's join, not an evasion
        text = text.replace("\\/", "\\")
    if "/" in text:
        # in a relative path (build/x64/a.dll) slashes are a developer's habit, not an evasion
        if text[1:2] == ":" or text.startswith("//") or text.startswith("\\\\"):
            anomalies.append("forward slashes")
        text = text.replace("/", "\\")
    low = text.lower()
    if low.startswith("\\\\?\\") or low.startswith("\\\\.\\") or low.startswith("\\??\\"):
        anomalies.append("device path prefix " + text[:4])
        text, low = text[4:], low[4:]
        if low.startswith("unc\\"):
            text, low = "\\\\" + text[4:], "\\\\" + low[4:]
    if "%" in low:
        for var in sorted(set(_ENV_VAR.findall(low))):
            # %SystemRoot%, %ProgramFiles%...: how Windows itself writes REG_EXPAND_SZ commands
            # (Active Setup, services); a variable for a user folder has no such excuse
            if var not in SYSTEM_VARS:
                anomalies.append("unexpanded %" + var.upper() + "%")
            if var in ENV_VARS:
                low = low.replace("%" + var + "%", ENV_VARS[var])
    if low.startswith("\\\\"):
        _classify_unc(t, text, low)
    else:
        drive = _DRIVE.match(low)
        if not drive and low in SYSTEM_MODULE_NAMES:
            drive = True
            t.kind = "relative"
            low = "?:\\windows\\system32\\" + low
        if drive:
            comps = low
        elif cwd and _DRIVE.match(cwd.lower().replace("/", "\\")):
            t.kind = "relative"
            base = cwd.lower().replace("/", "\\").rstrip("\\")
            if low.startswith("\\"):        # drive-relative: root of the cwd's drive
                base = base[:2]
            comps = base + "\\" + low.lstrip("\\")
        elif cwd.startswith("\\\\"):
            t.kind = "relative"
            _classify_unc(t, cwd.rstrip("\\") + "\\" + text, cwd.lower().rstrip("\\") + "\\" + low)
            comps = None
        elif low.startswith("\\") and len(low) > 1:
            # rooted without a drive and no working directory known: the root of the drive
            # regsvr32 runs from, the system drive as good as always
            t.kind = "relative"
            comps = "?:" + low
        else:
            t.kind = "relative"
            comps = None
            t.name = basename(low)
        if comps is not None:
            comps, traversal = _split(comps)
            if comps[1:3] == ["windows", "sysnative"]:
                comps[2] = "system32"   # what a 32-bit regsvr32 loads from there
            if traversal and drive:
                anomalies.append("'..' traversal in an absolute path")
            t.lower = "\\".join(comps)
            t.path = t.lower if t.kind == "relative" else _keep_case(text, t.lower)
            t.name = comps[-1] if len(comps) > 1 else ""
            t.comps = tuple(comps)
            t.location, t.where, short, t.depth, temp = _local_location(comps)
            # where payloads are dropped rather than software installed: Users\Public or a
            # temp folder, or right in ProgramData, AppData, the profile or its Downloads...
            # (a per-user install has a folder of its own there)
            t.staging = t.location == USER_WRITABLE and (temp or t.depth == 0)
            if short:
                anomalies.append("8.3 short name " + short.upper())
    name = t.name
    if ":" in name:                       # file.txt:stream.dll, an NTFS alternate data stream
        anomalies.append("alternate data stream " + name)
        name = name.split(":", 1)[0]
    t.ext = extension(name)
    t.ext_class = ext_class(t.ext)
    t.anomalies = tuple(anomalies)
    return t


def _keep_case(original, resolved_lower):
    """Show the path as the attacker wrote it when nothing was resolved, else the resolved form."""
    norm = original.replace("/", "\\")
    return norm if norm.lower() == resolved_lower else resolved_lower


def _split(path):
    """_resolve of a path's components, split only where the path has nothing to resolve (no
    empty, '.', '..' or blank-ended component): most paths."""
    if (path[:1] in (".", "\\", " ", "") or path[-1:] in (" ", "\\") or "\\\\" in path
            or "\\." in path or " \\" in path):
        return _resolve(path.split("\\"))
    return path.split("\\"), False


def _resolve(comps):
    """Resolve '.', '..' and empty components; returns (components, whether '..' was used).
    Windows drops trailing blanks of a component."""
    joined = "\\".join(comps)
    if " \\" in joined or joined.endswith(" "):
        comps = [c.rstrip(" ") for c in comps]
    if ".." not in comps:
        if "" in comps or "." in comps:
            comps = [c for c in comps if c and c != "."]
        return comps, False
    out = []
    for c in comps:
        if c == ".." and len(out) > 1:
            out.pop()
        elif c and c != "." and c != "..":
            out.append(c)
    return out, True


def _local_location(comps):
    """(location class, detail, short name used or "", depth below that folder, whether that
    folder is a temp folder or Users\\Public) of a resolved local path's components."""
    drive = comps[0]
    top = comps[1] if len(comps) > 2 else ""
    short = ""
    for c in comps[1:-1] if "~" in "".join(comps[1:-1]) else ():
        if "~" in c and _SHORT_NAME.match(c):
            short = c
            break
    if short and top in SHORT_NAMES:
        top = SHORT_NAMES[top]
    if top == "windows":
        rest = tuple(comps[2:-1])
        for sub in _WINDOWS_SUB_BY_FIRST.get(rest[0] if rest else "", ()):
            if rest[:len(sub)] == sub:
                label = "Windows\\" + "\\".join(sub)
                loc = USER_WRITABLE if sub in _WINDOWS_WRITABLE else SUSPICIOUS
                return loc, label, short, len(rest) - len(sub), sub in _WINDOWS_TEMP
        return _trusted_unless_short(WINDOWS, "Windows", short) + (len(rest), False)
    if top in ("program files", "program files (x86)"):
        return _trusted_unless_short(PROGRAM_FILES, top.title(), short) + (len(comps) - 3, False)
    if top in ("users", "documents and settings"):
        user = comps[2] if len(comps) > 3 else ""
        if user in ("public", "all users"):
            return USER_WRITABLE, "Users\\Public", short, len(comps) - 4, True
        rest = tuple(comps[3:-1])
        for n in (3, 2, 1):
            label = _PROFILE_FOLDERS.get(rest[:n]) if len(rest) >= n else None
            if label:
                return USER_WRITABLE, label, short, len(rest) - n, rest[:n] in _PROFILE_TEMP
        return USER_WRITABLE, "user profile", short, len(rest), False
    if top == "programdata" and len(comps) > 4 and tuple(comps[2:4]) in _PROTECTED_PROGRAMDATA:
        return _trusted_unless_short(PROGRAM_FILES, _PROTECTED_PROGRAMDATA[tuple(comps[2:4])],
                                     short) + (len(comps) - 5, False)
    if top in _ROOT_FOLDERS:
        loc, label = _ROOT_FOLDERS[top]
        return loc, label, short, len(comps) - 3, False
    if top == "amd" and len(comps) > 3 and comps[2] == "temp":
        return SUSPICIOUS, "C:\\AMD\\Temp", short, len(comps) - 4, False
    if drive not in ("c:", "?:"):
        return OTHER_DRIVE, drive.upper() + " drive", short, len(comps) - 2, False
    if not top:
        return OTHER, "drive root", short, 0, False
    return OTHER, drive.upper() + "\\" + top, short, len(comps) - 3, False


def _trusted_unless_short(location, label, short):
    if short:
        return OTHER, label + " (by 8.3 short name)", short
    return location, label, short


def _classify_unc(t, text, low):
    t.kind = "unc"
    t.location = NETWORK
    parts = low[2:].split("\\")
    host = parts[0]
    if "@" in host:                       # \\host@SSL@443\DavWWWRoot, \\host@80\share
        t.kind = "webdav"
        host = host.split("@", 1)[0]
    if "davwwwroot" in parts:
        t.kind = "webdav"
    t.host = host
    _set_ip(t, host)
    comps, _ = _resolve(parts)
    t.lower = "\\\\" + "\\".join(comps)
    t.path = _keep_case(text, t.lower)
    t.name = comps[-1] if len(comps) > 1 else ""
    t.where = "WebDAV" if t.kind == "webdav" else "SMB share"


def _classify_url(t, m):
    t.kind = "url"
    t.location = NETWORK
    scheme = m.group(1).lower()
    netloc = m.group(2)
    if "@" in netloc:
        netloc = netloc.rsplit("@", 1)[1]
    if netloc.startswith("["):
        host = netloc[1:netloc.find("]")] if "]" in netloc else netloc[1:]
    else:
        host = netloc.split(":", 1)[0]
    t.host = host.lower()
    _set_ip(t, t.host)
    t.where = scheme.upper() + " URL"
    t.lower = t.raw.lower()
    t.path = t.raw
    t.name = basename(m.group(3)).lower()


def _set_ip(t, host):
    ip, encoding = parse_ip(host)
    t.ip, t.ip_encoding = ip, encoding


_IP_PART = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


def parse_ip(host):
    """See _parse_ip; hosts longer than any address are answered without being remembered."""
    if len(host) > 80:
        return None, ""
    return _parse_ip(host)


def _ip_cost(host, answer):
    return text_bytes(host) + IP_BYTES


IP_BYTES = 200          # an address object and the answer's tuple


@remembered(1 << 19, _ip_cost)      # hosts and addresses recur row after row
def _parse_ip(host):
    """The IP address a host string denotes, the way inet_aton and browsers read it.

    Returns (ipaddress object or None, encoding). Encodings other than "dotted" and "ipv6"
    (hex 0x0a010203, octal 012.1.2.3, one integer 167838211, short 10.1.515) are obfuscation.
    """
    host = host.strip().lower().rstrip(".")
    if not host or len(host) > 64:
        return None, ""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0]), "ipv6"
        except ValueError:
            return None, ""
    parts = host.split(".")
    if len(parts) > 4 or not all(_IP_PART.match(p) for p in parts):
        return None, ""
    values = []
    kinds = set()
    for p in parts:
        if p.startswith("0x"):
            values.append(int(p[2:] or "0", 16))
            kinds.add("hex")
        elif len(p) > 1 and p.startswith("0"):
            if any(ch in "89" for ch in p):
                return None, ""
            values.append(int(p, 8))
            kinds.add("octal")
        else:
            values.append(int(p))
            kinds.add("decimal")
    # the last part fills the remaining bytes: a.b.c.d, a.b.(16 bits), a.(24 bits), (32 bits)
    last_bits = 8 * (5 - len(values))
    if any(v > 255 for v in values[:-1]) or values[-1] >= (1 << last_bits):
        return None, ""
    number = 0
    for v in values[:-1]:
        number = (number << 8) | v
    number = (number << last_bits) | values[-1]
    if len(values) == 4 and kinds == {"decimal"}:
        encoding = "dotted"
    elif len(values) == 1:
        encoding = "hex" if kinds == {"hex"} else "octal" if kinds == {"octal"} else "integer"
    elif len(kinds) > 1:
        encoding = "mixed"
    elif len(values) < 4:
        encoding = "short"
    else:
        encoding = kinds.pop()
    return ipaddress.IPv4Address(number), encoding


def is_public(ip):
    """True for an address routed on the internet (not private, loopback, link-local, ...)."""
    try:
        return ip.is_global and not ip.is_multicast
    except AttributeError:
        return False

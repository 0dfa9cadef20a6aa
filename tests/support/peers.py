"""The public regsvr32 process-creation rules of other vendors, emulated on one Sysmon 1 event.

Used by `python3 tests/efficacy.py --peers` to put their recall and noise on our real-world
corpora next to ours. An event is the dict efficacy.event() builds (Image, OriginalFileName,
CommandLine, ParentImage, ParentCommandLine, CurrentDirectory; a missing field is absent).

Only process-creation logic is emulated: the corpora are process creations, so image-load,
network, registry, file and sequence rules (Sigma c7e91a02, Elastic 4ed678a9, fb02b8d3, e00b8d49,
the image-load part of CAR-2019-04-002 and so on; research detections.md L20-L27, L32-L34) have
nothing to see.
Each rule is our own reading of the rule file at the commit named below, with the vendor's own
filters; nothing is copied. Where a filter needs a field Sysmon 1 lacks (token integrity, user
SID, code signature), the event is taken as a non-SYSTEM, unsigned process and the note says so.

Sources read: SigmaHQ/sigma 8eaafff1 (2026-08-05; rules/, rules-threat-hunting/,
rules-emerging-threats/), splunk/security_content b13b314a (2024-10-24, detections/endpoint),
elastic/detection-rules 14cf530f (2026-08-21, SIEM rules), elastic/protections-artifacts 9c334cf8
(2026-08-20, Elastic Defend behaviour rules "EP"), mitre-attack/car 1b922fe1 (2025-05-16).

Every engine folds case: Sigma, EQL `:` and SPL wildcards and `match(...(?i))`. EQL `==` and `in`
do not, so those are compared exactly.
"""
import ntpath
import re
from collections import namedtuple

# level: the vendor's own word (Sigma level, ESCU type, Elastic severity, EP action);
# risk: ESCU / Elastic risk score where the vendor gives one.
Rule = namedtuple("Rule", "vendor id title level risk folder match")

SIGMA, ESCU, SIEM, EP, CAR = "SigmaHQ", "Splunk ESCU", "Elastic SIEM", "Elastic Defend EP", "MITRE CAR"
VENDORS = (SIGMA, ESCU, SIEM, EP, CAR)

# The level at which each vendor means a rule to raise an alert, not only a hunt lead.
ALERTS = {
    SIGMA: lambda r: r.level in ("high", "critical"),
    ESCU: lambda r: r.level == "TTP" or r.risk >= 50,
    SIEM: lambda r: r.risk >= 47,
    EP: lambda r: r.level == "prevention",      # rules that kill the process tree
    CAR: lambda r: True,                          # CAR has no levels
}


# ---- small match helpers (every needle is written in the case the vendor wrote it) ----

def f(event, field):
    return event.get(field, "").lower()


def has(text, *needles):
    return any(n.lower() in text for n in needles)


def has_all(text, *needles):
    return all(n.lower() in text for n in needles)


def ends(text, *needles):
    return any(text.endswith(n.lower()) for n in needles)


def starts(text, *needles):
    return any(text.startswith(n.lower()) for n in needles)


def windash(*needles):
    """Sigma's |windash: a dash or slash after a space also as /, -, en, em and horizontal bar."""
    out = []
    for n in needles:
        at = n.index("-") if "-" in n else n.index("/")
        out.extend(n[:at] + d + n[at + 1:] for d in u"-/\u2013\u2014\u2015")
    return out


def name(path):
    return ntpath.basename(path.lower())


def argv(command_line):
    """process.args as Elastic Defend records them: split on blanks outside double quotes."""
    return [a.replace('"', "") for a in re.findall(r'(?:[^\s"]|"[^"]*"?)+', command_line)]


def glob(values, *patterns):
    """EQL `field : (patterns)` on a value or a list of values (args): * and ? wildcards, no case."""
    values = [values] if isinstance(values, str) else values
    regex = re.compile("|".join("(?:%s)\\Z" % re.escape(p).replace("\\*", ".*").replace("\\?", ".")
                                for p in patterns), re.I | re.S)
    return any(regex.match(v) for v in values)


def sigma_img(e):
    """Sigma's usual selection: the image is called regsvr32.exe or was built as REGSVR32.EXE."""
    return f(e, "Image").endswith("\\regsvr32.exe") or f(e, "OriginalFileName") == "regsvr32.exe"


def image_is(e, *names):
    return ends(f(e, "Image"), *["\\" + n for n in names])


def parent_is(e, *names):
    return ends(f(e, "ParentImage"), *["\\" + n for n in names])


def escu_regsvr32(e):
    """ESCU macro process_regsvr32: process_name or original_file_name is regsvr32.exe."""
    return name(f(e, "Image")) == "regsvr32.exe" or f(e, "OriginalFileName") == "regsvr32.exe"


# ---- SigmaHQ ----

SIGMA_IPV4 = [" %si:%s://%d" % (dash, scheme, digit)
              for dash in "/-" for scheme in ("http", "https") for digit in range(1, 10)]
SIGMA_SUSP_PATHS = (":\\ProgramData\\", ":\\Temp\\", ":\\Users\\Public\\", ":\\Windows\\Temp\\",
                    "\\AppData\\Local\\Temp\\", "\\AppData\\Roaming\\")
SIGMA_HIGHLY_SUSP_PATHS = (
    ":\\PerfLogs\\", ":\\Temp\\", "\\Windows\\Registration\\CRMLog", "\\Windows\\System32\\com\\dmp\\",
    "\\Windows\\System32\\FxsTmp\\", "\\Windows\\System32\\Microsoft\\Crypto\\RSA\\MachineKeys\\",
    "\\Windows\\System32\\spool\\drivers\\color\\", "\\Windows\\System32\\spool\\PRINTERS\\",
    "\\Windows\\System32\\spool\\SERVERS\\", "\\Windows\\System32\\Tasks_Migrated\\",
    "\\Windows\\System32\\Tasks\\Microsoft\\Windows\\SyncCenter\\", "\\Windows\\SysWOW64\\com\\dmp\\",
    "\\Windows\\SysWOW64\\FxsTmp\\", "\\Windows\\SysWOW64\\Tasks\\Microsoft\\Windows\\PLA\\System\\",
    "\\Windows\\SysWOW64\\Tasks\\Microsoft\\Windows\\SyncCenter\\", "\\Windows\\Tasks\\",
    "\\Windows\\Tracing\\")
SIGMA_KNOWN_DIRS = ("C:\\Program Files (x86)\\", "C:\\Program Files\\", "C:\\ProgramData\\", "C:\\Users\\",
                    " C:\\Windows\\", " \"C:\\Windows\\", " 'C:\\Windows\\")
SIGMA_IMAGE_EXTENSIONS = (".bin", ".bmp", ".cr2", ".dat", ".eps", ".gif", ".ico", ".jpeg", ".jpg", ".log",
                          ".nef", ".orf", ".png", ".raw", ".rtf", ".sr2", ".temp", ".tif", ".tiff", ".tmp",
                          ".txt")
SIGMA_PROGRAM_DIRS = (":\\Program Files (x86)", ":\\Program Files\\", ":\\Windows\\System32\\",
                      ":\\Windows\\SysWOW64\\")
SIGMA_SCRIPT_PARENTS = ("cmd.exe", "cscript.exe", "mshta.exe", "powershell_ise.exe", "powershell.exe",
                        "pwsh.exe", "wscript.exe")
SIGMA_OFFICE_PARENTS = ("EQNEDT32.EXE", "EXCEL.EXE", "MSACCESS.EXE", "MSPUB.exe", "ONENOTE.EXE",
                        "POWERPNT.exe", "VISIO.exe", "WINWORD.EXE", "wordpad.exe", "wordview.exe")
SIGMA_REGSVR32_CHILDREN = ("calc.exe", "cscript.exe", "explorer.exe", "mshta.exe", "net.exe", "net1.exe",
                           "nltest.exe", "notepad.exe", "powershell.exe", "pwsh.exe", "reg.exe", "schtasks.exe",
                           "werfault.exe", "wscript.exe")
# 0ba1da6d: a renamed binary is one whose image is none of these names.
SIGMA_RENAME_KEEPS = ("certutil.exe", "cmstp.exe", "cscript.exe", "ie4uinit.exe", "finger.exe", "mshta.exe",
                      "msiexec.exe", "msxsl.exe", "powershell_ise.exe", "powershell.exe", "psexec.exe",
                      "psexec64.exe", "psexec64a.exe", "PSEXESVC.exe", "pwsh.exe", "reg.exe", "regsvr32.exe",
                      "rundll32.exe", "wermgr.exe", "wmic.exe", "wscript.exe")
SIGMA_SYSTEM_ROOTS = ("C:\\$WINDOWS.~BT\\", "C:\\$WinREAgent\\", "C:\\Windows\\SoftwareDistribution\\",
                      "C:\\Windows\\System32\\", "C:\\Windows\\SystemTemp\\", "C:\\Windows\\SysWOW64\\",
                      "C:\\Windows\\uus\\", "C:\\Windows\\WinSxS\\")
# Sigma's product-specific "suspicious child of <application>" rules that list regsvr32 are not
# emulated: no corpus row has one of these parents (tests/test_peers.py checks that).
SIGMA_PRODUCT_PARENTS = ("3cxdesktopapp.exe", "pc-app.exe", "disp+work.exe", "node.exe", "arcsoc.exe",
                         "sqlservr.exe", "vmtoolsd.exe", "wermgr.exe", "gup.exe", "hh.exe",
                         "keyscrambler.exe", "dfsvc.exe", "diskshadow.exe", "mmc.exe", "code.exe",
                         "winrar.exe", "windowsterminal.exe", "provlaunch.exe", "serv-u.exe",
                         "conhost.exe", "wsl.exe", "msdt.exe", "pdqdeployrunner.exe")


def sigma_327ff235(e):
    cl = f(e, "CommandLine")
    return sigma_img(e) and cl != "" and (
        has(cl, *SIGMA_HIGHLY_SUSP_PATHS)
        or (has(cl, " \"C:\\", " C:\\", " 'C:\\", "D:\\") and not has(cl, *SIGMA_KNOWN_DIRS)))


def sigma_ce2c44b5(e):
    cl = f(e, "CommandLine")
    rpcproxy = (f(e, "ParentCommandLine").endswith(":\\windows\\system32\\rpcproxy\\rpcproxy.dll")
                and cl == "regsvr32 /s rpcproxy.dll")
    return (sigma_img(e) and has(cl, " /s ", " /e ")
            and not has(cl, *SIGMA_PROGRAM_DIRS) and not has(f(e, "CurrentDirectory"), *SIGMA_PROGRAM_DIRS)
            and not has(cl, " /i:", "/U ") and not rpcproxy)


def sigma_d52d2e87(e):
    cl = f(e, "CommandLine")
    return (parent_is(e, "fodhelper.exe") and image_is(e, "rundll32.exe", "regsvr32.exe")
            and has_all(cl, "odbcconf.exe", "regsvr", "shellexec_rundll")
            and has(cl, "installdriver", "setfiledsndir", "vkipdse") and ends(cl, *windash("/a", "/f", "/s")))


SIGMA_RULES = [
    Rule(SIGMA, "867356ee", "Potentially Suspicious Regsvr32 HTTP/FTP Pattern", "medium", None, "rules",
         lambda e: sigma_img(e) and has(f(e, "CommandLine"), " /i", " -i")
         and has(f(e, "CommandLine"), "ftp", "http")),
    Rule(SIGMA, "2dd2c217", "Potentially Suspicious Regsvr32 HTTP IP Pattern", "high", None, "rules",
         lambda e: sigma_img(e) and has(f(e, "CommandLine"), *SIGMA_IPV4)),
    Rule(SIGMA, "b236190c", "Potential Regsvr32 Commandline Flag Anomaly", "medium", None, "rules",
         lambda e: image_is(e, "regsvr32.exe") and has(f(e, "CommandLine"), *windash(" -i:"))
         and not has(f(e, "CommandLine"), *windash(" -n "))),
    Rule(SIGMA, "88a87a10", "Suspicious Regsvr32 Execution From Remote Share", "high", None, "rules",
         # the rule compares OriginalFileName with '\REGSVR32.EXE', which no event carries
         lambda e: (image_is(e, "regsvr32.exe") or f(e, "OriginalFileName") == "\\regsvr32.exe")
         and has(f(e, "CommandLine"), " \\\\")),
    Rule(SIGMA, "9525dc73", "Regsvr32 Execution From Potential Suspicious Location", "medium", None, "rules",
         lambda e: sigma_img(e) and has(f(e, "CommandLine"), *SIGMA_SUSP_PATHS)),
    Rule(SIGMA, "327ff235", "Regsvr32 Execution From Highly Suspicious Location", "high", None, "rules",
         sigma_327ff235),
    Rule(SIGMA, "089fc3d2", "Regsvr32 DLL Execution With Suspicious File Extension", "high", None, "rules",
         lambda e: sigma_img(e) and ends(f(e, "CommandLine"), *SIGMA_IMAGE_EXTENSIONS)),
    Rule(SIGMA, "ab37a6ec", "Scripting/CommandLine Process Spawned Regsvr32", "medium", None, "rules",
         lambda e: parent_is(e, *SIGMA_SCRIPT_PARENTS) and image_is(e, "regsvr32.exe")
         and not (f(e, "ParentImage") == "c:\\windows\\system32\\cmd.exe"
                  and f(e, "CommandLine").endswith(" /s c:\\windows\\system32\\rpcproxy\\rpcproxy.dll"))),
    Rule(SIGMA, "50919691", "Regsvr32 DLL Execution With Uncommon Extension", "medium", None, "rules",
         lambda e: sigma_img(e) and f(e, "CommandLine") != ""
         and not has(f(e, "CommandLine"), ".ax", ".cpl", ".dll", ".ocx", ".ppl", ".bav")),
    Rule(SIGMA, "0ba1da6d", "Potential Defense Evasion Via Rename Of Highly Relevant Binaries", "high", None,
         "rules", lambda e: f(e, "OriginalFileName") == "regsvr32.exe"
         and not image_is(e, *SIGMA_RENAME_KEEPS)),
    Rule(SIGMA, "e4a6b256", "System File Execution Location Anomaly", "high", None, "rules",
         lambda e: image_is(e, "regsvr32.exe") and not starts(f(e, "Image"), *SIGMA_SYSTEM_ROOTS)
         and "\\systemroot\\system32\\" not in f(e, "Image")),
    Rule(SIGMA, "a7c3d773", "Bad Opsec Defaults Sacrificial Processes With Improper Arguments", "high", None,
         "rules", lambda e: image_is(e, "regsvr32.exe") and f(e, "CommandLine").endswith("regsvr32.exe")),
    Rule(SIGMA, "d4ca7c59", "LOLBIN Execution From Abnormal Drive", "medium", None, "rules",
         lambda e: sigma_img(e) and f(e, "CurrentDirectory") != "" and "c:\\" not in f(e, "CurrentDirectory")),
    Rule(SIGMA, "438025f9", "Suspicious Microsoft Office Child Process", "high", None, "rules",
         lambda e: parent_is(e, *SIGMA_OFFICE_PARENTS) and sigma_img(e)),
    Rule(SIGMA, "208748f7", "Suspicious Outlook Child Process", "high", None, "rules",
         lambda e: parent_is(e, "OUTLOOK.EXE") and image_is(e, "regsvr32.exe")),
    Rule(SIGMA, "c27515df", "Suspicious Microsoft OneNote Child Process", "high", None, "rules",
         lambda e: parent_is(e, "onenote.exe") and sigma_img(e)),
    Rule(SIGMA, "8a582fe2", "Suspicious WmiPrvSE Child Process", "high", None, "rules",
         lambda e: f(e, "ParentImage").endswith("\\wbem\\wmiprvse.exe") and image_is(e, "regsvr32.exe")),
    Rule(SIGMA, "0d34ed8b", "Suspicious Processes Spawned by Java.EXE", "high", None, "rules",
         lambda e: parent_is(e, "java.exe") and image_is(e, "regsvr32.exe")),
    Rule(SIGMA, "03cc0c25", "Suspicious MSHTA Child Process", "high", None, "rules",
         lambda e: parent_is(e, "mshta.exe") and sigma_img(e)),
    Rule(SIGMA, "f3d39c45", "Sdiagnhost Calling Suspicious Child Process", "high", None, "rules",
         lambda e: parent_is(e, "sdiagnhost.exe") and image_is(e, "regsvr32.exe")),
    Rule(SIGMA, "69bd9b97", "Potentially Suspicious Execution From Parent Process In Public Folder", "high",
         None, "rules", lambda e: ":\\users\\public\\" in f(e, "ParentImage")
         and (image_is(e, "regsvr32.exe") or "regsvr32" in f(e, "CommandLine"))),
    Rule(SIGMA, "6f0947a4", "Potentially Suspicious Child Process Of Regsvr32", "high", None, "rules",
         lambda e: parent_is(e, "regsvr32.exe") and image_is(e, *SIGMA_REGSVR32_CHILDREN)
         and not (image_is(e, "werfault.exe") and " -u -p " in f(e, "CommandLine"))),
    Rule(SIGMA, "ce2c44b5", "Regsvr32.EXE Calling of DllRegisterServer Export Function Implicitly", "medium",
         None, "threat-hunting", sigma_ce2c44b5),
    Rule(SIGMA, "e4b6d2a7", "Potentially Suspicious PowerShell Child Processes", "medium", None,
         "threat-hunting", lambda e: parent_is(e, "powershell_ise.exe", "powershell.exe", "pwsh.exe")
         and image_is(e, "regsvr32.exe")
         and not (has(f(e, "ParentCommandLine"), "\\Program Files\\Amazon\\WorkspacesConfig\\Scripts\\")
                  and has(f(e, "CommandLine"), "\\Program Files\\Amazon\\WorkspacesConfig\\Scripts\\"))),
    Rule(SIGMA, "e6eb5a96", "Potential Dridex Activity", "critical", None, "emerging-threats",
         lambda e: parent_is(e, "excel.exe") and image_is(e, "regsvr32.exe")
         and has(f(e, "CommandLine"), " -s ", "\\AppData\\Local\\Temp\\") and ".dll" not in f(e, "CommandLine")),
    Rule(SIGMA, "4fcac6eb", "Potential QBot Activity", "critical", None, "emerging-threats",
         lambda e: has_all(f(e, "CommandLine"), "regsvr32.exe", "C:\\ProgramData", ".tmp")
         or has(f(e, "CommandLine"), " /c ping.exe -n 6 127.0.0.1 & type ")
         or (parent_is(e, "WinRAR.exe") and image_is(e, "wscript.exe"))),
    Rule(SIGMA, "0033cf83", "Qakbot Regsvr32 Calc Pattern", "high", None, "emerging-threats",
         lambda e: image_is(e, "regsvr32.exe") and has(f(e, "CommandLine"), *windash(" -s"))
         and f(e, "CommandLine").endswith(" calc")),
    Rule(SIGMA, "bd70d3f8", "Potential APT-C-12 BlueMushroom DLL Load Activity Via Regsvr32", "medium", None,
         "emerging-threats", lambda e: has_all(f(e, "CommandLine"), "regsvr32", "\\AppData\\Local\\", ".dll",
                                               ",DllEntry")),
    Rule(SIGMA, "8acf3cfa", "EvilNum APT Golden Chickens Deployment Via OCX Files", "critical", None,
         "emerging-threats", lambda e: has_all(f(e, "CommandLine"), "regsvr32", "/s", "/i",
                                               "\\AppData\\Roaming\\", ".ocx")),
    Rule(SIGMA, "d52d2e87", "Raspberry Robin Subsequent Execution of Commands", "high", None,
         "emerging-threats", sigma_d52d2e87),
    Rule(SIGMA, "933f0bb5", "Potential Notepad++ CVE-2025-49144 Exploitation", "high", None,
         "emerging-threats", lambda e: image_is(e, "regsvr32.exe")
         and f(e, "CommandLine").startswith("regsvr32 /s") and "\\contextmenu\\nppshell.dll" in f(e, "CommandLine")
         and f(e, "Image") not in ("c:\\windows\\system32\\regsvr32.exe", "c:\\windows\\syswow64\\regsvr32.exe")),
]


# ---- Splunk ESCU (the CIM fields: process_name is the image's file name, process its command line) ----

ESCU_SILENT = re.compile(r"[\-|\/][Ss]{1}", re.I)          # c9ef7dc4, f421c250: no word boundary
ESCU_TRUSTED_PATHS = ("\\Program Files", "\\PROGRA~", "\\Windows\\System32\\", "\\Windows\\Syswow64\\")
ESCU_OFFICE = ("winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "onenote.exe", "onenotem.exe",
               "onenoteviewer.exe", "onenoteim.exe", "msaccess.exe")


def escu_fd496996(e):
    """LOLBAS executed as renamed file: the file name does not match the OriginalFileName regex."""
    ofn = f(e, "OriginalFileName")
    return (ofn == "regsvr32.exe" and not has(f(e, "Image"), *ESCU_TRUSTED_PATHS)
            and not re.search(ofn, name(f(e, "Image"))))


def escu_spawn(parent, rule_id, title):
    return Rule(ESCU, rule_id, title, "TTP", 54, "detections/endpoint",
                lambda e: name(f(e, "ParentImage")) == parent and name(f(e, "Image")) == "regsvr32.exe")


ESCU_RULES = [
    Rule(ESCU, "070e9b80", "Detect Regsvr32 Application Control Bypass", "TTP", 80, "detections/endpoint",
         lambda e: escu_regsvr32(e) and "scrobj" in f(e, "CommandLine")),
    Rule(ESCU, "c9ef7dc4", "Regsvr32 with Known Silent Switch Cmdline", "Anomaly", 56, "detections/endpoint",
         lambda e: escu_regsvr32(e) and bool(ESCU_SILENT.search(e.get("CommandLine", "")))),
    Rule(ESCU, "f421c250", "Regsvr32 Silent and Install Param Dll Loading", "Anomaly", 36,
         "detections/endpoint", lambda e: escu_regsvr32(e) and "/i" in f(e, "CommandLine")
         and bool(ESCU_SILENT.search(e.get("CommandLine", "")))),
    Rule(ESCU, "62732736", "Suspicious Regsvr32 Register Suspicious Path", "TTP", 35, "detections/endpoint",
         lambda e: escu_regsvr32(e) and has(f(e, "CommandLine"), "\\appdata\\", "\\programdata\\",
                                            "\\windows\\temp\\")
         and not has(f(e, "CommandLine"), ".dll", ".ax", ".ocx")),
    Rule(ESCU, "4aa5d062", "Mshta spawning Rundll32 OR Regsvr32 Process", "TTP", 56, "detections/endpoint",
         lambda e: name(f(e, "ParentImage")) == "mshta.exe" and escu_regsvr32(e)),
    Rule(ESCU, "1f35e1da", "Wscript Or Cscript Suspicious Child Process", "TTP", 49, "detections/endpoint",
         lambda e: name(f(e, "ParentImage")) in ("cscript.exe", "wscript.exe")
         and name(f(e, "Image")) == "regsvr32.exe"),
    Rule(ESCU, "2d9fc90c", "Office Application Spawn Regsvr32 process", "TTP", 63, "detections/endpoint",
         lambda e: name(f(e, "ParentImage")) in ESCU_OFFICE and escu_regsvr32(e)),
    Rule(ESCU, "7349a9e9", "Windows Regsvr32 Renamed Binary", "TTP", 64, "detections/endpoint",
         lambda e: name(f(e, "Image")) != "regsvr32.exe" and f(e, "OriginalFileName") == "regsvr32.exe"),
    Rule(ESCU, "326fdf44", "Windows LOLBAS Executed Outside Expected Path", "TTP", 40, "detections/endpoint",
         lambda e: name(f(e, "Image")) == "regsvr32.exe" and not has(f(e, "Image"), *ESCU_TRUSTED_PATHS)),
    Rule(ESCU, "fd496996", "Windows LOLBAS Executed As Renamed File", "TTP", 40, "detections/endpoint",
         escu_fd496996),
    escu_spawn("wmiprvse.exe", "95a455f0", "Wmiprsve LOLBAS Execution Process Spawn"),
    escu_spawn("services.exe", "ba9e1954", "Services LOLBAS Execution Process Spawn"),
    escu_spawn("svchost.exe", "09e5c72a", "Svchost LOLBAS Execution Process Spawn"),
    escu_spawn("mmc.exe", "f6601940", "Mmc LOLBAS Execution Process Spawn"),
    escu_spawn("wsmprovhost.exe", "2eed004c", "Wsmprovhost LOLBAS Execution Process Spawn"),
    Rule(ESCU, "61490da9", "Windows Masquerading Explorer As Child Process", "TTP", 81, "detections/endpoint",
         lambda e: name(f(e, "ParentImage")) in ("cmd.exe", "powershell.exe", "regsvr32.exe")
         and name(f(e, "Image")) == "explorer.exe" and f(e, "CommandLine").endswith("\\explorer.exe")),
    Rule(ESCU, "295ca9ed", "Windows DLL Side-Loading Process Child Of Calc", "Anomaly", 81,
         "detections/endpoint", lambda e: name(f(e, "ParentImage")) == "calc.exe"
         and name(f(e, "Image")) != "win32calc.exe"),
]


# ---- Elastic SIEM rules (detection-rules) ----

SIEM_UNUSUAL_DIRS = (
    "C:\\PerfLogs\\*", "C:\\Users\\Public\\*", "C:\\Windows\\Tasks\\*", "C:\\Intel\\*", "C:\\AMD\\Temp\\*",
    "C:\\$Recycle.Bin\\*") + tuple("C:\\Windows\\%s\\*" % d for d in (
        "AppReadiness", "ServiceState", "security", "IdentityCRL", "Branding", "csc", "DigitalLocker", "en-US",
        "wlansvc", "Prefetch", "Fonts", "diagnostics", "TAPI", "INF", "System32\\Speech", "tracing", "IME",
        "Performance", "intel", "ms", "dot3svc", "panther", "RemotePackages", "OCR", "appcompat", "apppatch",
        "addins", "Setup", "Help", "SKB", "Vss", "servicing", "CbsTemp", "Logs", "WaaS", "twain_32",
        "ShellExperiences", "ShellComponents", "PLA", "Migration", "debug", "Cursors", "Containers", "Boot",
        "bcastdvr", "TextInput", "schemas", "SchCache", "Resources", "rescache", "Provisioning", "PrintDialog",
        "PolicyDefinitions", "media", "Globalization", "L2Schemas", "LiveKernelReports", "ModemLogs",
        "ImmersiveControlPanel"))
SIEM_UNUSUAL_DIRS_PARENTS = ("C:\\WINDOWS\\System32\\DriverStore\\FileRepository\\*\\igfxCUIService*.exe",
                             "C:\\Windows\\System32\\spacedeskService.exe",
                             "C:\\Program Files\\Dell\\SupportAssistAgent\\SRE\\SRE.exe")
SIEM_OFFICE = ("eqnedt32.exe", "excel.exe", "fltldr.exe", "msaccess.exe", "mspub.exe", "powerpnt.exe",
               "winword.exe", "outlook.exe")
SIEM_TASK_DIRS = ("C:\\Users\\*", "C:\\ProgramData\\*", "C:\\Windows\\Temp\\*", "C:\\Windows\\Tasks\\*",
                  "C:\\PerfLogs\\*", "C:\\Intel\\*", "C:\\Windows\\Debug\\*", "C:\\HP\\*")
UNICODE_MODIFIERS = re.compile(u"[\u02b0-\u02ff\u1d2c-\u1dbb]")   # EQL regex [ʰ-˿ᴬ-ᶻ]


def elastic_regsvr32(e):
    """process.name : "regsvr32.exe" or process.pe.original_file_name == "REGSVR32.EXE"."""
    return name(f(e, "Image")) == "regsvr32.exe" or e.get("OriginalFileName") == "REGSVR32.EXE"


SIEM_RULES = [
    Rule(SIEM, "cff92c41", "Execution from Unusual Directory - Command Line", "medium", 47, "rules/windows",
         lambda e: name(f(e, "Image")) == "regsvr32.exe" and glob(argv(e.get("CommandLine", "")), *SIEM_UNUSUAL_DIRS)
         and not glob(e.get("ParentImage", ""), *SIEM_UNUSUAL_DIRS_PARENTS)
         and not glob(argv(e.get("CommandLine", "")), "?:\\Windows\\Help\\OEM\\scripts\\checkmui.dll")),
    Rule(SIEM, "a624863f", "Suspicious MS Office Child Process", "medium", 47, "rules/windows",
         lambda e: name(f(e, "ParentImage")) in SIEM_OFFICE and name(f(e, "Image")) == "regsvr32.exe"),
    Rule(SIEM, "32f4675e", "Suspicious MS Outlook Child Process", "low", 21, "rules/windows",
         lambda e: name(f(e, "ParentImage")) == "outlook.exe" and name(f(e, "Image")) == "regsvr32.exe"),
    Rule(SIEM, "37148ae6", "Command Obfuscation via Unicode Modifier Letters", "high", 73, "rules/windows",
         lambda e: elastic_regsvr32(e) and bool(UNICODE_MODIFIERS.search(e.get("CommandLine", "")))),
    Rule(SIEM, "8a1d4831", "Suspicious Execution from a Mounted Device", "medium", 47, "rules/windows",
         lambda e: glob(e.get("Image", ""), "C:\\*") and glob(e.get("CurrentDirectory", ""), "D:\\*", "E:\\*", "F:\\*")
         and name(f(e, "ParentImage")) == "explorer.exe" and name(f(e, "Image")) == "regsvr32.exe"),
    Rule(SIEM, "9a5b4e31", "Suspicious Explorer Child Process", "medium", 47, "rules/windows",
         lambda e: elastic_regsvr32(e) and name(f(e, "ParentImage")) == "explorer.exe"
         and glob(argv(e.get("ParentCommandLine", "")), "-Embedding")
         and not glob(argv(e.get("ParentCommandLine", "")), "/factory,{5BD95610-9434-43C2-886C-57852CC8A120}",
                      "/factory,{ceff45ee-c862-41de-aee2-a022c81eda92}")),
    Rule(SIEM, "5d1d6907", "Suspicious Execution via Scheduled Task", "medium", 47, "rules/windows",
         lambda e: name(f(e, "ParentImage")) == "svchost.exe" and glob(argv(e.get("ParentCommandLine", "")), "Schedule")
         and e.get("OriginalFileName") == "REGSVR32.EXE" and glob(argv(e.get("CommandLine", "")), *SIEM_TASK_DIRS)),
]


# ---- Elastic Defend endpoint behaviour rules (protections-artifacts), all with kill_process ----

EP_UNUSUAL_ARGS = ("*.jpg*", "*.png*", "*.gif*", "*.bmp*", "*.jpeg*", "*.TIFF*", "*.tmp*", "*.dat*", "*.pdf*",
                   "*.doc*", "*.xls*", "*.ppt*", "*.txt*", "* ?:/*/*", "* ..\\*", "*DumpStack.log*",
                   "*:\\Users\\Public\\*", "*:\\Users\\*\\Documents\\*", "*:\\Users\\*\\Pictures\\*",
                   "*:\\Users\\*\\Music\\*", "*:\\Windows\\Tasks\\*", "*:\\Windows\\System32\\tasks\\*",
                   "*\\DavWWWRoot\\*")
EP_UNUSUAL_ARGS_ALLOWED = ("?:\\Windows\\Microsoft.NET\\*", "?:\\Windows\\assembly\\NativeImages*",
                           "?:\\Windows\\Installer\\MSI*", "?:\\Windows\\system32\\Codejock.DockingPane.*.ocx",
                           "?:\\windows\\system32\\Msjet35.dll", "?:\\windows\\system32\\Msrd2x35.dll",
                           "System.Data.dll", "Atalasoft.*.dll", "DTI.ImageMan.Codecs.Pdf.dll",
                           "?:\\windows\\system32\\ChartFX.ClientServer.Data.dll",
                           "?:\\Windows\\SysWOW64\\ChartFX.ClientServer.Data.dll")
EP_TRUSTED_EXES = ("?:\\Windows\\System32\\*.exe", "?:\\Windows\\SysWOW64\\*.exe", "?:\\Program Files (x86)\\*.exe",
                   "?:\\Program Files\\*.exe")


def ep_0524c24c(e):
    """Regsvr32 Scriptlet Execution (the SYSTEM-integrity filter cannot be applied: no such field)."""
    cl, raw = f(e, "CommandLine"), e.get("CommandLine", "")
    scriptlet = "scrobj" in cl and glob(raw, "* /i:*", "* -i:*", "*.sct*")
    renamed = glob(raw, "* /u*") and glob(raw, "* /i:C:\\*", "* /i:\"C:\\*", "* -i:C:\\*", "* -i:\"C:\\*",
                                          "* /i:*http*", "* -i:*http*")
    msiexec = glob(e.get("ParentImage", ""), "?:\\Windows\\SysWOW64\\msiexec.exe", "?:\\Windows\\system32\\msiexec.exe")
    return ((e.get("OriginalFileName", "").lower() == "regsvr32.exe" or name(f(e, "Image")) == "regsvr32.exe")
            and (scriptlet or renamed) and not glob(raw, "*:\\Program Files\\*", "*:\\Program Files (x86)\\*")
            and not (msiexec and "scrobj.dll" not in cl))


def ep_5db08297(e):
    """Regsvr32 with Unusual Arguments."""
    raw, args, cwd = e.get("CommandLine", ""), argv(e.get("CommandLine", "")), e.get("CurrentDirectory", "")
    parent_args = argv(e.get("ParentCommandLine", ""))
    drive_root = len(args) == 2 and glob(cwd, "?:\\") and not glob(cwd, "C:\\")
    return (name(f(e, "Image")) == "regsvr32.exe" and (drive_root or glob(raw, *EP_UNUSUAL_ARGS))
            and not glob(args, "?:\\Program Files (x86)\\*", "?:\\Program Files\\*")
            and not (glob(raw, "* ..\\*") and glob(raw, "* ..\\*\\*"))
            and not glob(e.get("ParentImage", ""), "?:\\Program Files (x86)\\Tencent\\QQPCMgr\\*\\QQPCTray.exe",
                         "?:\\Eaglesoft\\Shared Files\\OcxReg.exe",
                         "C:\\Program Files\\LANDesk\\ManagementSuite\\Install Only Files\\LaunchApp.exe")
            and not glob(raw, "*\\Program Files (x86)\\Tencent\\QQPCMgr\\*.dat*", "*QQPCMgr*TSWebMon64.dat*",
                         "*BarTender Suite\\Codejock.DockingPane.x64.v15.3.1.ocx*")
            and not (glob(args, "?:\\Users\\*\\AppData\\Local\\Microsoft\\TeamsMeetingAddin\\*\\"
                                "Microsoft.Teams.AddinLoader.dll") and glob(args, "/i:user"))
            and not (glob(args, "..\\*.dll")
                     and glob(cwd, "?:\\Program Files\\LANDesk\\ManagementSuite\\Install Only Files\\"))
            and not (name(f(e, "ParentImage")) == "msiexec.exe" and glob(parent_args, "-Embedding"))
            and not (glob(e.get("Image", ""), "?:\\Users\\*\\AppData\\Local\\Temp\\SSM*.tmp\\REGSVR32.EXE")
                     and glob(args, "?:\\WINDOWS\\system32\\*.dll"))
            and not glob(args, *EP_UNUSUAL_ARGS_ALLOWED)
            and not (glob(e.get("ParentImage", ""), "C:\\Windows\\SysWOW64\\cmd.exe")
                     and glob(args, "C:\\Users\\*\\AppData\\Local\\Temp\\is-*.tmp\\QClickV?\\Driver\\QClickV?_x64.ocx",
                              "(x86)\\eClinicalWorks_Prod\\RegBlg.bat"))
            and raw != "regsvr32  DevExpress.Data.v14.1.dll")


EP_RULES = [
    Rule(EP, "0524c24c", "Regsvr32 Scriptlet Execution", "prevention", None, "behavior/rules", ep_0524c24c),
    Rule(EP, "5db08297", "Regsvr32 with Unusual Arguments", "prevention", None, "behavior/rules", ep_5db08297),
    Rule(EP, "4bdd5646", "Script Execution from WebDav", "prevention", None, "behavior/rules",
         lambda e: name(f(e, "Image")) == "regsvr32.exe"
         and (glob(e.get("CommandLine", ""), "*@SSL\\*", "*\\webdav\\*", "*\\DavWWWRoot\\*")
              or glob(argv(e.get("CommandLine", "")), "\\\\*.*@8080\\*", "\\\\*.*@80\\*", "\\\\*.*@8443\\*",
                      "\\\\*.*@443\\*"))),
    Rule(EP, "c34a9dca", "Suspicious Microsoft Office Child Process", "prevention", None, "behavior/rules",
         lambda e: name(f(e, "ParentImage")) in ("excel.exe", "powerpnt.exe", "winword.exe")
         and f(e, "OriginalFileName") == "regsvr32.exe"
         and not glob(argv(e.get("CommandLine", "")), "-Embedding", "-hashfile")
         and not (name(f(e, "Image")) == "regsvr32.exe"
                  and glob(argv(e.get("CommandLine", "")), "?:\\Program Files\\*", "?:\\Program Files (x86)\\*",
                           "?:\\Windows\\system32\\*.dll", "?:\\Windows\\system32\\*.ocx"))),
    Rule(EP, "b0207677", "Execution via Renamed Signed Binary Proxy", "prevention", None, "behavior/rules",
         lambda e: e.get("OriginalFileName") == "REGSVR32.EXE" and name(f(e, "Image")) != "regsvr32.exe"
         and not glob(e.get("Image", ""), *EP_TRUSTED_EXES)),
    # user.id != S-1-5-18 cannot be checked (Sysmon 1 has the user name only); taken as not SYSTEM
    Rule(EP, "2c7b91fa", "Command Obfuscation via Unicode Modifier Letters", "prevention", None,
         "behavior/rules", lambda e: elastic_regsvr32(e) and bool(UNICODE_MODIFIERS.search(e.get("CommandLine", "")))),
]


# ---- MITRE CAR ----

CAR_RULES = [
    # Main pattern: any child of regsvr32 that is not itself regsvr32.
    Rule(CAR, "CAR-2019-04-002", "Generic Regsvr32", "analytic", None, "analytics",
         lambda e: f(e, "ParentImage").endswith("regsvr32.exe") and "regsvr32.exe" not in f(e, "Image")),
    # The analytic's Splunk implementation (any scrobj.dll on the command line); its pseudocode form,
    # command_line == "*scrobj.dll", is stricter, so this is the generous reading.
    Rule(CAR, "CAR-2019-04-003", "Squiblydoo", "analytic", None, "analytics",
         lambda e: f(e, "Image").endswith("regsvr32.exe") and "scrobj.dll" in f(e, "CommandLine")),
]

RULES = SIGMA_RULES + ESCU_RULES + SIEM_RULES + EP_RULES + CAR_RULES


def is_alert(rule):
    return ALERTS[rule.vendor](rule)


def matches(event):
    """The rules that fire on one event."""
    return [r for r in RULES if r.match(event)]

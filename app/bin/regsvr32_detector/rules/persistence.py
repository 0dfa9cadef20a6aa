"""Rules that read persistence and COM registration: registry writes, scheduled tasks and
services that set up regsvr32 or a scriptlet to run later.
"""
from .. import cmdline, winpath
from ..fields import PERSISTENCE, PROCESS, REGISTRY
from ..registry import actor, any_event, rule
from ..sigma_spec import BY_REGSVR32, not_exportable, spec
from .tables import T, clip

PERSISTENCE_TOOLS = frozenset(("schtasks.exe", "reg.exe", "sc.exe"))
_AUTORUN_KEYS = ("\\currentversion\\run", "\\currentversion\\policies\\explorer\\run",
                 "\\winlogon\\", "\\currentversion\\runservices", "\\image file execution options\\",
                 "\\imagepath", "\\command\\(default)")
REMCOS_CLSID = "{89565275-a714-4a43-912e-978b935edccc}"


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
        return "COM class points at a scriptlet URL: %s = %s" % (key, clip(ev.registry_data))
    if "\\inprocserver32" not in key:
        return None
    if winpath.basename(data.strip('"')) == "scrobj.dll":
        remcos = " (the CLSID Remcos uses)" if REMCOS_CLSID in key else ""
        return "COM class %s is served by scrobj.dll%s" % (clip(ev.registry_path), remcos)
    if REMCOS_CLSID in key:
        return "COM class %s, the one Remcos hijacks, now points at %s" % (
            REMCOS_CLSID, clip(ev.registry_data))
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
    return "regsvr32 registered an icon-overlay handler %s" % clip(ev.registry_path)


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
        text, how = ev.registry_data, "autorun value %s" % clip(ev.registry_path, 100)
    elif ev.image_name in PERSISTENCE_TOOLS:
        text, how = ev.command_line, ev.image_name
    else:
        return None
    for shown in [text] + cmdline.powershell_commands(text, *_program_names(ev)):
        at = shown.lower().find("regsvr32")
        if at >= 0:
            hidden = "" if shown is text else " (in an encoded PowerShell command)"
            return "%s launches regsvr32%s: %s" % (how, hidden, clip(shown[at:], 200))
    return None


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
        if text and cmdline.has_encoded_switch(text):     # (most texts: no switch at all)
            decoded, at = _regsvr32_in(text, _program_names(ev))
            if decoded is not None:
                return "the %s holds an encoded PowerShell command that runs %s" % (
                    how, clip(decoded[at:], 200))
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
            return "regsvr32 registered an %s: %s" % (what, clip(ev.registry_path))
        if "\\" not in data:            # a function name, a flag, or a bare name from System32
            return None
        t = winpath.classify(data.split(",")[0].strip('"'))
        if t.location == winpath.WINDOWS and not t.anomalies:
            return None
        if what not in _TRUST_PROVIDERS and t.location == winpath.PROGRAM_FILES:
            return None
        return "regsvr32 made %s a %s: %s" % (clip(data, 120), what, clip(ev.registry_path))
    return None

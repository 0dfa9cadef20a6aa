"""Rules that read regsvr32's own telemetry: network connections, DNS look-ups, module loads,
remote threads and file writes.
"""
from .. import winpath
from ..fields import DNS, FILE, IMAGE_LOAD, NETWORK, REGSVR32, REMOTE_THREAD
from ..registry import actor, any_event, rule
from ..sigma_spec import BY_REGSVR32, NON_PUBLIC, ends, not_exportable, spec
from .tables import T, location_of

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


def _connection(ev, public):
    if ev.initiated.lower() == "false":
        return None
    ip, _ = winpath.parse_ip(ev.dest_ip)
    if ip is None or winpath.is_public(ip) != public:
        return None
    where = "public" if public else "non-public (private, loopback or reserved)"
    return "regsvr32 connected to %s address %s%s" % (
        where, ip, (":" + ev.dest_port) if ev.dest_port else "")


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
        return "regsvr32 loaded %s from %s" % (ev.image_loaded, location_of(t))
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

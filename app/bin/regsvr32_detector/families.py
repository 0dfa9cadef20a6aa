"""Detection families: the correlation searches, one per family. Each rule names its family.

The correlation searches in ``default/savedsearches.conf``, the analytic story in
``default/analyticstories.conf``, the ``_filter`` macros, the Sigma rules in ``sigma/`` and the
ATT&CK Navigator layer are generated from this table, the other searches below and the rules'
own metadata: ``python3 tools/build.py``; tests/test_build.py fails when the files and the
declarations disagree.

Enterprise Security metadata follows Splunk ESCU (contentctl): a detection's type decides what
it raises. TTP: a finding (notable) and risk; Anomaly: risk only; Hunting: neither.
"""

from .registry import FAMILY_KEYS

APP_LABEL = "regsvr32"

# The analytic story every search belongs to (analyticstories.conf, ESCU's form).
STORY = {
    "name": "Regsvr32 Signed Binary Proxy Execution",
    "version": "1",
    "last_updated": "2026-11-29",
    "maintainer": {"company": "regsvr32detect project", "email": "-", "name": "regsvr32detect project"},
    "category": "Adversary Tactics",
    "description": "Detect abuse of regsvr32.exe (MITRE ATT&CK T1218.010): scriptlets run "
                   "through scrobj.dll, modules fetched from the network or disguised as other "
                   "files, odd parents and children, renamed copies, unsigned module loads, "
                   "network activity and persistence that launches regsvr32.",
    "narrative": "regsvr32.exe registers and unregisters COM modules. Because it is signed by "
                 "Microsoft and can load any DLL or, through scrobj.dll, run a scriptlet from a "
                 "URL (Squiblydoo), attackers use it to run code past application control. "
                 "These searches score each regsvr32 event with the regsvr32detect command "
                 "(rules that parse the command line as Windows does) and raise risk on the "
                 "host and user. When one fires: check OriginalFileName and the image path "
                 "(a renamed or relocated copy), the module path and extension, whether a "
                 "scriptlet (/i:) or URL was given, the parent process (Office, script hosts, "
                 "WMI), the modules regsvr32 loaded, its network connections and children, and "
                 "retrieve the scriptlet or module for analysis.",
    "references": [
        "https://attack.mitre.org/techniques/T1218/010/",
        "https://lolbas-project.github.io/lolbas/Binaries/Regsvr32/",
        "https://car.mitre.org/analytics/CAR-2019-04-002/",
        "https://car.mitre.org/analytics/CAR-2019-04-003/",
    ],
}

# Data sources as ESCU names them, and what must be in place for each pre-filter.
SYSMON = "Sysmon EventID %d"
PROCESS_SOURCES = (SYSMON % 1, "Windows Event Log Security 4688")
TSTATS_HOW_TO = ("Needs process creation events with full command lines (Sysmon event 1, or "
                 "Security 4688 with command-line auditing) mapped to the CIM Endpoint.Processes "
                 "data model by the Splunk Add-on for Sysmon or for Windows; set "
                 "`regsvr32_summariesonly` to summariesonly=true once the data model is "
                 "accelerated and complete.")
EVENTS_HOW_TO = ("Reads raw Windows events through the `regsvr32_events` macro (Sysmon and "
                 "Security/System event logs with their standard source names); add your index "
                 "to that macro in local/macros.conf.")


class Family(object):
    __slots__ = ("key", "title", "search_name", "filter_macro", "summary", "type", "prefilter",
                 "minute", "data_sources", "how_to_implement", "known_false_positives",
                 "threat_objects")

    def __init__(self, *, key, title, summary, type, prefilter, minute, data_sources,
                 how_to_implement, known_false_positives, threat_objects=("process", "parent")):
        self.key, self.title, self.summary = key, title, summary
        self.search_name = "%s - %s - Rule" % (APP_LABEL, title)
        self.filter_macro = "regsvr32_%s_filter" % key
        self.type, self.prefilter, self.minute = type, prefilter, minute
        self.data_sources = tuple(data_sources)
        base = TSTATS_HOW_TO if prefilter == "tstats" else EVENTS_HOW_TO
        self.how_to_implement = (base + " " + how_to_implement).strip()
        self.known_false_positives = known_false_positives
        # result fields ES records as threat objects (THREAT_OBJECT_TYPES gives their types)
        self.threat_objects = tuple(threat_objects)

    def __repr__(self):
        return "Family(%s)" % self.key


# ES threat-object type of each result field a search may name as a threat object.
# module and remote come from the `regsvr32_targets` macro; the others are Sysmon's own fields.
THREAT_OBJECT_TYPES = {
    "process": "process", "parent": "parent_process", "module": "file_path", "remote": "url",
    "ImageLoaded": "file_path", "DestinationIp": "ip_address", "QueryName": "domain",
    "TargetObject": "registry_path", "file": "file_path", "regsvr32_signature": "signature",
    "process_hash": "file_hash", "module_hash": "file_hash",
}

FAMILIES = (
    Family(
        key="scriptlets_and_remote_payloads",
        title="Scriptlets And Remote Payloads",
        summary="regsvr32 runs a scriptlet through scrobj.dll (Squiblydoo) or a renamed copy, or "
                "loads a module or scriptlet from a URL, a raw or encoded IP address, an SMB share or "
                "WebDAV (L01-L04, L13).",
        type="TTP",
        prefilter="tstats",
        minute=5,
        data_sources=PROCESS_SOURCES,
        how_to_implement="",
        known_false_positives="Few: some installers register a local scriptlet with scrobj.dll; software "
                              "deployment from a file share (R32-012) is the commonest benign case. Allowlist "
                              "them in regsvr32_allowlist_local.",
        threat_objects=("process", "parent", "module", "remote", "process_hash")),
    Family(
        key="suspicious_paths_and_disguised_extensions",
        title="Suspicious Paths And Disguised Extensions",
        summary="regsvr32 registers a module from a user-writable or malware-favoured folder, another "
                "drive or an unusual folder, or a module disguised as an image, document, log or temp "
                "file; known campaign patterns (L09-L12, L28, L31).",
        type="Anomaly",
        prefilter="tstats",
        minute=10,
        data_sources=PROCESS_SOURCES,
        how_to_implement="The working directory (Sysmon CurrentDirectory) resolves relative "
                         "module paths; without it only absolute paths are judged.",
        known_false_positives="Per-user software (Teams, WebEx, Zoom, browser plug-ins) and installers unpacking "
                              "to Temp or ProgramData register modules there; line-of-business software lives in "
                              "unusual folders. The shipped allowlist clears the common ones.",
        threat_objects=("process", "parent", "module", "process_hash")),
    Family(
        key="implicit_dllregisterserver_and_odd_invocations",
        title="Implicit DllRegisterServer And Odd Invocations",
        summary="Silent DllRegisterServer calls on modules outside Windows and Program Files, /i "
                "without /n, regsvr32 with no arguments (sacrificial process), and path or switch "
                "syntax that only serves to evade string rules (L05-L08, L21, L29, L30).",
        type="Anomaly",
        prefilter="tstats",
        minute=15,
        data_sources=PROCESS_SOURCES,
        how_to_implement="",
        known_false_positives="Administrators' scripts and installers call regsvr32 /s on their own modules, "
                              "sometimes with /i; scores are low to medium for that reason.",
        threat_objects=("process", "parent", "module", "process_hash")),
    Family(
        key="parent_lineage",
        title="Parent Lineage",
        summary="regsvr32 started by a script host, an Office application, or a server or "
                "remote-execution host (L14-L16).",
        type="TTP",
        prefilter="tstats",
        minute=20,
        data_sources=PROCESS_SOURCES,
        how_to_implement="",
        known_false_positives="Logon scripts and software deployment (SCCM, Intune, GPO scripts run by cmd, "
                              "PowerShell or services) register modules this way; allowlist by parent and module.",
        threat_objects=("process", "parent", "module", "process_hash")),
    Family(
        key="children_of_regsvr32",
        title="Children Of Regsvr32",
        summary="Processes started by regsvr32 and threads it creates in other processes: the "
                "registered code is running commands or injecting (L17, L34).",
        type="TTP",
        prefilter="events",
        minute=25,
        data_sources=(SYSMON % 1, SYSMON % 8, "Windows Event Log Security 4688"),
        how_to_implement="Sysmon 8 (CreateRemoteThread) is needed for the injection rule.",
        known_false_positives="Registration code of some installers starts helper processes; WerFault after a "
                              "crash is already ignored.",
        threat_objects=("process", "parent", "process_hash")),
    Family(
        key="renamed_or_relocated_binary",
        title="Renamed Or Relocated Binary",
        summary="A renamed copy of regsvr32 (OriginalFileName or file description) or regsvr32.exe "
                "running outside System32 and SysWOW64 (L18, L19).",
        type="TTP",
        prefilter="tstats",
        minute=30,
        data_sources=PROCESS_SOURCES,
        how_to_implement="Renamed copies are found by OriginalFileName, which Sysmon and "
                         "EDRs log and Security 4688 does not.",
        known_false_positives="Software that ships its own copy of regsvr32 (rare; allowlist by image path).",
        threat_objects=("process", "parent", "process_hash")),
    Family(
        key="image_loads",
        title="Image Loads",
        summary="Sysmon image loads: regsvr32 loads an unsigned or untrusted module, a module from a "
                "user-writable folder or with an odd extension, the scriptlet runtime or the .NET "
                "runtime (L12, L22, L24, L25).",
        type="Anomaly",
        prefilter="events",
        minute=35,
        data_sources=(SYSMON % 7,),
        how_to_implement="Needs Sysmon 7 (image load) with signature fields for regsvr32.exe; a configuration "
                         "that logs every image load is costly, so include regsvr32 and scrobj.dll loads.",
        known_false_positives="Unsigned in-house or legacy COM modules; .NET COM servers load the CLR.",
        threat_objects=("ImageLoaded", "module_hash")),
    Family(
        key="network",
        title="Network",
        summary="regsvr32 connects to a public or internal address or resolves a host name (L20).",
        type="Anomaly",
        prefilter="events",
        minute=40,
        data_sources=(SYSMON % 3, SYSMON % 22),
        how_to_implement="Needs Sysmon 3 (network connection) and 22 (DNS query).",
        known_false_positives="Modules that check for updates or licences during registration; certificate "
                              "revocation lookups.",
        threat_objects=("DestinationIp", "QueryName")),
    Family(
        key="registry_persistence_and_scrobj_com_hijack",
        title="Registry Persistence And Scrobj COM Hijack",
        summary="A COM class pointed at scrobj.dll or a scriptlet URL, an icon-overlay handler "
                "registered by regsvr32, or a scheduled task, service or autorun value that launches "
                "regsvr32 (L26, L33).",
        type="TTP",
        prefilter="events",
        minute=45,
        data_sources=(SYSMON % 12, SYSMON % 13, SYSMON % 14, "Windows Event Log Security 4698",
                     "Windows Event Log Security 4702", "Windows Event Log Security 4697",
                     "Windows Event Log System 7045"),
        how_to_implement="Needs Sysmon registry events (12-14) and task and service auditing (4697, 4698, "
                         "4702, 7045).",
        known_false_positives="Legitimate scriptlet components registered with scrobj.dll; scheduled tasks of "
                              "software that re-registers its modules.",
        threat_objects=("process", "TargetObject")),
)
FAMILIES_BY_KEY = dict((f.key, f) for f in FAMILIES)
if tuple(FAMILIES_BY_KEY) != FAMILY_KEYS:
    raise ValueError("families.py and registry.FAMILY_KEYS name different families")


class Search(object):
    """ES metadata of a hand-written correlation search (its SPL stays in savedsearches.conf).

    steps: (result field, rule ids) pairs: the generator writes each field's
    mvfind(regsvr32_rules, ...) test from them, and the search's ATT&CK ids are its steps' rules'.
    """
    __slots__ = ("name", "filter_macro", "type", "techniques", "data_sources",
                 "how_to_implement", "known_false_positives", "steps")

    def __init__(self, title, filter_macro, type, techniques, data_sources, how_to_implement,
                 known_false_positives, steps=()):
        self.name = "%s - %s - Rule" % (APP_LABEL, title)
        self.filter_macro, self.type = filter_macro, type
        self.techniques, self.data_sources = tuple(techniques), tuple(data_sources)
        self.how_to_implement = how_to_implement
        self.known_false_positives = known_false_positives
        self.steps = tuple((field, tuple("R32-" + n for n in ids.split())) for field, ids in steps)


# A child of regsvr32 (the step, and the process whose ProcessGuid the steps share).
CHILD_RULES = "017 018"
OTHER_SEARCHES = (
    Search("Scriptlet Or Disguised Module Then Follow-up Activity",
           "regsvr32_scriptlet_then_follow_up_filter", "TTP", (),
           (SYSMON % 1, SYSMON % 3, SYSMON % 7),
           EVENTS_HOW_TO + " Needs Sysmon 1, 3 and 7 with ProcessGuid, which ties the steps "
           "of one regsvr32 process together.",
           "Rare: a module fetched from a share or URL that then connects out or loads an "
           "unsigned module during registration.",
           (("proc_guid", CHILD_RULES),
            # a scriptlet, or a remote, shared or disguised module
            ("launch_time", "001 002 003 004 008 010 012 013"),
            ("network_time", "021 022 023"),
            # an unsigned, untrusted or oddly placed module load
            ("load_time", "025 026 029"),
            ("child_time", CHILD_RULES))),
    Search("Module Written By Office Script Host Or Downloader Then Loaded",
           "regsvr32_module_written_then_loaded_filter", "TTP", ("T1105", "T1204.002", "T1218.010"),
           (SYSMON % 7, SYSMON % 11),
           "Reads Sysmon through the `regsvr32_sysmon` macro (add your index there in "
           "local/macros.conf). Needs Sysmon 11 (file create) for the writers and 7 (image load) "
           "for regsvr32.",
           "Installers run from a script or cmd that copy a module and register it; tune "
           "`regsvr32_payload_writers`."),
    Search("New Since Last Month", "regsvr32_new_since_last_month_filter", "Anomaly",
           ("T1218.010",), PROCESS_SOURCES,
           EVENTS_HOW_TO + " Enable \"regsvr32 - Baseline - Update\" first and run it once over "
           "the last 30 days.",
           "New software and updates: new is not malicious, it is what an analyst has not seen."),
)

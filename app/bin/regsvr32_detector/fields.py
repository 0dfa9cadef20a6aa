"""One event from Sysmon, Security 4688, CIM Endpoint, a persistence log or an EDR, as one Event.

Field names are data: ALIASES lists, for each of our names, the source names in order; the
first non-empty value wins and ``""`` and ``-`` count as missing (in paths, names and event
codes, PLACEHOLDERS too). Every value of a multivalue field is judged (variants). Rows that cannot concern
regsvr32 are rejected by one cheap test before any of that work (most rows in a real stream
are ordinary processes). EDR telemetry (CrowdStrike, Defender for Endpoint, SentinelOne,
Carbon Black Cloud, Elastic ECS) is read by the tables of EDR_SHAPES, picked once per kept row
by the field that names the vendor's event type (see normalize: a placeholder there names
nothing, and a row no reader reads raises Unreadable).
"""
import functools

from . import cmdline, winpath

# Event kinds.
PROCESS, NETWORK, IMAGE_LOAD, REMOTE_THREAD, FILE, REGISTRY, DNS, PERSISTENCE = (
    "process", "network", "image_load", "remote_thread", "file", "registry", "dns", "persistence")

_CIM = lambda *names: tuple(n for name in names for n in (name, "Processes." + name))  # noqa: E731

# our name -> source field names, most specific first
ALIASES = (
    ("event_code", ("EventCode", "EventID", "event_id")),
    ("image", ("Image", "NewProcessName", "New_Process_Name") + _CIM("process_path")
     + ("Application", "Application_Name")),
    ("process_name", _CIM("process_name")),
    ("command_line", ("CommandLine", "Process_Command_Line") + _CIM("process")),
    ("parent_image", ("ParentImage", "ParentProcessName", "Creator_Process_Name")
     + _CIM("parent_process_path")),
    ("parent_process_name", _CIM("parent_process_name")),
    ("parent_command_line", ("ParentCommandLine",) + _CIM("parent_process")),
    ("original_file_name", ("OriginalFileName",) + _CIM("original_file_name")),
    ("description", ("Description",)),
    ("cwd", ("CurrentDirectory",) + _CIM("process_current_directory")),
    ("integrity", ("IntegrityLevel", "MandatoryLabel") + _CIM("process_integrity_level")),
    ("user", ("User",) + _CIM("user") + ("TargetUserName", "SubjectUserName", "Account_Name")),
    ("host", ("Computer", "ComputerName") + _CIM("dest") + ("host",)),
    ("process_guid", ("ProcessGuid", "SourceProcessGuid") + _CIM("process_guid")),
    ("process_id", ("NewProcessId", "New_Process_ID", "ProcessId", "SourceProcessId")
     + _CIM("process_id")),
    ("parent_guid", ("ParentProcessGuid",) + _CIM("parent_process_guid")),
    ("parent_id", ("ParentProcessId", "Creator_Process_ID") + _CIM("parent_process_id")),
    ("hashes", ("Hashes",) + _CIM("process_hash")),
    ("image_loaded", ("ImageLoaded",)),
    ("signed", ("Signed",)),
    ("signature", ("Signature",)),
    ("signature_status", ("SignatureStatus",)),
    ("dest_ip", ("DestinationIp", "dest_ip", "All_Traffic.dest_ip", "DestAddress",
                 "Destination_Address")),
    ("dest_port", ("DestinationPort", "dest_port", "All_Traffic.dest_port", "DestPort",
                   "Destination_Port")),
    ("dest_host", ("DestinationHostname", "dest_host")),
    ("initiated", ("Initiated",)),
    ("direction", ("Direction",)),
    ("query_name", ("QueryName", "query")),
    ("source_image", ("SourceImage",)),
    ("target_image", ("TargetImage",)),
    ("target_filename", ("TargetFilename",)),
    ("registry_path", ("TargetObject", "registry_path", "Registry.registry_path", "ObjectName")),
    ("registry_data", ("Details", "registry_value_data", "Registry.registry_value_data")),
    ("task_content", ("TaskContent", "Task_Content")),
    ("service_path", ("ImagePath", "ServiceFileName", "Service_File_Name")),
)
FIELD_NAMES = tuple(name for name, _ in ALIASES)
# Values no rule, score or signature reads: which process an event is (a process id or GUID
# never repeats), who ran it and where. Only an allowlist column may read one (each column
# declares the values it reads: allowlist_columns.MATCHER_TABLE sources), so the detector
# leaves out of the key it remembers a verdict under exactly these values minus those the
# columns in use read (Detector.__init__): never a list of names kept by hand.
IDENTITY = frozenset(("event_code", "process_guid", "process_id", "parent_guid", "parent_id",
                      "hashes", "integrity", "user", "host"))
# source field -> (our name, rank): one dict look-up per field of the row
SOURCES = dict((src, (name, rank)) for name, sources in ALIASES
               for rank, src in enumerate(sources))

# Where a regsvr32 trace can show up; only these fields are read by the cheap test.
_SCANNED = ("image", "process_name", "command_line", "parent_image", "parent_process_name",
            "original_file_name", "description", "image_loaded", "source_image",
            "target_filename", "registry_path", "registry_data", "task_content", "service_path")
# Lower-case marks of regsvr32 activity: its name, its file description (a renamed copy
# without OriginalFileName still says "Microsoft(C) Register Server"), the scriptlet runtime,
# the COM value that points a class at a scriptlet, and a scriptlet fetched with /i:http(s)
# (a renamed copy in a log without OriginalFileName, such as 4688).
MARKS = ("regsvr32", "register server", "scrobj", "scriptleturl", "i:http")
# A renamed copy is also known by a command line only regsvr32 takes (Event._runs_like_regsvr32:
# /i: and a remote scriptlet or scrobj.dll) written with quotes anywhere ("scr""obj", /i:"http),
# over a share (\\host, //host, \??\UNC\) or any URL scheme: a row holding "i:" is read once its
# quotes are dropped and its slashes made backslashes (SLASHED), for one of these.
RUNS_LIKE = ("i:", ("scrobj", "\\\\", "\\??\\unc"))
# Attackers also hide regsvr32 in an encoded PowerShell command: a row that names PowerShell is
# decoded to look (the rules decode only commands that name it, cmdline.powershell_commands).
ENCODED_HINTS = cmdline.POWERSHELL_HINTS


def _prefixes(word, shortest=1):
    return tuple(word[:n] for n in range(shortest, len(word) + 1))


def _after_blank(*terms):
    """TERMS, and each as JSON raw text writes it after a tab or line break (\\t glues a t to the
    word: \\tscrobj is the token tscrobj) or with its Unicode dash escaped (\\u2013e: u2013e)."""
    out = []
    for term in terms:
        quote = '"' if term[:1] == '"' else ""
        word = term.strip('"')
        out += [term] + [quote + c + word + quote for c in "tnr"]
        if word[:1] in cmdline.UNICODE_DASHES:
            out.append(quote + "u%04x" % ord(word[0]) + word[1:] + quote)
    return tuple(out)


# The same, as SPL's raw pre-filter searches it (macros.conf regsvr32_marks, which
# tools/build.py writes from this table; tests/test_conf.py checks that every row a rule
# flags passes it, as text, XML and JSON). Splunk matches a word against the tokens of an event's
# raw text (the pieces between blanks, quotes, brackets, ; , & ? + and between / : = @ . - $ # % \
# _ within them; a Unicode dash breaks nothing), a word* against the tokens it starts, and a quoted
# phrase where its pieces are tokens and its text is in the raw text. Each entry is a clause, the
# macro their OR; a clause's groups must all match, a group by any of its terms.
_DASHES = tuple(sorted(cmdline.UNICODE_DASHES))
SPL_MARKS = (
    # the name, the scriptlet runtime, the COM value, the file description a renamed copy keeps
    (_after_blank("regsvr32", "scrobj", "ScriptletURL") + ('"Register Server"',),),
    # a renamed copy without OriginalFileName is read by its /i: (RUNS_LIKE): the one switch of
    # regsvr32 with a colon. Its argument cannot be searched as text (any URL scheme, a share, quotes
    # anywhere), so every /i: passes: after / or - (which split words), or a Unicode dash (part of
    # the word it starts)
    (('"i:"',) + _after_blank(*('"%si:"' % d for d in _DASHES)),),
    # an encoded command in a row that names PowerShell: the switch as PowerShell takes it (-ec or
    # any prefix of -EncodedCommand after / or -; any word after a Unicode dash that starts with e),
    # not every PowerShell event
    (_after_blank("powershell", "pwsh", "WindowsPowerShell"),
     ("ec",) + _prefixes("encodedcommand") + _after_blank(*(d + "e*" for d in _DASHES))),
)

KIND_BY_CODE = {
    "1": PROCESS, "4688": PROCESS, "3": NETWORK, "7": IMAGE_LOAD, "8": REMOTE_THREAD,
    "11": FILE, "12": REGISTRY, "13": REGISTRY, "14": REGISTRY, "22": DNS,
    "4698": PERSISTENCE, "4702": PERSISTENCE, "7045": PERSISTENCE, "4697": PERSISTENCE,
    "5156": NETWORK,
}
# Security 5156 (the Windows Filtering Platform permitted a connection) is the one network record
# of a process where Sysmon is absent: Application (an NT device path), DestAddress, DestPort, and
# Direction (%%14593 outbound, %%14592 inbound; "Outbound"/"Inbound" when rendered).
WFP_CODES = frozenset(("5156",))
_WFP_INBOUND = frozenset(("%%14592", "inbound"))
# Without an event code (CIM rows), the first of these fields that is present decides.
KIND_BY_FIELD = (("image_loaded", IMAGE_LOAD), ("dest_ip", NETWORK), ("query_name", DNS),
                 ("registry_path", REGISTRY), ("source_image", REMOTE_THREAD),
                 ("task_content", PERSISTENCE), ("service_path", PERSISTENCE),
                 ("target_filename", FILE))

# ---------------------------------------------------------------------------------------
# EDR telemetry as it lands in Splunk, read without a CIM mapping (names from the vendors' public
# schemas, see docs/edr.md). The same vendor field means different things in different events
# (Defender's FolderPath is the new process in DeviceProcessEvents and the loaded module in
# DeviceImageLoadEvents), and SentinelOne and Carbon Black name the parent as the actor of a
# process start (src.* / process_*, the new process is tgt.* / childproc_*), so each shape has
# one alias table per event kind rather than one list for all.

class Shape(object):
    """One EDR's events: the fields naming the event type, and per kind what to read."""

    def __init__(self, name, type_fields, kinds, tables, host, joins=None, inbound=(), owns=True,
                 prefixes=("",), folders=(), foreign=(), ends=(), title="", about=""):
        self.name, self.owns = name, owns
        # (field, folded values): a process event that says one of these ended, not started: no
        # rule reads a process end, and read as a start it would give every finding twice
        self.ends = tuple((p + f, frozenset(_fold(v) for v in values))
                          for f, values in ends for p in prefixes)
        # for the docs and the regsvr32_edr_<name> macro (tools/build.py): the product, and
        # which of its exports the macro's description names
        self.title, self.about = title or name, about or name
        # folded values of its selector that another schema writes in a field of the same name
        # (ECS's event.type in SentinelOne's): never this vendor's, so they claim nothing
        self.foreign = frozenset(_fold(v) for v in foreign)
        self.type_fields = tuple(p + f for f in type_fields for p in prefixes)
        self.event_types = kinds           # as the vendor spells them (for docs/edr.md)
        # event type (folded: lower case, no blanks) -> kind
        self.kinds = dict((_fold(k), kind) for k, kind in kinds.items())
        # kind -> {source field: (our name, rank)}, the same form as SOURCES
        # (a vendor names the host alike in all its events; Splunk's own host field comes last)
        self.sources = dict((kind, _sources(aliases + (("host", (host,)),), prefixes))
                            for kind, aliases in tables.items())
        for table in self.sources.values():
            table["host"] = ("host", 1)
        # kind -> ((our name, first field, second field, default second), ...): "DOMAIN\\user"
        # and "key\\value name" are two fields in some schemas, one in Sysmon
        self.joins = dict((kind, tuple((name, [p + a for p in prefixes], [p + b for p in prefixes],
                                        default) for name, a, b, default in entries))
                          for kind, entries in (joins or {}).items())
        # (field, folded value) that mark an inbound connection (Sysmon's Initiated=false)
        self.inbound = tuple((p + f, _fold(v)) for f, v in inbound for p in prefixes)
        # (path, name): schemas whose path field may hold the folder only
        self.folders = folders


def _fold(value):
    return value.replace(" ", "").lower()


def _sources(aliases, prefixes=("",)):
    return dict((p + src, (name, rank)) for name, sources in aliases
                for rank, src in enumerate(sources) for p in prefixes)


def _actor(image, name=(), pid=(), guid=(), user=()):
    """Aliases of the process that acted (the image of Sysmon 3, 7, 11, 13, 22)."""
    return (("image", image), ("process_name", name), ("process_id", pid),
            ("process_guid", guid), ("user", user))


_CS_ACTOR = _actor(("ContextImageFileName",), ("ContextBaseFileName",), ("ContextProcessId",))
_MDE_ACTOR = _actor(("InitiatingProcessFolderPath",), ("InitiatingProcessFileName",),
                    ("InitiatingProcessId",))
_MDE_ACTOR_USER = (("user", "InitiatingProcessAccountDomain", "InitiatingProcessAccountName",
                    None),)
_S1_ACTOR = _actor(("src.process.image.path",), ("src.process.name",), ("src.process.pid",),
                   ("src.process.uid",), ("src.process.user",))
_CB_ACTOR = _actor(("process_path",), (), ("process_pid",), ("process_guid",),
                   ("process_username",))
_ECS_ACTOR = _actor(("process.executable",), ("process.name",), ("process.pid",),
                    ("process.entity_id",))
_ECS_USER = (("user", "user.domain", "user.name", None),)
# ECS's event.type values (its allowed values, and Winlogbeat's older process_start/_end): an
# ECS row carries them in the field SentinelOne names its event type by.
ECS_EVENT_TYPES = tuple(("access admin allowed change connection creation deletion denied end "
                         "error group indicator info installation protocol start user "
                         "process_start process_end").split())

EDR_SHAPES = (
    # CrowdStrike Falcon Data Replicator / Event Streams. No parent path or command line (only
    # ParentBaseFileName) and no working directory; paths are \Device\HarddiskVolumeN\...
    Shape("crowdstrike", ("event_simpleName",), {
        "ProcessRollup2": PROCESS, "SyntheticProcessRollup2": PROCESS,
        "ClassifiedModuleLoad": IMAGE_LOAD, "ImageHash": IMAGE_LOAD,
        "NetworkConnectIP4": NETWORK, "NetworkConnectIP6": NETWORK,
        "NetworkReceiveAcceptIP4": NETWORK, "NetworkReceiveAcceptIP6": NETWORK,
        "DnsRequest": DNS, "AsepValueUpdate": REGISTRY, "RegGenericValueUpdate": REGISTRY}, {
        PROCESS: (("image", ("ImageFileName",)), ("command_line", ("CommandLine",)),
                  ("parent_process_name", ("ParentBaseFileName",)),
                  ("original_file_name", ("OriginalFilename",)), ("user", ("UserName",)),
                  ("process_id", ("TargetProcessId",)), ("parent_id", ("ParentProcessId",)),
                  ("hashes", ("SHA256HashData",))),
        IMAGE_LOAD: _CS_ACTOR + (("image_loaded", ("ImageFileName",)),),
        NETWORK: _CS_ACTOR + (("dest_ip", ("RemoteAddressIP4", "RemoteAddressIP6")),
                              ("dest_port", ("RemotePort",))),
        DNS: _CS_ACTOR + (("query_name", ("DomainName",)),),
        REGISTRY: _CS_ACTOR + (("registry_data", ("RegStringValue",)),),
    }, host="ComputerName",
        joins={REGISTRY: (("registry_path", "RegObjectName", "RegValueName", "(Default)"),)},
        inbound=(("event_simpleName", "NetworkReceiveAcceptIP4"),
                 ("event_simpleName", "NetworkReceiveAcceptIP6")),
        title='CrowdStrike Falcon (FDR, Event Streams)',
        about='CrowdStrike Falcon Data Replicator / Event Streams events regsvr32detect reads.'),
    # Microsoft Defender for Endpoint advanced hunting, as exported (columns as they are) or
    # streamed through Event Hub (properties.<Column>). The kind comes from ActionType, which
    # every table has. original_file_name is the new process's own (ProcessVersionInfo...),
    # not the CIM one the public add-on fills from the initiating process.
    Shape("defender", ("ActionType",), {
        "ProcessCreated": PROCESS, "ImageLoaded": IMAGE_LOAD, "ConnectionSuccess": NETWORK,
        "ConnectionAttempt": NETWORK, "ConnectionFailed": NETWORK, "ConnectionRequest": NETWORK,
        "InboundConnectionAccepted": NETWORK, "RegistryValueSet": REGISTRY,
        "FileCreated": FILE, "CreateRemoteThreadApiCall": REMOTE_THREAD}, {
        PROCESS: (("image", ("FolderPath",)), ("process_name", ("FileName",)),
                  ("command_line", ("ProcessCommandLine",)),
                  ("parent_image", ("InitiatingProcessFolderPath",)),
                  ("parent_process_name", ("InitiatingProcessFileName",)),
                  ("parent_command_line", ("InitiatingProcessCommandLine",)),
                  ("original_file_name", ("ProcessVersionInfoOriginalFileName",)),
                  ("description", ("ProcessVersionInfoFileDescription",)),
                  ("integrity", ("ProcessIntegrityLevel",)), ("process_id", ("ProcessId",)),
                  ("parent_id", ("InitiatingProcessId",)), ("hashes", ("SHA256",))),
        IMAGE_LOAD: _MDE_ACTOR + (("image_loaded", ("FolderPath",)),),
        NETWORK: _MDE_ACTOR + (("dest_ip", ("RemoteIP",)), ("dest_port", ("RemotePort",)),
                               ("dest_host", ("RemoteUrl",))),
        REGISTRY: _MDE_ACTOR + (("registry_data", ("RegistryValueData",)),),
        FILE: _MDE_ACTOR + (("target_filename", ("FolderPath",)),),
        REMOTE_THREAD: (("source_image", ("InitiatingProcessFolderPath",)),
                        ("target_image", ("FolderPath",))),
    }, host="DeviceName",
        joins={PROCESS: (("user", "AccountDomain", "AccountName", None),),
               IMAGE_LOAD: _MDE_ACTOR_USER, NETWORK: _MDE_ACTOR_USER, FILE: _MDE_ACTOR_USER,
               REGISTRY: _MDE_ACTOR_USER + (
                   ("registry_path", "RegistryKey", "RegistryValueName", "(Default)"),)},
        inbound=(("ActionType", "InboundConnectionAccepted"),), prefixes=("", "properties."),
        folders=(("image", "process_name"), ("parent_image", "parent_process_name")),
        title='Microsoft Defender for Endpoint (advanced hunting)',
        about='Microsoft Defender for Endpoint advanced-hunting rows (as exported, or streamed through Event Hub as properties.*) regsvr32detect reads.'),
    # SentinelOne Deep Visibility / Cloud Funnel 2.0 (event.type "Process Creation" ...).
    Shape("sentinelone", ("event.type",), {
        "Process Creation": PROCESS, "Module Load": IMAGE_LOAD, "IP Connect": NETWORK,
        "DNS Resolved": DNS, "DNS Unresolved": DNS, "File Creation": FILE,
        "Registry Value Create": REGISTRY, "Registry Value Modified": REGISTRY,
        "Remote Thread Creation": REMOTE_THREAD}, {
        PROCESS: (("image", ("tgt.process.image.path",)), ("process_name", ("tgt.process.name",)),
                  ("command_line", ("tgt.process.cmdline",)),
                  # displayName is the file's description ("Microsoft(C) Register Server")
                  ("description", ("tgt.process.displayName",)),
                  ("parent_image", ("src.process.image.path",)),
                  ("parent_process_name", ("src.process.name",)),
                  ("parent_command_line", ("src.process.cmdline",)),
                  ("user", ("tgt.process.user",)), ("integrity", ("tgt.process.integrityLevel",)),
                  ("process_id", ("tgt.process.pid",)), ("parent_id", ("src.process.pid",)),
                  ("process_guid", ("tgt.process.uid",)), ("parent_guid", ("src.process.uid",))),
        IMAGE_LOAD: _S1_ACTOR + (("image_loaded", ("module.path",)),),
        NETWORK: _S1_ACTOR + (("dest_ip", ("dst.ip.address",)), ("dest_port", ("dst.port.number",))),
        DNS: _S1_ACTOR + (("query_name", ("event.dns.request",)),),
        FILE: _S1_ACTOR + (("target_filename", ("tgt.file.path",)),),
        REGISTRY: _S1_ACTOR + (("registry_path", ("registry.keyPath",)),
                               ("registry_data", ("registry.value",))),
        REMOTE_THREAD: (("source_image", ("src.process.image.path",)),
                        ("target_image", ("tgt.process.image.path",))),
    }, host="endpoint.name", inbound=(("event.network.direction", "INCOMING"),),
        foreign=ECS_EVENT_TYPES,
        title='SentinelOne (Deep Visibility, Cloud Funnel)',
        about='SentinelOne Deep Visibility / Cloud Funnel events regsvr32detect reads (event types as the console spells them and run together, as some exports do).'),
    # Carbon Black Cloud data forwarder (type endpoint.event.*). "type" is a common field name,
    # so an unknown value leaves the row to the other shapes.
    Shape("carbonblack", ("type",), {
        "endpoint.event.procstart": PROCESS, "endpoint.event.moduleload": IMAGE_LOAD,
        "endpoint.event.netconn": NETWORK, "endpoint.event.filemod": FILE,
        "endpoint.event.regmod": REGISTRY}, {
        PROCESS: (("image", ("childproc_name",)),
                  ("command_line", ("target_cmdline", "childproc_cmdline")),
                  ("parent_image", ("process_path",)), ("parent_command_line", ("process_cmdline",)),
                  ("user", ("childproc_username",)), ("process_id", ("childproc_pid",)),
                  ("process_guid", ("childproc_guid",)), ("parent_id", ("process_pid",)),
                  ("parent_guid", ("process_guid",))),
        IMAGE_LOAD: _CB_ACTOR + (("image_loaded", ("modload_name",)),
                                 ("signature", ("modload_publisher",))),
        NETWORK: _CB_ACTOR + (("dest_ip", ("remote_ip",)), ("dest_port", ("remote_port",)),
                              ("dest_host", ("netconn_domain",))),
        FILE: _CB_ACTOR + (("target_filename", ("filemod_name",)),),
        REGISTRY: _CB_ACTOR + (("registry_path", ("regmod_name",)),),
    }, host="device_name", inbound=(("netconn_inbound", "true"),), owns=False,
        title='Carbon Black Cloud (data forwarder)',
        about='Carbon Black Cloud data forwarder events regsvr32detect reads.'),
    # Elastic Common Schema: Winlogbeat (event.code is the Sysmon or Security event id) or
    # Elastic Defend (event.category). Arrays arrive from Splunk's JSON extraction as "name{}".
    Shape("ecs", ("event.code", "event.category", "event.category{}"), dict(
        [(code, kind) for code, kind in KIND_BY_CODE.items()] + [
            ("process", PROCESS), ("library", IMAGE_LOAD), ("network", NETWORK),
            ("registry", REGISTRY), ("file", FILE)]), {
        PROCESS: (("image", ("process.executable",)), ("process_name", ("process.name",)),
                  ("command_line", ("process.command_line",)),
                  ("parent_image", ("process.parent.executable",)),
                  ("parent_process_name", ("process.parent.name",)),
                  ("parent_command_line", ("process.parent.command_line",)),
                  ("original_file_name", ("process.pe.original_file_name",)),
                  ("description", ("process.pe.description",)),
                  ("cwd", ("process.working_directory",)),
                  ("integrity", ("winlog.event_data.IntegrityLevel",)),
                  ("process_guid", ("process.entity_id",)), ("process_id", ("process.pid",)),
                  ("parent_guid", ("process.parent.entity_id",)),
                  ("parent_id", ("process.parent.pid",))),
        IMAGE_LOAD: _ECS_ACTOR + (
            ("image_loaded", ("dll.path", "file.path")),
            ("signed", ("file.code_signature.signed", "dll.code_signature.exists")),
            ("signature_status", ("file.code_signature.status", "dll.code_signature.status")),
            ("signature", ("file.code_signature.subject_name", "dll.code_signature.subject_name"))),
        NETWORK: _ECS_ACTOR + (("dest_ip", ("destination.ip",)), ("dest_port", ("destination.port",)),
                               ("dest_host", ("destination.domain",))),
        DNS: _ECS_ACTOR + (("query_name", ("dns.question.name",)),),
        FILE: _ECS_ACTOR + (("target_filename", ("file.path",)),),
        REGISTRY: _ECS_ACTOR + (("registry_path", ("registry.path",)),
                                ("registry_data", ("registry.data.strings", "registry.data.strings{}"))),
        REMOTE_THREAD: (("source_image", ("process.executable",)),
                        ("target_image", ("winlog.event_data.TargetImage",))),
        PERSISTENCE: (("task_content", ("winlog.event_data.TaskContent",)),
                      ("service_path", ("winlog.event_data.ImagePath",
                                        "winlog.event_data.ServiceFileName"))),
    }, host="host.name",
        joins=dict((kind, _ECS_USER) for kind in (PROCESS, IMAGE_LOAD, NETWORK, DNS, FILE, REGISTRY)),
        inbound=(("network.direction", "inbound"), ("network.direction", "ingress")),
        # Elastic Defend's process end (event.category process, event.type end, event.action end;
        # Auditbeat's process_stopped; Winlogbeat's older process_end)
        ends=(("event.type", ("end", "process_end")), ("event.type{}", ("end", "process_end")),
              ("event.action", ("end", "process_end", "process_stopped"))),
        title='Elastic Common Schema (Winlogbeat, Elastic Defend)',
        about="Elastic Common Schema events (Winlogbeat's Sysmon and Security events, Elastic Defend) regsvr32detect reads."),
)

# Fields that hold a Windows path: an NT device path there is read as a drive path.
PATH_FIELDS = ("image", "parent_image", "image_loaded", "target_filename", "source_image",
               "target_image")
# \Device\<prefix>... -> the path the rules read: (prefix, replacement, whether a volume number
# follows the prefix). No per-host volume table reaches the search, so every hard-disk volume
# reads as C: (Event.device_paths keeps what the event said).
DEVICE_PREFIXES = (("\\device\\harddiskvolume", "C:", True), ("\\device\\mup\\", "\\\\", False))

SCAN_KEYS = frozenset(
    [src for name, sources in ALIASES if name in _SCANNED for src in sources]
    + [src for shape in EDR_SHAPES for table in shape.sources.values()
       for src, (name, _) in table.items() if name in _SCANNED]
    + [src for shape in EDR_SHAPES for joins in shape.joins.values()
       for name, first, second, _ in joins if name in _SCANNED for src in first + second])

REGSVR32 = "regsvr32.exe"
REGSVR32_DESCRIPTION = "microsoft(c) register server"
_MISSING = ("", "-")
# Values that say nothing (folded: lower case, no blanks): Splunk's fillnull (N/A, unknown), an
# export's null, a join's missing side. An event-type selector or an event code holding one
# names no event type; the fields of PLACEHOLDER_FIELDS holding one are missing.
PLACEHOLDERS = frozenset(("", "-", "unknown", "null", "n/a", "na", "none", "nil", "(null)",
                          "undefined"))
_LONGEST_PLACEHOLDER = max(len(p) for p in PLACEHOLDERS) + 2   # ("n / a", folded "n/a")
PLACEHOLDER_FIELDS = frozenset(("event_code", "process_name", "parent_process_name",
                                "original_file_name", "cwd") + PATH_FIELDS)
# Paths as Windows wrote them, read as the drive paths they are (winpath.logged_path).
LOGGED_PATHS = PATH_FIELDS + ("cwd",)
# A multivalue field (a list from splunklib, which reads the __mv_ column) of one of these is
# judged value by value (variants): what a verdict depends on, not which process it was.
JUDGED = frozenset(FIELD_NAMES) - IDENTITY
MAX_VALUES = 64           # distinct values of one multivalue field judged (the first ones)
MAX_VARIANTS = 128        # combinations of values judged for one row


def mentions_regsvr32(record, scanned=None):
    """The cheap test: could this row concern regsvr32 at all? SCANNED: the row's fields that
    are in SCAN_KEYS, when the caller knows them (a Plan). Every row a rule flags passes it
    (tests/test_cheap_test.py); regsvr32_fastpath marks at least the rows that pass it."""
    if scanned is None:
        scanned = [k for k in record if k in SCAN_KEYS]
    try:
        values = [v for v in map(record.__getitem__, scanned) if v]
        text = "\n".join(values)
    except TypeError:                      # a multivalue (list) field: each of its values
        values = [v for k in scanned if record[k] for v in _each(record[k])]
        text = "\n".join(values)
    low = text.lower()
    for mark in MARKS:
        if mark in low:
            return True
    if RUNS_LIKE[0] in low:
        slashed = low.replace('"', "").replace("/", "\\")
        for mark in RUNS_LIKE[1]:
            if mark in slashed:
                return True
    for hint in ENCODED_HINTS:
        if hint in low:
            if not cmdline.has_encoded_switch(text):
                return False
            # base64 as written, each field alone (as the rules decode them)
            return any("regsvr32" in d.lower() for v in values for d in cmdline.encoded_commands(v))
    return False


def _each(value):
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _present(value, strict):
    """The distinct non-missing values of a multivalue field (a list), in order, and where each
    is first in it (1 for the first); STRICT: a placeholder is missing too."""
    out, where = [], []
    for i, v in enumerate(value, 1):
        v = str(v).strip()
        if v not in _MISSING and v not in out and not (strict and _fold(v) in PLACEHOLDERS):
            out.append(v)
            where.append(i)
    return out, where


def _first(value):
    """A Splunk multivalue field counts by its first non-missing value (where one value is
    read: joins, selectors; the fields of an event are read by _collected, every value)."""
    if value.__class__ is str:
        value = value.strip()
        return "" if value == "-" else value
    if isinstance(value, (list, tuple)):
        for v in value:
            v = str(v).strip()
            if v not in _MISSING:
                return v
        return ""
    value = str(value).strip()
    return "" if value in _MISSING else value


class Event(object):
    """A normalized event. Attributes are ``""`` when the source did not carry them.

    ``is_regsvr32`` is the one answer to "is regsvr32 the actor": the process an event is about
    (the new process of a process creation, the loading, connecting, writing or injecting process
    otherwise) is regsvr32 by name, by OriginalFileName or by file description.
    """

    device_paths = ()    # (field, path as given) for each \Device\ path read as a drive path
    edr = ""             # the EDR_SHAPES name the event was read with, "" for Windows logs and CIM
    multi = ()           # (our name, source field, distinct values, their places, count) of
    #                      each multivalue field with more than one value: see variants

    def __init__(self, values, kind):
        self.__dict__.update(values)       # the others read "" from the class defaults below
        self.values = values               # what the source said, by our names
        self.kind = kind
        self.image_name = (winpath.basename(self.image or self.source_image)
                           or self.process_name).lower()
        self.parent_name = (winpath.basename(self.parent_image) or self.parent_process_name).lower()
        self.is_regsvr32 = (self.image_name == REGSVR32
                            or self.original_file_name.lower() == REGSVR32
                            or self.description.lower() == REGSVR32_DESCRIPTION
                            or (kind == PROCESS and self._runs_like_regsvr32()))
        self.parent_is_regsvr32 = self.parent_name == REGSVR32

    def _runs_like_regsvr32(self):
        """A renamed copy where the log has no OriginalFileName (Security 4688): a command line
        only regsvr32 takes, a scriptlet through scrobj.dll or a remote /i: scriptlet."""
        line = self.command_line
        if not line or ("i:" not in line and "I:" not in line):
            return False
        inv = self.invocation
        if inv.install_arg is None:
            return False
        remote = inv.install is not None and inv.install.kind in ("url", "unc", "webdav")
        return remote or ("module name", "scrobj.dll") in inv.first

    def __getattr__(self, name):
        # only reached while a fact is unset: worked out on first use (the detector sets them
        # from its memo before the rules run; this is the path for direct use of an Event)
        if name == "invocation":
            self.invocation = cmdline.parse(self.command_line, self.image_name, self.cwd)
            return self.invocation
        if name == "loaded":
            self.loaded = winpath.classify(self.image_loaded)
            return self.loaded
        raise AttributeError(name)

    def __repr__(self):
        return "Event(%s, %r)" % (self.kind, self.image or self.registry_path)


for _name in FIELD_NAMES:
    setattr(Event, _name, "")


class Plan(object):
    """What normalize reads of rows with one set of field names (every row of a chunk has the
    same): worked out once per header, not once per row."""

    __slots__ = ("keys", "scanned", "selectors", "collect", "edr", "own_scanned")

    def __init__(self, keys):
        self.keys = keys
        present = frozenset(keys)
        self.scanned = [k for k in keys if k in SCAN_KEYS]
        # READERS as this header has them: (shape, its selector fields present, most specific
        # first), in the order the readers are asked
        self.selectors = tuple((shape, fields) for shape, fields in (
            (shape, tuple(f for f in shape.type_fields if f in present)) for shape in EDR_SHAPES)
            if fields)
        self.collect = _collect_plan(keys, SOURCES)
        self.edr = {}           # (shape name, kind) -> its collect plan, made on first use
        # the scanned fields the Windows/CIM reader reads; None when that is all of them (the
        # cheap test has then already shown that this reader's own fields mention regsvr32)
        own = [k for k in self.scanned if k in SOURCES]
        self.own_scanned = None if len(own) == len(self.scanned) else own


def _collect_plan(keys, sources):
    """((our name, (source fields present, by rank), whether a placeholder counts as missing),
    ...) for rows with these field names."""
    ranked = {}
    for src in keys:
        hit = sources.get(src)
        if hit is not None:
            ranked.setdefault(hit[0], []).append((hit[1], src))
    return tuple((name, tuple(src for _, src in sorted(found)), name in PLACEHOLDER_FIELDS)
                 for name, found in ranked.items())


def plan_of(record):
    return Plan(list(record))


class Unreadable(ValueError):
    """A row that mentions regsvr32 but that no reader reads: the message says why."""


def normalize(record, plan=None):
    """The Event of one record, or None when it cannot concern regsvr32 or is an event type no
    rule reads. Raises Unreadable for a row that mentions regsvr32 but that no reader takes.
    PLAN: the record's Plan (plan_of), when the caller remembers it per set of field names.

    Which reader reads a row (docs/edr.md): the first EDR shape whose selector names
    an event type it reads; else the Windows/CIM reader (by EventCode, else by the fields
    present) if its own fields mention regsvr32. A selector that holds a placeholder (PLACEHOLDERS:
    fillnull's N/A, an export's null, "-") says nothing, and a vendor's event type that no rule
    reads (CrowdStrike's UserLogon) vetoes only the Windows/CIM reading without an EventCode:
    neither takes a row away from a reader that reads it."""
    if plan is None:
        plan = plan_of(record)
    if not mentions_regsvr32(record, plan.scanned):
        return None
    claims = ()
    if plan.selectors:
        shape, kind, claims = _choose(record, plan.selectors)
        if shape is not None:
            if kind == PROCESS and shape.ends and _ended(record, shape):
                return None                 # a process end: nothing a rule reads
            return _edr_event(record, shape, kind, plan)
    values, multi = _collected(record, plan.collect)
    code = values.get("event_code", "")
    if code:
        kind = KIND_BY_CODE.get(code)
        if kind is None:
            return None                     # a Windows event type that no rule reads
    elif claims:
        return None                         # a vendor's event type that no rule reads
    else:
        kind = next((k for field, k in KIND_BY_FIELD if field in values), PROCESS)
    if plan.own_scanned is not None and not mentions_regsvr32(record, plan.own_scanned):
        if claims:
            return None
        raise Unreadable(_unread(record, plan))
    if code in WFP_CODES:
        return _wfp_event(values)
    if multi:
        return _judged(functools.partial(_windows_event, kind=kind), values, multi)
    return _windows_event(values, kind)


def _judged(finish, values, multi):
    """The Event of VALUES (FINISH makes it), which remembers how to make the others of a row
    with multivalue fields (variants)."""
    base = dict(values)
    ev = finish(values)
    ev.multi, ev.base, ev.finish = multi, base, finish
    return ev


def _windows_event(values, kind):
    _read_logged_paths(values)
    return Event(values, kind)


def _read_logged_paths(values):
    """\\??\\C:\\..., %SystemRoot%\\..., C:\\Windows\\Sysnative\\... as the paths they are."""
    for name in LOGGED_PATHS:
        v = values.get(name)
        if v and (v[0] in "\\%" or v[11:12] in "sS" and v[11:20].lower() == "sysnative"):
            values[name] = winpath.logged_path(v)


def _choose(record, selectors):
    """(shape, kind, ()) of the first EDR reader whose selector names a kind it reads, else
    (None, None, claims): the vendors whose own event type (no placeholder, not another
    schema's) names none. A shape's selectors are asked most specific first, and the first that
    holds a value decides for that shape; of a multivalue selector (ECS's event.category
    ["configuration", "registry"]), the first value that names a kind."""
    claims = []
    for shape, fields in selectors:
        for field in fields:
            values = _selector_values(record[field])
            if not values:
                continue                    # a placeholder: the shape's next selector
            kinds = shape.kinds
            for v in values:
                if v in kinds:
                    return shape, kinds[v], ()
            if shape.owns and not shape.foreign.issuperset(values):
                claims.append((shape.name, field))
            break
    return None, None, claims


def _ended(record, shape):
    """Whether a process event of SHAPE says the process ended (Shape.ends), in any value."""
    for field, values in shape.ends:
        value = record.get(field)
        if value and not values.isdisjoint(_selector_values(value)):
            return True
    return False


def _selector_values(value):
    """The folded values of a selector field that say something: none for a placeholder. A
    multivalue arrives as a list, or as one text when it lost its __mv_ column (one value a
    line, or a JSON array as text)."""
    if value.__class__ is str:
        if "\n" not in value and value[:1] != "[":
            v = _fold(value.strip())
            return () if v in PLACEHOLDERS else (v,)
        value = value.strip("[] \r\n").replace(",", "\n").split("\n")
    elif not isinstance(value, (list, tuple)):
        value = (str(value),)
    out = []
    for v in value:
        v = _fold(str(v).strip().strip("\"'"))
        if v not in PLACEHOLDERS:
            out.append(v)
    return out


def _unread(record, plan):
    """Why no reader read a row that mentions regsvr32 (for regsvr32_error)."""
    where = [k for k in plan.scanned if k not in SOURCES and mentions_regsvr32(record, [k])]
    owners = [shape.name for shape in EDR_SHAPES
              if any(k in table for k in where for table in shape.sources.values())]
    said = ["%s=%s" % (f, _shown(record[f])) for _, fields in plan.selectors for f in fields]
    return ("no reader for this row: regsvr32 is in %s (%s fields), but %s, and no Sysmon, "
            "Security or CIM field of it mentions regsvr32" % (
                ", ".join(where[:3]) or "?", "/".join(owners) or "EDR",
                "no event type this app reads is named (%s)" % ", ".join(said[:4]) if said else
                "no field names its event type (%s)" % ", ".join(
                    sorted(set(f for shape in EDR_SHAPES if shape.name in owners
                               for f in shape.type_fields))[:4])))


def _shown(value):
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(_shown(v) for v in value[:4])
    value = str(value)
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _wfp_event(values):
    """A Security 5156 connection as the network event of its process."""
    direction = values.pop("direction", "").lower()
    if direction and "initiated" not in values:
        values["initiated"] = "false" if direction in _WFP_INBOUND else "true"
    image = values.get("image", "")
    mapped = ()
    if image[:8].lower() == "\\device\\":
        path = _drive_path(image)
        if path != image:
            values["image"] = path
            mapped = (("image", image),)
    ev = Event(values, NETWORK)
    if mapped:
        ev.device_paths = mapped
    return ev


def _collected(record, collect):
    """(our name -> the first non-missing value of its source fields, by their rank; the
    multivalue fields of JUDGED names with more than one value, as (our name, source field,
    values))."""
    values, multi = {}, ()
    for name, sources, strict in collect:
        for src in sources:
            v = record[src]
            if not v:
                continue
            if v.__class__ is str:
                v = v.strip()
                if v and v != "-" and not (strict and len(v) <= _LONGEST_PLACEHOLDER
                                           and not v.isdigit() and _fold(v) in PLACEHOLDERS):
                    values[name] = v
                    break
                continue
            if not isinstance(v, (list, tuple)):
                v = (v,)
            present, where = _present(v, strict)
            if present:
                values[name] = present[0]
                if len(present) > 1 and name in JUDGED:
                    multi += ((name, src, present, where, len(v)),)
                break
    return values, multi


def variants(ev):
    """(what was judged, Event) for each combination of the values of ev's multivalue fields
    (ev.multi): every value of each, in order, the first MAX_VALUES of a field. Fields with as
    many values each are read in step, value i with value i (the values of one row from
    list() or transaction); otherwise every combination, or when there are more than
    MAX_VARIANTS, each value with the other fields' first ones. At most MAX_VARIANTS."""
    multi = [(name, src, vs[:MAX_VALUES], where, total, len(vs))
             for name, src, vs, where, total in ev.multi]
    counts = [len(m[2]) for m in multi]
    if len(set(counts)) == 1:
        picks = [[i] * len(multi) for i in range(counts[0])]
    else:
        picks = [[]]
        for n in counts:
            picks = [p + [i] for p in picks for i in range(n)]
            if len(picks) > MAX_VARIANTS:
                picks = [[i if f == g else 0 for g in range(len(multi))]
                         for f, n_f in enumerate(counts) for i in range(n_f)]
                picks = [p for k, p in enumerate(picks) if p not in picks[:k]]
                break
    out = []
    for pick in picks[:MAX_VARIANTS]:
        values = dict(ev.base)
        said = []
        for (name, src, vs, where, total, distinct), i in zip(multi, pick):
            values[name] = vs[i]
            said.append("%s value %d of %d%s (%s)" % (
                src, where[i], total,
                "" if distinct <= MAX_VALUES else ", the first %d distinct judged" % MAX_VALUES,
                _clip(vs[i], 120)))
        out.append(("; ".join(said), ev.finish(values)))
    return out


def _clip(text, n):
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."


def _edr_event(record, shape, kind, plan):
    collect = plan.edr.get((shape.name, kind))
    if collect is None:
        collect = plan.edr[shape.name, kind] = _collect_plan(plan.keys, shape.sources.get(kind, {}))
    values, multi = _collected(record, collect)
    for name, first, second, default in shape.joins.get(kind, ()):
        if name in values:
            continue
        a = next((v for v in (_first(record.get(f, "")) for f in first) if v), "")
        b = next((v for v in (_first(record.get(f, "")) for f in second) if v), "") or default
        if a and b:
            values[name] = a + "\\" + b
        elif b and default is None:
            values[name] = b
    if kind == NETWORK:
        inbound = any(_fold(_first(record.get(f, ""))) == v for f, v in shape.inbound)
        values["initiated"] = "false" if inbound else "true"
    if multi:
        return _judged(functools.partial(_shaped_event, shape=shape, kind=kind), values, multi)
    return _shaped_event(values, shape, kind)


def _shaped_event(values, shape, kind):
    """The Event of an EDR's values: folder-only paths completed, device paths read."""
    for path, name in shape.folders:
        if path in values and name in values and \
                winpath.basename(values[path]).lower() != values[name].lower():
            values[path] = values[path].rstrip("\\") + "\\" + values[name]
    mapped = []
    for name in PATH_FIELDS:
        v = values.get(name)
        if v and v[:8].lower() == "\\device\\":
            path = _drive_path(v)
            if path != v:                    # other devices (CdRom0 ...) have no drive to give
                values[name] = path
                mapped.append((name, v))
    _read_logged_paths(values)
    ev = Event(values, kind)
    ev.edr = shape.name
    if mapped:
        ev.device_paths = tuple(mapped)
    return ev


def _drive_path(path):
    low = path.lower()
    for prefix, replacement, numbered in DEVICE_PREFIXES:
        if low.startswith(prefix):
            rest = path[len(prefix):]
            if numbered:
                rest = rest[rest.find("\\"):] if "\\" in rest else ""
            return replacement + rest
    return path

"""One event from Sysmon, Security 4688, CIM Endpoint or a persistence log, as one typed Event.

Field names are data: ALIASES lists, for each of our names, the source names in order; the
first non-empty value wins and ``""`` and ``-`` count as missing. Rows that cannot concern
regsvr32 are rejected by one cheap test before any of that work (most rows in a real stream
are ordinary processes).
"""
from . import cmdline, winpath

# Event kinds.
PROCESS, NETWORK, IMAGE_LOAD, REMOTE_THREAD, FILE, REGISTRY, DNS, PERSISTENCE = (
    "process", "network", "image_load", "remote_thread", "file", "registry", "dns", "persistence")

_CIM = lambda *names: tuple(n for name in names for n in (name, "Processes." + name))  # noqa: E731

# our name -> source field names, most specific first
ALIASES = (
    ("event_code", ("EventCode", "EventID", "event_id")),
    ("image", ("Image", "NewProcessName", "New_Process_Name") + _CIM("process_path")),
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
    ("dest_ip", ("DestinationIp", "dest_ip", "All_Traffic.dest_ip")),
    ("dest_port", ("DestinationPort", "dest_port", "All_Traffic.dest_port")),
    ("dest_host", ("DestinationHostname", "dest_host")),
    ("initiated", ("Initiated",)),
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
# source field -> (our name, rank): one dict look-up per field of the row
SOURCES = dict((src, (name, rank)) for name, sources in ALIASES
               for rank, src in enumerate(sources))

# Where a regsvr32 trace can show up; only these fields are read by the cheap test.
_SCANNED = ("image", "process_name", "command_line", "parent_image", "parent_process_name",
            "original_file_name", "description", "image_loaded", "source_image",
            "target_filename", "registry_path", "registry_data", "task_content", "service_path")
SCAN_KEYS = frozenset(src for name, sources in ALIASES if name in _SCANNED for src in sources)
# Lower-case marks of regsvr32 activity: its name, its file description (a renamed copy
# without OriginalFileName still says "Microsoft(C) Register Server"), the scriptlet runtime,
# the COM value that points a class at a scriptlet, and a scriptlet fetched with /i:http(s)
# (a renamed copy in a log without OriginalFileName, such as 4688).
MARKS = ("regsvr32", "register server", "scrobj", "scriptleturl", "i:http")
# Attackers also hide regsvr32 in an encoded PowerShell command: such rows are decoded to look.
ENCODED_HINTS = ("powershell", "pwsh")

KIND_BY_CODE = {
    "1": PROCESS, "4688": PROCESS, "3": NETWORK, "7": IMAGE_LOAD, "8": REMOTE_THREAD,
    "11": FILE, "12": REGISTRY, "13": REGISTRY, "14": REGISTRY, "22": DNS,
    "4698": PERSISTENCE, "4702": PERSISTENCE, "7045": PERSISTENCE, "4697": PERSISTENCE,
}
# Without an event code (CIM rows), the first of these fields that is present decides.
KIND_BY_FIELD = (("image_loaded", IMAGE_LOAD), ("dest_ip", NETWORK), ("query_name", DNS),
                 ("registry_path", REGISTRY), ("source_image", REMOTE_THREAD),
                 ("task_content", PERSISTENCE), ("service_path", PERSISTENCE),
                 ("target_filename", FILE))

REGSVR32 = "regsvr32.exe"
REGSVR32_DESCRIPTION = "microsoft(c) register server"
_MISSING = ("", "-")


def mentions_regsvr32(record):
    """The cheap test: could this row concern regsvr32 at all?"""
    try:
        text = "\n".join([v for k, v in record.items() if k in SCAN_KEYS and v])
    except TypeError:                      # a multivalue (list) field: flatten it
        text = "\n".join(_flat(v) for k, v in record.items() if k in SCAN_KEYS and v)
    low = text.lower()
    for mark in MARKS:
        if mark in low:
            return True
    if "-e" in low and any(hint in low for hint in ENCODED_HINTS):
        return any("regsvr32" in d.lower() for d in cmdline.encoded_commands(text))   # base64: as written
    return False


def _flat(value):
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value)


def _first(value):
    """A Splunk multivalue field counts by its first non-missing value."""
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

    def __init__(self, values, kind):
        self.__dict__.update(values)       # the others read "" from the class defaults below
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


def normalize(record):
    """The Event of one record, or None when it cannot concern regsvr32."""
    if not mentions_regsvr32(record):
        return None
    values = {}
    ranks = {}
    for src, v in record.items():
        hit = SOURCES.get(src)
        if hit is None or not v:
            continue
        name, rank = hit
        if rank < ranks.get(name, 99):
            v = _first(v)
            if v:
                values[name] = v
                ranks[name] = rank
    code = values.get("event_code", "")
    kind = KIND_BY_CODE.get(code) if code else None
    if kind is None:
        if code:
            return None                     # an event type we have no logic for
        kind = next((k for field, k in KIND_BY_FIELD if field in values), PROCESS)
    return Event(values, kind)

"""Record builders for tests: one small function per event shape, as the event arrives in Splunk.

Each builder returns a plain dict of field name -> str. Defaults describe an ordinary
workstation (CORP\\alice on WS01) running the System32 regsvr32 from cmd.exe; pass keyword
arguments to change a field, ``None`` to leave a field out, and ``extra`` fields via **kw.
Importing this module also puts ``app/bin`` on sys.path so ``regsvr32_detector`` imports.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP_BIN = os.path.join(REPO, "app", "bin")
DEFAULT_ALLOWLIST = os.path.join(REPO, "app", "lookups", "regsvr32_allowlist_default.csv")
if APP_BIN not in sys.path:
    sys.path.insert(0, APP_BIN)

SYS32 = "C:\\Windows\\System32\\"
WOW64 = "C:\\Windows\\SysWOW64\\"
REGSVR32 = SYS32 + "regsvr32.exe"
REGSVR32_WOW = WOW64 + "regsvr32.exe"
CMD = SYS32 + "cmd.exe"
USER = "CORP\\alice"
HOST = "WS01.corp.example"
HOME = "C:\\Users\\alice\\"
AUTO = object()  # "derive from the other fields"


def _basename(path):
    return path.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]


def _put(rec, **fields):
    rec.update({k: v for k, v in fields.items() if v is not None})
    return rec


def sysmon1(cmdline, image=REGSVR32, parent=CMD, parent_cmdline=AUTO, cwd=HOME,
            ofn=AUTO, integrity="Medium", user=USER, computer=HOST, **extra):
    """Sysmon 1 process create. ofn AUTO: REGSVR32.EXE for a regsvr32.exe image, else the
    image's upper-cased file name; ofn None: field absent (Sysmon before v10)."""
    if ofn is AUTO:
        ofn = _basename(image).upper()
    if parent_cmdline is AUTO:
        parent_cmdline = ('"%s" /c %s' % (parent, cmdline)) if _basename(parent).lower() == "cmd.exe" \
            else '"%s"' % parent
    return _put({"EventCode": "1"}, Image=image, CommandLine=cmdline, ParentImage=parent,
                ParentCommandLine=parent_cmdline, OriginalFileName=ofn, CurrentDirectory=cwd,
                IntegrityLevel=integrity, User=user, Computer=computer, **extra)


def sysmon3(dest_ip, port="443", image=REGSVR32, initiated="true", **extra):
    return _put({"EventCode": "3"}, Image=image, DestinationIp=dest_ip, DestinationPort=port,
                Initiated=initiated, Protocol="tcp", User=USER, Computer=HOST, **extra)


def sysmon7(loaded, image=REGSVR32, signed="true", signature="Microsoft Windows",
            status="Valid", ofn=AUTO, **extra):
    """Sysmon 7 image load. Note: Sysmon's OriginalFileName here is the *loaded module's*."""
    if ofn is AUTO:
        ofn = _basename(loaded)
    return _put({"EventCode": "7"}, Image=image, ImageLoaded=loaded, OriginalFileName=ofn,
                Signed=signed, Signature=signature, SignatureStatus=status, User=USER,
                Computer=HOST, **extra)


def sysmon8(target, source=REGSVR32, **extra):
    return _put({"EventCode": "8"}, SourceImage=source, TargetImage=target,
                StartFunction="-", Computer=HOST, **extra)


def sysmon11(target_filename, image=REGSVR32, **extra):
    return _put({"EventCode": "11"}, Image=image, TargetFilename=target_filename,
                User=USER, Computer=HOST, **extra)


def sysmon13(target_object, details, image=REGSVR32, **extra):
    return _put({"EventCode": "13", "EventType": "SetValue"}, Image=image,
                TargetObject=target_object, Details=details, User=USER, Computer=HOST, **extra)


def sysmon22(query, image=REGSVR32, **extra):
    return _put({"EventCode": "22"}, Image=image, QueryName=query, QueryStatus="0",
                User=USER, Computer=HOST, **extra)


def sec4688_xml(cmdline, image=REGSVR32, parent=CMD, **extra):
    """Security 4688 as rendered by XmlWinEventLog (XML element names)."""
    return _put({"EventCode": "4688"}, NewProcessName=image, ParentProcessName=parent,
                CommandLine=cmdline, SubjectUserName="alice", Computer=HOST, **extra)


def sec4688_classic(cmdline, image=REGSVR32, parent=CMD, **extra):
    """Security 4688 with the Splunk Add-on for Windows classic field names."""
    return _put({"EventCode": "4688"}, New_Process_Name=image, Creator_Process_Name=parent,
                Process_Command_Line=cmdline, Account_Name="alice", ComputerName=HOST, **extra)


def cim(cmdline, image=REGSVR32, parent=CMD, parent_cmdline=AUTO, cwd=HOME, ofn=AUTO,
        user=USER, dest="WS01", prefix="", **extra):
    """CIM Endpoint.Processes; prefix="Processes." gives the tstats (datamodel) form."""
    if ofn is AUTO:
        ofn = _basename(image).upper()
    if parent_cmdline is AUTO:
        parent_cmdline = '"%s"' % parent
    fields = dict(process=cmdline, process_name=_basename(image), process_path=image,
                  parent_process=parent_cmdline, parent_process_name=_basename(parent),
                  parent_process_path=parent, original_file_name=ofn,
                  process_current_directory=cwd, user=user, dest=dest, **extra)
    return {prefix + k: v for k, v in fields.items() if v is not None}


def reasons_text(verdict):
    """All of a verdict's reasons as one case-folded string, for evidence checks."""
    return "\n".join(verdict.reasons).casefold()


# The rules' own example shorthand (regsvr32_detector.registry.example_event): only the fields
# that matter, the rest filled as every rule example is.
def proc(cmdline, image=None, parent=None, **fields):
    """A process creation: regsvr32 from System32 started by cmd.exe unless said otherwise."""
    return _example(CommandLine=cmdline, Image=image, ParentImage=parent, **fields)


def load(loaded, signed="true", status="Valid", signature="Microsoft Windows", **fields):
    """A Sysmon 7 image load by the System32 regsvr32."""
    return _example(EventCode="7", ImageLoaded=loaded, Signed=signed, SignatureStatus=status,
                    Signature=signature, **fields)


def reg(key, data, image=None, code="13"):
    """A Sysmon 12/13/14 registry event by the System32 regsvr32."""
    return _example(EventCode=code, TargetObject=key, Details=data, Image=image)


def _example(**fields):
    from regsvr32_detector.registry import COMMAND_LINE, example_event
    return example_event(COMMAND_LINE, {k: v for k, v in fields.items() if v is not None})


def with_other_identity(record, n):
    """The record with every value fields.IDENTITY names (process ids, GUIDs, hashes, integrity,
    user, host), but the event code, changed: what a remembered verdict must not depend on."""
    from regsvr32_detector import fields
    out = dict(record)
    for name, sources in fields.ALIASES:
        if name in fields.IDENTITY and name != "event_code":
            for src in set(sources[:1]) | set(s for s in sources if s in record):
                out[src] = "{%08d-0000-0000-0000-000000000000}" % n
    return out

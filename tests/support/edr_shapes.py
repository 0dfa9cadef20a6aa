"""Sysmon-shaped events rewritten as each EDR puts them into Splunk, for tests and the samples.

Written from the vendors' public field documentation (see docs/edr.md), apart from
regsvr32_detector.fields on purpose: a wrong field name in either place makes the verdicts
differ. ``convert(shape, record)`` takes a Sysmon (or Security 4688) record as the rules'
examples are written and returns the same event in that shape, or None where the vendor has
no such event. A field the vendor does not record is left out.
"""
from support import events  # noqa: F401  (puts app/bin on sys.path)

SHAPES = ("crowdstrike", "defender", "sentinelone", "carbonblack", "ecs")

KIND_BY_CODE = {"1": "process", "4688": "process", "3": "network", "7": "image_load",
                "8": "remote_thread", "11": "file", "12": "registry", "13": "registry",
                "14": "registry", "22": "dns", "4698": "persistence", "4702": "persistence",
                "4697": "persistence", "7045": "persistence"}
# Security 4688 names -> the Sysmon names the converters read
SECURITY_NAMES = {"NewProcessName": "Image", "New_Process_Name": "Image",
                  "ParentProcessName": "ParentImage", "Creator_Process_Name": "ParentImage",
                  "Process_Command_Line": "CommandLine"}


def _name(path):
    return path.replace("/", "\\").rsplit("\\", 1)[-1]


def _folder(path):
    return path.replace("/", "\\").rsplit("\\", 1)[0] if "\\" in path else ""


def _device(path):
    """C:\\x -> \\Device\\HarddiskVolume3\\x, as CrowdStrike writes local paths."""
    if path[1:3] in (":\\", ":/"):
        return "\\Device\\HarddiskVolume3" + path[2:]
    return path


def _key_and_value(target_object):
    key, _, value = target_object.rpartition("\\")
    return key, ("" if value == "(Default)" else value)


def _put(out, **fields):
    out.update((k, v) for k, v in fields.items() if v not in (None, ""))
    return out


def crowdstrike(kind, s):
    host = s.get("Computer")
    if kind == "process":
        return _put({"event_simpleName": "ProcessRollup2"}, ImageFileName=_device(s.get("Image", "")),
                    CommandLine=s.get("CommandLine"), ParentBaseFileName=_name(s.get("ParentImage", "")),
                    OriginalFilename=s.get("OriginalFileName"), UserName=s.get("User"),
                    ComputerName=host)
    actor = {"ContextImageFileName": _device(s.get("Image", "")), "ComputerName": host}
    if kind == "image_load":
        return _put({"event_simpleName": "ClassifiedModuleLoad"},
                    ImageFileName=_device(s["ImageLoaded"]), **actor)
    if kind == "network":
        inbound = s.get("Initiated", "true").lower() == "false"
        return _put({"event_simpleName": "NetworkReceiveAcceptIP4" if inbound else "NetworkConnectIP4"},
                    RemoteAddressIP4=s["DestinationIp"], RemotePort=s.get("DestinationPort"), **actor)
    if kind == "dns":
        return _put({"event_simpleName": "DnsRequest"}, DomainName=s["QueryName"], **actor)
    if kind == "registry":
        key, value = _key_and_value(s["TargetObject"])
        return _put({"event_simpleName": "AsepValueUpdate"}, RegObjectName=key, RegValueName=value,
                    RegStringValue=s.get("Details"), **actor)
    return None


def defender(kind, s, prefix=""):
    host = s.get("Computer")
    domain, _, user = s.get("User", "").rpartition("\\")
    actor = {"InitiatingProcessFolderPath": s.get("Image"),
             "InitiatingProcessFileName": _name(s.get("Image", "")), "DeviceName": host,
             "InitiatingProcessAccountDomain": domain, "InitiatingProcessAccountName": user}
    if kind == "process":
        out = _put({"ActionType": "ProcessCreated"}, FolderPath=s.get("Image"),
                   FileName=_name(s.get("Image", "")), ProcessCommandLine=s.get("CommandLine"),
                   InitiatingProcessFolderPath=s.get("ParentImage"),
                   InitiatingProcessCommandLine=s.get("ParentCommandLine"),
                   InitiatingProcessFileName=_name(s.get("ParentImage", "")),
                   ProcessVersionInfoOriginalFileName=s.get("OriginalFileName"),
                   ProcessVersionInfoFileDescription=s.get("Description"),
                   AccountDomain=domain, AccountName=user, DeviceName=host)
    elif kind == "image_load":
        out = _put({"ActionType": "ImageLoaded"}, FolderPath=s["ImageLoaded"],
                   FileName=_name(s["ImageLoaded"]), **actor)
    elif kind == "network":
        inbound = s.get("Initiated", "true").lower() == "false"
        out = _put({"ActionType": "InboundConnectionAccepted" if inbound else "ConnectionSuccess"},
                   RemoteIP=s["DestinationIp"], RemotePort=s.get("DestinationPort"), **actor)
    elif kind == "registry":
        key, value = _key_and_value(s["TargetObject"])
        out = _put({"ActionType": "RegistryValueSet"}, RegistryKey=key, RegistryValueName=value,
                   RegistryValueData=s.get("Details"), **actor)
    elif kind == "file":
        out = _put({"ActionType": "FileCreated"}, FolderPath=s["TargetFilename"],
                   FileName=_name(s["TargetFilename"]), **actor)
    elif kind == "remote_thread":
        out = _put({"ActionType": "CreateRemoteThreadApiCall"}, InitiatingProcessFolderPath=s["SourceImage"],
                   InitiatingProcessFileName=_name(s["SourceImage"]), FolderPath=s.get("TargetImage"),
                   FileName=_name(s.get("TargetImage", "")), DeviceName=host)
    else:
        return None
    return dict((prefix + k, v) for k, v in out.items())


def sentinelone(kind, s):
    host = s.get("Computer")
    actor = {"src.process.image.path": s.get("Image"), "src.process.name": _name(s.get("Image", "")),
             "src.process.user": s.get("User"), "endpoint.name": host}
    if kind == "process":
        return _put({"event.type": "Process Creation", "tgt.process.image.path": s.get("Image"),
                     "tgt.process.name": _name(s.get("Image", "")),
                     "tgt.process.cmdline": s.get("CommandLine"), "tgt.process.user": s.get("User"),
                     "tgt.process.displayName": s.get("Description"),
                     "src.process.image.path": s.get("ParentImage"),
                     "src.process.cmdline": s.get("ParentCommandLine"),
                     "src.process.name": _name(s.get("ParentImage", "")), "endpoint.name": host})
    if kind == "image_load":
        return _put({"event.type": "Module Load", "module.path": s["ImageLoaded"]}, **actor)
    if kind == "network":
        inbound = s.get("Initiated", "true").lower() == "false"
        return _put({"event.type": "IP Connect", "dst.ip.address": s["DestinationIp"],
                     "dst.port.number": s.get("DestinationPort"),
                     "event.network.direction": "INCOMING" if inbound else "OUTGOING"}, **actor)
    if kind == "dns":
        return _put({"event.type": "DNS Resolved", "event.dns.request": s["QueryName"]}, **actor)
    if kind == "file":
        return _put({"event.type": "File Creation", "tgt.file.path": s["TargetFilename"]}, **actor)
    if kind == "registry":
        return _put({"event.type": "Registry Value Modified", "registry.keyPath": s["TargetObject"],
                     "registry.value": s.get("Details")}, **actor)
    if kind == "remote_thread":
        return _put({"event.type": "Remote Thread Creation", "src.process.image.path": s["SourceImage"],
                     "tgt.process.image.path": s.get("TargetImage"), "endpoint.name": host})
    return None


def carbonblack(kind, s):
    host = s.get("Computer")
    actor = {"process_path": s.get("Image"), "process_username": s.get("User"), "device_name": host}
    if kind == "process":
        return _put({"type": "endpoint.event.procstart"}, childproc_name=s.get("Image"),
                    target_cmdline=s.get("CommandLine"), childproc_username=s.get("User"),
                    process_path=s.get("ParentImage"), process_cmdline=s.get("ParentCommandLine"),
                    device_name=host)
    if kind == "image_load":
        return _put({"type": "endpoint.event.moduleload"}, modload_name=s["ImageLoaded"],
                    modload_publisher=s.get("Signature"), **actor)
    if kind == "network":
        inbound = s.get("Initiated", "true").lower() == "false"
        return _put({"type": "endpoint.event.netconn"}, remote_ip=s["DestinationIp"],
                    remote_port=s.get("DestinationPort"), netconn_inbound="true" if inbound else "false",
                    **actor)
    if kind == "file":
        return _put({"type": "endpoint.event.filemod"}, filemod_name=s["TargetFilename"], **actor)
    if kind == "registry":
        return _put({"type": "endpoint.event.regmod"}, regmod_name=s["TargetObject"], **actor)
    return None


def ecs(kind, s):
    domain, _, user = s.get("User", "").rpartition("\\")
    out = _put({"event.code": s["EventCode"]}, **{"host.name": s.get("Computer"), "user.domain": domain,
                                                  "user.name": user})
    if kind == "process":
        return _put(out, **{"process.executable": s.get("Image"), "process.command_line": s.get("CommandLine"),
                            "process.parent.executable": s.get("ParentImage"),
                            "process.parent.command_line": s.get("ParentCommandLine"),
                            "process.pe.original_file_name": s.get("OriginalFileName"),
                            "process.pe.description": s.get("Description"),
                            "process.working_directory": s.get("CurrentDirectory")})
    if kind == "remote_thread":
        return _put(out, **{"process.executable": s["SourceImage"],
                            "winlog.event_data.TargetImage": s.get("TargetImage")})
    if kind == "persistence":
        return _put(out, **{"winlog.event_data.ImagePath": s.get("ImagePath"),
                            "winlog.event_data.TaskContent": s.get("TaskContent")})
    _put(out, **{"process.executable": s.get("Image")})
    if kind == "image_load":
        return _put(out, **{"file.path": s["ImageLoaded"], "file.code_signature.signed": s.get("Signed"),
                            "file.code_signature.status": s.get("SignatureStatus"),
                            "file.code_signature.subject_name": s.get("Signature")})
    if kind == "network":
        inbound = s.get("Initiated", "true").lower() == "false"
        return _put(out, **{"destination.ip": s["DestinationIp"], "destination.port": s.get("DestinationPort"),
                            "network.direction": "ingress" if inbound else "egress"})
    if kind == "dns":
        return _put(out, **{"dns.question.name": s["QueryName"]})
    if kind == "file":
        return _put(out, **{"file.path": s["TargetFilename"]})
    if kind == "registry":
        return _put(out, **{"registry.path": s["TargetObject"], "registry.data.strings": s.get("Details")})
    return None


CONVERTERS = {"crowdstrike": crowdstrike, "defender": defender, "sentinelone": sentinelone,
              "carbonblack": carbonblack, "ecs": ecs}


def convert(shape, record):
    """The record as ``shape`` writes it, or None where that vendor has no such event."""
    s = dict((SECURITY_NAMES.get(k, k), v) for k, v in record.items())
    kind = KIND_BY_CODE.get(s.get("EventCode", ""))
    if kind is None:
        raise ValueError("not a Sysmon or Security record: %r" % (record,))
    return CONVERTERS[shape](kind, s)

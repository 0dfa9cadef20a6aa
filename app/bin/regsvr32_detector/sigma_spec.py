"""How a rule exports to Sigma: the form of the ``sigma=`` part of its declaration (registry.py).

A rule says either ``spec(fidelity, category, detection, condition, why)``:
  exact        the same fields and the same logic (Sysmon field names);
  approximate  string matches that stand in for the parser: they miss evasions the detector
               resolves (8.3 names, '..', %VARIABLES%, quoting) and may match decoys (why says
               how);
or ``not_exportable(why)``. tools/sigma_export.py renders the Sigma rules from these; nothing at
search time reads them (they are small constant data, cheap to load with the rules).
Plain Sigma values here never hold '*', '?' or a doubled backslash, so Sigma's escaping never
applies (tests/test_sigma.py checks that and evaluates each rule on the registry's examples).
"""
import types

FIDELITIES = ("exact", "approximate")
# Sigma log source categories (product windows) and the Sysmon event each one reads.
CATEGORIES = {"process_creation": "1", "network_connection": "3", "image_load": "7",
              "create_remote_thread": "8", "registry_set": "13", "dns_query": "22"}


def spec(fidelity, category, detection, condition, why):
    """A Sigma translation of a rule (read-only)."""
    if fidelity not in FIDELITIES:
        raise ValueError("unknown Sigma fidelity %r" % (fidelity,))
    if category not in CATEGORIES:
        raise ValueError("unknown Sigma log source category %r" % (category,))
    if fidelity == "approximate" and not why:
        raise ValueError("an approximate Sigma translation must say why")
    if not condition or not isinstance(detection, dict) or not detection:
        raise ValueError("a Sigma translation needs a detection and a condition")
    return types.MappingProxyType({"fidelity": fidelity, "category": category,
                                   "detection": detection, "condition": condition, "why": why})


class NotExportable(object):
    """A rule a field match cannot express, and why."""

    __slots__ = ("why",)

    def __init__(self, why):
        if not why:
            raise ValueError("say why a rule is not exportable")
        self.why = why

    def __repr__(self):
        return "not_exportable(%r)" % self.why


not_exportable = NotExportable


def is_spec(value):
    return isinstance(value, types.MappingProxyType) and value.get("fidelity") in FIDELITIES


# Shared parts of the translations.
CLI = "the command line holds"
IMG = [{"Image|endswith": "\\regsvr32.exe"}, {"OriginalFileName": "REGSVR32.EXE"}]
BY_REGSVR32 = {"Image|endswith": "\\regsvr32.exe"}
# Addresses Python's ipaddress does not call global (winpath.is_public), plus multicast.
NON_PUBLIC = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
              "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
              "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3", "::/127", "::ffff:0:0/96",
              "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10",
              "ff00::/8"]


def ends(names):
    return ["\\" + n for n in sorted(names)]


def by_parent(table):
    """regsvr32 started by a process named in TABLE: the same fields, the same logic."""
    return spec("exact", "process_creation",
                {"selection_img": IMG, "selection_parent": {"ParentImage|endswith": ends(table)}},
                "selection_img and selection_parent", "")

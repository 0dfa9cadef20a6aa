"""Detection families: the correlation searches, one per family. Each rule names its family.

The correlation searches in ``default/savedsearches.conf`` are generated from this table and
the rules' own metadata (``tests/gen_searches.py``; a test keeps them in step).
"""


class Family(object):
    __slots__ = ("key", "title", "search_name", "filter_macro")

    def __init__(self, key, title):
        self.key, self.title = key, title
        self.search_name = "regsvr32 - %s - Rule" % title
        self.filter_macro = "regsvr32_%s_filter" % key

    def __repr__(self):
        return "Family(%s)" % self.key


FAMILIES = (
    Family("scriptlets_and_remote_payloads", "Scriptlets And Remote Payloads"),
    Family("suspicious_paths_and_disguised_extensions", "Suspicious Paths And Disguised Extensions"),
    Family("implicit_dllregisterserver_and_odd_invocations",
           "Implicit DllRegisterServer And Odd Invocations"),
    Family("parent_lineage", "Parent Lineage"),
    Family("children_of_regsvr32", "Children Of Regsvr32"),
    Family("renamed_or_relocated_binary", "Renamed Or Relocated Binary"),
    Family("image_loads", "Image Loads"),
    Family("network", "Network"),
    Family("registry_persistence_and_scrobj_com_hijack", "Registry Persistence And Scrobj COM Hijack"),
)
FAMILIES_BY_KEY = dict((f.key, f) for f in FAMILIES)

"""Tables the checks read and small readers shared by the rules of several modules.

Names are lower-case file names.
"""


T = "T1218.010"


def location_of(target):
    return "%s: %s" % (target.location, target.where) if target.where else target.location


def clip(text, n=160):
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."

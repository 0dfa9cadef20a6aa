"""regsvr32 abuse detector (MITRE ATT&CK T1218.010): pure Python, standard library only.

Runs inside Splunk's own Python (3.7 and newer), so no syntax newer than 3.7 and no
splunklib import here: the search command in ``app/bin/regsvr32detect.py`` is a thin
shell over this package, and tests feed it plain dicts.

Public API::

    from regsvr32_detector import Detector, load_allowlists, OUTPUT_FIELDS

    allowlist, problems = load_allowlists(["/path/a.csv", "/path/b.csv"])
    for p in problems:            # bad rows are skipped, the rest apply
        print(str(p))             # "a.csv:12: <what is wrong and how to fix it>"
    detector = Detector(allowlist)
    verdict = detector.evaluate(record)   # never raises
    verdict.score, verdict.severity, verdict.rules, verdict.reasons
    verdict.fields()              # {name: str or list of str} for every OUTPUT_FIELDS name
"""
from .allowlist import Allowlist, Problem, load_allowlists as _load_allowlists
from .detector import OUTPUT_FIELDS, OUTPUTS, Detector, Verdict
from .registry import severity_for
from .rules import RULES, RULES_BY_ID

__all__ = ["Allowlist", "Detector", "OUTPUT_FIELDS", "OUTPUTS", "Problem", "RULES", "RULES_BY_ID",
           "Verdict", "load_allowlists", "severity_for"]


def load_allowlists(paths):
    """Load allowlist CSV files; rows naming a rule id that does not exist are reported."""
    return _load_allowlists(paths, known_rules=frozenset(RULES_BY_ID))

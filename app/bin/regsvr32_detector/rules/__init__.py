"""The rules, each declared once next to its check (see registry.py for the declaration form).

Checks read parsed parts only: the Invocation's targets, flags and anomalies, never raw
substrings of the command line. Sources name the seed analytics and public rules a rule
reproduces (ids as in research/detections.md: Sigma, Splunk ESCU, Elastic, MITRE CAR) and
the logic ids L01-L34 of that survey.

The rules are declared in modules by what they read, as pySigma assembles its validators:
command_line.py (the parsed command line), lineage.py (parents, children, launchers),
telemetry.py (connections, look-ups, module loads, remote threads, file writes) and
persistence.py (registry, tasks, services); tables.py holds what several of them read. RULES is
ordered by id whatever the module.
"""
from ..registry import finish
from . import command_line, lineage, persistence, telemetry  # noqa: F401 (they declare the rules)
from .tables import T  # noqa: F401
from .command_line import (CAMPAIGNS, PER_USER_WORDS, PROFILE_MICROSOFT_FOLDERS,
                           SYSTEM_SUBFOLDERS, USER_FILE_FOLDERS, random_looking)  # noqa: F401
from .lineage import (OFFICE_PARENTS, PROXIES, REGSVR32_HOMES, RUNTIME_PARENTS, SCRIPT_PARENTS,
                      SERVER_PARENTS, SUSPICIOUS_CHILDREN)  # noqa: F401
from .telemetry import (CLR_MODULES, LOADABLE_EXTS, SCRIPT_RUNTIMES, SCROBJ_HOSTS,
                        SECURITY_SIGNERS, TRUSTED_SIGNATURE_STATUS)  # noqa: F401
from .persistence import PERSISTENCE_TOOLS, PROVIDER_KEYS, REMCOS_CLSID  # noqa: F401

RULES, RULES_BY_ID, RULES_FOR = finish()

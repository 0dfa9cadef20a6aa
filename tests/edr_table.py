"""The list of the fields read from each EDR, generated from fields.EDR_SHAPES so the
two cannot drift.

    python3 tests/edr_table.py           # print the list
    python3 tests/edr_table.py --write   # rewrite docs/edr.md between the edr-fields markers
tests/test_edr_shapes.py fails when docs/edr.md and EDR_SHAPES disagree.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app", "bin"))

from regsvr32_detector import fields  # noqa: E402
from support import readme_blocks  # noqa: E402

BEGIN, END = "<!-- edr-fields:begin -->", "<!-- edr-fields:end -->"
README = readme_blocks.target(BEGIN)   # the doc that holds the table
TITLES = {"crowdstrike": "CrowdStrike Falcon (FDR, Event Streams)",
          "defender": "Microsoft Defender for Endpoint (advanced hunting)",
          "sentinelone": "SentinelOne (Deep Visibility, Cloud Funnel)",
          "carbonblack": "Carbon Black Cloud (data forwarder)",
          "ecs": "Elastic Common Schema (Winlogbeat, Elastic Defend)"}
KIND_ORDER = (fields.PROCESS, fields.IMAGE_LOAD, fields.NETWORK, fields.DNS, fields.REGISTRY,
              fields.FILE, fields.REMOTE_THREAD, fields.PERSISTENCE)


def _code(names):
    return " / ".join("`%s`" % n for n in names)


def _read(shape, kind):
    """'ours `theirs` / `theirs2`' for each of our names the shape reads for this kind."""
    by_name = {}
    for src, (name, rank) in shape.sources[kind].items():
        if "." in src and src.split(".", 1)[0] == "properties":
            continue                                  # the Event Hub form, said once below
        by_name.setdefault(name, []).append((rank, src))
    for name, first, second, _ in shape.joins.get(kind, ()):
        by_name.setdefault(name, []).append((-1, "%s\\%s" % (first[0], second[0])))
    order = [n for n in fields.FIELD_NAMES if n in by_name]
    return "; ".join("%s %s" % (n.replace("_", " "), _code(s for _, s in sorted(by_name[n])))
                     for n in order)


def table():
    lines = []
    for shape in fields.EDR_SHAPES:
        fields_ = sorted(set(f.split("properties.", 1)[-1] for f in shape.type_fields),
                         key=[f.split("properties.", 1)[-1] for f in shape.type_fields].index)
        lines.append("**%s** (`regsvr32_edr_%s`), event type from %s:" % (
            TITLES[shape.name], shape.name, _code(fields_)))
        lines.append("")
        for kind in KIND_ORDER:
            if kind not in shape.sources:
                continue
            types = [t for t, k in shape.event_types.items() if k == kind]
            lines.append("- %s (%s): %s" % (kind.replace("_", " "), _code(types), _read(shape, kind)))
        lines.append("")
    return "\n".join(lines).rstrip("\n")


BLOCK = readme_blocks.Block(BEGIN, END, table)
section, replace = BLOCK.section, BLOCK.replace

if __name__ == "__main__":
    BLOCK.main()

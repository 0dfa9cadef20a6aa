"""The allowlist column table, generated from the column table so the two cannot drift.

    python3 tests/allowlist_table.py           # print the table
    python3 tests/allowlist_table.py --write   # rewrite docs/allowlists.md between the columns markers
tests/test_allowlist.py fails when docs/allowlists.md and the column table disagree.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app", "bin"))

from regsvr32_detector.allowlist_columns import BY_NAME, COLUMNS, FOLDS, OTHER_COLUMNS  # noqa: E402
from regsvr32_detector.fields import ALIASES  # noqa: E402
from support import readme_blocks  # noqa: E402

BEGIN, END = "<!-- allowlist-columns:begin -->", "<!-- allowlist-columns:end -->"
README = readme_blocks.target(BEGIN)   # the doc that holds the table


def _fields(sources):
    """The source field names of these event values, CIM data-model prefixes aside."""
    aliases = dict(ALIASES)
    names = [n for s in sources for n in aliases[s] if "." not in n]
    return ", ".join("`%s`" % n for n in sorted(set(names), key=names.index))


def table():
    other = dict(OTHER_COLUMNS)
    lines = ["| Column | Matched against (every non-empty cell must match) | Compared |",
             "|---|---|---|"]
    for name in COLUMNS:
        if name in BY_NAME:
            column = BY_NAME[name]
            lines.append("| `%s` | %s (%s) | %s |" % (name, column.doc, _fields(column.sources),
                                                       FOLDS[column.fold][1]))
        else:
            lines.append("| `%s` | %s | |" % (name, other[name]))
    return "\n".join(lines)


BLOCK = readme_blocks.Block(BEGIN, END, table)
section, replace = BLOCK.section, BLOCK.replace

if __name__ == "__main__":
    BLOCK.main()

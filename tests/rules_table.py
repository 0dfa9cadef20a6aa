"""The rule table, generated from the rule registry so the two cannot drift.

    python3 tests/rules_table.py           # print the table
    python3 tests/rules_table.py --write   # rewrite docs/rules.md between the rules markers
tests/test_readme.py fails when docs/rules.md and the registry disagree.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app", "bin"))

from regsvr32_detector import RULES  # noqa: E402
from support import readme_blocks  # noqa: E402

BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"
README = readme_blocks.target(BEGIN)   # the doc that holds the table


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def table():
    lines = ["| Rule | What it catches | Severity (risk) | ATT&CK | Sources |",
             "|---|---|---|---|---|"]
    for r in RULES:
        lowered = "; lowered by: %s" % ", ".join(r.lowered_by) if r.lowered_by else ""
        lines.append("| %s | **%s.** %s | %s (%d)%s | %s | %s |" % (
            r.id, _cell(r.title), _cell(r.description), r.severity, r.risk, lowered,
            ", ".join(r.techniques), _cell(", ".join(r.sources))))
    return "\n".join(lines)


BLOCK = readme_blocks.Block(BEGIN, END, table)
section, replace = BLOCK.section, BLOCK.replace

if __name__ == "__main__":
    BLOCK.main()

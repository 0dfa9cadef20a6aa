"""The README's rule table, generated from the rule registry so the two cannot drift.

    python3 tests/rules_table.py           # print the table
    python3 tests/rules_table.py --write   # rewrite README.md between the rules markers
tests/test_readme.py fails when README.md and the registry disagree.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app", "bin"))

from regsvr32_detector import RULES  # noqa: E402

README = os.path.join(ROOT, "README.md")
BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def table():
    lines = ["| Rule | What it catches | Severity (risk) | ATT&CK | Sources |",
             "|---|---|---|---|---|"]
    for r in RULES:
        lines.append("| %s | **%s.** %s | %s (%d) | %s | %s |" % (
            r.id, _cell(r.title), _cell(r.description), r.severity, r.risk,
            ", ".join(r.techniques), _cell(", ".join(r.sources))))
    return "\n".join(lines)


def section(text):
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n")


def replace(text):
    """README text with the rule table between the markers regenerated."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + table() + "\n" + text[end:]


def main():
    if "--write" not in sys.argv:
        print(table())
        return
    with open(README, encoding="utf-8") as f:
        text = f.read()
    with open(README, "w", encoding="utf-8") as f:
        f.write(replace(text))


if __name__ == "__main__":
    main()

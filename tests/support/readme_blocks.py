"""Generated blocks of the docs: the text between a pair of markers, rewritten from code.

Each table script (tests/rules_table.py, edr_table.py, allowlist_table.py) names its markers and
its table(); tests compare section() with table(), and gen_content.py --write rewrites them all.
TARGETS says which file holds each block.
"""
import io
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")
# marker name (<!-- name:begin -->) -> the file that holds the block; "searches" has no markers:
# gen_content.py rewrites the rules column of the table of saved searches, row by row.
TARGETS = {
    "rules": os.path.join(DOCS, "rules.md"),
    "edr-fields": os.path.join(DOCS, "edr.md"),
    "allowlist-columns": os.path.join(DOCS, "allowlists.md"),
    "sigma": os.path.join(DOCS, "sigma.md"),
    "searches": os.path.join(DOCS, "es.md"),
}


def target(begin):
    """The file that holds the block opened by the marker begin."""
    return TARGETS[begin[len("<!-- "):-len(":begin -->")]]


def section(text, begin, end):
    """What the README holds between the markers, without the blank edges."""
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[start:stop].strip("\n")


def replace(text, begin, end, body):
    """The README text with the block between the markers set to body."""
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + body + "\n" + text[stop:]


def main(table, begin, end, argv=None):
    """Print the table, or with --write put it into the file that holds it."""
    if "--write" not in (sys.argv if argv is None else argv):
        print(table())
        return
    path = target(begin)
    with io.open(path, encoding="utf-8") as f:
        text = f.read()
    with io.open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(replace(text, begin, end, table()))


class Block(object):
    """One generated block: its markers and the function that makes its text."""

    def __init__(self, begin, end, table):
        self.begin, self.end, self.table = begin, end, table
        self.path = target(begin)

    def section(self, text):
        return section(text, self.begin, self.end)

    def replace(self, text):
        return replace(text, self.begin, self.end, self.table())

    def main(self):
        main(self.table, self.begin, self.end)

"""The allowlist views' column-dependent parts, rendered from allowlist_columns.

  - regsvr32_allowlist_add.xml: an input per matcher column (between the rule_id input and the
    reason input, in header order, titled from the declaration), the candidate every search
    hands to `| regsvr32allowlist` (a cell per column the form has an input for), and the
    `| table` of the row's columns (every column, in header order);
  - regsvr32_allowlist_health.xml: the `| table` of every row, where the matcher columns follow
    days_left and any other column not listed comes before the file and line.
The rest of each view (layout, visualizations, the other inputs and searches) is written in the
view itself and kept as it is. Rendered by tools/build.py.
"""
import json
import os
import re

from regsvr32_detector.allowlist_columns import BY_NAME, COLUMNS, MATCHERS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIEWS = os.path.join(ROOT, "app", "default", "data", "ui", "views")
ADD = os.path.join(VIEWS, "regsvr32_allowlist_add.xml")
HEALTH = os.path.join(VIEWS, "regsvr32_allowlist_health.xml")

_DEFINITION = re.compile(r"(<definition><!\[CDATA\[\n)(.*)(\n  \]\]></definition>)", re.S)
# The columns of an allowlist row in a `| table` list: the run from rule_id up to a field that
# is not a column (the framework's own regsvr32_row_* fields, or the end of the line).
_ROW_TABLE = re.compile(r"(\| table (?:[\w ]* )?)rule_id(?: (?!regsvr32_)\w+)*")
_CANDIDATE = re.compile(r'candidate="[^"]*"')


def title(column):
    """The title of a matcher column's input: its declared label, else its name spaced and
    capitalized."""
    return column.label or column.name.replace("_", " ").capitalize()


def _definition(text):
    m = _DEFINITION.search(text)
    if not m:
        raise ValueError("no Dashboard Studio definition in the view")
    return m, json.loads(m.group(2))


def _with_definition(text, m, definition):
    return text[:m.start(2)] + json.dumps(definition, indent=4) + text[m.end(2):]


def _matcher_input(name):
    return {"type": "input.text", "title": title(BY_NAME[name]),
            "options": {"token": name, "defaultValue": " "}}


def _between(names, first, last, middle):
    """names with what lies strictly between first and last replaced by middle."""
    start, stop = names.index(first), names.index(last)
    return names[:start + 1] + list(middle) + names[stop:]


def add_view(text):
    m, view = _definition(text)
    inputs = view["inputs"]
    names = _between(list(inputs), "input_rule_id", "input_reason",
                     ["input_%s" % c for c in MATCHERS])
    view["inputs"] = dict((n, inputs[n] if n in inputs and n[6:] not in MATCHERS
                           else _matcher_input(n[6:])) for n in names)
    layout = view["layout"]
    layout["globalInputs"] = _between(layout["globalInputs"], "input_rule_id", "input_reason",
                                      ["input_%s" % c for c in MATCHERS])
    asked = [i["options"]["token"] for i in view["inputs"].values()
             if i["options"]["token"] in COLUMNS]
    candidate = 'candidate="%s"' % "&".join("%s=$%s|u$" % (c, c) for c in asked)
    for source in view["dataSources"].values():
        query = source["options"]["query"]
        query = _CANDIDATE.sub(lambda _: candidate, query)
        source["options"]["query"] = _ROW_TABLE.sub(
            lambda t: t.group(1) + " ".join(COLUMNS), query)
    return _with_definition(text, m, view)


def _health_table(fields):
    """The health table's fields: the matchers after days_left, any column not otherwise listed
    before file."""
    kept = [f for f in fields if f not in MATCHERS]
    at = kept.index("days_left") + 1
    kept[at:at] = MATCHERS
    missing = [c for c in COLUMNS if c not in kept]
    at = kept.index("file")
    kept[at:at] = missing
    return kept


def health_view(text):
    m, view = _definition(text)
    source = view["dataSources"]["ds_rows"]["options"]
    source["query"] = re.sub(r"(\| table )([^|\n]+)$",
                             lambda t: t.group(1) + " ".join(_health_table(t.group(2).split())),
                             source["query"])
    return _with_definition(text, m, view)


def outputs(read):
    """{path: text} of the views, from their current text (read(path))."""
    return {ADD: add_view(read(ADD)), HEALTH: health_view(read(HEALTH))}

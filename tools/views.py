"""The views' allowlist-dependent parts, rendered from allowlist_columns and tuning.PREFILL.

  - regsvr32_allowlist_add.xml: an input per matcher column (between the rule_id input and the
    reason input, in header order, titled from the declaration), the candidate every search
    hands to `| regsvr32allowlist` (a cell per column the form has an input for), and the
    `| table` of the row's columns (every column, in header order);
  - regsvr32_allowlist_health.xml: the `| table` of every row, where the matcher columns follow
    days_left and any other column not listed comes before the file and line;
  - regsvr32_overview.xml: the cells a finding prefills (tuning.PREFILL after rule_id), in the
    fields its base search keeps, the table of findings to allowlist, and that table's link to
    the add view (a form.<column> token each).
The rest of each view (layout, visualizations, the other inputs and searches) is written in the
view itself and kept as it is. Rendered by tools/build.py.
"""
import json
import os
import re

from regsvr32_detector.allowlist_columns import BY_NAME, COLUMNS, MATCHERS
from regsvr32_detector.tuning import PREFILL

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIEWS = os.path.join(ROOT, "app", "default", "data", "ui", "views")
ADD = os.path.join(VIEWS, "regsvr32_allowlist_add.xml")
HEALTH = os.path.join(VIEWS, "regsvr32_allowlist_health.xml")
OVERVIEW = os.path.join(VIEWS, "regsvr32_overview.xml")

_DEFINITION = re.compile(r"(<definition><!\[CDATA\[\n)(.*)(\n  \]\]></definition>)", re.S)
# The columns of an allowlist row in a `| table` list: the run from rule_id up to a field that
# is not a column (the command's regsvr32_row_* fields, or the end of the line).
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


def _sub_once(pattern, render, text):
    """text with the one match of pattern replaced by render(match)."""
    found, count = re.subn(pattern, render, text)
    if count != 1:
        raise ValueError("%d matches of %s in %r" % (count, pattern, text))
    return found


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
    candidates = tables = 0
    for source in view["dataSources"].values():
        query, found = _CANDIDATE.subn(lambda _: candidate, source["options"]["query"])
        candidates += found
        source["options"]["query"], found = _ROW_TABLE.subn(
            lambda t: t.group(1) + " ".join(COLUMNS), query)
        tables += found
    if not (candidates and tables):
        raise ValueError("the add view's searches name no candidate or no row table")
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
    source["query"] = _sub_once(r"(\| table )([^|\n]+)$",
                                lambda t: t.group(1) + " ".join(_health_table(t.group(2).split())),
                                source["query"])
    return _with_definition(text, m, view)


def overview_view(text):
    m, view = _definition(text)
    cells = ("rule_id",) + PREFILL
    base = view["dataSources"]["ds_base"]["options"]
    base["query"] = _sub_once(r"regsvr32_cell_\w+(?: regsvr32_cell_\w+)*",
                              lambda _: " ".join("regsvr32_cell_" + c for c in cells), base["query"])
    tune = view["dataSources"]["ds_tune"]["options"]
    tune["query"] = _sub_once(r"regsvr32_cell_\w+ as \w+(?:, regsvr32_cell_\w+ as \w+)*",
                              lambda _: ", ".join("regsvr32_cell_%s as %s" % (c, c) for c in cells),
                              tune["query"])
    tune["query"] = _sub_once(r"(?<= )rule_id(?: \w+)*$", lambda _: " ".join(cells), tune["query"])
    link = view["visualizations"]["viz_tune"]["eventHandlers"][0]["options"]
    link["url"] = _sub_once(r"(?<=\?)form\.rule_id=.*$",
                            lambda _: "&".join("form.%s=$row.%s.value|u$" % (c, c) for c in cells),
                            link["url"])
    return _with_definition(text, m, view)


def outputs(read):
    """{path: text} of the views, from their current text (read(path))."""
    return {ADD: add_view(read(ADD)), HEALTH: health_view(read(HEALTH)),
            OVERVIEW: overview_view(read(OVERVIEW))}

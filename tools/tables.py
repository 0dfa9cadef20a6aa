"""The documentation tables rendered from the declarations (rules, allowlist columns, EDR shapes).

Each function returns the text of one block; tools/build.py puts it between its markers (the
(file, marker) pairs are in build.TARGETS, the one place to re-point them).
"""
import csv
import io

from regsvr32_detector import OUTPUTS, RULES, fields
from regsvr32_detector.allowlist_columns import BY_NAME, COLUMNS, FOLDS, OTHER_COLUMNS


def section(text, begin, end):
    """What a file holds between the markers, without the blank edges."""
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[start:stop].strip("\n")


def replace(text, begin, end, body):
    """The text with the block between the markers set to body."""
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + body + "\n" + text[stop:]


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def rules_table():
    lines = ["| Rule | What it catches | Severity (risk) | ATT&CK | Sources |",
             "|---|---|---|---|---|"]
    for r in RULES:
        lowered = "; lowered by: %s" % ", ".join(r.lowered_by) if r.lowered_by else ""
        lines.append("| %s | **%s.** %s | %s (%d)%s | %s | %s |" % (
            r.id, _cell(r.title), _cell(r.description), r.severity, r.risk, lowered,
            ", ".join(r.techniques), _cell(", ".join(r.sources))))
    return "\n".join(lines)


def _fields(sources):
    """The source field names of these event values, CIM data-model prefixes aside."""
    aliases = dict(fields.ALIASES)
    names = [n for s in sources for n in aliases[s] if "." not in n]
    return ", ".join("`%s`" % n for n in sorted(set(names), key=names.index))


def allowlist_table():
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


# The row the docs show under the allowlist header, by column (the others empty).
EXAMPLE_ROW = {"rule_id": "R32-006", "image": "*\\regsvr32.exe", "parent_image": "*\\msiexec.exe",
               "host": "PKG-BUILD-*", "reason": "packaging farm registers its own DLLs",
               "source": "CHG-4411", "expires": "2027-06-30"}


def allowlist_example():
    """The allowlist header (the shipped list's) and an example row, as a CSV code block."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow([EXAMPLE_ROW.get(c, "") for c in COLUMNS])
    return "```\n%s```" % out.getvalue()


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


def edr_table():
    lines = []
    for shape in fields.EDR_SHAPES:
        fields_ = sorted(set(f.split("properties.", 1)[-1] for f in shape.type_fields),
                         key=[f.split("properties.", 1)[-1] for f in shape.type_fields].index)
        lines.append("**%s** (`regsvr32_edr_%s`), event type from %s:" % (
            shape.title, shape.name, _code(fields_)))
        lines.append("")
        for kind in KIND_ORDER:
            if kind not in shape.sources:
                continue
            types = [t for t, k in shape.event_types.items() if k == kind]
            lines.append("- %s (%s): %s" % (kind.replace("_", " "), _code(types), _read(shape, kind)))
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def output_table():
    lines = ["| Field | Multivalue | What it holds |", "|---|---|---|"]
    for o in OUTPUTS:
        lines.append("| `%s` | %s | %s |" % (o.name, "yes" if o.multivalue else "no", _cell(o.meaning)))
    return "\n".join(lines)


def option_list():
    """The command's options as regsvr32detect.py declares them: name, default and doc (read
    from the declarations' source: splunklib's Configuration drops the docs at import)."""
    import ast
    import regsvr32detect                    # needs splunklib (app/bin/lib) on the path
    with open(regsvr32detect.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    command = next(n for n in tree.body if isinstance(n, ast.ClassDef)
                   and n.name == "Regsvr32DetectCommand")
    lines = []
    for node in command.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "Option"):
            continue
        name = node.targets[0].id
        doc = next(k.value for k in node.value.keywords if k.arg == "doc")
        doc = eval(compile(ast.Expression(doc), "regsvr32detect.py", "eval"), vars(regsvr32detect))
        default = getattr(regsvr32detect.Regsvr32DetectCommand, name).default
        default = str(default).lower() if isinstance(default, bool) else default
        lines.append("- `%s` (default `%s`): %s" % (name, default, doc))
    return "\n".join(lines)

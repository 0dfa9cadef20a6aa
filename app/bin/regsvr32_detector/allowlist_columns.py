"""The allowlist's columns: one table says what each column means.

For a matcher column: how a cell and an event's values are folded before they are compared
(the same fold on both sides), and which of the event's values it is matched against. The
loader's header check, the matching (``Facts``), the verdict memo's key (the values the columns
in use read), and what the build renders from it (tools/build.py: the column table of
docs/allowlists.md, the lookups' match_type, the shipped list's header, the allowlist views'
inputs and searches) all read this table, so a column cannot exist in one and not the others.
"""
import collections
import difflib
import unicodedata

from . import fields


def _path(value):
    return value.lower().replace("/", "\\")


def _command_line(value):
    return " ".join(value.lower().split())


# fold name -> (function applied to cells and event values alike, what it means for the docs)
FOLDS = {
    "path": (_path, "case-insensitive; `/` reads as `\\`"),
    "command_line": (_command_line, "case-insensitive; runs of blanks read as one space"),
    "text": (str.lower, "case-insensitive"),
}


def _regsvr32(ev):
    return ev.kind == fields.PROCESS and ev.is_regsvr32


def _modules(ev):
    return tuple(m.path for m in ev.invocation.modules) if _regsvr32(ev) else ()


class Either(tuple):
    """Several names of one thing (a destination's host name and its IP): a cell matches the
    thing when it matches any of them, where each of several things must match."""

    __slots__ = ()


def _hosts(ev):
    # The DNS query, the destination's host name and its IP name one peer: a row naming the
    # host clears the connection to it (Sysmon 3 and EDRs give both), and so does one naming
    # the IP. The URLs and shares of a command line are each a host of their own.
    peer = [v for v in (ev.query_name, ev.dest_host, ev.dest_ip) if v]
    hosts = [Either(peer) if len(peer) > 1 else peer[0]] if peer else []
    if _regsvr32(ev):
        hosts.extend(t.host for t in ev.invocation.targets)
    return hosts


def _folded(fold, value):
    return Either([fold(v) for v in value]) if type(value) is Either else fold(value)


Column = collections.namedtuple("Column", "name fold sources values doc label", defaults=(None,))
# Matcher columns in header order: how cells and values are folded, the event values (fields.py
# names) read, values(ev) -> the raw values (None: the first non-empty source alone), for
# docs/allowlists.md what they are (the generator adds the source field names from fields.ALIASES),
# and optionally the title of the column's input in the allowlist form (default: the name, spaced
# and capitalized).
MATCHER_TABLE = tuple(Column(*row) for row in (
    ("image", "path", ("image", "process_name"), None, "the process's image path, else its name"),
    ("parent_image", "path", ("parent_image", "parent_process_name"), None,
     "the parent's image path, else its name"),
    ("command_line", "command_line", ("command_line",), None, "the whole command line"),
    ("module", "path", ("command_line",), _modules,
     "each module a regsvr32 command line registers, as parsed and resolved; every one must "
     "match, so an allowed module gives no cover to another"),
    ("url_host", "text", ("query_name", "dest_host", "dest_ip", "command_line"), _hosts,
     "each host: the DNS query or the destination (its host name or its IP: either matches), "
     "and the hosts of the URLs and shares in a regsvr32 command line; every one must match",
     "URL host"),
    ("loaded_image", "path", ("image_loaded",), None, "the loaded module"),
    ("signer", "text", ("signature",), None, "the loaded module's signer"),
    ("registry_path", "path", ("registry_path",), None, "the registry key or value written"),
    ("user", "text", ("user",), None, "the user"),
    ("host", "text", ("host",), None, "the computer"),
))
MATCHERS = tuple(c.name for c in MATCHER_TABLE)
BY_NAME = dict((c.name, c) for c in MATCHER_TABLE)
FOLD = dict((c.name, FOLDS[c.fold][0]) for c in MATCHER_TABLE)


def _fact(column):
    """ev -> the event's folded values for the column (once per column of a flagged event)."""
    fold, values, names = FOLD[column.name], column.values, column.sources
    if values is not None:
        return lambda ev: tuple([_folded(fold, v) for v in values(ev) if v])

    def first(ev):
        for name in names:
            value = getattr(ev, name)
            if value:
                return (fold(value),)
        return ()
    return first


FACT = dict((c.name, _fact(c)) for c in MATCHER_TABLE)

# The other columns, for the header and the docs: name -> what it holds. The header order is
# rule_id, the matchers, then the rest.
OTHER_COLUMNS = (
    ("rule_id", "the rule, e.g. `R32-006`, or several with `*` and `?` (`*` for all); required"),
    ("reason", "why this is allowed; required, shown in `regsvr32_allowlisted`"),
    ("source", "where the row comes from (a ticket, a vendor rule); optional"),
    ("expires", "`YYYY-MM-DD`: the row does not apply to events after that day (the UTC day of "
                "the event's `_time`, else the UTC day the search runs); optional"),
    ("added_by", "who added the row (the allowlist form fills it in); optional, descriptive"),
    ("added_on", "`YYYY-MM-DD`: the day the row was added (the allowlist form fills it in); "
                 "optional, descriptive"),
)
COLUMNS = (OTHER_COLUMNS[0][0],) + MATCHERS + tuple(name for name, _ in OTHER_COLUMNS[1:])


def header_name(text):
    """A header cell as the loader reads it: without format characters (a BOM, a zero-width
    space or joiner, a direction mark: invisible in an editor), trimmed, lower case."""
    if text.isascii():
        return text.strip().lower()
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip().lower()


def _squeeze(name):
    return "".join(c for c in name.lower() if c.isalnum())


# An event field's name (Computer, CommandLine, ImageLoaded...) written as a header means the
# column that reads that field alone; other names are compared by spelling.
_BY_FIELD = dict((_squeeze(source), c.name) for c in MATCHER_TABLE if c.values is None
                 for name in c.sources for source in dict(fields.ALIASES)[name] + (name,))
_BY_FIELD.update((_squeeze(name), name) for name in COLUMNS)


def nearest(name):
    """The known column a header name most likely meant, or None."""
    squeezed = _squeeze(name)
    if squeezed in _BY_FIELD:
        return _BY_FIELD[squeezed]
    close = difflib.get_close_matches(squeezed, list(_BY_FIELD), n=1, cutoff=0.6)
    return _BY_FIELD[close[0]] if close else None


class Facts(dict):
    """An event's folded values by matcher column, each worked out on first use."""

    __slots__ = ("ev",)

    def __init__(self, ev):
        dict.__init__(self)
        self.ev = ev

    def __missing__(self, column):
        values = self[column] = FACT[column](self.ev)
        return values

    get = dict.__getitem__


def facts(ev):
    """Every allowlist fact of an event (for display and tests)."""
    f = Facts(ev)
    return dict((c, f.get(c)) for c in MATCHERS if f.get(c))

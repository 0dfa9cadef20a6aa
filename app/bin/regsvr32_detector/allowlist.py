"""Allowlists: CSV rows that suppress a rule's finding for parsed values they name.

A row names a rule (``rule_id``, wildcards allowed, ``*`` for all), one or more matchers on
parsed values of the event, a ``reason`` (required), a ``source`` and an optional ``expires``
date. Matchers use ``*`` and ``?`` only, case-insensitively; nothing from a lookup is ever a
regular expression or code. A bad row is reported with its file and line and skipped; the
other rows still apply. A suppressed finding is kept and shown as allowlisted, never dropped.
"""
import csv
import datetime
import gc
import io
import os
import re

# Matcher columns: what each one is matched against (see facts()).
MATCHERS = ("image", "parent_image", "command_line", "module", "url_host", "loaded_image",
            "signer", "registry_path", "user", "host")
COLUMNS = ("rule_id",) + MATCHERS + ("reason", "source", "expires")
_PATH_COLUMNS = frozenset(("image", "parent_image", "module", "loaded_image", "registry_path"))
MAX_FIELD = 4096        # longer cells are a mistake or an attack, not an allowlist entry


class Problem(object):
    """A bad allowlist file or row: where it is and what to do about it."""

    __slots__ = ("path", "line", "message")

    def __init__(self, path, line, message):
        self.path, self.line, self.message = path, line, message

    def __str__(self):
        where = os.path.basename(self.path)
        return "%s:%d: %s" % (where, self.line, self.message) if self.line else "%s: %s" % (
            where, self.message)

    __repr__ = __str__


class Glob(object):
    """A case-insensitive ``*``/``?`` pattern, matched in time linear in pattern x text.

    The pieces between stars are matched greedily, leftmost first, which is exact for globs
    and cannot backtrack the way one translated regular expression can. A piece with ``?``
    becomes a fixed-length regular expression of literals and ``.``: no data-driven syntax.
    """

    __slots__ = ("text", "exact", "anything", "pieces", "seen")
    MEMO = 2048             # recent answers per pattern: the same paths recur row after row

    def __init__(self, pattern):
        self.text = pattern.lower()
        self.exact = "*" not in self.text and "?" not in self.text
        self.anything = self.text != "" and self.text.strip("*") == ""
        self.pieces = None          # made on first use: most rows of a long list never need them
        self.seen = {}              # value -> answer, for values seen recently

    def match(self, value):
        if self.exact:
            return value == self.text
        if self.anything:
            return True
        hit = self.seen.get(value)
        if hit is None:
            if len(self.seen) >= self.MEMO:
                self.seen.clear()
            hit = self.seen[value] = self._match(value)
        return hit

    def _match(self, value):
        pieces = self.pieces
        if pieces is None:
            pieces = self.pieces = [_piece(p) for p in self.text.split("*")]
        if len(pieces) == 1:
            return len(value) == len(pieces[0][0]) and _at(value, 0, pieces[0])
        first, last = pieces[0], pieces[-1]
        end = len(value) - len(last[0])
        if end < len(first[0]) or not _at(value, 0, first) or not _at(value, end, last):
            return False
        pos = len(first[0])
        for piece in pieces[1:-1]:
            pos = _find(value, piece, pos, end)
            if pos < 0:
                return False
            pos += len(piece[0])
        return True


def _piece(text):
    if "?" not in text:
        return text, None
    return text, re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.S)


def _at(value, pos, piece):
    text, rx = piece
    if rx is None:
        return value.startswith(text, pos)
    return rx.match(value, pos) is not None


def _find(value, piece, start, end):
    text, rx = piece
    if rx is None:
        return value.find(text, start, end)
    m = rx.search(value, start, end)
    return m.start() if m else -1


class Entry(object):
    """One allowlist row."""

    __slots__ = ("rule", "matchers", "reason", "source", "expires", "path", "line")

    def __init__(self, rule, matchers, reason, source, expires, path, line):
        self.rule, self.matchers = rule, matchers      # matchers: ((column, Glob), ...)
        self.reason, self.source, self.expires = reason, source, expires
        self.path, self.line = path, line

    @property
    def where(self):
        return "%s:%d" % (os.path.basename(self.path), self.line)

    def matches(self, facts):
        """Whether every matcher holds for the event's facts (the rule aside)."""
        for column, glob in self.matchers:
            values = facts.get(column)
            if not values:
                return False
            # every value must match: an allowlisted module next to another one is no cover
            seen = glob.seen
            for v in values:
                hit = seen.get(v)
                if hit is None:
                    hit = glob.match(v)
                if not hit:
                    return False
        return True


class Allowlist(object):
    """The rows of one or more allowlist files, in load order.

    A row with a cell without wildcards can only match events whose values in that column equal
    it: such rows are filed under (column, value) and found by one dict look-up, so 100,000 of
    them cost next to nothing. The other rows are grouped by the column of their first matcher;
    for each value seen in a column the group remembers which rows' first matcher holds. Only
    the few rows found either way are checked in full, in load order.
    """

    MEMO = 4096             # values remembered per column group

    def __init__(self, entries=()):
        self.entries = tuple(entries)
        self._position = dict((e, n) for n, e in enumerate(self.entries))
        self._candidates = {}       # rule id (lower case) -> (its rows, columns to look at)
        self._exact = {}            # (column, value) -> rows with that exact cell
        self._groups = {}           # first matcher column -> rows with wildcard cells only
        for e in self.entries:
            exact = next(((c, g.text) for c, g in e.matchers if g.exact), None)
            if exact is not None:
                self._exact.setdefault(exact, []).append(e)
            else:
                self._groups.setdefault(e.matchers[0][0] if e.matchers else "", []).append(e)
        self._memo = dict((column, {}) for column in self._groups)

    def __len__(self):
        return len(self.entries)

    def _rows_for(self, rule_id):
        """(rows that name the rule, the columns their look-ups need), remembered."""
        low = rule_id.lower()
        found = self._candidates.get(low)
        if found is None:
            rows = frozenset(e for e in self.entries if e.rule.match(low))
            columns = set()
            for e in rows:
                exact = next((c for c, g in e.matchers if g.exact), None)
                columns.add(("=", exact) if exact else ("*", e.matchers[0][0]) if e.matchers else None)
            columns.discard(None)
            found = self._candidates[low] = (rows, frozenset(columns))
        return found

    def _passing(self, facts, columns):
        """The rows whose exact cell or first wildcard matcher holds for the event."""
        passing = set(self._groups.get("", ()))          # rows with no matcher (one rule only)
        for kind, column in columns:
            values = facts.get(column)
            if not values:
                continue
            if kind == "=":         # every value must match: the first one picks the rows
                passing.update(self._exact.get((column, values[0]), ()))
                continue
            rows = self._groups[column]
            memo = self._memo[column]
            common = None
            for v in values:
                hit = memo.get(v)
                if hit is None:
                    if len(memo) >= self.MEMO:
                        memo.clear()
                    hit = memo[v] = frozenset(e for e in rows if e.matchers[0][1].match(v))
                common = hit if common is None else common & hit
            passing |= common
        return passing

    def suppress(self, rule_ids, facts, today):
        """{rule id: first active row that suppresses it} for one event's findings.

        ``facts`` answers ``get(column)`` with the event's values for a matcher column.
        """
        out = {}
        candidates = [self._rows_for(rule_id) for rule_id in rule_ids]
        columns = set()
        for _, needed in candidates:
            columns |= needed
        passing = self._passing(facts, columns) if columns else self._groups.get("", ())
        if not passing:
            return out
        ordered = sorted(passing, key=self._position.__getitem__)
        for rule_id, (rows, _) in zip(rule_ids, candidates):
            for e in ordered:
                if e in rows and (e.expires is None or e.expires >= today) and e.matches(facts):
                    out[rule_id] = e
                    break
        return out


def _read_text(path, problems):
    try:
        with io.open(path, "rb") as f:
            data = f.read()
    except (IOError, OSError) as e:
        problems.append(Problem(path, 0, "cannot read the file (%s); its rows do not apply"
                                % (e.strerror or e.__class__.__name__)))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        problems.append(Problem(path, data[:e.start].count(b"\n") + 1, "not UTF-8 (%s); such "
                                "characters match nothing: save the file as UTF-8 CSV" % e.reason))
        text = data.decode("utf-8-sig", "replace")
    if "\x00" in text:
        problems.append(Problem(path, text[:text.index("\x00")].count("\n") + 1,
                                "NUL bytes removed; save the file as plain UTF-8 CSV"))
        text = text.replace("\x00", "")
    return text


def load_allowlists(paths, known_rules=None):
    """Load allowlist files in order. Returns (Allowlist, [Problem]); never raises.

    ``known_rules``: rule ids that exist, so that a row naming no existing rule is reported.
    """
    entries = []
    problems = []
    seen = {}
    # The cyclic collector would rescan every row made so far, again and again: half the load
    # time of a 100,000-row list. Rows hold no cycles, so it waits until the load is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in paths:
            text = _read_text(path, problems)
            if text is not None:
                entries.extend(_parse(path, text, problems, seen, known_rules))
        return Allowlist(entries), problems
    finally:
        if collecting:
            gc.enable()


def _parse(path, text, problems, seen, known_rules):
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Problem(path, 1, "empty file: expected a header row with "
                                + ",".join(COLUMNS)))
        return
    except csv.Error as e:
        problems.append(Problem(path, 1, "unreadable header (%s)" % e))
        return
    names = [h.strip().lower() for h in header]
    for col in ("rule_id", "reason"):
        if col not in names:
            problems.append(Problem(path, 1, "no '%s' column: the header must include %s"
                                    % (col, ",".join(COLUMNS))))
            return
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        problems.append(Problem(path, 1, "unknown column(s) %s ignored; known columns: %s"
                                % (", ".join(repr(u) for u in unknown), ",".join(COLUMNS))))
    # column -> its position; a column the file lacks reads the empty cell padded on at the end
    index = dict((n, names.index(n) if n in names else len(names)) for n in COLUMNS)
    cache = {}              # cell text -> Glob (or ("date", text) -> date), shared by the rows
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            problems.append(Problem(path, last + 1, "unreadable row skipped (%s)" % e))
            last = reader.line_num
            continue
        line, last = last + 1, reader.line_num     # a quoted value may span lines
        if not any(c.strip() for c in row):
            continue
        entry = _entry(path, line, last, row, index, len(names), problems, known_rules, cache)
        if entry is None:
            continue
        key = (entry.rule.text,) + tuple((c, g.text) for c, g in entry.matchers)
        if key in seen:
            problems.append(Problem(path, line, "duplicate of %s; skipped" % seen[key].where))
            continue
        seen[key] = entry
        yield entry


def _entry(path, line, end, row, index, width, problems, known_rules, cache):
    def bad(message):
        problems.append(Problem(path, line, message + "; row skipped"))

    if len(row) > width and any(c.strip() for c in row[width:]):
        return bad("%d cells but the header has %d columns (quote values that contain commas)"
                   % (len(row), width))
    if max(map(len, row)) > MAX_FIELD:
        return bad("a value is longer than %d characters" % MAX_FIELD)
    # a list, not a dict per row: this loop is most of the load time of a 100,000-row list
    cells = [c.strip() for c in row] + [""] * (width + 1 - len(row))
    matched = [(col, cells[index[col]]) for col in MATCHERS if cells[index[col]]]
    rule = cells[index["rule_id"]]
    if end > line:
        spans = [col for col, v in [("rule_id", rule)] + matched if "\n" in v or "\r" in v]
        if spans:
            return bad("the value of '%s' runs from line %d to line %d: is a closing quote "
                       "missing?" % (spans[0], line, end))
    if not rule:
        return bad("empty rule_id: name a rule such as R32-007, or * for every rule")
    if known_rules is not None and "*" not in rule and "?" not in rule \
            and rule.upper() not in known_rules:
        return bad("unknown rule_id %r" % rule)
    reason = cells[index["reason"]]
    if not reason:
        return bad("empty reason: say why this is allowed")
    matchers = []
    for col, value in matched:
        if col in _PATH_COLUMNS:
            value = value.replace("/", "\\")
        elif col == "command_line":
            value = " ".join(value.split())
        glob = cache.get(value)
        if glob is None:
            glob = cache[value] = Glob(value)
        matchers.append((col, glob))
    rule_glob = cache.get(rule) or cache.setdefault(rule, Glob(rule))
    if not matchers and not rule_glob.exact:
        return bad("no matcher column filled in: a row for %r alone would hide every finding "
                   "of those rules; fill in at least one of %s" % (rule, ", ".join(MATCHERS)))
    expires = cells[index["expires"]] or None
    if expires:
        try:
            expires = _date(expires, cache)
        except ValueError:
            return bad("expires %r is not a date like 2027-01-31" % expires)
    return Entry(rule_glob, tuple(matchers), reason, cells[index["source"]], expires, path, line)


def _date(text, cache):
    # YYYY-MM-DD; strptime would cost a third of the load time of a 100,000-row list.
    day = cache.get(("date", text))
    if day is not None:
        return day
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or not text.isascii() \
            or not (text[:4] + text[5:7] + text[8:]).isdigit():
        raise ValueError(text)
    day = cache["date", text] = datetime.date(int(text[:4]), int(text[5:7]), int(text[8:]))
    return day

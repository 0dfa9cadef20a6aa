"""Allowlists: CSV rows that suppress a rule's finding for parsed values they name.

A row names a rule (``rule_id``, wildcards allowed, ``*`` for all), one or more matchers on
parsed values of the event, a ``reason`` (required), a ``source`` and an optional ``expires``
date. Matchers use ``*`` and ``?`` only, case-insensitively; nothing from a lookup is ever a
regular expression or code. A bad row is reported with its file and line and skipped; the
other rows still apply. A suppressed finding is kept and shown as allowlisted, never dropped.
"""
import collections
import csv
import datetime
import gc
import io
import itertools
import os
import re

from .allowlist_columns import COLUMNS, FOLD, MATCHERS, Either, header_name, nearest

MAX_FIELD = 4096        # longer cells are a mistake or an attack, not an allowlist entry
MAX_QUESTION = 64       # '?' per cell: a GUID needs 32; thousands only make matching slow
GRAM = 4                # longest substring a cell's inner literal is indexed by (see Allowlist)


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


_WILD_RUN = re.compile(r"[*?]*\*[*?]*")


class Glob(object):
    """A case-insensitive ``*``/``?`` pattern, matched without backtracking.

    The parts between stars are matched greedily, leftmost first, which is exact for globs.
    A ``?`` next to a star only asks for one more character (``*?`` is ``?*``), so it becomes a
    count rather than part of a search: ``*`` + 4000 ``?`` + ``z*`` looks for one ``z``. A part
    with ``?`` inside becomes a fixed-length regular expression of literals and ``.``, never
    data-driven syntax.
    """

    __slots__ = ("text", "exact", "broad", "_parts")

    def __init__(self, pattern):
        # A run of wildcards with a star means "at least this many characters": written one
        # way (?* for *?*, * for **), equal cells are equal texts, for duplicates and the index.
        text = pattern.lower()
        if "*" in text and ("?" in text or "**" in text):     # most cells need nothing done
            text = _WILD_RUN.sub(lambda m: "?" * m.group().count("?") + "*", text)
        self.text = text
        self.exact = "*" not in self.text and "?" not in self.text
        # wildcards only: matches every value of a column (or every one of a length)
        self.broad = not self.text.strip("*?")
        self._parts = None          # made on first use: most rows of a long list never need them

    def match(self, value):
        if self.exact:
            return value == self.text
        parts = self._parts
        if parts is None:
            parts = self._parts = _parts(self.text)
        first, middles, last = parts
        if last is None:                                # no star: one fixed-length part
            return len(value) == len(first[0]) and _at(value, 0, first)
        end = len(value) - len(last[0])
        if end < len(first[0]) or not _at(value, 0, first) or not _at(value, end, last):
            return False
        pos = len(first[0])
        for before, core, after in middles:
            pos = _find(value, core, pos + before, end - after)
            if pos < 0:
                return False
            pos += len(core[0]) + after
        return True

    def keys(self):
        """Literal pieces every matching value has: [(kind, offset, text)].

        ``^``: text at that offset from the start; ``$``: text ending that far from the end;
        ``~``: a substring anywhere (at most GRAM characters). See Allowlist.
        """
        if self.exact:
            return [("=", 0, self.text)]
        parts = self.text.split("*")
        out = []
        head = _runs(parts[0])
        if head:
            off, run = max(head, key=lambda r: len(r[1]))
            out.append(("^", off, run))
        tail = _runs(parts[-1])
        if tail:
            off, run = max(tail, key=lambda r: len(r[1]))
            out.append(("$", len(parts[-1]) - off - len(run), run))
        for part in parts:
            for _, run in _runs(part):
                q = min(GRAM, len(run))
                out.extend(("~", 0, run[i:i + q]) for i in range(len(run) - q + 1))
        return out


def _runs(part):
    """[(offset, literal)] of the runs between the '?' of a part without stars."""
    out, pos = [], 0
    for run in part.split("?"):
        if run:
            out.append((pos, run))
        pos += len(run) + 1
    return out


def _parts(text):
    """(first, middles, last): the anchored first and last parts and, for each part between
    stars, (? before, the part from its first to its last literal, ? after)."""
    parts = text.split("*")
    if len(parts) == 1:
        return _piece(text), (), None
    middles = []
    for part in parts[1:-1]:
        core = part.strip("?")
        before = len(part) - len(part.lstrip("?"))
        middles.append((before, _piece(core), len(part) - len(core) - before))
    return _piece(parts[0]), tuple(middles), _piece(parts[-1])


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
    """Leftmost position >= start where the piece fits before end, or -1."""
    text, rx = piece
    if rx is None:
        return value.find(text, start, end) if start <= end else -1
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
            for v in values:
                if type(v) is Either:           # names of one host: any of them
                    if not any(map(glob.match, v)):
                        return False
                elif not glob.match(v):
                    return False
        return True


# When as few rows share two pieces: a whole value first, then the end of a value (a path's
# file name says more than its folder), its start, and substrings last (the dearest look-up).
_RANK = {"=": 0, "$": 1, "^": 2, "~": 3}
_NO_KEY = (float("inf"), 9, 0, None)            # a cell of wildcards only: sorts last


class Allowlist(object):
    """The rows of one or more allowlist files, in load order, indexed by a literal they need.

    Every value a cell matches contains the cell's literal pieces: the whole text of a cell
    without wildcards, the text before its first wildcard at a fixed offset from the start, the
    text after its last one at a fixed offset from the end, and any substring of its literal
    text (of up to GRAM characters). Each row is filed under the one such piece, over all its
    cells, that the fewest rows share; an event looks up the pieces of its own values (a slice
    per offset in use, or its substrings) and checks in full only the rows found, so 100,000 rows
    ``PKG-<n>-*`` or ``C:\\Tools\\v<n>\\*`` cost a handful of dict look-ups. Rows without any
    literal (a rule's row with no cell, or cells of wildcards only) are checked for every
    finding of their rule. Look-ups of short values are remembered within a budget of bytes;
    long values are not, so distinct long values cost no memory.
    """

    FEW = 256               # up to this many substring pieces in a column, search for each
    MEMO_BYTES = 1 << 20    # look-ups remembered: about this many bytes (values, dict entries)
    MEMO_VALUE = 512        # longer values are not remembered: they rarely recur
    ENTRY_BYTES = 100       # what a remembered value costs besides its characters

    def __init__(self, entries=()):
        self.entries = tuple(entries)
        self.columns = frozenset(column for e in self.entries for column, _ in e.matchers)
        self._position = dict((e, n) for n, e in enumerate(self.entries))
        self._rules = {}            # rule id (lower case) -> what its rows need; see _rule()
        self._plans = {}            # rule ids of one event -> what to look up; see _plan()
        self._lookup_of = {}        # row -> the column it is filed under, or None
        cells, cost = self._costs()
        # A cell without wildcards that no other row has is the best key there is: most rows of
        # a long list have one, so they are filed at once. The others take their best piece.
        equal = dict((column, {}) for column in MATCHERS)          # column -> {text: rows}
        rows = {}                   # (kind, column, offset, text) -> rows filed under that piece
        for e in self.entries:
            for cell in e.matchers:
                if cell[1].exact and cells[cell] == 1:
                    equal[cell[0]].setdefault(cell[1].text, []).append(e)
                    self._lookup_of[e] = cell[0]
                    break
            else:
                piece = min(map(cost, e.matchers))[3] if e.matchers else None
                self._lookup_of[e] = piece and piece[1]
                if piece:
                    rows.setdefault(piece, []).append(e)
        # (kind, column) -> its tables: "=" and "~" {text: rows}; "^" and "$" a list of
        # (offset, length, {text: rows}), one per slice of the value to look up
        tables = dict((("=", column), texts) for column, texts in equal.items() if texts)
        for (kind, column, off, text), found in rows.items():
            if kind in "=~":
                tables.setdefault((kind, column), {}).setdefault(text, []).extend(found)
            else:
                shapes = tables.setdefault((kind, column), {})
                shapes.setdefault((off, len(text)), {})[text] = found
        self._tables = dict((k, t if k[0] in "=~" else [(o, n, t[o, n]) for o, n in sorted(t)])
                            for k, t in tables.items())
        self._sizes = dict((k, sorted(set(map(len, table)))) for k, table in self._tables.items()
                           if k[0] == "~")
        # column -> {value: rows found}: paths, hosts and users recur event after event
        self._kinds = {}            # column -> the kinds of piece filed under it
        for kind, column in sorted(self._tables):
            self._kinds.setdefault(column, []).append(kind)
        self._memo = dict((column, {}) for column in self._kinds)
        self._memo_bytes = 0

    def _costs(self):
        """(rows per cell, a function (column, Glob) -> (rows sharing its rarest piece, look-up
        rank, -length, the piece as (kind, column, offset, text))): the smallest is the best
        key for a row."""
        # (column, Glob) -> rows using it; the loader shares Globs between rows
        cells = collections.Counter(itertools.chain.from_iterable(e.matchers for e in self.entries))
        pieces, shared = {}, {}     # the wildcard cells' pieces, and how many rows have each
        for cell, count in cells.items():
            if not cell[1].exact:
                found = pieces[cell] = set((kind, cell[0], off, text)
                                           for kind, off, text in cell[1].keys())
                for piece in found:
                    shared[piece] = shared.get(piece, 0) + count
        known = {}

        def cost(cell):
            found = known.get(cell)
            if found is None:
                column, glob = cell
                if glob.exact:      # most cells of a long list
                    found = (cells[cell], 0, -len(glob.text), ("=", column, 0, glob.text))
                else:
                    found = min(((shared[p], _RANK[p[0]], -len(p[3]), p) for p in pieces[cell]),
                                default=_NO_KEY)
                known[cell] = found
            return found
        return cells, cost

    def __len__(self):
        return len(self.entries)

    def _rule(self, rule_id):
        """(columns to look up, rows always checked) for the rows that name the rule,
        remembered; not the rows themselves: a set of 100,000 rows would cost megabytes."""
        low = rule_id.lower()
        found = self._rules.get(low)
        if found is None:
            lookups, always = set(), []
            for e in self.entries:
                if e.rule.match(low):
                    if self._lookup_of[e] is None:
                        always.append(e)
                    else:
                        lookups.add(self._lookup_of[e])
            found = self._rules[low] = (lookups, always)
        return found

    def _plan(self, rule_ids):
        """(columns to look up, rows always checked) for an event's findings, remembered per
        set of rule ids (the combinations of findings seen are few)."""
        key = tuple(rule_ids)
        plan = self._plans.get(key)
        if plan is None:
            lookups, always = set(), {}
            for rule_id in rule_ids:
                more, rows = self._rule(rule_id)
                lookups |= more
                always.update(dict.fromkeys(rows))
            if len(self._plans) >= 4096:
                self._plans.clear()
            plan = self._plans[key] = (tuple(sorted(lookups)), tuple(always))
        return plan

    def _lookup(self, column, value):
        """The rows filed under the column whose piece the value has, remembered for a short
        value within a budget of bytes (so distinct long values cost no memory)."""
        found = []
        for kind in self._kinds[column]:
            found.extend(self._find(kind, column, value))
        if len(value) <= self.MEMO_VALUE:
            size = len(value) + self.ENTRY_BYTES
            if self._memo_bytes + size > self.MEMO_BYTES:
                for memo in self._memo.values():
                    memo.clear()
                self._memo_bytes = 0
            self._memo_bytes += size
            self._memo[column][value] = found
        return found

    def _find(self, kind, column, value):
        table = self._tables[kind, column]
        if kind == "=":
            return table.get(value, ())
        out = []
        n = len(value)
        if kind == "^":
            for off, size, texts in table:
                if off + size <= n:
                    out.extend(texts.get(value[off:off + size], ()))
        elif kind == "$":
            for off, size, texts in table:
                if off + size <= n:
                    out.extend(texts.get(value[n - off - size:n - off], ()))
        elif len(table) <= self.FEW:    # look for each piece in the value (C speed)
            for text, found in table.items():
                if text in value:
                    out.extend(found)
        else:                           # look up each substring of the value
            for size in self._sizes[kind, column]:
                for text in set(value[i:i + size] for i in range(n - size + 1)):
                    out.extend(table.get(text, ()))
        return out

    def candidates(self, rule_ids, facts):
        """The rows worth checking in full for these findings, in load order.

        ``facts`` answers ``get(column)`` with the event's folded values for a matcher column.
        Every value of a column must match a cell, so the first value finds the rows.
        """
        lookups, always = self._plan(rule_ids)
        found = set(always)
        memo = self._memo
        for column in lookups:
            values = facts.get(column)
            if values:
                first = values[0]
                for value in first if type(first) is Either else (first,):
                    hit = memo[column].get(value)
                    found.update(self._lookup(column, value) if hit is None else hit)
        rules = [rule_id.lower() for rule_id in rule_ids]
        return sorted((e for e in found if any(map(e.rule.match, rules))),
                      key=self._position.__getitem__)

    def suppress(self, rule_ids, facts, today):
        """{rule id: first active row that suppresses it} for one event's findings."""
        out = {}
        ordered = self.candidates(rule_ids, facts)
        if not ordered:
            return out
        for rule_id in rule_ids:
            low = rule_id.lower()
            for e in ordered:
                if e.rule.match(low) and (e.expires is None or e.expires >= today) \
                        and e.matches(facts):
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
    # The csv module's field limit (10 MB under splunklib) is global: a longer cell raised
    # mid-value and the reader went on inside it, so text in a cell became rows. Every cell of
    # the file fits while it is read (and one too long is reported as such); then it is put back.
    limit = csv.field_size_limit()
    try:
        for path in paths:
            text = _read_text(path, problems)
            if text is not None:
                csv.field_size_limit(max(limit, len(text) + 1))
                entries.extend(_parse(path, text, problems, seen, known_rules))
        return Allowlist(entries), problems
    finally:
        csv.field_size_limit(limit)
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
    names = [header_name(h) for h in header]
    for col in ("rule_id", "reason"):
        if col not in names:
            problems.append(Problem(path, 1, "no '%s' column: the header must include %s"
                                    % (col, ",".join(COLUMNS))))
            return
    # A cell the loader does not read would leave its row applying more widely than written
    # (a host or module dropped): such rows are skipped, and the header says why once.
    unread = []             # (position, why a value there skips its row)
    for pos, name in enumerate(names):
        if name in COLUMNS:
            first = names.index(name)
            if first < pos:
                problems.append(Problem(path, 1, "column '%s' appears more than once (columns "
                                        "%d and %d): a row whose values there differ is skipped"
                                        % (name, first + 1, pos + 1)))
                unread.append((pos, first))
            continue
        guess = nearest(name)
        hint = " (did you mean '%s'?)" % guess if guess else ""
        problems.append(Problem(path, 1, "column %d %r is not a known column%s: a row with a "
                                "value in it is skipped; known columns: %s"
                                % (pos + 1, header[pos], hint, ",".join(COLUMNS))))
        unread.append((pos, "a value in column %d %r, which is not a known column%s"
                       % (pos + 1, header[pos], hint)))
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
        entry = _entry(path, line, last, row, index, unread, names, problems, known_rules,
                       cache)
        if entry is None:
            continue
        key = (entry.rule.text,) + tuple((c, g.text) for c, g in entry.matchers)
        if key in seen:
            problems.append(Problem(path, line, "duplicate of %s; skipped" % seen[key].where))
            continue
        seen[key] = entry
        yield entry


def _entry(path, line, end, row, index, unread, names, problems, known_rules, cache):
    def bad(message):
        problems.append(Problem(path, line, message + "; row skipped"))

    width = len(names)
    if end > line:          # every column: an open quote in a reason swallows rows as well
        spans = [pos for pos, v in enumerate(row) if "\n" in v or "\r" in v]
        if spans:
            name = names[spans[0]] if spans[0] < width else "column %d" % (spans[0] + 1)
            return bad("the value of '%s' runs from line %d to line %d: is a closing quote "
                       "missing?" % (name, line, end))
    if len(row) > width and any(c.strip() for c in row[width:]):
        return bad("%d cells but the header has %d columns (quote values that contain commas)"
                   % (len(row), width))
    if max(map(len, row)) > MAX_FIELD:
        return bad("a value is longer than %d characters" % MAX_FIELD)
    # a list, not a dict per row: this loop is most of the load time of a 100,000-row list
    cells = [c.strip() for c in row] + [""] * (width + 1 - len(row))
    for pos, why in unread:
        if cells[pos]:
            if isinstance(why, str):
                return bad(why)
            if cells[pos] != cells[why]:
                return bad("column '%s' has two values, %r (column %d) and %r (column %d)"
                           % (names[pos], cells[why], why + 1, cells[pos], pos + 1))
        elif not isinstance(why, str) and cells[why]:
            return bad("column '%s' has two values, %r (column %d) and none (column %d)"
                       % (names[pos], cells[why], why + 1, pos + 1))
    matched = [(col, cells[index[col]]) for col in MATCHERS if cells[index[col]]]
    rule = cells[index["rule_id"]]
    if not rule:
        return bad("empty rule_id: name a rule such as R32-007, or * for every rule")
    if known_rules is not None and "*" not in rule and "?" not in rule \
            and rule.upper() not in known_rules:
        return bad("unknown rule_id %r" % rule)
    rule_glob = cache.get(rule) or cache.setdefault(rule, Glob(rule))
    if known_rules is not None and not rule_glob.exact:
        hits = cache.get(("rules", rule_glob.text))
        if hits is None:
            hits = cache["rules", rule_glob.text] = any(rule_glob.match(r.lower())
                                                        for r in known_rules)
        if not hits:
            return bad("rule_id %r matches no rule (the rules are %s to %s)"
                       % (rule, min(known_rules), max(known_rules)))
    reason = cells[index["reason"]]
    if not reason:
        return bad("empty reason: say why this is allowed")
    matchers = []
    for col, value in matched:
        if len(value) > MAX_QUESTION and value.count("?") > MAX_QUESTION:
            return bad("'%s' has %d '?' wildcards; at most %d are allowed (a GUID needs 32): "
                       "use '*' for a long stretch" % (col, value.count("?"), MAX_QUESTION))
        value = FOLD[col](value)
        glob = cache.get(value)
        if glob is None:
            glob = cache[value] = Glob(value)
        matchers.append((col, glob))
    if not rule_glob.exact:
        if not matchers:
            return bad("no matcher column filled in: a row for %r alone would hide every "
                       "finding of those rules; fill in at least one of %s"
                       % (rule, ", ".join(MATCHERS)))
        if all(glob.broad for _, glob in matchers):
            cells_named = ", ".join("%s %r" % (c, v) for c, v in matched)    # as written
            return bad("%s match%s any value (wildcards only): a row for %r would hide every "
                       "finding of those rules; name what is allowed in at least one cell"
                       % (cells_named, "" if len(matchers) > 1 else "es", rule))
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

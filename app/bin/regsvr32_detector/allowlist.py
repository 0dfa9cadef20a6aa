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
GRAM = 4                # characters of the slices a value's substrings are looked up by
# A cell's inner text of GRAM - 1 + step characters is found by reading one GRAM-slice of the
# value every step characters (see Allowlist): longer texts, fewer slices to read.
STEPS = (1, 2, 4, 8)
RARE = 16               # rows sharing a slice: few enough to check, for a longer text's sake


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

    __slots__ = ("text", "exact", "broad", "every", "_parts")

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
        self.every = self.text == "*"      # the rule cell of most rows: every value
        self._parts = None          # made on first use: most rows of a long list never need them

    def match(self, value):
        if self.exact:
            return value == self.text
        if self.every:
            return True
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

    def anchors(self):
        """Literal pieces at a fixed place in every matching value: [(kind, offset, text)].

        ``=``: the whole value; ``^``: text at that offset from the start; ``$``: text ending
        that far from the end. See Allowlist.
        """
        if self.exact:
            return [("=", 0, self.text)]
        parts = self.text.split("*")
        out = []
        head, tail = parts[0], parts[-1]
        if head:
            off, run = (0, head) if "?" not in head else max(_runs(head) or [(0, "")],
                                                              key=lambda r: len(r[1]))
            if run:
                out.append(("^", off, run))
        if tail:
            off, run = (0, tail) if "?" not in tail else max(_runs(tail) or [(0, "")],
                                                              key=lambda r: len(r[1]))
            if run:
                out.append(("$", len(tail) - off - len(run), run))
        return out

    def literals(self):
        """The runs of literal text between the wildcards: every matching value contains each."""
        return [run for part in self.text.split("*") for _, run in _runs(part)]


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
# file name says more than its folder), its start, and substrings last (the dearest look-up;
# a short one dearer still).
_RANK = {"=": 0, "$": 1, "^": 2, "~": 3, "~short": 4}
_NO_KEY = (float("inf"), 9, 0, None)            # a cell of wildcards only: sorts last


def _fixed_costs(cells):
    """(column, Glob) -> (rows sharing its rarest piece at a fixed place, rank, -length, the
    piece as (kind, column, offset, text)); _NO_KEY for a cell without one."""
    pieces, shared = {}, collections.Counter()
    for cell, count in cells.items():
        found = pieces[cell] = [(kind, cell[0], off, text) for kind, off, text in cell[1].anchors()]
        for piece in found:
            shared[piece] += count
    out = {}
    for cell, found in pieces.items():
        if len(found) == 1:         # most cells: a whole value, or a start or an end alone
            p = found[0]
            out[cell] = (shared[p], _RANK[p[0]], -len(p[3]), p)
        else:
            out[cell] = min(((shared[p], _RANK[p[0]], -len(p[3]), p) for p in found),
                            default=_NO_KEY)
    return out


def _inner_costs(entries):
    """(column, Glob) -> the best substring piece of the cells of these rows, as _fixed_costs.

    A text of GRAM - 1 + step characters is filed under its step slices: what it costs is the
    number of rows that have the commonest of them (counted over these rows)."""
    cells = collections.Counter(itertools.chain.from_iterable(e.matchers for e in entries))
    runs, rows = {}, collections.Counter()      # (column, slice or short text) -> rows with it
    for cell, count in cells.items():
        found = runs[cell] = cell[1].literals()
        for key in set((cell[0], part) for run in found for part in _slices(run)):
            rows[key] += count
    out = {}
    for cell, found in runs.items():
        column, best = cell[0], _NO_KEY
        for run in found:
            if len(run) < GRAM:
                cost = (rows[column, run], _RANK["~short"], -len(run), ("~", column, 0, run))
            else:
                # The longest text (the fewest slices to read) whose commonest slice at most
                # RARE rows have; else the text whose commonest slice is rarest.
                counts = [rows[column, run[i:i + GRAM]] for i in range(len(run) - GRAM + 1)]
                found = [(max(counts[i:i + step]), i, step) for step in STEPS
                         if step <= len(counts) for i in range(len(counts) - step + 1)]
                rare = [(-step, worst, i) for worst, i, step in found if worst <= RARE]
                if rare:
                    step, worst, at = min(rare)
                    step = -step
                else:
                    worst, at, step = min(found, key=lambda f: (f[0], -f[2], f[1]))
                cost = (worst, _RANK["~"], -(step + GRAM - 1),
                        ("~", column, step, run[at:at + step + GRAM - 1]))
            best = min(best, cost)
        out[cell] = best
    return out


def _slices(run):
    return [run] if len(run) < GRAM else [run[i:i + GRAM] for i in range(len(run) - GRAM + 1)]


class Allowlist(object):
    """The rows of one or more allowlist files, in load order, indexed by a literal they need.

    Every value a cell matches contains the cell's literal pieces: the whole text of a cell
    without wildcards, the text before its first wildcard at a fixed offset from the start, the
    text after its last one at a fixed offset from the end, and any substring of its literal
    text. Each row is filed under the one such piece, over all its cells, that the fewest rows
    share; an event looks up the pieces of its own values and checks in full only the rows
    found, so 100,000 rows ``PKG-<n>-*`` or ``C:\\Tools\\v<n>\\*`` cost a handful of dict
    look-ups. A substring of GRAM - 1 + step characters (step in STEPS) is filed under each of
    its first step GRAM-slices: wherever it is in a value, one of them starts at a multiple of
    step, so a value is read a slice every step characters (a 32 KB command line, 4,096 slices
    for substrings of 11 characters), never one look-up per character per row. The piece costs
    are counted in two passes: the fixed ones first, which give most rows of a long list one of
    their own; substrings only for the rows left sharing theirs. Rows without any literal (a
    rule's row with no cell, or cells of wildcards only) are checked for every finding of their
    rule. Look-ups of short values are remembered within a budget of bytes; long values are
    not, so distinct long values cost no memory.
    """

    FEW = 256               # slices to search for (step x pieces) below which each is searched for
    MEMO_BYTES = 1 << 20    # look-ups remembered: about this many bytes (values, dict entries)
    MEMO_VALUE = 512        # longer values are not remembered: they rarely recur
    ENTRY_BYTES = 100       # what a remembered value costs besides its characters
    QUICK = 32              # pieces of a column up to which a value is tested for them first

    def __init__(self, entries=()):
        self.entries = tuple(entries)
        self.columns = frozenset(column for e in self.entries for column, _ in e.matchers)
        self._position = dict((e, n) for n, e in enumerate(self.entries))
        self._rules = {}            # rule id (lower case) -> what its rows need; see _rule()
        self._plans = {}            # rule ids of one event -> what to look up; see _plan()
        self._lookup_of = {}        # row -> the column it is filed under, or None
        # (column, Glob) -> rows using it; the loader shares Globs between rows
        cells = collections.Counter(itertools.chain.from_iterable(e.matchers for e in self.entries))
        fixed = _fixed_costs(cells)
        chosen = [min(map(fixed.__getitem__, e.matchers), default=_NO_KEY) for e in self.entries]
        shared = [n for n, best in enumerate(chosen) if best[0] > 1]
        if shared:                  # a substring may be rarer than what these rows share
            inner = _inner_costs([self.entries[n] for n in shared])
            for n in shared:
                chosen[n] = min([chosen[n]] + [inner[cell] for cell in self.entries[n].matchers])
        rows = {}                   # (kind, column, offset or step, text) -> rows filed under it
        for e, best in zip(self.entries, chosen):
            piece = best[3]
            self._lookup_of[e] = piece and piece[1]
            if piece:
                rows.setdefault(piece, []).append(e)
        # (kind, column) -> its tables: "=" {text: rows}; "^" and "$" a list of (offset, length,
        # {text: rows}), one per slice of the value to look up; "~" a list of (step, {slice:
        # rows}), step 0 for texts shorter than GRAM, looked up whole
        tables = {}
        for (kind, column, off, text), found in rows.items():
            shapes = tables.setdefault((kind, column), {})
            if kind == "=":
                shapes[text] = found
            elif kind == "~":
                slices = shapes.setdefault(off, {})
                for part in (set(text[i:i + GRAM] for i in range(off)) if off else (text,)):
                    slices.setdefault(part, []).extend(found)
            else:
                shapes.setdefault((off, len(text)), {})[text] = found
        self._tables = dict((k, t if k[0] == "=" else [(o, t[o]) for o in sorted(t)]
                             if k[0] == "~" else [(o, n, t[o, n]) for o, n in sorted(t)])
                            for k, t in tables.items())
        self._sizes = dict((column, sorted(set(map(len, t.get(0, ())))))
                           for (kind, column), t in tables.items() if kind == "~")
        # column -> what a value must have for any row filed under the column to be found: a
        # few C-speed tests that answer "nothing" for most values without the slices of _find;
        # None for a column of more than QUICK pieces, whose tests would read a value too often
        self._quick = {}
        for (kind, column, off, text), found in rows.items():
            quick = self._quick.setdefault(column, (set(), {}, {}, set()))
            if kind == "=":
                quick[0].add(text)
            elif kind == "^":
                quick[1].setdefault(off, set()).add(text)
            elif kind == "$":
                quick[2].setdefault(off, set()).add(text)
            else:
                # a row filed under a substring: the longest literal of its cell, which every
                # value it matches holds too, and which fewer values hold than the piece
                for e in found:
                    quick[3].update(max(glob.literals(), key=len) for name, glob in e.matchers
                                    if name == column)
        self._quick = dict((column, (frozenset(exact), tuple((o, tuple(sorted(t))) for o, t in
                                                             sorted(starts.items())),
                                     tuple((o, tuple(sorted(t))) for o, t in sorted(ends.items())),
                                     tuple(sorted(inner))))
                           for column, (exact, starts, ends, inner) in self._quick.items()
                           if len(exact) + sum(map(len, starts.values())) + len(inner)
                           + sum(map(len, ends.values())) <= self.QUICK)
        # column -> {value: rows found}: paths, hosts and users recur event after event
        self._kinds = {}            # column -> the kinds of piece filed under it
        for kind, column in sorted(self._tables):
            self._kinds.setdefault(column, []).append(kind)
        self._memo = dict((column, {}) for column in self._kinds)
        self._memo_bytes = 0

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

    def _could(self, column, value):
        """Whether the value may have a piece filed under the column (else _lookup finds
        nothing)."""
        quick = self._quick.get(column)
        if quick is None:
            return True
        exact, starts, ends, inner = quick
        if value in exact:
            return True
        for off, texts in starts:
            if value.startswith(texts, off):
                return True
        n = len(value)
        for off, texts in ends:
            if value.endswith(texts, 0, n - off):
                return True
        for text in inner:
            if text in value:
                return True
        return False

    def _lookup(self, column, value):
        """The rows filed under the column whose piece the value has, remembered for a short
        value within a budget of bytes (so distinct long values cost no memory)."""
        if not self._could(column, value):
            return ()           # not remembered either: the test costs less than the memo's room
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
        else:
            for step, slices in table:
                if len(slices) * max(step, 1) <= self.FEW:      # search for each (C speed)
                    for part, found in slices.items():
                        if part in value:
                            out.extend(found)
                elif step:                  # one GRAM-slice every step characters
                    for part in set(value[i:i + GRAM] for i in range(0, n - GRAM + 1, step)):
                        out.extend(slices.get(part, ()))
                else:                       # short texts: every substring of their lengths
                    for size in self._sizes[column]:
                        for part in set(value[i:i + size] for i in range(n - size + 1)):
                            out.extend(slices.get(part, ()))
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
        if not found:
            return []
        rules = [rule_id.lower() for rule_id in rule_ids]
        found = [e for e in found if any(map(e.rule.match, rules))]
        if len(found) > 1:
            found.sort(key=self._position.__getitem__)
        return found

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


def read_text(path, problems):
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
            text = read_text(path, problems)
            if text is not None:
                csv.field_size_limit(max(limit, len(text) + 1))
                entries.extend(parse_rows(path, text, problems, seen, known_rules))
        return Allowlist(entries), problems
    finally:
        csv.field_size_limit(limit)
        if collecting:
            gc.enable()


def parse_rows(path, text, problems, seen, known_rules):
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
        # one (column, Glob) for every row with that cell: 100,000 rows may share a cell
        cell = cache.get((col, value))
        if cell is None:
            glob = cache.get(value)
            if glob is None:
                glob = cache[value] = Glob(value)
            cell = cache[col, value] = (col, glob)
        matchers.append(cell)
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

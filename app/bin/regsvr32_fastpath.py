"""Byte-level path for the rows of a chunk that cannot concern regsvr32: most rows of a real stream.

Most rows of a mixed stream fail the command's cheap test. Their verdict is the command's
all-clear one. Instead of turning them into cells and back, this path copies their bytes and
appends the all-clear cells, and hands only the marked rows to the lean path (``rows_of``). It
knows nothing of regsvr32: the command passes in ``spans``, the cheap test on bytes
(regsvr32_detector.bytemarks), and the all-clear Cells.

It works on the chunk's bytes as read (no decoding unless a slice is not ASCII), a slice of whole
lines at a time, so that what it holds besides the chunk and its reply stays small. splunkd quotes
every value that is not only letters and digits; splunklib writes as Python's csv writer does
(quotes only where a quote, comma, CR or LF is). Each slice is first brought to the writer's
quoting (``_split`` finds the quoted fields that need their quotes, ``_unquoted`` drops the
quotes of the others after proving that each opens or closes a whole field), then proven before
its rows are copied: quoted fields only where the writer quotes, quotes doubled, no quoted line
break, every row as wide as the header, no __mv_ cell filled (else the slice's rows go through
csv), no NUL, no field over csv's size limit. The cheap test then searches only the values of
the fields it reads (``spans.fields``, ``_values``), and the reply is built from the proven
slice; the marked rows are read by csv from the slice as it came. Slices of whole rows that are each proven make a
chunk that is proven. A chunk with a slice it cannot prove goes to the lean path whole (``plan``
says why), which gives it to splunklib's own path if it cannot do it either.
``tests/test_fastpath.py`` compares the bytes of this path with splunklib's own, on splunkd's and
on Python's layout.
"""
import csv
import re
import sys
from itertools import accumulate, chain, compress

from regsvr32_codec import Layout, Sink, decode, each_csv, reader, row_csv, text_writer
from splunklib.searchcommands.internals import CsvDialect

# A quoted field that needs its quotes (a doubled quote, comma, CR or LF inside), between a field
# separator or line start before it and one or a line end after it (else its quotes stay in the
# rest, which is not proven). An unrolled loop: single-character repeats run at C speed, an
# alternation inside a repeat does not. Its first group makes split() keep the fields; the second
# makes its first run atomic (a look-ahead, then the text it saw): in splunkd's layout most
# quoted fields need no quotes, and the match then fails at once instead of backing off a
# character at a time (split() returns it too: ``_split`` drops it).
QUOTED_LOOKAHEAD = re.compile(
    rb'("(?<![^,\n]")(?=([^",\r\n]*))\2(?:""|[,\r\n])[^"]*(?:""[^"]*)*"(?![^,\r\n]))')
# The same fields, with possessive repeats (Python 3.11 and later) in place of the look-ahead:
# no back-reference, no second group, and no backing off in the rest of the field either (each
# run stops at a quote, which is what must follow it). About a fifth faster on splunkd's layout;
# tests/test_fastpath.py compares the two.
QUOTED_POSSESSIVE = re.compile(
    rb'("(?<![^,\n]")[^",\r\n]*+(?:""|[,\r\n])[^"]*+(?:""[^"]*+)*+"(?![^,\r\n]))'
) if sys.version_info >= (3, 11) else None
QUOTED = QUOTED_POSSESSIVE or QUOTED_LOOKAHEAD


def _split(s):
    """S split at the quoted fields that need their quotes: [rest, field, rest, ..., rest]."""
    parts = QUOTED.split(s)
    if QUOTED.groups > 1:
        del parts[2::3]
    return parts


HOLE = b"\0"                # where a quoted field was; chunks that contain NUL never get here
# What translate() deletes from a slice's rows with holes to leave each row's commas and line end.
NOT_SKELETON = bytes(bytearray(range(256))).translate(None, b",\r\n")
# ... and from a slice to leave its quotes, CRs and LFs (filter mode: see _rows).
NOT_QUOTES = bytes(bytearray(range(256))).translate(None, b'"\r\n')
# Above this share of marked rows in the first SAMPLE_CHARS of a chunk, the lean path is faster.
MOST_MARKED = 0.25
SAMPLE_CHARS = 1 << 16
SLICE_BYTES = 1 << 17       # a slice of whole lines: its temporaries are what this path adds
# why chunks did not take this path (None: they did) -> how many, in this process
STATS = {}


class NotProven(Exception):
    """A slice this path cannot prove; the message says why."""


# Any whole quoted field (between a field separator or line start and one or a line end), as
# csv reads it: quotes inside doubled. What is left of a slice outside these holds no quote.
ANY_QUOTED = re.compile(rb'((?<![^,\n])"[^"]*(?:""[^"]*)*"(?![^,\r\n]))')
# Among the quoted fields joined by HOLE: one whose value needs no quotes (no quote, comma, CR, LF).
NEEDS_NONE = re.compile(rb'(?<![^\0])"([^",\r\n\0]*)"(?![^\0])')


class Plan(object):
    """A chunk whose header this path can do: its bytes, where its rows start, their layout,
    the cheap test (SPANS) and (from ``plan``) which rows are marked."""

    def __init__(self, data, start, layout, spans, columns):
        self.data, self.start, self.layout, self.spans = data, start, layout, spans
        # the columns whose values the cheap test reads, if it says (spans.fields): the rest of
        # a row (_raw, which repeats every value, among them) is not searched
        self.columns = columns
        self.marked = None


def _chunk(data, outputs, spans):
    """(Plan, None) if the chunk's header is one this path can do, else (None, why not)."""
    if CsvDialect.lineterminator != "\r\n":
        return None, "line terminator"                  # splunklib on Windows writes "\n"
    sample = data[:data.rfind(b"\n", 0, SAMPLE_CHARS) + 1]                # whole lines
    if len(spans(sample)) > sample.count(b"\n") * MOST_MARKED:
        return None, "mostly marked rows (the lean path is faster)"       # known before any copy
    if HOLE in data:
        return None, "NUL"
    start = data.find(b"\n") + 1
    if not start or start == len(data):
        return None, "header"
    line = data[:start]
    if b'"' in line:                # splunkd quotes names that are not only letters and digits
        if line.count(b'"') % 2 or b"\r" in line[:-2]:
            return None, "header"
        header = next(reader(decode(line)))
    else:
        header = decode(line).rstrip("\r\n").split(",")
    layout = Layout.of(header, outputs)
    if layout is None or layout.width < 2 or not (layout.same or layout.tail or not layout.mv):
        return None, "layout"
    read = getattr(spans, "fields", None)
    columns = None if read is None else [i for i, name in enumerate(header) if name in read]
    return Plan(data, start, layout, spans, columns), None


def _slices(chunk):
    """The chunk's rows, SLICE_BYTES or so at a time, cut after a line end, as splunklib decoded
    them (bad bytes as U+FFFD), in bytes."""
    data, start = chunk.data, chunk.start
    while start < len(data):
        end = data.find(b"\n", start + SLICE_BYTES) + 1 or len(data)
        piece = data[start:end]
        yield piece if piece.isascii() else piece.decode("utf-8", "replace").encode("utf-8")
        start = end


# Marks for the quotes of fields that need none: an opening quote after a field separator or line
# start, a closing one before a separator or line end (no NUL, \x01 or \x02 in such a slice).
OPEN, CLOSE = b"\x01", b"\x02"
# What translate() deletes to leave the marks and the field and line separators.
NOT_MARKS = bytes(bytearray(range(256))).translate(None, OPEN + CLOSE + b",\r\n")


def _unquoted(rest):
    """REST (a slice with each quoted field that needs its quotes as HOLE) with the quotes of
    the others dropped, at C speed: splunkd quotes all but letters and digits, Python's writer
    only what needs it. Raises NotProven unless every quote left in REST is one of a pair around
    a whole field that holds no quote, separator, CR or LF."""
    marked = (b"\n" + rest).replace(b',"', b"," + OPEN).replace(b'\n"', b"\n" + OPEN) \
        .replace(b'",', CLOSE + b",").replace(b'"\n', CLOSE + b"\n")
    if b"\r" in marked:
        marked = marked.replace(b'"\r\n', CLOSE + b"\r\n")
    if b'"' in marked:
        raise NotProven("quotes the csv writer would not write")
    pairs = marked.translate(None, NOT_MARKS).replace(OPEN + CLOSE, b"")
    if OPEN in pairs or CLOSE in pairs:
        raise NotProven("quotes the csv writer would not write")
    return marked[1:].translate(None, OPEN + CLOSE)


def _python_form(s):
    """Slice S with the quotes of each quoted field that needs none dropped: the same cells, as
    Python's csv writer quotes them. Raises NotProven if a quote of S is not part of a whole
    quoted field (csv would read it some lenient way: not proven)."""
    if b'"' not in s:
        return s
    parts = ANY_QUOTED.split(s)
    if b'"' in b"".join(parts[::2]):
        raise NotProven("quotes the csv writer would not write")
    parts[1::2] = NEEDS_NONE.sub(rb"\1", HOLE.join(parts[1::2])).split(HOLE)
    return b"".join(parts)


# Why a slice whose rows' commas and line ends are not those of full rows is not proven: the
# first test that holds (slice, rest: the slice with each quoted field as HOLE).
WHY_NOT_ROWS = (
    (lambda s, rest: not s.endswith(b"\n"), "empty or unterminated line"),
    (lambda s, rest: rest.count(b"\n") != s.count(b"\n"), "quoted line break"),
    (lambda s, rest: rest.count(b"\r") != rest.count(b"\r\n"), "bare CR"),
    (lambda s, rest: True, "ragged rows, empty lines or mixed line ends"),
)


def _proven(chunk):
    """Yields (slice, rows, parts, rest, marked) for each slice of the chunk, the slice as read:
    parts as QUOTED.split gives them for the slice in Python's quoting, rest that slice with
    each quoted field as HOLE (in splunkd's layout without its empty __mv_ cells), marked the
    [row in the slice, its start, its end in the slice, whether it is written whole] of the
    rows that may concern regsvr32 (all rows, whole, where a __mv_ cell is filled in splunkd's
    layout). Raises NotProven."""
    layout = chunk.layout
    for s in _slices(chunk):
        python = _python_form(s) if OPEN in s or CLOSE in s else s     # slower, needs no marks
        parts = _split(python)
        rest = HOLE.join(parts[::2])
        if b'"' in rest:                # quoted fields that need no quotes (splunkd's layout)
            rest = _unquoted(rest)
        n = s.count(b"\n")
        eol = b"\r\n" if s.endswith(b"\r\n") else b"\n"
        if rest.translate(None, NOT_SKELETON) != (b"," * (layout.width - 1) + eol) * n:
            raise NotProven(next(why for test, why in WHY_NOT_ROWS if test(s, rest)))
        limit = csv.field_size_limit()
        if len(s) >= limit and max(map(len, s.split(b"\n"))) >= limit:
            raise NotProven("field over csv's size limit")
        width = layout.width
        if layout.tail:
            trail = b"," * len(layout.mv) + eol
            if rest.count(trail) != n:
                # some __mv_ cell is filled: the slice's rows go through csv, written whole
                ends = [0] + _line_ends(s)
                yield s, n, None, None, [[i, ends[i], ends[i + 1], True] for i in range(n)]
                continue
            rest = rest.replace(trail, eol)     # each row's __mv_ cells, all empty, dropped
            width = len(layout.names)
        if chunk.columns is None:
            marked = _marked(s, chunk.spans)        # {row: [start, end, whole]}
        else:
            marked = dict((row, [start, end, False]) for row, (start, end) in chunk.spans.rows(
                s, _values(parts, rest, n, width, chunk.columns)).items())
        if layout.same and layout.mv and not _mv_empty(rest, n):
            # some __mv_ cell is filled: those rows go through csv, which decodes it as splunklib
            # does, and are written whole (their copy would not say what splunklib writes)
            ends = [0] + _line_ends(s)
            for i, line in enumerate(rest.split(b"\n")[:n]):
                if not _mv_empty(line + b"\n", 1):
                    marked[i] = [ends[i], ends[i + 1], True]
        yield s, n, parts, rest, sorted([i] + span for i, span in marked.items())


def _rows(chunk):
    """Filter mode: yields (slice, marked) as _proven does, for a chunk whose unmarked rows are
    dropped. Nothing is copied, so only the rows must be its lines: a quoted line break starts
    and ends on a line with an odd number of quotes (with the other bytes and the pairs of
    quotes taken out, such a line keeps one), and a bare CR may end a row. Marked rows go
    through csv as splunklib reads them, whatever their quoting; anything it cannot read sends
    the chunk to the lean path. Raises NotProven."""
    for s in _slices(chunk):
        if not s.endswith(b"\n"):
            raise NotProven("empty or unterminated line")
        ends = s.translate(None, NOT_QUOTES)       # small: the checks below cost little
        if ends.count(b"\r") != ends.count(b"\r\n"):
            raise NotProven("bare CR")
        if b'"' in ends.replace(b"\r", b"").replace(b'""', b""):
            raise NotProven("quoted line break")
        # (no row numbers: nothing is copied)
        yield s, [(None, start, end, False) for start, end in chunk.spans(s)]


def _marked(s, spans):
    """{row: [start, end, False]} of the rows of slice S that SPANS finds."""
    marked, row, last = {}, 0, 0
    for start, end in spans(s):
        row += s.count(b"\n", last, start)
        marked[row] = [start, end, False]
        last = start
    return marked


# What translate() deletes from a slice's rows with holes to leave each row's commas, holes and
# line end: where its quoted fields are.
NOT_HOLES = bytes(bytearray(range(256))).translate(None, b",\n" + HOLE)


def _values(parts, rest, n, width, columns):
    """[(text, rows)] of the values in COLUMNS of the N rows of a proven slice (PARTS and REST
    as _proven has them): a text per column of its values one a line, the quoted fields (each
    a HOLE in REST) among them in one more text, with the row of each line."""
    cells = rest.replace(b"\n", b",").split(b",")     # width cells a row: proven
    out = [(b"\n".join(cells[k:n * width:width]), None) for k in columns]
    if HOLE not in rest:
        return out
    # a row's quoted fields are its holes: which of them are in COLUMNS, by the row's skeleton
    # (its commas and holes; a chunk has few distinct ones)
    lines = rest.translate(None, NOT_HOLES).split(b"\n")[:n]
    wanted, table, counts = set(columns), {}, {}
    for line in set(lines):
        keep, column, holes = [], 0, 0
        for c in bytearray(line):
            if c == 44:                                 # ","
                column += 1
            else:
                if column in wanted:
                    keep.append(holes)
                holes += 1
        table[line], counts[line] = keep, holes
    # where each row's holes start among the slice's quoted fields; then, skeleton by skeleton,
    # its rows' holes in COLUMNS (maps over rows, no Python loop a row)
    starts = list(accumulate(chain((0,), map(counts.__getitem__, lines))))
    quoted, texts, rows = parts[1::2], [], []
    for line, keep in table.items():
        if keep:
            these = list(compress(range(n), map(line.__eq__, lines)))
            for i in keep:
                texts.extend(map(quoted.__getitem__, map(i.__add__, map(starts.__getitem__, these))))
                rows.extend(these)
    out.append((b"\n".join(texts), rows))
    return out


def _line_ends(s):
    ends, at = [], s.find(b"\n")
    while at >= 0:
        ends.append(at + 1)
        at = s.find(b"\n", at + 1)
    return ends


def _mv_empty(rest, rows):
    """Whether every __mv_ cell of these field,__mv_field rows (ROWS lines of REST, each as
    wide as the header) is empty. Such a row is v0,,v1,,...,vN, with no comma inside a v: with
    the comma pairs taken out, left to right, one comma is left on each line, at its end."""
    single = rest.replace(b",,", b"")
    return single.count(b",") == rows == single.count(b",\r\n") + single.count(b",\n")


def plan(data, outputs, spans):
    """(Plan, None) if every row of the chunk DATA (bytes as read, or str as decoded) is proven
    to copy as splunklib would write it, with .marked the rows that may concern regsvr32 by
    SPANS (the cheap test on bytes); else (None, why not)."""
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    chunk, why = _chunk(data, outputs, spans)
    if chunk is None:
        return None, why
    chunk.marked, rows = [], 0
    try:
        for _, n, _, _, marked in _proven(chunk):
            chunk.marked.extend(rows + row for row, _, _, _ in marked)
            rows += n
    except NotProven as error:
        return None, str(error)
    return chunk, None


def reply(data, outputs, quiet, spans, rows_of):
    """(reply body, rows in it) of an execute chunk (DATA: its bytes as read), or (None, 0) for
    the lean path.

    OUTPUTS: the command's output fields; QUIET: the Cells every row that SPANS does not mark
    gets (None: such rows are dropped, as filter mode does); ROWS_OF(text, layout, counter): the
    lean path's output rows for some whole rows of the chunk (it adds their number to counter)."""
    chunk, why = _chunk(data, outputs, spans)
    body = None
    if chunk is not None:
        try:
            body = _answer(chunk, quiet, rows_of)
        except NotProven as error:
            why = str(error)
    STATS[why] = STATS.get(why, 0) + 1
    return body or (None, 0)


def _answer(chunk, quiet, rows_of):
    layout, body, counter = chunk.layout, Sink(), [0]
    if quiet is None:                   # unmarked rows are dropped: the marked ones are the reply
        writer, out = text_writer(body)
        first = True
        for s, marked in _rows(chunk):
            for row in _done(rows_of, s, marked, layout, counter) if marked else ():
                if first:                               # splunklib writes no header for no rows
                    writer.writerow(layout.out_header)
                    first = False
                writer.writerow(row)
        out.flush()
        return body, counter[0]
    # A copied row is its own bytes (with each field's empty __mv_ cell if the input had none),
    # then the all-clear cells (after an empty first cell, which writes as nothing). A marked
    # row's own bytes are its copy too, unless it is written whole: only its verdict is written.
    quiet_cells = quiet.cells
    after = b"," if layout.same else b",,"
    copy = after + row_csv(quiet_cells)[:-2] + b"\r\n"
    if copy.count(b"\n") != 1:
        raise NotProven("all-clear cells with a line break")    # rows are found by line
    body.write(row_csv(layout.out_header))
    copied, written = 0, {}             # verdict cells -> their csv: many rows share a verdict
    for s, n, parts, rest, marked in _proven(chunk):
        if parts is None:               # every row through csv
            rows = list(_done(rows_of, s, marked, layout, [0]))
            if len(rows) != n:
                raise AssertionError("a row was dropped although the all-clear verdict passes")
            copied += n
            body.write(b"".join(each_csv(rows)))
            continue
        eol = b"\r\n" if s.endswith(b"\r\n") else b"\n"
        if layout.same:                 # the input's own layout, in Python's quoting
            parts[::2] = rest.split(HOLE)
            out = b"".join(parts).replace(eol, copy)
        else:                           # double the commas outside the quoted fields
            parts[::2] = rest.replace(b",", b",,").replace(eol, copy).split(HOLE)
            out = b"".join(parts)
        parts = rest = None
        rows = _done(rows_of, s, marked, layout, counter) if marked else ()
        lines, cells, done = [], [], 0  # the rows whose verdict is not the all-clear one
        for (i, _, _, whole), row in zip(marked, rows):
            done += 1
            if whole or row[-len(quiet_cells):] != quiet_cells:
                lines.append((i, whole))
                cells.append(row if whole else row[-len(quiet_cells):])
        if done != len(marked) or next(iter(rows), None) is not None:
            raise AssertionError("a marked row was dropped although the all-clear verdict passes")
        cells = [tuple(row) for row in cells]
        new = [row for row in dict.fromkeys(cells) if row not in written]
        written.update(zip(new, each_csv(new)))
        pieces, at, row, start = [], 0, 0, 0
        view = memoryview(out)          # its pieces are joined once, not copied first
        for (i, whole), line in zip(lines, map(written.get, cells)):
            while row < i:                              # row i of OUT: its line i
                start = out.find(b"\n", start) + 1
                row += 1
            end = out.find(b"\n", start) + 1
            pieces.append(view[at:start])
            pieces.append(line if whole else out[start:end - len(copy)] + after + line)
            at = end
        pieces.append(view[at:])
        copied += n - len(marked)
        body.write(b"".join(pieces))
    return body, copied + counter[0]


def _done(rows_of, s, marked, layout, counter):
    """The lean path's rows (counted in COUNTER) for the MARKED rows of slice S."""
    text = b"".join([s[start:end] for _, start, end, _ in marked]).decode("utf-8")
    return rows_of(text, layout, counter)

"""Byte-level path for the rows of a chunk that cannot concern regsvr32: most rows of a real stream.

Most rows of a mixed stream carry no marker (``fields.MARKS``; "i:" with a share or scrobj once
quotes are dropped, ``fields.RUNS_LIKE``; or an encoded PowerShell command: ``fields.ENCODED_HINTS``
and an -EncodedCommand switch with a long base64 run) anywhere, in any case. ``fields.normalize`` rejects such rows
before reading them, so their verdict is the command's all-clear ``quiet_values``. Instead of
turning them into cells and back, this path copies their bytes and appends the all-clear cells,
and hands only the marked rows to the lean path's ``csv`` code (``regsvr32_protocol``).

It works on the chunk's bytes as read (no decoding unless a slice is not ASCII), a slice of whole
lines at a time, so that what it holds besides the chunk and its reply stays small. That copy
equals what splunklib writes only for rows already written as Python's csv writer writes them.
Each slice is proven before its rows are copied: quoted fields only where a quote, comma or CR
makes the writer quote, quotes doubled, no quoted line break, every row as wide as the header,
no empty __mv_ cell filled, no NUL, no field over csv's size limit. Slices of whole rows that are
each proven make a chunk that is proven. A chunk with a slice it cannot prove goes to the lean
path whole (``plan`` says why), which gives it to splunklib's own path if it cannot do it either.
``tests/test_fastpath.py`` compares the bytes of this path with splunklib's own.
"""
import csv
import io
import re

from regsvr32_detector import fields
from regsvr32_protocol import Layout, _Sink, _lines, encode_all
from splunklib.searchcommands.internals import CsvDialect

# A quoted field that needs its quotes (a doubled quote, comma, CR or LF inside), between a field
# separator or line start before it and one or a line end after it (else its quotes stay in the
# rest, which is not proven). An unrolled loop: single-character repeats run at C speed, an
# alternation inside a repeat does not. Its group makes split() keep the fields.
QUOTED = re.compile(rb'("(?<![^,\n]")[^",\r\n]*(?:""|[,\r\n])[^"]*(?:""[^"]*)*"(?![^,\r\n]))')
HOLE = b"\0"                # where a quoted field was; chunks that contain NUL never get here
# What translate() deletes from a slice's rows with holes to leave each row's commas and line end.
NOT_SKELETON = bytes(bytearray(range(256))).translate(None, b",\r\n")
# ... and from a slice to leave its quotes, CRs and LFs (filter mode: see _rows).
NOT_QUOTES = bytes(bytearray(range(256))).translate(None, b'"\r\n')
# Above this share of marked rows in the first SAMPLE_CHARS of a chunk, the lean path is faster.
MOST_MARKED = 0.25
SAMPLE_CHARS = 1 << 16
SLICE_BYTES = 1 << 17       # a slice of whole lines: its temporaries are what this path adds
MARKS = tuple(m.encode("ascii") for m in fields.MARKS)
HINTS = tuple(h.encode("ascii") for h in fields.ENCODED_HINTS)
# A row with "i:" passes the cheap test if, with its quotes dropped and its slashes made
# backslashes, it holds one of these: the same test on the row's bytes (CSV quoting only adds
# quotes, and a backslash is written as it is) marks at least the rows it passes.
RUNS_LIKE = fields.RUNS_LIKE[0].encode("ascii")
SLASHED = tuple(m.encode("ascii") for m in fields.RUNS_LIKE[1])
# A mark that holds "i:" ("i:http") is in a row the "i:" scan finds: looked for there (_holds),
# which spares the slice one scan.
NEEDLES = tuple(m for m in MARKS if RUNS_LIKE not in m) + (RUNS_LIKE,) + HINTS
WITH_RUNS_LIKE = tuple(m for m in MARKS if RUNS_LIKE in m)
# A row with a hint but no mark concerns regsvr32 only if one of its encoded commands
# (cmdline.encoded_commands: a switch - / or a Unicode dash, then e and letters, blanks, maybe a
# quote, then the blob [a-z0-9+/]{8,}={0,2}, each of a text, decoded from MIN_ENCODED_CHARS
# characters; a blob with a non-ASCII letter is not decoded)
# holds "regsvr32" in some case: 16 bytes, so at least 22 base64 characters in a row, which (no
# quote, comma or line break among them) are in the row's bytes as they are in its value. This
# pattern holds for every such command, in the lower-cased row's bytes: any switch prefix (the
# dashes in UTF-8), anything but a blank after the e, the quote doubled by CSV quoting.
# tests/test_fastpath.py pins the code this relies on.
BLOB = re.compile(rb"(?:[-/]|\xe2\x80[\x93\x94\x95])e[^ \t\r\n]*[ \t]+(?:\"\"?|')?[a-z0-9+/]{22}")
assert 22 == -(-len("regsvr32") * 2 * 4 // 3)   # base64 characters for its 16 bytes, rounded up
DASHES = b"\xe2\x80"                 # how the Unicode dashes of BLOB start in UTF-8
RUN = re.compile(rb"[a-z0-9+/]{22}")  # in every match of BLOB
# bytes.lower() folds ASCII only. str.lower() also folds KELVIN SIGN to "k" (no mark has one) and
# I WITH DOT to "i" plus a combining dot (which breaks the mark): ASCII folding finds every mark.
assert not any("k" in m for m in fields.MARKS + fields.ENCODED_HINTS + fields.RUNS_LIKE[1])


# why chunks did not take this path (None: they did) -> how many, in this process
STATS = {}


class NotProven(Exception):
    """A slice this path cannot prove; the message says why."""


class Plan(object):
    """A chunk whose header this path can do: its bytes, where its rows start, their layout,
    and (from ``plan``) which rows are marked."""

    def __init__(self, data, start, layout):
        self.data, self.start, self.layout = data, start, layout
        self.marked = None


def _chunk(data, outputs):
    """(Plan, None) if the chunk's header is one this path can do, else (None, why not)."""
    if CsvDialect.lineterminator != "\r\n":
        return None, "line terminator"                  # splunklib on Windows writes "\n"
    sample = data[:data.rfind(b"\n", 0, SAMPLE_CHARS) + 1]                # whole lines
    if len(_spans(sample)) > sample.count(b"\n") * MOST_MARKED:
        return None, "mostly marked rows (the lean path is faster)"       # known before any copy
    if HOLE in data:
        return None, "NUL"
    start = data.find(b"\n") + 1
    if not start or b'"' in data[:start] or start == len(data):
        return None, "header"
    header = data[:start].decode("utf-8", "replace").rstrip("\r\n").split(",")
    layout = Layout.of(header, outputs)
    if layout is None or layout.width < 2 or not (layout.same or not layout.mv):
        return None, "layout"
    return Plan(data, start, layout), None


def _slices(chunk):
    """The chunk's rows, SLICE_BYTES or so at a time, cut after a line end, as splunklib decoded
    them (bad bytes as U+FFFD), in bytes."""
    data, start = chunk.data, chunk.start
    while start < len(data):
        end = data.find(b"\n", start + SLICE_BYTES) + 1 or len(data)
        piece = data[start:end]
        yield piece if piece.isascii() else piece.decode("utf-8", "replace").encode("utf-8")
        start = end


# Why a slice whose rows' commas and line ends are not those of full rows is not proven: the
# first test that holds (slice, rest: the slice with each quoted field as HOLE).
WHY_NOT_ROWS = (
    (lambda s, rest: not s.endswith(b"\n"), "empty or unterminated line"),
    (lambda s, rest: rest.count(b"\n") != s.count(b"\n"), "quoted line break"),
    (lambda s, rest: rest.count(b"\r") != rest.count(b"\r\n"), "bare CR"),
    (lambda s, rest: True, "ragged rows, empty lines or mixed line ends"),
)


def _proven(chunk):
    """Yields (slice, rows, parts, rest, marked) for each slice of the chunk: parts as
    QUOTED.split gives them, rest the slice with each quoted field as HOLE, marked the [row in
    the slice, its start, its end, whether it is written whole] of the rows that may concern
    regsvr32. Raises NotProven."""
    layout = chunk.layout
    for s in _slices(chunk):
        parts = QUOTED.split(s)
        rest = HOLE.join(parts[::2])
        if b'"' in rest:
            raise NotProven("quotes the csv writer would not write")
        n = s.count(b"\n")
        line = b"," * (layout.width - 1) + (b"\r\n" if s.endswith(b"\r\n") else b"\n")
        if rest.translate(None, NOT_SKELETON) != line * n:
            raise NotProven(next(why for test, why in WHY_NOT_ROWS if test(s, rest)))
        limit = csv.field_size_limit()
        if len(s) >= limit and max(map(len, s.split(b"\n"))) >= limit:
            raise NotProven("field over csv's size limit")
        marked = _marked(s)             # {row: [start, end, whole]}
        if layout.mv and not _mv_empty(rest, n):
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
    through csv as splunklib reads them; anything it cannot read sends the chunk to the lean
    path. Raises NotProven."""
    for s in _slices(chunk):
        if not s.endswith(b"\n"):
            raise NotProven("empty or unterminated line")
        ends = s.translate(None, NOT_QUOTES)       # small: the checks below cost little
        if ends.count(b"\r") != ends.count(b"\r\n"):
            raise NotProven("bare CR")
        if b'"' in ends.replace(b"\r", b"").replace(b'""', b""):
            raise NotProven("quoted line break")
        # (no row numbers: nothing is copied)
        yield s, [(None, start, end, False) for start, end in _spans(s)]


def _marked(s):
    """{row: [start, end, False]} of the rows of slice S that _spans finds."""
    marked, row, last = {}, 0, 0
    for start, end in _spans(s):
        row += s.count(b"\n", last, start)
        marked[row] = [start, end, False]
        last = start
    return marked


def _spans(s):
    """(start, end) of the rows of slice S whose text holds a mark; or "i:" and, quotes dropped
    and slashes made backslashes, a share or scrobj; or a hint and an encoded command with a run
    of base64 long enough to hide "regsvr32"; in order."""
    low = s.lower()
    starts = {}
    for needle in NEEDLES:
        at = low.find(needle)
        while at >= 0:
            start = low.rfind(b"\n", 0, at) + 1
            end = low.find(b"\n", at) + 1 or len(low)
            if start not in starts and (needle in MARKS or _holds(needle, low, start, end)):
                starts[start] = end
            at = low.find(needle, end)          # the rest of this row is known
    return sorted(starts.items())


def _holds(needle, low, start, end):
    """Whether the row low[start:end] that holds NEEDLE (RUNS_LIKE or a hint) is marked."""
    if needle == RUNS_LIKE:
        row = low[start:end]
        if any(mark in row for mark in WITH_RUNS_LIKE):
            return True
        row = row.replace(b'"', b"").replace(b"/", b"\\")
        return any(mark in row for mark in SLASHED)
    # most rows with a hint have no switch, or no run of base64: both are found faster alone
    if low.find(b"-e", start, end) < 0 and low.find(b"/e", start, end) < 0 \
            and low.find(DASHES, start, end) < 0:
        return False
    return RUN.search(low, start, end) is not None and BLOB.search(low, start, end) is not None


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


def plan(data, outputs):
    """(Plan, None) if every row of the chunk DATA (bytes as read, or str as decoded) is proven
    to copy as splunklib would write it, with .marked the rows that may concern regsvr32;
    else (None, why not)."""
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    chunk, why = _chunk(data, outputs)
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


def reply(command, data):
    """The reply body (a _Sink of bytes) of an execute chunk (DATA: its bytes as read), or None
    for the lean path.

    COMMAND is a LeanStreaming command whose rows with no marker all get ``quiet_values``
    (None: such rows are dropped, as filter mode does)."""
    chunk, why = _chunk(data, command.outputs)
    body = None
    if chunk is not None:
        try:
            body = _answer(command, chunk)
        except NotProven as error:
            why = str(error)
    STATS[why] = STATS.get(why, 0) + 1
    return body


def _answer(command, chunk):
    layout, quiet = chunk.layout, command.quiet_values
    body = _Sink()
    if quiet is None:                   # unmarked rows are dropped: the marked ones are the reply
        out = io.TextIOWrapper(body, encoding="utf-8", newline="", write_through=False)  # as splunklib
        writer, first = csv.writer(out, dialect=CsvDialect), True
        for s, marked in _rows(chunk):
            for row in _done(command, s, marked, layout) if marked else ():
                if first:                               # splunklib writes no header for no rows
                    writer.writerow(layout.out_header)
                    first = False
                writer.writerow(row)
        out.flush()
        return body
    # A copied row is its own bytes (with each field's empty __mv_ cell if the input had none),
    # then the all-clear cells (after an empty first cell, which writes as nothing). A marked
    # row's own bytes are its copy too, unless it is written whole: only its verdict is written.
    quiet_cells = encode_all(quiet)
    after = b"," if layout.same else b",,"
    copy = after + _csv(quiet_cells)[:-2] + b"\r\n"
    extra = 0 if layout.same else layout.width - 1     # commas doubled per row
    body.write(_csv(layout.out_header))
    copied, written = 0, {}             # verdict cells -> their csv: many rows share a verdict
    for s, n, parts, rest, marked in _proven(chunk):
        eol = b"\r\n" if s.endswith(b"\r\n") else b"\n"
        if layout.same:
            out = s.replace(eol, copy)
        else:                           # double the commas outside the quoted fields
            parts[::2] = rest.replace(b",", b",,").replace(eol, copy).split(HOLE)
            out = b"".join(parts)
        parts = rest = None
        grow = extra + len(copy) - len(eol)             # what each row gains in OUT
        rows = _done(command, s, marked, layout) if marked else ()
        spans, cells, done = [], [], 0  # the rows whose verdict is not the all-clear one
        for (i, start, end, whole), row in zip(marked, rows):
            done += 1
            if whole or row[-len(quiet_cells):] != quiet_cells:
                spans.append((start + grow * i, end + grow * (i + 1), whole))
                cells.append(row if whole else row[-len(quiet_cells):])
        if done != len(marked) or next(iter(rows), None) is not None:
            raise AssertionError("a marked row was dropped although the all-clear verdict passes")
        cells = [tuple(row) for row in cells]
        new = [row for row in dict.fromkeys(cells) if row not in written]
        written.update(zip(new, _each_csv(new)))
        pieces, at = [], 0
        for (start, end, whole), line in zip(spans, map(written.get, cells)):
            pieces.append(out[at:start])
            pieces.append(line if whole else out[start:end - len(copy)] + after + line)
            at = end
        pieces.append(out[at:])
        copied += n - len(marked)
        body.write(b"".join(pieces))
    command._record_writer._pending_record_count += copied
    return body


def _done(command, s, marked, layout):
    """The lean path's rows (it counts them) for the MARKED rows of slice S."""
    text = b"".join([s[start:end] for _, start, end, _ in marked]).decode("utf-8")
    return command._lean_rows(csv.reader(_lines(text), dialect=CsvDialect), layout)


def _each_csv(rows):
    """Each row as splunklib's csv writer writes it, with its line end (a value may hold one)."""
    out = io.StringIO()
    writerow, ends = csv.writer(out, dialect=CsvDialect).writerow, []
    for row in rows:
        writerow(row)
        ends.append(out.tell())
    text = out.getvalue()
    return [text[start:end].encode("utf-8") for start, end in zip([0] + ends, ends)]


def _csv(cells):
    return _each_csv([cells])[0]

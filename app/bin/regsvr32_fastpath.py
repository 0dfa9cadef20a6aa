"""Byte-level path for the rows of a chunk that cannot concern regsvr32 (issue 11).

Most rows of a mixed stream carry no marker (``fields.MARKS``, or an encoded PowerShell command:
``fields.ENCODED_HINTS`` with "-e") anywhere, in any case. ``fields.normalize`` rejects such rows
before reading them, so their verdict is the command's all-clear ``quiet_values``. Instead of
turning them into cells and back, this path copies their bytes and appends the all-clear cells,
and hands only the marked rows to the lean path's ``csv`` code (``regsvr32_protocol``).

That copy equals what splunklib writes only for rows already written as Python's csv writer
writes them. ``plan`` proves it for the whole chunk before any row is copied: quoted fields only
where a quote, comma or CR makes the writer quote, quotes doubled, no quoted line break, every
row as wide as the header, no empty __mv_ cell filled, no NUL, no field over csv's size limit.
A chunk it cannot prove goes to the lean path whole (``plan`` says why), which gives it to
splunklib's own path if it cannot do it either. ``tests/test_fastpath.py`` compares the bytes of
this path with splunklib's own, chunk by chunk.
"""
import csv
import io
import re
from bisect import bisect_right
from itertools import accumulate, chain, count, repeat
from operator import add

from regsvr32_detector import fields
from regsvr32_protocol import Layout, _Sink, _lines, encode_all
from splunklib.searchcommands.internals import CsvDialect

# A quoted field that needs its quotes (a doubled quote, comma, CR or LF inside), as an unrolled
# loop: single-character repeats run at C speed, an alternation inside a repeat does not.
QUOTED = re.compile(rb'"[^",\r\n]*(?:""|[,\r\n])[^"]*(?:""[^"]*)*"')
HOLE = b"\0"                # where a quoted field was; chunks that contain NUL never get here
# A quoted field followed by text, not by "," or a line end (searched backwards too: preceded).
# It starts with a literal, so the search skips ahead at C speed.
HOLE_THEN_TEXT = re.compile(rb'\0[^,\r\n]')
# Above this share of marked rows the lean path is faster, and it streams the rows instead of
# holding the marked ones while the copies are made.
MOST_MARKED = 0.25
SAMPLE_CHARS = 1 << 16      # the start of a chunk that tells a mostly marked one at once
PIECE_ROWS = 256            # rows per piece of the reply (see regsvr32_protocol._Sink)
MARKS = tuple(m.encode("ascii") for m in fields.MARKS)
HINTS = tuple(h.encode("ascii") for h in fields.ENCODED_HINTS)
# bytes.lower() folds ASCII only. str.lower() also folds KELVIN SIGN to "k" (no mark has one) and
# I WITH DOT to "i" plus a combining dot (which breaks the mark): ASCII folding finds every mark.
assert not any("k" in m for m in fields.MARKS + fields.ENCODED_HINTS)


# why chunks did not take this path (None: they did) -> how many, in this process
STATS = {}


class Plan(object):
    """A chunk this path can do: its header, its rows' lines, and which rows are marked."""

    def __init__(self, header, layout, lines, marked, rest):
        self.header, self.layout, self.lines, self.marked = header, layout, lines, marked
        self.rest = rest            # the rows with each quoted field as HOLE


def plan(text, outputs):
    """(Plan, None) if every row of the chunk TEXT is proven to copy as splunklib would write it,
    else (None, why not)."""
    if CsvDialect.lineterminator != "\r\n":
        return None, "line terminator"                  # splunklib on Windows writes "\n"
    sample = text[:SAMPLE_CHARS].lower()
    if sample.count("regsvr32") > sample.count("\n") * MOST_MARKED:
        return None, "mostly marked rows (the lean path streams them)"    # known before any copy
    data = text.encode("utf-8")     # what splunklib decoded (bad bytes already U+FFFD), as written
    if HOLE in data:
        return None, "NUL"
    end = data.find(b"\n") + 1
    header, body = data[:end], data[end:]
    data = None                     # memory: at most a few copies of a chunk at a time
    if not end or b'"' in header or not body:
        return None, "header"
    layout = Layout.of(header.decode("utf-8").rstrip("\r\n").split(","), outputs)
    if layout is None or layout.width < 2 or not (layout.same or not layout.mv):
        return None, "layout"
    if not body.endswith(b"\n") or b"\n\n" in body or b"\n\r\n" in body or body[:1] in b"\r\n":
        return None, "empty or unterminated line"
    rest = QUOTED.sub(HOLE, body)
    if b'"' in rest:
        return None, "quotes the csv writer would not write"
    if rest.count(b"\r") != rest.count(b"\r\n"):
        return None, "bare CR"
    if HOLE in rest and (HOLE_THEN_TEXT.search(rest) or HOLE_THEN_TEXT.search(rest[::-1])):
        return None, "quoted field inside a field"     # text right after or before it
    lines = body.split(b"\n")
    lines.pop()                                         # after the last "\n"
    rest_lines = rest.split(b"\n")
    rest_lines.pop()
    if len(rest_lines) != len(lines):
        return None, "quoted line break"
    if set(map(bytes.count, rest_lines, repeat(b","))) != {layout.width - 1}:
        return None, "ragged rows"
    if max(map(len, lines)) >= csv.field_size_limit():
        return None, "field over csv's size limit"
    low = body.lower()
    marked = set(_rows_with(low, MARKS, lines))
    for row in _rows_with(low, HINTS, lines):
        if b"-e" in lines[row].lower():
            marked.add(row)
    low = body = None
    if len(marked) > len(lines) * MOST_MARKED:
        return None, "mostly marked rows (the lean path streams them)"
    if layout.mv and not _mv_empty(rest, len(lines)):
        # some __mv_ cell is filled: those rows go through csv, which decodes it as splunklib does
        marked.update(i for i, line in enumerate(rest_lines) if not _mv_empty(line + b"\n", 1))
    return Plan(header, layout, lines, sorted(marked), rest), None


def _mv_empty(rest, rows):
    """Whether every __mv_ cell of these field,__mv_field rows (ROWS lines of REST, each as
    wide as the header) is empty. Such a row is v0,,v1,,...,vN, with no comma inside a v: with
    the comma pairs taken out, left to right, one comma is left on each line, at its end."""
    single = rest.replace(b",,", b"")
    return single.count(b",") == rows == single.count(b",\r\n") + single.count(b",\n")


def _rows_with(low, needles, lines):
    """Indexes of the LINES whose text (lower-cased: LOW) holds one of NEEDLES."""
    breaks = None                   # where each line's "\n" is, worked out at the first hit
    for needle in needles:
        at = low.find(needle)
        while at >= 0:
            if breaks is None:
                breaks = list(map(add, accumulate(map(len, lines)), count()))
            row = bisect_right(breaks, at)
            yield row
            at = low.find(needle, breaks[row] + 1)     # the rest of this row is known


def reply(command, text):
    """The reply body (a _Sink of bytes) of an execute chunk, or None for the lean path.

    COMMAND is a LeanStreaming command whose rows with no marker all get ``quiet_values``
    (None: such rows are dropped, as filter mode does)."""
    chunk, why = plan(text, command.outputs)
    STATS[why] = STATS.get(why, 0) + 1
    if chunk is None:
        return None
    lines, marked, quiet = chunk.lines, chunk.marked, command.quiet_values
    # the marked rows, in one go through the lean path's csv code (which counts its rows)
    done = command._lean_rows(csv.reader(_lines(
        b"\n".join([lines[i] for i in marked]).decode("utf-8") + "\n"), dialect=CsvDialect),
        chunk.layout) if marked else iter(())
    lines = None
    body = _Sink()
    if quiet is None:                   # unmarked rows are dropped: the marked ones are the reply
        first = next(done, None)
        if first is not None:                           # splunklib writes no header for no rows
            body.write(_csv(chunk.layout.out_header))
            body.write(_csv_rows(chain([first], done)))
        return body
    copies = _copies(chunk, quiet)
    count = 0
    for i, row in zip(marked, done):    # nothing is dropped: the n-th row done is marked row n
        copies[i] = _csv_rows([row])[:-2]
        count += 1
    if count != len(marked) or next(done, None) is not None:
        raise AssertionError("a row was dropped although the all-clear verdict passes")
    command._record_writer._pending_record_count += len(copies) - len(marked)
    body.write(_csv(chunk.layout.out_header))
    for start in range(0, len(copies), PIECE_ROWS):    # pieces, not one copy of the whole reply
        body.write(b"\r\n".join(copies[start:start + PIECE_ROWS]) + b"\r\n")
    return body


def _copies(chunk, quiet):
    """Every row of the chunk as splunklib writes it with the all-clear verdict, without its
    line end: its own bytes (with each field's empty __mv_ cell if the input had none), then
    the all-clear cells (after an empty first cell, which writes as nothing)."""
    tail = _csv([""] + encode_all(quiet))[:-2]
    text = b"\n".join(chunk.lines) + b"\n"
    if not chunk.layout.same:           # double the commas outside the quoted fields
        bare = chunk.rest.replace(b",", b",,").split(HOLE)
        quoted = QUOTED.findall(text)   # the same fields as in the plan: the chunk is proven
        text = None
        text = b"".join(chain.from_iterable(zip(bare, quoted + [b""])))
        bare = quoted = None
        tail = b"," + tail
    chunk.rest = chunk.lines = None     # memory: the copies replace them
    return text.replace(b"\r\n", b"\n").replace(b"\n", tail + b"\n").split(b"\n")[:-1]


def _csv(cells):
    return _csv_rows([cells])


def _csv_rows(rows):
    out = io.StringIO()
    csv.writer(out, dialect=CsvDialect).writerows(rows)
    return out.getvalue().encode("utf-8")

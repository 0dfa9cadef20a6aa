"""The CSV side of protocol v2 (chunked), as splunklib 2.1.1 reads and writes it: a leaf module.

It knows nothing of regsvr32 and imports none of this app's modules: the command hands it the
function that judges a row, and the byte-level path (regsvr32_fastpath) the cheap test.

- reading: ``lines`` splits a chunk's text as splunklib's reader sees it (and at a lone CR);
  NUL, which the csv reader of Python before 3.11 rejects, travels escaped (``escape_nul``);
- ``Layout``: what a chunk's header means (splunkd's layout, every ``__mv_`` column after all
  fields; splunklib's, each field followed by its ``__mv_`` column; or none);
- ``Cells``: the output values of a verdict and their cells encoded once, as splunklib's
  RecordWriter writes them (``encode``); a command keeps one per verdict;
- ``lean_rows``: a chunk's rows read with ``csv.reader`` and turned into output rows, byte for
  byte what splunklib would write (same columns, same ``__mv_`` encoding);
- ``Sink``: where a reply's bytes go, in pieces of one size.

Anything a function here was not built for raises ``Redo``: the chunk then goes to splunklib's
own record path (regsvr32_protocol decides).
"""
import csv
import io
import re
from operator import itemgetter

from splunklib.searchcommands.internals import CsvDialect

MV = "__mv_"


class Redo(Exception):
    """This chunk goes to splunklib's own path after all."""


# ---------------------------------------------------------------- reading

def _csv_rejects_nul():
    try:
        list(csv.reader(["\0"]))
        return False
    except csv.Error:
        return True


# The csv reader of Python before 3.11 (Splunk 9.x runs 3.9) rejects NUL ("line contains NUL"),
# which would end the whole search; its writer accepts NUL. Such chunks are read escaped: ESC
# doubles itself and NUL becomes ESC "0" (ordinary characters to csv), and each value is
# unescaped. One pass over the chunk whatever it holds, unlike a search for an unused character.
CSV_REJECTS_NUL = _csv_rejects_nul()
ESC = "\ue000"
_ESCAPED = re.compile("\ue000(.)", re.S)             # ESC and the character it escapes
_UNESCAPE = {ESC: ESC, "0": "\0"}


def escape_nul(text):
    return text.replace(ESC, ESC + ESC).replace("\0", ESC + "0")


def unescape_nul(value):
    if isinstance(value, list):
        return [unescape_nul(v) for v in value]
    if isinstance(value, str) and ESC in value:
        return _ESCAPED.sub(lambda m: _UNESCAPE[m.group(1)], value)
    return value


def unescape_record(record):
    return type(record)((unescape_nul(k), unescape_nul(v)) for k, v in record.items())


_LONE_CR = re.compile("\r(?!\n)")
_UNIVERSAL_LINE = re.compile("[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def lines(text):
    """The lines of TEXT with their ends, as csv wants them: as iterating io.StringIO(text) yields
    them (splunklib's reading), and also split at a lone CR, which would otherwise be an error
    ("new-line character seen in unquoted field") that loses the whole chunk. Inside a quoted
    value a CR stays part of the value either way."""
    if "\r" in text and _LONE_CR.search(text):
        return (m.group() for m in _UNIVERSAL_LINE.finditer(text))
    return _newline_lines(text)


def _newline_lines(text):
    # Without io.StringIO's copy of the chunk at 4 bytes per character.
    start, find = 0, text.find
    while True:
        end = find("\n", start) + 1
        if not end:
            if start < len(text):
                yield text[start:]
            return
        yield text[start:end]
        start = end


def decode(body):
    return body.decode("utf-8", errors="replace")   # as splunklib: bad bytes become U+FFFD


def reader(text):
    """csv.reader over TEXT (a chunk's text, or some of its whole rows), as splunklib reads it."""
    return csv.reader(lines(text), dialect=CsvDialect)


def allow_fields_up_to(size):
    # splunklib caps a field at 10 MB (csv.field_size_limit), and a bigger one ended the search
    # with every row of its chunk. No field is longer than its chunk, which is already in memory.
    if size > csv.field_size_limit():
        csv.field_size_limit(size)


# ---------------------------------------------------------------- writing

def encode(value):
    """(single-value cell, __mv_ cell) of one value, as splunklib 2.1.1's RecordWriter writes it."""
    if value.__class__ is str:
        return value, ""
    if value is None:
        return "", ""
    if isinstance(value, (list, tuple)):
        if not value:
            return "", ""
        if len(value) == 1:
            if value[0].__class__ is str:
                return value[0], ""
            raise Redo()                                # splunklib writes repr() of odd items
        for v in value:
            if v.__class__ is not str:
                raise Redo()
        return "\n".join(value), "$" + "$;$".join([v.replace("$", "$$") for v in value]) + "$"
    raise Redo()  # numbers, dicts, ...: splunklib's writer knows their formats


def encode_all(values):
    cells = []
    for value in values:
        cells.extend(encode(value))
    return cells


class Cells(object):
    """One verdict's output VALUES (str or list of str, in the command's output order) and their
    cells as splunklib writes them, encoded once (None if only splunklib's writer can: then the
    lean paths hand the chunk to splunklib's path)."""

    __slots__ = ("values", "cells")

    def __init__(self, values):
        self.values = values
        try:
            self.cells = encode_all(values)
        except Redo:
            self.cells = None


class Sink(io.RawIOBase):
    """Where a TextIOWrapper puts a reply's bytes: a list of pieces of about 64 KB.

    One growing buffer of 15-20 MB per chunk would leave the memory allocator holes that later
    chunks do not fit (glibc then keeps the freed memory: peak RSS 57 MB after one chunk, 87 MB
    after four); pieces of one size are reused chunk after chunk. Not readable, so the wrapper
    has no decoder to reset on every write."""

    def __init__(self):
        io.RawIOBase.__init__(self)
        self.pieces = []
        self.size = 0

    def writable(self):
        return True

    def write(self, data):
        self.pieces.append(bytes(data))
        self.size += len(data)
        return len(data)


def text_writer(sink):
    """A csv.writer into SINK, as splunklib's (its TextIOWrapper with 64 KB writes); and the
    wrapper, to flush."""
    out = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=False)
    out._CHUNK_SIZE = 1 << 16       # io's own knob (no public one): pieces of one size, see Sink
    return csv.writer(out, dialect=CsvDialect), out


def each_csv(rows):
    """Each row as splunklib's csv writer writes it, in bytes with its line end."""
    out = io.StringIO()
    writerow, ends = csv.writer(out, dialect=CsvDialect).writerow, []
    for row in rows:
        writerow(row)
        ends.append(out.tell())
    text = out.getvalue()
    return [text[start:end].encode("utf-8") for start, end in zip([0] + ends, ends)]


def row_csv(cells):
    return each_csv([cells])[0]


# ---------------------------------------------------------------- layouts

class Layout(object):
    """What a chunk's CSV header means, worked out once per chunk; None if it is not for us."""

    @classmethod
    def of(cls, header, outputs):
        if len(set(header)) != len(header):
            return None                                 # splunklib keeps the first of duplicates
        where = dict((name, i) for i, name in enumerate(header))
        names = [n for n in header if not n.startswith(MV)]
        for i, n in enumerate(header):
            # a __mv_ column must follow its own field, or splunklib reorders the record's keys;
            # __mv___mv_x would make a field named __mv_x, which the output header lacks
            if n.startswith(MV) and (n.startswith(MV + MV) or where.get(n[len(MV):], i) >= i):
                return None
        if set(names) & set(outputs):
            return None                                 # a field we write is already there
        return cls(header, names, outputs)

    def __init__(self, header, names, outputs):
        self.width = len(header)
        self.names = names
        self.plain = [i for i, n in enumerate(header) if not n.startswith(MV)]
        self.mv = [(i, header[i][len(MV):]) for i, n in enumerate(header) if n.startswith(MV)]
        self.out_header = [c for n in list(names) + list(outputs) for c in (n, MV + n)]
        # splunklib's output layout (every field followed by its __mv_ column): a row without
        # multivalues then passes through as it came.
        self.same = header == self.out_header[:2 * len(names)]
        # splunkd's layout: every field, then one __mv_ column for each, in the same order
        self.tail = bool(names) and header == names + [MV + n for n in names]


def lean_rows(rows, layout, judge, decode_list, counter):
    """The output rows (lists of cells) of ROWS (csv.reader's lists) in LAYOUT.

    JUDGE(record) gives a row's Cells, or None to drop the row; DECODE_LIST reads a __mv_ cell as
    splunklib does; COUNTER (a list of one int) counts the rows yielded. Raises Redo for a ragged
    row or values only splunklib's writer can write."""
    width, names, same = layout.width, layout.names, layout.same
    plain_of = _getter(layout.plain)
    mv_cells = _getter([i for i, _ in layout.mv]) if layout.mv else None
    blank = [""] * (2 * len(names))
    count = 0
    try:
        for values in rows:
            if len(values) != width:
                raise Redo()                            # ragged: splunklib's zip() semantics
            plain = plain_of(values)
            if mv_cells is not None and any(mv_cells(values)):
                row = _mv_row(values, layout, judge, decode_list)   # rare: multivalue fields
                if row is not None:
                    count += 1
                    yield row
                continue
            out = judge(dict(zip(names, plain)))
            if out is None:
                continue
            cells = out.cells
            if cells is None:
                raise Redo()
            if same:
                values.extend(cells)
                row = values
            else:
                row = blank[:]
                row[::2] = plain
                row.extend(cells)
            count += 1
            yield row
    finally:
        counter[0] += count


def _mv_row(values, layout, judge, decode_list):
    # As splunklib reads it: a non-empty __mv_ cell replaces its field's value with the list.
    record = dict(zip(layout.names, [values[i] for i in layout.plain]))
    for i, name in layout.mv:
        if values[i]:
            record[name] = decode_list(values[i])
    out = judge(record)
    if out is None:
        return None
    if out.cells is None:
        raise Redo()
    return encode_all(list(record.values())) + out.cells


def _getter(indexes):
    """A function of a row (list) that returns the list of its cells at INDEXES, at C speed."""
    indexes = list(indexes)
    if not indexes:
        return lambda values: []
    if len(indexes) == 1:
        i = indexes[0]
        return lambda values: [values[i]]
    step = indexes[1] - indexes[0]
    if step > 0 and indexes == list(range(indexes[0], indexes[-1] + 1, step)):
        view = slice(indexes[0], indexes[-1] + 1, step)   # e.g. splunkd's field, __mv_field pairs
        return lambda values: values[view]
    get = itemgetter(*indexes)
    return lambda values: list(get(values))

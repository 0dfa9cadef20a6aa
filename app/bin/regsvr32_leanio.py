"""A lean record path for a splunklib 2.1.1 StreamingCommand under protocol v2 (chunked).

splunklib spends most of a streaming command's time on its own per-record reading (an
OrderedDict per row) and writing (a type dispatch per cell). This mixin replaces the CSV body of
an execute chunk: it reads the rows with ``csv.reader`` into plain dicts and writes them with
``csv.writer``, byte for byte as splunklib 2.1.1 would (same columns, same ``__mv_`` encoding),
and frames the reply as splunklib's ``write_chunk`` does, with splunklib's own metadata (the
inspector's messages, ``finished``) and JSON encoder. getinfo, options and errors stay
splunklib's code.

Anything it was not built for (another splunklib version, duplicate or oddly placed columns, an
output field already in the input, ragged rows, unexpected values) goes to splunklib's own path
for that chunk. ``tests/test_leanio.py`` pins the splunklib sources this relies on and checks the
two paths give the same bytes.
"""
import csv
import io
from operator import itemgetter

import splunklib
from splunklib.searchcommands.internals import CsvDialect
from splunklib.searchcommands.search_command import SearchCommand

PINNED_SDK = "2.1.1"
MV = "__mv_"


class _Redo(Exception):
    """This chunk goes to splunklib's own path after all."""


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
            raise _Redo()                               # splunklib writes repr() of odd items
        for v in value:
            if v.__class__ is not str:
                raise _Redo()
        return "\n".join(value), "$" + "$;$".join([v.replace("$", "$$") for v in value]) + "$"
    raise _Redo()  # numbers, dicts, ...: splunklib's writer knows their formats


def encode_all(values):
    cells = []
    for value in values:
        cells.extend(encode(value))
    return cells


# splunklib's own __mv_ decoder, so that both paths read a multivalue cell alike.
decode_list = SearchCommand._decode_list


class Layout(object):
    """What a chunk's CSV header means, worked out once per chunk; None if it is not for us."""

    @classmethod
    def of(cls, header, outputs):
        if len(set(header)) != len(header):
            return None                                 # splunklib keeps the first of duplicates
        where = dict((name, i) for i, name in enumerate(header))
        names = [n for n in header if not n.startswith(MV)]
        for i, n in enumerate(header):
            # a __mv_ column must follow its own field, or splunklib reorders the record's keys
            if n.startswith(MV) and where.get(n[len(MV):], i) >= i:
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
        # splunkd's own layout (every field followed by its __mv_ column) is splunklib's output
        # layout too: a row without multivalues then passes through as it came.
        self.same = header == self.out_header[:2 * len(names)]


class LeanStreaming(object):
    """Mixin for a splunklib StreamingCommand. The command provides:

    - ``lean_outputs``: the output field names, in order;
    - ``row_values(record)``: the output values of one record (str or list of str, in
      ``lean_outputs`` order), or None to drop the row;

    Values returned as the very same object as for the row before are encoded only once: return
    one shared list for the all-clear verdict that most rows get.
    """

    lean = splunklib.__version__ == PINNED_SDK  # set False to run on splunklib's own path

    def _execute_v2(self, ifile, process):
        if not self.lean:
            return super(LeanStreaming, self)._execute_v2(ifile, process)
        # splunklib 2.1.1's loop, except that a chunk's input is freed before its reply is
        # written (splunklib holds it until the next chunk is read) and that the lean path
        # writes its reply as bytes, without splunklib's two full copies of the body.
        istream = self._as_binary_stream(ifile)
        writer = self._record_writer
        while True:
            result = self._read_chunk(istream)
            if not result:
                return
            metadata = result[0]
            action = getattr(metadata, "action", None)
            if action != "execute":
                raise RuntimeError("Expected execute action, not %s" % action)
            self._finished = getattr(metadata, "finished", False)
            writer.is_flushed = False
            self._metadata.update(metadata)
            body = self._lean_chunk(result[1])
            if body is None:                            # splunklib's own path for this chunk
                self._execute_chunk_v2(process, result)
                result = metadata = None
                writer.write_chunk(finished=self._finished)
                _fresh_buffer(writer)
            else:
                result = metadata = None
                _write_chunk(writer, self._finished, body)
                body = None                             # nor its reply

    def _lean_chunk(self, text):
        """The chunk's reply body (bytes), or None if splunklib's path must do this chunk."""
        if self._record_writer._buffer.tell() or not (text or self._allow_empty_input):
            return None                                 # rows already pending; splunklib's error
        if not text:
            return _Sink()
        # --- issue 11 hook: the byte-level path, for commands whose unmarked rows all get
        # quiet_values (regsvr32detect); None when it cannot prove the chunk. ---
        if hasattr(self, "quiet_values"):
            import regsvr32_fastpath
            try:
                body = regsvr32_fastpath.reply(self, text)
            except Exception as error:  # _Redo included: the lean path below decides again
                self.logger.debug("byte-level path: %r; the lean path does the chunk", error)
                self._record_writer._pending_record_count = 0
                body = None
            if body is not None:
                return body
        # --- end of the issue 11 hook ---
        body = _Sink()
        out = io.TextIOWrapper(body, encoding="utf-8", newline="", write_through=False)  # as splunklib
        out._CHUNK_SIZE = 1 << 16
        try:
            if self._lean_rows_to(text, csv.writer(out, dialect=CsvDialect)):
                out.flush()
                return body
        except _Redo:
            pass
        except Exception as error:  # splunklib's path reports it, with no rows half written
            self.logger.debug("lean record path: %r; splunklib's path redoes the chunk", error)
        self._record_writer._pending_record_count = 0
        return None

    def _lean_rows_to(self, text, out):
        """Writes the chunk's rows to OUT; False if splunklib's path must do this chunk."""
        # Lines as io.StringIO(text) gives them, without its copy at 4 bytes per character.
        reader = csv.reader(_lines(text), dialect=CsvDialect)
        header = next(reader, None)
        if header is None:
            return True
        layout = Layout.of(header, self.lean_outputs)
        if layout is None:
            return False
        rows = self._lean_rows(reader, layout)
        first = next(rows, None)
        if first is not None:                           # splunklib writes no header for no rows
            out.writerow(layout.out_header)
            out.writerow(first)
            out.writerows(rows)
        return True

    def _lean_rows(self, reader, layout):
        width, names, same = layout.width, layout.names, layout.same
        plain_of = _getter(layout.plain)
        mv_cells = _getter([i for i, _ in layout.mv]) if layout.mv else None
        row_values = self.row_values
        blank = [""] * (2 * len(names))
        last = cells = None
        count = 0
        for values in reader:
            if len(values) != width:
                raise _Redo()                           # ragged: splunklib's zip() semantics
            plain = plain_of(values)
            if mv_cells is not None and any(mv_cells(values)):
                row = self._mv_row(values, layout)      # rare: a row with multivalue fields
                if row is not None:
                    count += 1
                    yield row
                continue
            out = row_values(dict(zip(names, plain)))
            if out is None:
                continue
            if out is not last:                         # the quiet verdict is encoded once
                last, cells = out, encode_all(out)
            if same:
                values.extend(cells)
                row = values
            else:
                row = blank[:]
                row[::2] = plain
                row.extend(cells)
            count += 1
            yield row
        self._record_writer._pending_record_count += count

    def _mv_row(self, values, layout):
        # As splunklib reads it: a non-empty __mv_ cell replaces its field's value with the list.
        record = dict(zip(layout.names, [values[i] for i in layout.plain]))
        for i, name in layout.mv:
            if values[i]:
                record[name] = decode_list(values[i])
        out = self.row_values(record)
        if out is None:
            return None
        return encode_all(list(record.values()) + list(out))


class _Sink(io.RawIOBase):
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


def _write_chunk(writer, finished, body):
    """RecordWriterV2.write_chunk and _write_chunk of splunklib 2.1.1, for a body in bytes."""
    writer._committed_record_count += writer.pending_record_count
    writer._chunk_count += 1
    metadata = {"finished": finished}
    if writer._inspector:
        metadata = {"inspector": writer._inspector, "finished": finished}
    meta = "".join(writer._iterencode_json(metadata, 0)).encode("utf-8")
    ofile = writer.ofile
    ofile.write(("chunked 1.0,%d,%d\n" % (len(meta), body.size)).encode("utf-8"))
    ofile.write(meta)
    for piece in body.pieces:
        ofile.write(piece)
    ofile.flush()
    writer._flushed = True
    writer._clear()


def _fresh_buffer(writer):
    # splunklib clears its StringIO after each chunk (seek, truncate); from then on CPython keeps
    # it at 4 bytes per character, and memory grows after the first chunk. A StringIO that is
    # only appended to stays compact: give every chunk a new one (both paths write through it).
    writer._buffer = io.StringIO()
    writer._writer = csv.writer(writer._buffer, dialect=CsvDialect)
    writer._writerow = writer._writer.writerow


def _lines(text):
    """The lines of TEXT, each with its "\\n", as iterating io.StringIO(text) yields them."""
    start, find = 0, text.find
    while True:
        end = find("\n", start) + 1
        if not end:
            if start < len(text):
                yield text[start:]
            return
        yield text[start:end]
        start = end


def _getter(indexes):
    """A function of a row (list) that returns the list of its cells at INDEXES, at C speed."""
    indexes = list(indexes)
    if not indexes:
        return lambda values: []
    if len(indexes) == 1:
        i = indexes[0]
        return lambda values: [values[i]]
    step = indexes[1] - indexes[0] if len(indexes) > 1 else 1
    if step > 0 and indexes == list(range(indexes[0], indexes[-1] + 1, step)):
        view = slice(indexes[0], indexes[-1] + 1, step)   # e.g. splunkd's field, __mv_field pairs
        return lambda values: values[view]
    get = itemgetter(*indexes)
    return lambda values: list(get(values))

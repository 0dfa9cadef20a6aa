"""Everything ``| regsvr32detect`` needs from splunklib 2.1.1's internals, in one place.

The command (regsvr32detect.py) declares its options, loads what it needs in ``prepare()`` and
gives the values of one row (``row_values``); this mixin does the rest of protocol v2 (chunked):

- options: a bad value is refused once, with the validator's message (splunklib drops it and
  formats the value as a template); splunklib's own options (record, ...) cannot be set from SPL;
- messages: every text is an argument of the "{}" template, never the template itself; repeated
  problems are capped, with a count of the rest;
- reading: frames are read strictly (a body cut short is said, not processed); a field may be as
  large as its chunk (splunklib stops at 10 MB); CR-only line ends are read as line ends; NUL,
  which the csv reader of Python before 3.11 rejects, travels escaped and comes back unchanged;
- the lean record path: a chunk's rows are read with ``csv.reader`` into plain dicts and written
  with ``csv.writer``, byte for byte as splunklib 2.1.1 would (same columns, same ``__mv_``
  encoding), framed as its ``write_chunk`` does. Anything it was not built for (another splunklib
  version, duplicate or oddly placed columns, an output field already in the input, ragged rows,
  unexpected values) goes to splunklib's own record path for that chunk;
- logging: the admin's ``local/<name>.logging.conf`` wins; a broken one is said and the shipped
  one is used instead.

``tests/test_leanio.py`` pins the splunklib sources this relies on and checks that both record
paths give the same bytes. A faster path for some chunks plugs in at ``_fast_chunk``, on the
bytes as read.
"""
import csv
import io
import os
import re
import sys
from operator import itemgetter

import splunklib
from splunklib.searchcommands import Option, environment, validators
from splunklib.searchcommands.internals import CsvDialect, MetadataDecoder
from splunklib.searchcommands.search_command import SearchCommand
from regsvr32_detector.bounded import Bounded, text_bytes

PINNED_SDK = "2.1.1"
MV = "__mv_"
SHOWN = 20          # problems of one kind shown in the job inspector; the rest are counted
LOGGED = 100        # and written to the log: enough to fix them by, not 100,000 lines


class _Redo(Exception):
    """This chunk goes to splunklib's own path after all."""


class ProtocolError(Exception):
    """splunkd's input cannot be read as protocol v2; the message says what happened."""


# ---------------------------------------------------------------- options

class Explained(validators.Validator):
    """Wraps a splunklib validator so that a bad value is refused with a message saying what is allowed."""

    def __init__(self, inner, allowed):
        self.inner = inner
        self.allowed = allowed

    def __call__(self, value):
        try:
            return self.inner(value)
        except ValueError:
            raise ValueError("%s; got %r" % (self.allowed, value))

    def format(self, value):
        return self.inner.format(value)


class Refused(validators.Validator):
    """An option splunklib offers that a search must not set."""

    def __init__(self, why):
        self.why = why

    def __call__(self, value):
        if value is None:
            return None
        raise ValueError(self.why)

    def format(self, value):
        return value


def _refused(why, doc="Not settable from SPL."):
    return Option(doc=doc, validate=Refused(why))


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


def _unescape_record(record):
    return type(record)((unescape_nul(k), unescape_nul(v)) for k, v in record.items())


_LONE_CR = re.compile("\r(?!\n)")
_UNIVERSAL_LINE = re.compile("[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _lines(text):
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


def _decode(body):
    return body.decode("utf-8", errors="replace")   # as splunklib: bad bytes become U+FFFD


def _allow_fields_up_to(size):
    # splunklib caps a field at 10 MB (csv.field_size_limit), and a bigger one ended the search
    # with every row of its chunk. No field is longer than its chunk, which is already in memory.
    if size > csv.field_size_limit():
        csv.field_size_limit(size)


# ---------------------------------------------------------------- the lean record path

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


ENCODED_BYTES = 4 << 20     # a chunk's encoded verdicts (bounded.py)


def cells_bytes(cells):
    """Estimated bytes of encoded cells (and of the values they were made of)."""
    return 2 * sum([text_bytes(c) for c in cells])


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
        # splunkd's own layout (every field followed by its __mv_ column) is splunklib's output
        # layout too: a row without multivalues then passes through as it came.
        self.same = header == self.out_header[:2 * len(names)]


class ChunkedCommand(object):
    """Mixin for a splunklib StreamingCommand. The command provides:

    - ``outputs``: the output field names, in order;
    - ``row_values(record)``: the output values of one record (str or list of str, in
      ``outputs`` order), or None to drop the row;

    Values returned as the very same object as for the row before are encoded only once: return
    one shared list for the all-clear verdict that most rows get.
    """

    lean = splunklib.__version__ == PINNED_SDK  # set False to run on splunklib's own record path

    # splunklib's own options that a search must not set. logging_configuration: fileConfig
    # evaluates parts of the named file as Python. record: writes a gzip of the dispatch folder
    # and the whole conversation under $SPLUNK_HOME/var/run, never removed, on every indexer.
    # show_configuration and logging_level: nothing an analyst needs, and both reach splunklib
    # code paths that format the value as a template. Logging is the admin's, in local/.
    logging_configuration = _refused(
        "logging_configuration cannot be set from a search; an admin sets logging in the app's "
        "local/ folder")
    record = _refused("record cannot be set from a search: it would write the search's data "
                      "outside the app")
    show_configuration = _refused("show_configuration cannot be set from a search")
    logging_level = _refused("logging_level cannot be set from a search; an admin sets it in the "
                             "app's local/ folder")

    # ------------------------------------------------------------ options and messages

    def own_options(self):
        return [name for name, item in self.options.items() if not isinstance(item.validator, Refused)]

    def _protocol_v2_option_parser(self, arg):
        # splunklib drops the validator's message ("Illegal value: mode=bogus") and formats the
        # value as a template ({0} crashes it): say what is allowed, once, and stop here.
        result = super(ChunkedCommand, self)._protocol_v2_option_parser(arg)
        if len(result) != 2:
            self.refuse("%s takes no field names, only the options %s; got %r"
                        % (self.name, ", ".join(self.own_options()), arg))
        name, value = result
        if name not in self.options:
            self.refuse("%s: unknown option %r; the options are %s"
                        % (self.name, name, ", ".join(self.own_options())))
        try:
            self.options[name].validator(value)
        except ValueError as error:
            self.refuse("%s: %s" % (self.name, error))
        return result

    def refuse(self, text):
        """Stops the search with TEXT; splunklib answers with the messages written so far."""
        self.error(text)
        sys.exit(1)

    # splunklib passes every message through str.format: ours are arguments, never the template.
    def error(self, text):
        self.write_error("{}", text)

    def warning(self, text):
        self.write_warning("{}", text)

    def warn_each(self, what, problems):
        """One warning per problem, up to SHOWN; then one that counts the rest (all logged, up to LOGGED)."""
        for problem in problems[:SHOWN]:
            self.warning("%s %s %s" % (self.name, what, problem))
        for problem in problems[:LOGGED]:
            self.logger.warning("%s: %s", what, problem)
        if len(problems) > SHOWN:
            self.warning("%s: %d more %s problems not shown (the first %d are in the log)"
                         % (self.name, len(problems) - SHOWN, what, min(len(problems), LOGGED)))

    def configure_logging(self, filename):
        """Logs as local/FILENAME (else default/FILENAME) says, where Splunk keeps logs.

        Outside Splunk (tests, the demo) that folder does not exist: splunklib's stderr logging stays."""
        if not os.path.isdir(os.path.join(environment.splunk_home, "var", "log", "splunk")):
            return
        try:
            environment.configure_logging(type(self).__name__, filename)
        except Exception as error:      # fileConfig of an empty or broken file
            shipped = os.path.join(environment.app_root, "default", filename)
            self.warning("%s: local/%s cannot be used (%s: %s); logging as default/%s says"
                         % (self.name, filename, type(error).__name__, str(error)[:200], filename))
            environment.configure_logging(type(self).__name__, shipped)

    # ------------------------------------------------------------ reading frames

    def _read_chunk(self, istream):
        """splunklib's _read_chunk, but a frame cut short or unreadable is said, never processed."""
        result = self._read_raw_chunk(istream)
        if result is None:
            return None
        return result[0], _decode(result[1])

    def _read_raw_chunk(self, istream):
        """(metadata, body as read: bytes) of the next chunk, or None at the end of the input."""
        header = istream.readline()
        if not header:
            return None
        match = SearchCommand._header.match(header.decode("utf-8", "replace"))
        if match is None:
            self._unreadable("splunkd sent %r where a chunk header was expected; the search stops "
                             "here" % header[:100])
        meta_length, body_length = int(match.group(1)), int(match.group(2))
        # The metadata is decoded before the body is read, as splunklib does: its objects live
        # on, and allocated after the body they would sit above the hole it leaves (peak RSS
        # then grew by 12 MB over six chunks).
        raw = istream.read(meta_length)
        if len(raw) != meta_length:
            self._cut_short(len(raw), meta_length + body_length)
        try:
            metadata = MetadataDecoder().decode(raw.decode("utf-8"))
        except ValueError as error:
            self._unreadable("splunkd sent chunk metadata that is not JSON (%s)" % error)
        body = istream.read(body_length) if body_length else b""
        if len(body) != body_length:
            self._cut_short(meta_length + len(body), meta_length + body_length)
        _allow_fields_up_to(len(body))      # bytes: at least as many as the chunk's characters
        return metadata, body

    def _cut_short(self, got, size):
        self._unreadable("the input ended %d bytes into a chunk of %d (splunkd closed the pipe "
                         "mid-chunk); the rows of that chunk were not processed" % (got, size))

    def _unreadable(self, text):
        # splunklib reports the error in a last reply, but only if the writer has not flushed
        # since its last chunk, which it has when the failure is in reading the next one.
        writer = getattr(self, "_record_writer", None)
        if writer is not None:
            writer.is_flushed = False
        raise ProtocolError(text)

    # ------------------------------------------------------------ splunklib's record path

    def _execute_chunk_v2(self, process, chunk):
        """splunklib 2.1.1's _execute_chunk_v2, reading the lines as _lines does, NUL escaped where
        csv rejects it."""
        metadata, body = chunk
        if not body and not self._allow_empty_input:
            raise ValueError("No records found to process. Set allow_empty_input=True in dispatch "
                             "function to move forward with empty records.")
        nul = CSV_REJECTS_NUL and "\0" in body
        records = self._read_csv_records(_lines(escape_nul(body) if nul else body))
        if nul:
            records = (_unescape_record(r) for r in records)
        self._record_writer.write_records(process(records))

    def stream(self, records):
        row_values, add_field, names = self.row_values, self.add_field, self.outputs
        for record in records:
            values = row_values(record)
            if values is None:
                continue
            for name, value in zip(names, values):
                add_field(record, name, value)
            yield record

    # ------------------------------------------------------------ the lean record path

    def _execute_v2(self, ifile, process):
        if not self.lean:
            return super(ChunkedCommand, self)._execute_v2(ifile, process)
        # splunklib 2.1.1's loop, except that a chunk's input is freed before its reply is
        # written (splunklib holds it until the next chunk is read) and that the lean path
        # writes its reply as bytes, without splunklib's two full copies of the body.
        istream = self._as_binary_stream(ifile)
        writer = self._record_writer
        while True:
            result = self._read_raw_chunk(istream)
            if not result:
                return
            metadata, data = result
            result = None
            action = getattr(metadata, "action", None)
            if action != "execute":
                raise RuntimeError("Expected execute action, not %s" % action)
            self._finished = getattr(metadata, "finished", False)
            writer.is_flushed = False
            self._metadata.update(metadata)
            body = self._fast_chunk(data)
            if body is None:                            # the chunk as text, its bytes freed
                text, data = _decode(data), None
                body = self._lean_chunk(text)
            data = None
            if body is None:                            # splunklib's own path for this chunk
                self._execute_chunk_v2(process, (metadata, text))
                text = metadata = None
                writer.write_chunk(finished=self._finished)
                _fresh_buffer(writer)
            else:
                text = metadata = None
                _write_chunk(writer, self._finished, body)
                body = None                             # nor its reply

    def _fast_chunk(self, data):
        """Issue 11: the reply body (a _Sink) of the byte-level path (regsvr32_fastpath), for
        commands whose unmarked rows all get quiet_values; None when it cannot prove the chunk
        (DATA: its bytes as read), and the lean path does it."""
        if not (data and hasattr(self, "quiet_values")) or self._record_writer._buffer.tell():
            return None
        import regsvr32_fastpath
        try:
            return regsvr32_fastpath.reply(self, data)
        except Exception as error:      # _Redo included: the lean path decides again
            self.logger.debug("byte-level path: %r; the lean path does the chunk", error)
            self._record_writer._pending_record_count = 0
            return None

    def _lean_chunk(self, text):
        """The chunk's reply body (a _Sink), or None if splunklib's path must do this chunk."""
        if self._record_writer._buffer.tell() or not (text or self._allow_empty_input):
            return None                                 # rows already pending; splunklib's error
        if CSV_REJECTS_NUL and "\0" in text:
            return None                                 # splunklib's path reads it escaped
        if not text:
            return _Sink()
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
        reader = csv.reader(_lines(text), dialect=CsvDialect)
        header = next(reader, None)
        if header is None:
            return True
        layout = Layout.of(header, self.outputs)
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
        # id(values) -> (values, cells): a command hands back the same values object for a
        # repeated verdict (the quiet one above all)
        encoded = Bounded(ENCODED_BYTES)
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
            hit = encoded.get(id(out))
            if hit is None:                             # each verdict's cells encoded once
                cells = encode_all(out)                 # (holding out: its id stays its own)
                hit = encoded.put(id(out), (out, cells), cells_bytes(cells))
            cells = hit[1]
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

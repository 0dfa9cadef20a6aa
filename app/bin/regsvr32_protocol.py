"""Everything ``| regsvr32detect`` needs from splunklib 2.1.1's internals, in one place.

The command (regsvr32detect.py) declares its options, loads what it needs in ``prepare()`` and
judges one row (``judge``: its Cells, regsvr32_codec); this mixin does the rest of protocol v2
(chunked), with the CSV codec (regsvr32_codec) and the byte-level path (regsvr32_fastpath):

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

Every use of splunklib's private names is in this module, in the section "splunklib adapter"
(its overrides of splunklib's private methods and the writer's private state): splunklib 2.1.1
has no public way to read a chunk's bytes or to write a reply body it did not encode itself.
``tests/test_leanio.py`` pins the splunklib sources this relies on and checks that both record
paths give the same bytes.
"""
import csv
import io
import os
import sys

import splunklib
from splunklib.searchcommands import Option, environment, validators
from splunklib.searchcommands.internals import CsvDialect, MetadataDecoder
from splunklib.searchcommands.search_command import SearchCommand

import regsvr32_fastpath
from regsvr32_codec import (CSV_REJECTS_NUL, Layout, Redo, Sink, allow_fields_up_to, decode,
                            escape_nul, lean_rows, lines, reader, text_writer, unescape_record)

PINNED_SDK = "2.1.1"
SHOWN = 20          # problems of one kind shown in the job inspector; the rest are counted
LOGGED = 100        # and written to the log: enough to fix them by, not 100,000 lines


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


# splunklib's own __mv_ decoder, so that both paths read a multivalue cell alike.
decode_list = SearchCommand._decode_list   # splunklib adapter: a private static method


class ChunkedCommand(object):
    """Mixin for a splunklib StreamingCommand. The command provides:

    - ``outputs``: the output field names, in order;
    - ``judge(record)``: the Cells (regsvr32_codec) of one record's output values, or None to
      drop the row; hand back one Cells object per verdict, so that it is encoded once;
    - optionally ``quiet`` and ``marks``: the Cells of every row that ``marks`` (a function of a
      slice of CSV bytes, giving the (start, end) of the rows that may need more) leaves
      unmarked, or None if such rows are dropped; the byte-level path then copies those rows.
    """

    marks = None
    quiet = None

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

    # ------------------------------------------------------------ the record paths

    def fast_reply(self, data):
        """(body, rows) of the byte-level path (regsvr32_fastpath) for a chunk's bytes as read,
        or (None, 0) when it cannot prove the chunk and the lean path does it."""
        if not (data and self.marks is not None):
            return None, 0
        try:
            return regsvr32_fastpath.reply(data, self.outputs, self.quiet, self.marks,
                                           self._lean_rows_of)
        except Exception as error:      # Redo included: the lean path decides again
            self.logger.debug("byte-level path: %r; the lean path does the chunk", error)
            return None, 0

    def lean_reply(self, text):
        """(body, rows) of the lean path for a chunk's text; (None, 0) if splunklib's own path
        must do this chunk."""
        if not (text or self._allow_empty_input):
            return None, 0                              # splunklib's error
        if CSV_REJECTS_NUL and "\0" in text:
            return None, 0                              # splunklib's path reads it escaped
        body = Sink()
        if not text:
            return body, 0
        writer, out = text_writer(body)
        counter = [0]
        try:
            if self._lean_rows_to(text, writer, counter):
                out.flush()
                return body, counter[0]
        except Redo:
            pass
        except Exception as error:  # splunklib's path reports it, with no rows half written
            self.logger.debug("lean record path: %r; splunklib's path redoes the chunk", error)
        return None, 0

    def _lean_rows_to(self, text, out, counter):
        """Writes the chunk's rows to OUT; False if splunklib's path must do this chunk."""
        rows = reader(text)
        header = next(rows, None)
        if header is None:
            return True
        layout = Layout.of(header, self.outputs)
        if layout is None:
            return False
        rows = lean_rows(rows, layout, self.judge, decode_list, counter)
        first = next(rows, None)
        if first is not None:                           # splunklib writes no header for no rows
            out.writerow(layout.out_header)
            out.writerow(first)
            out.writerows(rows)
        return True

    def _lean_rows_of(self, text, layout, counter):
        return lean_rows(reader(text), layout, self.judge, decode_list, counter)

    # ============================================================ splunklib adapter
    # splunklib 2.1.1 reads a chunk only as decoded text into OrderedDicts and writes a reply only
    # through its own StringIO: these overrides and helpers are the one place that reaches into
    # its private methods and its writer's private state (tests/test_leanio.py pins them).

    # ------------------------------------------------------------ reading frames

    def _read_chunk(self, istream):
        """splunklib's _read_chunk, but a frame cut short or unreadable is said, never processed."""
        result = self._read_raw_chunk(istream)
        if result is None:
            return None
        return result[0], decode(result[1])

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
        allow_fields_up_to(len(body))      # bytes: at least as many as the chunk's characters
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
        """splunklib 2.1.1's _execute_chunk_v2, reading the lines as regsvr32_codec.lines does, NUL escaped where
        csv rejects it."""
        metadata, body = chunk
        if not body and not self._allow_empty_input:
            raise ValueError("No records found to process. Set allow_empty_input=True in dispatch "
                             "function to move forward with empty records.")
        nul = CSV_REJECTS_NUL and "\0" in body
        records = self._read_csv_records(lines(escape_nul(body) if nul else body))
        if nul:
            records = (unescape_record(r) for r in records)
        self._record_writer.write_records(process(records))

    def stream(self, records):
        judge, add_field, names = self.judge, self.add_field, self.outputs
        for record in records:
            out = judge(record)
            if out is None:
                continue
            for name, value in zip(names, out.values):
                add_field(record, name, value)
            yield record

    def _execute_v2(self, ifile, process):
        if not self.lean:
            return super(ChunkedCommand, self)._execute_v2(ifile, process)
        # splunklib 2.1.1's loop, except that a chunk's input is freed before its reply is
        # written (splunklib holds it until the next chunk is read) and that the lean paths
        # write their reply as bytes, without splunklib's two full copies of the body.
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
            pending = writer._buffer.tell()             # rows splunklib holds: its path only
            body, count = (None, 0) if pending else self.fast_reply(data)
            if body is None:                            # the chunk as text, its bytes freed
                text, data = decode(data), None
                body, count = (None, 0) if pending else self.lean_reply(text)
            data = None
            if body is None:                            # splunklib's own path for this chunk
                self._execute_chunk_v2(process, (metadata, text))
                text = metadata = None
                writer.write_chunk(finished=self._finished)
                _fresh_buffer(writer)
            else:
                text = metadata = None
                writer._pending_record_count += count
                _write_chunk(writer, self._finished, body)
                body = None                             # nor its reply


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

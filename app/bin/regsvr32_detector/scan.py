"""The offline scanner: the search command's verdicts on exported logs, without Splunk.

    python3 -m regsvr32_detector scan PATH... [--allowlist FILE] [--min-score N]
                                              [--fail-on SEVERITY] [--format table|json|csv]

Reads JSON lines (Splunk's own JSON export too), JSON arrays, CSV (a Splunk export with
``__mv_`` columns too) and .evtx, as files or folders, gzip or not. Each event reaches the
detector as the search command hands it over: field name -> str, or a list of str for a
multivalue field (docs/scan.md says how each format is flattened). Every input is streamed; the
table alone keeps the rows it shows, to sort them.

Standard library only: the EVTX reader (python-evtx) is imported when an .evtx file comes up,
and its absence is a named problem of that file, not of the scan.
"""
import argparse
import csv
import datetime
import gzip
import io
import json
import os
import struct
import sys
import time
import zlib

from . import OUTPUT_FIELDS, Detector, fields, load_allowlists
from .registry import SEVERITIES

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
LOOKUPS_DIR = os.path.join(os.path.dirname(os.path.dirname(PACKAGE_DIR)), "lookups")
# The search command's defaults: the shipped list, then the admin's list when it exists.
DEFAULT_ALLOWLISTS = (os.path.join(LOOKUPS_DIR, "regsvr32_allowlist_default.csv"),)
OPTIONAL_ALLOWLISTS = (os.path.join(LOOKUPS_DIR, "regsvr32_allowlist_local.csv"),)

EVTX_PACKAGE = "python-evtx==0.8.1"     # pure Python (Apache-2.0); pinned in requirements-dev.txt

MIN_SCORE = 20                          # mode=filter's default min_score
RANK = dict((name, i) for i, (_, name) in enumerate(SEVERITIES[::-1]))   # none=0 .. critical=5
FAIL_ON = [name for _, name in SEVERITIES if name != "none"] + ["never"]

# A line or JSON element longer than this is skipped (named): reading it whole would cost memory
# in the size of the input. Splunk itself cuts an event at 10,000 bytes by default.
MAX_RECORD = 64 << 20
# A value this long, or holding a NUL, is scanned as it is and named in the summary.
BIG_FIELD = 1 << 20
KEPT_PROBLEMS = 1000                    # named in the summary; the rest are counted
BLOCK = 1 << 16
FILE_HEADER, CHUNK = 4096, 0x10000      # EVTX: a file header, then self-contained chunks
CHUNK_TAIL = bytes(64)

# What a folder walk picks up (a file named on the command line is read whatever its name).
EXTENSIONS = (".json", ".jsonl", ".ndjson", ".csv", ".evtx")
# Splunk's JSON export wraps each result: {"preview": false, "offset": 0, "result": {...}}.
EXPORT_KEYS = frozenset(("preview", "offset", "result", "lastrow"))

# Table columns: field names shown as time and host, first present wins. The host shown for a
# regsvr32 event is the one the detector read (fields.normalize); these cover the other rows.
TIME_FIELDS = ("_time", "SystemTime", "UtcTime", "TimeCreated", "@timestamp", "timestamp",
               "Timestamp", "properties.Timestamp", "event.time", "event_create_time",
               "backend_timestamp", "ProcessStartTime", "_indextime")
HOST_FIELDS = ("Computer", "ComputerName", "host", "dest", "Processes.dest", "DeviceName",
               "properties.DeviceName", "endpoint.name", "device_name", "host.name",
               "agent.hostname")
# Source types for the summary, by the fields a row has: an EDR's event-type field (fields.py
# reads the same ones), a Windows event code, CIM's data model prefix.
EDR_TYPES = tuple((f, shape.name) for shape in fields.EDR_SHAPES for f in shape.type_fields)
WINDOWS_CODES = ("EventCode", "EventID")
CIM_MARKS = ("Processes.process", "Processes.process_name", "process_path", "process")
CHANNEL_FIELDS = ("Channel", "source")
CHANNEL_PREFIXES = ("XmlWinEventLog:", "WinEventLog:")
# EVTX System elements kept, as Splunk's XmlWinEventLog extraction names them.
SYSTEM_TEXT = {"EventID": "EventID", "Computer": "Computer", "Channel": "Channel",
               "EventRecordID": "EventRecordID", "Level": "Level", "Task": "Task",
               "Opcode": "Opcode", "Keywords": "Keywords", "Version": "Version"}
SYSTEM_ATTRS = {("TimeCreated", "SystemTime"): "SystemTime", ("Provider", "Name"): "Name",
                ("Execution", "ProcessID"): "ProcessID", ("Execution", "ThreadID"): "ThreadID",
                ("Security", "UserID"): "UserID"}


class Problem(object):
    """Something wrong with the input, named where it is (file, and line or record)."""

    __slots__ = ("where", "what", "skipped")

    def __init__(self, where, what, skipped=True):
        self.where, self.what, self.skipped = where, what, skipped

    def __str__(self):
        return "%s: %s" % (self.where, self.what)


class Unreadable(Exception):
    """A whole input cannot be read; the scan goes on with the next."""


# ----------------------------------------------------------------------------------------------
# Inputs: each reader yields (where, record, suspect) and reports problems to the Scan; suspect:
# the record may hold a huge value or a NUL, which are named (a reader that can tell cheaply
# that it does not says so, and the fields are not looked at one by one).

def flatten(obj, prefix="", out=None, multi=False):
    """A JSON object with the field names Splunk gives it: a list at the top is a multivalue
    field of that name (as Splunk's JSON export writes one); inside nested objects, names as
    Splunk's JSON extraction (spath) makes them, ``a.b`` and ``a{}`` (a list of str). Numbers
    and booleans as JSON writes them; null is a missing value."""
    if out is None:
        out = {}
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict):
            flatten(value, name + ".", out, multi)
        elif isinstance(value, list):
            listed = name + "{}" if prefix else name
            for item in value:
                if isinstance(item, dict):
                    flatten(item, name + "{}.", out, True)
                elif item is not None:
                    _add(out, listed, _text(item), True)
        elif value is not None:
            _add(out, name, value if value.__class__ is str else _text(value), multi)
    return out


def _text(value):
    if value.__class__ is str:
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)


def _add(out, name, value, multi):
    if not multi:
        out[name] = value
        return
    have = out.get(name)
    if have is None:
        out[name] = [value]
    elif isinstance(have, list):
        have.append(value)
    else:
        out[name] = [have, value]


def _record_of(obj):
    """The record of one JSON value: an object (unwrapped from Splunk's export), flattened."""
    if not isinstance(obj, dict):
        return None
    if "result" in obj and isinstance(obj["result"], dict) and EXPORT_KEYS.issuperset(obj):
        obj = obj["result"]
    for value in obj.values():
        if value.__class__ is not str:
            break
    else:
        return obj                      # flat and all text: the common case, as it is
    return flatten(obj)


def read_json_lines(stream, name, scan):
    number = 0
    first = True
    while True:
        line = stream.readline(MAX_RECORD + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_RECORD and not line.endswith(b"\n"):
            size = len(line) + _skip_line(stream)
            scan.problem("%s:%d" % (name, number), "line of %d bytes skipped (longest read: %d)"
                         % (size, MAX_RECORD))
            continue
        if first:
            first = False
            if line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
        if not line.strip():
            continue
        try:
            obj = json.loads(line.rstrip(b"\r\n").decode("utf-8", "replace"))
        except ValueError as e:
            scan.problem("%s:%d" % (name, number), "not JSON (%s)" % _json_error(e))
            continue
        record = _record_of(obj)
        if record is None:
            scan.problem("%s:%d" % (name, number), "a JSON %s, not an object"
                         % type(obj).__name__)
            continue
        # a huge value or an escaped NUL: only then are the fields looked at one by one
        yield "%s:%d" % (name, number), record, len(line) > BIG_FIELD or b"\\u0000" in line


def _skip_line(stream):
    skipped = 0
    while True:
        part = stream.readline(BLOCK)
        skipped += len(part)
        if not part or part.endswith(b"\n"):
            return skipped


def read_json_array(stream, name, scan):
    """The elements of a JSON array, one at a time: the file is never read whole."""
    decoder = json.JSONDecoder()
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace")
    buf, pos, line, index, eof = "", 0, 1, 0, False
    started = False

    def more():
        part = text.read(BLOCK)
        return part, not part

    while True:
        # skip blanks, the opening bracket and commas
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,[":
                if buf[pos] == "\n":
                    line += 1
                elif buf[pos] == "[":
                    if started:
                        break
                    started = True
                pos += 1
            if pos < len(buf) or eof:
                break
            buf, pos = "", 0
            part, eof = more()
            buf = part
        if pos >= len(buf) or buf[pos] == "]":
            return
        while True:
            try:
                obj, end = decoder.raw_decode(buf, pos)
                break
            except ValueError as e:
                if eof or len(buf) - pos > MAX_RECORD:
                    what = "element %d is not JSON (%s)" % (index + 1, _short(e)) if eof else \
                        "element %d is longer than %d characters" % (index + 1, MAX_RECORD)
                    scan.problem("%s:%d" % (name, line), what + "; the rest of the file is skipped")
                    return
                buf = buf[pos:]
                pos = 0
                part, eof = more()
                buf += part
        where = "%s:%d" % (name, line)
        line += buf.count("\n", pos, end)
        suspect = end - pos > BIG_FIELD or "\\u0000" in buf[pos:end]
        pos = end
        index += 1
        record = _record_of(obj)
        if record is None:
            scan.problem(where, "element %d is a JSON %s, not an object"
                         % (index, type(obj).__name__))
            continue
        yield where, record, suspect


MV = "__mv_"


def decode_mv(cell):
    """A Splunk ``__mv_`` cell, ``$a$;$b$`` with ``$$`` for a literal ``$``, as a list."""
    values, current, i, n = [], [], 1, len(cell)
    while i < n:
        c = cell[i]
        if c == "$":
            if cell.startswith("$$", i):
                current.append("$")
                i += 2
                continue
            values.append("".join(current))
            current = []
            i += 3
            continue
        current.append(c)
        i += 1
    return values


def read_csv(stream, name, scan):
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        raise Unreadable("CSV header unreadable (%s)" % _short(e))
    mv = [(i, header.index(h[len(MV):])) for i, h in enumerate(header)
          if h.startswith(MV) and h[len(MV):] in header]
    keep = [i for i, h in enumerate(header) if not h.startswith(MV)]
    names = [header[i] for i in keep]
    width = len(header)
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            scan.problem("%s:%d" % (name, last + 1), "CSV row unreadable (%s)" % _short(e))
            if reader.line_num == last:   # no progress: nothing more can be read
                return
            last = reader.line_num
            continue
        where = "%s:%d" % (name, last + 1)
        last = reader.line_num
        if not row:
            continue
        if len(row) != width:
            scan.problem(where, "%d cells where the header has %d; read by position"
                         % (len(row), width), skipped=False)
            row = (row + [""] * width)[:width]
        if mv:
            for i, field in mv:
                if row[i]:
                    row[field] = decode_mv(row[i])
        yield where, dict(zip(names, [row[i] for i in keep])), True


# ----------------------------------------------------------------------------------------------
# EVTX through python-evtx: records flattened as Splunk's XmlWinEventLog extraction does.

def read_evtx(stream, name, scan):
    """The records of an EVTX stream, one 64 KiB chunk at a time: each chunk carries its own
    names and templates, so neither a file map nor the whole file is needed (gzip and stdin
    read alike)."""
    try:
        from Evtx.Evtx import ChunkHeader, FileHeader
    except ImportError:
        raise Unreadable("reading .evtx needs the EVTX reader: pip install %s" % EVTX_PACKAGE)
    head = _read_exactly(stream, FILE_HEADER)
    header = FileHeader(head, 0)
    if len(head) < FILE_HEADER or not header.check_magic():
        raise Unreadable("not an EVTX file (no ElfFile signature or a short header)")
    if header.header_chunk_size() > FILE_HEADER:
        _read_exactly(stream, header.header_chunk_size() - FILE_HEADER)
    declared = header.chunk_count()
    number = 0
    while True:
        data = _read_exactly(stream, CHUNK)
        if not data:
            break
        where = "%s:chunk %d" % (name, number)
        if len(data) < CHUNK:
            scan.problem(where, "truncated: %d of %d bytes; its records are skipped"
                         % (len(data), CHUNK))
            break
        # python-evtx looks at the header of the record after the last one before it stops:
        # past the end of a chunk that is full to its last bytes (in a file map, the next
        # chunk's bytes), so the chunk gets zeros to look at there
        chunk = ChunkHeader(data + CHUNK_TAIL, 0)
        if not chunk.check_magic():
            # Windows leaves unused chunks zeroed past the declared count: not damage.
            if number < declared or data.strip(b"\0"):
                scan.problem(where, "no ElfChnk signature; skipped")
        else:
            for item in _chunk_records(chunk, number, name, scan):
                yield item
        number += 1
    if number < declared:
        scan.problem(name, "the header declares %d chunks, the file holds %d" % (declared, number))


def _read_exactly(stream, size):
    parts, got = [], 0
    while got < size:
        part = stream.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _chunk_records(chunk, number, name, scan):
    try:
        if not chunk.verify():
            scan.problem("%s:chunk %d" % (name, number), "checksum mismatch: the chunk is "
                         "damaged; its records are read as far as they parse", skipped=False)
    except Exception:
        pass
    records = chunk.records()
    templates = {}
    expected = chunk.log_last_record_number() - chunk.log_first_record_number() + 1
    seen, last = 0, "its start"
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except Exception as e:
            scan.problem("%s:chunk %d" % (name, number), "record list unreadable after "
                         "this point (%s)" % _short(e))
            break
        try:
            where = "%s:record %d" % (name, record.record_num())
        except Exception:
            where = "%s:chunk %d offset %d" % (name, number, record.offset())
        seen += 1
        if record.magic() != 0x2A2A or not record.verify():
            scan.problem(where, "record header damaged (signature or sizes); skipped")
            continue
        try:
            event = evtx_event(record.root(), templates)
        except Exception as e:
            scan.problem(where, "record unreadable (%s: %s)" % (e.__class__.__name__,
                                                                 _short(e)))
            continue
        last = where.rsplit(":", 1)[-1]
        yield where, event, True
    # python-evtx ends a chunk's records quietly at a damaged record header
    if seen < expected <= 0xFFFF:
        scan.problem("%s:chunk %d" % (name, number), "%d of its %d records unreadable: the "
                     "record after %s is damaged" % (expected - seen, expected, last))


def evtx_event(root, templates=None):
    """One record's fields: System elements by name (EventCode too, as Splunk aliases it),
    each EventData ``Data Name=X`` as field X (unnamed Data values as the multivalue Data),
    UserData leaves by element name; ``source`` as Splunk's XmlWinEventLog input sets it."""
    tree = _element_tree(root, templates)
    out = {}
    event = tree[2][0] if tree[2] else ("", {}, [], "")
    for top in event[2]:
        tag = top[0]
        if tag == "System":
            for tag2, attrs, children, text in top[2]:
                if tag2 in SYSTEM_TEXT and text:
                    out[SYSTEM_TEXT[tag2]] = text
                for attr, value in attrs.items():
                    field = SYSTEM_ATTRS.get((tag2, attr))
                    if field and value:
                        out[field] = value
        elif tag == "EventData":
            for tag2, attrs, children, text in top[2]:
                data_name = attrs.get("Name")
                if data_name:
                    out[data_name] = text
                elif text:
                    _add(out, tag2, text, True)
        else:
            _leaves(top, out)
    if "EventID" in out:
        out["EventCode"] = out["EventID"]
    if "Channel" in out:
        out["source"] = "XmlWinEventLog:" + out["Channel"]
    if "Computer" in out:
        out["host"] = out["Computer"]
    out["sourcetype"] = "XmlWinEventLog"
    if "SystemTime" in out:
        out["_time"] = out["SystemTime"]
    return out


def _leaves(node, out):
    tag, attrs, children, text = node
    if not children:
        if text:
            _add(out, tag, text, tag in out)
        return
    for child in children:
        _leaves(child, out)


def _element_tree(root, templates=None):
    """(tag, {attribute: value}, [children], text) of a record's Binary XML. A template is read
    into plain tuples once per file (TEMPLATES: chunk offset -> compiled), then filled with each
    record's substitutions: python-evtx parses a template anew for every record otherwise."""
    from Evtx import Nodes as N
    instance = root.template_instance()
    key = root._chunk.offset() + instance.template_offset()
    compiled = templates.get(key) if templates is not None else None
    if compiled is None:
        compiled = []
        _compile(N, root.template().children(), compiled)
        if templates is not None:
            templates[key] = compiled
    top = ("", {}, [], [])
    _fill(N, compiled, _substitutions(N, root, instance), top, templates)
    return top


# Value types read here as python-evtx's nodes would render them (a string; an unsigned
# integer in decimal); any other type goes through python-evtx's own variant nodes.
UNSIGNED = {0x04: "<B", 0x06: "<H", 0x08: "<I", 0x0A: "<Q"}
WSTRING, NULL = 0x01, 0x00


def _substitutions(N, root, instance):
    """A record's substitution values, read from where they start: after the template instance
    (and the template itself when this record defines it). python-evtx finds that place by
    parsing the whole template again for every record."""
    buf, chunk = root._buf, root._chunk
    ofs = instance.offset() + 10
    relative = instance.offset() - chunk.offset()
    if instance.template_offset() > relative:          # defined here: skip its definition
        ofs += 0x18 + struct.unpack_from("<I", buf, chunk.offset() + instance.template_offset()
                                         + 0x14)[0]
    count = struct.unpack_from("<I", buf, ofs)[0]
    ofs += 4
    if count > 0xFFFF:
        raise ValueError("%d substitutions" % count)
    decls = [struct.unpack_from("<HB", buf, ofs + 4 * i) for i in range(count)]
    ofs += 4 * count
    values = []
    for size, type_ in decls:
        if type_ == WSTRING:
            values.append(bytes(buf[ofs:ofs + size]).decode("utf16").rstrip("\x00")
                          if size else "")
        elif type_ == NULL:
            values.append("")
        elif type_ in UNSIGNED and size == struct.calcsize(UNSIGNED[type_]):
            values.append(str(struct.unpack_from(UNSIGNED[type_], buf, ofs)[0]))
        else:
            value = N.get_variant_value(buf, ofs, chunk, root, type_, length=size)
            values.append(value if isinstance(value, N.BXmlTypeNode) else value.string())
        ofs += size
    return values


def _compile(N, nodes, content):
    """Template nodes as content items: str (text), int (a substitution's index) or an
    element (tag, [(attribute, [str or int])], [content items])."""
    for node in nodes:
        if isinstance(node, N.OpenStartElementNode):
            attrs, inner = [], []
            for child in node.children():
                if isinstance(child, N.AttributeNode):
                    parts = []
                    _compile(N, [child.attribute_value()], parts)
                    attrs.append((child.attribute_name().string(), parts))
            _compile(N, [c for c in node.children() if not isinstance(c, N.AttributeNode)], inner)
            content.append((node.tag_name(), attrs, inner))
        elif isinstance(node, (N.NormalSubstitutionNode, N.ConditionalSubstitutionNode)):
            content.append(node.index())
        elif isinstance(node, N.ValueNode):
            content.append(node.children()[0].string())
        elif isinstance(node, N.CDataSectionNode):
            content.append(node.cdata())
        elif isinstance(node, N.EntityReferenceNode):
            content.append(node.entity_reference())


def _fill(N, content, subs, element, templates):
    """Appends CONTENT, substitutions applied, to ELEMENT (tag, attrs, children, text parts)."""
    for item in content:
        if item.__class__ is str:
            element[3].append(item)
        elif item.__class__ is int:
            sub = subs[item] if item < len(subs) else None
            if sub is None:
                continue
            if sub.__class__ is str:
                element[3].append(sub)
            else:                       # a Binary XML fragment: its elements go in here
                inner = _element_tree(sub.root(), templates)
                element[2].extend(inner[2])
        else:
            tag, attrs, inner = item
            values = {}
            for name, parts in attrs:
                holder = ("", {}, [], [])
                _fill(N, parts, subs, holder, templates)
                values[name] = "".join(holder[3])
            child = (tag, values, [], [])
            _fill(N, inner, subs, child, templates)
            element[2].append((tag, values, child[2], "".join(child[3])))


# ----------------------------------------------------------------------------------------------
# Finding and opening the inputs.

def inputs(paths, scan):
    """(path, shown name) of every file to read: files as named, folders walked in name order
    for the EXTENSIONS (gzipped too). A path that does not exist is a problem."""
    for path in paths:
        if path == "-":
            yield path, "<stdin>"
        elif os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for filename in sorted(files):
                    base = filename[:-3] if filename.lower().endswith(".gz") else filename
                    if base.lower().endswith(EXTENSIONS):
                        full = os.path.join(folder, filename)
                        yield full, full
        elif os.path.exists(path):
            yield path, path
        else:
            scan.problem(path, "no such file or folder")


class Counting(io.RawIOBase):
    """A raw file that counts the bytes read, for the progress bar."""

    def __init__(self, raw, progress):
        self.raw, self.progress = raw, progress
        self.count = 0

    def readable(self):
        return True

    def readinto(self, b):
        n = self.raw.readinto(b)
        if n:
            self.count += n
            self.progress.advance(n)
        return n

    def close(self):
        self.raw.close()
        io.RawIOBase.close(self)


def read_file(path, name, scan):
    """(where, record, suspect) of one input; the format is sniffed from its first bytes,
    gzip first."""
    if path == "-":
        raw = getattr(sys.stdin, "buffer", sys.stdin)
        stream = io.BufferedReader(Counting(raw, scan.progress), BLOCK)
    else:
        try:
            stream = io.BufferedReader(Counting(io.FileIO(path, "rb"), scan.progress), BLOCK)
        except (IOError, OSError) as e:
            raise Unreadable("cannot open (%s)" % (e.strerror or e.__class__.__name__))
    compressed = False
    opened = stream                 # a gzip reader does not close the file it reads
    try:
        head = stream.peek(8)[:8]
        if head[:2] == b"\x1f\x8b":
            compressed = True
            stream = io.BufferedReader(gzip.GzipFile(fileobj=stream, mode="rb"), BLOCK)
            head = stream.peek(8)[:8]
        if head.startswith(b"ElfFile"):
            for item in read_evtx(stream, name, scan):
                yield item
            return
        start = _first_char(stream)
        if not start:
            return                          # empty, or blanks only
        if start == b"[":
            reader = read_json_array
        elif start == b"{":
            reader = read_json_lines
        elif _plain_name(name).endswith(".evtx"):
            raise Unreadable("not an EVTX file (no ElfFile signature)")
        else:
            reader = read_csv
        for item in reader(stream, name, scan):
            yield item
    except (EOFError, zlib.error) as e:
        raise Unreadable("compressed data ends early or is damaged (%s)" % _short(e))
    except (IOError, OSError) as e:
        if compressed:              # gzip's BadGzipFile is an OSError
            raise Unreadable("compressed data is damaged (%s)" % _short(e))
        raise Unreadable("read failed (%s)" % (e.strerror or _short(e)))
    finally:
        stream.close()
        opened.close()


def _plain_name(name):
    low = name.lower()
    return low[:-3] if low.endswith(".gz") else low


def _first_char(stream):
    head = stream.peek(4096)[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1]


def _json_error(e):
    """A JSON error on one line: its column, not json's line and character count."""
    if isinstance(e, json.JSONDecodeError):
        msg = e.msg[:-3] if e.msg.endswith(" at") else e.msg    # "... starting at"
        return "%s, column %d" % (msg, e.colno)
    return _short(e)


def _short(e):
    text = str(e) or e.__class__.__name__
    return text if len(text) <= 200 else text[:197] + "..."


# ----------------------------------------------------------------------------------------------
# The scan: every record through the detector, counted, shown.

class Progress(object):
    """Bytes read of the total, on stderr, at most five times a second; only on a terminal."""

    def __init__(self, total, stream):
        self.total, self.stream, self.done = total, stream, 0
        self.on = bool(total) and stream is not None and stream.isatty()
        self.shown = 0.0
        self.rows = 0

    def advance(self, n):
        self.done += n

    def tick(self, rows):
        self.rows = rows
        now = time.time()
        if not self.on or now - self.shown < 0.2:
            return
        self.shown = now
        share = min(1.0, self.done / float(self.total))
        bar = "#" * int(share * 30)
        self.stream.write("\r[%-30s] %3d%%  %d events" % (bar, share * 100, rows))
        self.stream.flush()

    def end(self):
        if self.on and self.shown:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


class Scan(object):
    """Counts and problems of one run; the verdict of each event is the search command's."""

    def __init__(self, detector, min_score=MIN_SCORE, progress=None):
        self.detector = detector
        self.min_score = min_score
        self.progress = progress or Progress(0, None)
        self.events = 0
        self.by_source = {}
        self.by_severity = dict((name, 0) for _, name in SEVERITIES)
        self.allowlisted = 0
        self.errors = 0
        self.worst = 0                  # rank of the highest severity seen
        self.problems = []
        self.problem_count = 0
        self.skipped = 0
        self._sources = {}

    def problem(self, where, what, skipped=True):
        self.problem_count += 1
        self.skipped += skipped
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(Problem(where, what, skipped))

    def run(self, paths):
        """(where, record, verdict) of every event that passes --min-score, in input order."""
        for path, name in inputs(paths, self):
            try:
                for where, record, suspect in read_file(path, name, self):
                    passed = self.judge(where, record, suspect)
                    if passed is not None:
                        yield where, record, passed
                    if not self.events & 1023:
                        self.progress.tick(self.events)
            except Unreadable as e:
                self.problem(name, str(e))
        self.progress.end()

    def judge(self, where, record, suspect=True):
        """The verdict of one event when it passes --min-score, else None; SUSPECT: the reader
        could not rule out a huge value or a NUL (which are named)."""
        self.events += 1
        if suspect:
            self._note(where, record)
        keys = tuple(record)
        source = self._sources.get(keys)
        if source is None:
            source = self._sources[keys] = source_type(keys)
            if len(self._sources) > 4096:
                self._sources.clear()
        if source is WINDOWS:
            source = windows_source(record)
        self.by_source[source] = self.by_source.get(source, 0) + 1
        verdict = self.detector.evaluate(record)
        if verdict.score:
            self.by_severity[verdict.severity] += 1
            rank = RANK[verdict.severity]
            if rank > self.worst:
                self.worst = rank
        if verdict.allowlisted:
            self.allowlisted += 1
        if verdict.error:
            self.errors += 1
        # mode=filter: at or above min_score, and every row that could not be evaluated
        if verdict.error or verdict.score >= self.min_score:
            return verdict
        return None

    def _note(self, where, record):
        """Values that are scanned but worth naming: huge ones and ones holding NUL."""
        for name, value in record.items():
            if value.__class__ is not str:
                value = "".join(value)
            if len(value) > BIG_FIELD:
                self.problem(where, "field %s is %d characters; scanned as it is"
                             % (name, len(value)), skipped=False)
            if "\x00" in value:
                self.problem(where, "field %s holds a NUL character; scanned as it is"
                             % name, skipped=False)


WINDOWS = "windows"


def source_type(keys):
    """What kind of log rows with these field names come from (for the summary)."""
    present = frozenset(keys)
    for field, shape in EDR_TYPES:
        if field in present:
            return shape
    if any(code in present for code in WINDOWS_CODES):
        return WINDOWS
    if any(mark in present for mark in CIM_MARKS):
        return "cim"
    return "other"


def windows_source(record):
    for field in CHANNEL_FIELDS:
        value = record.get(field)
        if value and value.__class__ is str:
            for prefix in CHANNEL_PREFIXES:
                if value.startswith(prefix):
                    value = value[len(prefix):]
            return value
    return "windows event log"


# ----------------------------------------------------------------------------------------------
# Output.

def first(record, names):
    for name in names:
        value = record.get(name)
        if value:
            return value if value.__class__ is str else value[0]
    return ""


def shown_time(value):
    """Epoch seconds or milliseconds as UTC; anything else as written."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        return text.replace("T", " ")[:19]
    if number > 1e11:
        number /= 1000.0
    try:
        return datetime.datetime.utcfromtimestamp(number).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError, OSError):
        return text[:19]


def described(record):
    """(time, host, command line) as the table shows them; host and command line as the
    detector read them when the event concerns regsvr32."""
    host = first(record, HOST_FIELDS)
    line = ""
    try:
        ev = fields.normalize(record)
    except Exception:
        ev = None
    if ev is not None:
        host = ev.host or host
        line = ev.command_line or ev.image or ev.image_loaded or ev.registry_path \
            or ev.target_filename or ev.query_name or ev.dest_ip
    return shown_time(first(record, TIME_FIELDS)), host, line


def _one_line(text):
    return " ".join(text.split())


def clip(text, width):
    text = _one_line(text)
    if width <= 0 or len(text) <= width:
        return text
    return text[:max(width - 1, 0)] + "~"


class Table(object):
    """Findings sorted by score (highest first, then in input order), clipped to WIDTH."""

    COLUMNS = (("time", 19), ("host", 16), ("score", 5), ("severity", 13), ("rules", 23))

    def __init__(self, out, width):
        self.out, self.width = out, width
        self.rows = []

    def add(self, where, record, verdict):
        time_, host, line = described(record)
        reason = verdict.reasons[0] if verdict.reasons else verdict.error
        self.rows.append((-verdict.score, len(self.rows), time_, host, str(verdict.score),
                          verdict.severity, ",".join(verdict.rules) or "-", reason, line, where))

    def close(self):
        if not self.rows:
            self.out.write("no findings at or above the minimum score\n")
            return
        self.rows.sort()
        # each column as wide as its widest cell, up to its cap: the rest is for the text
        widths = [min(cap, max([len(name)] + [len(_one_line(row[2 + i])) for row in self.rows]))
                  for i, (name, cap) in enumerate(self.COLUMNS)]
        rest = self.width - sum(widths) - len(widths) if self.width > 0 else 0
        reason_w = max(rest * 2 // 5, 20) if self.width > 0 else 0
        line_w = max(rest - reason_w - 1, 20) if self.width > 0 else 0
        head = [name for name, _ in self.COLUMNS] + ["first reason", "command line"]
        self.out.write(self._line(head, widths, reason_w, line_w) + "\n")
        for row in self.rows:
            self.out.write(self._line(row[2:9], widths, reason_w, line_w) + "\n")

    def _line(self, cells, widths, reason_w, line_w):
        parts = ["%-*s" % (w, clip(c, w)) for c, w in zip(cells, widths)]
        parts.append("%-*s" % (reason_w, clip(cells[5], reason_w)) if line_w else clip(cells[5], 0))
        parts.append(clip(cells[6], line_w))
        text = " ".join(parts).rstrip()
        return text if self.width <= 0 else text[:self.width]


class JsonLines(object):
    """Each passing event as one JSON object: where it was read, its fields, every output
    field (multivalue ones as lists)."""

    def __init__(self, out):
        self.out = out

    def add(self, where, record, verdict):
        row = {"scan_source": where}
        row.update(record)
        row.update(verdict.fields())
        self.out.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self):
        pass


class Csv(object):
    """Each passing event as a CSV row: where, time, host, command line and every output field
    (a multivalue field's values joined by newlines, as Splunk's CSV export writes them)."""

    HEAD = ("scan_source", "time", "host", "command_line") + OUTPUT_FIELDS

    def __init__(self, out):
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(self.HEAD)

    def add(self, where, record, verdict):
        time_, host, line = described(record)
        values = ["\n".join(v) if isinstance(v, list) else v for v in verdict.row()]
        self.writer.writerow([where, time_, host, line] + values)

    def close(self):
        pass


FORMATS = {"table": None, "json": JsonLines, "csv": Csv}


def summary(scan, seconds):
    lines = ["%d events read in %.1f s" % (scan.events, seconds)]
    if scan.by_source:
        lines.append("  by source type: " + ", ".join(
            "%s %d" % (name, n) for name, n in sorted(scan.by_source.items(),
                                                       key=lambda kv: (-kv[1], kv[0]))))
    lines.append("  findings by severity: " + ", ".join(
        "%s %d" % (name, scan.by_severity[name]) for _, name in SEVERITIES if name != "none"))
    lines.append("  allowlisted (findings an allowlist cleared): %d" % scan.allowlisted)
    if scan.errors:
        lines.append("  could not be evaluated (regsvr32_error): %d" % scan.errors)
    if scan.problem_count:
        lines.append("  input problems: %d (%d skipped)" % (scan.problem_count, scan.skipped))
        for p in scan.problems[:20]:
            lines.append("    %s%s" % (p, "" if p.skipped else " [scanned]"))
        if scan.problem_count > 20:
            lines.append("    ... and %d more" % (scan.problem_count - 20))
    return "\n".join(lines) + "\n"


def parser():
    p = argparse.ArgumentParser(
        prog="python3 -m regsvr32_detector scan",
        description="Score regsvr32 use (ATT&CK T1218.010) in exported logs, as the "
                    "| regsvr32detect search command would: JSON lines, JSON arrays, CSV "
                    "(Splunk exports too), .evtx; files or folders; gzip too.",
        epilog="Exit status: 0 nothing at or above --fail-on, 1 findings at or above it, "
               "2 bad usage or input that could not be read (named in the summary).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder or - for stdin")
    p.add_argument("--allowlist", action="append", metavar="FILE",
                   help="allowlist CSV (repeatable); default: the app's shipped list and, when "
                        "it exists, lookups/regsvr32_allowlist_local.csv")
    p.add_argument("--no-allowlist", action="store_true", help="use no allowlist at all")
    p.add_argument("--min-score", type=int, default=MIN_SCORE, metavar="N",
                   help="show events scoring N or more, and events that could not be evaluated "
                        "(as mode=filter min_score=N); default %d" % MIN_SCORE)
    p.add_argument("--fail-on", default="medium", choices=FAIL_ON, metavar="SEVERITY",
                   help="exit 1 when an event reaches this severity (%s); default medium"
                        % "|".join(FAIL_ON))
    p.add_argument("--format", default="table", choices=sorted(FORMATS),
                   help="table (for a person, sorted by score), json (JSON lines) or csv; "
                        "json and csv stream in input order")
    p.add_argument("--width", type=int, default=None, metavar="COLUMNS",
                   help="clip the table to this width (0: no clipping); default the terminal's")
    p.add_argument("--quiet", action="store_true", help="no summary")
    return p


def main(argv=None, stdout=None, stderr=None):
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    if not 0 <= args.min_score <= 100:
        stderr.write("scan: --min-score must be from 0 to 100\n")
        return 2
    if args.no_allowlist:
        paths = []
    elif args.allowlist:
        missing = [path for path in args.allowlist if not os.path.isfile(path)]
        if missing:
            stderr.write("scan: no such allowlist file: %s\n" % ", ".join(missing))
            return 2
        paths = args.allowlist
    else:
        paths = list(DEFAULT_ALLOWLISTS) + [p for p in OPTIONAL_ALLOWLISTS if os.path.exists(p)]
    allowlist, problems = load_allowlists(paths)
    for problem in problems:
        stderr.write("allowlist: %s\n" % problem)
    total = 0
    for path in args.paths:
        total += _size(path)
    scan = Scan(Detector(allowlist), args.min_score, Progress(total, stderr))
    if args.format == "table":
        width = args.width
        if width is None:
            width = _terminal_width(stdout)
        sink = Table(stdout, width)
    else:
        sink = FORMATS[args.format](stdout)
    started = time.time()
    for where, record, verdict in scan.run(args.paths):
        sink.add(where, record, verdict)
    sink.close()
    if not args.quiet:
        (stdout if args.format == "table" else stderr).write(
            ("\n" if args.format == "table" else "") + summary(scan, time.time() - started))
    if scan.skipped:
        return 2
    if args.fail_on != "never" and scan.worst >= RANK[args.fail_on]:
        return 1
    return 0


def _terminal_width(stream):
    """The terminal's width when STREAM is one (COLUMNS first, as shells set it), else 0: no
    clipping for a pipe or a file."""
    if not stream.isatty():
        return 0
    try:
        return int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(stream.fileno()).columns
    except (ValueError, OSError, AttributeError, io.UnsupportedOperation):
        return 0


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs
                   if os.path.isfile(os.path.join(d, f)))
    try:
        return os.path.getsize(path) if path != "-" else 0
    except OSError:
        return 0

"""Writes real .evtx files for tests, byte by byte from the published format (libyal's "Windows
XML Event Log (EVTX)" description): a 4,096-byte file header, 64 KiB chunks with their string
and template tables, event records whose Binary XML is a template instance with substitutions,
CRC32 checksums where Windows writes them.

No third-party file is shipped: each test writes the events it needs. The layout is the one
Windows writes (a template defined in the first record that uses it, referenced by offset
after that; each element and attribute name written once per chunk), so a reader takes the
same paths as on a real log.

    write(path, [Record(...), ...], per_chunk=None) -> [(chunk number, record ids)]
"""
import datetime
import struct
import zlib

FILE_HEADER = 4096
CHUNK = 0x10000
CHUNK_HEADER = 512

# Binary XML tokens
EOF, OPEN, CLOSE_START, CLOSE_EMPTY, END, VALUE, ATTRIBUTE = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
TEMPLATE_INSTANCE, NORMAL_SUB, OPTIONAL_SUB, FRAGMENT = 0x0C, 0x0D, 0x0E, 0x0F
HAS_MORE = 0x40              # an element with attributes; an attribute with another after it
# Value types
NULL, WSTRING, UINT8, UINT16, UINT64, FILETIME = 0x00, 0x01, 0x04, 0x06, 0x0A, 0x11

SYSMON = ("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational")
SECURITY = ("Microsoft-Windows-Security-Auditing", "Security")
EPOCH = datetime.datetime(1601, 1, 1)


class Record(object):
    """One event: its System values and its EventData as (Name, value) pairs, in order."""

    def __init__(self, event_id, computer, data, channel=SYSMON, time=None, record_id=None):
        self.event_id, self.computer, self.data = int(event_id), computer, list(data)
        self.provider, self.channel = channel
        self.time = time or datetime.datetime(2026, 11, 29, 10, 0, 0)
        self.record_id = record_id

    def template_key(self):
        return (self.provider, self.channel, tuple(name for name, _ in self.data))


def name_hash(name):
    """The 16-bit hash a chunk's string table files a name under."""
    h = 0
    for c in name:
        h = (h * 65599 + ord(c)) & 0xFFFFFFFF
    return h & 0xFFFF


def filetime(when):
    delta = when - EPOCH
    return (delta.days * 86400 + delta.seconds) * 10 ** 7 + delta.microseconds * 10


class Chunk(object):
    def __init__(self):
        self.buf = bytearray(CHUNK_HEADER)
        self.strings = {}               # name -> chunk offset
        self.string_table = [0] * 64
        self.templates = {}             # template key -> (id, chunk offset)
        self.template_table = [0] * 32
        self.records = []               # (record number, offset)

    # -- names, elements, templates
    def _name(self, name, at):
        """(offset of NAME, bytes to write inline at AT): written once per chunk."""
        if name in self.strings:
            return self.strings[name], b""
        h = name_hash(name)
        bucket = h % 64
        inline = struct.pack("<IHH", self.string_table[bucket], h, len(name)) + \
            name.encode("utf-16-le") + b"\0\0"
        self.string_table[bucket] = self.strings[name] = at
        return at, inline

    def _put(self, data):
        self.buf += data

    def _element(self, tag, attrs, content):
        """attrs: [(name, value)], content: [value]; a value is ("text", str) or
        ("sub", index, type, optional) or ("element", tag, attrs, content)."""
        start = len(self.buf)
        self._put(struct.pack("<BHI", OPEN | (HAS_MORE if attrs else 0), 0xFFFF, 0))
        offset, inline = self._name(tag, start + 11)
        self._put(struct.pack("<I", offset) + inline)
        if attrs:
            size_at = len(self.buf)
            self._put(b"\0\0\0\0")
            for i, (name, value) in enumerate(attrs):
                at = len(self.buf)
                self._put(struct.pack("<B", ATTRIBUTE | (HAS_MORE if i < len(attrs) - 1 else 0)))
                offset, inline = self._name(name, at + 5)
                self._put(struct.pack("<I", offset) + inline)
                self._value(value)
            struct.pack_into("<I", self.buf, size_at, len(self.buf) - size_at - 4)
        if content:
            self._put(bytes([CLOSE_START]))
            for value in content:
                self._value(value)
            self._put(bytes([END]))
        else:
            self._put(bytes([CLOSE_EMPTY]))
        struct.pack_into("<I", self.buf, start + 3, len(self.buf) - start - 7)

    def _value(self, value):
        if value[0] == "text":
            text = value[1]
            self._put(struct.pack("<BBH", VALUE, WSTRING, len(text)) + text.encode("utf-16-le"))
        elif value[0] == "sub":
            _, index, type_, optional = value
            self._put(struct.pack("<BHB", OPTIONAL_SUB if optional else NORMAL_SUB, index, type_))
        else:
            self._element(*value[1:])

    def _template(self, record):
        """The Event element with a substitution for each value (Windows' own layout)."""
        data = [("element", "Data", [("Name", ("text", name))], [("sub", 7 + i, WSTRING, True)])
                for i, (name, _) in enumerate(record.data)]
        system = [
            ("element", "Provider", [("Name", ("sub", 0, WSTRING, False))], []),
            ("element", "EventID", [], [("sub", 1, UINT16, False)]),
            ("element", "Level", [], [("sub", 2, UINT8, False)]),
            ("element", "TimeCreated", [("SystemTime", ("sub", 3, FILETIME, False))], []),
            ("element", "EventRecordID", [], [("sub", 4, UINT64, False)]),
            ("element", "Channel", [], [("sub", 5, WSTRING, False)]),
            ("element", "Computer", [], [("sub", 6, WSTRING, False)]),
        ]
        self._element("Event", [], [("element", "System", [], system),
                                    ("element", "EventData", [], data)])

    def _substitutions(self, record):
        values = [(WSTRING, record.provider.encode("utf-16-le")),
                  (UINT16, struct.pack("<H", record.event_id)),
                  (UINT8, struct.pack("<B", 4)),
                  (FILETIME, struct.pack("<Q", filetime(record.time))),
                  (UINT64, struct.pack("<Q", record.record_id)),
                  (WSTRING, record.channel.encode("utf-16-le")),
                  (WSTRING, record.computer.encode("utf-16-le"))]
        values += [(WSTRING, v.encode("utf-16-le")) if v else (NULL, b"") for _, v in record.data]
        out = struct.pack("<I", len(values))
        out += b"".join(struct.pack("<HBB", len(v), t, 0) for t, v in values)
        return out + b"".join(v for _, v in values)

    def add(self, record):
        """Appends RECORD; False (nothing written) when it does not fit in this chunk."""
        mark = len(self.buf), dict(self.strings), list(self.string_table), \
            dict(self.templates), list(self.template_table)
        start = len(self.buf)
        self._put(struct.pack("<IIQQ", 0x2A2A, 0, record.record_id, filetime(record.time)))
        self._put(bytes([FRAGMENT, 1, 1, 0]))
        key = record.template_key()
        at = len(self.buf)
        if key in self.templates:
            template_id, offset = self.templates[key]
            self._put(struct.pack("<BBII", TEMPLATE_INSTANCE, 1, template_id, offset))
        else:
            template_id = zlib.crc32(repr(key).encode("utf-8")) & 0xFFFFFFFF
            offset = at + 10
            self._put(struct.pack("<BBII", TEMPLATE_INSTANCE, 1, template_id, offset))
            bucket = template_id % 32
            guid = struct.pack("<I", template_id) + bytes(12)
            self._put(struct.pack("<I", self.template_table[bucket]) + guid + b"\0\0\0\0")
            data_start = len(self.buf)
            self._put(bytes([FRAGMENT, 1, 1, 0]))
            self._template(record)
            self._put(bytes([EOF]))
            struct.pack_into("<I", self.buf, data_start - 4, len(self.buf) - data_start)
            self.template_table[bucket] = offset
            self.templates[key] = (template_id, offset)
        self._put(self._substitutions(record))
        size = len(self.buf) - start + 4
        self._put(struct.pack("<I", size))
        if len(self.buf) > CHUNK:
            del self.buf[mark[0]:]
            self.strings, self.string_table, self.templates, self.template_table = mark[1:]
            return False
        struct.pack_into("<I", self.buf, start + 4, size)
        self.records.append((record.record_id, start))
        return True

    def bytes(self):
        buf = self.buf
        first, last = self.records[0][0], self.records[-1][0]
        struct.pack_into("<8sQQQQIII", buf, 0, b"ElfChnk\0", first, last, first, last, 128,
                         self.records[-1][1], len(buf))
        for i, offset in enumerate(self.string_table):
            struct.pack_into("<I", buf, 128 + 4 * i, offset)
        for i, offset in enumerate(self.template_table):
            struct.pack_into("<I", buf, 384 + 4 * i, offset)
        struct.pack_into("<I", buf, 52, zlib.crc32(bytes(buf[CHUNK_HEADER:])) & 0xFFFFFFFF)
        struct.pack_into("<I", buf, 124, zlib.crc32(bytes(buf[:120]) + bytes(buf[128:CHUNK_HEADER]))
                         & 0xFFFFFFFF)
        return bytes(buf) + bytes(CHUNK - len(buf))


def write(path, records, per_chunk=None):
    """Writes RECORDS (numbered from 1 where they have no id) to PATH; a new chunk when one is
    full or holds PER_CHUNK records. Returns [(chunk number, [record ids])]."""
    chunks, current = [], Chunk()
    for number, record in enumerate(records, 1):
        if record.record_id is None:
            record.record_id = number
        full = per_chunk is not None and len(current.records) >= per_chunk
        if full or not current.add(record):
            chunks.append(current)
            current = Chunk()
            if not current.add(record):
                raise ValueError("record %d does not fit in an empty chunk" % record.record_id)
    if current.records:
        chunks.append(current)
    next_id = max([c.records[-1][0] for c in chunks] or [0]) + 1
    header = bytearray(FILE_HEADER)
    struct.pack_into("<8sQQQIHHHH", header, 0, b"ElfFile\0", 0, max(len(chunks) - 1, 0), next_id,
                     128, 1, 3, FILE_HEADER, len(chunks))
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(bytes(header))
        for chunk in chunks:
            f.write(chunk.bytes())
    return [(i, [rid for rid, _ in c.records]) for i, c in enumerate(chunks)]


# Fields of a sample event that say where it was collected, not what it is: not EventData.
NOT_DATA = frozenset(("EventCode", "EventID", "Computer", "host", "source", "sourcetype",
                      "sample_id", "_time", "tag", "index"))
CHANNELS = (("security", SECURITY), ("sysmon", SYSMON))


def from_event(event, record_id=None):
    """The EVTX record a Windows event (a sample or corpus row as Splunk shows it) was read
    from, or None when it is not one (CIM, EDR)."""
    code = event.get("EventCode") or event.get("EventID")
    if not code or not str(code).isdigit() or any(k.startswith(("Processes.", "event."))
                                                  for k in event):
        return None
    source = event.get("source", "").lower()
    channel = next((c for mark, c in CHANNELS if mark in source),
                   SECURITY if str(code) == "4688" else SYSMON)
    data = [(k, v) for k, v in event.items() if k not in NOT_DATA and isinstance(v, str)]
    return Record(code, event.get("Computer") or event.get("host") or "WS01", data, channel,
                  record_id=record_id)

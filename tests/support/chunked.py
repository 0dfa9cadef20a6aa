"""splunkd's side of the search command protocol v2 ("chunked"), for tests and the demo.

Runs a custom search command the way splunkd does: ``python3 SCRIPT`` with the protocol on
stdin/stdout. It sends getinfo (metadata only, no body), then one execute chunk per batch of rows
(CSV body; the last one has ``finished: true``), and reads exactly one reply chunk per request.

A frame is ``chunked 1.0,<metadata bytes>,<body bytes>\\n<JSON metadata><body>``. Multivalue fields
travel as the newline-joined value plus a ``__mv_<field>`` column holding ``$a$;$b$`` (``$``
doubled inside a value).

The body is in splunkd's layout unless a test asks for Python's (``layout=PYTHON``), as recorded
from a real splunkd: LF line ends; header names and values quoted unless only letters and digits,
empty values unquoted; one ``__mv_`` column for every field, all after all fields; ``_serial``,
``_time`` and ``_raw`` in every row (added when the rows have none: ``_serial`` the row's number,
``_time`` empty, which the command reads as no time at all, and ``_raw`` the row's fields as
key=value text; ``Result.rows`` leaves out what was added). Python's layout is the csv writer's:
CRLF, quotes only where needed, a ``__mv_`` column only for a field that has a list, right after it.
"""
import csv
import io
import json
import os
import re
import subprocess
import sys

APP_BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "app", "bin")
SCRIPT = os.path.join(APP_BIN, "regsvr32detect.py")
# Like splunklib (10 MB), accept fields far above csv's 128 KB default: the fuzz tests send 1 MB values.
csv.field_size_limit(1 << 26)
if not os.path.isfile(os.path.join(APP_BIN, "lib", "splunklib", "searchcommands", "__init__.py")):
    raise ImportError("app/bin/lib has no splunklib: run ./package.sh lib first")


def frame(metadata, body=b""):
    meta = json.dumps(metadata).encode("utf-8")
    return b"chunked 1.0,%d,%d\n" % (len(meta), len(body)) + meta + body


def read_frame(stream):
    """Returns (metadata, body), or None at end of stream. A malformed header raises."""
    header = stream.readline()
    if not header:
        return None
    version, meta_len, body_len = header.decode("ascii").rstrip("\n").split(",")
    if version != "chunked 1.0":
        raise ValueError("not a chunked 1.0 header: %r" % header)
    meta = stream.read(int(meta_len))
    body = stream.read(int(body_len))
    if len(meta) != int(meta_len) or len(body) != int(body_len):
        raise ValueError("short frame after %r" % header)
    return json.loads(meta.decode("utf-8")) if meta else {}, body


def encode_mv(values):
    return "$" + "$;$".join(v.replace("$", "$$") for v in values) + "$"


def decode_mv(text):
    # "$a$;$b$" -> ["a", "b"]; "$$" inside a value is a literal "$".
    values, current, i = [], [], 1
    while i < len(text):
        if text[i] == "$":
            if text.startswith("$$", i):
                current.append("$")
                i += 2
                continue
            values.append("".join(current))
            current = []
            i += 3  # past "$;$" (or past the closing "$")
            continue
        current.append(text[i])
        i += 1
    return values


SPLUNKD, PYTHON = "splunkd", "python"
LAYOUT = SPLUNKD                    # what every helper here sends unless told otherwise
INTERNAL = ("_serial", "_time", "_raw")
_BARE = re.compile(r"[A-Za-z0-9]+\Z")


def splunkd_cell(text):
    """A name or value as splunkd writes it: quoted unless only letters and digits (or empty)."""
    if not text or _BARE.match(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def added_fields(rows):
    """The internal fields splunkd would send that ROWS lack (to_csv adds them)."""
    have = set()
    for row in rows:
        have.update(row)
    return [name for name in INTERNAL if name not in have]


def raw_text(row):
    return " ".join("%s=%s" % (k, " ".join(v) if isinstance(v, list) else v) for k, v in row.items())


def to_csv(rows, layout=None):
    """Rows (dicts of str or list of str) -> the CSV body splunkd sends, in LAYOUT (splunkd's
    unless PYTHON). A list is a multivalue field."""
    if not rows:
        return b""  # splunkd sends an empty body when there is nothing to process
    if (layout or LAYOUT) == PYTHON:
        return python_csv(rows)
    added = added_fields(rows)
    names = list(added)
    for row in rows:
        names += [n for n in row if n not in names]
    lines = [",".join(splunkd_cell(n) for n in names + ["__mv_" + n for n in names])]
    for i, row in enumerate(rows):
        row = dict(row)
        if "_serial" in added:
            row["_serial"] = str(i)
        if "_time" in added:
            row["_time"] = ""
        if "_raw" in added:
            row["_raw"] = raw_text(dict((k, v) for k, v in row.items() if k not in INTERNAL))
        values, mv = [], []
        for name in names:
            value = row.get(name, "")
            if isinstance(value, list):
                values.append("\n".join(value))
                mv.append(encode_mv(value) if len(value) > 1 else "")   # as splunkd: only a multivalue
            else:
                values.append(value)
                mv.append("")
        lines.append(",".join(splunkd_cell(c) for c in values + mv))
    return ("\n".join(lines) + "\n").encode("utf-8")


def python_csv(rows):
    """Rows -> Python's csv writer layout (CRLF, quotes where needed, __mv_ after its field)."""
    header = []
    for row in rows:
        for name, value in row.items():
            if name not in header:
                header.append(name)
            if isinstance(value, list) and "__mv_" + name not in header:
                header.append("__mv_" + name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        cells = []
        for name in header:
            if name.startswith("__mv_") and isinstance(row.get(name[5:]), list):
                cells.append(encode_mv(row[name[5:]]))
            else:
                value = row.get(name, "")
                cells.append("\n".join(value) if isinstance(value, list) else value)
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def from_csv(body):
    """Reply body -> rows; a field with a non-empty __mv_ column becomes a list."""
    if not body:
        return []
    rows = []
    if len(body) > csv.field_size_limit():     # importing splunklib sets it back to 10 MB
        csv.field_size_limit(len(body))
    for raw in csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")):
        row = {}
        for name, value in raw.items():
            if name.startswith("__mv_"):
                continue
            mv = raw.get("__mv_" + name)
            row[name] = decode_mv(mv) if mv else value
        rows.append(row)
    return rows


def getinfo(args, app="regsvr32detect", searchinfo=None):
    search = " ".join(["| regsvr32detect"] + list(args))
    info = {
        "action": "getinfo", "preview": False, "streaming_command_will_restart": False,
        "searchinfo": {
            "args": list(args), "raw_args": list(args), "command": "regsvr32detect",
            "search": search, "app": app, "owner": "admin", "username": "admin", "sid": "1700000000.42",
            "dispatch_dir": os.environ.get("TMPDIR", "/tmp"), "session_key": "",
            "splunkd_uri": "https://127.0.0.1:8089", "splunk_version": "9.3.1",
            "earliest_time": "0", "latest_time": "0", "maxresultrows": 50000,
        },
    }
    info["searchinfo"].update(searchinfo or {})
    return info


class Result(object):
    def __init__(self):
        self.added = set()       # internal fields to_csv added: not the command's, not in rows
        self.getinfo = None      # metadata of the getinfo reply
        self.replies = []        # (metadata, body) per execute chunk
        self.returncode = None
        self.stderr = ""

    @property
    def rows(self):
        return [dict((k, v) for k, v in row.items() if k not in self.added)
                for _, body in self.replies for row in from_csv(body)]

    @property
    def messages(self):
        found = list((self.getinfo or {}).get("inspector", {}).get("messages", []))
        for meta, _ in self.replies:
            found += (meta.get("inspector") or {}).get("messages", [])
        return [tuple(m) for m in found]

    def texts(self, level):
        return [text for lvl, text in self.messages if lvl == level]

    @property
    def alerts(self):
        """The messages but the INFO ones (every search says which allowlists it read)."""
        return [m for m in self.messages if m[0] != "INFO"]

    @property
    def refused(self):
        return bool(self.texts("ERROR"))


class Session(object):
    """One command process driven chunk by chunk, as splunkd does; many chunks, one process.

    ``start()`` sends getinfo; ``execute(rows)`` sends one execute chunk and returns its reply
    (metadata, body); ``close()`` ends the input and checks that only protocol frames follow.
    """

    def __init__(self, args=(), script=SCRIPT, env=None, python=None, wrapper=None, searchinfo=None,
                 layout=None):
        # wrapper: a script that runs SCRIPT (given as its argument), e.g. py39csv.py
        self.args = list(args)
        self.layout = layout or LAYOUT
        self.searchinfo = searchinfo
        self.result = Result()
        command = [python or sys.executable] + ([wrapper] if wrapper else []) + [script]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     cwd=os.environ.get("TMPDIR", "/tmp"))

    def _died(self, what):
        self.proc.stdin.close()
        raise AssertionError("command died at %s; stderr:\n%s" % (what, self.proc.stderr.read().decode()))

    def start(self):
        self.proc.stdin.write(frame(getinfo(self.args, searchinfo=self.searchinfo)))
        self.proc.stdin.flush()
        reply = read_frame(self.proc.stdout)
        if reply is None:
            self._died("getinfo")
        self.result.getinfo, body = reply
        if body:
            raise AssertionError("getinfo reply has a body: %r" % body[:200])
        return self.result

    def execute(self, rows, finished=False, body=None):
        """Sends ROWS (or a raw BODY) as one execute chunk; returns the reply (metadata, body)."""
        if body is None:
            body = to_csv(rows, self.layout)
            if self.layout == SPLUNKD:
                self.result.added.update(added_fields(rows))
        try:
            self.proc.stdin.write(frame({"action": "execute", "finished": finished}, body))
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._died("chunk %d" % len(self.result.replies))
        reply = read_frame(self.proc.stdout)
        if reply is None:
            self._died("chunk %d" % len(self.result.replies))
        self.result.replies.append(reply)
        return reply

    def close(self, timeout=60):
        self.proc.stdin.close()
        # Whatever else the command writes must still be protocol frames.
        while True:
            extra = read_frame(self.proc.stdout)
            if extra is None:
                break
            if extra[1]:
                raise AssertionError("unexpected rows after the last reply: %r" % extra[1][:200])
        self.result.returncode = self.proc.wait(timeout=timeout)
        self.result.stderr = self.proc.stderr.read().decode("utf-8", "replace")
        return self.result

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run(args=(), chunks=((),), script=SCRIPT, env=None, timeout=60, searchinfo=None, python=None,
        wrapper=None, layout=None):
    """Runs SCRIPT over CHUNKS (a list of row lists, one execute chunk each) as splunkd would, in
    LAYOUT (splunkd's unless PYTHON).

    If the command refuses at getinfo (ERROR messages), no execute chunk is sent, as in splunkd.
    SEARCHINFO overrides getinfo's searchinfo values, e.g. {"latest_time": "1700000000"}.
    """
    session = Session(args, script, env, python, wrapper, searchinfo, layout)
    try:
        if not session.start().refused:
            chunks = list(chunks)
            for i, rows in enumerate(chunks):
                session.execute(rows, finished=i == len(chunks) - 1)
        return session.close(timeout)
    finally:
        session.kill()

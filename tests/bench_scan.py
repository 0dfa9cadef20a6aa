"""Speed and memory of the offline scanner, each next to a baseline measured in the same run.

    python3 tests/bench_scan.py [--rows N] [--evtx-rows N] [--repeat K]

JSON lines: N rows, 1 in 20 a regsvr32 event (the sample and corpus events in turn), the others
ordinary Sysmon process starts; the baseline is a plain read and json.loads of every line of the
same file. EVTX: the same kind of events written by tests/support/evtx_build.py; the baselines
are reading the file's bytes and python-evtx's own way through it (each record as XML). Rows/s
is the best of K runs. Memory: the peak of what a child process allocates while it scans the
file (tracemalloc), at 1x and 4x the rows: flat when the input is streamed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import efficacy  # noqa: E402
from support import evtx_build, samples  # noqa: E402
from support.events import APP_BIN  # noqa: E402
from regsvr32_detector import scan  # noqa: E402


def events(n):
    """N events: every 20th a regsvr32 one (samples and corpus in turn), the rest ordinary."""
    regsvr32 = samples.WINDOWS + [efficacy.event(row) for row in efficacy.rows()]
    for i in range(n):
        if i % 20 == 0:
            yield regsvr32[(i // 20) % len(regsvr32)]
        else:
            yield {"EventCode": "1", "Computer": "WS%04d.corp.example" % (i % 977),
                   "User": "CORP\\user%d" % (i % 313),
                   "Image": "C:\\Program Files\\App%d\\app.exe" % (i % 50),
                   "CommandLine": "\"C:\\Program Files\\App%d\\app.exe\" --task %d" % (i % 50, i),
                   "ParentImage": "C:\\Windows\\explorer.exe",
                   "ParentCommandLine": "C:\\Windows\\Explorer.EXE",
                   "CurrentDirectory": "C:\\Users\\user%d\\" % (i % 313),
                   "OriginalFileName": "app.exe", "IntegrityLevel": "Medium",
                   "ProcessGuid": "{%08x-0000-0000-0000-000000000000}" % i,
                   "ProcessId": str(1000 + i % 60000)}


def best(runs, fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - start)
    return count, min(times)


def plain_json(path):
    n = 0
    with open(path, "rb") as f:
        for line in f:
            json.loads(line)
            n += 1
    return n


def raw_bytes(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 16)
            if not block:
                return n
            n += len(block)


def python_evtx_xml(path, limit):
    """python-evtx's own way through a log, each record as XML: the first LIMIT records (it
    parses each record's template anew, a few hundred records a second)."""
    from Evtx.Evtx import Evtx
    n = 0
    with Evtx(path) as log:
        for record in log.records():
            record.xml()
            n += 1
            if n == limit:
                break
    return n


def scanned(path):
    s = scan.Scan(scan.Detector(scan.load_allowlists(list(scan.DEFAULT_ALLOWLISTS))[0]))
    for _ in s.run([path]):
        pass
    assert not s.problem_count, [str(p) for p in s.problems]
    return s.events


def peak_kb(path):
    """Peak Python memory (KB, tracemalloc) of a child that scans PATH with the scanner's own
    main(), output to a null stream: what the scan holds, not what the interpreter starts with."""
    code = ("import os, sys, tracemalloc; from regsvr32_detector import scan; "
            "out = open(os.devnull, 'w'); tracemalloc.start(); "
            "scan.main([sys.argv[1], '--format', 'csv', '--quiet', '--fail-on', 'never'], "
            "stdout=out); print(tracemalloc.get_traced_memory()[1] // 1024)")
    out = subprocess.check_output([sys.executable, "-c", code, path], cwd=APP_BIN)
    return int(out.decode().split()[-1])


def row(what, n, seconds, baseline=None):
    rate = n / seconds
    extra = "" if baseline is None else "   %.2fx the baseline's time" % (seconds / baseline)
    print("  %-44s %9d rows %8.2f s %10.0f rows/s%s" % (what, n, seconds, rate, extra))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=200000)
    p.add_argument("--evtx-rows", type=int, default=40000)
    p.add_argument("--xml-rows", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("python %s, %d CPU(s)" % (sys.version.split()[0], os.cpu_count() or 0))
        paths = {}
        for factor in (1, 4):
            path = os.path.join(tmp, "events%d.jsonl" % factor)
            with open(path, "w", encoding="utf-8") as f:
                for event in events(args.rows * factor):
                    f.write(json.dumps(event) + "\n")
            paths["jsonl", factor] = path
            path = os.path.join(tmp, "events%d.evtx" % factor)
            records = [r for r in map(evtx_build.from_event, events(args.evtx_rows * factor)) if r]
            evtx_build.write(path, records)
            paths["evtx", factor] = path

        path = paths["jsonl", 1]
        print("\nJSON lines, %d rows, %.1f MB" % (args.rows, os.path.getsize(path) / 1e6))
        n, base = best(args.repeat, lambda: plain_json(path))
        row("baseline: read + json.loads per line", n, base)
        n, t = best(args.repeat, lambda: scanned(path))
        row("scan (verdict of every row)", n, t, base)

        path = paths["evtx", 1]
        print("\nEVTX, %d records, %.1f MB" % (args.evtx_rows, os.path.getsize(path) / 1e6))
        size, t_raw = best(args.repeat, lambda: raw_bytes(path))
        print("  %-44s %9.1f MB %7.2f s" % ("baseline: read the bytes", size / 1e6, t_raw))
        n, base = best(1, lambda: python_evtx_xml(path, args.xml_rows))
        row("baseline: python-evtx, record.xml() (first)", n, base)
        n, t = best(args.repeat, lambda: scanned(path))
        row("scan (verdict of every record)", n, t)
        print("  %-44s %9.2fx python-evtx's rows/s" % ("", (n / t) / (args.xml_rows / base)))

        print("\nPeak memory of a scan (child process, tracemalloc peak)")
        for kind in ("jsonl", "evtx"):
            small, large = peak_kb(paths[kind, 1]), peak_kb(paths[kind, 4])
            print("  %-6s 1x %6.1f MB (%5.1f MB file)   4x %6.1f MB (%5.1f MB file)   ratio %.2f"
                  % (kind, small / 1024.0, os.path.getsize(paths[kind, 1]) / 1e6,
                     large / 1024.0, os.path.getsize(paths[kind, 4]) / 1e6, large / float(small)))


if __name__ == "__main__":
    main()

"""Work bounds on attacker-written text (a script, not a test: pytest does not collect it).

    python3 tests/bench_hostile.py

Times, best of 5 each, next to a baseline measured in the same run:
- every regular expression of the app on 32 KB of each hostile piece and ending (baseline: the
  same call on 32 KB of plain letters); bound 25 ms, where quadratic backtracking takes seconds;
- Detector.evaluate on 32 KB hostile values in every field of every event shape (baseline: one
  ordinary regsvr32 row); bound 5 ms;
- the command through the protocol on 60 hostile rows (baseline: 60 ordinary rows);
- peak RSS of the command over 10,000 distinct 4,000-character, 64-argument regsvr32 lines
  (baseline: 10,000 ordinary rows), also for another app folder with --before (e.g. main's).
Prints the worst cases side by side with the baselines, and exits 1 if a bound is broken.
"""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "app", "bin"))
sys.path.insert(0, HERE)

from support import chunked  # noqa: E402
from support.events import DEFAULT_ALLOWLIST, sysmon1  # noqa: E402
from regsvr32_detector import Detector, load_allowlists  # noqa: E402
from support.samples import MALICIOUS  # noqa: E402
from support.hostile import N, PATTERNS, SHAPES, TAILS, UNITS, hostile, shapes  # noqa: E402
from test_hostile_text import LITERALS, NESTED_OK  # noqa: E402

REGEX_BOUND = 0.025
EVENT_BOUND = 0.005
LONG_ROWS_BOUND_KB = 40 << 10   # the caches' budgets (memo 16 MB, rows, cells, folds) and slack


def best(fn, *args, repeats=5):
    top = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        top = min(top, time.perf_counter() - t0)
    return top


def regexes():
    worst = []
    plain = "a" * N
    for pattern in LITERALS:
        rx = re.compile(pattern)
        ops = [getattr(rx, NESTED_OK[pattern][1])] if pattern in NESTED_OK else [
            rx.search, rx.match, rx.fullmatch, rx.findall, rx.split]
        base = max(best(op, plain) for op in ops)
        top, where = 0.0, None
        for unit in UNITS:
            for tail in TAILS:
                text = (unit * N)[:N - len(tail)] + tail
                for op in ops:
                    t = best(op, text, repeats=2)
                    if t > top:
                        top, where = t, (unit, tail, op.__name__)
        worst.append((top, base, pattern, where))
    return worst


def events(detector):
    base = best(detector.evaluate, sysmon1("regsvr32 /s C:\\Windows\\System32\\msxml6.dll"))
    worst = []
    for shape in SHAPES:
        top = max((best(detector.evaluate, shapes(hostile(p))[shape]), name)
                  for name, p in PATTERNS.items())
        worst.append((top[0], base, shape, top[1]))
    for name, p in PATTERNS.items():
        worst.append((best(detector.evaluate, sysmon1(hostile(p))), base, "sysmon1 command line", name))
    return worst


def protocol():
    rows = [dict(MALICIOUS, CommandLine=hostile(p), ParentCommandLine=hostile(p), row=str(i))
            for i, p in enumerate(sorted(PATTERNS.values()) * 2)][:60]
    plain = [dict(MALICIOUS, row=str(i)) for i in range(len(rows))]
    t_plain = best(chunked.run, (), [plain], repeats=3)
    t_hostile = best(chunked.run, (), [rows], repeats=3)
    return t_hostile, t_plain, len(rows)


MEMORY_SCRIPT = r"""
import resource, sys
sys.path[:0] = sys.argv[3:]
from regsvr32_detector import Detector
d = Detector()
n, distinct = int(sys.argv[1]), sys.argv[2] == "distinct"
for i in range(n):
    p = "C:\\Users\\Public\\" + ("%06d" % (i if distinct else 0)) * 5333 + ".dll"
    d.evaluate({"EventCode": "7", "Image": "C:\\Windows\\System32\\regsvr32.exe", "ImageLoaded": p})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory(n=4096):
    """Peak RSS (KB) of a process evaluating n image loads of 32 KB paths, distinct or repeated."""
    import subprocess
    paths = [os.path.join(os.path.dirname(HERE), "app", "bin")]
    out = {}
    for kind in ("repeated", "distinct"):
        out[kind] = int(subprocess.check_output(
            [sys.executable, "-c", MEMORY_SCRIPT, str(n), kind] + paths).strip())
    return out


def long_rows_rss(script, n=10000, chunk=1000):
    """Peak RSS (KB) of the command (SCRIPT) over N distinct regsvr32 lines of 4,000 characters
    and 64 arguments, and over N ordinary regsvr32 rows (the baseline), in chunks of CHUNK."""
    from test_bounded import long_line
    out = {}
    for kind, row in (("long", lambda i: sysmon1(long_line(i))),
                      ("ordinary", lambda i: sysmon1("regsvr32 /s C:\\Windows\\System32\\x%d.dll" % i))):
        session = chunked.Session(script=script)
        try:
            session.start()
            for start in range(0, n, chunk):
                session.execute([row(i) for i in range(start, min(n, start + chunk))],
                                finished=start + chunk >= n)
            with open("/proc/%d/status" % session.proc.pid) as f:
                out[kind] = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
            session.close()
        finally:
            session.kill()
    return out


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", metavar="APP",
                    help="another checkout's app folder (with bin/lib), e.g. main's, measured in the "
                         "same run for the long-rows memory line")
    args = ap.parse_args()
    detector = Detector(load_allowlists([DEFAULT_ALLOWLIST])[0])
    broken = 0
    print("%-46s %12s %12s  %s" % ("regex (worst 32 KB input)", "worst ms", "plain ms", "worst input"))
    for top, base, pattern, where in sorted(regexes(), reverse=True)[:10]:
        flag = "" if top < REGEX_BOUND else "  OVER %d ms" % (REGEX_BOUND * 1000)
        broken += bool(flag)
        print("%-46s %12.3f %12.3f  %r%s" % (pattern[:46], top * 1000, base * 1000, where, flag))
    print()
    print("%-46s %12s %12s  %s" % ("event shape (32 KB values)", "worst ms", "ordinary ms", "pattern"))
    for top, base, shape, name in sorted(events(detector), reverse=True)[:15]:
        flag = "" if top < EVENT_BOUND else "  OVER %d ms" % (EVENT_BOUND * 1000)
        broken += bool(flag)
        print("%-46s %12.3f %12.3f  %s%s" % (shape, top * 1000, base * 1000, name, flag))
    print()
    t_hostile, t_plain, n = protocol()
    print("protocol, %d rows of 32 KB hostile lines: %.2f s (ordinary rows: %.2f s)" % (n, t_hostile, t_plain))
    rss = memory()
    flag = "" if rss["distinct"] <= 2 * rss["repeated"] else "  OVER 2x"
    broken += bool(flag)
    print("peak RSS, 4,096 image loads of 32 KB paths: distinct %d KB, repeated %d KB%s" % (
        rss["distinct"], rss["repeated"], flag))
    apps = [("this app", chunked.SCRIPT)]
    if args.before:
        apps.insert(0, ("before (%s)" % args.before, os.path.join(args.before, "bin", "regsvr32detect.py")))
    for label, script in apps:
        rss = long_rows_rss(script)
        flag = "" if rss["long"] <= rss["ordinary"] + LONG_ROWS_BOUND_KB else "  OVER +%d MB" % (LONG_ROWS_BOUND_KB // 1024)
        broken += bool(flag) and script == chunked.SCRIPT
        print("peak RSS of the command, 10,000 distinct 4,000-character 64-argument lines, %s: %d KB "
              "(10,000 ordinary rows: %d KB)%s" % (label, rss["long"], rss["ordinary"], flag))
    print("\n%s" % ("all bounds held" if not broken else "%d bound(s) broken" % broken))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

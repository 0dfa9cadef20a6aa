"""Allowlist cost benchmark (a script, not a test: pytest does not collect it).

    python3 tests/bench_allowlist.py [--rows 100000] [--events 2000]

The allowlist's costly inputs, each next to a baseline measured in the same run:
  1. 100k rows like the docs' example (R32-006, *\\regsvr32.exe, *\\msiexec.exe, host PKG-<n>-*)
     and 100k rows (*, module C:\\Tools\\v<n>\\*): the added cost per flagged event, against the
     same detector with an empty allowlist. Floor: at most 1 ms added per flagged event.
  3. A command_line cell of * + many ? + z*: one match on a 32 KB and a 1 MB line, against
     folding that line (lower case, blanks collapsed), which every event pays anyway.
  -  Loading test_lookup_abuse's mixed 100k-row list, against reading the CSV alone. Floor:
     6x the CSV alone (or under a second).
  4. Peak memory (tracemalloc) of matching 4,096 distinct 32,000-character loaded_image values
     against matching the same value 4,096 times. Floor: distinct within 2x of repeated.

Large and literal lists (--only large, --only literal):
  9. Lists that repeat *\\regsvr32.exe in every row and differ by host (exact, ws-<n>*, *ws-<n>*):
     load time against reading the CSV alone, memory kept and at peak per row (tracemalloc), and
     the added cost per flagged event on a listed host against an empty list.
 15. N rows *<literal>* in command_line (N = 256, 1,000, 100,000): one flagged 32 KB and 1 MB
     command line judged against the same line with an empty list.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "app", "bin"))
sys.path.insert(0, HERE)

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

from support import events as ev  # noqa: E402
from support.allowlists import HEADER, allowlist_row  # noqa: E402
from regsvr32_detector import Detector, load_allowlists  # noqa: E402
from regsvr32_detector.allowlist import Allowlist, Glob  # noqa: E402

FLOOR_ADDED_MS = 1.0
FLOOR_MEMORY_RATIO = 2.0
FLOOR_LOAD_RATIO = 6.0
TODAY = datetime.date(2026, 11, 29)


def _write(folder, name, rows):
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + "".join(rows))
    return path


def readme_rows(n):
    return [allowlist_row(rule_id="R32-006", image="*\\regsvr32.exe", parent_image="*\\msiexec.exe",
                          host="PKG-%d-*" % i, reason="packaging farm", source="CHG-%d" % i)
            for i in range(n)]


def tools_rows(n):
    return [allowlist_row(rule_id="*", module="C:\\Tools\\v%d\\*" % i, reason="tools v%d" % i)
            for i in range(n)]


def flagged_events(n, host="BLD-%d.corp.example"):
    # Silent registration of a module outside Windows and Program Files (R32-006 and others),
    # started by msiexec; a new host and module every time, so no cache can help.
    return [ev.sysmon1("regsvr32 /s C:\\Builds\\b%d\\x.dll" % i, parent=ev.SYS32 + "msiexec.exe",
                       computer=host % i) for i in range(n)]


def per_event(detector, events):
    gc.collect()
    t0 = time.perf_counter()
    for e in events:
        detector.evaluate(e)
    return (time.perf_counter() - t0) / len(events)


def added_cost(path, events, repeats):
    allowlist, problems = load_allowlists([path])
    assert not problems, problems[:3]
    empty = Detector(Allowlist(), today=TODAY)
    full = Detector(allowlist, today=TODAY)
    assert all(empty.evaluate(e).rules for e in events[:20])
    for e in events[:20]:                                  # warm up: the per-rule row sets
        full.evaluate(e)
    best_empty = best_full = float("inf")
    for _ in range(repeats):                               # alternate so noise hits both
        best_empty = min(best_empty, per_event(empty, events))
        best_full = min(best_full, per_event(full, events))
    return best_empty, best_full


def question_marks(pattern, size, repeats):
    glob = Glob(pattern)
    line = ("regsvr32 /s /i:" + "a" * size)[:size]
    best_match = best_fold = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        " ".join(line.lower().split())
        best_fold = min(best_fold, time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert glob.match(line) is False
        best_match = min(best_match, time.perf_counter() - t0)
    return best_fold, best_match


def load_time(path, repeats):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    best_csv = best_load = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text))]
        best_csv = min(best_csv, time.perf_counter() - t0)
        del rows
        gc.collect()
        t0 = time.perf_counter()
        loaded = load_allowlists([path])
        best_load = min(best_load, time.perf_counter() - t0)
        del loaded                      # freeing it is not part of loading it
    return best_csv, best_load


def peak_memory(allowlist, distinct, n=4096, size=32000):
    base = "c:\\vendor\\" + "d" * (size - 40)
    gc.collect()
    tracemalloc.start()
    for i in range(n):
        # a new string object every time; distinct values differ in their last characters
        value = base + ("\\%029d.dll" % (i if distinct else 0))
        allowlist.suppress(["R32-025"], {"loaded_image": (value,)}, TODAY)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


HOST_ROWS = (("exact host", "ws-%06d"), ("host ws-<n>*", "ws-%06d*"), ("host *ws-<n>*", "*ws-%06d*"))


def large_lists(folder, rows, events, repeats):
    print("\n%-16s %8s %8s %6s %9s %9s %10s %10s %9s" % (
        "*\\regsvr32.exe +", "csv s", "load s", "ratio", "kept B/row", "peak B/row",
        "empty ms/ev", "list ms/ev", "added ms"))
    for label, host in HOST_ROWS:
        path = _write(folder, "hosts.csv", [allowlist_row(
            rule_id="R32-006", image="*\\regsvr32.exe", host=host % i, reason="build box %d" % i)
            for i in range(rows)])
        plain, load = load_time(path, repeats)
        gc.collect()
        tracemalloc.start()
        loaded = load_allowlists([path])
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del loaded
        stream = flagged_events(events, "ws-%06d")            # hosts the list names
        empty, full = added_cost(path, stream, repeats)
        print("%-16s %8.2f %8.2f %5.1fx %9.0f %9.0f %10.3f %10.3f %9.3f" % (
            label, plain, load, load / plain, kept / rows, peak / rows, empty * 1e3, full * 1e3,
            (full - empty) * 1e3))


def literal_rows(folder, repeats):
    print("\n%-28s %9s %12s %12s %10s" % ("*<literal>* command_line rows", "line", "empty ms/ev",
                                          "list ms/ev", "added ms"))
    for n in (256, 1000, 100000):
        path = _write(folder, "lit.csv", [allowlist_row(
            rule_id="R32-006", command_line="*--deploy-job %06d *" % i, reason="job %d" % i)
            for i in range(n)])
        allowlist, problems = load_allowlists([path])
        assert not problems
        for size in (32 * 1024, 1 << 20):
            # distinct lines, so that no memo helps: the worst case of a hostile author
            lines = ["regsvr32 /s C:\\Builds\\x%d.dll " % i + "--deploy-job 9%05d " % i * (size // 30)
                     for i in range(4)]
            stream = [ev.sysmon1(line[:size], parent=ev.SYS32 + "msiexec.exe") for line in lines]
            best_empty = best_full = float("inf")
            for _ in range(repeats):
                best_empty = min(best_empty, per_event(Detector(Allowlist(), today=TODAY), stream))
                best_full = min(best_full, per_event(Detector(allowlist, today=TODAY), stream))
            print("%-28s %8dK %12.3f %12.3f %10.3f" % ("%d rows" % n, size >> 10, best_empty * 1e3,
                                                    best_full * 1e3, (best_full - best_empty) * 1e3))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", choices=("large", "literal"), help="run one round-three section")
    args = ap.parse_args()
    if args.only:
        with tempfile.TemporaryDirectory() as folder:
            if args.only == "large":
                large_lists(folder, args.rows, args.events, args.repeats)
            else:
                literal_rows(folder, args.repeats)
        return
    print("Python %s; %d-row lists, %d flagged events, best of %d"
          % (sys.version.split()[0], args.rows, args.events, args.repeats))
    events = flagged_events(args.events)
    with tempfile.TemporaryDirectory() as folder:
        print("\n%-34s %12s %12s %12s %8s  %s" % ("list", "empty ms/ev", "list ms/ev", "added ms",
                                                 "floor", "result"))
        hits = flagged_events(args.events, "PKG-%d-a.corp.example")    # each clears R32-006
        for label, rows, stream in (
                ("README example x%d" % args.rows, readme_rows(args.rows), events),
                ("README example, every event hits", readme_rows(args.rows), hits),
                ("*,module C:\\Tools\\v<n>\\* x%d" % args.rows, tools_rows(args.rows), events)):
            path = _write(folder, "list.csv", rows)
            empty, full = added_cost(path, stream, args.repeats)
            added = (full - empty) * 1e3
            print("%-34s %12.3f %12.3f %12.3f %8.1f  %s" % (
                label, empty * 1e3, full * 1e3, added, FLOOR_ADDED_MS,
                "PASS" if added <= FLOOR_ADDED_MS else "ABOVE"))

        print("\n%-34s %12s %12s %8s" % ("command_line cell", "fold ms", "match ms", "ratio"))
        # the last: the worst under the cap, 64 '?' inside a part that matches at every position
        for label, pattern in (("*+64?+z*", "*" + "?" * 64 + "z*"), ("*+4000?+z*", "*" + "?" * 4000 + "z*"),
                               ("*+(a?)x64+b*", "*" + "a?" * 64 + "b*")):
            for size in (32 * 1024, 1 << 20):
                fold, match = question_marks(pattern, size, args.repeats)
                print("%-34s %12.3f %12.3f %7.1fx" % ("%s on %d KB" % (label, size >> 10), fold * 1e3,
                                                       match * 1e3, match / fold))
        for k in (64, 65, 4000):
            _, problems = load_allowlists([_write(folder, "q.csv", [allowlist_row(
                rule_id="*", command_line="*" + "?" * k + "z*", reason="q")])])
            print("load a row with %d ?: %s" % (k, str(problems[0]) if problems else "accepted"))

        from test_lookup_abuse import ROWS, _big_list
        path = os.path.join(folder, "big.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write(_big_list())
        plain, load = load_time(path, args.repeats)
        print("\nload test_lookup_abuse's %d-row list: %.3f s, csv alone %.3f s, %.1fx (floor %.0fx or 1 s) %s"
              % (ROWS, load, plain, load / plain, FLOOR_LOAD_RATIO,
                 "PASS" if load < max(1.0, FLOOR_LOAD_RATIO * plain) else "ABOVE"))

        path = _write(folder, "mem.csv", [allowlist_row(rule_id="*", loaded_image="*\\vendor\\*\\x*.dll",
                                                        reason="vendor")])
        allowlist = load_allowlists([path])[0]
        repeated = peak_memory(allowlist, False)
        distinct = peak_memory(allowlist, True)
        ratio = float(distinct) / repeated
        print("\npeak memory, 4,096 x 32,000-char loaded_image: repeated %.1f MB, distinct %.1f MB, "
              "%.2fx (floor %.1fx) %s" % (repeated / 1e6, distinct / 1e6, ratio, FLOOR_MEMORY_RATIO,
                                          "PASS" if ratio <= FLOOR_MEMORY_RATIO else "ABOVE"))


if __name__ == "__main__":
    main()

"""Where the command's time goes, per stream of tests/bench_command.py (a script, not a test).

    python3 tests/bench_profile.py [--rows 100000] [--app DIR] [--layout splunkd|python|pairs] [--streams abc]

Runs ``| regsvr32detect`` (annotate) under cProfile through the real protocol on streams a, b
and c of tests/bench_command.py, and prints the share of its own CPU time (cProfile "tottime",
so every function counts once) spent per stage: normalize (fields.py), parse (cmdline.py,
winpath.py), rules (rules/*.py, registry.py, sigma_spec.py), signature, allowlist, score and verdict
(detector.py, score.py), and I/O (splunklib, the lean and byte-level paths, csv, the protocol).
--app runs another checkout's app folder (e.g. main's, for a before/after table).
"""
import argparse
import os
import pstats
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_command  # noqa: E402
from support import chunked  # noqa: E402

STAGES = (  # (stage, file names whose functions count for it); the first match wins
    ("normalize", ("fields.py",)),
    ("parse", ("cmdline.py", "winpath.py")),
    ("rules", ("command_line.py", "lineage.py", "telemetry.py", "persistence.py", "tables.py",
               "registry.py", "sigma_spec.py")),
    ("signature", ("signature.py",)),
    ("allowlist", ("allowlist.py",)),
    ("score and verdict", ("detector.py", "score.py")),
)
OTHER = "I/O and the rest"


def stage_of(filename):
    base = os.path.basename(filename)
    for stage, files in STAGES:
        if base in files and "regsvr32_detector" in filename:
            return stage
    return OTHER


def profile(script, bodies, args=()):
    """{stage: seconds} of one run of SCRIPT over the chunk BODIES, under cProfile."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "prof")
        frames = chunked.frame(chunked.getinfo(list(args))) + b"".join(
            chunked.frame({"action": "execute", "finished": i == len(bodies) - 1}, body)
            for i, (body, _) in enumerate(bodies))
        subprocess.run([sys.executable, "-m", "cProfile", "-o", out, script], input=frames,
                       stdout=subprocess.DEVNULL, check=True, cwd=tmp)
        stats = pstats.Stats(out).stats
    totals = {}
    for (filename, _, name), (_, _, tottime, _, _) in stats.items():
        if "importlib" in filename or name == "<module>":
            continue                                    # start-up, not per-row work
        stage = stage_of(filename)
        totals[stage] = totals.get(stage, 0.0) + tottime
    return totals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--app", default=os.path.join(os.path.dirname(HERE), "app"))
    ap.add_argument("--layout", default="splunkd", choices=("splunkd", "python", "pairs"))
    ap.add_argument("--streams", default="abc")
    args = ap.parse_args()
    script = os.path.join(os.path.abspath(args.app), "bin", "regsvr32detect.py")
    stages = [s for s, _ in STAGES] + [OTHER]
    print("Shares of cProfile's own time per stage; us/row: those shares of the command's CPU time "
          "per row measured without the profiler (same rows, %s layout, shared machine)" % args.layout)
    print("%-34s %s %9s %8s" % ("stream (annotate, %s rows)" % format(args.rows, ","),
                                " ".join("%10s" % s[:10] for s in stages), "prof. s", "us/row"))
    for name, label in bench_command.STREAMS:
        if name not in args.streams:
            continue
        rows = bench_command.stream_rows(name, args.rows)
        bodies = bench_command.encode(rows, args.layout)
        totals = profile(script, bodies)
        whole = sum(totals.values())
        cpu = min(bench_command.drive(script, [], bodies)["cpu"] for _ in range(2))
        per_row = 1e6 * cpu / len(rows)
        print("%-34s %s %9.2f %8.1f" % ("(%s) %s" % (name, label), " ".join(
            "%9.0f%%" % (100 * totals.get(s, 0) / whole) for s in stages), whole, per_row))
        print("%-34s %s" % ("    us/row", " ".join(
            "%10.1f" % (per_row * totals.get(s, 0) / whole) for s in stages)))


if __name__ == "__main__":
    main()

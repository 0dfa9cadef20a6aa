"""The verdicts of a large varied set of events, recorded before speed work, to prove it changed none.

    python3 tests/verdict_snapshot.py --write [--corpus DIR]   (re-record after a rule change)

tests/test_verdict_snapshot.py evaluates every recorded event again and compares every output
field. The set: every rule's positives and negatives, tests/data/*.jsonl, the corpora in
tests/corpus/ (as tests/efficacy.py makes them events, when the folder is there), hostile text
(tests/support/hostile.py), and generated lines: the benchmark streams with nothing repeated,
regsvr32 rows in several event shapes, and ordinary processes.
"""
import glob
import gzip
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "app", "bin"))
sys.path.insert(0, HERE)

import datetime  # noqa: E402

import bench_detector  # noqa: E402
from support.events import DEFAULT_ALLOWLIST  # noqa: E402
from regsvr32_detector import RULES, Detector, load_allowlists  # noqa: E402
from support import hostile  # noqa: E402

SNAPSHOT = os.path.join(HERE, "data", "verdicts.jsonl.gz")
TODAY = datetime.date(2026, 6, 1)    # allowlist expiry is judged against a fixed day
CORPUS = os.path.join(HERE, "corpus")


def events(corpus=CORPUS):
    """(source label, record) of the whole set, in a fixed order."""
    for rule in RULES:
        for kind in ("positives", "negatives"):
            for record in getattr(rule, kind):
                yield "%s %s" % (rule.id, kind), dict(record)
    for path in sorted(glob.glob(os.path.join(HERE, "data", "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                yield os.path.basename(path), json.loads(line)
    if os.path.isdir(corpus):
        import csv
        import efficacy
        for name in efficacy.FILES:
            with open(os.path.join(corpus, name), encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    yield "corpus " + name, efficacy.event(row)
    for name, pattern in sorted(hostile.PATTERNS.items()):
        big = ("regsvr32.exe " + pattern * 600)[:1500]
        for shape, record in sorted(hostile.shapes(big).items()):
            yield "hostile %s %s" % (name, shape), record
    rnd = random.Random(20261129)
    for record in bench_detector.regsvr32_stream(3000, rnd):
        yield "stream a", record
    for record in bench_detector.regsvr32_stream(1000, rnd, distinct=300):
        yield "stream b", record
    for record in bench_detector.unique_lines(bench_detector.regsvr32_rows(1500, rnd)):
        yield "shapes unique", record
    for record in bench_detector.ordinary_rows(300, rnd):
        yield "ordinary", record
    for i, record in enumerate(bench_detector.regsvr32_stream(200, rnd)):
        # multivalue fields, as splunklib hands them over: a list in place of the string
        key = sorted(record)[i % len(record)]
        record[key] = [record[key], "second value %d" % i]
        yield "multivalue", record


def detector():
    return Detector(load_allowlists([DEFAULT_ALLOWLIST])[0], today=TODAY)


def verdict_fields(verdict):
    """Every output field (detector.OUTPUTS), as the Verdict holds it."""
    return verdict.values()


def load():
    with gzip.open(SNAPSHOT, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write(corpus=CORPUS):
    det = detector()
    with gzip.GzipFile(SNAPSHOT, "wb", mtime=0) as raw:
        for label, record in events(corpus):
            entry = {"source": label, "event": record, "verdict": verdict_fields(det.evaluate(record))}
            raw.write((json.dumps(entry, sort_keys=True) + "\n").encode("utf-8"))


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", required=True)
    ap.add_argument("--corpus", default=CORPUS, help="folder of benign.csv and attack.csv")
    write(ap.parse_args().corpus)
    entries = load()
    print("%d events recorded in %s (%d scored > 0)" % (
        len(entries), SNAPSHOT, sum(1 for e in entries if e["verdict"]["score"] > 0)))

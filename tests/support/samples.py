"""Sample events, invented for this project: tests/data/sample_events.jsonl (Windows logs and
CIM) and tests/data/edr_<shape>.jsonl (the same kind of activity as each EDR writes it, from the
vendors' public field documentation)."""
import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, os.pardir, "data")


def load(path=os.path.join(DATA, "sample_events.jsonl")):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


WINDOWS = load()
EDR = [s for path in sorted(glob.glob(os.path.join(DATA, "edr_*.jsonl"))) for s in load(path)]
SAMPLES = WINDOWS + EDR
BY_ID = {s["sample_id"]: s for s in SAMPLES}
MALICIOUS = BY_ID["sysmon1-squiblydoo"]
BENIGN = BY_ID["sysmon1-notepad"]

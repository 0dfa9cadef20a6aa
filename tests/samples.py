"""Sample events: tests/data/sample_events.jsonl, invented for this project."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path=os.path.join(HERE, "data", "sample_events.jsonl")):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


SAMPLES = load()
BY_ID = {s["sample_id"]: s for s in SAMPLES}
MALICIOUS = BY_ID["sysmon1-squiblydoo"]
BENIGN = BY_ID["sysmon1-notepad"]

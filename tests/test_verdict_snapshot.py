"""Speed work must not change a verdict: every recorded event gets exactly its recorded verdict.

The record (tests/data/verdicts.jsonl.gz) is made by tests/verdict_snapshot.py --write.
"""
import verdict_snapshot


def test_every_event_gets_its_recorded_verdict():
    entries = verdict_snapshot.load()
    assert len(entries) > 5000
    det = verdict_snapshot.detector()
    changed = []
    for entry in entries:
        got = verdict_snapshot.verdict_fields(det.evaluate(entry["event"]))
        if got != entry["verdict"]:
            changed.append((entry["source"], entry["event"], entry["verdict"], got))
    assert not changed, "%d verdicts changed; first: %r" % (len(changed), changed[0])


def test_a_fresh_detector_per_event_agrees():
    # The memo must not be what makes a verdict: each event alone, without what came before.
    for entry in verdict_snapshot.load()[::25]:
        got = verdict_snapshot.verdict_fields(verdict_snapshot.detector().evaluate(entry["event"]))
        assert got == entry["verdict"], entry["source"]

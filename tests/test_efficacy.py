"""The precision floors on the real-world corpora (tests/corpus/, see its README):
every attack line scores above 0 and at least 95% score 60 or more; at most 5% of benign lines
score 40 or more and at most 1% score 60 or more. `either` lines are reported, not asserted
(python3 tests/efficacy.py prints the table per band and source type)."""
import collections

import pytest

import efficacy

pytestmark = pytest.mark.pure

RESULTS = efficacy.scored()


def test_the_corpora_are_big_enough_and_every_row_has_its_provenance():
    labels = collections.Counter(r["label"] for r, _ in RESULTS)
    assert labels["benign"] >= 300 and labels["attack"] >= 100
    assert set(labels) <= {"benign", "attack", "either"}
    for row, _ in RESULTS:
        assert row["provenance"].strip() and row["command_line"].strip() and row["id"].strip(), row["id"]
    assert len(set(r["id"] for r, _ in RESULTS)) == len(RESULTS)


@pytest.mark.parametrize("floor", efficacy.FLOORS, ids=lambda f: "%s-%s-%d" % (f[0], f[3].replace(" ", "-"), f[1]))
def test_floor(floor):
    (label, at, limit, sense, measured, holds), = [f for f in efficacy.floors(RESULTS) if f[:4] == floor]
    misses = [(r["id"], v.score) for r, v in RESULTS
              if r["label"] == label and ((v.score < at) if sense == "at least" else (v.score >= at))]
    assert holds, "%s lines scoring %d+: %.1f%% (%s %.0f%%); %s" % (
        label, at, 100 * measured, sense, 100 * limit, misses[:20])


EVENTS = efficacy.scored_events()


def test_recorded_events_have_their_provenance_and_cover_each_class():
    ids = [row["id"] for row, _ in EVENTS]
    assert len(set(ids)) == len(ids)
    for row, v in EVENTS:
        assert row["provenance"].strip() and row["note"].strip(), row["id"]
        assert row["label"] in ("attack", "benign", "unrelated"), row["id"]
        assert v.error == "", row["id"]
    classes = collections.Counter((row["class"], row["label"]) for row, _ in EVENTS)
    for cls in ("provider", "security_platform", "wfp"):
        assert classes[(cls, "unrelated")] >= 1, cls
    assert classes[("provider", "attack")] >= 3 and classes[("wfp", "attack")] >= 1
    assert classes[("security_platform", "benign")] >= 2


@pytest.mark.parametrize("floor", efficacy.EVENT_FLOORS, ids=lambda f: f[0])
def test_event_floor(floor):
    (what, n, broken), = [f for f in efficacy.event_floors(EVENTS) if f[0] == floor[0]]
    assert n >= 2 and not broken, (what, broken)


def test_every_verdict_is_explained():
    for row, v in RESULTS:
        assert v.error == "", row["id"]
        assert len(v.reasons) >= len(v.rules), row["id"]
        if v.score:
            assert v.rules, row["id"]

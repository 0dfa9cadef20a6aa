"""The verdict memo's key follows from what the allowlist columns in use read.

The detector remembers a verdict under an event's values minus those no rule reads
(fields.IDENTITY) and no allowlist column in use reads (each column declares its sources). So
for every column, however it is declared: one detector with a row in that column gives, event
after event and with other ids, users and hosts, the verdict a fresh detector gives.
"""
import pytest

from regsvr32_detector import RULES, Detector, fields, load_allowlists
from regsvr32_detector.allowlist_columns import BY_NAME, MATCHERS, Either, Facts
from support.allowlists import HEADER, allowlist_row
from support.events import with_other_identity

pytestmark = pytest.mark.pure


def _examples():
    return [e for r in RULES for e in r.positives + r.negatives]


def _cell(column, records):
    """(a cell value of this column taken from a flagged example, that example), or None.
    Examples with every identity value set come last, for a column that reads one of those."""
    for record in records + [with_other_identity(r, 0) for r in records]:
        ev = fields.normalize(record)
        if ev is None or not Detector().evaluate(record).score:
            continue
        values = Facts(ev)[column]
        if len(values) != 1:            # a row must match every value: take one-value events
            continue
        value = values[0][0] if isinstance(values[0], Either) else values[0]
        if value and "*" not in value and "?" not in value:
            return value, record
    return None


def assert_memo_sound(column, records, tmp_path):
    """One detector with a row in COLUMN agrees with a fresh one on every record, thrice."""
    found = _cell(column, records)
    assert found, "no example gives column %s a value" % column
    value, hit = found
    path = tmp_path / ("%s.csv" % column)
    path.write_text(HEADER + allowlist_row(rule_id="*", reason="memo test", **{column: value}),
                    encoding="utf-8")
    allowlist, problems = load_allowlists([str(path)])
    assert not problems, [str(p) for p in problems]
    assert Detector(allowlist).evaluate(hit).allowlisted, (column, value)
    det = Detector(allowlist)
    for n in (1, 2, 3):
        for record in [hit, with_other_identity(hit, n)] + records:
            for r in (record, with_other_identity(record, n)):
                assert det.evaluate(r).fields() == Detector(allowlist).evaluate(r).fields(), (
                    column, r)


@pytest.mark.parametrize("column", MATCHERS)
def test_a_row_in_any_column_leaves_every_remembered_verdict_right(column, tmp_path):
    assert_memo_sound(column, _examples(), tmp_path)


def test_the_unread_values_are_identity_minus_what_the_columns_in_use_read(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + allowlist_row(rule_id="*", reason="r", host="ws01"), encoding="utf-8")
    det = Detector(load_allowlists([str(path)])[0])
    assert det._unread == fields.IDENTITY - set(BY_NAME["host"].sources)
    assert Detector()._unread == fields.IDENTITY

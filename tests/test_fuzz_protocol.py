"""Protocol fuzzing: random rows and chunk sizes through the real command in a subprocess.

Hostile rows (missing, empty, multivalue, huge, odd Unicode, NUL, quotes, newlines, CSV specials,
odd field names) and empty chunks go through two long-lived command processes, one per mode, as
splunkd would send them; the filter-mode one reads CSV as Python 3.9 does (see py39csv.py). Each example checks that every chunk is answered, that rows keep their
count and order (filter mode: exactly the rows at or above min_score, or with an error), that
every input field comes back unchanged and that every row carries the output fields.

Fixed seed and bounded budget by default; a longer run by hand:
    HYPOTHESIS_PROFILE=long python -m pytest tests/test_fuzz_protocol.py
"""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support import chunked
from regsvr32_detector import OUTPUT_FIELDS
from support.samples import SAMPLES
from test_hostile_text import PY39CSV
from test_properties import ALIASES, FRAGMENTS, PROFILE

FUZZ = settings(PROFILE, max_examples=max(PROFILE.max_examples // 2, 1))
MIN_SCORE = 50
SEQ = "fuzz_seq"        # our own field: which row this is, to check order

SPECIALS = ['"', '""', ",", "\r\n", "\n", "\r", '"a,b"\n', "$", "$$", "$;$", "\ufeff", " ", "\t",
            "\x00", "\x1a", "\x85", "\u2028", "\ufffd", "\u00c3\u00a9", "\x80\x81\xff", "\U0001f600",
            "=cmd|' /C calc'!A0", "-", "\\", "%s%n", "{0}"]
CHARS = ['A', '"', "\\", "\n", '"\n,', "\u00e9", "regsvr32 /i:", "\x00", "$;"]

small = st.one_of(st.text(max_size=40), st.sampled_from(SPECIALS + FRAGMENTS),
                  st.lists(st.sampled_from(SPECIALS + FRAGMENTS), max_size=8).map("".join))


@st.composite
def scalar(draw):
    if draw(st.integers(0, 20)) == 0:       # now and then a huge value, up to 1 MB of text
        # (hypothesis draws small integers far more often: pick the scale, then jitter it)
        size = draw(st.sampled_from([1 << 12, 1 << 17, 1 << 19, 1 << 20])) - draw(st.integers(0, 99))
        return (draw(st.sampled_from(CHARS)) * size)[:size]
    return draw(small)


# splunkd sends a multivalue field as two or more values; a list of one is a plain value.
value = st.one_of(scalar(), st.lists(small, min_size=2, max_size=5))
# Fields splunkd never sends or that the command owns (__mv_ is the protocol's own column).
name = st.one_of(st.sampled_from(ALIASES + ["_raw", "_time", "host", "source", "sourcetype"]),
                 st.text(min_size=1, max_size=20)).filter(
    lambda n: not n.startswith(("__mv_", "regsvr32_")) and n != SEQ)
sample = st.sampled_from(SAMPLES).map(dict)
row = st.one_of(st.dictionaries(name, value, max_size=8),
                st.tuples(sample, st.dictionaries(name, value, max_size=3)).map(
                    lambda t: dict(t[0], **t[1])))
chunks = st.lists(st.lists(row, max_size=6), min_size=1, max_size=4)


class Processes(object):
    """One command process per mode, restarted only if one dies (which fails that example)."""

    def __init__(self):
        self.sessions = {}
        self.examples = self.chunks = self.empty_chunks = self.rows = self.largest = self.huge = 0

    def get(self, mode):
        session = self.sessions.get(mode)
        if session is None or session.proc.poll() is not None:
            session = self.sessions[mode] = chunked.Session(
                ["mode=" + mode, "min_score=%d" % MIN_SCORE], wrapper=PY39CSV if mode == "filter" else None)
            assert not session.start().alerts
        return session

    def execute(self, mode, rows):
        self.chunks += 1
        self.empty_chunks += not rows
        self.rows += len(rows)
        self.huge += sum(len(v) > 1 << 17 for r in rows for v in r.values() if isinstance(v, str))
        self.largest = max([self.largest] + [len(v) for r in rows for v in r.values() if isinstance(v, str)])
        session = self.get(mode)
        meta, body = session.execute(rows)
        session.result.replies.clear()      # keep memory flat over thousands of chunks
        return meta, chunked.from_csv(body)

    def close(self):
        for session in self.sessions.values():
            result = session.close()
            assert result.returncode == 0, result.stderr[-2000:]


@pytest.fixture(scope="module")
def processes():
    procs = Processes()
    yield procs
    procs.close()
    print("\nprotocol fuzz: %d examples, %d chunks (%d empty), %d rows, %d values over 128 KB, "
          "largest %d characters" % (procs.examples, procs.chunks, procs.empty_chunks, procs.rows,
                                     procs.huge, procs.largest))


def _same(sent, got):
    # A missing field comes back empty: the CSV header is the union of the chunk's fields.
    for field in set(sent) - {SEQ}:
        assert got.get(field) == sent[field], (field, sent[field][:200], got.get(field, "<none>")[:200])


def _check_shape(row):
    assert set(OUTPUT_FIELDS) <= set(row)
    assert 0 <= int(row["regsvr32_score"]) <= 100
    assert row["regsvr32_error"] == "", row["regsvr32_error"]


@FUZZ
@given(chunks=chunks)
def test_every_chunk_answered_rows_kept_and_fields_unchanged(processes, chunks):
    processes.examples += 1
    for rows in chunks:
        rows = [dict(r, **{SEQ: str(i)}) for i, r in enumerate(rows)]
        meta, annotated = processes.execute("annotate", rows)
        assert not meta.get("finished") and not (meta.get("inspector") or {}).get("messages")
        assert [r[SEQ] for r in annotated] == [r[SEQ] for r in rows]
        for sent, got in zip(rows, annotated):
            _same(sent, got)
            _check_shape(got)

        meta, filtered = processes.execute("filter", rows)
        assert not (meta.get("inspector") or {}).get("messages")
        expected = [r for r in annotated if int(r["regsvr32_score"]) >= MIN_SCORE or r["regsvr32_error"]]
        assert filtered == expected         # the same rows and fields, read as Python 3.9 reads


@pytest.mark.parametrize("size", [0, 1, 7, 1 << 20])
def test_one_huge_or_empty_value_in_many_fields(processes, size):
    # Many big fields at once: the whole row must still come back intact.
    rows = [{"CommandLine": "regsvr32 /i:" + '"\\' * (size // 2), "Image": "C:\\x\\regsvr32.exe",
             "EventCode": "1", "blob": "\n" * size, SEQ: "0"}]
    (got,) = processes.execute("annotate", rows)[1]
    _same(rows[0], got)
    _check_shape(got)

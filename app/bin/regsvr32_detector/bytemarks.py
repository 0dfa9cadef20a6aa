"""The cheap test (``fields.mentions_regsvr32``) on a slice of CSV bytes: which rows may concern
regsvr32, without reading them into cells.

A row carries a marker (``fields.MARKS``); or "i:" with a share or scrobj once quotes are dropped
(``fields.RUNS_LIKE``); or an encoded PowerShell command (``fields.ENCODED_HINTS`` and an
-EncodedCommand switch with a long base64 run) anywhere, in any case. ``spans`` finds at least
every row that ``fields.mentions_regsvr32`` passes, whatever the CSV quoting (splunkd's, Python's):
quoting only adds quotes and doubles them. The command hands ``spans`` to the byte-level path
(regsvr32_fastpath), which knows nothing of regsvr32; where it has proven the slice's columns it
asks ``spans.rows`` instead, which searches only the values of the fields the test reads
(``spans.fields``): not _raw, which repeats every value.
"""
import re

from . import fields

MARKS = tuple(m.encode("ascii") for m in fields.MARKS)
HINTS = tuple(h.encode("ascii") for h in fields.ENCODED_HINTS)
# A row with "i:" passes the cheap test if, with its quotes dropped and its slashes made
# backslashes, it holds one of these: the same test on the row's bytes (CSV quoting only adds
# quotes, and a backslash is written as it is) marks at least the rows it passes.
RUNS_LIKE = fields.RUNS_LIKE[0].encode("ascii")
SLASHED = tuple(m.encode("ascii") for m in fields.RUNS_LIKE[1])
# A mark that holds "i:" ("i:http") is in a row the "i:" scan finds: looked for there (_holds),
# which spares the slice one scan.
NEEDLES = tuple(m for m in MARKS if RUNS_LIKE not in m) + (RUNS_LIKE,) + HINTS
WITH_RUNS_LIKE = tuple(m for m in MARKS if RUNS_LIKE in m)


def _searcher(pattern):
    search = pattern.search

    def find(low, _needle, start):
        m = search(low, start)
        return -1 if m is None else m.start()
    return find


# How each needle is looked for: FIND[needle](bytes, needle, start), as bytes.find. bytes.find
# starts again at every occurrence of a short needle's first byte ("i", "p": common in paths
# and words); re's literal search took half the time for "i:" and two thirds for "pwsh" on
# stream (c) of tests/bench_command.py (Python 3.11); longer needles are faster with find.
# (Literal patterns, as every regex here but the allowlist's globs; tests/test_cheap_test.py
# checks each needle of 4 bytes or fewer has one.)
SHORT = {b"i:": _searcher(re.compile(rb"i:")), b"pwsh": _searcher(re.compile(rb"pwsh"))}
FIND = dict((n, SHORT.get(n, bytes.find)) for n in NEEDLES)
# A row with a hint but no mark concerns regsvr32 only if one of its encoded commands
# (cmdline.encoded_commands: a switch - / or a Unicode dash, then e and letters, blanks, maybe a
# quote, then the blob [a-z0-9+/]{8,}={0,2}, each of a text, decoded from MIN_ENCODED_CHARS
# characters; a blob with a non-ASCII letter is not decoded)
# holds "regsvr32" in some case: 16 bytes, so at least 22 base64 characters in a row, which (no
# quote, comma or line break among them) are in the row's bytes as they are in its value. This
# pattern holds for every such command, in the lower-cased row's bytes: any switch prefix (the
# dashes in UTF-8), anything but a blank after the e, the quote doubled by CSV quoting.
# tests/test_fastpath.py pins the code this relies on.
BLOB = re.compile(rb"(?:[-/]|\xe2\x80[\x93\x94\x95])e[^ \t\r\n]*[ \t]+(?:\"\"?|')?[a-z0-9+/]{22}")
assert 22 == -(-len("regsvr32") * 2 * 4 // 3)   # base64 characters for its 16 bytes, rounded up
DASHES = b"\xe2\x80"                 # how the Unicode dashes of BLOB start in UTF-8
RUN = re.compile(rb"[a-z0-9+/]{22}")  # in every match of BLOB
# RUN.search(row) is not None exactly when RUN_RUN is in row.translate(RUN_MAP): the characters
# of RUN made "a", all others " ". One translate and a find cost far less than the regex on a
# long row (tests/test_cheap_test.py compares them).
RUN_CHARS = b"abcdefghijklmnopqrstuvwxyz0123456789+/"
RUN_MAP = bytes(bytearray(97 if c in bytearray(RUN_CHARS) else 32 for c in range(256)))
RUN_RUN = b"a" * 22
# bytes.lower() folds ASCII only. str.lower() also folds KELVIN SIGN to "k" (no mark has one) and
# I WITH DOT to "i" plus a combining dot (which breaks the mark): ASCII folding finds every mark.
assert not any("k" in m for m in fields.MARKS + fields.ENCODED_HINTS + fields.RUNS_LIKE[1])


class CheapTest(object):
    """The cheap test on bytes: ``spans(s)`` over whole rows; ``spans.rows(s, values)`` over the
    values of the fields it reads (``spans.fields``), when the caller knows where they are."""

    # the fields whose values fields.mentions_regsvr32 reads: a row whose other fields (_raw
    # among them) hold a mark, and these none, cannot concern regsvr32
    fields = fields.SCAN_KEYS

    def __call__(self, s):
        """(start, end) of the rows (LF-ended lines) of the bytes S whose text holds a mark; or
        "i:" and, quotes dropped and slashes made backslashes, a share or scrobj; or a hint and
        an encoded command with a run of base64 long enough to hide "regsvr32"; in order."""
        low = s.lower()
        starts = {}
        for needle in NEEDLES:
            find = FIND[needle]
            at = find(low, needle, 0)
            while at >= 0:
                start = low.rfind(b"\n", 0, at) + 1
                end = low.find(b"\n", at) + 1 or len(low)
                if start not in starts and (needle in MARKS or _holds(needle, low, start, end)):
                    starts[start] = end
                at = find(low, needle, end)         # the rest of this row is known
        return sorted(starts.items())

    def rows(self, s, values):
        """{row: (start, end)} of the rows (LF-ended lines) of S that the test marks, searching
        for a needle only in VALUES: [(text, rows)], each text some of S's values of the
        fields in ``fields`` as CSV writes them (quoting only adds quotes, and no needle holds
        one), one a line, and rows the row of each line (None: line i is row i); every such
        value of every row must be in one. A row whose needle needs more than itself ("i:", a
        hint) is then judged on its whole bytes in S, as ``spans`` does: a superset of the values
        that fields.mentions_regsvr32 joins."""
        sure, maybe = set(), {}
        for text, rows in values:
            low = text.lower()
            for needle in NEEDLES:
                find = FIND[needle]
                at = find(low, needle, 0)
                line = last = 0
                while at >= 0:
                    line += low.count(b"\n", last, at)
                    row = line if rows is None else rows[line]
                    if needle in MARKS:
                        sure.add(row)
                    else:
                        maybe.setdefault(row, set()).add(needle)
                    last = low.find(b"\n", at)
                    if last < 0:
                        break
                    at = find(low, needle, last)
        if not (sure or maybe):
            return {}
        out, row, at = {}, 0, 0
        for wanted in sorted(sure.union(maybe)):
            while row < wanted:                         # the start of that row in S
                at = s.find(b"\n", at) + 1
                row += 1
            end = s.find(b"\n", at) + 1 or len(s)
            if wanted in sure:
                out[wanted] = at, end
            else:
                low = s[at:end].lower()
                if any(_holds(needle, low, 0, end - at) for needle in maybe[wanted]):
                    out[wanted] = at, end
        return out


spans = CheapTest()


def _holds(needle, low, start, end):
    """Whether the row low[start:end] that holds NEEDLE (RUNS_LIKE or a hint) is marked."""
    if needle == RUNS_LIKE:
        row = low[start:end]
        if any(mark in row for mark in WITH_RUNS_LIKE):
            return True
        row = row.replace(b'"', b"").replace(b"/", b"\\")
        return any(mark in row for mark in SLASHED)
    # most rows with a hint have no switch, or no run of base64: both are found faster alone
    if low.find(b"-e", start, end) < 0 and low.find(b"/e", start, end) < 0 \
            and low.find(DASHES, start, end) < 0:
        return False
    return RUN_RUN in low[start:end].translate(RUN_MAP) and BLOB.search(low, start, end) is not None

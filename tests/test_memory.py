"""Memory stays bounded when every value is long and new (reliability issue, item 6): the
detector remembers answers only for keys of bounded length, and folds at most a bounded prefix."""
import gc
import tracemalloc

import pytest

from support.events import sysmon1, sysmon7
from regsvr32_detector import Detector

N = 256
LONG = 32000


def _peak(records):
    detector = Detector()
    gc.collect()
    tracemalloc.start()
    for record in records():
        detector.evaluate(record)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _path(i):
    return "C:\\Users\\Public\\" + ("%06d" % i) * (LONG // 6) + ".dll"


@pytest.mark.parametrize("build", [
    lambda p: sysmon7(p),
    lambda p: sysmon1("regsvr32 /s " + p),
], ids=["image_load", "command_line"])
def test_distinct_32kb_values_are_not_kept(build):
    # Keeping them would cost N x 32 KB (8 MB); what is kept is a bounded prefix per cache entry.
    # (tests/bench_hostile.py compares the whole process's peak memory, distinct against repeated.)
    repeated = _peak(lambda: (build(_path(0)) for _ in range(N)))
    distinct = _peak(lambda: (build(_path(i)) for i in range(N)))
    assert distinct <= repeated + N * LONG // 8, (distinct, repeated)

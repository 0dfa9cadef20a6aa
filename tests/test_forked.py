"""Forked runs (support/chunked.py's default) against fresh ``python3 SCRIPT`` runs, as splunkd
starts the command: the same reply bytes, exit code and stderr, run after run, and nothing of a
run left in the test process. A test that passes forked would pass fresh."""
import csv
import json
import logging
import os
import re
import sys
import tempfile

import pytest

from support import chunked
from support.allowlists import BAD_RULE_ID, HEADER
from support.samples import BENIGN, MALICIOUS, SAMPLES


def outcome(result):
    # how long the lists took to read is the one thing that may differ
    getinfo = re.sub(r"in \d+\.\d s", "in N s", json.dumps(result.getinfo))
    return getinfo, result.replies, result.returncode, result.stderr


def both(*args, **kw):
    """Two forked runs, then two fresh ones, of the same input: their outcomes."""
    forked = [outcome(chunked.run(*args, **kw)) for _ in range(2)]
    fresh = [outcome(chunked.run(*args, fresh=True, **kw)) for _ in range(2)]
    return forked, fresh


@pytest.mark.parametrize("args", [[], ["mode=filter", "min_score=50"], ["mode=bogus"],
                                  ["include_allowlisted=f", "allowlists=regsvr32_allowlist_default"]])
def test_forked_and_fresh_runs_give_the_same_bytes_run_after_run(args):
    forked, fresh = both(args, [SAMPLES[:7], SAMPLES[7:]])
    assert forked[0] == forked[1] == fresh[0] == fresh[1]
    assert forked[0][1] or args == ["mode=bogus"]       # replies, except for a refused option


def test_a_forked_run_reads_the_app_copys_lookups_and_logs_to_its_stderr(app_copy):
    (app_copy / "lookups" / "regsvr32_allowlist_local.csv").write_text(HEADER + BAD_RULE_ID, encoding="utf-8")
    script = str(app_copy / "bin" / "regsvr32detect.py")
    forked, fresh = both([], [[MALICIOUS, BENIGN]], script=script)
    assert forked[0] == forked[1] == fresh[0] == fresh[1]
    getinfo, _, code, stderr = forked[0]
    assert code == 0 and str(app_copy / "lookups") in getinfo
    assert "R32-999" in stderr                  # the loader's problem, logged by the command


def test_a_forked_run_of_a_changed_copy_runs_the_copys_code(app_copy):
    with open(str(app_copy / "bin" / "regsvr32_codec.py"), "a", encoding="utf-8") as f:
        f.write("\nraise ImportError('this copy of the codec was changed')\n")
    for fresh in (False, True):
        with pytest.raises(AssertionError) as died:
            chunked.run([], [[MALICIOUS]], script=str(app_copy / "bin" / "regsvr32detect.py"), fresh=fresh)
        assert "command died at getinfo" in str(died.value)
        assert "ImportError: this copy of the codec was changed" in str(died.value)


def test_a_forked_run_leaves_the_test_process_as_it_was():
    def state():
        root = logging.getLogger()
        return (list(sys.path), sorted(sys.modules), csv.field_size_limit(), tempfile.tempdir,
                os.getcwd(), sys.dont_write_bytecode, list(root.handlers), root.level, sys.argv)
    chunked.run([], [[MALICIOUS]])                      # the modules it needs are now loaded
    before = state()
    result = chunked.run(["mode=filter"], [[MALICIOUS, BENIGN]])
    assert result.returncode == 0 and len(result.rows) == 1
    assert state() == before


def test_a_forked_run_that_hangs_is_killed_and_says_so():
    session = chunked.Session([])
    session.start()
    assert session.proc.poll() is None                  # waiting for the next chunk
    with pytest.raises(Exception) as timed_out:
        session.proc.wait(timeout=0.2)
    assert "timed out" in str(timed_out.value)
    session.kill()
    assert session.proc.wait(timeout=10) == -9

"""The README's first run: tests/demo.py on the built package shows what a new user should see."""
import re
import pytest

from support import apppackage
import demo
from support import samples


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    proc, tgz = apppackage.build(apppackage.scratch_repo(str(tmp_path_factory.mktemp("demo") / "repo")))
    assert proc.returncode == 0, proc.stdout
    return tgz


def test_demo_shows_a_row_cleared_by_the_allowlist_with_its_reason_and_the_signatures(package, capsys):
    assert demo.main([package]) == 0
    out = capsys.readouterr().out
    assert re.search(r"regsvr32_allowlisted   R32-0\d\d allowlisted: Microsoft Teams meeting add-in", out)
    assert "(regsvr32_allowlist_default.csv:" in out
    assert "%d rows in, %d rows out, 1 with findings cleared" % ((len(samples.SAMPLES) + 1,) * 2) in out
    assert out.count("regsvr32_signature     regsvr32.exe | ") >= 5


@pytest.mark.parametrize(("option", "value"), [("min_score=101", "101"), ("mode=bogus", "bogus")])
def test_demo_says_a_bad_option_once(package, capsys, option, value):
    assert demo.main([package, option]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("ERROR: regsvr32detect: ")]
    assert len(errors) == 1 and option.split("=")[0] in errors[0]
    assert out.count("'%s'" % value) == 1          # said once, not again inside a protocol dump

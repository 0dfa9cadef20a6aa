"""Every generated file is what the declarations render: the one check of all generated content."""
import subprocess
import sys

from conftest import BIN, LIB, ROOT


def test_generated_files_are_in_step_with_the_declarations():
    run = subprocess.run([sys.executable, "tools/build.py", "--check"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert run.returncode == 0, "run python3 tools/build.py\n" + run.stdout


def test_the_command_loads_no_build_data():
    # ES metadata (families.py) and the build are for the build alone: a search never loads them.
    code = ("import sys; sys.path[:0] = [%r, %r]; import regsvr32detect, regsvr32_detector; "
            "print(sorted(m for m in sys.modules if m.startswith(('regsvr32_detector.families', "
            "'tools', 'yaml'))))" % (BIN, LIB))
    out = subprocess.run([sys.executable, "-c", code], cwd=BIN, stdout=subprocess.PIPE, check=True,
                         universal_newlines=True)
    assert out.stdout.strip() == "[]"

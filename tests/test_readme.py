"""README.md is the front door: short, the commands a newcomer needs first, links that resolve.
(The scanner's "Try it" block is run by tests/test_scan.py; the docs' own checks are test_docs.py.)"""
import io
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_COMMAND = "./package.sh lib && python3 -m pip install -r requirements-dev.txt && python3 -m pytest -q"
# Written on another branch; checked as soon as it exists.
PENDING = {"docs/performance.md"}


def read(*parts):
    with io.open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


README = read("README.md")


def test_the_readme_is_a_front_door():
    assert len(README.splitlines()) < 350


def test_the_test_command_is_in_the_first_screen_and_is_what_ci_runs():
    first_screen = "\n".join(README.splitlines()[:40])
    assert TEST_COMMAND in first_screen.splitlines()
    assert "./package.sh && python3 tests/demo.py" in first_screen.splitlines()
    assert TEST_COMMAND in read(".ci", "run").splitlines()


def local_links(doc):
    """(link, resolved path) of each relative link in a markdown file, without its #anchor."""
    text = read(doc)
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", link) or link.startswith("#"):
            continue
        yield link, os.path.normpath(os.path.join(os.path.dirname(doc), link.split("#")[0]))


def test_every_local_link_in_the_readme_and_docs_resolves():
    docs = ["README.md", "app/README.md"] + ["docs/" + n for n in os.listdir(os.path.join(ROOT, "docs"))
                                             if n.endswith(".md")]
    checked = [(doc, link, path) for doc in docs for link, path in local_links(doc)]
    assert len(checked) > 20
    broken = [(doc, link) for doc, link, path in checked
              if not os.path.exists(os.path.join(ROOT, path)) and path not in PENDING]
    assert broken == []

"""Render every generated file from the declarations (rules, families, fields, allowlist columns).

    python3 tools/build.py           # rewrite the generated files
    python3 tools/build.py --check   # list the stale ones, exit 1 if any (tests/test_build.py)

What is rendered, and from what:
  - app/default/savedsearches.conf, macros.conf, analyticstories.conf, transforms.conf
    (tools/es_content.py: families.py, the rules, fields.EDR_SHAPES, the allowlist columns);
  - the allowlist views' inputs and searches, one per allowlist column, and the overview's
    prefilled cells (tools/views.py: allowlist_columns, tuning.PREFILL);
  - sigma/*.yml and the ATT&CK Navigator layer (tools/sigma_export.py: each rule's Sigma spec);
  - the documentation blocks between markers, listed in TARGETS below (tools/tables.py,
    tools/sigma_export.py, and the efficacy run and peer comparison measured on tests/corpus/
    by tests/efficacy.py), and the rules column of docs/es.md's table of saved searches.
Adding a rule, an EDR shape, an allowlist column or an output field is its declaration plus
this command.
"""
import io
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _path in (ROOT, os.path.join(ROOT, "app", "bin"), os.path.join(ROOT, "app", "bin", "lib")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from tools import es_content, sigma_export, tables, views  # noqa: E402

README = os.path.join(ROOT, "README.md")
APP_README = os.path.join(ROOT, "app", "README.md")
TESTS = os.path.join(ROOT, "tests")
CORPUS = os.path.join(TESTS, "corpus")


def _efficacy():
    """tests/efficacy.py, which scores the corpora (tests/corpus/) with the shipped allowlist."""
    if TESTS not in sys.path:
        sys.path.append(TESTS)
    import efficacy
    return efficacy


def efficacy_run():
    e = _efficacy()
    return "```\n%s\n```" % e.summary(e.scored(), e.scored_events())


def peer_table():
    e = _efficacy()
    return e.peer_markdown(e.scored())

# Where each documentation block goes: (file, marker name) -> what renders it. The file holds
# "<!-- name:begin -->" and "<!-- name:end -->"; re-point a block by editing its file here.
DOCS = os.path.join(ROOT, "docs")
TARGETS = (
    (os.path.join(DOCS, "rules.md"), "rules", tables.rules_table),
    (README, "output-fields", tables.output_table),
    (os.path.join(DOCS, "edr.md"), "edr-fields", tables.edr_table),
    (os.path.join(DOCS, "sigma.md"), "sigma", sigma_export.readme_table),
    (os.path.join(DOCS, "allowlists.md"), "allowlist-columns", tables.allowlist_table),
    (os.path.join(DOCS, "allowlists.md"), "allowlist-header", tables.allowlist_example),
    (README, "allowlist-header", tables.allowlist_example),
    (APP_README, "allowlist-header", tables.allowlist_example),
    (APP_README, "options", tables.option_list),
    (os.path.join(DOCS, "efficacy.md"), "efficacy", efficacy_run),
    (os.path.join(DOCS, "efficacy.md"), "peers", peer_table),
)
# Blocks measured on the corpora: left as they are in a copy without tests/corpus/.
MEASURED = (efficacy_run, peer_table)
# Files whose saved-search table names each family's rules (es_content.readme_search_rules).
SEARCH_TABLES = (os.path.join(DOCS, "es.md"),)


def _read(path):
    with io.open(path, encoding="utf-8") as f:
        return f.read()


def outputs():
    """{path: text} of every generated file, as the declarations say it should be."""
    found = es_content.outputs(_read)
    found.update(sigma_export.outputs())
    found.update(views.outputs(_read))
    for path, name, render in TARGETS:
        if render in MEASURED and not os.path.isdir(CORPUS):
            continue
        text = found[path] if path in found else _read(path)
        found[path] = tables.replace(text, "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name,
                                     render())
    for path in SEARCH_TABLES:
        found[path] = es_content.readme_search_rules(found[path] if path in found else _read(path))
    return found


def stale(found=None):
    """The generated files whose text differs from what the declarations render."""
    found = outputs() if found is None else found
    return sorted(path for path, text in found.items()
                  if not os.path.exists(path) or _read(path) != text)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    found = outputs()
    out_of_date = stale(found)
    if "--check" in argv:
        for path in out_of_date:
            print("stale: %s" % os.path.relpath(path, ROOT))
        if out_of_date:
            print("run python3 tools/build.py")
        return 1 if out_of_date else 0
    for path in out_of_date:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with io.open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(found[path])
        print("wrote %s" % os.path.relpath(path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

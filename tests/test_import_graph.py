"""The codec is a leaf and our modules import no private names of each other (structure issue).

Builds the import graph of app/bin (our modules only, not the vendored lib/) with ast and checks:
no import cycle, not even a lazy one inside a function; no ``from ours import _private`` and no
``ours._private`` attribute read across modules; regsvr32_codec and regsvr32_fastpath import none
of the detector's modules.
"""
import ast
import os

from conftest import APP

BIN = os.path.join(str(APP), "bin")


def _modules():
    found = {}
    for root, dirs, files in os.walk(BIN):
        dirs[:] = sorted(d for d in dirs if d != "lib" and not d.startswith(("__", ".")))
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                dotted = os.path.relpath(path, BIN)[:-3].replace(os.sep, ".")
                if dotted.endswith(".__init__"):
                    dotted = dotted[:-len(".__init__")]
                found[dotted] = path
    return found


MODULES = _modules()


def _imports(dotted, path):
    """[(imported module, name or None, line)] of our modules that DOTTED imports."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = dotted if path.endswith("__init__.py") else dotted.rpartition(".")[0]
    found, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    found.append((alias.name, None, node.lineno))
                    aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                sub = base + "." + alias.name
                if sub in MODULES:
                    found.append((sub, None, node.lineno))
                    aliases[alias.asname or alias.name] = sub
                elif base in MODULES:
                    found.append((base, alias.name, node.lineno))
    for node in ast.walk(tree):     # module._name
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in aliases and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            found.append((aliases[node.value.id], node.attr, node.lineno))
    return found


GRAPH = dict((m, _imports(m, p)) for m, p in MODULES.items())


def test_the_graph_holds_our_modules():
    assert {"regsvr32detect", "regsvr32_protocol", "regsvr32_codec", "regsvr32_fastpath",
            "regsvr32_detector.fields"} <= set(MODULES)


def test_no_import_cycle():
    edges = dict((m, sorted(set(t for t, _, _ in GRAPH[m] if t != m))) for m in GRAPH)
    state, cycles = {}, []

    def visit(m, path):
        state[m] = "open"
        for t in edges[m]:
            if state.get(t) == "open":
                cycles.append(path[path.index(t):] + [t])
            elif t not in state:
                visit(t, path + [t])
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_no_private_name_across_our_modules():
    private = [(m, t, name, line) for m in GRAPH for t, name, line in GRAPH[m]
               if name and name.startswith("_") and not name.startswith("__") and t != m]
    assert not private, private


def _reach(module):
    seen, todo = set(), [module]
    while todo:
        for t, _, _ in GRAPH[todo.pop()]:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def test_the_codec_is_a_leaf():
    assert _reach("regsvr32_codec") == set()
    assert _reach("regsvr32_fastpath") == {"regsvr32_codec"}
    assert not any(m.startswith("regsvr32_detector") for m in _reach("regsvr32_protocol"))

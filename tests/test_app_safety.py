"""The app's own code (app/bin, not the vendored splunklib) does no network access, starts no
processes, evaluates nothing as code, unpickles nothing and opens files for reading only (its log
is written by splunklib's logging set-up, from the app's own conf)."""
import ast

import pytest

from test_hostile_text import app_sources

BANNED_MODULES = {
    "socket", "ssl", "select", "selectors", "asyncio", "urllib", "http", "ftplib", "smtplib",
    "poplib", "imaplib", "telnetlib", "xmlrpc", "socketserver", "requests", "webbrowser",
    "subprocess", "multiprocessing", "pty", "ctypes", "cffi", "pickle", "cPickle", "marshal",
    "shelve", "dill", "importlib", "runpy", "code", "codeop", "shutil", "tempfile",
    "splunklib.client", "splunklib.binding", "splunklib.results", "logging.config",
}
BANNED_CALLS = {"eval", "exec", "compile", "__import__", "execfile", "input", "breakpoint"}
OS_CALLS = {"os." + f for f in (
    "system", "popen", "spawnl", "spawnv", "spawnve", "spawnlp", "execv", "execve", "execl", "execlp",
    "execvp", "fork", "forkpty", "startfile", "kill", "remove", "unlink", "rename", "replace",
    "rmdir", "removedirs", "makedirs", "mkdir", "chmod", "chown", "symlink", "link", "truncate")}
# distinctive enough to ban wherever they appear (splunklib's .service is a REST connection)
BANNED_ATTRS = {"write_text", "write_bytes", "fileConfig", "dictConfig", "service"}
OPENS = {"open", "io.open", "codecs.open", "os.open", "os.fdopen"}


def _name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _name(node.value)
        return inner + "." + node.attr if inner else node.attr
    return ""


def _banned_module(name):
    return any(name == m or name.startswith(m + ".") for m in BANNED_MODULES)


def findings(tree):
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += ["import " + a.name for a in node.names if _banned_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found += ["from %s import %s" % (module, a.name) for a in node.names
                      if _banned_module(module) or _banned_module(module + "." + a.name)]
        elif isinstance(node, ast.Attribute) and node.attr in BANNED_ATTRS:
            found.append("." + node.attr)
        elif isinstance(node, ast.Call):
            name = _name(node.func)
            if name in BANNED_CALLS or name in OS_CALLS:
                found.append(name + "()")
            if name in OPENS or name.endswith(".open"):
                mode = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "mode"), ast.Constant("r"))
                if name in ("os.open", "os.fdopen") or not (
                        isinstance(mode, ast.Constant) and isinstance(mode.value, str)
                        and not set(mode.value) & set("wax+")):
                    found.append("%s() for writing" % name)
    return found


SOURCES = dict(app_sources())


def test_the_scan_covers_the_app():
    assert {"regsvr32detect.py", "regsvr32_detector/allowlist.py", "regsvr32_detector/rules/command_line.py"} <= set(
        p.replace("\\", "/") for p in SOURCES)


@pytest.mark.parametrize("path", sorted(SOURCES))
def test_no_network_processes_code_evaluation_or_writes(path):
    assert findings(SOURCES[path]) == []


@pytest.mark.parametrize("snippet", [
    "import socket", "import urllib.request", "from http import client", "from subprocess import run",
    "import ctypes", "import pickle", "from marshal import loads", "import shelve",
    "from splunklib import client", "from splunklib.binding import connect", "import logging.config",
    "eval(x)", "exec(x)", "compile(x, 'f', 'exec')", "__import__('os')", "os.system('id')",
    "os.popen('id')", "os.remove(p)", "open(p, 'w')", "open(p, mode='a')", "io.open(p, 'r+')",
    "open(p, m)", "os.open(p, 0)", "pathlib.Path(p).write_text(x)", "self.service.jobs",
    "logging.config.fileConfig(p)",
])
def test_the_scan_catches(snippet):
    assert findings(ast.parse(snippet)), snippet


@pytest.mark.parametrize("snippet", [
    "open(p)", "open(p, 'rb')", "io.open(p, mode='r')", "re.compile(x)", "import csv, re, os",
    "from splunklib.searchcommands import dispatch", "os.path.realpath(p)",
])
def test_the_scan_allows(snippet):
    assert findings(ast.parse(snippet)) == [], snippet

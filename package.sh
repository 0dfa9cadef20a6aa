#!/usr/bin/env bash
# Build the regsvr32detect app package and check it with AppInspect (cloud tags).
#
#   ./package.sh          vendor splunklib, build dist/regsvr32detect-<version>.tgz, run AppInspect
#   ./package.sh lib      only vendor splunklib into app/bin/lib (to run the command from a checkout)
#   ./package.sh build    vendor splunklib and build the .tgz, no AppInspect
#   ./package.sh bench [options]   vendor splunklib, run tests/bench_command.py (streams a, b and c; a long run, see docs/performance.md)
#
# Fails (non-zero) when AppInspect reports any failure, error or future failure.
# Python tools (splunk-sdk, splunk-appinspect) are installed with and run by $PYTHON (default
# python3): inside a virtual environment, that environment's. On Debian/Ubuntu's system Python,
# make one first (pip refuses with "externally-managed-environment"):
#   sudo apt-get install python3-venv && python3 -m venv .venv && . .venv/bin/activate
set -euo pipefail

# 2.1.1 still supports Splunk's Python 3.7 and is the faster SDK; AppInspect only warns that it is outdated.
SDK_VERSION=2.1.1
APP_ID=regsvr32detect
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
cd "$ROOT"

pip_install() {
    if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check "$@"; then
        echo "package.sh: '$PYTHON -m pip install $*' failed. It needs PyPI (pypi.org," \
             "files.pythonhosted.org). On a system Python that refuses pip (externally-managed-" \
             "environment), use a virtual environment: python3 -m venv .venv && . .venv/bin/activate" >&2
        exit 1
    fi
}

vendor_lib() {
    local lib=app/bin/lib
    if [ -f "$lib/splunklib/__init__.py" ] && [ -f "$lib/.sdk-$SDK_VERSION" ]; then
        return 0
    fi
    rm -rf "$lib"
    # --no-compile: AppInspect fails packages that contain compiled Python.
    pip_install --no-deps --no-compile --target "$lib" "splunk-sdk==$SDK_VERSION"
    # pip's metadata and console scripts are not needed at run time.
    rm -rf "$lib"/*.dist-info "$lib/bin"
    touch "$lib/.sdk-$SDK_VERSION"
    echo "vendored splunk-sdk $SDK_VERSION into $lib"
}

app_version() {
    # [launcher] version in app.conf is the one source of the version number.
    "$PYTHON" - <<'PY'
import configparser
c = configparser.ConfigParser(interpolation=None, strict=False)
c.read("app/default/app.conf")
print(c["launcher"]["version"].strip())
PY
}

build() {
    vendor_lib
    local version stage tgz
    version="$(app_version)"
    stage="$(mktemp -d)"
    trap 'rm -rf "$stage"' RETURN
    mkdir "$stage/$APP_ID"
    # Only what Splunk needs; never local/, tests, dotfiles or compiled Python.
    # -L: a checkout may symlink bin/lib; the package must hold the files, not the link.
    for d in bin default lookups metadata static README.md; do
        [ -e "app/$d" ] && cp -RL "app/$d" "$stage/$APP_ID/"
    done
    cp LICENSE "$stage/$APP_ID/"
    rm -rf "$stage/$APP_ID/local" "$stage/$APP_ID/metadata/local.meta"
    find "$stage/$APP_ID" \( -name '__pycache__' -o -name '*.pyc' -o -name '*.pyo' -o -name '.*' \) \
        -prune -exec rm -rf {} +
    # The admin's local allowlist and the baseline the app builds are never shipped: an upgrade
    # must not overwrite them (see README).
    rm -f "$stage/$APP_ID/lookups/regsvr32_allowlist_local.csv" "$stage/$APP_ID/lookups/regsvr32_baseline.csv"
    mkdir -p dist
    tgz="dist/$APP_ID-$version.tgz"
    # Reproducible-ish tarball with sane owners and modes for Splunk.
    tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name \
        --mode='u+rwX,go+rX,go-w' -czf "$tgz" "$APP_ID"
    echo "$tgz"
}

inspect() {
    local tgz="$1" report="${1%.tgz}.appinspect.json" pin installed
    # The version requirements-dev.txt pins, run by $PYTHON: never whatever is first on PATH.
    pin="$(sed -n 's/^splunk-appinspect==\([^ ]*\).*/\1/p' requirements-dev.txt)"
    installed="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("splunk-appinspect"))' \
        2>/dev/null || true)"
    if [ "$installed" != "$pin" ]; then
        echo "installing splunk-appinspect==$pin for $PYTHON (found: ${installed:-none})"
        pip_install "splunk-appinspect==$pin"
    fi
    # The splunk-appinspect console script, but run by $PYTHON.
    "$PYTHON" -c 'import sys; from splunk_appinspect.main import execute; sys.argv[0] = "splunk-appinspect"; execute()' \
        inspect "$tgz" --mode precert --included-tags cloud \
        --output-file "$report" --data-format json >/dev/null
    "$PYTHON" - "$report" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
summary = report["summary"]
print("AppInspect (cloud): " + ", ".join("%s=%s" % kv for kv in sorted(summary.items())))
bad = ("failure", "error", "future_failure")
for rep in report.get("reports", []):
    for group in rep.get("groups", []):
        for check in group.get("checks", []):
            if check.get("result") in bad + ("warning",):
                msgs = [m.get("message", "") for m in check.get("messages", [])][:3]
                print("  %s %s: %s" % (check["result"].upper(), check["name"], " | ".join(msgs)[:400]))
sys.exit(1 if any(summary.get(k, 0) for k in bad) else 0)
PY
}

case "${1:-all}" in
    lib) vendor_lib ;;
    build) build ;;
    all) tgz="$(build | tail -n 1)"; echo "built $tgz"; inspect "$tgz" ;;
    bench) vendor_lib; shift; "$PYTHON" tests/bench_command.py "$@" ;;
    *) echo "usage: $0 [lib|build|all|bench]" >&2; exit 2 ;;
esac

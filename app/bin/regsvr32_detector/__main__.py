"""``python3 -m regsvr32_detector scan PATH...`` (run from app/bin): the offline scanner.

The package's only command so far; docs/scan.md describes it.
"""
import sys

from . import scan

COMMANDS = {"scan": scan.main}
USAGE = "usage: python3 -m regsvr32_detector scan PATH... (scan --help for the options)\n"


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(USAGE)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, and have nothing flushed at exit
        sys.stdout = None
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python
"""The SDK's own no-op: a splunklib StreamingCommand that only yields each record.

The yardstick of tests/bench_command.py. Built on the same vendored splunklib as the app
(app/bin/lib), so the difference to ``| regsvr32detect`` is our code, not the SDK version.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "app", "bin", "lib"))

from splunklib.searchcommands import Configuration, StreamingCommand, dispatch  # noqa: E402


@Configuration()
class NoopCommand(StreamingCommand):
    def stream(self, records):
        for record in records:
            yield record


dispatch(NoopCommand, sys.argv, sys.stdin, sys.stdout, __name__)

#!/usr/bin/env python
"""``| regsvr32allowlists``: every row of every allowlist, with its state.

One result per row of regsvr32_allowlist_default and regsvr32_allowlist_local (the lists
``| regsvr32detect`` reads), in file order: file, line, row (file:line, as regsvr32_allowlisted
names it), status (active; expiring: within soon_days; expired; refused: the loader skips it;
absent: the admin's list does not exist yet), message (the loader's own, for a refused row or
file), days_left and every column. The health view joins the findings' regsvr32_allowlisted to
it by row, for hits and last hit.
"""
import datetime
import os
import sys

sys.dont_write_bytecode = True

BIN_DIR = os.path.dirname(os.path.abspath(__file__))
LOOKUPS_DIR = os.path.join(os.path.dirname(BIN_DIR), "lookups")
sys.path.insert(0, os.path.join(BIN_DIR, "lib"))

from splunklib.searchcommands import (  # noqa: E402
    Configuration, GeneratingCommand, Option, dispatch, validators)

from regsvr32_detector import tuning  # noqa: E402
from regsvr32_detector.allowlist_columns import COLUMNS  # noqa: E402

LISTS = ("regsvr32_allowlist_default", "regsvr32_allowlist_local")
OPTIONAL = ("regsvr32_allowlist_local",)
FIELDS = ("row", "file", "line", "status", "message", "days_left") + COLUMNS


@Configuration()
class Regsvr32AllowlistsCommand(GeneratingCommand):
    """Lists every allowlist row with its status.

    ##Syntax

    regsvr32allowlists [soon_days=<int>]
    """

    soon_days = Option(doc="A row expiring within this many days is 'expiring' (default 14).",
                       default=tuning.SOON_DAYS, validate=validators.Integer(0, 3650))

    def generate(self):
        paths, absent = [], []
        for name in LISTS:
            path = os.path.join(LOOKUPS_DIR, name + ".csv")
            if os.path.exists(path):
                paths.append(path)
            elif name in OPTIONAL:
                absent.append(name + ".csv")
            else:
                paths.append(path)          # reported by the loader: cannot read the file
        today = datetime.datetime.now(datetime.timezone.utc).date()
        for row in tuning.list_rows(paths, today, soon_days=self.soon_days, absent=absent):
            out = dict((name, row.get(name, "")) for name in FIELDS)
            out["row"] = tuning.where(row)
            yield out


dispatch(Regsvr32AllowlistsCommand, sys.argv, sys.stdin, sys.stdout, __name__)

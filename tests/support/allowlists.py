"""Allowlist CSV text for tests, in the detector's own column order."""
import csv
import io

from regsvr32_detector.allowlist_columns import COLUMNS


def allowlist_row(**cells):
    """One CSV line in the allowlist column order; columns not given are empty."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([cells.pop(c, "") for c in COLUMNS])
    assert not cells, "not allowlist columns: %s" % sorted(cells)
    return out.getvalue()


HEADER = ",".join(COLUMNS) + "\n"
# Clears every finding of regsvr32 on host ws-fin-07 (where the Squiblydoo sample ran).
ALLOW_WS_FIN_07 = allowlist_row(rule_id="*", image="*\\regsvr32.exe", host="ws-fin-07",
                                reason="pentest by red team", source="ticket SEC-1234")
# Names a rule that does not exist: the loader reports it and skips the row.
BAD_RULE_ID = allowlist_row(rule_id="R32-999", image="*", reason="typo in the rule id")

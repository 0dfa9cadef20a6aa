"""Shows | regsvr32detect at work on the bundled sample events (Windows logs, CIM and each EDR),
through the real protocol.

Installs the package that ./package.sh built (dist/regsvr32detect-<version>.tgz) into a scratch
etc/apps folder, then drives its command the way splunkd does (getinfo, two execute chunks, the
last one finished) and prints what an analyst would see. No Splunk needed. Besides the samples it
sends one event the shipped allowlist clears (the Teams meeting add-in, Sigma PR #2675), so the
output shows a cleared row with its reason; each row's regsvr32_signature is what the baseline
("new since last month") compares.

    ./package.sh && python3 tests/demo.py [PACKAGE.tgz] [SPL options...]
    python3 tests/demo.py mode=filter min_score=50
"""
import glob
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from support import apppackage  # noqa: E402
from support import chunked  # noqa: E402
from support import samples  # noqa: E402


# Microsoft Teams registers its meeting add-in per user like this (Sigma PR #2675); the shipped
# allowlist clears it and says which row did.
ALLOWLISTED = {
    "sample_id": "demo-teams-addin-allowlisted", "EventCode": "1",
    "source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "host": "ws-hr-03",
    "User": "CORP\\jdoe", "Image": "C:\\Windows\\System32\\regsvr32.exe",
    "OriginalFileName": "REGSVR32.EXE",
    "CommandLine": "regsvr32.exe /s /n /i:user \"C:\\Users\\jdoe\\AppData\\Local\\Microsoft\\"
                   "TeamsMeetingAddin\\1.0.23249.2\\x64\\Microsoft.Teams.AddinLoader.dll\"",
    "ParentImage": "C:\\Users\\jdoe\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
}


def flat(value):
    return "; ".join(value) if isinstance(value, list) else value


def main(argv):
    packages = [a for a in argv if a.endswith(".tgz")]
    options = [a for a in argv if not a.endswith(".tgz")]
    if not packages:
        version = apppackage.app_version(os.path.join(apppackage.ROOT, "app"))
        packages = glob.glob(os.path.join(apppackage.ROOT, "dist", "regsvr32detect-%s.tgz" % version))
    if not packages:
        sys.exit("no package: run ./package.sh first")
    events = samples.SAMPLES + [ALLOWLISTED]
    with tempfile.TemporaryDirectory() as apps:
        app = apppackage.install(packages[0], apps)
        print("installed %s into a scratch etc/apps" % os.path.basename(packages[0]))
        print("| regsvr32detect %s   (%d sample events in 2 chunks)\n" % (" ".join(options), len(events)))
        half = len(events) // 2
        result = chunked.run(options, [events[:half], events[half:]],
                             script=os.path.join(app, "bin", "regsvr32detect.py"))
    # Messages once, as Splunk's job inspector shows them (not inside the protocol dump).
    for level, text in result.messages:
        print("%s: %s" % (level, text))
    if result.refused or result.returncode:
        return 1
    for row in result.rows:
        print("\n%-36s score=%-3s severity=%s" % (row["sample_id"], row["regsvr32_score"], row["regsvr32_severity"]))
        for name in ("regsvr32_rules", "regsvr32_mitre", "regsvr32_allowlisted", "regsvr32_error",
                     "regsvr32_signature"):
            if row.get(name):
                print("    %-22s %s" % (name, flat(row[name])))
        reasons = row["regsvr32_reasons"]
        for reason in reasons if isinstance(reasons, list) else [reasons] if reasons else []:
            print("    - %s" % reason)
    cleared = [r for r in result.rows if r.get("regsvr32_allowlisted")]
    print("\n%d rows in, %d rows out, %d with findings cleared by an allowlist (regsvr32_allowlisted)"
          % (len(events), len(result.rows), len(cleared)))
    print("regsvr32_signature folds users, versions and temp names: the baseline search keeps each\n"
          "signature's first sighting, and \"New Since Last Month\" reports the ones not seen for 30 days.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

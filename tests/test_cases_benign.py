"""Known benign cases: none may score above informational with the shipped default allowlist
loaded (informational findings, such as a third-party module being registered, are context).

The regsvr32 command lines are the false positives vendors cite (research notes
atomic_cases.md section 4, detections.md section 2), with the parent, directory and user
they run with; plus ordinary processes and telemetry that is not about regsvr32 abuse.
"""
import csv
import datetime

import pytest

from support.events import (CMD, HOME, REGSVR32, REGSVR32_WOW, SYS32, WOW64, DEFAULT_ALLOWLIST, cim,
                    sec4688_classic, sec4688_xml, sysmon1, sysmon3, sysmon7, sysmon13, sysmon22)
from regsvr32_detector import load_allowlists

pytestmark = pytest.mark.pure

SYSTEM = "NT AUTHORITY\\SYSTEM"
PF = "C:\\Program Files\\"
PF86 = "C:\\Program Files (x86)\\"
CMD_WOW = WOW64 + "cmd.exe"
EXPLORER = "C:\\Windows\\explorer.exe"
MSIEXEC = SYS32 + "msiexec.exe"
TEAMS_ADDIN = HOME + "AppData\\Local\\Microsoft\\TeamsMeetingAddin\\1.0.21348.1\\x86\\"
TEAMS_ADDIN_NEW = HOME + "AppData\\Local\\Microsoft\\TeamsMeetingAddin\\1.0.24120.5\\x86\\"
BOX_CMD = ('"' + REGSVR32_WOW + '" /n /s /i:"cbfsconnect2017-Box" "' + PF
           + 'Box\\Box\\Temp\\cbfsconnect2017-Box\\i386\\cbfsconnectMntNtf2017.dll"')
RPCPROXY = SYS32 + "RpcProxy\\RpcProxy.dll"
DBX = PF86 + "Dropbox\\Client\\150.4.5000\\"
DBX_UPDATE = PF86 + "Dropbox\\Update\\DropboxUpdate.exe"
DBX_CLSID = "{FB314ED9-A251-47B7-93E1-CDD82E34AF8B}"
KLITE = PF86 + "K-Lite Codec Pack\\Filters\\"
NPP = PF + "Notepad++\\contextMenu\\NppShell.dll"
VBOX = PF + "Oracle\\VirtualBox\\VboxC.dll"
SSM = HOME + "AppData\\Local\\Temp\\SSM4F2A.tmp\\REGSVR32.EXE"
CHROME = PF + "Google\\Chrome\\Application\\chrome.exe"

CASES = [
    # --- vendor-cited regsvr32 false positives ------------------------------------------------
    ("teams_meeting_addin_classic", sysmon1('"' + REGSVR32_WOW + '" /s /n /i:user "' + TEAMS_ADDIN + 'Microsoft.Teams.AddinLoader.dll"',
                                            image=REGSVR32_WOW, cwd=TEAMS_ADDIN,
                                            parent=HOME + "AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe")),
    ("teams_meeting_addin_new_teams", sysmon1('"' + REGSVR32_WOW + '" /s /n /i:user "' + TEAMS_ADDIN_NEW + 'Microsoft.Teams.AddinLoader.dll"',
                                              image=REGSVR32_WOW, cwd=TEAMS_ADDIN_NEW,
                                              parent=PF + "WindowsApps\\MSTeams_24124.2315.2911.3357_x64__8wekyb3d8bbwe\\ms-teams.exe")),
    ("box_drive_cbfsconnect", sysmon1(BOX_CMD, image=REGSVR32_WOW, parent=PF + "Box\\Box\\FS\\streem.exe",
                                      cwd="C:\\Windows\\Installer\\MSI66A5.tmp-\\", integrity="System", user=SYSTEM)),
    ("iis_rpcproxy_short_form", sysmon1("regsvr32 /s rpcproxy.dll", parent=REGSVR32, parent_cmdline=REGSVR32 + " /s " + RPCPROXY,
                                        cwd=SYS32 + "RpcProxy\\", integrity="System", user=SYSTEM)),
    ("iis_rpcproxy_full_path", sysmon1(REGSVR32 + " /s " + RPCPROXY, parent=CMD, cwd=SYS32, integrity="System", user=SYSTEM)),
    ("iis_rpcproxy_full_path_4688_xml", sec4688_xml(REGSVR32 + " /s " + RPCPROXY, parent=CMD)),
    ("werfault_child_u_p", sysmon1(WOW64 + "WerFault.exe -u -p 6420 -s 1036", image=WOW64 + "WerFault.exe",
                                   parent=REGSVR32_WOW, parent_cmdline='"' + REGSVR32_WOW + '" /s "' + PF86 + 'Acme\\Viewer\\acmectl.ocx"')),
    ("wevtutil_child_install_manifest", sysmon1('wevtutil.exe im "' + PF + 'Acme\\Agent\\AcmeEvents.man"', image=SYS32 + "wevtutil.exe",
                                                parent=REGSVR32, parent_cmdline=REGSVR32 + ' /s "' + PF + 'Acme\\Agent\\AcmeEvents.dll"',
                                                integrity="High")),
    ("virtualbox_install", sysmon1('regsvr32 /S "' + VBOX + '"', integrity="High")),
    ("virtualbox_uninstall", sysmon1('regsvr32 /u /S "' + VBOX + '"', integrity="High")),
    ("virtualbox_install_4688_classic", sec4688_classic('regsvr32 /S "' + VBOX + '"')),
    ("devexpress_two_spaces", sysmon1("regsvr32  DevExpress.Data.v14.1.dll", cwd=PF86 + "Contoso\\LOB Suite\\")),
    ("msxml6_after_ping_syswow64", sysmon1("regsvr32 /s msxml6.dll", image=REGSVR32_WOW, cwd=WOW64, parent=CMD_WOW,
                                           parent_cmdline=CMD_WOW + ' /c ""' + PF86 + 'Contoso\\Legacy\\register.bat""')),
    ("mschrt20_syswow64", sysmon1("regsvr32 /s " + WOW64 + "mschrt20.ocx", image=REGSVR32_WOW, cwd=WOW64, parent=CMD_WOW)),
    ("printconfig_from_spoolsv", sysmon1(REGSVR32 + " /s PrintConfig.dll", parent=SYS32 + "spoolsv.exe",
                                         cwd=SYS32 + "spool\\drivers\\x64\\3\\", integrity="System", user=SYSTEM)),
    ("oem_checkmui", sysmon1(REGSVR32 + " /s C:\\Windows\\Help\\OEM\\scripts\\checkmui.dll", parent=CMD,
                             parent_cmdline=CMD + " /c C:\\Windows\\Setup\\Scripts\\SetupComplete.cmd",
                             cwd=SYS32, integrity="System", user=SYSTEM)),
    ("klite_unsigned_ax_load", sysmon7(KLITE + "LAV\\LAVVideo.ax", image=REGSVR32_WOW, signed="false", signature=None, status="Unavailable")),
    ("klite_unsigned_dll_load", sysmon7(KLITE + "VSFilter.dll", image=REGSVR32_WOW, signed="false", signature=None, status="Unavailable")),
    ("notepadpp_nppshell", sysmon1(REGSVR32 + ' /s "' + NPP + '"', parent=HOME + "Downloads\\npp.8.6.9.Installer.x64.exe",
                                   cwd=HOME + "Downloads\\", integrity="High")),
    ("onec_comcntr", sysmon1('regsvr32 /s "' + PF + '1cv8\\8.3.22.1709\\bin\\comcntr.dll"', integrity="High")),
    ("nsis_runonce_sysdir", sysmon1('"' + REGSVR32 + '" /s "' + PF + 'Contoso\\Shell\\ContosoShell.dll"', parent=EXPLORER)),
    ("qqpcmgr_tswebmon_dat", sysmon1('regsvr32 /s "' + PF86 + 'Tencent\\QQPCMgr\\13.0\\TSWebMon64.dat"',
                                     parent=PF86 + "Tencent\\QQPCMgr\\13.0\\QQPCTray.exe", integrity="System", user=SYSTEM)),
    ("bartender_codejock_ocx", sysmon1('regsvr32 /s "' + PF + 'Seagull\\BarTender Suite\\Codejock.DockingPane.x64.v15.3.1.ocx"',
                                       integrity="High")),
    ("landesk_relative_dll", sysmon1("regsvr32.exe /s ..\\LDDragDrop.dll",
                                     parent=PF86 + "LANDesk\\ManagementSuite\\Install Only Files\\LaunchApp.exe",
                                     cwd=PF86 + "LANDesk\\LDClient\\Bin\\", integrity="System", user=SYSTEM)),
    ("msiexec_embedding_parent", sysmon1('"' + REGSVR32_WOW + '" /s "' + PF86 + 'Contoso\\Viewer\\viewer.ocx"', image=REGSVR32_WOW,
                                         parent=MSIEXEC, parent_cmdline=MSIEXEC + " -Embedding 8B1F0C23A6E24F7C9B2D3A1E5F6C7D8E C",
                                         integrity="System", user=SYSTEM)),
    ("chartfx_syswow64", sysmon1("regsvr32 /s " + WOW64 + "ChartFX.ClientServer.Data.dll", image=REGSVR32_WOW, integrity="High")),
    ("msjet35_syswow64", sysmon1("regsvr32 /s " + WOW64 + "Msjet35.dll", image=REGSVR32_WOW, integrity="High")),
    ("dotnet_framework_dir", sysmon1("regsvr32 /s C:\\Windows\\Microsoft.NET\\Framework\\v4.0.30319\\diasymreader.dll",
                                     integrity="High")),
    ("obs_virtualcam_unregister", sysmon1('regsvr32 /u /s "' + PF + 'obs-studio\\data\\obs-plugins\\win-dshow\\obs-virtualcam-module64.dll"',
                                          integrity="High")),
    ("dropbox_shell_extension", sysmon1('"' + REGSVR32 + '" /s "' + DBX + 'DropboxExt64.52.0.dll"', parent=DBX_UPDATE,
                                        cwd=DBX, integrity="System", user=SYSTEM)),
    ("dropbox_icon_overlay_registry", sysmon13("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\ShellIconOverlayIdentifiers\\   DropboxExt01\\(Default)",
                                               DBX_CLSID, user=SYSTEM)),
    ("dropbox_inprocserver_registry", sysmon13("HKLM\\SOFTWARE\\Classes\\CLSID\\" + DBX_CLSID + "\\InProcServer32\\(Default)",
                                               DBX + "DropboxExt64.52.0.dll", user=SYSTEM)),
    ("elastic_ssm_tmp_regsvr32_copy", sysmon1(SSM + " /s C:\\WINDOWS\\system32\\msvbvm60.dll", image=SSM,
                                              parent=HOME + "Downloads\\LegacyAppSetup.exe", cwd=HOME + "Downloads\\")),
    # --- regsvr32 telemetry that is normal -------------------------------------------------------
    ("imageload_signed_ms_shell32", sysmon7(SYS32 + "shell32.dll")),
    ("imageload_signed_ms_amsi", sysmon7(SYS32 + "amsi.dll")),
    ("imageload_signed_vendor_program_files", sysmon7(VBOX, signature="Oracle America, Inc.")),
    ("dns_crl_digicert", sysmon22("crl3.digicert.com")),
    ("dns_ctldl_windowsupdate", sysmon22("ctldl.windowsupdate.com")),
    ("tstats_nsis_program_files", cim('"' + REGSVR32 + '" /s "' + PF + 'Contoso\\Shell\\ContosoShell.dll"', parent=EXPLORER,
                                      prefix="Processes.")),
    # --- ordinary processes, not regsvr32 ----------------------------------------------------------
    ("notepad", sysmon1('"' + SYS32 + 'notepad.exe" C:\\Users\\alice\\Documents\\todo.txt', image=SYS32 + "notepad.exe", parent=EXPLORER)),
    ("svchost_4688_xml", sec4688_xml(SYS32 + "svchost.exe -k netsvcs -p -s Schedule", image=SYS32 + "svchost.exe",
                                     parent=SYS32 + "services.exe")),
    ("svchost_4688_classic", sec4688_classic(SYS32 + "svchost.exe -k LocalService", image=SYS32 + "svchost.exe",
                                             parent=SYS32 + "services.exe")),
    ("chrome_with_url_cim", cim('"' + CHROME + '" --single-argument https://example.com/file.sct', image=CHROME, parent=EXPLORER)),
    ("chrome_with_url_tstats", cim('"' + CHROME + '" https://example.com/scrobj.dll', image=CHROME, parent=EXPLORER,
                                   prefix="Processes.")),
    ("findstr_mentions_regsvr32", sysmon1("findstr /i regsvr32 C:\\Windows\\Logs\\CBS\\CBS.log", image=SYS32 + "findstr.exe")),
    ("cmd_wrapping_benign_registration", sysmon1('cmd.exe /c regsvr32 /s "' + PF + 'VideoLAN\\VLC\\axvlc.dll"', image=CMD,
                                                 parent=MSIEXEC, integrity="High")),
    ("regedit_unrelated_run_key", sysmon13("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\SecurityHealth",
                                           "%windir%\\system32\\SecurityHealthSystray.exe", image=SYS32 + "regedit.exe")),
    ("chrome_network", sysmon3("142.250.74.14", image=CHROME)),
]


def test_case_ids_are_unique():
    assert len(dict(CASES)) == len(CASES)


@pytest.mark.parametrize("record", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_benign_scores_informational_at_most(detector, record):
    v = detector.evaluate(record)
    assert v.error == ""
    assert v.score < 20 and v.severity in ("none", "informational"), v.reasons


# --- the shipped default allowlist itself ---------------------------------------------------------
def _default_rows():
    with open(DEFAULT_ALLOWLIST, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if any((v or "").strip() for v in r.values())]
    return [r for r in rows if not (r.get("rule_id") or "").lstrip().startswith("#")]


def test_default_allowlist_loads_without_problems():
    allowlist, problems = load_allowlists([DEFAULT_ALLOWLIST])
    assert [str(p) for p in problems] == []
    assert allowlist is not None


@pytest.mark.parametrize("column", ["rule_id", "reason", "source"])
def test_every_default_row_has(column):
    rows = _default_rows()
    assert len(rows) >= 8  # WerFault, wevtutil, Dropbox, rpcproxy, Teams, Box, VirtualBox, K-Lite at least
    missing = [i + 2 for i, r in enumerate(rows) if not (r.get(column) or "").strip()]
    assert missing == [], "rows (file line numbers) without %s: %s" % (column, missing)


def test_no_default_row_is_expired():
    today = datetime.date.today().isoformat()
    expired = [r for r in _default_rows() if (r.get("expires") or "").strip() and r["expires"].strip() < today]
    assert expired == []


def test_missing_allowlist_file_is_reported_not_raised(tmp_path):
    allowlist, problems = load_allowlists([str(tmp_path / "nope.csv"), DEFAULT_ALLOWLIST])
    assert len(problems) >= 1 and str(tmp_path / "nope.csv") in str(problems[0].path)

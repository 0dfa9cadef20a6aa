"""Builds the app package from a scratch copy of the repository, for the packaging tests."""
import configparser
import os
import shutil
import subprocess
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scratch_repo(dest):
    """Copies package.sh, what it reads and app/ (with the vendored lib) to DEST so tests can
    change them freely."""
    os.makedirs(dest)
    for name in ("package.sh", "LICENSE", "requirements-dev.txt"):
        shutil.copy2(os.path.join(ROOT, name), dest)
    shutil.copytree(os.path.join(ROOT, "app"), os.path.join(dest, "app"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "local"))
    return dest


def build(repo, command="build"):
    """Runs package.sh COMMAND in REPO; returns (completed process, path of the .tgz)."""
    proc = subprocess.run(["bash", os.path.join(repo, "package.sh"), command], cwd=repo,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    version = app_version(os.path.join(repo, "app"))
    return proc, os.path.join(repo, "dist", "regsvr32detect-%s.tgz" % version)


def app_version(app_dir):
    conf = configparser.ConfigParser(interpolation=None, strict=False)
    conf.read(os.path.join(app_dir, "default", "app.conf"))
    return conf["launcher"]["version"].strip()


def set_version(app_dir, version):
    path = os.path.join(app_dir, "default", "app.conf")
    with open(path) as f:
        lines = f.read().splitlines(True)
    with open(path, "w") as f:
        f.writelines("version = %s\n" % version if line.startswith("version =") else line for line in lines)


def install(tgz, apps_dir):
    """Installs or upgrades like `splunk install app TGZ -update 1`: the package is extracted over
    etc/apps, replacing the files it contains and leaving every other file of the app in place."""
    with tarfile.open(tgz) as tar:
        tar.extractall(apps_dir)
    return os.path.join(apps_dir, "regsvr32detect")

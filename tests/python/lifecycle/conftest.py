"""Helpers for the lifecycle behaviour tests: build scripts with the real binary, a sandbox that stands
in for a notebook instance, and real Jupyter / moto servers on loopback, started and stopped here."""
import contextlib
import hashlib
import json
import os
import pathlib
import pwd
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve().parent
BLUEPRINTS = HERE / "blueprints"
TEST_USER = "nbsynth-ec2"  # stands in for ec2-user: owns the home, is not root
TOKEN = "nbsynth-test-token"

# CloudFormation placeholders left in the plain-text scripts, and the fake values the tests give them.
PLACEHOLDER = re.compile(r"\$\{(AWS::[A-Za-z]+|[A-Z][A-Za-z0-9]*(?:\.[A-Za-z.]+)?)\}")


def need(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is required for this test and is not installed (see .ci/setup-tools)"
    return path


def need_root() -> None:
    assert os.geteuid() == 0, "the lifecycle tests run the scripts as root, as SageMaker does (run pytest as root)"


def fake(name: str) -> str:
    return "fake-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def build(nbsynth: pathlib.Path, blueprint: str, out: pathlib.Path) -> dict:
    """Runs `nbsynth build` on a test blueprint; returns {hook: script text} with placeholders filled."""
    bp = BLUEPRINTS / f"{blueprint}.yaml"
    run = subprocess.run([str(nbsynth), "build", str(bp), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"nbsynth build {bp.name} failed:\n{run.stderr}"
    name = re.search(r"^name:\s*(\S+)", bp.read_text(), re.M).group(1)
    scripts = {}
    for hook in ("on-start", "on-create"):
        found = sorted((out / name).glob(f"*.{hook}.sh"))
        assert len(found) <= 1, f"expected one {hook} script, got {found}"
        if found:
            scripts[hook] = PLACEHOLDER.sub(lambda m: fake(m.group(1)), found[0].read_text())
    assert "on-start" in scripts, f"nbsynth build wrote no on-start script under {out / name}"
    return scripts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def refused_port():
    """A port bound but not listening, held for the block: connections are refused, and no other
    process (other tests start servers on free ports too) can take it meanwhile."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def world_readable_tmp() -> pathlib.Path:
    """A temp dir the non-root test user can traverse (pytest's own tmp_path is root-only)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="nbsynth-lcc-", dir="/tmp"))
    d.chmod(0o755)
    return d


def ec2_user() -> pwd.struct_passwd:
    need_root()
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run([need("useradd"), "--system", "--no-create-home", "--shell", "/bin/bash", TEST_USER], check=True)
        return pwd.getpwnam(TEST_USER)


STANDIN = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
"""


class Instance:
    """A temporary root laid out like a notebook instance, and stand-ins for the commands that would
    touch the real machine (systemctl, crontab, chown, initctl)."""

    def __init__(self, base: pathlib.Path, port: int = 8443):
        self.base = base
        self.root = base / "root"
        self.home = self.root / "home/ec2-user"
        self.bin = base / "bin"
        self.calls = base / "calls.log"
        self.bin.mkdir(parents=True)
        for tool in ("systemctl", "crontab", "chown", "initctl"):
            p = self.bin / tool
            p.write_text(STANDIN.format(log=self.calls))
            p.chmod(0o755)
        r = self.root
        for d in ("etc/sudoers.d", "etc/cron.d", "etc/profile.d", "opt/ml/metadata", "home/ec2-user/SageMaker",
                  "home/ec2-user/.jupyter/lab/user-settings", "home/ec2-user/anaconda3/bin", "var/tmp"):
            (r / d).mkdir(parents=True, exist_ok=True)
        # What the platform ships: the user's server config, sudo for ec2-user, a profile file.
        self.write_platform_config(port)
        (self.home / ".jupyter/lab/user-settings/theme.json").write_text("{}\n")
        (self.home / "anaconda3/bin/conda").write_text("#!/bin/sh\n")
        (r / "etc/sudoers").write_text(f"Defaults env_reset\nroot ALL=(ALL) ALL\n@includedir {r}/etc/sudoers.d\n")
        (r / "etc/sudoers.d/90-cloud-init-users").write_text(
            "# Created by cloud-init v. 19.3 on Mon, 01 Jan 2024 00:00:00 +0000\n\n"
            "# User rules for ec2-user\nec2-user ALL=(ALL) NOPASSWD:ALL\n")
        (r / "etc/sudoers.d/50-ops").write_text("%wheel ALL=(ALL) ALL\n")
        for f in (r / "etc/sudoers").parent.glob("sudoers*"):
            if f.is_file():
                f.chmod(0o440)
        for f in (r / "etc/sudoers.d").iterdir():
            f.chmod(0o440)
        (r / "etc/profile.d/jupyter-env.sh").write_text("export SAGEMAKER_PLATFORM=1\n")
        (r / "opt/ml/metadata/resource-metadata.json").write_text(json.dumps({
            "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-alice",
            "ResourceName": "nb-alice"}))

    def write_platform_config(self, port: int, certfile: str = "", keyfile: str = "") -> None:
        cfg = (f"c.ServerApp.ip = '127.0.0.1'\nc.ServerApp.port = {port}\nc.ServerApp.port_retries = 0\n"
               f"c.ServerApp.open_browser = False\nc.ServerApp.root_dir = '{self.home}/SageMaker'\n"
               f"c.IdentityProvider.token = '{TOKEN}'\n")
        if certfile:
            cfg += f"c.ServerApp.certfile = '{certfile}'\nc.ServerApp.keyfile = '{keyfile}'\n"
        (self.home / ".jupyter/jupyter_server_config.py").write_text(cfg)

    def run(self, script: str, timeout: int = 120) -> subprocess.CompletedProcess:
        path = self.base / "script.sh"
        path.write_text(script)
        env = {"PATH": f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin", "NBSYNTH_ROOT": str(self.root),
               "LANG": "C.UTF-8", "TMPDIR": str(self.base)}
        return subprocess.run(["bash", str(path)], env=env, capture_output=True, text=True, timeout=timeout)

    def snapshot(self) -> dict:
        """Every path under the root with its type, mode and content: what a second run must not change."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                p = pathlib.Path(dirpath) / name
                st = p.lstat()
                rel = str(p.relative_to(self.root))
                if stat.S_ISLNK(st.st_mode):
                    out[rel] = ("link", os.readlink(p))
                elif stat.S_ISDIR(st.st_mode):
                    out[rel] = ("dir", oct(st.st_mode & 0o7777), st.st_uid)
                else:
                    out[rel] = ("file", oct(st.st_mode & 0o7777), st.st_uid,
                                hashlib.sha256(p.read_bytes()).hexdigest())
        return out

    def calls_made(self) -> list:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def server_env(self) -> dict:
        """The variables the script gave the Jupyter server (its systemd drop-in)."""
        dropin = self.root / "etc/systemd/system/jupyter-server.service.d/nbsynth.conf"
        env = {}
        for line in dropin.read_text().splitlines():
            if line.startswith("Environment="):
                k, v = line[len("Environment="):].split("=", 1)
                env[k] = v
        return env


@pytest.fixture
def instance():
    base = world_readable_tmp()
    yield Instance(base)
    shutil.rmtree(base, ignore_errors=True)


def self_signed(dir: pathlib.Path) -> tuple:
    """A self-signed certificate like the platform's, so the tests speak https as on the instance."""
    cert, key = dir / "cert.pem", dir / "key.pem"
    subprocess.run([need("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
                   timeout=60)
    cert.chmod(0o644)
    key.chmod(0o644)
    return str(cert), str(key)


UNVERIFIED = ssl._create_unverified_context()


def http(method: str, url: str, body=None, token: str = TOKEN, timeout: float = 15):
    """(status, body bytes) of one request to the local test server."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=UNVERIFIED) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Jupyter:
    """A real Jupyter server (JupyterLab) process on 127.0.0.1, as some user, with a given environment."""

    def __init__(self, cmd, env, port, user=None, log=None):
        self.url = f"https://127.0.0.1:{port}/"
        kwargs = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        self.log = open(log, "wb") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, **kwargs)
        deadline = time.time() + 90
        while True:
            assert self.proc.poll() is None, f"jupyter exited with {self.proc.returncode}; log: {log}"
            try:
                if http("GET", self.url + "api/status", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.time() < deadline, f"jupyter did not answer within 90 s; log: {log}"
            time.sleep(0.3)

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=10)
        if self.log is not subprocess.DEVNULL:
            self.log.close()


@contextlib.contextmanager
def moto(venv_bin: pathlib.Path, port: int):
    server = venv_bin / "moto_server"
    assert server.exists(), f"{server} is missing (pip install 'moto[server]', see .ci/requirements.txt)"
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, "moto_server exited"
                assert time.time() < deadline, "moto_server did not answer within 60 s"
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


def user_python() -> str:
    """An interpreter of the venv's version that a non-root user may run (the venv's own may live in a
    root-only home): the Jupyter environment the test user owns is built on it."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    path = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
    assert path, f"{name} outside root's home is needed to run Jupyter as a non-root user (apt install {name})"
    return path

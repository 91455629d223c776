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
import sysconfig
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

# chown records its call and then runs, with ec2-user standing for the test user.
CHOWN = """#!/bin/bash
echo "chown $*" >> "{log}"
exec /bin/chown "${{@//ec2-user:ec2-user/{user}:{user}}}"
"""

# The platform's own unit, as far as the sandbox models it (the real one's ExecStart and
# environment on AL2023 are not documented): the server runs as ec2-user from JupyterSystemEnv.
UNIT = """[Unit]
Description=Jupyter server (sandbox stand-in for the platform's unit)
[Service]
User=ec2-user
WorkingDirectory={home}/SageMaker
Environment=JUPYTERLAB_DIR={lab_dir}
ExecStart={env}/bin/jupyter-lab{args}
"""

# What `jupyter-lab` is in a conda environment: a console script of the environment's python.
LAUNCHER = """#!{python}
import sys
from jupyterlab.labapp import main
sys.exit(main())
"""

JUPYTER_LAYOUTS = ("platform", "empty", "missing")


class Instance:
    """A temporary root laid out like a new AL2023 notebook instance (no cron, systemd, sudo for
    ec2-user from cloud-init), in a mount namespace of its own so that the script's bind mounts stay
    inside it. systemctl is a stand-in that records its calls; `start_server` starts Jupyter the way
    the platform's unit would, with the Environment= lines of its drop-ins."""

    def __init__(self, base: pathlib.Path, venv_bin: pathlib.Path, port: int = 8443, jupyter: str = "platform",
                 conda: bool = True, server: bool = False):
        self.base = base
        self.root = base / "root"
        self.home = self.root / "home/ec2-user"
        self.env_dir = self.home / "anaconda3/envs/JupyterSystemEnv"
        self.bin = base / "bin"
        self.calls = base / "calls.log"
        self.user = ec2_user()
        self.ns = base / "mnt.ns"
        self.bin.mkdir(parents=True)
        for tool in ("systemctl",):
            p = self.bin / tool
            p.write_text(STANDIN.format(log=self.calls))
            p.chmod(0o755)
        chown = self.bin / "chown"
        chown.write_text(CHOWN.format(log=self.calls, user=TEST_USER))
        chown.chmod(0o755)
        r = self.root
        for d in ("etc/sudoers.d", "etc/profile.d", "etc/systemd/system", "opt/ml/metadata",
                  "home/ec2-user/SageMaker", "var/tmp"):
            (r / d).mkdir(parents=True, exist_ok=True)
        # What the platform ships: the user's server config (or none), sudo for ec2-user from
        # cloud-init, a profile file, the Jupyter unit.
        assert jupyter in JUPYTER_LAYOUTS, jupyter
        self.jupyter_layout = jupyter
        if jupyter != "missing":
            (self.home / ".jupyter").mkdir()
        # The server's address, certificate and token: in ~/.jupyter's config where the platform
        # left one, else on the unit's command line.
        self.port = port
        cert = self_signed(base) if server else ("", "")
        args = ""
        if jupyter == "platform":
            (self.home / ".jupyter/lab/user-settings").mkdir(parents=True)
            self.write_platform_config(port, *cert)
            (self.home / ".jupyter/lab/user-settings/theme.json").write_text("{}\n")
        else:
            args = "".join(f" --{k}={v}" for k, v in self.server_settings(port, *cert).items())
        if conda:
            (self.home / "anaconda3/bin").mkdir(parents=True)
            (self.home / "anaconda3/bin/conda").write_text("#!/bin/sh\n")
            self.make_system_env(venv_bin)
        (r / "etc/sudoers").write_text(f"Defaults env_reset\nroot ALL=(ALL) ALL\n@includedir {r}/etc/sudoers.d\n")
        (r / "etc/sudoers.d/90-cloud-init-users").write_text(
            "# Created by cloud-init v. 22.2.2 on Mon, 01 Jun 2026 00:00:00 +0000\n\n"
            "# User rules for ec2-user\nec2-user ALL=(ALL) NOPASSWD:ALL\n")
        (r / "etc/sudoers.d/50-ops").write_text("%wheel ALL=(ALL) ALL\n")
        (r / "etc/sudoers").chmod(0o440)
        for f in (r / "etc/sudoers.d").iterdir():
            f.chmod(0o440)
        (r / "etc/profile.d/jupyter-env.sh").write_text("export SAGEMAKER_PLATFORM=1\n")
        (r / "opt/ml/metadata/resource-metadata.json").write_text(json.dumps({
            "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-alice",
            "ResourceName": "nb-alice"}))
        (r / "etc/systemd/system/jupyter-server.service").write_text(
            UNIT.format(home=self.home, env=self.env_dir, lab_dir=venv_bin.parent / "share/jupyter/lab", args=args))
        subprocess.run(["chown", "-R", f"{self.user.pw_uid}:{self.user.pw_gid}", str(self.home)], check=True)
        self.ns.touch()
        subprocess.run([need("unshare"), f"--mount={self.ns}", "--propagation", "private", "true"], check=True)

    def make_system_env(self, venv_bin: pathlib.Path) -> None:
        """The JupyterSystemEnv stand-in: a venv of the test's Python whose own site-packages holds a
        .pth to the shared venv's packages (jupyter_server, JupyterLab), and a `jupyter-lab` script.
        With the system site, as in a conda environment, the user site is on (a plain venv turns it off)."""
        subprocess.run([user_python(), "-m", "venv", "--without-pip", "--system-site-packages", str(self.env_dir)],
                       check=True, timeout=120)
        purelib = sysconfig.get_path("purelib", vars={"base": str(self.env_dir)})
        shared = sysconfig.get_path("purelib", vars={"base": str(venv_bin.parent)})
        pathlib.Path(purelib, "nbsynth-test.pth").write_text(shared + "\n")
        launcher = self.env_dir / "bin/jupyter-lab"
        launcher.write_text(LAUNCHER.format(python=self.env_dir / "bin/python"))
        launcher.chmod(0o755)

    def close(self) -> None:
        subprocess.run(["umount", str(self.ns)], check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def server_settings(self, port: int, certfile: str = "", keyfile: str = "") -> dict:
        out = {"ServerApp.ip": "127.0.0.1", "ServerApp.port": port, "ServerApp.port_retries": 0,
               "ServerApp.open_browser": False, "ServerApp.root_dir": f"{self.home}/SageMaker",
               "IdentityProvider.token": TOKEN}
        if certfile:
            out.update({"ServerApp.certfile": certfile, "ServerApp.keyfile": keyfile})
        return out

    def write_platform_config(self, port: int, certfile: str = "", keyfile: str = "") -> None:
        cfg = "".join(f"c.{k} = {v!r}\n" for k, v in self.server_settings(port, certfile, keyfile).items())
        (self.home / ".jupyter").mkdir(exist_ok=True)
        (self.home / ".jupyter/jupyter_server_config.py").write_text(cfg)

    def in_ns(self, cmd: list, user: bool = False) -> list:
        """`cmd` inside the instance's mount namespace, as root or as the test user."""
        drop = [need("setpriv"), f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups",
                "--"] if user else []
        return [need("nsenter"), f"--mount={self.ns}", "--"] + drop + cmd

    def run(self, script: str, timeout: int = 120) -> subprocess.CompletedProcess:
        path = self.base / "script.sh"
        path.write_text(script)
        env = {"PATH": f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin", "NBSYNTH_ROOT": str(self.root),
               "LANG": "C.UTF-8", "TMPDIR": str(self.base)}
        return subprocess.run(self.in_ns(["bash", str(path)]), env=env, capture_output=True, text=True,
                              timeout=timeout)

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

    def mounts(self) -> list:
        """Mount points under the root, inside the instance's namespace."""
        run = subprocess.run(self.in_ns(["findmnt", "-rn", "-o", "TARGET"]), capture_output=True, text=True,
                             check=True)
        return sorted(line for line in run.stdout.splitlines() if line.startswith(str(self.root)))

    def calls_made(self) -> list:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def unit_env(self, dropins: bool = True) -> dict:
        """The Environment= of the platform's unit and, as systemd applies them, its drop-ins'."""
        unit = self.root / "etc/systemd/system/jupyter-server.service"
        files = [unit] + (sorted(unit.with_name(unit.name + ".d").glob("*.conf")) if dropins else [])
        env = {}
        for f in files:
            for line in f.read_text().splitlines():
                if line.startswith("Environment="):
                    k, v = line[len("Environment="):].split("=", 1)
                    env[k] = v
        return env

    def server_env(self) -> dict:
        """The variables the script gave the Jupyter server (its systemd drop-in)."""
        dropin = self.root / "etc/systemd/system/jupyter-server.service.d/nbsynth.conf"
        env = {}
        for line in dropin.read_text().splitlines():
            if line.startswith("Environment="):
                k, v = line[len("Environment="):].split("=", 1)
                env[k] = v
        return env

    def start_server(self, log: pathlib.Path, dropins: bool = True) -> "Jupyter":
        """Jupyter as the unit starts it: its ExecStart, as User=, in WorkingDirectory=, with systemd's
        base environment and the Environment= lines (of the drop-ins too, unless `dropins` is off)."""
        unit = (self.root / "etc/systemd/system/jupyter-server.service").read_text()
        exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
        workdir = re.search(r"^WorkingDirectory=(.*)$", unit, re.M).group(1)
        env = {"HOME": str(self.home), "USER": "ec2-user", "LOGNAME": "ec2-user", "LANG": "C.UTF-8",
               "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", **self.unit_env(dropins)}
        return Jupyter(self.in_ns(["env", "-C", workdir] + exec_start, user=True), env, self.port, log=log)

    def as_user(self, code: str, timeout: int = 60) -> subprocess.CompletedProcess:
        """Python code run as ec2-user (the test user) in the instance, with a login's environment."""
        env = {"HOME": str(self.home), "USER": "ec2-user", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}
        return subprocess.run(self.in_ns([user_python(), "-c", code], user=True), env=env, capture_output=True,
                              text=True, timeout=timeout)


@pytest.fixture
def instance(venv_bin):
    base = world_readable_tmp()
    inst = Instance(base, venv_bin)
    yield inst
    inst.close()


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
    """A real Jupyter server (JupyterLab) process on 127.0.0.1, with a given command and environment
    (the command drops to another user itself: see Instance.start_server)."""

    def __init__(self, cmd, env, port, log=None):
        self.url = f"https://127.0.0.1:{port}/"
        self.log = open(log, "wb") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
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

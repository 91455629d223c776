"""Fixtures for the end-to-end tests that judge generated templates with the real tools.

- `blueprint` (parametrized over `blueprints/*.yaml`, so a new example is picked up automatically)
- `build`: runs the nbsynth binary into a temporary directory and returns the template path
- `tool`: the path of a venv tool, failing (never skipping) when it is missing
- `moto`: one `moto_server` on 127.0.0.1 per test module, stopped by a finalizer, with an `aws`
  runner for the real AWS CLI that can read no real configuration or credentials
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from nbdeploy import COMMAND_TIMEOUT, REGION, run

ROOT = pathlib.Path(__file__).resolve().parents[3]
# scale.yaml (1,000 owners, split stacks) has its own tests in tests/python/scale.
BLUEPRINTS = sorted(p for p in (ROOT / "blueprints").glob("*.yaml") if p.name != "scale.yaml")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


def pytest_generate_tests(metafunc):
    if "blueprint" in metafunc.fixturenames:
        assert BLUEPRINTS, "no blueprints/*.yaml found"
        metafunc.parametrize("blueprint", BLUEPRINTS, ids=[p.stem for p in BLUEPRINTS])


@pytest.fixture(scope="session")
def tool(venv_bin):
    def find(name: str) -> pathlib.Path:
        path = venv_bin / name
        assert path.is_file() and os.access(path, os.X_OK), (
            f"{name} is missing from {venv_bin}: run `bash .ci/setup-tools` (these tests never skip)"
        )
        return path

    return find


@pytest.fixture(scope="session")
def build(nbsynth, tmp_path_factory):
    """build(blueprint_path, fmt="yaml") -> path of the template nbsynth wrote (its lifecycle scripts
    are under `<out>/<name>/`). Cached per (blueprint, format) for the session."""
    cache = {}

    def _build(blueprint: pathlib.Path, fmt: str = "yaml") -> pathlib.Path:
        key = (str(blueprint), fmt)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"build-{blueprint.stem}-{fmt}")
            p = run([nbsynth, "build", blueprint, "--out", out, "--format", fmt, "--quiet"], timeout=120)
            assert p.returncode == 0, f"nbsynth build {blueprint} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
            templates = sorted(out.glob(f"*.template.{fmt}"))
            assert len(templates) == 1, f"expected one template in {out}, found {templates}"
            cache[key] = templates[0]
        return cache[key]

    return _build


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """A running moto_server plus a runner for the real AWS CLI pointed at it."""

    def __init__(self, proc, port, log, aws_bin, home):
        self.proc, self.port, self.log, self.aws_bin = proc, port, log, aws_bin
        self.endpoint = f"http://127.0.0.1:{port}"
        cfg, creds = home / "config", home / "credentials"
        cfg.write_text("")
        creds.write_text("")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(cfg),
            "AWS_SHARED_CREDENTIALS_FILE": str(creds),
            "AWS_EC2_METADATA_DISABLED": "true",
            # Every service, S3 included (`deploy --s3-bucket` uploads with an S3 client that ignores
            # --endpoint-url), goes to moto. S3 by "localhost": moto reads a TemplateURL path-style only
            # when its host contains "localhost".
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_S3": f"http://localhost:{port}",
            "AWS_PAGER": "",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def aws_raw(self, *args, timeout=COMMAND_TIMEOUT):
        cmd = [self.aws_bin, "--endpoint-url", self.endpoint, "--region", REGION, "--output", "json", *args]
        return run(cmd, timeout=timeout, env=self.env)

    def aws(self, *args, timeout=COMMAND_TIMEOUT):
        """Run `aws ARGS`, assert success, return the parsed JSON (None for empty output)."""
        p = self.aws_raw(*args, timeout=timeout)
        assert p.returncode == 0, f"aws {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}\n{self.tail()}"
        return json.loads(p.stdout) if p.stdout.strip() else None

    def aws_many(self, calls, workers=4):
        """Run several `aws` calls in parallel (each CLI start costs about a second)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda args: self.aws(*args), calls))

    def tail(self, n=40):
        try:
            return "--- moto log (tail) ---\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@pytest.fixture(scope="module")
def moto(tool, tmp_path_factory):
    moto_bin, aws_bin = tool("moto_server"), tool("aws")
    home = tmp_path_factory.mktemp("aws-home")
    log = home / "moto.log"
    port = _free_port()
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [str(moto_bin), "-H", "127.0.0.1", "-p", str(port)],
            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Moto(proc, port, log, aws_bin, home)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"moto_server exited with {proc.returncode}\n{server.tail()}"
            try:
                with _NO_PROXY.open(f"{server.endpoint}/moto-api/", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"moto_server did not answer on port {port}\n{server.tail()}"
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)

"""The idle check installed by the on-start script, run against a real Jupyter server (https, token) and a
moto SageMaker API holding an InService notebook instance. The limit is a fraction of a minute here; the
systemd service installs it in whole minutes, and the checker always measures with the real clock."""
import datetime as dt
import importlib.util
import json
import re
import subprocess
import sys
import time

import pytest

from conftest import TOKEN, Jupyter, build, free_port, http, moto, refused_port, self_signed

LIMIT_MINUTES = 0.05  # 3 s
QUIET = 4.5  # seconds to wait for "older than the limit"
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/"


def installed(nbsynth, instance, tmp_path, blueprint):
    """The checker and the command of its systemd service as the built on-start script installs them,
    with the timer enabled and started in the same run (the root volume is new at every start)."""
    run = instance.run(build(nbsynth, blueprint, tmp_path / f"out-{blueprint}")["on-start"])
    assert run.returncode == 0, run.stdout + run.stderr
    service = (instance.root / "etc/systemd/system/nbsynth-idle.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", service, re.M).group(1).split()
    assert exec_start[:4] == ["/usr/bin/python3", "-I", "-S", "/opt/nbsynth/idle.py"], exec_start
    assert exec_start[4].isdigit(), exec_start
    assert "systemctl enable --now nbsynth-idle.timer" in instance.calls_made()
    timer = (instance.root / "etc/systemd/system/nbsynth-idle.timer").read_text()
    assert "OnUnitActiveSec=5min" in timer and "WantedBy=timers.target" in timer
    flags = [w for w in exec_start[5:] if w.startswith("--")]
    return instance.root / "opt/nbsynth/idle.py", flags


class Stack:
    def __init__(self, base, jupyter, sagemaker_url, idle_py, flags):
        self.base, self.jupyter, self.sagemaker_url = base, jupyter, sagemaker_url
        self.idle_py, self.flags = idle_py, flags
        import boto3

        self.sm = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=sagemaker_url,
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        self.name = None

    def notebook(self, name):
        self.sm.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium",
                                         RoleArn="arn:aws:iam::123456789012:role/nbsynth-test")
        assert self.status(name) == "InService"
        meta = self.base / f"{name}.json"
        meta.write_text(json.dumps({"ResourceArn": ACCOUNT_ARN + name, "ResourceName": name}))
        self.name = name
        return name

    def status(self, name=None):
        return self.sm.describe_notebook_instance(NotebookInstanceName=name or self.name)["NotebookInstanceStatus"]

    def check(self, flags=None, **env_overrides):
        """Runs the checker as its service does (isolated, no site-packages); returns (exit code, log)."""
        env = {"PATH": "/usr/bin:/bin", "NBSYNTH_JUPYTER_URL": self.jupyter.url,
               "NBSYNTH_JUPYTER_RUNTIME": str(self.base / "runtime"),
               "NBSYNTH_METADATA": str(self.base / f"{self.name}.json"),
               "AWS_ENDPOINT_URL": self.sagemaker_url, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "session"}
        env.update(env_overrides)
        flags = self.flags if flags is None else flags
        run = subprocess.run([sys.executable, "-I", "-S", str(self.idle_py), str(LIMIT_MINUTES), *flags], env=env,
                             capture_output=True, text=True, timeout=60)
        return run.returncode, run.stdout + run.stderr

    def kernel(self):
        status, body = http("POST", self.jupyter.url + "api/kernels", body={"name": "python3"})
        assert status == 201, body
        kid = json.loads(body)["id"]
        # Until a client talks to it a new kernel stays "starting" (the state autostop.py waits on
        # forever); one request over its own channels makes it "idle" without a server connection.
        client = self.client(kid)
        client.wait_for_ready(timeout=60)
        deadline = time.time() + 60
        try:
            while self.kernel_state(kid) != "idle":
                assert time.time() < deadline, f"kernel stayed {self.kernel_state(kid)}"
                # On a loaded machine the server can miss the first status message: ask again
                # (a kernel_info request makes the kernel publish its state once more).
                client.kernel_info()
                time.sleep(0.3)
        finally:
            client.stop_channels()
        return kid

    def client(self, kid):
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(self.base / f"runtime/kernel-{kid}.json"))
        client.load_connection_file()
        # The heartbeat's default second is too short on a loaded test machine.
        client.hb_channel.time_to_dead = 30.0
        client.start_channels()
        return client

    def kernel_state(self, kid):
        status, body = http("GET", self.jupyter.url + f"api/kernels/{kid}?no_track_activity=1")
        return json.loads(body)["execution_state"]


@pytest.fixture
def stack(nbsynth, instance, tmp_path, venv_bin, request):
    idle_py, flags = installed(nbsynth, instance, tmp_path, getattr(request, "param", "full"))
    base = instance.base
    cert, key = self_signed(base)
    (base / "cfg").mkdir()
    env = {"HOME": str(base), "PATH": f"{venv_bin}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "JUPYTER_CONFIG_DIR": str(base / "cfg"), "JUPYTER_RUNTIME_DIR": str(base / "runtime")}
    jport, mport = free_port(), free_port()
    cmd = [str(venv_bin / "python"), "-m", "jupyter_server", "--allow-root", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={jport}", "--ServerApp.port_retries=0", "--ServerApp.open_browser=False",
           f"--ServerApp.certfile={cert}", f"--ServerApp.keyfile={key}", f"--IdentityProvider.token={TOKEN}",
           f"--ServerApp.root_dir={instance.home / 'SageMaker'}"]
    jupyter = Jupyter(cmd, env, jport, log=base / "jupyter.log")
    try:
        with moto(venv_bin, mport) as sagemaker_url:
            yield Stack(base, jupyter, sagemaker_url, idle_py, flags)
    finally:
        jupyter.stop()


def test_an_idle_kernel_older_than_the_limit_stops_the_instance(stack):
    name = stack.notebook("nb-idle")
    stack.kernel()
    time.sleep(QUIET)
    code, log = stack.check()
    assert code == 0, log
    assert f"idle, stopping {name}: last activity" in log and f"stop of {name} requested" in log
    assert stack.status() == "Stopped"


def test_a_busy_kernel_keeps_the_instance(stack):
    stack.notebook("nb-busy")
    kid = stack.kernel()
    client = stack.client(kid)
    try:
        client.execute("import time; time.sleep(60)")
        deadline = time.time() + 30
        while stack.kernel_state(kid) != "busy":
            assert time.time() < deadline, "the kernel never became busy"
            time.sleep(0.2)
        time.sleep(QUIET)
        code, log = stack.check(flags=["--ignore-connections"])
        assert code == 0, log
        assert f"kernel busy: {kid}" in log
        assert stack.status() == "InService"
    finally:
        client.stop_channels()


def test_recent_activity_keeps_the_instance(stack):
    stack.notebook("nb-recent")
    stack.kernel()
    time.sleep(QUIET)
    assert http("GET", stack.jupyter.url + "api/contents")[0] == 200  # a user's request: activity
    code, log = stack.check()
    assert code == 0, log
    assert "active, keeping nb-recent" in log and "API request" in log
    assert stack.status() == "InService"


def test_terminal_activity_counts_and_a_quiet_terminal_does_not(stack):
    stack.notebook("nb-term")
    stack.kernel()
    time.sleep(QUIET)
    status, body = http("POST", stack.jupyter.url + "api/terminals")
    assert status == 200, body
    term = json.loads(body)["name"]
    # Ignoring connections also ignores API requests, so only the terminal's own activity is left.
    code, log = stack.check(flags=["--ignore-connections"])
    assert code == 0, log
    assert "active, keeping nb-term: last activity" in log and f"terminal {term}" in log
    assert stack.status() == "InService"
    time.sleep(QUIET)
    code, log = stack.check(flags=["--ignore-connections"])
    assert code == 0 and "idle, stopping nb-term" in log, log
    assert stack.status() == "Stopped"


WS_CLIENT = """
import asyncio, ssl, sys
from tornado import httpclient, websocket
async def main():
    req = httpclient.HTTPRequest(sys.argv[1], headers={"Authorization": "token " + sys.argv[2]},
                                 ssl_options=ssl._create_unverified_context())
    ws = await websocket.websocket_connect(req)
    print("connected", flush=True)
    await asyncio.sleep(120)
asyncio.run(main())
"""


def test_an_open_connection_keeps_the_instance_unless_ignored(stack, venv_bin):
    stack.notebook("nb-conn")
    kid = stack.kernel()
    url = stack.jupyter.url.replace("https://", "wss://") + f"api/kernels/{kid}/channels"
    client = subprocess.Popen([str(venv_bin / "python"), "-c", WS_CLIENT, url, TOKEN], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert client.stdout.readline().strip() == "connected"
        time.sleep(QUIET)
        code, log = stack.check(flags=[])
        assert code == 0, log
        assert "active, keeping nb-conn: 1 open kernel connection(s)" in log
        assert stack.status() == "InService"
        code, log = stack.check(flags=["--ignore-connections"])
        assert code == 0 and "idle, stopping nb-conn" in log, log
        assert stack.status() == "Stopped"
    finally:
        client.kill()
        client.wait(timeout=10)


@pytest.mark.parametrize("stack", ["ignore"], indirect=True)
def test_the_ignore_connections_blueprint_installs_the_flag(stack):
    assert stack.flags == ["--ignore-connections"]


def test_sagemaker_unreachable_stops_nothing_and_says_why(stack):
    stack.notebook("nb-noapi")
    stack.kernel()
    time.sleep(QUIET)
    with refused_port() as port:
        code, log = stack.check(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    assert code == 1, log
    assert "idle, stopping nb-noapi" in log
    assert "not stopped: error stopping nb-noapi:" in log and "Connection refused" in log
    assert stack.status() == "InService"


def test_jupyter_unreachable_or_plain_http_stops_nothing(stack):
    stack.notebook("nb-nojupyter")
    time.sleep(QUIET)
    with refused_port() as port:
        for url in (f"https://127.0.0.1:{port}/", stack.jupyter.url.replace("https://", "http://")):
            code, log = stack.check(NBSYNTH_JUPYTER_URL=url)
            assert code == 1, log
            assert "not stopped: error asking Jupyter" in log, log
    assert stack.status() == "InService"
    code, log = stack.check(NBSYNTH_JUPYTER_TOKEN="wrong")
    assert code == 1 and "403" in log, log
    assert stack.status() == "InService"


def test_unreadable_metadata_stops_nothing(stack):
    stack.notebook("nb-meta")
    code, log = stack.check(NBSYNTH_METADATA=str(stack.base / "missing.json"))
    assert code == 1 and "not stopped: error reading the instance metadata" in log, log
    assert stack.status() == "InService"


# The checker's pure parts, loaded from the installed file.


def load(instance, nbsynth, tmp_path):
    idle_py, _ = installed(nbsynth, instance, tmp_path, "full")
    spec = importlib.util.spec_from_file_location("nbsynth_idle", idle_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_signature_matches_botocore(instance, nbsynth, tmp_path):
    from unittest import mock

    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    idle = load(instance, nbsynth, tmp_path)
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    url = "https://api.sagemaker.eu-west-1.amazonaws.com/"
    body = b'{"NotebookInstanceName": "nb-alice"}'
    sent = []
    # The signing code's inputs frozen: the clock, the credentials, and the wire (the request is kept).
    idle.dt = mock.Mock(datetime=mock.Mock(now=lambda tz: now))
    idle.credentials = lambda: ("AKIDEXAMPLE", "secret/key", "session-token")
    idle.fetch = lambda request: sent.append(request) or "{}"
    with mock.patch.dict(idle.os.environ, {}, clear=True):
        idle.call("POST", "sagemaker", "eu-west-1", "/", body=body, host="api.sagemaker", headers={
            "content-type": "application/x-amz-json-1.1", "x-amz-target": "SageMaker.StopNotebookInstance"})
    assert sent[0].full_url == url
    ours = {k.lower(): v for k, v in sent[0].header_items()}
    req = botocore.awsrequest.AWSRequest(method="POST", url=url, data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.StopNotebookInstance"})
    creds = botocore.credentials.Credentials("AKIDEXAMPLE", "secret/key", "session-token")
    class Frozen(dt.datetime):
        @classmethod
        def utcnow(cls):
            return now.replace(tzinfo=None)

    with mock.patch.object(botocore.auth.datetime, "datetime", Frozen):
        botocore.auth.SigV4Auth(creds, "sagemaker", "eu-west-1").add_auth(req)
    assert ours["authorization"] == req.headers["Authorization"]


def test_timestamps_and_a_stuck_kernel(instance, nbsynth, tmp_path):
    idle = load(instance, nbsynth, tmp_path)
    utc = dt.timezone.utc
    assert idle.when("2026-01-02T03:04:05Z") == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=utc)
    assert idle.when("2026-01-02T03:04:05.250000Z") == dt.datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=utc)
    assert idle.when("2026-01-02T03:04:05.5+00:00") == dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=utc)
    with pytest.raises(ValueError):
        idle.when("2026-01-02T03:04:05+02:00")
    old, now = "2026-01-02T00:00:00Z", dt.datetime(2026, 1, 2, 2, 0, tzinfo=utc)
    answers = {"api/status": {"started": old, "last_activity": old, "connections": 0, "kernels": 1},
               "api/kernels?no_track_activity=1": [{"id": "k1", "execution_state": "starting", "last_activity": "2026-01-02T00:30:00Z"}],
               "api/terminals?no_track_activity=1": []}
    idle_now, why = idle.decide(answers.__getitem__, 3600, False, now)
    assert idle_now and "kernel k1 (starting)" in why


def test_the_checker_is_python_3_7_syntax(instance, nbsynth, tmp_path):
    # Amazon Linux 2's system python3 is 3.7: no syntax newer than that.
    import ast

    idle_py, _ = installed(nbsynth, instance, tmp_path, "full")
    ast.parse(idle_py.read_text(), feature_version=(3, 7))

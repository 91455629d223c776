"""The CodeArtifact pip mirror end to end, on loopback: the on-start hook installs the token service and its
timer, the service (the installed script, run by the instance's stdlib-only python3 the way its unit runs it)
signs its calls to the CodeArtifact API and writes /etc/pip.conf, and the real pip resolves a wheel through
that file from a PyPI "simple" index that, like a CodeArtifact repository endpoint, wants `aws:<token>`.

moto 5.2.5 has no CodeArtifact, so `CodeArtifactStandIn` below serves the two operations the service calls
with the service's own paths, query parameters and JSON shapes (botocore's model of codeartifact
2018-09-22) and verifies each request's SigV4 signature with botocore's signer."""
import ast
import base64
import hashlib
import http.server
import io
import json
import os
import pathlib
import re
import secrets
import subprocess
import threading
import time
import types
import urllib.parse
import zipfile

import pytest

from conftest import build, free_port, need, need_root

REGION = "us-east-1"
DOMAIN, OWNER, REPOSITORY = "acme", "111122223333", "pypi-store"
KEY_ID, SECRET, SESSION = "AKIDNBSYNTHTEST", "nbsynth-test-secret", "nbsynth-session-token"
PACKAGE, VERSION = "nbsynth-probe", "1.0"
WHEEL = f"nbsynth_probe-{VERSION}-py3-none-any.whl"


def tiny_wheel() -> bytes:
    """A real (installable) wheel of one module, made here."""
    dist = f"nbsynth_probe-{VERSION}.dist-info"
    files = {
        "nbsynth_probe.py": "ANSWER = 42\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {VERSION}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: nbsynth-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record += f"{name},sha256={digest},{len(text.encode())}\n"
    files[f"{dist}/RECORD"] = record + f"{dist}/RECORD,,\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


class Server:
    """A threaded HTTP server on 127.0.0.1 whose handler is `self.handle(request)`."""

    def __init__(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.dispatch(self)

            def do_POST(self):
                outer.dispatch(self)

        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def dispatch(self, h):
        body = h.rfile.read(int(h.headers.get("content-length") or 0))
        status, headers, payload = self.handle(h, body)
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("content-length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class CodeArtifactStandIn(Server):
    """GetRepositoryEndpoint and GetAuthorizationToken as CodeArtifact answers them (rest-json), for one
    domain/owner/repository; every request must carry a valid SigV4 signature for service codeartifact."""

    def __init__(self, repository_url: str):
        self.repository_url = repository_url
        self.tokens = {}  # token -> expiration (epoch seconds)
        self.calls = []
        self.fail = False
        super().__init__()

    def signature_problem(self, h, body: bytes):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        auth = h.headers.get("authorization", "")
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
        if not m:
            return f"no SigV4 authorization header: {auth!r}"
        key, _, region, service, signed, signature = m.groups()
        if (key, region, service) != (KEY_ID, REGION, "codeartifact"):
            return f"signed for {key}/{region}/{service}"
        if h.headers.get("x-amz-security-token") != SESSION:
            return "no session token"
        names = signed.split(";")
        request = AWSRequest(method=h.command, url=f"http://{h.headers['host']}{h.path}", data=body,
                             headers={n: h.headers[n] for n in names})
        signer = SigV4Auth(Credentials(KEY_ID, SECRET, SESSION), "codeartifact", REGION)
        request.context["timestamp"] = h.headers["x-amz-date"]
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        return None if secrets.compare_digest(expected, signature) else "signature does not match"

    def handle(self, h, body):
        url = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        self.calls.append((h.command, url.path, q))
        problem = self.signature_problem(h, body)
        if problem:
            return 403, {"x-amzn-errortype": "InvalidSignatureException"}, json.dumps({"message": problem}).encode()
        if self.fail:
            return 500, {"x-amzn-errortype": "InternalServerException"}, b'{"message":"stand-in told to fail"}'
        if (q.get("domain"), q.get("domain-owner")) != (DOMAIN, OWNER):
            return 404, {"x-amzn-errortype": "ResourceNotFoundException"}, b'{"message":"no such domain"}'
        if (h.command, url.path) == ("GET", "/v1/repository/endpoint"):
            if (q.get("repository"), q.get("format")) != (REPOSITORY, "pypi"):
                return 404, {}, b'{"message":"no such repository or format"}'
            return 200, {"content-type": "application/json"}, json.dumps(
                {"repositoryEndpoint": self.repository_url}).encode()
        if (h.command, url.path) == ("POST", "/v1/authorization-token"):
            duration = int(q.get("duration", 43200))
            if not (duration == 0 or 900 <= duration <= 43200):
                return 400, {"x-amzn-errortype": "ValidationException"}, b'{"message":"bad duration"}'
            token = secrets.token_urlsafe(48) + ".+/="  # characters a URL must quote
            self.tokens[token] = time.time() + duration
            return 200, {"content-type": "application/json"}, json.dumps(
                {"authorizationToken": token, "expiration": self.tokens[token]}).encode()
        return 404, {}, b'{"message":"unknown operation"}'


class PrivateIndex(Server):
    """A PyPI simple index for one wheel, answering only Basic `aws:<token>` with a token the stand-in issued
    and has not revoked, as a CodeArtifact repository endpoint does."""

    def __init__(self, codeartifact: CodeArtifactStandIn, wheel: bytes):
        self.codeartifact, self.wheel = codeartifact, wheel
        self.denied = 0
        super().__init__()

    def handle(self, h, body):
        auth = h.headers.get("authorization", "")
        user, _, token = base64.b64decode(auth[6:]).decode().partition(":") if auth.startswith("Basic ") else ("", "", "")
        if user != "aws" or self.codeartifact.tokens.get(token, 0) < time.time():
            self.denied += 1
            return 401, {"www-authenticate": 'Basic realm="codeartifact"'}, b"Unauthorized"
        base = f"/pypi/{REPOSITORY}/simple/"
        if h.path == base:
            return 200, {"content-type": "text/html"}, f'<a href="{PACKAGE}/">{PACKAGE}</a>'.encode()
        if h.path == f"{base}{PACKAGE}/":
            digest = hashlib.sha256(self.wheel).hexdigest()
            return 200, {"content-type": "text/html"}, (
                f'<a href="../../files/{WHEEL}#sha256={digest}">{WHEEL}</a>').encode()
        if h.path == f"/pypi/{REPOSITORY}/files/{WHEEL}":
            return 200, {"content-type": "application/octet-stream"}, self.wheel
        return 404, {}, b"not found"


SYSTEMCTL = """#!/bin/sh
# Records every call; `start X.service` runs the unit's ExecStart as systemd would, with /opt under the
# sandbox root (the paths the hook wrote).
echo "systemctl $*" >> "{log}"
if [ "$1" = start ]; then
  cmd=$(sed -n 's/^ExecStart=//p' "$NBSYNTH_ROOT/etc/systemd/system/$2" | sed "s|/opt/|$NBSYNTH_ROOT/opt/|g")
  [ -n "$cmd" ] || exit 5
  $cmd >> "{journal}" 2>&1
fi
"""


@pytest.fixture
def mirror(nbsynth, instance, tmp_path):
    """The built hook run in the sandbox (services on loopback), its stand-ins and pip's environment."""
    need_root()
    # The system interpreter, as on the instance (not a venv's or a version manager's).
    python3 = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else need("python3")
    wheel = tiny_wheel()
    api = CodeArtifactStandIn(repository_url="")
    index = PrivateIndex(api, wheel)
    api.repository_url = f"{index.url}/pypi/{REPOSITORY}/"
    journal = instance.base / "journal.log"
    (instance.bin / "systemctl").write_text(SYSTEMCTL.format(log=instance.calls, journal=journal))
    metadata = instance.root / "opt/ml/metadata/resource-metadata.json"
    env = {"PATH": f"{instance.bin}:/usr/sbin:/usr/bin:/sbin:/bin", "NBSYNTH_ROOT": str(instance.root),
           "LANG": "C.UTF-8", "TMPDIR": str(instance.base), "AWS_ENDPOINT_URL": api.url,
           "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": SESSION,
           "NBSYNTH_METADATA": str(metadata)}
    script = build(nbsynth, "codeartifact", tmp_path / "out")["on-start"]
    path = instance.base / "on-start.sh"
    path.write_text(script)
    hook = subprocess.run(["bash", str(path)], env=env, capture_output=True, text=True, timeout=120)

    def refresh(**overrides):
        """One run of the installed service, exactly as its unit's ExecStart says (stdlib only: -I -S)."""
        unit = (instance.root / "etc/systemd/system/nbsynth-codeartifact.service").read_text()
        cmd = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).replace("/opt/", f"{instance.root}/opt/")
        argv = cmd.split()
        assert argv[0] == "/usr/bin/python3"
        return subprocess.run([python3, "-S", *argv[1:]], env={**env, **overrides}, capture_output=True, text=True,
                              timeout=120)

    home = instance.base / "piphome"
    home.mkdir()
    pip_env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PIP_CONFIG_FILE": str(instance.root / "etc/pip.conf"),
               "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1",
               "PIP_RETRIES": "0", "PIP_TIMEOUT": "10", "PIP_NO_KEYRING": "1", "PIP_KEYRING_PROVIDER": "disabled"}

    m = types.SimpleNamespace(api=api, index=index, hook=hook, refresh=refresh, journal=journal, pip_env=pip_env,
                              conf=instance.root / "etc/pip.conf",
                              state=instance.root / "var/lib/nbsynth/codeartifact.json")
    try:
        yield m
    finally:
        index.close()
        api.close()


def verify(units: pathlib.Path) -> None:
    """systemd's own check of the two units (unknown keys, a timer without a schedule, a bad ExecStart)."""
    analyze = need("systemd-analyze")
    names = ["./nbsynth-codeartifact.service", "./nbsynth-codeartifact.timer"]
    run = subprocess.run([analyze, "verify", *names], cwd=units, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and not run.stderr.strip(), run.stdout + run.stderr


def test_systemd_verify_catches_a_broken_timer(tmp_path):
    # Control for verify(): a misspelt schedule is reported.
    (tmp_path / "nbsynth-codeartifact.service").write_text(
        "[Service]\nType=oneshot\nExecStart=/usr/bin/python3 -I /opt/nbsynth/codeartifact.py a 111122223333 r\n")
    (tmp_path / "nbsynth-codeartifact.timer").write_text("[Timer]\nOnUnitActivSec=30min\n")
    with pytest.raises(AssertionError):
        verify(tmp_path)


def pip_download(m, venv_bin, dest: pathlib.Path, conf=None):
    env = dict(m.pip_env)
    if conf is not None:
        env["PIP_CONFIG_FILE"] = str(conf)
    return subprocess.run([str(venv_bin / "python"), "-m", "pip", "download", "--no-deps", "-d", str(dest), PACKAGE],
                          env=env, capture_output=True, text=True, timeout=180)


def index_url(conf: pathlib.Path) -> str:
    return re.fullmatch(r"\[global\]\nindex-url = (\S+)\n", conf.read_text()).group(1)


def test_the_hook_installs_the_service_and_timer_and_fetches_the_first_token(mirror, instance):
    assert mirror.hook.returncode == 0, mirror.hook.stdout + mirror.hook.stderr
    calls = [c for c in instance.calls_made() if c.startswith("systemctl")]
    assert calls[:3] == ["systemctl daemon-reload", "systemctl enable --now nbsynth-codeartifact.timer",
                         "systemctl start nbsynth-codeartifact.service"], calls
    r = instance.root
    timer = (r / "etc/systemd/system/nbsynth-codeartifact.timer").read_text()
    assert "OnUnitActiveSec=5min\n" in timer and "WantedBy=timers.target\n" in timer
    service = (r / "etc/systemd/system/nbsynth-codeartifact.service").read_text()
    assert f"ExecStart=/usr/bin/python3 -I /opt/nbsynth/codeartifact.py {DOMAIN} {OWNER} {REPOSITORY}\n" in service
    verify(r / "etc/systemd/system")
    # The instance's python3 is 3.9 (3.7 on older images): no newer syntax.
    ast.parse((r / "opt/nbsynth/codeartifact.py").read_text(), feature_version=(3, 7))
    # The first token came through the unit's own command line, signed, with the duration the role allows.
    assert ("GET", "/v1/repository/endpoint", {"domain": DOMAIN, "domain-owner": OWNER, "format": "pypi",
                                               "repository": REPOSITORY}) in mirror.api.calls
    assert ("POST", "/v1/authorization-token", {"domain": DOMAIN, "domain-owner": OWNER,
                                                "duration": "21600"}) in mirror.api.calls
    # Root-owned, readable by ec2-user's pip, not writable by it; the expiry root-only.
    st = mirror.conf.stat()
    assert (st.st_uid, oct(st.st_mode & 0o777)) == (0, "0o644")
    assert oct(mirror.state.stat().st_mode & 0o777) == "0o600"
    url = index_url(mirror.conf)
    token = urllib.parse.unquote(urllib.parse.urlsplit(url).password)
    assert url.startswith("http://aws:") and url.endswith(f"@127.0.0.1:{mirror.index.port}/pypi/{REPOSITORY}/simple/")
    assert token in mirror.api.tokens
    assert not [p for p in mirror.conf.parent.iterdir() if p.name.startswith(".nbsynth-")], "temp file left"
    # A second start changes no file (the token is still fresh: no new call either).
    before, n = instance.snapshot(), len(mirror.api.calls)
    again = instance.run((instance.base / "on-start.sh").read_text())
    assert again.returncode == 0, again.stdout + again.stderr
    assert instance.snapshot() == before and len(mirror.api.calls) == n
    assert "token still valid for" in mirror.journal.read_text()


def test_pip_resolves_through_the_written_conf_and_only_with_a_live_token(mirror, venv_bin, tmp_path):
    assert mirror.hook.returncode == 0, mirror.hook.stdout + mirror.hook.stderr
    ok = pip_download(mirror, venv_bin, tmp_path / "ok")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (tmp_path / "ok" / WHEEL).read_bytes() == tiny_wheel()

    # Without the credentials the same index refuses pip (the 401).
    bare = tmp_path / "bare.conf"
    bare.write_text(re.sub(r"//aws:[^@]+@", "//", mirror.conf.read_text()))
    denied = mirror.index.denied
    no_token = pip_download(mirror, venv_bin, tmp_path / "bare", conf=bare)
    # (pip reports "no matching distribution"; the index counts the 401s it answered)
    assert no_token.returncode != 0 and mirror.index.denied > denied, no_token.stdout + no_token.stderr
    assert not (tmp_path / "bare" / WHEEL).exists()

    # A stale token (expired at the service) is refused too.
    for t in mirror.api.tokens:
        mirror.api.tokens[t] = time.time() - 1
    denied = mirror.index.denied
    stale = pip_download(mirror, venv_bin, tmp_path / "stale")
    assert stale.returncode != 0 and mirror.index.denied > denied, stale.stdout + stale.stderr

    # The refresh replaces it once the recorded expiry is near, and pip works again.
    old = index_url(mirror.conf)
    mirror.state.write_text(json.dumps({"expiration": time.time() + 600}) + "\n")
    run = mirror.refresh()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "pip.conf written for acme/pypi-store; the token expires at" in run.stdout
    assert index_url(mirror.conf) != old
    expiry = json.loads(mirror.state.read_text())["expiration"]
    assert 21000 < expiry - time.time() <= 21600
    again = pip_download(mirror, venv_bin, tmp_path / "again")
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_failed_refresh_keeps_the_old_conf_and_says_why(mirror):
    assert mirror.hook.returncode == 0, mirror.hook.stdout + mirror.hook.stderr
    before = mirror.conf.read_bytes()
    mirror.state.write_text(json.dumps({"expiration": time.time() + 60}) + "\n")
    mirror.api.fail = True
    run = mirror.refresh()
    assert run.returncode == 1
    assert "token not refreshed: error asking for the repository endpoint: " in run.stdout
    assert f"127.0.0.1:{mirror.api.port} answered 500" in run.stdout
    assert mirror.conf.read_bytes() == before
    assert not [p for p in mirror.conf.parent.iterdir() if p.name.startswith(".nbsynth-")], "temp file left"

    # Signed with the wrong secret: the stand-in's signature check refuses it, nothing is written either.
    mirror.api.fail = False
    run = mirror.refresh(AWS_SECRET_ACCESS_KEY="not-the-secret")
    assert run.returncode == 1 and "answered 403" in run.stdout and "signature does not match" in run.stdout
    assert mirror.conf.read_bytes() == before
    # Control: the same run with the right secret succeeds.
    run = mirror.refresh()
    assert run.returncode == 0, run.stdout + run.stderr
    assert mirror.conf.read_bytes() != before

"""The API calls an owner makes, against a deployed stack in a moto_server that enforces IAM.

The `jobs` example names access principals (role `alice`, user `bob`). After deploying its template
as an administrator, the test acts as each principal with the access policy the stack attached:
alice stops and starts her own notebook and describes it, bob his; each is denied the other's
notebook, the actions the policy does not grant, and a principal without the policy is denied
everything. What moto 5.2.5 cannot show, and is covered by tests/python/iam (the simulator):
  - moto evaluates Action and Resource but not the calls SageMaker makes on the caller's behalf
    during a start (iam:PassRole, ec2:CreateNetworkInterface, kms:CreateGrant): it makes none;
  - moto has no CreatePresignedNotebookInstanceUrl: authorization runs before the missing
    operation, so the test asserts the owner passes authorization (the error is moto's
    "not implemented", not AccessDenied) and the other owner is denied;
  - moto's SageMaker responses authorize against `*`; moto_auth_server.py supplies the notebook
    ARN (see there);
  - moto ignores NotebookInstanceName from CloudFormation (it names notebooks
    <stack>-<LogicalId>-<random>): the notebooks the template names are created by the
    administrator through the API with the template's properties (name, role, instance type).
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
import yaml
from nbdeploy import REGION, adapt_for_moto, run

BLUEPRINT = "jobs"
ACCOUNT = "123456789012"  # moto's default account
# Requests moto serves without authentication: the administrator's user, its policy, its key.
NO_AUTH_REQUESTS = 3
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Server:
    def __init__(self, port, aws_bin, home):
        self.endpoint = f"http://127.0.0.1:{port}"
        self.port, self.aws_bin = port, aws_bin
        (home / "config").write_text("")
        (home / "credentials").write_text("")
        self.base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"), "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_ENDPOINT_URL_S3": f"http://localhost:{port}",
            "AWS_PAGER": "", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        }
        self.creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    def call(self, *args, creds=None, timeout=300):
        env = {**self.base_env, **(creds or self.creds)}
        return run([self.aws_bin, "--endpoint-url", self.endpoint, "--region", REGION, "--output", "json", *args],
                   timeout=timeout, env=env)

    def ok(self, *args, creds=None, timeout=300):
        p = self.call(*args, creds=creds, timeout=timeout)
        assert p.returncode == 0, f"aws {' '.join(args)}: {p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else None


def _keys(out):
    k = out["AccessKey"] if "AccessKey" in out else out["Credentials"]
    creds = {"AWS_ACCESS_KEY_ID": k["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": k["SecretAccessKey"]}
    if "SessionToken" in k:
        creds["AWS_SESSION_TOKEN"] = k["SessionToken"]
    return creds


@pytest.fixture(scope="module")
def server(tool, tmp_path_factory):
    moto_python, aws_bin = tool("python"), tool("aws")
    home = tmp_path_factory.mktemp("aws-home-auth")
    port = _free_port()
    log = home / "moto.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(NO_AUTH_REQUESTS)}
    with open(log, "w") as fh:
        proc = subprocess.Popen([str(moto_python), str(pathlib.Path(__file__).resolve().parent / "moto_auth_server.py"), "-H", "127.0.0.1",
                                 "-p", str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with _NO_PROXY.open(f"http://127.0.0.1:{port}/moto-api/", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        s = Server(port, aws_bin, home)
        # The only unauthenticated requests: an administrator and its access key.
        s.ok("iam", "create-user", "--user-name", "admin")
        s.ok("iam", "put-user-policy", "--user-name", "admin", "--policy-name", "admin", "--policy-document", ADMIN_POLICY)
        s.creds = _keys(s.ok("iam", "create-access-key", "--user-name", "admin"))
        s.log = log
        yield s
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


def _free_port():
    """A free loopback port (the socket is closed before moto binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def denied(p):
    return p.returncode != 0 and ("AccessDenied" in p.stderr or "not authorized" in p.stderr)


def test_owner_starts_own_notebook_and_not_anothers(server, build, root):
    template_path = build(root / "blueprints" / f"{BLUEPRINT}.yaml")
    template = yaml.safe_load(template_path.read_text())
    adapted, _ = adapt_for_moto(template)

    # Auth is on: the default test credentials, unknown to moto, are refused.
    anon = server.call("sagemaker", "list-notebook-instances",
                       creds={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    assert anon.returncode != 0, "moto does not enforce IAM: the test would prove nothing"

    # Principals outside the stack (access.principals), created before the deploy as in AWS.
    # (moto checks a trust policy's principal literally, so it names the user who assumes the role)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"}, "Action": "sts:AssumeRole"}]})
    server.ok("iam", "create-role", "--role-name", "alice", "--assume-role-policy-document", trust)
    server.ok("iam", "create-user", "--user-name", "bob")
    server.ok("iam", "create-user", "--user-name", "carol")  # no policy: the control principal

    path = template_path.parent / "jobs.moto.json"
    path.write_text(json.dumps(adapted))
    server.ok("s3api", "create-bucket", "--bucket", "nbsynth-templates")
    p = server.call("cloudformation", "deploy", "--template-file", str(path), "--stack-name", "nbsynth-jobs",
                    "--capabilities", "CAPABILITY_NAMED_IAM", "--s3-bucket", "nbsynth-templates", timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in server.ok(
        "cloudformation", "list-stack-resources", "--stack-name", "nbsynth-jobs")["StackResourceSummaries"]}
    roles = {r["RoleName"]: r["Arn"] for r in server.ok("iam", "list-roles")["Roles"]}

    # The access policies are attached where the blueprint says.
    attached = server.ok("iam", "list-attached-role-policies", "--role-name", "alice")["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [resources["AliceAccess"]]
    attached = server.ok("iam", "list-attached-user-policies", "--user-name", "bob")["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [resources["BobAccess"]]

    # The notebooks as the template names them (moto drops NotebookInstanceName from CloudFormation).
    for owner in ("alice", "bob"):
        props = template["Resources"][f"{owner.capitalize()}Notebook"]["Properties"]
        server.ok("sagemaker", "create-notebook-instance", "--notebook-instance-name", props["NotebookInstanceName"],
                  "--instance-type", props["InstanceType"], "--role-arn", roles[resources[f"{owner.capitalize()}Role"]])

    alice = _keys(server.ok("sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/alice",
                            "--role-session-name", "alice"))
    bob = _keys(server.ok("iam", "create-access-key", "--user-name", "bob"))
    carol = _keys(server.ok("iam", "create-access-key", "--user-name", "carol"))

    def nb(action, name, who):
        return server.call("sagemaker", action, "--notebook-instance-name", name, creds=who)

    def status(name, who):
        p = nb("describe-notebook-instance", name, who)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)["NotebookInstanceStatus"]

    log = []
    for who, creds, own, other in (("alice", alice, "jobs-alice", "jobs-bob"), ("bob", bob, "jobs-bob", "jobs-alice")):
        # own notebook: stop (as idle shutdown would), then start it again, describing each step
        p = nb("stop-notebook-instance", own, creds)
        assert p.returncode == 0, p.stderr
        assert status(own, creds) == "Stopped"
        p = nb("start-notebook-instance", own, creds)
        assert p.returncode == 0, p.stderr
        assert status(own, creds) in ("Pending", "InService")
        # presigned URL: authorized for the owner (moto then lacks the operation), denied for the other
        url_own = nb("create-presigned-notebook-instance-url", own, creds)
        assert not denied(url_own), url_own.stderr
        url_other = nb("create-presigned-notebook-instance-url", other, creds)
        assert denied(url_other), url_other.stderr
        # someone else's notebook, and what the policy does not grant
        for action in ("stop-notebook-instance", "start-notebook-instance", "describe-notebook-instance"):
            p = nb(action, other, creds)
            assert denied(p), f"{who} {action} {other}: {p.returncode} {p.stderr}"
        p = nb("delete-notebook-instance", own, creds)
        assert denied(p), p.stderr
        log.append(f"{who}: stop+start+describe own allowed, URL authorized; other's stop/start/describe/URL denied")
    # control: without the access policy, the same principal type is denied its start
    p = nb("start-notebook-instance", "jobs-alice", carol)
    assert denied(p), p.stderr
    print("\n  " + "\n  ".join(log + ["carol (no policy): start denied", f"presigned URL in moto: {url_own.stderr.strip()[:120]}"]))

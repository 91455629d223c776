"""Generated policies, made concrete, judged by the offline IAM simulator.

`Stack` builds a blueprint with nbsynth and resolves the template's intrinsics to plausible
physical values of one account and region (a role's ARN from its logical ID, a subnet ID from
its logical ID, ...), never to `*`, so a policy matches exactly what it would match in AWS.
`evaluate` runs a batch of requests through `@cloud-copilot/iam-simulate` under Node
(tests/iam/simulate.cjs); this module decides nothing about Allow or Deny itself.
"""
import json
import pathlib
import re
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[3]
SIM_DIR = ROOT / "tests" / "iam"
ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"


def arn(service, rest, region=REGION, account=ACCOUNT):
    return f"arn:aws:{service}:{region}:{account}:{rest}"


class Stack:
    def __init__(self, nbsynth, blueprint: pathlib.Path, out: pathlib.Path):
        p = subprocess.run(
            [str(nbsynth), "build", str(blueprint), "--out", str(out), "--format", "json", "--quiet"],
            capture_output=True, text=True, timeout=120,
        )
        assert p.returncode == 0, p.stderr
        (path,) = out.glob("*.template.json")
        self.template = json.loads(path.read_text())
        self.resources = self.template["Resources"]

    # Physical values by logical ID ------------------------------------------------------------
    def physical(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        if kind == "AWS::EC2::Subnet":
            return f"subnet-{logical.lower()}"
        if kind == "AWS::EC2::VPC":
            return "vpc-stack"
        if kind == "AWS::EC2::VPCEndpoint":
            return f"vpce-{logical.lower()}"
        if kind == "AWS::KMS::Key":
            return "1234abcd-12ab-34cd-56ef-1234567890ab"
        return logical

    def attribute(self, logical: str, att: str) -> str:
        kind = self.resources[logical]["Type"]
        if kind == "AWS::IAM::Role" and att == "Arn":
            return f"arn:aws:iam::{ACCOUNT}:role/{logical}"
        if kind == "AWS::KMS::Key" and att == "Arn":
            return arn("kms", f"key/{self.physical(logical)}")
        if kind == "AWS::EC2::SecurityGroup" and att == "GroupId":
            return f"sg-{logical.lower()}"
        raise AssertionError(f"no plausible value for {logical}.{att} ({kind})")

    def ref(self, name: str) -> str:
        pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.template["Parameters"][name]["Default"]
        return self.physical(name)

    def resolve(self, v):
        if isinstance(v, list):
            return [self.resolve(x) for x in v]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, a), = v.items()
            if k == "Ref":
                return self.ref(a)
            if k == "Fn::GetAtt":
                return self.attribute(*a)
            if k == "Fn::Join":
                return a[0].join(self.resolve(a[1]))
            if k == "Fn::Sub":
                assert isinstance(a, str)

                def var(m):
                    name = m.group(1)
                    if "." in name and not name.startswith("AWS::"):
                        return self.attribute(*name.split(".", 1))
                    return self.ref(name)

                return re.sub(r"\$\{([^}!]+)\}", var, a)
        return {k: self.resolve(x) for k, x in v.items()}

    # Policies ----------------------------------------------------------------------------------
    def policy(self, logical: str) -> dict:
        r = self.resources[logical]
        props = r["Properties"]
        if r["Type"] == "AWS::KMS::Key":
            return self.resolve(props["KeyPolicy"])
        return self.resolve(props["PolicyDocument"])

    def role_arn(self, logical: str) -> str:
        return self.attribute(logical, "Arn")

    def key_arn(self) -> str:
        return self.attribute("NotebookKey", "Arn")


def request(principal, action, resource, context=None, account=ACCOUNT):
    return {"principal": principal, "action": action,
            "resource": {"resource": resource, "accountId": account},
            "contextVariables": context or {}}


def evaluate(cases):
    """cases: [(name, simulation)] -> {name: (result, errors)}; one Node process for the batch."""
    node = shutil.which("node")
    assert node, "node is missing: run `bash .ci/setup-tools`"
    assert (SIM_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir(), (
        "tests/iam/node_modules is missing: run `bash .ci/setup-tools` (npm ci)")
    payload = json.dumps([{"name": n, "simulation": s} for n, s in cases])
    p = subprocess.run([node, "simulate.cjs"], cwd=SIM_DIR, input=payload, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return {r["name"]: (r["result"], r["errors"]) for r in json.loads(p.stdout)}

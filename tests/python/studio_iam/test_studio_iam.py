"""IAM behaviour of the Studio execution roles and sign-in policies, evaluated by the offline simulator
@cloud-copilot/iam-simulate (installed here with `npm ci` by .ci/setup-tools): the policies of the
committed example templates, resolved for one account and one domain id, against a table of requests.
A user can open and use only their own profile, space and apps; nothing on profiles, the domain,
lifecycle configurations; tagging only while creating; remote access never; data as granted."""
import json
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
ACCOUNT, REGION, DOMAIN = "111122223333", "us-east-1", "d-abcdef123456"
SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
VALUES = {
    "AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
    "StudioDomain.DomainId": DOMAIN, "StudioDomain.DomainArn": f"{SM}:domain/{DOMAIN}",
    "NotebookKey.Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0123abcd-0000-0000-0000-000000000000",
    "StudioEndpoint": "vpce-0studio0000000000", "SagemakerApiEndpoint": "vpce-0api000000000000",
}


def resolve(v):
    """The intrinsics the Studio policies use, with fixed values for this account and domain."""
    if isinstance(v, list):
        return [resolve(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: VALUES[m.group(1)], v["Fn::Sub"])
        if set(v) == {"Fn::GetAtt"}:
            return VALUES[".".join(v["Fn::GetAtt"])]
        if set(v) == {"Ref"}:
            return VALUES[v["Ref"]]
        return {k: resolve(x) for k, x in v.items()}
    return v


def policies(example: str) -> dict:
    t = yaml.safe_load((ROOT / "out" / f"{example}.template.yaml").read_text())
    return {lid: resolve(r["Properties"]["PolicyDocument"]) for lid, r in t["Resources"].items()
            if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and lid.endswith(("UserGrants", "UserSignIn"))}


def app(space, kind="jupyterlab"):
    return f"{SM}:app/{DOMAIN}/{space}/{kind}/default"


ALLOWED, DENIED = "Allowed", "ImplicitlyDenied"
# (example, policy, action, resource, context, expected)
CASES = [
    # carol's execution role: her own space and apps only
    ("studio", "CarolUserGrants", "sagemaker:CreateApp", app("carol-private"), {}, ALLOWED),
    ("studio", "CarolUserGrants", "sagemaker:DeleteApp", app("carol-private"), {}, ALLOWED),
    ("studio", "CarolUserGrants", "sagemaker:CreateApp", app("carol-private", "codeeditor"), {}, ALLOWED),
    ("studio", "CarolUserGrants", "sagemaker:CreateApp", app("carol-private", "jupyterserver"), {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:CreateApp", app("dan-private"), {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:DeleteApp", app("dan-private"), {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:DescribeSpace", f"{SM}:space/{DOMAIN}/carol-private", {}, ALLOWED),
    ("studio", "CarolUserGrants", "sagemaker:DescribeSpace", f"{SM}:space/{DOMAIN}/dan-private", {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:UpdateSpace", f"{SM}:space/{DOMAIN}/carol-private",
     {"sagemaker:RemoteAccess": "DISABLED"}, ALLOWED),
    ("studio", "CarolUserGrants", "sagemaker:UpdateSpace", f"{SM}:space/{DOMAIN}/carol-private",
     {"sagemaker:RemoteAccess": "ENABLED"}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:UpdateSpace", f"{SM}:space/{DOMAIN}/dan-private", {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:CreateSpace", f"{SM}:space/{DOMAIN}/carol-second", {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:AddTags", app("carol-private"),
     {"sagemaker:TaggingAction": "CreateApp"}, ALLOWED),
    ("studio", "CarolUserGrants", "sagemaker:AddTags", app("carol-private"), {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/carol", {}, ALLOWED),
    ("studio", "CarolUserGrants", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/dan", {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:UpdateUserProfile", f"{SM}:user-profile/{DOMAIN}/carol", {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:UpdateDomain", f"{SM}:domain/{DOMAIN}", {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:DescribeDomain", f"{SM}:domain/{DOMAIN}", {}, ALLOWED),
    ("studio", "CarolUserGrants", "sagemaker:CreateStudioLifecycleConfig",
     f"{SM}:studio-lifecycle-config/mine", {}, DENIED),
    ("studio", "CarolUserGrants", "sagemaker:DeleteStudioLifecycleConfig",
     f"{SM}:studio-lifecycle-config/studio-studio-0", {}, DENIED),
    ("studio", "CarolUserGrants", "s3:PutObject", "arn:aws:s3:::acme-ml-datasets/scratch/carol/x.csv", {}, ALLOWED),
    ("studio", "CarolUserGrants", "s3:PutObject", "arn:aws:s3:::acme-ml-datasets/scratch/dan/x.csv", {}, DENIED),
    ("studio", "CarolUserGrants", "s3:GetObject", "arn:aws:s3:::acme-ml-datasets/datasets/a.csv", {}, ALLOWED),
    # mixed.yaml lists only jupyterlab: no Code Editor app
    ("mixed", "AliceUserGrants", "sagemaker:CreateApp", app("alice-private"), {}, ALLOWED),
    ("mixed", "AliceUserGrants", "sagemaker:CreateApp", app("alice-private", "codeeditor"), {}, DENIED),
    # sign-in: own profile only, from the client network, through the Studio or API endpoint
    ("studio", "CarolUserSignIn", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/carol",
     {"aws:SourceIp": "203.0.113.10", "aws:SourceVpce": "vpce-0api000000000000"}, ALLOWED),
    ("studio", "CarolUserSignIn", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/carol",
     {"aws:SourceIp": "203.0.113.10", "aws:SourceVpce": "vpce-0studio0000000000"}, ALLOWED),
    ("studio", "CarolUserSignIn", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/carol",
     {"aws:SourceIp": "198.51.100.7", "aws:SourceVpce": "vpce-0api000000000000"}, DENIED),
    ("studio", "CarolUserSignIn", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/carol",
     {"aws:SourceIp": "203.0.113.10", "aws:SourceVpce": "vpce-0other000000000"}, DENIED),
    ("studio", "CarolUserSignIn", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/dan",
     {"aws:SourceIp": "203.0.113.10", "aws:SourceVpce": "vpce-0api000000000000"}, DENIED),
    ("mixed", "ErinUserSignIn", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/erin",
     {"aws:SourceIp": "198.51.100.20"}, ALLOWED),
    ("mixed", "ErinUserSignIn", "sagemaker:CreatePresignedDomainUrl", f"{SM}:user-profile/{DOMAIN}/alice",
     {"aws:SourceIp": "198.51.100.20"}, DENIED),
]


def simulate(cases: list) -> list:
    node = shutil.which("node")
    assert node, "node is required (see .ci/setup-tools)"
    assert (HERE / "node_modules/@cloud-copilot/iam-simulate").is_dir(), \
        f"run `npm ci` in {HERE} (.ci/setup-tools does)"
    run = subprocess.run([node, str(HERE / "simulate.cjs")], input=json.dumps(cases), capture_output=True,
                         text=True, timeout=120, cwd=HERE)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_studio_roles_and_sign_in_allow_only_the_users_own_profile_space_and_apps():
    docs = {ex: policies(ex) for ex in {c[0] for c in CASES}}
    sims = []
    for i, (ex, pol, action, resource, context, _) in enumerate(CASES):
        sims.append({"name": str(i), "simulation": {
            "identityPolicies": [{"name": pol, "policy": docs[ex][pol]}],
            "request": {"principal": f"arn:aws:iam::{ACCOUNT}:role/{pol}", "action": action,
                        "resource": {"resource": resource, "accountId": ACCOUNT},
                        "contextVariables": context}}})
    results = simulate(sims)
    wrong = []
    for (ex, pol, action, resource, context, expected), r in zip(CASES, results):
        if r["result"] != expected:
            wrong.append(f"{ex} {pol} {action} {resource} {context}: expected {expected}, got {r['result']} {r['errors'] or ''}")
    assert not wrong, "\n".join(wrong)


def test_the_simulator_can_deny_and_allow():
    """Control: the harness tells an allow from a deny (a policy that allows everything, and none)."""
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    req = {"principal": f"arn:aws:iam::{ACCOUNT}:role/x", "action": "sagemaker:UpdateDomain",
           "resource": {"resource": f"{SM}:domain/{DOMAIN}", "accountId": ACCOUNT}, "contextVariables": {}}
    got = simulate([{"name": "all", "simulation": {"identityPolicies": [{"name": "all", "policy": allow_all}], "request": req}},
                    {"name": "none", "simulation": {"identityPolicies": [], "request": req}}])
    assert [g["result"] for g in got] == [ALLOWED, DENIED]

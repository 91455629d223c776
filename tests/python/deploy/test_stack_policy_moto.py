"""The stack policy `build` writes, applied with the README's exact command to a stack in moto.

What this proves: the file is a policy document the real AWS CLI accepts from `file://` and the
CloudFormation API stores unchanged, written in the stack-policy grammar (Update:* actions,
Principal "*", LogicalResourceId/<id> resources), and it names exactly the data-holding resources
of the template beside it. What it cannot prove: moto 5.2.5 stores a stack policy but does not
enforce it (an update under a deny-all policy completes), so the denial itself is AWS's to show.
"""
import json

import yaml

DATA_HOLDING = {
    "AWS::SageMaker::NotebookInstance", "AWS::SageMaker::Domain", "AWS::SageMaker::UserProfile",
    "AWS::SageMaker::Space", "AWS::KMS::Key", "AWS::S3::Bucket", "AWS::EFS::FileSystem",
}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short forms (`!Ref x`) as plain values: only types and ids matter here."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_stack_policy_is_accepted_and_stored_as_written(moto, build, root, tmp_path):
    template_path = build(root / "blueprints" / "minimal.yaml")
    policy_path = template_path.parent / "minimal.stack-policy.json"
    policy = json.loads(policy_path.read_text())

    template = yaml.load(template_path.read_text(), Loader=_CfnLoader)
    holders = sorted(lid for lid, r in template["Resources"].items() if r["Type"] in DATA_HOLDING)
    assert holders, "the minimal stack has a notebook and a key"
    allow, deny = policy["Statement"]
    assert (allow["Effect"], allow["Action"], allow["Principal"], allow["Resource"]) == ("Allow", "Update:*", "*", "*")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert sorted(deny["Action"]) == ["Update:Delete", "Update:Replace"]
    assert deny["Resource"] == [f"LogicalResourceId/{lid}" for lid in holders]

    # Any stack will do for the API round trip; moto models SQS queues.
    stub = tmp_path / "stub.json"
    stub.write_text(json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}))
    moto.aws("cloudformation", "create-stack", "--stack-name", "minimal", "--template-body", f"file://{stub}")
    # The README's command, with the path build wrote.
    moto.aws("cloudformation", "set-stack-policy", "--stack-name", "minimal",
             "--stack-policy-body", f"file://{policy_path}")
    stored = moto.aws("cloudformation", "get-stack-policy", "--stack-name", "minimal")
    assert json.loads(stored["StackPolicyBody"]) == policy

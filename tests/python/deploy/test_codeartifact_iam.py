"""The CodeArtifact statements of the notebook roles, read by parliament (its copy of the Service
Authorization Reference): every action, resource ARN format and condition key fits, and the grants are
exactly the three the token service needs. A control shows parliament catches a wrong ARN and key."""
import json

import yaml

STACK = {"${AWS::Partition}": "aws", "${AWS::Region}": "us-east-1", "${AWS::AccountId}": "123456789012"}


def resolved(v, params):
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        for k, x in {**STACK, **{"${%s}" % p: d for p, d in params.items()}}.items():
            s = s.replace(k, x)
        assert "${" not in s, s
        return s
    if isinstance(v, list):
        return [resolved(x, params) for x in v]
    if isinstance(v, dict):
        return {k: resolved(x, params) for k, x in v.items()}
    return v


def findings(policy):
    from parliament import analyze_policy_string

    # parliament wants a JSON number for a Numeric condition; IAM reads condition values as strings
    # (the form moto requires): that one strictness is not a finding about the policy.
    return [(f.issue, str(f.detail)) for f in analyze_policy_string(json.dumps(policy)).findings
            if not (f.issue == "MISMATCHED_TYPE" and "requires a value of type Number but given String" in str(f.detail))]


def test_codeartifact_statements_fit_the_service_authorization_reference(root, build):
    template = yaml.safe_load(build(root / "blueprints" / "codeartifact.yaml").read_text())
    params = {k: v["Default"] for k, v in template.get("Parameters", {}).items() if "Default" in v}
    for owner in ("Alice", "Bob"):
        doc = template["Resources"][f"{owner}Permissions"]["Properties"]["PolicyDocument"]
        ours = [s for s in doc["Statement"] if s["Sid"].startswith("CodeArtifact")]
        policy = {"Version": "2012-10-17", "Statement": resolved(ours, params)}
        grants = {(a, s["Resource"] if isinstance(s["Resource"], str) else tuple(s["Resource"]))
                  for s in policy["Statement"] for a in s["Action"]}
        assert grants == {
            ("codeartifact:GetAuthorizationToken", "arn:aws:codeartifact:us-east-1:111122223333:domain/acme"),
            ("codeartifact:GetRepositoryEndpoint",
             "arn:aws:codeartifact:us-east-1:111122223333:repository/acme/pypi-store"),
            ("codeartifact:ReadFromRepository", "arn:aws:codeartifact:us-east-1:111122223333:repository/acme/pypi-store"),
            ("sts:GetServiceBearerToken", "*"),
        }
        bearer = next(s for s in policy["Statement"] if s["Action"] == ["sts:GetServiceBearerToken"])
        assert bearer["Condition"]["StringEquals"] == {"sts:AWSServiceName": "codeartifact.amazonaws.com"}
        assert findings(policy) == [], findings(policy)

        # Control: the same policy with the domain ARN on the repository actions and a misspelt key.
        bad = json.loads(json.dumps(policy))
        read = next(s for s in bad["Statement"] if s["Sid"] == "CodeArtifactRead")
        read["Resource"] = "arn:aws:codeartifact:us-east-1:111122223333:domain/acme"
        bearer = next(s for s in bad["Statement"] if s["Sid"] == "CodeArtifactBearerToken")
        bearer["Condition"]["StringEquals"] = {"sts:AWSServiceNam": "codeartifact.amazonaws.com"}
        issues = {i for i, _ in findings(bad)}
        assert {"RESOURCE_MISMATCH", "UNKNOWN_CONDITION_FOR_ACTION"} <= issues, issues

"""IAM behaviour of every generated policy, as tables of requests and the decision the offline
simulator (`@cloud-copilot/iam-simulate`) reaches: allowed requests an owner needs, and denied
ones an owner or a job must not be able to make. Controls show the conditions matter: the same
request against the policy with the condition removed is allowed.

Blueprints: `jobs` (two owners with access principals and `jobs:` with network isolation) and
`research` (access with `source_cidrs`).
"""
import copy

import pytest
from iamsim import ACCOUNT, OTHER_ACCOUNT, ROOT, Stack, arn, evaluate, request

ALICE = f"arn:aws:iam::{ACCOUNT}:role/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
OUTSIDER = f"arn:aws:iam::{OTHER_ACCOUNT}:role/intruder"
SAGEMAKER = "sagemaker.amazonaws.com"


def nb(name):
    return arn("sagemaker", f"notebook-instance/{name}")


def identity(*docs):
    return {"identityPolicies": [{"name": f"p{i}", "policy": d} for i, d in enumerate(docs)]}


def job_context(s, **change):
    """A CreateTrainingJob/CreateProcessingJob request as the SDK sends it from alice's notebook."""
    ctx = {
        "sagemaker:VpcSubnets": ["subnet-subneta", "subnet-subnetb"],
        "sagemaker:VpcSecurityGroupIds": ["sg-notebooksecuritygroup"],
        "sagemaker:VolumeKmsKeyArn": s.key_arn(),
        "sagemaker:OutputKmsKeyArn": s.key_arn(),
        "sagemaker:NetworkIsolation": "true",
        "aws:RequestTag/owner": "alice",
    }
    for key, v in change.items():
        if v is None:
            ctx.pop(key, None)
        else:
            ctx[key] = v
    return ctx


def without_condition(doc, sid, operator, key=None):
    """The same policy with one condition operator (or one key of it) removed: the control."""
    d = copy.deepcopy(doc)
    for st in d["Statement"]:
        if st.get("Sid") == sid:
            if key is None:
                del st["Condition"][operator]
            else:
                del st["Condition"][operator][key]
    return d


def strip_log_star(doc):
    d = copy.deepcopy(doc)
    for st in d["Statement"]:
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        st["Resource"] = [r[:-2] if r.endswith(":*") and ":log-group:" in r else r for r in res]
    return d


TRAIN, PROC = "sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob"
OTHER_KEY = arn("kms", "key/99999999-0000-0000-0000-000000000000")


# (id, blueprint, simulation(stack) -> dict, expected)
def cases():
    c = []

    def add(case_id, bp, sim, expected):
        c.append((case_id, bp, sim, expected))

    # --- owner access policies (jobs blueprint) -----------------------------------------------
    acc = lambda s: s.policy("AliceAccess")  # noqa: E731
    for action in ["StartNotebookInstance", "StopNotebookInstance", "DescribeNotebookInstance",
                   "CreatePresignedNotebookInstanceUrl"]:
        add(f"access-own-{action}", "jobs",
            lambda s, a=action: {**identity(acc(s)), "request": request(ALICE, f"sagemaker:{a}", nb("jobs-alice"))},
            "Allowed")
        add(f"access-other-{action}", "jobs",
            lambda s, a=action: {**identity(acc(s)), "request": request(ALICE, f"sagemaker:{a}", nb("jobs-bob"))},
            "ImplicitlyDenied")
    add("access-bob-own-start", "jobs",
        lambda s: {**identity(s.policy("BobAccess")), "request": request(BOB, "sagemaker:StartNotebookInstance", nb("jobs-bob"))},
        "Allowed")
    add("access-bob-alice-url", "jobs",
        lambda s: {**identity(s.policy("BobAccess")), "request": request(BOB, "sagemaker:CreatePresignedNotebookInstanceUrl", nb("jobs-alice"))},
        "ImplicitlyDenied")
    add("access-delete-own", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "sagemaker:DeleteNotebookInstance", nb("jobs-alice"))},
        "ImplicitlyDenied")
    add("access-update-own", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "sagemaker:UpdateNotebookInstance", nb("jobs-alice"))},
        "ImplicitlyDenied")
    add("access-passrole-own", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "iam:PassRole", s.role_arn("AliceRole"), {"iam:PassedToService": SAGEMAKER})},
        "Allowed")
    add("access-passrole-own-to-ec2", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "iam:PassRole", s.role_arn("AliceRole"), {"iam:PassedToService": "ec2.amazonaws.com"})},
        "ImplicitlyDenied")
    add("access-passrole-other-owner", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "iam:PassRole", s.role_arn("BobRole"), {"iam:PassedToService": SAGEMAKER})},
        "ImplicitlyDenied")
    add("access-passrole-job-role", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "iam:PassRole", s.role_arn("AliceJobExecution"), {"iam:PassedToService": SAGEMAKER})},
        "ImplicitlyDenied")
    add("access-passrole-control-no-service", "jobs",
        lambda s: {**identity(without_condition(acc(s), "PassOwnNotebookRole", "StringEquals")),
                   "request": request(ALICE, "iam:PassRole", s.role_arn("AliceRole"), {"iam:PassedToService": "ec2.amazonaws.com"})},
        "Allowed")
    for res, expected in [("subnet/subnet-subneta", "Allowed"), ("subnet/subnet-subnetb", "Allowed"),
                          ("security-group/sg-notebooksecuritygroup", "Allowed"),
                          ("network-interface/eni-0123456789abcdef0", "Allowed"),
                          ("subnet/subnet-elsewhere", "ImplicitlyDenied"),
                          ("security-group/sg-elsewhere", "ImplicitlyDenied")]:
        add(f"access-eni-{res.split('/')[1]}", "jobs",
            lambda s, r=res: {**identity(acc(s)), "request": request(ALICE, "ec2:CreateNetworkInterface", arn("ec2", r))},
            expected)
    add("access-describe-subnets", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "ec2:DescribeSubnets", "*")}, "Allowed")
    grant = {"kms:GrantIsForAWSResource": "true", "kms:ViaService": "sagemaker.us-east-1.amazonaws.com"}
    add("access-kms-grant-via-sagemaker", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "kms:CreateGrant", s.key_arn(), grant)}, "Allowed")
    add("access-kms-grant-not-for-aws-resource", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "kms:CreateGrant", s.key_arn(), {**grant, "kms:GrantIsForAWSResource": "false"})},
        "ImplicitlyDenied")
    add("access-kms-grant-direct", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "kms:CreateGrant", s.key_arn(), {"kms:GrantIsForAWSResource": "false"})},
        "ImplicitlyDenied")
    add("access-kms-grant-other-key", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "kms:CreateGrant", OTHER_KEY, grant)}, "ImplicitlyDenied")
    add("access-kms-describe", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "kms:DescribeKey", s.key_arn())}, "Allowed")
    add("access-kms-decrypt", "jobs",
        lambda s: {**identity(acc(s)), "request": request(ALICE, "kms:Decrypt", s.key_arn())}, "ImplicitlyDenied")

    # --- access source conditions (research: source_cidrs 203.0.113.0/24) ---------------------
    racc = lambda s: s.policy("AliceAccess")  # noqa: E731
    add("source-start-from-allowed-network", "research",
        lambda s: {**identity(racc(s)), "request": request(ALICE, "sagemaker:StartNotebookInstance", nb("research-alice"), {"aws:SourceIp": "203.0.113.7"})},
        "Allowed")
    add("source-start-from-elsewhere", "research",
        lambda s: {**identity(racc(s)), "request": request(ALICE, "sagemaker:StartNotebookInstance", nb("research-alice"), {"aws:SourceIp": "198.51.100.7"})},
        "ImplicitlyDenied")
    add("source-url-from-elsewhere", "research",
        lambda s: {**identity(racc(s)), "request": request(ALICE, "sagemaker:CreatePresignedNotebookInstanceUrl", nb("research-alice"), {"aws:SourceIp": "198.51.100.7"})},
        "ImplicitlyDenied")
    add("source-control-without-ip-condition", "research",
        lambda s: {**identity(without_condition(racc(s), "UseOwnNotebook", "IpAddress")),
                   "request": request(ALICE, "sagemaker:StartNotebookInstance", nb("research-alice"), {"aws:SourceIp": "198.51.100.7"})},
        "Allowed")
    add("source-grant-made-by-sagemaker", "research",
        lambda s: {**identity(racc(s)), "request": request(ALICE, "kms:CreateGrant", s.key_arn(), {**grant, "aws:SourceIp": "52.94.0.10"})},
        "Allowed")

    # --- notebook role: jobs -------------------------------------------------------------------
    perm = lambda s: s.policy("AlicePermissions")  # noqa: E731
    job = arn("sagemaker", "training-job/alice-train-1")
    proc = arn("sagemaker", "processing-job/alice-proc-1")
    for action, res in [(TRAIN, job), (PROC, proc)]:
        short = action.split(":")[1]
        add(f"jobs-{short}-in-stack-network", "jobs",
            lambda s, a=action, r=res: {**identity(perm(s)), "request": request(s.role_arn("AliceRole"), a, r, job_context(s))},
            "Allowed")
        for label, change in [
            ("one-subnet", {"sagemaker:VpcSubnets": ["subnet-subneta"]}),
            ("other-subnet", {"sagemaker:VpcSubnets": ["subnet-elsewhere"]}),
            ("extra-subnet", {"sagemaker:VpcSubnets": ["subnet-subneta", "subnet-elsewhere"]}),
            ("other-sg", {"sagemaker:VpcSecurityGroupIds": ["sg-elsewhere"]}),
            ("extra-sg", {"sagemaker:VpcSecurityGroupIds": ["sg-notebooksecuritygroup", "sg-elsewhere"]}),
            ("no-vpc", {"sagemaker:VpcSubnets": None, "sagemaker:VpcSecurityGroupIds": None}),
            ("no-subnets", {"sagemaker:VpcSubnets": None}),
            ("other-volume-key", {"sagemaker:VolumeKmsKeyArn": OTHER_KEY}),
            ("no-volume-key", {"sagemaker:VolumeKmsKeyArn": None}),
            ("other-output-key", {"sagemaker:OutputKmsKeyArn": OTHER_KEY}),
            ("no-output-key", {"sagemaker:OutputKmsKeyArn": None}),
            ("no-network-isolation", {"sagemaker:NetworkIsolation": "false"}),
            ("network-isolation-unset", {"sagemaker:NetworkIsolation": None}),
            ("tagged-for-bob", {"aws:RequestTag/owner": "bob"}),
            ("untagged", {"aws:RequestTag/owner": None}),
        ]:
            expected = "Allowed" if label == "one-subnet" else "ImplicitlyDenied"
            add(f"jobs-{short}-{label}", "jobs",
                lambda s, a=action, r=res, ch=change: {**identity(perm(s)), "request": request(s.role_arn("AliceRole"), a, r, job_context(s, **ch))},
                expected)
    # Controls: without Null, ForAllValues holds for a request with no VPC at all.
    add("jobs-control-no-vpc-without-null", "jobs",
        lambda s: {**identity(without_condition(perm(s), "CreateJobsInStackNetworkWithStackKey", "Null")),
                   "request": request(s.role_arn("AliceRole"), TRAIN, job, job_context(s, **{"sagemaker:VpcSubnets": None, "sagemaker:VpcSecurityGroupIds": None}))},
        "Allowed")
    add("jobs-control-other-key-without-arn-condition", "jobs",
        lambda s: {**identity(without_condition(perm(s), "CreateJobsInStackNetworkWithStackKey", "ArnEquals")),
                   "request": request(s.role_arn("AliceRole"), TRAIN, job, job_context(s, **{"sagemaker:VolumeKmsKeyArn": OTHER_KEY}))},
        "Allowed")
    add("jobs-control-no-isolation-without-bool", "jobs",
        lambda s: {**identity(without_condition(perm(s), "CreateJobsInStackNetworkWithStackKey", "Bool")),
                   "request": request(s.role_arn("AliceRole"), TRAIN, job, job_context(s, **{"sagemaker:NetworkIsolation": "false"}))},
        "Allowed")
    for label, tag, expected in [("own", "alice", "Allowed"), ("bobs", "bob", "ImplicitlyDenied")]:
        for action, res in [("sagemaker:DescribeTrainingJob", job), ("sagemaker:StopTrainingJob", job),
                            ("sagemaker:StopProcessingJob", proc)]:
            add(f"jobs-{action.split(':')[1]}-{label}", "jobs",
                lambda s, a=action, r=res, t=tag: {**identity(perm(s)), "request": request(s.role_arn("AliceRole"), a, r, {"aws:ResourceTag/owner": t})},
                expected)
    add("jobs-addtags-on-create", "jobs",
        lambda s: {**identity(perm(s)), "request": request(s.role_arn("AliceRole"), "sagemaker:AddTags", job,
                                                           {"sagemaker:TaggingAction": "CreateTrainingJob", "aws:RequestTag/owner": "alice"})},
        "Allowed")
    add("jobs-addtags-later", "jobs",
        lambda s: {**identity(perm(s)), "request": request(s.role_arn("AliceRole"), "sagemaker:AddTags", job,
                                                           {"aws:RequestTag/owner": "alice"})},
        "ImplicitlyDenied")
    for label, role, expected in [("own-job-role", "AliceJobExecution", "Allowed"),
                                  ("other-job-role", "BobJobExecution", "ImplicitlyDenied"),
                                  ("notebook-role", "AliceRole", "ImplicitlyDenied")]:
        add(f"jobs-passrole-{label}", "jobs",
            lambda s, r=role: {**identity(perm(s)), "request": request(s.role_arn("AliceRole"), "iam:PassRole", s.role_arn(r), {"iam:PassedToService": SAGEMAKER})},
            expected)

    # --- notebook role: KMS, logs, data ------------------------------------------------------------
    nbrole = lambda s: s.role_arn("AliceRole")  # noqa: E731
    add("role-kms-decrypt-through-s3", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "kms:Decrypt", s.key_arn(), {"kms:ViaService": "s3.us-east-1.amazonaws.com"})},
        "Allowed")
    add("role-kms-decrypt-direct", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "kms:Decrypt", s.key_arn())}, "ImplicitlyDenied")
    for bp in ["jobs", "minimal"]:
        for action in ["kms:Encrypt", "kms:CreateGrant", "kms:ReEncryptFrom"]:
            add(f"role-{bp}-{action.split(':')[1]}", bp,
                lambda s, a=action: {**identity(perm(s)), "request": request(nbrole(s), a, s.key_arn(), {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:GrantIsForAWSResource": "true"})},
                "ImplicitlyDenied")
    add("role-minimal-decrypt-through-s3", "minimal",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "kms:Decrypt", s.key_arn(), {"kms:ViaService": "s3.us-east-1.amazonaws.com"})},
        "ImplicitlyDenied")
    group = arn("logs", "log-group:/aws/sagemaker/NotebookInstances")
    # IAM evaluates CreateLogGroup (and every Logs action but tagging) against `log-group:NAME:*`.
    add("role-logs-create-group", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "logs:CreateLogGroup", group + ":*")}, "Allowed")
    add("role-logs-control-without-star", "jobs",
        lambda s: {**identity(strip_log_star(perm(s))), "request": request(nbrole(s), "logs:CreateLogGroup", group + ":*")},
        "ImplicitlyDenied")
    add("role-logs-own-stream", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "logs:PutLogEvents", group + ":log-stream:jobs-alice/LifecycleConfigOnStart")},
        "Allowed")
    add("role-logs-other-stream", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "logs:PutLogEvents", group + ":log-stream:jobs-bob/LifecycleConfigOnStart")},
        "ImplicitlyDenied")
    add("role-s3-own-job-output", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "s3:GetObject", "arn:aws:s3:::acme-ml-jobs/outputs/alice/m/model.tar.gz")},
        "Allowed")
    add("role-s3-other-job-output", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "s3:GetObject", "arn:aws:s3:::acme-ml-jobs/outputs/bob/m/model.tar.gz")},
        "ImplicitlyDenied")
    add("role-stop-own-notebook", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "sagemaker:StopNotebookInstance", nb("jobs-alice"))}, "Allowed")
    add("role-start-own-notebook", "jobs",
        lambda s: {**identity(perm(s)), "request": request(nbrole(s), "sagemaker:StartNotebookInstance", nb("jobs-alice"))}, "ImplicitlyDenied")

    # --- job role ----------------------------------------------------------------------------------
    jr = lambda s: s.policy("AliceJobPolicy")  # noqa: E731
    jrole = lambda s: s.role_arn("AliceJobExecution")  # noqa: E731
    for label, action, res, expected in [
        ("put-own-output", "s3:PutObject", "arn:aws:s3:::acme-ml-jobs/outputs/alice/job-1/output/model.tar.gz", "Allowed"),
        ("put-bobs-output", "s3:PutObject", "arn:aws:s3:::acme-ml-jobs/outputs/bob/job-1/model.tar.gz", "ImplicitlyDenied"),
        ("put-owner-scratch", "s3:PutObject", "arn:aws:s3:::acme-ml-data/scratch/alice/x", "ImplicitlyDenied"),
        ("put-datasets", "s3:PutObject", "arn:aws:s3:::acme-ml-data/datasets/x", "ImplicitlyDenied"),
        ("read-datasets", "s3:GetObject", "arn:aws:s3:::acme-ml-data/datasets/train.csv", "Allowed"),
        ("read-owner-scratch", "s3:GetObject", "arn:aws:s3:::acme-ml-data/scratch/alice/train.csv", "Allowed"),
        ("read-bobs-scratch", "s3:GetObject", "arn:aws:s3:::acme-ml-data/scratch/bob/train.csv", "ImplicitlyDenied"),
        ("logs-create-group", "logs:CreateLogGroup", arn("logs", "log-group:/aws/sagemaker/TrainingJobs:*"), "Allowed"),
        ("logs-put", "logs:PutLogEvents", arn("logs", "log-group:/aws/sagemaker/ProcessingJobs:log-stream:j/algo-1"), "Allowed"),
        ("logs-other-group", "logs:PutLogEvents", arn("logs", "log-group:/aws/lambda/x:log-stream:y"), "ImplicitlyDenied"),
        ("eni-stack-subnet", "ec2:CreateNetworkInterface", arn("ec2", "subnet/subnet-subneta"), "Allowed"),
        ("eni-other-subnet", "ec2:CreateNetworkInterface", arn("ec2", "subnet/subnet-elsewhere"), "ImplicitlyDenied"),
        ("kms-generate-data-key", "kms:GenerateDataKey", None, "Allowed"),
        ("kms-encrypt", "kms:Encrypt", None, "ImplicitlyDenied"),
        ("sagemaker-create-job", TRAIN, job, "ImplicitlyDenied"),
        ("passrole-itself", "iam:PassRole", "self", "ImplicitlyDenied"),
    ]:
        add(f"jobrole-{label}", "jobs",
            lambda s, a=action, r=res: {**identity(jr(s)), "request": request(
                jrole(s), a, s.key_arn() if r is None else (jrole(s) if r == "self" else r),
                {"iam:PassedToService": SAGEMAKER} if r == "self" else {})},
            expected)
    add("jobrole-kms-grant-for-aws", "jobs",
        lambda s: {**identity(jr(s)), "request": request(jrole(s), "kms:CreateGrant", s.key_arn(), {"kms:GrantIsForAWSResource": "true"})},
        "Allowed")
    add("jobrole-kms-grant-for-anyone", "jobs",
        lambda s: {**identity(jr(s)), "request": request(jrole(s), "kms:CreateGrant", s.key_arn(), {"kms:GrantIsForAWSResource": "false"})},
        "ImplicitlyDenied")

    # --- key policy (resource policy) with the identity policies ----------------------------------
    key = lambda s: s.policy("NotebookKey")  # noqa: E731
    add("key-owner-grant-via-iam", "jobs",
        lambda s: {**identity(acc(s)), "resourcePolicy": key(s), "request": request(ALICE, "kms:CreateGrant", s.key_arn(), grant)},
        "Allowed")
    add("key-no-identity-policy", "jobs",
        lambda s: {"resourcePolicy": key(s), "request": request(ALICE, "kms:CreateGrant", s.key_arn(), grant)},
        "ImplicitlyDenied")
    add("key-job-role-data-key", "jobs",
        lambda s: {**identity(jr(s)), "resourcePolicy": key(s), "request": request(jrole(s), "kms:GenerateDataKey", s.key_arn())},
        "Allowed")
    add("key-other-account", "jobs",
        lambda s: {**identity({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}),
                   "resourcePolicy": key(s), "request": request(OUTSIDER, "kms:Decrypt", s.key_arn())},
        "ImplicitlyDenied")
    add("key-names-no-role", "jobs",
        lambda s: {"resourcePolicy": key(s), "request": request(jrole(s), "kms:Decrypt", s.key_arn())},
        "ImplicitlyDenied")

    # --- S3 gateway endpoint policy ------------------------------------------------------------
    # The endpoint policy is the perimeter (which buckets and prefixes this VPC reaches): it
    # names `{owner}` prefixes once, as `*`, so it allows another owner's prefix and the role's
    # own policy is what denies it. "everything" is an allow-all identity policy (the endpoint
    # decides alone); "role" is alice's job role's generated policy.
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    ep = lambda s: {"vpcEndpointPolicies": [{"name": "s3", "policy": s.policy("S3GatewayEndpoint")}]}  # noqa: E731
    for label, principal, ident, action, res, expected in [
        ("job-output-put", "job", "everything", "s3:PutObject", "arn:aws:s3:::acme-ml-jobs/outputs/alice/j/model.tar.gz", "Allowed"),
        ("datasets-get", "job", "everything", "s3:GetObject", "arn:aws:s3:::acme-ml-data/datasets/a.csv", "Allowed"),
        ("datasets-put", "job", "everything", "s3:PutObject", "arn:aws:s3:::acme-ml-data/datasets/a.csv", "ImplicitlyDenied"),
        ("other-bucket", "job", "everything", "s3:GetObject", "arn:aws:s3:::somewhere-else/a.csv", "ImplicitlyDenied"),
        ("other-prefix", "job", "everything", "s3:GetObject", "arn:aws:s3:::acme-ml-data/private/a.csv", "ImplicitlyDenied"),
        # The wildcard stands for one path segment's owner: a key directly under `outputs/` is
        # outside every owner's prefix.
        ("outputs-top-level", "job", "everything", "s3:PutObject", "arn:aws:s3:::acme-ml-jobs/outputs/model.tar.gz", "ImplicitlyDenied"),
        ("other-account-principal", "outsider", "everything", "s3:PutObject", "arn:aws:s3:::acme-ml-jobs/outputs/alice/x", "ImplicitlyDenied"),
        # Another owner's prefixes pass the perimeter ...
        ("other-owner-output", "job", "everything", "s3:PutObject", "arn:aws:s3:::acme-ml-jobs/outputs/bob/j/model.tar.gz", "Allowed"),
        ("other-owner-scratch", "job", "everything", "s3:GetObject", "arn:aws:s3:::acme-ml-data/scratch/bob/train.csv", "Allowed"),
        # ... and the role's own policy denies them, through the same endpoint.
        ("role-other-owner-output", "job", "role", "s3:PutObject", "arn:aws:s3:::acme-ml-jobs/outputs/bob/j/model.tar.gz", "ImplicitlyDenied"),
        ("role-other-owner-scratch", "job", "role", "s3:GetObject", "arn:aws:s3:::acme-ml-data/scratch/bob/train.csv", "ImplicitlyDenied"),
        ("role-own-output", "job", "role", "s3:PutObject", "arn:aws:s3:::acme-ml-jobs/outputs/alice/j/model.tar.gz", "Allowed"),
        ("role-own-scratch", "job", "role", "s3:GetObject", "arn:aws:s3:::acme-ml-data/scratch/alice/train.csv", "Allowed"),
    ]:
        add(f"s3endpoint-{label}", "jobs",
            lambda s, p=principal, i=ident, a=action, r=res: {
                **identity(everything if i == "everything" else jr(s)), **ep(s),
                "request": request(jrole(s) if p == "job" else OUTSIDER, a, r,
                                   {"aws:PrincipalAccount": ACCOUNT if p == "job" else OTHER_ACCOUNT,
                                    "aws:SourceVpce": "vpce-s3gatewayendpoint"})},
            expected)
    return c


CASES = cases()


@pytest.fixture(scope="module")
def results(nbsynth, tmp_path_factory):
    stacks = {}
    batch = []
    for case_id, bp, sim, _ in CASES:
        if bp not in stacks:
            stacks[bp] = Stack(nbsynth, ROOT / "blueprints" / f"{bp}.yaml", tmp_path_factory.mktemp(bp))
        simulation = sim(stacks[bp])
        # KMS honours an identity policy only when the key policy enables IAM: every KMS request
        # is evaluated with the stack's key policy, as KMS does.
        if simulation["request"]["action"].startswith("kms:") and "NotebookKey" in stacks[bp].resources:
            simulation.setdefault("resourcePolicy", stacks[bp].policy("NotebookKey"))
        batch.append((case_id, simulation))
    return evaluate(batch), dict(batch)


@pytest.mark.parametrize("case_id,expected", [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_policy_decision(results, case_id, expected):
    decisions, sims = results
    result, errors = decisions[case_id]
    assert errors is None, f"the simulator rejected the request: {errors}"
    assert result == expected, f"{case_id}: {result}, expected {expected}\n{sims[case_id]}"


def test_table_covers_every_policy_kind():
    """Each generated policy kind has both allowed and denied requests in the table."""
    prefixes = ["access-", "source-", "jobs-", "role-", "jobrole-", "key-", "s3endpoint-"]
    for p in prefixes:
        outcomes = {c[3] for c in CASES if c[0].startswith(p)}
        assert outcomes >= {"Allowed", "ImplicitlyDenied"}, (p, outcomes)

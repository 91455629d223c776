"""Split stacks at scale (`stacks:`), judged by the real tools.

- blueprints/scale.yaml (1,000 owners) is what scripts/gen-scale.py writes;
- every one of its templates passes cfn-lint, and `nbsynth check` on the base template reviews it
  and (nested layout) the shards it names;
- the independent layout deploys to moto (base first, then the shards in parallel) and the nested
  layout goes through `aws cloudformation package` into a moto S3 bucket and `deploy`: every stack
  CREATE_COMPLETE and list-notebook-instances shows every owner's notebook.

The independent deploy runs NBSYNTH_SCALE_OWNERS owners (default 1,000: about 2.5 minutes on 2
cores, measured; set it lower for a quick local run).
"""
import json
import os
import pathlib
import re
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from nbdeploy import REASONS, REGION, adapt_for_moto, run

ROOT = pathlib.Path(__file__).resolve().parents[3]
GEN = ROOT / "scripts" / "gen-scale.py"
DEPLOY_OWNERS = int(os.environ.get("NBSYNTH_SCALE_OWNERS", "1000"))
# What adapt_for_moto may change in a split stack, by reason (see nbdeploy.REASONS): the base's
# key tags; g4dn/m5 instance types moto's list lacks; lifecycle Fn::Sub escapes. Nothing else.
ALLOWED_CHANGES = {"kms-tags", "instance-type", "sub-to-join"}


def gen(*args):
    p = run(["python3", GEN, *map(str, args)])
    assert p.returncode == 0, p.stderr
    return p.stdout


def build(nbsynth, blueprint_text, out, fmt="yaml"):
    name = re.search(r"^name:\s*(\S+)", blueprint_text, re.M).group(1)
    bp = out / f"{name}.yaml"
    out.mkdir(parents=True, exist_ok=True)
    bp.write_text(blueprint_text)
    t0 = time.monotonic()
    p = run([nbsynth, "build", bp, "--out", out / "out", "--format", fmt], timeout=600)
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr}"
    print(f"\nbuild: {time.monotonic() - t0:.1f}s")
    root = out / "out" / f"{name}.template.{fmt}"
    shards = sorted((out / "out" / name / "stacks").glob(f"shard-*.template.{fmt}"))
    return root, shards, p.stdout


def test_scale_blueprint_is_the_generators_output():
    assert (ROOT / "blueprints" / "scale.yaml").read_text() == gen(1000, "independent", 64), (
        "blueprints/scale.yaml is stale: run scripts/gen-scale.py"
    )
    assert (ROOT / "blueprints" / "scale.yaml").read_text().count("- owner: ") == 1000


def test_every_scale_template_passes_cfn_lint_and_the_review(nbsynth, tool, tmp_path):
    root, shards, _ = build(nbsynth, (ROOT / "blueprints" / "scale.yaml").read_text(), tmp_path)
    templates = [root, *shards]
    assert len(shards) == 64, f"1,000 owners hashed into 64 shards should fill all of them: {len(shards)}"
    # cfn-lint takes several files per process; two processes for two cores.
    t0 = time.monotonic()
    halves = [templates[0::2], templates[1::2]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda files: run([tool("cfn-lint"), *files], timeout=900), halves))
    for p in results:
        assert p.returncode == 0, f"cfn-lint:\n{p.stdout[-5000:]}\n{p.stderr[-2000:]}"
    print(f"cfn-lint on {len(templates)} templates: {time.monotonic() - t0:.1f}s")
    # The independent base names no shard: every template is given to check.
    p = run([nbsynth, "check", *templates], timeout=600)
    assert p.returncode == 0, p.stdout[-5000:] + p.stderr[-2000:]
    assert f"{len(templates)} file(s), " in p.stdout and " 0 finding(s)" in p.stdout, p.stdout[-500:]


def adapt_tree(paths, out_root, src_root):
    """Writes the moto-adapted copy of each template under out_root (same relative layout);
    returns every change, each checked against ALLOWED_CHANGES and printed."""
    changes = []
    for p in paths:
        template = json.loads(p.read_text())
        adapted, ch = adapt_for_moto(template)
        dest = out_root / p.relative_to(src_root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(adapted, separators=(",", ":")))
        changes += [(r, f"{p.name}: {t}") for r, t in ch]
    reasons = {r for r, _ in changes}
    print(f"changes for moto ({len(changes)}; by reason: "
          + ", ".join(f"{r}={sum(1 for x, _ in changes if x == r)}" for r in sorted(reasons)) + ")")
    for r in sorted(reasons):
        print(f"  - {r}: {REASONS[r]}")
    assert reasons <= ALLOWED_CHANGES, reasons - ALLOWED_CHANGES
    return changes


def notebook_names(moto):
    out = moto.aws("sagemaker", "list-notebook-instances", timeout=600)
    return {n["NotebookInstanceName"] for n in out["NotebookInstances"]}


def test_independent_stacks_deploy_to_moto(nbsynth, moto, tmp_path):
    n = DEPLOY_OWNERS
    root, shards, stdout = build(nbsynth, gen(n, "independent", 64), tmp_path, fmt="json")
    src = tmp_path / "out"
    adapt_tree([root, *shards], tmp_path / "moto", src)
    moto.aws("s3api", "create-bucket", "--bucket", "nbsynth-templates")

    def deploy(path, stack):
        # moto 5.2.5 neither registers Exports nor resolves Fn::ImportValue when a change set
        # executes (what `aws cloudformation deploy` does; its create_change_set builds the stack
        # without the Region's exports): CreateStack does both, so the stacks are created with
        # create-stack from the moto bucket, in the order `nbsynth build` prints.
        key = f"{stack}/{path.name}"
        p = moto.aws_raw("s3", "cp", str(tmp_path / "moto" / path.relative_to(src)), f"s3://nbsynth-templates/{key}")
        assert p.returncode == 0, p.stdout + p.stderr
        t0 = time.monotonic()
        moto.aws("cloudformation", "create-stack", "--stack-name", stack, "--capabilities", "CAPABILITY_IAM",
                 "--template-url", f"http://localhost:{moto.port}/nbsynth-templates/{key}")
        # Polled with boto3 every 0.2 s: `aws cloudformation wait` polls every 30 s.
        cfn = boto3.client("cloudformation", endpoint_url=moto.endpoint, region_name=REGION,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        while (status := cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]) == "CREATE_IN_PROGRESS":
            assert time.monotonic() - t0 < 900, f"{stack} still {status}"
            time.sleep(0.2)
        assert status == "CREATE_COMPLETE", f"{stack}: {status}\n{moto.tail()}"
        return time.monotonic() - t0

    assert "--stack-name scale " in stdout and "--stack-name scale-shard-" in stdout
    t0 = time.monotonic()
    base_s = deploy(root, "scale")
    # One after another: moto_server 5.2.5 is not safe for concurrent CreateStack calls (seen:
    # "RuntimeError: dictionary changed size during iteration", HTTP 500). In AWS they may run
    # in parallel: the shards do not depend on each other.
    shard_s = [deploy(s, "scale-" + s.name.split(".")[0]) for s in shards]
    total = time.monotonic() - t0
    print(f"deploy: base {base_s:.1f}s, {len(shards)} shards {sum(shard_s):.1f}s, {total:.1f}s wall")

    stacks = moto.aws("cloudformation", "describe-stacks")["Stacks"]
    ours = {s["StackName"]: s["StackStatus"] for s in stacks if s["StackName"].startswith("scale")}
    assert len(ours) == 1 + len(shards) and set(ours.values()) == {"CREATE_COMPLETE"}, ours
    exports = moto.aws("cloudformation", "list-exports")["Exports"]
    assert {e["Name"] for e in exports} >= {"scale-NotebookKeyArn", "scale-SubnetA", "scale-NotebookSecurityGroupGroupId"}
    names = notebook_names(moto)
    # moto 5.2.5 ignores NotebookInstanceName in CloudFormation (it names the instance
    # `<stack>-<LogicalId>-<random>`): the owners are matched by logical ID.
    by_id = {x.rsplit("-", 2)[-2] for x in names if x.startswith("scale-")}
    assert len(names) == n and by_id == {f"Ds{i:05d}Notebook" for i in range(1, n + 1)}, sorted(names)[:5]
    print(f"list-notebook-instances: {len(names)} notebooks")


def test_nested_stacks_package_and_deploy_to_moto(nbsynth, moto, tmp_path, tool):
    # 160 owners: 3 resources each plus shared ones is past one template's 500, and within the
    # 2,500 one nested operation may create.
    n = 160
    # Its own name: the independent test's stacks already hold `scale`'s named resources (the
    # flow-log group) in this moto server, as they would in one account and region.
    text = re.sub(r"^name: scale$", "name: scale-nested", gen(n, "nested", 16), flags=re.M)
    root, shards, stdout = build(nbsynth, text, tmp_path, fmt="json")
    assert "aws cloudformation package" in stdout
    p = run([tool("cfn-lint"), root, *shards], timeout=900)
    assert p.returncode == 0, f"cfn-lint:\n{p.stdout[-5000:]}\n{p.stderr[-2000:]}"
    # `check` on the root alone follows the TemplateURLs to every shard.
    p = run([nbsynth, "check", root], timeout=600)
    assert p.returncode == 0 and f"{1 + len(shards)} file(s), " in p.stdout, p.stdout[-3000:] + p.stderr[-2000:]
    src = tmp_path / "out"
    adapt_tree([root, *shards], tmp_path / "moto", src)
    moto.aws("s3api", "create-bucket", "--bucket", "nbsynth-nested")
    packaged = tmp_path / "packaged.json"
    p = moto.aws_raw("cloudformation", "package", "--template-file", str(tmp_path / "moto" / root.name),
                     "--s3-bucket", "nbsynth-nested", "--output-template-file", str(packaged), "--use-json")
    assert p.returncode == 0, p.stdout + p.stderr
    body = json.loads(packaged.read_text())
    urls = [r["Properties"]["TemplateURL"] for r in body["Resources"].values()
            if r["Type"] == "AWS::CloudFormation::Stack"]
    assert len(urls) == len(shards) and all(u.startswith("http") and "nbsynth-nested" in u for u in urls), urls
    uploaded = moto.aws("s3api", "list-objects-v2", "--bucket", "nbsynth-nested")["Contents"]
    assert len(uploaded) >= len(shards)
    t0 = time.monotonic()
    p = moto.aws_raw("cloudformation", "deploy", "--template-file", str(packaged), "--stack-name", "nested",
                     "--capabilities", "CAPABILITY_IAM", "--s3-bucket", "nbsynth-nested", timeout=900)
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr}\n{moto.tail()}"
    print(f"nested deploy: {time.monotonic() - t0:.1f}s")
    stacks = moto.aws("cloudformation", "describe-stacks")["Stacks"]
    hierarchy = {s["StackName"]: s["StackStatus"] for s in stacks if s["StackName"].startswith("nested")}
    assert len(hierarchy) == 1 + len(shards), hierarchy
    assert set(hierarchy.values()) == {"CREATE_COMPLETE"}, hierarchy
    # moto names nested stacks <parent>-<LogicalId>-<random>, as CloudFormation does.
    assert all(k == "nested" or k.startswith("nested-Shard") for k in hierarchy), hierarchy
    # Every notebook, from the nested stacks' resources (moto 5.2.5 names the physical resources
    # of a nested stack `<child stack>-<LogicalId>-<random>`, ignoring NotebookInstanceName).
    notebooks = set()
    for child in sorted(k for k in hierarchy if k != "nested"):
        res = moto.aws("cloudformation", "list-stack-resources", "--stack-name", child)["StackResourceSummaries"]
        assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in res)
        notebooks |= {r["PhysicalResourceId"].rsplit("/", 1)[1] for r in res
                      if r["ResourceType"] == "AWS::SageMaker::NotebookInstance"}
    assert len(notebooks) == n, len(notebooks)
    assert notebooks <= notebook_names(moto), "list-notebook-instances misses notebooks of the nested stacks"

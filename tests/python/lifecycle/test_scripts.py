"""Every script the binary builds, as files and as the template embeds them (plain, compressed or the S3
loader): shellcheck-clean, within CloudFormation's size limit, and the S3 loader really fetches and runs."""
import base64
import json
import pathlib
import re
import subprocess

import pytest

from conftest import BLUEPRINTS, PLACEHOLDER, fake, free_port, moto, need, need_root

# Not the 1,000-owner scale blueprint: its hooks live in 64 shard templates (tests/python/deploy/test_scale.py).
EXAMPLES = sorted(BLUEPRINTS.glob("*.yaml")) + sorted(p for p in (pathlib.Path(__file__).parents[3] / "blueprints").glob(
    "*.yaml") if p.name != "scale.yaml")
MAX_CONTENT = 16_384


def compile_json(nbsynth, blueprint: pathlib.Path, out: pathlib.Path) -> dict:
    run = subprocess.run([str(nbsynth), "build", str(blueprint), "--out", str(out), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"nbsynth build {blueprint} failed:\n{run.stderr}"
    name = re.search(r"^name:\s*(\S+)", blueprint.read_text(), re.M).group(1)
    template = out / f"{name}.template.json"
    assert template.exists(), f"nbsynth build wrote no {template.name}"
    return json.loads(template.read_text())


def hooks(template: dict) -> list:
    """(where, base64 length of the template's text, script) for each lifecycle hook in the template.
    A Fn::Sub script is read the way CloudFormation resolves it: `${!` is a literal `${`, placeholders
    get fake values."""
    found = []
    for rid, res in template["Resources"].items():
        if res["Type"] == "AWS::SageMaker::StudioLifecycleConfig":  # one script, run at every app start
            items = [("Content", {"Content": res["Properties"]["StudioLifecycleConfigContent"]})]
        elif res["Type"] == "AWS::SageMaker::NotebookInstanceLifecycleConfig":
            items = [(key, item) for key in ("OnCreate", "OnStart") for item in res["Properties"].get(key, [])]
        else:
            continue
        for key, item in items:
            body = item["Content"]["Fn::Base64"]
            if isinstance(body, dict):
                sub = body["Fn::Sub"]
                text = sub if isinstance(sub, str) else sub[0]
                script = PLACEHOLDER.sub(lambda m: fake(m.group(1)), text).replace("${!", "${")
            else:
                text = script = body
            found.append((f"{rid}.{key}", len(base64.b64encode(text.encode())), script))
    return found


def shellcheck(label: str, script: str) -> None:
    run = subprocess.run([need("shellcheck"), "--shell=bash", "--severity=style", "-"], input=script,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"shellcheck on {label}:\n{run.stdout}{run.stderr}"


@pytest.mark.parametrize("blueprint", EXAMPLES, ids=lambda p: ("test/" if p.parent == BLUEPRINTS else "example/") + p.name)
def test_every_built_script_is_shellcheck_clean_and_fits(nbsynth, blueprint, tmp_path):
    template = compile_json(nbsynth, blueprint, tmp_path)
    files = sorted(tmp_path.rglob("*.sh"))
    for f in files:
        text = f.read_text()
        assert "\r" not in text and text.startswith("#!/bin/bash\n"), f
        shellcheck(str(f.relative_to(tmp_path)), text)
    embedded = hooks(template)
    assert embedded or not files, "scripts were written but the template embeds none"
    for where, size, script in embedded:
        assert size <= MAX_CONTENT, f"{where} is {size} characters of base64; CloudFormation allows {MAX_CONTENT}"
        shellcheck(f"{blueprint.name} {where}", script)
        print(f"{blueprint.name} {where}: {len(script)} bytes, {size} base64")


def test_the_s3_loader_fetches_and_runs_the_script_and_fails_loudly(nbsynth, instance, tmp_path, venv_bin):
    need_root()
    template = compile_json(nbsynth, BLUEPRINTS / "s3.yaml", tmp_path / "out")
    loaders = [s for where, _, s in hooks(template) if where.endswith("OnStart")]
    assert len(loaders) == 1 and "aws s3 cp" in loaders[0], "the s3 blueprint should embed the loader"
    loader = loaders[0]
    source = re.search(r"'(s3://[^']+)'", loader).group(1)
    bucket, key = source[len("s3://"):].split("/", 1)
    script = next((tmp_path / "out/lcc-s3").glob("*.on-start.sh"))
    assert script.name == key.rsplit("/", 1)[-1], "the loader fetches the file the build wrote"
    aws = venv_bin / "aws"
    assert aws.exists(), f"{aws} is missing (awscli, see .ci/requirements.txt)"

    with moto(venv_bin, free_port()) as endpoint:
        env = {"PATH": f"{venv_bin}:{instance.bin}:/usr/sbin:/usr/bin:/sbin:/bin", "AWS_ENDPOINT_URL": endpoint,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "NBSYNTH_ROOT": str(instance.root), "TMPDIR": str(instance.base), "HOME": str(instance.base)}
        subprocess.run([str(aws), "s3", "mb", f"s3://{bucket}"], env=env, check=True, capture_output=True, timeout=60)
        loader_path = instance.base / "loader.sh"
        loader_path.write_text(loader)

        # Missing object: the loader fails and runs nothing.
        run = subprocess.run(instance.in_ns(["bash", str(loader_path)]), env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode != 0 and "nbsynth:" not in run.stdout, run.stdout + run.stderr
        assert not (instance.root / "etc/nbsynth").exists()
        assert not [p for p in instance.base.iterdir() if p.name.startswith("tmp.")], "temp file left behind"

        body = PLACEHOLDER.sub(lambda m: fake(m.group(1)), script.read_text())
        plain = instance.base / "on-start.sh"
        plain.write_text(body)
        subprocess.run([str(aws), "s3", "cp", str(plain), source], env=env, check=True, capture_output=True,
                       timeout=60)
        run = subprocess.run(instance.in_ns(["bash", str(loader_path)]), env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert re.search(r"nbsynth: done \(changed=[1-9]", run.stdout), run.stdout
        assert (instance.root / "etc/nbsynth/jupyter/jupyter_server_config.py").exists()
        assert not [p for p in instance.base.iterdir() if p.name.startswith("tmp.")], "temp file left behind"

"""The CI integration, run for real:

- `.pre-commit-hooks.yaml` through `pre-commit try-repo` (this repository as the hook source) in
  a fresh git repository of blueprints, with a fresh and then a stale out/;
- the example GitHub Actions workflow's steps that need no GitHub (those with an `id`), run from
  its YAML with bash as Actions runs them, in the same kind of repository.
"""
import json
import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / "examples" / "github-actions" / "nbsynth.yml"


def git(repo, *args):
    subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
                   cwd=repo, check=True, capture_output=True)


@pytest.fixture
def env(nbsynth, tmp_path):
    e = dict(os.environ)
    e["PATH"] = f"{pathlib.Path(nbsynth).parent}{os.pathsep}{e['PATH']}"
    e["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    e.pop("NBSYNTH_BIN", None)
    # try-repo commits to a shadow repository: give git an identity whatever the machine has.
    for k in ["GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"]:
        e[k] = "ci"
    for k in ["GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"]:
        e[k] = "ci@example.com"
    return e


@pytest.fixture
def repo(tmp_path, env):
    """A user's repository: two blueprints and their committed, fresh outputs."""
    r = tmp_path / "infra"
    (r / "blueprints").mkdir(parents=True)
    for name in ["minimal", "byo-vpc"]:
        shutil.copy(ROOT / "blueprints" / f"{name}.yaml", r / "blueprints")
    subprocess.run(["nbsynth", "build", "-q", "blueprints/minimal.yaml", "blueprints/byo-vpc.yaml"],
                   cwd=r, env=env, check=True)
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "infra")
    return r


def try_repo(repo, env, hook):
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pre-commit"), "try-repo", str(ROOT), hook, "--all-files"],
        cwd=repo, env=env, capture_output=True, text=True)


def make_stale(repo):
    bp = repo / "blueprints" / "minimal.yaml"
    bp.write_text(bp.read_text().replace("- owner: alice", "- owner: alice\n    - owner: zoe"))


def test_pre_commit_build_check_passes_fresh_and_fails_stale(repo, env):
    fresh = try_repo(repo, env, "nbsynth-build-check")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "Passed" in fresh.stdout, fresh.stdout
    make_stale(repo)
    stale = try_repo(repo, env, "nbsynth-build-check")
    assert stale.returncode != 0, stale.stdout
    assert "would change: out/minimal.template.yaml" in stale.stdout, stale.stdout


def test_pre_commit_check_reviews_templates(repo, env):
    clean = try_repo(repo, env, "nbsynth-check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    t = repo / "out" / "minimal.template.yaml"
    t.write_text(t.read_text().replace("DirectInternetAccess: Disabled", "DirectInternetAccess: Enabled"))
    broken = try_repo(repo, env, "nbsynth-check")
    assert broken.returncode != 0
    assert "NOTEBOOK_DIRECT_INTERNET_DISABLED" in broken.stdout, broken.stdout


def steps():
    wf = yaml.safe_load(WORKFLOW.read_text())
    return {s["id"]: s["run"] for s in wf["jobs"]["nbsynth"]["steps"] if "id" in s}


def run_step(repo, env, tmp_path, step, **extra):
    """Runs one `run:` script as Actions does (bash -eo pipefail) and returns (result, outputs)."""
    out = tmp_path / f"{step}.out"
    out.write_text("")
    script = tmp_path / f"{step}.sh"
    script.write_text(steps()[step])
    e = {**env, "GITHUB_OUTPUT": str(out), **extra}
    r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                       cwd=repo, env=e, capture_output=True, text=True)
    outputs = dict(l.split("=", 1) for l in out.read_text().splitlines() if "=" in l)
    return r, outputs


def test_workflow_shellcheck_clean(tmp_path):
    for step, text in steps().items():
        f = tmp_path / f"{step}.sh"
        f.write_text("#!/bin/bash\n" + text)
        r = subprocess.run(["shellcheck", str(f)], capture_output=True, text=True)
        assert r.returncode == 0, f"{step}: {r.stdout}"


def test_workflow_build_check_step(repo, env, tmp_path):
    r, _ = run_step(repo, env, tmp_path, "build-check")
    assert r.returncode == 0, r.stdout + r.stderr
    make_stale(repo)
    r, _ = run_step(repo, env, tmp_path, "build-check")
    assert r.returncode == 1 and "would change" in r.stdout, r.stdout


def test_workflow_review_step_writes_sarif_and_its_status(repo, env, tmp_path):
    r, outputs = run_step(repo, env, tmp_path, "review")
    assert r.returncode == 0, r.stderr
    assert outputs == {"status": "0"}
    sarif = json.loads((repo / "nbsynth.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "nbsynth"
    t = repo / "out" / "minimal.template.yaml"
    t.write_text(t.read_text().replace("RootAccess: Disabled", "RootAccess: Enabled"))
    r, outputs = run_step(repo, env, tmp_path, "review")
    assert r.returncode == 0 and outputs == {"status": "1"}, (r.stderr, outputs)
    results = json.loads((repo / "nbsynth.sarif").read_text())["runs"][0]["results"]
    assert any(x["ruleId"] == "NOTEBOOK_ROOT_ACCESS_DISABLED" for x in results)


def test_workflow_plan_step(repo, env, tmp_path):
    has_plan = subprocess.run(["nbsynth", "plan", "--help"], env=env, capture_output=True).returncode == 0
    if not has_plan:
        pytest.skip("this nbsynth has no `plan` subcommand yet")
    git(repo, "remote", "add", "origin", str(repo))
    git(repo, "fetch", "-q", "origin")
    git(repo, "checkout", "-q", "-b", "change")
    bp = repo / "blueprints" / "minimal.yaml"
    bp.write_text(bp.read_text().replace("- owner: alice", "- owner: alice\n    - owner: zoe"))
    subprocess.run(["nbsynth", "build", "-q", "blueprints/minimal.yaml"], cwd=repo, env=env, check=True)
    r, outputs = run_step(repo, env, tmp_path, "plan", GITHUB_BASE_REF="main")
    assert r.returncode == 0, r.stdout + r.stderr
    assert outputs.get("data_loss") == "0", outputs
    # The plan names resources by logical id, and zoe's notebook is the one the change adds.
    assert "`ZoeNotebook` | AWS::SageMaker::NotebookInstance | add" in (repo / "plan.md").read_text()

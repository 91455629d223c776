"""The rendered on-start script run twice against a sandbox root standing in for a new AL2023 notebook
instance (no cron, systemd, cloud-init's sudoers drop-in), on each ~/.jupyter layout and with and
without conda."""
import re
import subprocess

import pytest

from conftest import JUPYTER_LAYOUTS, Instance, build, fake, need, need_root, world_readable_tmp


def test_on_start_hardens_the_sandbox_and_a_second_run_changes_nothing(nbsynth, instance, tmp_path):
    need_root()
    need("visudo")
    script = build(nbsynth, "full", tmp_path / "out")["on-start"]
    r, calls = instance.root, instance.calls

    first = instance.run(script)
    assert first.returncode == 0, first.stdout + first.stderr
    after_first = instance.snapshot()
    calls_first = instance.calls_made()

    # Download block: root-owned config first on the server's config path, the platform's config copied.
    dropin = instance.server_env()
    assert dropin["JUPYTER_CONFIG_PATH"] == f"{r}/etc/nbsynth/jupyter"
    assert dropin["JUPYTER_CONFIG_DIR"] == f"{r}/etc/nbsynth/jupyter-base"
    assert dropin["JUPYTER_PREFER_ENV_PATH"] == "0" and dropin["PYTHONNOUSERSITE"] == "1"
    assert (r / "etc/nbsynth/jupyter-base/jupyter_server_config.py").read_text() == (
        instance.home / ".jupyter/jupyter_server_config.py").read_text()
    assert not (r / "etc/nbsynth/jupyter-base/lab").exists(), "user settings must stay with the user"
    assert "NbsynthNoFiles" in (r / "etc/nbsynth/jupyter/jupyter_server_config.py").read_text()
    profile = (r / "etc/profile.d/jupyter-env.sh").read_text()
    assert profile.startswith("export SAGEMAKER_PLATFORM=1\n"), "the platform's own lines are kept"
    assert f"export JUPYTER_CONFIG_PATH={r}/etc/nbsynth/jupyter # nbsynth" in profile
    for rel in ("etc/nbsynth", "etc/nbsynth/jupyter", "etc/nbsynth/jupyter/labconfig", "etc/nbsynth/jupyter-base"):
        assert after_first[rel][1] == "0o755" and after_first[rel][2] == 0, rel
    assert (r / "etc/nbsynth/jupyter-base/migrated").read_text() == ""
    assert ["systemctl daemon-reload", "systemctl enable --now nbsynth-idle.timer",
            "systemctl --no-block restart jupyter-server.service"] == [
        c for c in calls_first if c.startswith("systemctl")]

    # The server's environment: root's, not writable by anyone else, and pinned (with the two
    # directories above it in the home) so that the user cannot swap it.
    env = instance.env_dir.relative_to(r).as_posix()
    for rel, entry in after_first.items():
        if rel.startswith(env + "/") and entry[0] != "link":
            assert entry[2] == 0 and int(entry[1], 8) & 0o022 == 0, (rel, entry)
    assert instance.mounts() == [str(instance.home / "anaconda3"), str(instance.home / "anaconda3/envs"),
                                 str(instance.env_dir)]

    # Sudo removed, the policy still parses.
    assert "NOPASSWD" not in (r / "etc/sudoers.d/90-cloud-init-users").read_text()
    subprocess.run(["visudo", "-cqf", str(r / "etc/sudoers")], check=True)

    # Idle check installed root-owned, run by a systemd timer every 5 minutes; no cron on AL2023.
    assert after_first["opt/nbsynth/idle.py"][1:3] == ("0o755", 0)
    service = (r / "etc/systemd/system/nbsynth-idle.service").read_text()
    assert "ExecStart=/usr/bin/python3 -I -S /opt/nbsynth/idle.py 60\n" in service and "Type=oneshot" in service
    timer = (r / "etc/systemd/system/nbsynth-idle.timer").read_text()
    assert "OnUnitActiveSec=5min" in timer and "WantedBy=timers.target" in timer
    assert not (r / "etc/cron.d").exists()

    # Private index only, for pip and conda.
    assert (r / "etc/pip.conf").read_text() == "[global]\nindex-url = https://pypi.internal.example.com/simple\n"
    assert "channels: [] #!final" in (r / "etc/conda/.condarc").read_text()

    # Env file with the stack's facts, owned by ec2-user.
    env = (instance.home / ".nbsynth/env").read_text()
    assert f"VPC_ID={fake('Vpc')}" in env or "=fake-" in env, env
    assert all("=" in line and not line.startswith("export") for line in env.splitlines())
    assert f"chown -h ec2-user:ec2-user {instance.home}/.nbsynth {instance.home}/.nbsynth/env" in calls_first

    # The blueprint's own script ran after the generated part.
    assert (r / "var/tmp/user-start-ran").exists()
    assert "the blueprint's on_start script ended with exit code 0" in first.stdout

    calls.unlink()
    second = instance.run(script)
    assert second.returncode == 0, second.stdout + second.stderr
    assert instance.snapshot() == after_first, "the second run changed the tree"
    assert len(instance.mounts()) == 3, "the second run mounted again"
    assert not [c for c in instance.calls_made() if c.startswith("systemctl")], "no restart when nothing changed"
    assert "wrote" not in second.stdout and "removed" not in second.stdout
    assert "done (changed=0)" in second.stdout


def test_a_failing_blueprint_script_fails_the_hook_and_says_so(nbsynth, instance, tmp_path):
    need_root()
    script = build(nbsynth, "full", tmp_path / "out")["on-start"]
    marker = "the blueprint's on_start script ended with exit code"
    failing = script.replace('touch "${NBSYNTH_ROOT:-}/var/tmp/user-start-ran"', "exit 7")
    assert failing != script
    run = instance.run(failing)
    assert run.returncode == 7
    assert f"{marker} 7" in run.stdout
    assert re.search(r"done \(changed=[1-9]", run.stdout), "the generated part completed before the user script"


def test_on_create_runs_the_blueprint_script(nbsynth, instance, tmp_path):
    need_root()
    scripts = build(nbsynth, "full", tmp_path / "out")
    run = instance.run(scripts["on-create"])
    assert run.returncode == 0, run.stderr
    assert "create step 16" in run.stdout
    assert build(nbsynth, "minimal", tmp_path / "min").get("on-create") is None


def test_sudoers_edit_is_valid_and_idempotent(nbsynth, instance, tmp_path):
    need_root()
    visudo = need("visudo")
    script = build(nbsynth, "sudo", tmp_path / "out")["on-start"]
    r = instance.root
    other = (r / "etc/sudoers.d/50-ops").read_bytes()
    assert subprocess.run([visudo, "-cqf", str(r / "etc/sudoers")]).returncode == 0, "sandbox policy is valid"

    first = instance.run(script)
    assert first.returncode == 0, first.stdout + first.stderr
    cloud = r / "etc/sudoers.d/90-cloud-init-users"
    text = cloud.read_text()
    assert "ec2-user" not in text.replace("# User rules for ec2-user", ""), text
    assert text.startswith("# Created by cloud-init"), "comments and other lines are kept"
    assert oct(cloud.stat().st_mode & 0o777) == "0o440"
    assert (r / "etc/sudoers.d/50-ops").read_bytes() == other
    assert f"removed passwordless sudo for ec2-user from {cloud}" in first.stdout
    check = subprocess.run([visudo, "-cf", str(r / "etc/sudoers")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = subprocess.run([visudo, "-cf", str(cloud)], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stdout + listed.stderr

    before = instance.snapshot()
    second = instance.run(script)
    assert second.returncode == 0
    assert instance.snapshot() == before
    assert "removed" not in second.stdout


def test_a_sudoers_edit_that_would_not_parse_is_refused(nbsynth, instance, tmp_path):
    need_root()
    need("visudo")
    script = build(nbsynth, "sudo", tmp_path / "out")["on-start"]
    broken = instance.root / "etc/sudoers.d/91-broken"
    broken.write_text("ec2-user ALL=(ALL) NOPASSWD:ALL\nthis is not sudoers (\n")
    broken.chmod(0o440)
    run = instance.run(script)
    assert run.returncode != 0
    assert f"edited {broken} would not parse; left unchanged" in run.stdout
    assert "NOPASSWD" in broken.read_text()


@pytest.mark.parametrize("jupyter", JUPYTER_LAYOUTS)
@pytest.mark.parametrize("conda", [True, False], ids=["conda", "no-conda"])
def test_every_layout_starts_and_says_what_it_skipped(nbsynth, tmp_path, venv_bin, jupyter, conda):
    """~/.jupyter missing, empty or the platform's; conda there or not: the script succeeds, logs what
    it skipped, and a second run changes nothing."""
    need_root()
    script = build(nbsynth, "full", tmp_path / "out")["on-start"]
    inst = Instance(world_readable_tmp(), venv_bin, jupyter=jupyter, conda=conda)
    try:
        first = inst.run(script)
        assert first.returncode == 0, first.stdout + first.stderr
        base = inst.root / "etc/nbsynth/jupyter-base"
        copied = sorted(p.name for p in base.iterdir())
        assert copied == (["jupyter_server_config.py", "migrated"] if jupyter == "platform" else ["migrated"])
        assert (f"no {inst.home}/.jupyter: no platform config to copy" in first.stdout) == (jupyter == "missing")
        skipped = f"skipped: no {inst.env_dir}, the server's environment is as the platform left it"
        assert (skipped in first.stdout) == (not conda)
        assert (inst.root / "etc/conda/.condarc").exists() == conda
        assert len(inst.mounts()) == (3 if conda else 0)
        after = inst.snapshot()
        second = inst.run(script)
        assert second.returncode == 0, second.stdout + second.stderr
        assert inst.snapshot() == after and "done (changed=0)" in second.stdout
    finally:
        inst.close()

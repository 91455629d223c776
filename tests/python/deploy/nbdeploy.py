"""Helpers for the deploy tests: bounded commands, moto's gaps, a small CloudFormation evaluator."""
import subprocess

import pytest

REGION = "us-east-1"
COMMAND_TIMEOUT = 300  # seconds, for any one tool run


def run(cmd, *, timeout=COMMAND_TIMEOUT, **kw):
    """subprocess.run with a bound, text output and the command in the failure message."""
    try:
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"timed out after {timeout}s: {' '.join(map(str, cmd))}\n{e.stdout}\n{e.stderr}")

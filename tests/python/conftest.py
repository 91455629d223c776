"""Shared fixtures: the built nbsynth binary, the repository root, the venv's tools, free ports."""
import os
import pathlib
import socket
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(os.environ.get("NBSYNTH_VENV", ROOT / ".venv")) / "bin"


def _binary() -> pathlib.Path:
    explicit = os.environ.get("NBSYNTH_BIN")
    if explicit:
        return pathlib.Path(explicit)
    subprocess.run(["cargo", "build", "--quiet", "--bin", "nbsynth"], cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / "nbsynth"


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def nbsynth() -> pathlib.Path:
    """Path of the nbsynth binary (built once per session unless NBSYNTH_BIN is set)."""
    return _binary()


@pytest.fixture(scope="session")
def venv_bin() -> pathlib.Path:
    return VENV_BIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()

"""The download block against a real Jupyter server (JupyterLab 4 on jupyter_server 2), started as the
platform's unit would start it (its drop-ins' Environment=) from a JupyterSystemEnv-like environment,
on each ~/.jupyter layout a new AL2023 instance may have: the script twice, downloads refused, the
editor still loading and saving, the plugins disabled and locked, and the server starting again after
a kernel ran and after it was killed."""
import json
import re
import time

import pytest

from conftest import JUPYTER_LAYOUTS, Instance, build, free_port, http, world_readable_tmp

PLUGINS = [
    "@jupyterlab/docmanager-extension:download",
    "@jupyterlab/docmanager-extension:open-browser-tab",
    "@jupyterlab/filebrowser-extension:download",
    "@jupyterlab/filebrowser-extension:open-browser-tab",
    "@jupyterlab/notebook-extension:export",
]
NOTEBOOK = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                       "source": "secret = 42"}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def add_user_files(inst) -> None:
    run = inst.as_user(f"import json; open({str(inst.home / 'SageMaker/data.csv')!r}, 'w').write('id,secret\\n1,42\\n');"
                       f"open({str(inst.home / 'SageMaker/nb.ipynb')!r}, 'w').write({json.dumps(NOTEBOOK)!r})")
    assert run.returncode == 0, run.stderr


@pytest.fixture
def hardened(nbsynth, tmp_path, venv_bin, request):
    """A sandbox instance of the given ~/.jupyter layout after the full on-start script ran twice."""
    inst = Instance(world_readable_tmp(), venv_bin, port=free_port(), jupyter=getattr(request, "param", "platform"),
                    server=True)
    try:
        add_user_files(inst)
        script = build(nbsynth, "full", tmp_path / "out")["on-start"]
        first = inst.run(script)
        assert first.returncode == 0, first.stdout + first.stderr
        after = inst.snapshot()
        second = inst.run(script)
        assert second.returncode == 0, second.stdout + second.stderr
        assert inst.snapshot() == after and "done (changed=0)" in second.stdout, second.stdout
        yield inst
    finally:
        inst.close()


def page_config(url: str) -> dict:
    status, body = http("GET", url + "lab")
    assert status == 200, body[:500]
    m = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
    assert m, "no page config in /lab"
    return json.loads(m.group(1))


def assert_plugins_locked(url: str) -> None:
    page = page_config(url)
    for plugin in PLUGINS:
        for key in ("disabledExtensions", "lockedExtensions"):
            value = page.get(key) or {}
            on = value.get(plugin) is True if isinstance(value, dict) else plugin in value
            assert on, f"{plugin} missing from {key}: {value}"
        status, _ = http("POST", url + "lab/api/plugins", body={"cmd": "enable", "plugin_name": plugin})
        assert status != 201, f"the Plugin Manager re-enabled {plugin}"


def assert_downloads_blocked(url: str) -> None:
    for path in ("files/data.csv", "files/data.csv?download=1", "files/nb.ipynb?download=1",
                 "nbconvert/html/nb.ipynb?download=true", "nbconvert/html/nb.ipynb",
                 "nbconvert/script/nb.ipynb?download=true", "api/nbconvert"):
        assert http("GET", url + path)[0] == 403, f"GET /{path} was not refused"
    assert http("HEAD", url + "files/data.csv")[0] == 403
    assert http("POST", url + "nbconvert/html", body=NOTEBOOK)[0] == 403, "POST /nbconvert/html was not refused"
    assert_plugins_locked(url)


def assert_editor_works(url: str) -> None:
    # The contents API reads and saves (it returns file bodies; see the README).
    status, body = http("GET", url + "api/contents/nb.ipynb?content=1")
    assert status == 200 and json.loads(body)["content"]["cells"][0]["source"] == "secret = 42"
    assert http("PUT", url + "api/contents/notes.txt", body={"type": "file", "format": "text", "content": "x"})[0] in (
        200, 201)


def run_a_kernel(inst, url: str) -> None:
    """Starts a kernel and waits until it ran: it creates ~/.ipython, which makes jupyter_core's
    migration want to write into JUPYTER_CONFIG_DIR at the server's next start."""
    status, body = http("POST", url + "api/kernels", body={"name": "python3"})
    assert status == 201, body
    deadline = time.time() + 60
    while not (inst.home / ".ipython/profile_default").is_dir():
        assert time.time() < deadline, "the kernel did not create ~/.ipython"
        time.sleep(0.3)


@pytest.mark.parametrize("hardened", JUPYTER_LAYOUTS, indirect=True)
def test_the_block_holds_on_every_layout_and_the_server_starts_again(hardened):
    inst = hardened
    server = inst.start_server(inst.base / "jupyter-1.log")
    try:
        assert_downloads_blocked(server.url)
        assert_editor_works(server.url)
        run_a_kernel(inst, server.url)
    finally:
        server.stop()
    # The restart after a kernel ran (and after a kill: stop() signals the whole process group).
    server = inst.start_server(inst.base / "jupyter-2.log")
    try:
        assert_downloads_blocked(server.url)
        assert_editor_works(server.url)
    finally:
        server.stop()


def test_without_the_migration_marker_the_server_would_not_start_again(hardened):
    """Control for the marker: the root-owned config directory without it fails the restart after a
    kernel ran, as the issue describes."""
    inst = hardened
    server = inst.start_server(inst.base / "jupyter-1.log")
    try:
        run_a_kernel(inst, server.url)
    finally:
        server.stop()
    (inst.root / "etc/nbsynth/jupyter-base/migrated").unlink()
    with pytest.raises(AssertionError, match="jupyter exited"):
        inst.start_server(inst.base / "jupyter-2.log").stop()
    assert "PermissionError" in (inst.base / "jupyter-2.log").read_text()

"""The download block against a real Jupyter server (JupyterLab on jupyter_server 2) running with the config
the on-start script produced, as a non-root user who owns the home directory and the Jupyter environment,
and who then tries each known way around the lock."""
import json
import os
import re
import subprocess
import sysconfig

import pytest

from conftest import Jupyter, build, ec2_user, http, need, self_signed, user_python

PLUGINS = [
    "@jupyterlab/docmanager-extension:download",
    "@jupyterlab/docmanager-extension:open-browser-tab",
    "@jupyterlab/filebrowser-extension:download",
    "@jupyterlab/filebrowser-extension:open-browser-tab",
    "@jupyterlab/notebook-extension:export",
]
MANAGERS = ["ContentsManager", "FileContentsManager", "AsyncFileContentsManager", "LargeFileManager",
            "AsyncLargeFileManager"]
NOTEBOOK = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                       "source": "secret = 42"}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def attack(root_dir: str) -> tuple:
    """Config that would turn downloads back on: the stock files handler, an allow-all authorizer, and
    the plugins enabled and unlocked."""
    handler = {"files_handler_class": "jupyter_server.base.handlers.AuthenticatedFileHandler",
               "files_handler_params": {"path": root_dir}}
    server = {"ServerApp": {"authorizer_class": "jupyter_server.auth.authorizer.AllowAllAuthorizer"},
              **{m: handler for m in MANAGERS}}
    page = {"disabledExtensions": {p: False for p in PLUGINS}, "lockedExtensions": {p: False for p in PLUGINS}}
    return json.dumps(server), json.dumps(page)


class Lab:
    def __init__(self, instance, user, port, venv_bin):
        self.instance, self.user, self.port = instance, user, port
        home = instance.home
        # The JupyterSystemEnv stand-in: an environment the user owns (as ec2-user owns the conda env),
        # so its etc/jupyter is a user-writable config directory on the server's path.
        self.env_dir = home / "anaconda3/envs/JupyterSystemEnv"
        subprocess.run([user_python(), "-m", "venv", "--without-pip", str(self.env_dir)], check=True,
                       timeout=120)
        purelib = sysconfig.get_path("purelib", vars={"base": str(self.env_dir)})
        shared = sysconfig.get_path("purelib", vars={"base": str(venv_bin.parent)})
        (self.env_dir / os.path.relpath(purelib, str(self.env_dir)) / "nbsynth-test.pth").write_text(shared + "\n")
        (home / "SageMaker/data.csv").write_text("id,secret\n1,42\n")
        (home / "SageMaker/nb.ipynb").write_text(json.dumps(NOTEBOOK))
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(home)], check=True)
        self.stock_env = {"HOME": str(home), "USER": user.pw_name, "LANG": "C.UTF-8",
                          "PATH": f"{self.env_dir}/bin:/usr/bin:/bin",
                          "CONDA_PREFIX": str(self.env_dir), "CONDA_DEFAULT_ENV": "JupyterSystemEnv",
                          "JUPYTERLAB_DIR": str(venv_bin.parent / "share/jupyter/lab")}
        self.server = None
        self.starts = 0

    def start(self, hardened=True):
        env = dict(self.stock_env, **(self.instance.server_env() if hardened else {}))
        self.starts += 1
        log = self.instance.base / f"jupyter-{self.starts}.log"
        self.server = Jupyter([str(self.env_dir / "bin/python"), "-m", "jupyterlab"], env, self.port, self.user, log)
        return self.server.url

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None

    def restart(self, hardened=True):
        self.stop()
        return self.start(hardened)

    def as_user(self, code: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.env_dir / "bin/python"), "-c", code], user=self.user.pw_uid,
                              group=self.user.pw_gid, extra_groups=[], env=self.stock_env, capture_output=True,
                              text=True, timeout=60)

    def write_as_user(self, files: dict) -> None:
        code = "import os\n" + "".join(
            f"os.makedirs(os.path.dirname({str(p)!r}), exist_ok=True)\nopen({str(p)!r}, 'w').write({t!r})\n"
            for p, t in files.items())
        run = self.as_user(code)
        assert run.returncode == 0, f"the user could not write {list(files)}: {run.stderr}"


@pytest.fixture
def lab(nbsynth, instance, tmp_path, port, venv_bin):
    need("openssl")
    user = ec2_user()
    cert, key = self_signed(instance.base)
    instance.write_platform_config(port, cert, key)
    run = instance.run(build(nbsynth, "full", tmp_path / "out")["on-start"])
    assert run.returncode == 0, run.stdout + run.stderr
    lab = Lab(instance, user, port, venv_bin)
    yield lab
    lab.stop()


def page_config(url: str) -> dict:
    status, body = http("GET", url + "lab")
    assert status == 200, body[:500]
    m = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
    assert m, "no page config in /lab"
    return json.loads(m.group(1))


def assert_downloads_blocked(url: str) -> None:
    for path in ("files/data.csv", "files/data.csv?download=1", "files/nb.ipynb?download=1",
                 "nbconvert/html/nb.ipynb?download=true", "nbconvert/html/nb.ipynb",
                 "nbconvert/script/nb.ipynb?download=true", "api/nbconvert"):
        assert http("GET", url + path)[0] == 403, f"GET /{path} was not refused"
    assert http("HEAD", url + "files/data.csv")[0] == 403
    assert http("POST", url + "nbconvert/html", body=NOTEBOOK)[0] == 403, "POST /nbconvert/html was not refused"
    # The editor still works: the contents API reads and saves (it returns file bodies; see the README).
    status, body = http("GET", url + "api/contents/nb.ipynb?content=1")
    assert status == 200 and json.loads(body)["content"]["cells"][0]["source"] == "secret = 42"
    assert http("PUT", url + "api/contents/notes.txt", body={"type": "file", "format": "text", "content": "x"})[0] in (
        200, 201)
    page = page_config(url)
    for plugin in PLUGINS:
        for key in ("disabledExtensions", "lockedExtensions"):
            value = page.get(key) or {}
            on = value.get(plugin) is True if isinstance(value, dict) else plugin in value
            assert on, f"{plugin} missing from {key}: {value}"
        status, _ = http("POST", url + "lab/api/plugins", body={"cmd": "enable", "plugin_name": plugin})
        assert status != 201, f"the Plugin Manager re-enabled {plugin}"


def test_downloads_are_blocked_and_the_lock_holds_against_the_user(lab, instance):
    home = instance.home
    server_json, page_json = attack(f"{home}/SageMaker")

    # Control: the attack config does re-enable downloads on a server without nbsynth's environment,
    # so the checks below prove the lock, not a harmless attack.
    lab.write_as_user({home / ".jupyter/jupyter_server_config.json": server_json,
                       home / ".jupyter/labconfig/page_config.json": page_json})
    url = lab.start(hardened=False)
    assert http("GET", url + "files/data.csv")[0] == 200
    lab.stop()
    lab.as_user(f"import os; os.remove({str(home / '.jupyter/jupyter_server_config.json')!r})")

    url = lab.start()
    assert_downloads_blocked(url)

    # The config files and their directories: root's, not writable or replaceable by the user.
    for d in ("etc/nbsynth", "etc/nbsynth/jupyter", "etc/nbsynth/jupyter/labconfig", "etc/nbsynth/jupyter-base"):
        path = instance.root / d
        assert path.stat().st_uid == 0
        for target in [path] + [p for p in path.iterdir() if p.is_file()]:
            run = lab.as_user(f"import os,sys; sys.exit(0 if os.access({str(target)!r}, os.W_OK) else 1)")
            assert run.returncode == 1, f"{target} is writable by the user"
    denied = lab.as_user("import os\n"
                         f"open({str(instance.root / 'etc/nbsynth/jupyter/jupyter_server_config.json')!r}, 'w')\n")
    assert "PermissionError" in denied.stderr
    renamed = lab.as_user(f"import os; os.rename({str(instance.root / 'etc/nbsynth/jupyter')!r}, "
                          f"{str(instance.root / 'etc/nbsynth/old')!r})")
    assert "PermissionError" in renamed.stderr

    # Bypass 1: move ~/.jupyter aside and make a new one that turns downloads back on.
    run = lab.as_user(f"import os; os.rename({str(home / '.jupyter')!r}, {str(home / '.jupyter.aside')!r})")
    assert run.returncode == 0, run.stderr
    lab.write_as_user({home / ".jupyter/jupyter_server_config.json": server_json,
                       home / ".jupyter/labconfig/page_config.json": page_json})
    assert_downloads_blocked(lab.restart())

    # Bypass 2: jupyter_server_config.json beside the platform's .py (JSON wins in one directory).
    run = lab.as_user(f"import os; os.rename({str(home / '.jupyter.aside')!r}, {str(home / '.jupyter.back')!r})")
    lab.write_as_user({home / ".jupyter/jupyter_server_config.py": "c = get_config()\n",
                       home / ".jupyter/jupyter_server_config.json": server_json})
    assert_downloads_blocked(lab.restart())

    # Bypass 3: the config directories the user can write on the server's path: the environment's
    # etc/jupyter (ec2-user owns the conda env) and the user site's etc/jupyter.
    env_etc = lab.env_dir / "etc/jupyter"
    user_site = home / ".local/etc/jupyter"
    lab.write_as_user({env_etc / "jupyter_server_config.json": server_json,
                       env_etc / "labconfig/page_config.json": page_json,
                       user_site / "jupyter_server_config.json": server_json,
                       user_site / "labconfig/page_config.json": page_json})
    assert_downloads_blocked(lab.restart())

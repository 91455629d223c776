"""The Studio built-in lifecycle script in a sandbox laid out like a SageMaker Distribution JupyterLab
space: `sagemaker-user` (gid 100) with passwordless sudo, a home it owns, the conda-like environment the
server runs from (owned by the user, as in the image), and a real jupyter_server / JupyterLab 4 started
the way the image starts it (`micromamba activate base` sources the environment's activate.d, then
`jupyter lab` with port and token on the command line). The script runs as that user and reaches root
through sudo, as it does in Studio; afterwards the user tries each known way around the block."""
import json
import os
import pathlib
import pwd
import re
import subprocess
import sysconfig

import pytest

from conftest import PLACEHOLDER, TOKEN, Jupyter, fake, http, need, need_root, self_signed, user_python, world_readable_tmp
from test_download import NOTEBOOK, PLUGINS, assert_downloads_blocked

MANAGERS = ["ContentsManager", "FileContentsManager", "AsyncFileContentsManager", "LargeFileManager",
            "AsyncLargeFileManager"]


def attack(root_dir: str) -> tuple:
    """Config that would turn downloads back on: the stock files handler, an allow-all authorizer, and
    the plugins enabled and unlocked."""
    handler = {"files_handler_class": "jupyter_server.base.handlers.AuthenticatedFileHandler",
               "files_handler_params": {"path": root_dir}}
    server = {"ServerApp": {"authorizer_class": "jupyter_server.auth.authorizer.AllowAllAuthorizer"},
              **{m: handler for m in MANAGERS}}
    page = {"disabledExtensions": {p: False for p in PLUGINS}, "lockedExtensions": {p: False for p in PLUGINS}}
    return json.dumps(server), json.dumps(page)

USER = "sagemaker-user"
SUDOERS_DROPIN = pathlib.Path("/etc/sudoers.d/zz-nbsynth-studio-test")


def studio_user() -> pwd.struct_passwd:
    """sagemaker-user in group 100 (users), uid 1000 as in the image where that uid is free."""
    need_root()
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    taken = any(p.pw_uid == 1000 for p in pwd.getpwall())
    uid = [] if taken else ["--uid", "1000"]
    subprocess.run([need("useradd"), "--no-create-home", "--gid", "100", *uid, "--shell", "/bin/bash", USER],
                   check=True)
    return pwd.getpwnam(USER)


def studio_script(nbsynth, out: pathlib.Path) -> str:
    """The user's built-in lifecycle script (the one whose env file names the user's group)."""
    bp = pathlib.Path(__file__).parent / "blueprints/studio.yaml"
    run = subprocess.run([str(nbsynth), "build", str(bp), "--out", str(out)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    scripts = [p.read_text() for p in (out / "lcc-studio").glob("*.studio-jupyterlab.sh")]
    mine = [s for s in scripts if "NBSYNTH_SECURITY_GROUP_ID" in s]
    assert len(scripts) == 2 and len(mine) == 1, "a domain script and carol's"
    return PLACEHOLDER.sub(lambda m: fake(m.group(1)), mine[0])


class Space:
    def __init__(self, base: pathlib.Path, user: pwd.struct_passwd, venv_bin: pathlib.Path, port: int):
        self.base, self.user, self.port = base, user, port
        self.root = base / "root"
        self.home = self.root / "home" / USER
        self.conda = self.root / "opt/conda"
        r = self.root
        for d in ("etc/sudoers.d", "etc/jupyter", "tmp"):
            (r / d).mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True)
        # The image's sudo policy gives everyone NOPASSWD (`ALL ALL=...`); here only the test user, since
        # the machine's sudo really reads this file (see the fixture).
        (r / "etc/sudoers").write_text(f"Defaults env_reset\nroot ALL=(ALL) ALL\n{USER} ALL=(ALL) NOPASSWD: ALL\n"
                                       f"@includedir {r}/etc/sudoers.d\n")
        (r / "etc/sudoers").chmod(0o440)
        # The server's environment, owned by the user (the image's MAMBA_USER owns /opt/conda).
        subprocess.run([user_python(), "-m", "venv", "--without-pip", str(self.conda)], check=True, timeout=120)
        purelib = sysconfig.get_path("purelib", vars={"base": str(self.conda)})
        shared = sysconfig.get_path("purelib", vars={"base": str(venv_bin.parent)})
        pathlib.Path(purelib, "nbsynth-test.pth").write_text(shared + "\n")
        (self.conda / "etc/conda/activate.d").mkdir(parents=True)
        # The image's start step `jupyter labextension disable` rewrites this file at every start.
        (self.conda / "etc/jupyter/labconfig").mkdir(parents=True)
        (self.conda / "etc/jupyter/labconfig/page_config.json").write_text("{}\n")
        (self.home / "data.csv").write_text("id,secret\n1,42\n")
        (self.home / "nb.ipynb").write_text(__import__("json").dumps(NOTEBOOK))
        own = f"{user.pw_uid}:{user.pw_gid}"
        subprocess.run(["chown", "-R", own, str(self.home), str(self.conda)], check=True)
        self.cert, self.key = self_signed(base)
        os.chmod(self.key, 0o644)
        self.env = {"HOME": str(self.home), "USER": USER, "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin",
                    "JUPYTERLAB_DIR": str(venv_bin.parent / "share/jupyter/lab")}
        self.server = None

    def as_user(self, args, **kw) -> subprocess.CompletedProcess:
        env = kw.pop("env", self.env)
        return subprocess.run(args, user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[], env=env,
                              capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)

    def py(self, code: str) -> subprocess.CompletedProcess:
        return self.as_user([str(self.conda / "bin/python"), "-c", code])

    def start(self, activate=True) -> str:
        """As the image does: activate the environment (its activate.d), then `jupyter lab`."""
        act = f'for f in "{self.conda}"/etc/conda/activate.d/*.sh; do [ -e "$f" ] && . "$f"; done; ' if activate else ""
        cmd = ["bash", "-c", act + f'exec "{self.conda}/bin/python" -m jupyterlab --no-browser --ip 127.0.0.1 '
               f"--port {self.port} --ServerApp.token={TOKEN} --ServerApp.root_dir={self.home} "
               f"--ServerApp.certfile={self.cert} --ServerApp.keyfile={self.key}"]
        # As the user with no supplementary groups, as the image runs it.
        drop = [need("setpriv"), f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups",
                "--"]
        self.server = Jupyter(drop + cmd, self.env, self.port, log=self.base / "jupyter.log")
        return self.server.url

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None

    def restart(self) -> str:
        self.stop()
        return self.start()


@pytest.fixture
def space(nbsynth, venv_bin, port):
    need("visudo")
    need("openssl")
    user = studio_user()
    base = world_readable_tmp()
    s = Space(base, user, venv_bin, port)
    s.script = studio_script(nbsynth, base / "out")
    # The machine's sudo reads the space's policy, so the user's sudo is real before the script and
    # really gone after it (sudo accepts the include: the file is root's and not writable by others).
    SUDOERS_DROPIN.write_text(f"@include {s.root}/etc/sudoers\n")
    SUDOERS_DROPIN.chmod(0o440)
    try:
        yield s
    finally:
        s.stop()
        SUDOERS_DROPIN.unlink(missing_ok=True)


def run_script(space) -> subprocess.CompletedProcess:
    path = space.base / "lcc.sh"
    path.write_text(space.script)
    path.chmod(0o755)
    return space.as_user(["bash", str(path)], env=dict(space.env, NBSYNTH_ROOT=str(space.root)))


def test_studio_script_blocks_downloads_removes_sudo_and_the_lock_holds(space):
    r, home = space.root, space.home
    server_json, page_json = attack(str(home))

    # Control: without the script, the user's own config turns downloads on.
    (home / ".jupyter/labconfig").mkdir(parents=True)
    (home / ".jupyter/jupyter_server_config.json").write_text(server_json)
    subprocess.run(["chown", "-R", f"{space.user.pw_uid}:{space.user.pw_gid}", str(home)], check=True)
    url = space.start(activate=False)
    assert http("GET", url + "files/data.csv")[0] == 200
    space.stop()

    # Control: the user has passwordless sudo, as in the image.
    assert space.as_user(["sudo", "-n", "true"]).returncode == 0

    # The script, as sagemaker-user, reaching root through sudo, as at an app start.
    first = run_script(space)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "root access off: removing passwordless sudo" in first.stdout
    # Sudo is really gone for the user now.
    denied = space.as_user(["sudo", "-n", "true"])
    assert denied.returncode != 0, denied.stdout + denied.stderr
    # The blueprint's script ran after the hardening, as the user, and found no sudo either.
    assert (home / ".user-start-ran").read_text() == f"{USER}\n"
    # A new container starts from the image again; the script as root changes nothing the second time.
    second = subprocess.run(["bash", str(space.base / "lcc.sh")], env=dict(space.env, NBSYNTH_ROOT=str(r)),
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and "done (changed=0)" in second.stdout, second.stdout + second.stderr

    # Sudo gone in the space's policy, which still parses.
    sudoers = (r / "etc/sudoers").read_text()
    assert "NOPASSWD" not in sudoers and "root ALL=(ALL) ALL" in sudoers
    subprocess.run(["visudo", "-cqf", str(r / "etc/sudoers")], check=True)

    # Pip mirror and env file.
    assert "index-url = https://pypi.internal.example.com/simple" in (r / "etc/pip.conf").read_text()
    env = (home / ".nbsynth/env").read_text()
    assert re.search(r"^NBSYNTH_SECURITY_GROUP_ID=fake-carolusergroup-groupid$", env, re.M), env
    assert (home / ".nbsynth/env").stat().st_uid == space.user.pw_uid

    # The environment's activate.d file and every directory above it: root's.
    hook = space.conda / "etc/conda/activate.d/zz-nbsynth.sh"
    assert f"export JUPYTER_CONFIG_PATH={r}/etc/nbsynth/jupyter" in hook.read_text()
    for p in (hook, hook.parent, space.conda / "etc/conda", space.conda / "etc", space.conda):
        assert p.stat().st_uid == 0, p
    for code in (f"import os; os.remove({str(hook)!r})",
                 f"import os; os.rename({str(space.conda / 'etc')!r}, {str(space.conda / 'etc.old')!r})",
                 f"open({str(hook)!r}, 'a').write('unset JUPYTER_CONFIG_PATH')",
                 f"open({str(r / 'etc/nbsynth/jupyter/jupyter_server_config.json')!r}, 'w')"):
        run = space.py(code)
        assert "PermissionError" in run.stderr, code
    # The rest of the environment stays the user's: packages can still be installed, and the image's
    # start step that rewrites the environment's labconfig still works.
    assert (space.conda / "bin").stat().st_uid == space.user.pw_uid
    labconfig = space.conda / "etc/jupyter/labconfig/page_config.json"
    assert space.py(f"open({str(labconfig)!r}, 'w').write('{{}}')").returncode == 0

    # Downloads refused, the editor works, the plugins are disabled and locked.
    url = space.start()
    assert_downloads_blocked(url)

    # The attack suite as sagemaker-user: ~/.jupyter (config and labconfig), the environment's
    # etc/jupyter, the user site's etc/jupyter; then the server starts again as the image starts it.
    writes = {home / ".jupyter/jupyter_server_config.json": server_json,
              home / ".jupyter/labconfig/page_config.json": page_json,
              space.conda / "etc/jupyter/jupyter_server_config.json": server_json,
              space.conda / "etc/jupyter/labconfig/page_config.json": page_json,
              home / ".local/etc/jupyter/jupyter_server_config.json": server_json,
              home / ".local/etc/jupyter/labconfig/page_config.json": page_json}
    code = "import os\n" + "".join(
        f"os.makedirs(os.path.dirname({str(p)!r}), exist_ok=True)\nopen({str(p)!r}, 'w').write({t!r})\n"
        for p, t in writes.items())
    run = space.py(code)
    assert run.returncode == 0, run.stderr
    assert_downloads_blocked(space.restart())


def test_every_rendered_studio_script_passes_shellcheck(nbsynth, tmp_path):
    shellcheck = need("shellcheck")
    root = pathlib.Path(__file__).resolve().parents[3]
    for bp in [pathlib.Path(__file__).parent / "blueprints/studio.yaml", root / "blueprints/studio.yaml",
               root / "blueprints/mixed.yaml"]:
        run = subprocess.run([str(nbsynth), "build", str(bp), "--out", str(tmp_path)], capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == 0, run.stderr
    scripts = sorted(tmp_path.glob("*/*.studio-*.sh"))
    assert len(scripts) >= 8, scripts
    check = subprocess.run([shellcheck, "-s", "bash", *map(str, scripts)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout

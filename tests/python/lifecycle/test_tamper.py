"""The download block against the user's own code. Threat model: code running as ec2-user (any notebook
cell) can write every file ec2-user owns or can create and can kill its server, which then starts
again. The attack suite, run as the test user inside the sandbox instance, writes:

- a Python config (`jupyter_server_config.py`) and a JSON config (`jupyter_server_config.d/*.json`
  enabling a server extension the user wrote) into every config directory `jupyter --paths` lists
  under the unit's environment, plus ~/.jupyter, ~/.local/etc/jupyter and the environment's
  etc/jupyter whether listed or not;
- `labconfig/page_config.json` there and `page_config.json` / `overrides.json` in the environment's
  and JupyterLab's app settings directories, enabling and unlocking the download plugins;
- a `.pth` and a `sitecustomize.py` into the server's environment, a `.pth` and a `usercustomize.py`
  into the user site;
- and swaps the whole environment for a copy of its own (rename ~/anaconda3 or its envs, copy back).

Every Python payload, if the server ever runs it, leaves a proof file named after its vector and turns
/files/ and nbconvert back on behind nbsynth's config; every page config leaves a marker entry. The
CONTROL instance has nbsynth's download config on JUPYTER_CONFIG_PATH but none of the script's other
work (it never ran there): each attack must work there, so the hardened run cannot pass vacuously."""
import json
import pathlib
import shutil
import subprocess
import sysconfig
import textwrap

import pytest

from conftest import Instance, build, free_port, http, user_python, world_readable_tmp
from test_download import PLUGINS, add_user_files, assert_downloads_blocked, page_config

PAYLOAD = textwrap.dedent('''
    import pathlib as _p
    _p.Path({proof!r}, {name!r}).touch()
    from jupyter_server.auth.authorizer import AllowAllAuthorizer as _Allow
    from jupyter_server.serverapp import ServerApp as _App
    from jupyter_server.services.contents.manager import ContentsManager as _CM
    _stock_handlers = _CM.get_extra_handlers
    _stock_init = _App.init_webapp

    # After every config has loaded: the stock /files/ handler and an allow-all authorizer.
    def _init_webapp(self):
        _CM.get_extra_handlers = _stock_handlers
        self.authorizer = _Allow(parent=self, identity_provider=self.identity_provider)
        _stock_init(self)

    _App.init_webapp = _init_webapp

    def _jupyter_server_extension_points():
        return [{{"module": __name__}}]

    def _load_jupyter_server_extension(app):
        pass
''')

ATTACKER = textwrap.dedent('''
    import json, os, shutil, sys
    done = {}
    for path, text in json.loads(sys.argv[1]):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            # Appended: a platform config already there (port, certificate) stays in force.
            with open(path, "a" if path.endswith(".py") else "w") as f:
                f.write("\\n" + text)
            done[path] = "written"
        except OSError as e:
            done[path] = type(e).__name__
    print(json.dumps(done))
''')

SWAP = textwrap.dedent('''
    import json, os, shutil, sys
    home, env, pth, module = sys.argv[1:5]
    done = {}
    for old in (home + "/anaconda3", home + "/anaconda3/envs", env):
        try:
            os.rename(old, old + ".aside")
            done[old] = "renamed"
            break
        except OSError as e:
            done[old] = type(e).__name__
    else:
        print(json.dumps(done))
        sys.exit(0)
    moved = env.replace(old, old + ".aside", 1)
    shutil.copytree(moved, env, symlinks=True)
    site = [d for d, _, files in os.walk(env) if "nbsynth-test.pth" in files][0]
    open(os.path.join(site, "nbsynth-swap.pth"), "w").write(pth)
    open(os.path.join(site, "nbsynth_attack_swap.py"), "w").write(module)
    print(json.dumps(done))
''')


def payload(proof: pathlib.Path, name: str) -> str:
    return PAYLOAD.format(proof=str(proof), name=name)


def jupyter_paths(inst: Instance, dropins: bool) -> dict:
    """`jupyter --paths --json` as the server's environment sees it (as the user, with the unit's
    Environment=)."""
    env = {"HOME": str(inst.home), "USER": "ec2-user", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin",
           **inst.unit_env(dropins)}
    cmd = [str(inst.env_dir / "bin/python"), "-c", "import sys; from jupyter_core.command import main; main()",
           "--paths", "--json"]
    run = subprocess.run(inst.in_ns(cmd, user=True), env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def attack(inst: Instance, dropins: bool, proof: pathlib.Path) -> tuple:
    """Runs the whole suite as the user. Returns ({vector: outcome of its writes}, the config dirs
    the server reads, the vectors whose payload is Python)."""
    paths = jupyter_paths(inst, dropins)
    config_dirs = list(dict.fromkeys(paths["config"] + [
        str(inst.home / ".jupyter"), str(inst.home / ".local/etc/jupyter"), str(inst.env_dir / "etc/jupyter")]))
    env_site = pathlib.Path(sysconfig.get_path("purelib", vars={"base": str(inst.env_dir)}))
    user_site = inst.home / env_site.relative_to(inst.env_dir).as_posix().replace("lib/", ".local/lib/", 1)
    lab_settings = [inst.env_dir / "share/jupyter/lab/settings",
                    pathlib.Path(inst.unit_env(False)["JUPYTERLAB_DIR"]) / "settings"]
    files, vectors, python = [], {}, []

    # A vector's first file is the one the server would have to read (the config, the .pth).
    def add(vector, path, text, is_python=False):
        files.append((str(path), text))
        vectors.setdefault(vector, []).append(str(path))
        if is_python:
            python.append(vector)

    unlocked = {p: False for p in PLUGINS}
    for i, d in enumerate(config_dirs):
        name = f"py-config-{i}"
        add(name, pathlib.Path(d, "jupyter_server_config.py"), payload(proof, name), True)
        name = f"json-config-{i}"
        module = f"nbsynth_attack_json_{i}"
        add(name, pathlib.Path(d, "jupyter_server_config.d/nbsynth-attack.json"),
            json.dumps({"ServerApp": {"jpserver_extensions": {module: True}}}), True)
        for site in (env_site, user_site):
            add(name, site / f"{module}.py", payload(proof, name))
        page = {"disabledExtensions": {**unlocked, f"nbsynth-attack:page-config-{i}": True},
                "lockedExtensions": unlocked}
        add(f"page-config-{i}", pathlib.Path(d, "labconfig/page_config.json"), json.dumps(page))
    for i, d in enumerate(lab_settings):
        page = {"disabledExtensions": {**unlocked, f"nbsynth-attack:lab-settings-{i}": True},
                "lockedExtensions": unlocked}
        add(f"lab-settings-{i}", d / "page_config.json", json.dumps(page))
        add(f"lab-settings-{i}", d / "overrides.json", "{}")
    for vector, site in (("pth-env", env_site), ("pth-user", user_site)):
        module = "nbsynth_attack_" + vector.replace("-", "_")
        add(vector, site / f"nbsynth-attack-{vector}.pth", f"import {module}\n", True)
        add(vector, site / f"{module}.py", payload(proof, vector))
    add("sitecustomize-env", env_site / "sitecustomize.py", payload(proof, "sitecustomize-env"), True)
    add("usercustomize-user", user_site / "usercustomize.py", payload(proof, "usercustomize-user"), True)

    run = subprocess.run(
        inst.in_ns([user_python(), "-c", ATTACKER, json.dumps(files)], user=True),
        env={"HOME": str(inst.home), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    written = json.loads(run.stdout)
    outcome = {v: {p: written[p] for p in ps} for v, ps in vectors.items()}
    swap = subprocess.run(
        inst.in_ns([user_python(), "-c", SWAP, str(inst.home), str(inst.env_dir),
                    "import nbsynth_attack_swap\n", payload(proof, "swap-env")], user=True),
        env={"HOME": str(inst.home), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert swap.returncode == 0, swap.stderr
    outcome["swap-env"] = json.loads(swap.stdout)
    python.append("swap-env")
    return outcome, paths["config"], python


def base_python_has_sitecustomize() -> bool:
    """Debian's python3 ships a sitecustomize in its standard library, which comes before any
    site-packages: there an environment's own sitecustomize never runs (conda's Python has none)."""
    code = "import sysconfig, os; print(os.path.exists(sysconfig.get_path('stdlib') + '/sitecustomize.py'))"
    return subprocess.run([user_python(), "-I", "-c", code], capture_output=True, text=True).stdout.strip() == "True"


def plugin_state(url: str) -> tuple:
    page = page_config(url)
    disabled, locked = page.get("disabledExtensions") or {}, page.get("lockedExtensions") or {}
    as_map = lambda v: v if isinstance(v, dict) else {k: True for k in v}  # noqa: E731
    return as_map(disabled), as_map(locked)


@pytest.fixture
def proof_dir():
    d = world_readable_tmp()
    d.chmod(0o1777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_every_attack_works_without_the_script_and_none_with_it(nbsynth, tmp_path, venv_bin, proof_dir):
    script = build(nbsynth, "full", tmp_path / "out")["on-start"]

    # Hardened: the script ran; the attacker then writes everything and kills the server.
    hard = Instance(world_readable_tmp(), venv_bin, port=free_port(), server=True)
    control = Instance(world_readable_tmp(), venv_bin, port=free_port(), server=True)
    try:
        add_user_files(hard)
        add_user_files(control)
        run = hard.run(script)
        assert run.returncode == 0, run.stdout + run.stderr
        server = hard.start_server(hard.base / "jupyter-1.log")
        try:
            assert_downloads_blocked(server.url)
            outcome, read_dirs, python = attack(hard, True, proof_dir / "hard")
        finally:
            server.stop()
        (proof_dir / "hard").mkdir(mode=0o777)
        (proof_dir / "hard").chmod(0o777)
        server = hard.start_server(hard.base / "jupyter-2.log")
        try:
            assert_downloads_blocked(server.url)
            disabled, locked = plugin_state(server.url)
        finally:
            server.stop()
        ran = sorted(p.name for p in (proof_dir / "hard").iterdir())
        assert ran == [], f"attack code ran in the hardened server: {ran}"
        markers = sorted(k for k in disabled if k.startswith("nbsynth-attack:"))
        assert markers == [], f"the hardened server read the user's page config: {markers}"
        # Nothing the user wrote is where the server reads: every write into a directory on its
        # config path, into its environment or over the environment's path failed.
        env_files = str(hard.env_dir) + "/"
        for vector, writes in outcome.items():
            for path, result in writes.items():
                on_path = any(path.startswith(d.rstrip("/") + "/") for d in read_dirs) or path.startswith(env_files)
                if on_path or vector == "swap-env":
                    assert result != "written" and result != "renamed", f"{vector}: {path} was {result}"
        print("hardened attack outcomes:", json.dumps(outcome, indent=1))

        # Control: nbsynth's download config on JUPYTER_CONFIG_PATH (copied from the hardened
        # instance), the script never ran: each attack must turn something on.
        config = control.base / "nbsynth-config"
        shutil.copytree(hard.root / "etc/nbsynth/jupyter", config)
        unit = control.root / "etc/systemd/system/jupyter-server.service"
        unit.write_text(unit.read_text().replace("[Service]\n", f"[Service]\nEnvironment=JUPYTER_CONFIG_PATH={config}\n"))
        server = control.start_server(control.base / "jupyter-1.log")
        try:
            assert_downloads_blocked(server.url)  # the config alone blocks, before any attack
            c_outcome, _, _ = attack(control, True, proof_dir / "control")
        finally:
            server.stop()
        (proof_dir / "control").mkdir(mode=0o777)
        (proof_dir / "control").chmod(0o777)
        server = control.start_server(control.base / "jupyter-2.log")
        try:
            assert http("GET", server.url + "files/data.csv") == (200, b"id,secret\n1,42\n")
            assert http("GET", server.url + "nbconvert/notebook/nb.ipynb?download=true")[0] == 200
            c_disabled, c_locked = plugin_state(server.url)
        finally:
            server.stop()
        ran = {p.name for p in (proof_dir / "control").iterdir()}
        writable = {v for v, w in c_outcome.items() if next(iter(w.values())) in ("written", "renamed")
                    or "renamed" in w.values()}
        page_markers = {k.split(":", 1)[1] for k in c_disabled if k.startswith("nbsynth-attack:")}
        print("control attack outcomes:", json.dumps(c_outcome, indent=1))
        print("control: payloads that ran:", sorted(ran), "page configs read:", sorted(page_markers))
        expected_python = {v for v in python if not (v == "sitecustomize-env" and base_python_has_sitecustomize())}
        # Config directories root owns (nbsynth's, /etc/jupyter, /usr/local/etc/jupyter) cannot be
        # written by the user even without the script: those vectors are not attacks.
        assert expected_python & writable <= ran, f"control: attacks that did not run: {sorted((expected_python & writable) - ran)}"
        # JupyterLab's app settings: the sandbox's app directory is JUPYTERLAB_DIR (root's, with the
        # static files); on an instance it is the environment's share/jupyter/lab, whose settings the
        # hardened run showed unwritable.
        page_vectors = {v for v in c_outcome if v.startswith("page-config-")} & writable
        assert page_vectors <= page_markers, f"control: page configs not read: {sorted(page_vectors - page_markers)}"
        # Not vacuous: ~/.jupyter, ~/.local/etc/jupyter and the environment's etc/jupyter were
        # attackable without the script, and so were the environment and the user site.
        assert len({v for v in ran if v.startswith("py-config-")}) >= 3, ran
        assert len({v for v in ran if v.startswith("json-config-")}) >= 3, ran
        assert {"pth-env", "pth-user", "usercustomize-user", "swap-env"} <= ran
    finally:
        hard.close()
        control.close()

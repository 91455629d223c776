#!/bin/bash
# nbsynth built-in lifecycle script for a SageMaker Studio JupyterLab space (SageMaker Distribution image).
# It runs at every app start as the image's user, who has passwordless sudo until this script removes it.
set -euo pipefail
umask 022
log() { echo "nbsynth: $*"; }
# Every absolute path starts with R so the tests can run this script against a sandbox root.
R=${NBSYNTH_ROOT:-}
U=sagemaker-user
H=$R/home/$U
# The environment the Jupyter server runs from (micromamba's base in the image).
C=$R/opt/conda
harden() {
  set -euo pipefail
  umask 022
  PATH=$PATH:/usr/sbin:/sbin
  changed=0
  # put FILE MODE < CONTENT: install CONTENT, root-owned, unless FILE has it already.
  put() {
    local t
    t=$(mktemp)
    cat >"$t"
    if [ -f "$1" ] && [ ! -L "$1" ] && cmp -s "$t" "$1" && [ "$(stat -c %a "$1")" = "$2" ]; then
      rm -f "$t"
      return
    fi
    mkdir -p "$(dirname "$1")"
    install -o root -g root -m "$2" "$t" "$1"
    rm -f "$t"
    changed=1
    log "wrote $1"
  }

  log "download block"
  J=$R/etc/nbsynth/jupyter
  # An empty, root-owned JUPYTER_CONFIG_DIR: ~/.jupyter (the user's, on the persistent home) is not read.
  B=$R/etc/nbsynth/jupyter-base
  mkdir -p "$B"
  put "$J/jupyter_server_config.py" 644 <<'NBSYNTH_EOF'
# nbsynth download block. Root-owned and first on JUPYTER_CONFIG_PATH, so it is loaded last and wins.
from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.services.contents.manager import ContentsManager
from tornado import web
class NbsynthNoFiles(JupyterHandler):
 def get(self, path, include_body=True):
  raise web.HTTPError(403, "downloads are disabled on this notebook instance")
 head = get
class NbsynthAuthorizer(AllowAllAuthorizer):
 def is_authorized(self, handler, user, action, resource):
  path = handler.request.path[len(handler.base_url):]
  return resource != "nbconvert" and not path.startswith("files/")
ContentsManager.get_extra_handlers = lambda self: [(r"/files/(.*)", NbsynthNoFiles)]
c.ServerApp.authorizer_class = NbsynthAuthorizer
NBSYNTH_EOF
  # Maps, not lists, so that no lower config can flip an entry back; locked for the Plugin Manager.
  P='"@jupyterlab/docmanager-extension:download":true,"@jupyterlab/docmanager-extension:open-browser-tab":true,"@jupyterlab/filebrowser-extension:download":true,"@jupyterlab/filebrowser-extension:open-browser-tab":true,"@jupyterlab/notebook-extension:export":true'
  put "$J/labconfig/page_config.json" 644 <<EOF
{"disabledExtensions":{$P},"lockedExtensions":{$P}}
EOF
  # The image starts the server after `micromamba activate base`, which sources activate.d: the
  # variables reach the server from there. JUPYTER_CONFIG_PATH outranks every other config directory.
  put "$C/etc/conda/activate.d/zz-nbsynth.sh" 644 <<EOF
export JUPYTER_CONFIG_PATH=$J
export JUPYTER_CONFIG_DIR=$B
export JUPYTER_PREFER_ENV_PATH=0
export PYTHONNOUSERSITE=1
export JUPYTERLAB_SETTINGS_DIR=$H/.jupyter/lab/user-settings
export JUPYTERLAB_WORKSPACES_DIR=$H/.jupyter/lab/workspaces
EOF
  # The user owns the environment; root owns the directories on the way to that file, so it can be
  # neither removed nor renamed away. The rest of the environment (packages, labconfig) stays theirs.
  for d in "$C" "$C/etc" "$C/etc/conda" "$C/etc/conda/activate.d" "$R/etc/nbsynth" "$J" "$J/labconfig" "$B"; do
    chown root:root "$d"
    chmod 755 "$d"
  done
  if pgrep -u "$U" -f 'jupyter-lab|jupyter lab|jupyter_server' >/dev/null 2>&1; then
    log "a Jupyter server is already running: the download block applies from its next start"
  fi

  log "packages: private index only"
  put "$R/etc/pip.conf" 644 <<'EOF'
[global]
index-url = https://pypi.internal.example.com/simple
EOF
  # No conda channel is reachable; #!final stops any other .condarc adding one.
  put "$R/etc/conda/.condarc" 644 <<'EOF'
channels: [] #!final
default_channels: [] #!final
EOF

  mkdir -p "$H/.nbsynth"
  put "$H/.nbsynth/env" 644 <<'EOF'
NBSYNTH_STACK=studio
AWS_DEFAULT_REGION=${AWS::Region}
NBSYNTH_VPC_ID=${Vpc}
NBSYNTH_SUBNET_IDS=${SubnetA},${SubnetB}
NBSYNTH_KMS_KEY_ARN=${NotebookKey.Arn}
NBSYNTH_BUCKETS=acme-ml-datasets
EOF
  chown -h "$(id -u "$U"):$(id -g "$U")" "$H/.nbsynth" "$H/.nbsynth/env"

  # Last: after this, nothing runs as root in the space. The image grants NOPASSWD to ALL.
  log "root access off: removing passwordless sudo"
  # Lines for the user, their group, their uid or everyone.
  who="($U|ALL|%$(id -gn "$U" 2>/dev/null || echo users)|%$U|#$(id -u "$U" 2>/dev/null || echo 1000))"
  for f in "$R/etc/sudoers" "$R"/etc/sudoers.d/*; do
    [ -f "$f" ] || continue
    grep -Eq "^[[:space:]]*${who}[[:space:]].*NOPASSWD" "$f" || continue
    t=$(mktemp)
    sed -E "/^[[:space:]]*${who}[[:space:]].*NOPASSWD/d" "$f" >"$t"
    chmod 440 "$t"
    visudo -cqf "$t" || { log "edited $f would not parse; left unchanged"; exit 1; }
    install -o root -g root -m 440 "$t" "$f"
    rm -f "$t"
    changed=1
    log "removed passwordless sudo from $f"
  done
  visudo -cqf "$R/etc/sudoers" || { log "sudoers does not parse"; exit 1; }
  log "done (changed=$changed)"
}

if [ "$(id -u)" = 0 ]; then
  harden
else
  # One sudo call carries every root step: once the last of them removes sudo, none is left to run.
  sudo -n bash -c "$(declare -p R U H C); $(declare -f log harden); harden"
fi

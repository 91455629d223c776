#!/bin/bash
# nbsynth built-in lifecycle script for a SageMaker Studio CodeEditor space (SageMaker Distribution image).
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
NBSYNTH_SECURITY_GROUP_ID=${DanUserGroup.GroupId}
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

# The blueprint's on_start script, in its own process so that its exit code is its own.
u=$(mktemp)
cat >"$u" <<'NBSYNTH_USER_EOF'
#!/bin/bash
# Runs as sagemaker-user at every app start, after the hardening: a note in the home directory.
set -euo pipefail
echo "Modelling team: data under s3://acme-ml-datasets/datasets/" > /home/sagemaker-user/README-data.txt
NBSYNTH_USER_EOF
rc=0
bash "$u" || rc=$?
rm -f "$u"
log "the blueprint's on_start script ended with exit code $rc"
exit "$rc"

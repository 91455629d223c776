{% include "head.sh" %}
{% if any_feature %}
# Runs on every start, so each step only writes what differs: a second run changes nothing.
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
  install -m "$2" "$t" "$1"
  rm -f "$t"
  changed=$((changed + 1))
  log "wrote $1"
}
# Every absolute path starts with R so the tests can run this script against a sandbox root.
R=${NBSYNTH_ROOT:-}
{% endif %}
{% if disable_download or pip_mirror or env_lines %}
H=$R/home/ec2-user
{% endif %}
{% if disable_download %}

log "download block"
J=$R/etc/nbsynth/jupyter
B=$R/etc/nbsynth/jupyter-base
E=$H/anaconda3/envs/JupyterSystemEnv
before=$changed
# ~/.jupyter is ec2-user's, so the server must not read it: copy the platform's config (port,
# certificate, extensions) as it is at boot, before any user session, into root-owned B.
if [ -d "$H/.jupyter" ]; then
  while IFS= read -r -d '' f; do
    put "$B/${f#"$H/.jupyter/"}" 644 <"$f"
  done < <(find "$H/.jupyter" \( -path "$H/.jupyter/lab" -o -name migrated \) -prune -o -type f -print0)
else
  log "no $H/.jupyter: no platform config to copy"
fi
# jupyter_core's one-time migration writes this marker into JUPYTER_CONFIG_DIR once ~/.ipython
# exists (a kernel ran); present and read-only, it is skipped and the server starts again.
put "$B/migrated" 644 </dev/null
put "$J/jupyter_server_config.py" 644 <<'NBSYNTH_EOF'
{{ jupyter_config }}NBSYNTH_EOF
# Maps, not lists, so that no lower config can flip an entry back; locked for the Plugin Manager.
P='{{ page_plugins }}'
put "$J/labconfig/page_config.json" 644 <<EOF
{"disabledExtensions":{$P},"lockedExtensions":{$P}}
EOF
# JUPYTER_CONFIG_PATH outranks every other config directory; JUPYTER_CONFIG_DIR replaces
# ~/.jupyter; no user site (its modules and its etc/jupyter).
put "$R/etc/systemd/system/jupyter-server.service.d/nbsynth.conf" 644 <<EOF
[Service]
Environment=JUPYTER_CONFIG_PATH=$J
Environment=JUPYTER_CONFIG_DIR=$B
Environment=JUPYTER_PREFER_ENV_PATH=0
Environment=PYTHONNOUSERSITE=1
Environment=JUPYTERLAB_SETTINGS_DIR=$H/.jupyter/lab/user-settings
Environment=JUPYTERLAB_WORKSPACES_DIR=$H/.jupyter/lab/workspaces
EOF
# The documented way to give the platform's Jupyter server variables.
p=$R/etc/profile.d/jupyter-env.sh
put "$p" 644 < <(
  if [ -f "$p" ]; then grep -v '# nbsynth$' "$p" || true; fi
  sed -n 's/^Environment=\(.*\)/export \1 # nbsynth/p' "$R/etc/systemd/system/jupyter-server.service.d/nbsynth.conf"
)
chmod 755 "$R/etc/nbsynth" "$J" "$J/labconfig" "$B"
# The server's own environment: nothing it imports or reads (packages, .pth, sitecustomize,
# etc/jupyter, share/jupyter/lab) may be ec2-user's; root-owned inodes also cover conda's hardlinks.
if [ -d "$E" ]; then
  if [ -n "$(find "$E" \( ! -user root -o -perm /022 ! -type l \) -print -quit)" ]; then
    chown -R root:root "$E"
    chmod -R go-w "$E"
    changed=$((changed + 1))
    log "made $E root-owned"
  fi
  # A mount point cannot be renamed: ec2-user cannot swap the environment, or a directory above
  # it in their home, for a copy of their own.
  for d in "$H/anaconda3" "$H/anaconda3/envs" "$E"; do
    mountpoint -q "$d" && continue
    if mount --bind "$d" "$d"; then
      changed=$((changed + 1))
      log "pinned $d"
    else
      log "WARNING: could not pin $d"
    fi
  done
else
  log "skipped: no $E, the server's environment is as the platform left it"
fi
[ "$changed" = "$before" ] || restart=1
{% endif %}
{% if not root_access %}

log "root access off: removing ec2-user's passwordless sudo"
for f in "$R/etc/sudoers" "$R"/etc/sudoers.d/*; do
  [ -f "$f" ] || continue
  grep -Eq '^[[:space:]]*ec2-user[[:space:]].*NOPASSWD' "$f" || continue
  t=$(mktemp)
  sed -E '/^[[:space:]]*ec2-user[[:space:]].*NOPASSWD/d' "$f" >"$t"
  chmod 440 "$t"
  visudo -cqf "$t" || { log "edited $f would not parse; left unchanged"; exit 1; }
  install -m 440 "$t" "$f"
  rm -f "$t"
  changed=$((changed + 1))
  log "removed passwordless sudo for ec2-user from $f"
done
visudo -cqf "$R/etc/sudoers" || { log "sudoers does not parse"; exit 1; }
{% endif %}
{% if idle_minutes %}

before=$changed
log "idle shutdown: stop after {{ idle_minutes }} idle minutes{% if ignore_connections %}, open connections ignored{% endif %}"
put "$R/opt/nbsynth/idle.py" 755 <<'NBSYNTH_EOF'
{{ idle_py }}NBSYNTH_EOF
# cron is not installed on AL2023; systemd is on every platform. The root volume is rebuilt at each
# start, so the timer is enabled and started now, not at a boot that has already happened.
put "$R/etc/systemd/system/nbsynth-idle.service" 644 <<'EOF'
[Unit]
Description=nbsynth idle check
[Service]
Type=oneshot
ExecStart=/usr/bin/python3 -I -S /opt/nbsynth/idle.py {{ idle_minutes }}{% if ignore_connections %} --ignore-connections{% endif %}

EOF
put "$R/etc/systemd/system/nbsynth-idle.timer" 644 <<'EOF'
[Unit]
Description=nbsynth idle check every 5 minutes
[Timer]
OnActiveSec=5min
OnUnitActiveSec=5min
[Install]
WantedBy=timers.target
EOF
[ "$changed" = "$before" ] || timer=1
{% endif %}
{% if pip_mirror %}

log "packages: private index only"
put "$R/etc/pip.conf" 644 <<'EOF'
[global]
index-url = {{ pip_mirror }}
EOF
if [ -e "$H/anaconda3/bin/conda" ] || [ -e "$R/opt/conda/bin/conda" ]; then
  # No conda channel is reachable; #!final stops any other .condarc adding one.
  put "$R/etc/conda/.condarc" 644 <<'EOF'
channels: [] #!final
default_channels: [] #!final
EOF
fi
{% endif %}
{% include "codeartifact.sh" %}
{% if env_lines %}

put "$H/.nbsynth/env" 644 <<'EOF'
{% for k, v in env_lines %}{{ k }}={{ v }}
{% endfor %}EOF
chown -h ec2-user:ec2-user "$H/.nbsynth" "$H/.nbsynth/env"
{% endif %}
{% if disable_download or idle_minutes %}

if [ "${restart:-0}${timer:-0}" != 00 ]; then
  systemctl daemon-reload
fi
{% endif %}
{% if idle_minutes %}
if [ "${timer:-0}" = 1 ]; then
  systemctl enable --now nbsynth-idle.timer
fi
{% endif %}
{% if disable_download %}
if [ "${restart:-0}" = 1 ]; then
  log "restarting Jupyter for the new config"
  # --no-block: the restart must not hold up this script's 5-minute window.
  systemctl --no-block restart jupyter-server.service ||
    log "WARNING: jupyter-server.service did not restart; the block applies from its next start"
fi
{% endif %}
{% if any_feature %}
log "done (changed=$changed)"
{% endif %}
{% if user_script %}
{% include "user.sh" %}
{% endif %}

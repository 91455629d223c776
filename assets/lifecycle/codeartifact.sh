{% if codeartifact %}

log "packages: CodeArtifact {{ codeartifact.domain }}/{{ codeartifact.repository }} only, token refreshed by nbsynth-codeartifact.timer"
put "$R/opt/nbsynth/codeartifact.py" 755 <<'NBSYNTH_EOF'
{{ codeartifact_py }}NBSYNTH_EOF
put "$R/etc/systemd/system/nbsynth-codeartifact.service" 644 <<'EOF'
[Unit]
Description=nbsynth: CodeArtifact token for pip in /etc/pip.conf
[Service]
Type=oneshot
ExecStart=/usr/bin/python3 -I /opt/nbsynth/codeartifact.py {{ codeartifact.domain }} {{ codeartifact.owner }} {{ codeartifact.repository }}
EOF
put "$R/etc/systemd/system/nbsynth-codeartifact.timer" 644 <<'EOF'
[Unit]
Description=nbsynth: check the CodeArtifact token every 5 minutes
[Timer]
OnActiveSec=5min
OnUnitActiveSec=5min
[Install]
WantedBy=timers.target
EOF
if [ -e "$R/home/ec2-user/anaconda3/bin/conda" ] || [ -e "$R/opt/conda/bin/conda" ]; then
  # No conda channel is reachable; #!final stops any other .condarc adding one.
  put "$R/etc/conda/.condarc" 644 <<'EOF'
channels: [] #!final
default_channels: [] #!final
EOF
fi
# The root volume is new at every start: a unit only enabled would wait for a boot that never comes.
systemctl daemon-reload
systemctl enable --now nbsynth-codeartifact.timer
# The first token now, so pip works from the first notebook; on failure the timer retries.
systemctl start nbsynth-codeartifact.service || log "no CodeArtifact token yet (journalctl -u nbsynth-codeartifact); the timer retries every 5 minutes"
{% endif %}

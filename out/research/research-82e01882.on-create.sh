#!/bin/bash
# nbsynth on_create script for a SageMaker notebook instance (runs as root).
set -euo pipefail
umask 022
log() { echo "nbsynth: $*"; }

# The blueprint's on_create script, in its own process so that its exit code is its own.
u=$(mktemp)
cat >"$u" <<'NBSYNTH_USER_EOF'
#!/bin/bash
# Runs once, when the notebook is created: seed the shared work directory.
set -euo pipefail
mkdir -p /home/ec2-user/SageMaker/shared
chown ec2-user:ec2-user /home/ec2-user/SageMaker/shared
NBSYNTH_USER_EOF
rc=0
bash "$u" || rc=$?
rm -f "$u"
log "the blueprint's on_create script ended with exit code $rc"
exit "$rc"

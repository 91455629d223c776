#!/bin/bash
# nbsynth: a lifecycle script compressed to fit CloudFormation's 16 KiB limit (readable source: the build output).
# Decoded in full before anything runs, so a damaged payload runs nothing.
set -euo pipefail
t=$(mktemp)
trap 'rm -f "$t"' EXIT
base64 -d <<'EOF' | gunzip >"$t"
{{ payload }}EOF
bash "$t"
